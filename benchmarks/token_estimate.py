"""How close a plan's token estimate (`service.plans.tokens.estimated_tokens`, used where a
server has no /tokenize) comes to Gemma 3's tokenizer: the ratio estimate / exact per language
on the parallel Vicuna-80 prompts (../shared/data) and on 100 English responses (GPT-4's to
the AlpacaEval set). Needs a converted base folder (`sxs base gemma` prints Gemma's; the
demo's is `base_model` in out/demo/models.toml).

    .venv/bin/python benchmarks/token_estimate.py --base ~/.cache/sxs/bases/…
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.plans.tokens import estimated_tokens  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def main() -> None:
    from transformers import AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="a converted base folder")
    tokenizer = AutoTokenizer.from_pretrained(str(parser.parse_args().base))
    sets: dict[str, list[str]] = {}
    vicuna = DATA / "multilingual_eval" / "vicuna80_parallel_12lang.jsonl"
    for line in vicuna.read_text("utf-8").splitlines():
        for language, text in json.loads(line)["text"].items():
            sets.setdefault(language, []).append(text)
    outputs = (DATA / "alpaca_eval" / "outputs_617_7models.jsonl").read_text("utf-8")
    sets["en (responses)"] = [json.loads(line)["outputs"]["gpt4"]
                              for line in outputs.splitlines()[:100]]  # fmt: skip
    print("| texts | n | exact (Gemma 3) | estimated | estimate / exact |")
    print("|---|---:|---:|---:|---:|")
    for name, texts in sorted(sets.items()):
        exact = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
        estimate = sum(estimated_tokens(text) for text in texts)
        print(f"| {name} | {len(texts)} | {exact:,} | {estimate:,.0f} | {estimate / exact:.2f} |")


if __name__ == "__main__":
    main()
