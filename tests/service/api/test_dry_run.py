"""`"dry_run": true` on POST /v1/comparisons, against a real `sxs serve` and loopback fakes: the
plan makes no model or judge call and no job, and the run then makes exactly the calls it
planned; a rerun's plan is 0 and 0; tokens are the judge server's own count where it has
/tokenize, and a judge without prices leaves the price unknown, said so."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx

from tests.polling import poll
from tests.service.live import Backends, loopback_backends, running_service

BODY = {"model_a": "good", "model_b": "bad", "language": "es"}
PRICED = '[judges.priced]\nkind = "openai"\nbase_url = "{url}"\nmodel = "judge"\nrevision = "2"\n' \
    "prices = {{ prompt_per_million = 2.0, completion_per_million = 8.0 }}\n"  # fmt: skip


def jobs(backends: Backends) -> int:
    with sqlite3.connect(backends.folder / "sxs.db") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
        if "jobs" not in tables:
            return 0
        return int(connection.execute("select count(*) from jobs").fetchone()[0])


def calls(backends: Backends) -> tuple[int, int]:
    return sum(backends.log.generated.values()), sum(backends.log.judged.values())


def plan(server: str, **extra: Any) -> dict[str, Any]:
    answer = httpx.post(f"{server}/v1/comparisons", json=BODY | extra | {"dry_run": True})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def run(server: str, **extra: Any) -> dict[str, Any]:
    answer = httpx.post(f"{server}/v1/comparisons", json=BODY | extra)
    assert answer.status_code == 202, answer.text
    url = f"{server}/v1/comparisons/{answer.json()['id']}"
    return dict(poll(lambda: httpx.get(url).json(), lambda view: view["status"] == "done",
                     timeout_s=120, what="the comparison's end"))  # fmt: skip


def judge_url(backends: Backends) -> str:
    config = (backends.config).read_text("utf-8")
    return config.split('base_url = "')[1].split('"')[0]


def test_a_plan_is_what_the_run_then_does(tmp_path: Path) -> None:
    with loopback_backends(tmp_path) as backends:
        with backends.config.open("a", encoding="utf-8") as config:
            config.write(PRICED.format(url=judge_url(backends)))
        with running_service(backends) as server:
            first = plan(server)
            assert calls(backends) == (0, 0) and jobs(backends) == 0  # no call, no job
            items = first["items"]
            assert first["generations"] == {"needed": 2 * items, "stored": 0}
            # no response yet: every pair's two calls are counted, their prompts estimated
            assert first["judge_calls"] == {"needed": 2 * items, "stored": 0}
            assert first["awaiting_generation"] == 2 * items
            assert first["price"] is None
            assert any("price unknown" in note and "llm" in note for note in first["notes"])
            assert any("generation prompts: estimated" in note for note in first["notes"])

            view = run(server)
            generated, judged = calls(backends)
            assert generated == first["generations"]["needed"]
            # the fake's answers differ for each pair, so no pair is identical: the bound is met
            assert judged == first["judge_calls"]["needed"]

            again = plan(server)
            assert again["generations"] == {"needed": 0, "stored": 2 * items}
            assert again["judge_calls"] == {"needed": 0, "stored": 2 * items}
            assert calls(backends) == (generated, judged) and jobs(backends) == 1

            # a second judge over the stored responses: its prompts are exact (the judge
            # server's /tokenize) and priced; the run's recorded usage is what was planned
            other = plan(server, judge="priced")
            (judge,) = other["judges"]
            assert other["judge_calls"]["needed"] == 2 * items and other["awaiting_generation"] == 0
            assert judge["exact_tokens"] and any("exact" in n for n in other["notes"])
            priced = run(server, judge="priced")
            assert calls(backends)[1] == judged + 2 * items
            usage = priced["summary"]["usage"]
            assert judge["prompt_tokens"] == usage["prompt_tokens"]
            assert (
                judge["price"]
                == (usage["prompt_tokens"] * 2.0 + judge["completion_tokens"] * 8.0) / 1e6
            )
            assert view["id"] != priced["id"] and jobs(backends) == 2

            # a request the run would refuse, the plan refuses the same way
            for bad in ({"model_a": "nope"}, {"judge": "nope"}, {"model_b": "good"}):
                planned = httpx.post(f"{server}/v1/comparisons",
                                     json=BODY | bad | {"dry_run": True})  # fmt: skip
                submitted = httpx.post(f"{server}/v1/comparisons", json=BODY | bad)
                assert planned.status_code == submitted.status_code >= 400
                assert planned.json()["error"] == submitted.json()["error"]
            assert jobs(backends) == 2
