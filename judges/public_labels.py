"""Public human-judgment sets as this project's files: one record a pair, `{id, instruction,
response_a, response_b, model_a?, model_b?, label}`, which is both a pairs file for `sxs judge`
(the label is ignored there) and a label file for `sxs agreement` / `sxs judges report`.

- PandaLM (`testset-v1.json`): the majority of three annotators (0 = tie; no majority: null);
  `gpt-3.5-turbo-testset-v1.json` gives GPT-3.5's recorded verdicts the same way ("garbage":
  null, an invalid verdict). The instruction's `input` follows it after a blank line.
- FairEval (`faireval_vicuna80_human.jsonl`): gpt-3.5-turbo (A) against vicuna-13b (B), the
  human label (0 = tie).
- LLMBar (any of its `*.json`): `input`, `output_1`, `output_2` and the gold `label` (1 / 2).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from common.errors import InputFileError

LABELS = {"0": "tie", "1": "1", "2": "2", "tie": "tie"}  # every set's codes, as label values


def _label(code: object) -> str | None:
    return LABELS.get(str(code).strip().lower())


def _rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text("utf-8")
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        rows = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputFileError(str(path), error.lineno, f"is not JSON ({error.msg})") from None
    if not isinstance(rows, list):
        raise InputFileError(str(path), 1, "holds no list of records")
    return rows


def _field(path: Path, row: dict[str, Any], name: str, number: int) -> Any:
    if name not in row:
        raise InputFileError(str(path), number, f"record has no {name!r}: is this the right set?")
    return row[name]


def pandalm(testset: Path) -> list[dict[str, Any]]:
    """PandaLM's pairs labelled by the majority of its three annotators."""
    records = []
    for number, row in enumerate(_rows(testset), start=1):
        votes = Counter(_label(_field(testset, row, f"annotator{i}", number)) for i in (1, 2, 3))
        label, count = votes.most_common(1)[0]
        extra = str(row.get("input") or "").strip()
        models = str(_field(testset, row, "cmp_key", number)).split("_", 1)
        records.append({
            "id": str(row["idx"]),
            "instruction": str(row["instruction"]) + (f"\n\n{extra}" if extra else ""),
            "response_a": row["response1"],
            "response_b": row["response2"],
            "model_a": models[0],
            "model_b": models[-1],
            "label": label if count >= 2 else None,
        })  # fmt: skip
    return records


def pandalm_gpt35(verdicts: Path, testset: Path) -> list[dict[str, Any]]:
    """GPT-3.5's recorded verdicts on PandaLM's pairs, as a judge file (with the pairs)."""
    given = {str(_field(verdicts, row, "idx", n)): _label(_field(verdicts, row, "gpt_result", n))
             for n, row in enumerate(_rows(verdicts), start=1)}  # fmt: skip
    return [record | {"label": given.get(record["id"])} for record in pandalm(testset)]


def faireval(path: Path) -> list[dict[str, Any]]:
    """FairEval's 80 pairs (gpt-3.5-turbo against vicuna-13b) with their human label."""
    return [
        {
            "id": str(_field(path, row, "question_id", number)),
            "instruction": row["instruction"],
            "response_a": row["output_1"],
            "response_b": row["output_2"],
            "model_a": row.get("generator_1"),
            "model_b": row.get("generator_2"),
            "label": _label(_field(path, row, "human_label", number)),
        }
        for number, row in enumerate(_rows(path), start=1)
    ]


def llmbar(path: Path) -> list[dict[str, Any]]:
    """An LLMBar set's pairs with their gold label."""
    return [
        {
            "id": str(number),
            "instruction": _field(path, row, "input", number),
            "response_a": _field(path, row, "output_1", number),
            "response_b": _field(path, row, "output_2", number),
            "label": _label(_field(path, row, "label", number)),
        }
        for number, row in enumerate(_rows(path), start=1)
    ]
