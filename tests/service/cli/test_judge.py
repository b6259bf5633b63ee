"""`sxs judge` and `sxs agreement` as a user runs them: real processes, files and servers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.loopback import free_port, serving
from tests.openai_stub import create_app, prefer_longer

ROOT = Path(__file__).parents[3]
SAMPLE = ROOT / "examples" / "sample_pairs.jsonl"
SXS = Path(sys.executable).parent / "sxs"
runner = CliRunner()


def sxs(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed `sxs` in its own process."""
    return subprocess.run(
        [str(SXS), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def summary_of(process: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert process.returncode == 0, process.stderr
    return dict(json.loads(process.stdout))


def write_pairs(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_sample_pairs_with_the_reference_judge(tmp_path: Path) -> None:
    out = tmp_path / "judged.jsonl"
    result = runner.invoke(
        app,
        [
            "judge",
            str(SAMPLE),
            "-b",
            "reference",
            "--db",
            str(tmp_path / "s.db"),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert summary["pairs"] == len(records) == 14
    # expected outcomes from sacrebleu's chrF itself, not from sxs: A wins when closer to the
    # reference, loses when farther; equal or identical answers are a tie
    from sacrebleu.metrics.chrf import CHRF

    chrf = CHRF()
    points = []
    for line in SAMPLE.read_text("utf-8").splitlines():
        row = json.loads(line)
        a, b = (
            chrf.sentence_score(row[side], [row["reference"]]).score
            for side in ("response_a", "response_b")
        )
        same = row["response_a"].strip() == row["response_b"].strip()
        points.append(0.5 if same or a == b else 1.0 if a > b else 0.0)
    identical = sum(
        json.loads(line)["response_a"].strip() == json.loads(line)["response_b"].strip()
        for line in SAMPLE.read_text("utf-8").splitlines()
    )
    assert summary["identical"] == identical == 2
    assert summary["wins"] == points.count(1.0) >= 10  # most B answers are off-language
    assert summary["score"] == pytest.approx(100 * sum(points) / len(points))
    assert summary["judge_calls"] == 2 * (14 - 2)


def test_alpaca_eval_617_pairs_then_a_rerun_from_the_store(
    tmp_path: Path, shared_data: Path
) -> None:
    outputs = shared_data / "alpaca_eval" / "outputs_617_7models.jsonl"
    rows = [json.loads(line) for line in outputs.read_text("utf-8").splitlines()]
    pairs = write_pairs(
        tmp_path / "alpaca.jsonl",
        [
            {
                "id": r["idx"],
                "instruction": r["instruction"],
                "response_a": r["outputs"]["alpaca-7b"],
                "response_b": r["outputs"]["llama-2-7b-chat-hf"],
                "reference": r["outputs"]["gpt4"],
            }
            for r in rows
        ],
    )
    args = ("judge", pairs, "-b", "reference", "--db", tmp_path / "store.db", "--json")
    first = summary_of(sxs(*args, cwd=tmp_path))
    assert first["pairs"] == 617
    assert first["score"] is not None
    assert first["ci_low"] < first["score"] < first["ci_high"]
    assert first["judge_calls"] == 2 * (617 - first["identical"])
    second = summary_of(sxs(*args, cwd=tmp_path))
    assert second["judge_calls"] == 0
    assert second["cache_hits"] == first["judge_calls"]
    assert (second["score"], second["ci_low"]) == (first["score"], first["ci_low"])
    table = sxs("judge", pairs, "-b", "reference", "--db", tmp_path / "store.db", cwd=tmp_path)
    assert f"0 / {first['judge_calls']}" in table.stdout  # judge calls / cache hits
    assert (tmp_path / "alpaca.judged.jsonl").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"instruction": "q", "response_a": "a", "response_b": "b"}\n{"instruction": \n',
            "pairs.jsonl:2: not valid JSON",
        ),
        (
            '{"instruction": "q", "response_a": "a"}\n',
            "pairs.jsonl:1: field 'response_b': Field required",
        ),
        (
            '{"instruction": "q", "response_a": "a", "response_b": " "}\n',
            "pairs.jsonl:1: field 'response_b' is empty",
        ),
        (
            '{"instruction": "", "response_a": "a", "response_b": "b"}\n',
            "pairs.jsonl:1: field 'instruction'",
        ),
        ("[1, 2]\n", "pairs.jsonl:1: expected a JSON object"),
        (
            '{"id": 1, "instruction": "q", "response_a": "a", "response_b": "b"}\n'
            '{"id": "1", "instruction": "q", "response_a": "a", "response_b": "c"}\n',
            "pairs.jsonl:2: id '1' repeats line 1",
        ),
        ("\n\n", "pairs.jsonl: the file holds no records"),
    ],
)
def test_bad_pairs_files_get_one_line_naming_the_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(content, encoding="utf-8")
    result = runner.invoke(
        app, ["judge", str(path), "-b", "reference", "--db", str(tmp_path / "d")]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.count("\n") == 1


def test_bad_settings_name_the_option(tmp_path: Path) -> None:
    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["judge", str(SAMPLE), "--db", str(tmp_path / "d"), *args])
        return result.exit_code, result.output

    code, output = run("-b", "gpt")
    assert code == 2 and "'gpt' is not one of" in output
    code, output = run("-b", "openai", "--model", "m")
    assert code == 2 and "base_url is required (or base_urls" in output
    code, output = run("-b", "openai", "--model", "m", "--base-url", "ftp://x")
    assert code == 2 and "--base-url" in output and "not an http(s) URL" in output
    code, output = run("-b", "replay")
    assert code == 2 and "--replay: Field required" in output
    code, output = run("-b", "replay", "--replay", str(tmp_path / "none.jsonl"))
    assert code == 2 and "none.jsonl: cannot open" in output
    code, output = run("-b", "reference", "--template", str(tmp_path / "none.txt"))
    assert code == 2 and "cannot read template" in output
    missing = runner.invoke(app, ["judge", str(tmp_path / "absent.jsonl"), "-b", "reference"])
    assert missing.exit_code == 2 and "absent.jsonl: cannot open" in missing.output


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = sxs(
        "judge",
        SAMPLE,
        "-b",
        "openai",
        "--base-url",
        url,
        "--model",
        "judge",
        "--max-attempts",
        "2",
        "--db",
        tmp_path / "d.db",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert f"error: judge endpoint {url}/completions (model 'judge') failed after 2 attempts" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_judging_over_real_http_survives_a_failing_server(tmp_path: Path) -> None:
    pairs = write_pairs(
        tmp_path / "pairs.jsonl",
        [
            {"id": i, "instruction": f"q{i}", "response_a": "a" * (i % 7 + 1), "response_b": "aaaa"}
            for i in range(40)
        ],
    )
    budget = {"left": 30}

    def failing_after_budget(prompt: str) -> str:
        if budget["left"] <= 0:
            raise RuntimeError("the judge host fell over")
        budget["left"] -= 1
        return prefer_longer(prompt)

    args = (
        "judge",
        pairs,
        "-b",
        "openai",
        "--model",
        "stub",
        "--max-attempts",
        "2",
        "--concurrency",
        "1",
        "--db",
        tmp_path / "store.db",
        "--json",
    )
    with serving(create_app(failing_after_budget)) as url:
        broken = sxs(*args, "--base-url", url, cwd=tmp_path)
    assert broken.returncode == 1
    assert "HTTP 503" in broken.stderr
    assert "30 judge replies received before stopping are saved" in broken.stderr

    with serving(create_app()) as url:
        resumed = summary_of(sxs(*args, "--base-url", url, cwd=tmp_path))
    total_calls = 2 * (40 - 6)  # 6 pairs have identical responses ("aaaa" vs "aaaa")
    assert resumed["cache_hits"] == 30
    assert resumed["judge_calls"] == total_calls - 30
    with serving(create_app()) as url:
        fresh = summary_of(sxs(*args, "--base-url", url, "--no-cache", cwd=tmp_path))
    assert fresh["judge_calls"] == total_calls
    assert (fresh["wins"], fresh["ties"], fresh["losses"]) == (
        resumed["wins"],
        resumed["ties"],
        resumed["losses"],
    )


def test_agreement_command(tmp_path: Path) -> None:
    first = write_pairs(
        tmp_path / "a.jsonl",
        [{"id": 1, "label": "1", "language": "es"}, {"id": 2, "label": "tie", "language": "fi"}],
    )
    second = write_pairs(tmp_path / "b.jsonl", [{"id": 1, "label": "1"}, {"id": 2, "label": "2"}])
    result = runner.invoke(app, ["agreement", str(first), str(second)])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("agreement 75.0% [50.0, 100.0]  n=2")
    assert lines[1:] == ["  es: 100.0% [100.0, 100.0]  n=1", "  fi: 50.0% [50.0, 50.0]  n=1"]
    as_json = json.loads(
        runner.invoke(app, ["agreement", str(first), str(second), "--json"]).output
    )
    assert as_json["agreement"] == 75.0
    assert as_json["by_language"]["fi"] == {
        "percent": 50.0,
        "ci_low": 50.0,
        "ci_high": 50.0,
        "n": 1,
    }


def test_judge_results_feed_agreement_and_replay(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    judged = tmp_path / "judged.jsonl"
    ran = runner.invoke(
        app, ["judge", str(SAMPLE), "-b", "reference", "--db", db, "--out", str(judged), "--json"]
    )
    assert ran.exit_code == 0, ran.output
    replayed = runner.invoke(
        app,
        [
            "judge",
            str(SAMPLE),
            "-b",
            "replay",
            "--replay",
            str(judged),
            "--out",
            str(tmp_path / "again.jsonl"),
            "--json",
        ],
    )
    assert replayed.exit_code == 0, replayed.output
    original, again = json.loads(ran.output), json.loads(replayed.output)
    assert again["score"] == original["score"]
    assert again["judge"].startswith("replay|")
    self_agreement = runner.invoke(app, ["agreement", str(judged), str(tmp_path / "again.jsonl")])
    assert self_agreement.output.startswith("agreement 100.0% [100.0, 100.0]  n=14")


def test_a_judge_plan_is_what_judging_then_does(tmp_path: Path) -> None:
    """`sxs judge --plan`: no judge call; the calls it says are the calls made, its prompt
    tokens (the server's /tokenize) are the usage then reported, its price follows from the
    prices given; after the run it plans nothing."""
    pairs = write_pairs(
        tmp_path / "pairs.jsonl",
        [
            {
                "id": i,
                "instruction": f"q {i}",
                "response_a": "a " * (i % 5 + 1),
                "response_b": "a a a",
            }
            for i in range(20)
        ],
    )
    asked: list[str] = []

    def counting(prompt: str) -> str:
        asked.append(prompt)
        return prefer_longer(prompt)

    args = ("judge", pairs, "-b", "openai", "--model", "stub", "--db", tmp_path / "store.db",
            "--prompt-price", "3", "--completion-price", "15", "--json")  # fmt: skip
    with serving(create_app(counting)) as url:
        planned = runner.invoke(app, [*map(str, args), "--base-url", url, "--plan"])
        assert planned.exit_code == 0, planned.output
        plan = json.loads(planned.stdout)["total"]
        assert asked == []
        judged = summary_of(sxs(*args, "--base-url", url, cwd=tmp_path))
        again = json.loads(
            runner.invoke(app, [*map(str, args), "--base-url", url, "--plan"]).stdout
        )["total"]
    (judge,) = plan["judges"]
    identical = 4  # i = 2, 7, 12, 17: "a a a " against "a a a", the same once stripped
    assert plan["judge_calls"] == {"needed": judged["judge_calls"], "stored": 0}
    assert len(asked) == judged["judge_calls"] == 2 * (20 - identical)
    assert judge["exact_tokens"] and judge["prompt_tokens"] == judged["usage"]["prompt_tokens"]
    assert judge["price"] == pytest.approx(
        (judge["prompt_tokens"] * 3 + judge["completion_tokens"] * 15) / 1e6
    )
    assert again["judge_calls"] == {"needed": 0, "stored": judged["judge_calls"]}
    # the run's replies are stored with the times they came (one flush at the end): a rate
    assert plan["rates"]["judgments"] is None and again["rates"]["judgments"] > 0
