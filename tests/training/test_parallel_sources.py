"""Parallel sets from JSONL, Parquet and the `datasets` library agree; bad sources are named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.errors import InputFileError
from training.parallel import load_parallel

SAMPLE = Path("examples/sample_parallel.jsonl")


def _records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text("utf-8").splitlines()]


def test_parquet_with_struct_or_map_columns_reads_like_jsonl(tmp_path: Path) -> None:
    expected = load_parallel(SAMPLE)
    structs = tmp_path / "structs.parquet"
    pq.write_table(pa.Table.from_pylist(_records()), structs)
    assert load_parallel(structs) == expected
    text_map = pa.map_(pa.string(), pa.string())
    schema = pa.schema([("id", pa.string()), ("instruction", text_map), ("response", text_map)])
    maps = tmp_path / "maps.parquet"
    rows = [
        {
            "id": r["id"],
            "instruction": list(r["instruction"].items()),
            "response": list(r["response"].items()),
        }
        for r in _records()
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), maps)
    assert load_parallel(str(maps)) == expected


def test_a_datasets_folder_reads_like_jsonl(tmp_path: Path) -> None:
    folder = tmp_path / "my-set"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "train.jsonl")
    assert load_parallel(f"hf:{folder}") == load_parallel(SAMPLE)
    assert load_parallel(f"hf:{folder}:train").languages == ("en", "es", "fi", "hi", "ru", "zh")


def test_bad_sources_are_named(tmp_path: Path) -> None:
    rows = _records()
    del rows[3]["instruction"]["fi"]
    del rows[3]["response"]["fi"]
    broken = tmp_path / "broken.parquet"
    pq.write_table(pa.Table.from_pylist(rows), broken)
    with pytest.raises(InputFileError, match=r"broken.parquet:4: id 'p04' is not aligned"):
        load_parallel(broken)
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputFileError, match="not a readable Parquet file"):
        load_parallel(tmp_path / "junk.parquet")
    with pytest.raises(InputFileError, match="datasets cannot load it"):
        load_parallel(f"hf:{tmp_path / 'nowhere'}")
