"""Public human-judgment sets (../shared/data/human_judgments) as this project's pair and label
files, for `sxs judge` and `sxs judges report` (`judges/public_labels.py` reads them).

    .venv/bin/python scripts/public_labels.py ../shared/data/human_judgments out/labels

writes `pandalm.jsonl` (the annotators' majority), `pandalm-gpt35.jsonl` (GPT-3.5's recorded
verdicts, a judge file), `faireval.jsonl` and `llmbar-<set>.jsonl` (one per LLMBar file). Each
line is `{id, instruction, response_a, response_b, model_a?, model_b?, label}`: a pairs file for
`sxs judge` and a label file at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common.jsonl import write_records  # noqa: E402
from judges.public_labels import faireval, llmbar, pandalm, pandalm_gpt35  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="the human_judgments folder")
    parser.add_argument("out", type=Path, help="where the files go")
    arguments = parser.parse_args()
    source, out = arguments.source, arguments.out
    out.mkdir(parents=True, exist_ok=True)
    testset = source / "pandalm" / "testset-v1.json"
    files = {
        "pandalm": pandalm(testset),
        "pandalm-gpt35": pandalm_gpt35(
            source / "pandalm" / "gpt-3.5-turbo-testset-v1.json", testset
        ),
        "faireval": faireval(source / "faireval" / "faireval_vicuna80_human.jsonl"),
    }
    for path in sorted((source / "llmbar").glob("*.json")):
        files[f"llmbar-{path.stem}"] = llmbar(path)
    for name, records in files.items():
        write_records(out / f"{name}.jsonl", records)
        print(f"{out / name}.jsonl: {len(records)} pairs")


if __name__ == "__main__":
    main()
