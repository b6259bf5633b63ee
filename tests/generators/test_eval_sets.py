import json
from pathlib import Path

import pytest

from common.errors import InputFileError
from generators.eval_sets import instructions_in, languages_of, read_eval_set


def write(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_ids_and_languages(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            {"id": "a", "text": {"en": "Hi", "es": "Hola", "fi": "Hei"}},
            {"question_id": 2, "text": {"en": "Bye", "es": "Adiós"}},
        ],
    )
    items = read_eval_set(path)
    assert [item.id for item in items] == ["a", "2"]
    assert languages_of(items) == ["en", "es"]
    assert instructions_in(items, "es", path) == [("a", "Hola"), ("2", "Adiós")]
    with pytest.raises(InputFileError, match=r"1 items have no 'fi' instruction \(first: id '2'\)"):
        instructions_in(items, "fi", path)


@pytest.mark.parametrize(
    ("rows", "complaint"),
    [
        ([{"text": {"en": "x"}}], "eval.jsonl:1: field 'id': Field required"),
        ([{"id": 1, "text": {}}], "eval.jsonl:1: field 'text'"),
        ([{"id": 1, "text": {"en": " "}}], "the 'en' instruction is empty"),
        ([{"id": 1, "text": {"en": "x"}}, {"id": "1", "text": {"en": "y"}}], "id '1' repeats"),
    ],
)
def test_bad_eval_sets(tmp_path: Path, rows: list[dict[str, object]], complaint: str) -> None:
    with pytest.raises(InputFileError) as raised:
        read_eval_set(write(tmp_path, rows))
    assert complaint in str(raised.value)


def test_the_public_parallel_set_reads(shared_data: Path) -> None:
    path = shared_data / "multilingual_eval" / "vicuna80_parallel_12lang.jsonl"
    items = read_eval_set(path)
    assert len(items) == 80
    assert {"en", "ar", "zh", "hi", "it", "es"} <= set(languages_of(items))
