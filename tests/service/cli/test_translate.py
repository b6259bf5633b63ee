"""`sxs translate` against a protocol-true translation endpoint on loopback."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.loopback import serving
from tests.openai_stub import Rejected, create_app
from training.parallel import load_parallel

NAMES = {"Spanish": "es", "Finnish": "fi"}


class Endpoint:
    """Translates by tagging: `[fi] text`. Scripted faults by marker in the text."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.refuse = True

    def __call__(self, prompt: str) -> str:
        head, text = prompt.split("\n\n", 1)
        target = NAMES[head.split(" into ")[1].split(".")[0]]
        self.calls[text] += 1
        if "REFUSE" in text and self.refuse:
            raise Rejected("This model's maximum context length is 16 tokens")
        if "EMPTY" in text and self.refuse:
            return "   "
        return f"[{target}] {text}"


def _english(path: Path, count: int, faulty: dict[int, str]) -> Path:
    rows = [
        {
            "id": i,
            "instruction": f"instruction {i} {faulty.get(i, '')}".strip(),
            "response": f"response {i}",
        }
        for i in range(count)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def _translate(url: str, source: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app,
        [
            *("translate", str(source), "--to", "es,fi", "--endpoint", url),
            *("--model", "translator", "--out", str(tmp_path / "parallel.jsonl")),
            *("--db", str(tmp_path / "sxs.db"), "--concurrency", "4"),
            *extra,
        ],
    )
    return result.exit_code, result.output


def test_translates_caches_marks_failures_and_resumes(tmp_path: Path) -> None:
    source = _english(tmp_path / "en.jsonl", 12, {3: "REFUSE", 7: "EMPTY"})
    endpoint = Endpoint()
    stub = create_app(endpoint, finish_reason="stop", models=("translator",))
    with serving(stub) as url:
        code, output = _translate(url, source, tmp_path)
        assert code == 1, output
        assert "10 of 12 items translated into es, fi" in output
        assert "2 items failed" in output and "parallel.failed.jsonl" in output
        failed = [
            json.loads(line)
            for line in (tmp_path / "parallel.failed.jsonl").read_text("utf-8").splitlines()
        ]
        assert [f["id"] for f in failed] == ["3", "7"]
        assert (
            "HTTP 400" in failed[0]["problems"][0] and "maximum context" in failed[0]["problems"][0]
        )
        assert failed[1]["problems"] == [
            "instruction into es: the endpoint answered an empty translation",
            "instruction into fi: the endpoint answered an empty translation",
        ]
        data = load_parallel(tmp_path / "parallel.jsonl")
        assert len(data) == 10 and data.languages == ("en", "es", "fi")
        first = data.records[0]
        assert first.instruction == {
            "en": "instruction 0", "es": "[es] instruction 0", "fi": "[fi] instruction 0"
        }  # fmt: skip
        assert first.response["fi"] == "[fi] response 0"
        assert sum(endpoint.calls.values()) == 12 * 2 * 2  # 400s are not retried

        # the rerun asks only for the failed texts; fixed, it completes
        endpoint.refuse = False
        before = Counter(endpoint.calls)
        code, output = _translate(url, source, tmp_path)
        assert code == 0, output
        assert endpoint.calls - before == Counter(
            {"instruction 3 REFUSE": 2, "instruction 7 EMPTY": 2}
        )
        assert "(4 texts translated, 44 from the cache)" in output
        assert len(load_parallel(tmp_path / "parallel.jsonl")) == 12
        assert not (tmp_path / "parallel.failed.jsonl").exists()


def test_truncated_translations_fail(tmp_path: Path) -> None:
    source = _english(tmp_path / "en.jsonl", 2, {})
    stub = create_app(Endpoint(), finish_reason="length", models=("translator",))
    with serving(stub) as url:
        code, output = _translate(url, source, tmp_path, "--max-tokens", "8")
    assert code == 1
    assert "cut at max_tokens = 8 (raise --max-tokens)" in output
    assert not (tmp_path / "parallel.jsonl").read_text("utf-8")


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("model", "does not serve model 'translator' (it serves: other); pass --model"),
        ("down", "the translation endpoint is not usable"),
        ("to", "--to names no language other than the source 'en'"),
        ("url", "--endpoint: Input should be a valid URL"),
        ("file", "en.jsonl:2: field 'instruction'"),
    ],
)
def test_bad_input_is_named_before_any_work(tmp_path: Path, problem: str, message: str) -> None:
    source = _english(tmp_path / "en.jsonl", 3, {})
    if problem == "file":
        lines = source.read_text("utf-8").splitlines()
        source.write_text(lines[0] + '\n{"id": 9, "response": "x"}\n', "utf-8")
    endpoint = Endpoint()
    stub = create_app(endpoint, models=("other",) if problem == "model" else ("translator",))
    with serving(stub) as url:
        target = {"down": "http://127.0.0.1:9/v1", "url": "not a url"}.get(problem, url)
        extra = ["--to", "en"] if problem == "to" else []
        code, output = _translate(target, source, tmp_path, *extra)
    assert code == 2, output
    assert message in output
    assert not endpoint.calls
    assert not (tmp_path / "parallel.jsonl").exists()
