"""The pairs a teacher judge left in a store: every comparison job's finished items.

A job judged by the teacher alone keeps its verdicts in `ab` / `ba`; a job whose panel held
the teacher keeps them under `panel[teacher]`. The same pair (language, item, models) judged
by several jobs is taken once.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from common.store import open_database
from judges.distillation import TeacherPair
from judges.errors import JudgeDistillationError
from judges.verdicts import Verdict
from service.jobs.envelope import COMPARISON, comparison_judges, unwrap

_ITEMS = (
    "select jobs.request, jobs.judge, job_items.item_id, job_items.record "
    "from job_items join jobs on jobs.id = job_items.job_id "
    "order by jobs.created_at, job_items.position"
)


def teacher_pairs(
    store: Path, teacher: str, languages: Collection[str] | None = None
) -> list[TeacherPair]:
    """Every pair `teacher` judged in the store's comparisons (in `languages`, when given)."""
    if not store.is_file():
        raise JudgeDistillationError(f"store {store} does not exist; give the --store the "
                                     "service wrote its comparisons to")  # fmt: skip
    database = open_database(store)
    try:
        if "job_items" not in database.table_names():
            rows: list[dict[str, Any]] = []
        else:
            rows = list(database.query(_ITEMS))
    finally:
        database.close()
    pairs: dict[str, TeacherPair] = {}
    for row in rows:
        kind, request, resolved = unwrap(json.loads(row["request"]))
        if kind != COMPARISON or teacher not in comparison_judges(resolved, row["judge"]):
            continue
        record = json.loads(row["record"])
        language = str(request["language"])
        if languages is not None and language not in languages:
            continue
        calls = record["panel"][teacher] if record.get("panel") else record
        pair_id = f"{language}:{row['item_id']}:{request['model_a']}:{request['model_b']}"
        pairs.setdefault(
            pair_id,
            TeacherPair(
                id=pair_id,
                item=row["item_id"],
                language=language,
                instruction=record["instruction"],
                response_a=record["response_a"],
                response_b=record["response_b"],
                ab=_verdict(calls.get("ab")),
                ba=_verdict(calls.get("ba")),
            ),
        )
    if not pairs:
        where = f" in {', '.join(sorted(languages))}" if languages is not None else ""
        raise JudgeDistillationError(
            f"store {store} holds no comparison judged by {teacher!r}{where}; run comparisons "
            "(or a matrix) with that judge first"
        )
    return list(pairs.values())


def _verdict(call: dict[str, Any] | None) -> Verdict | None:
    if call is None or call.get("verdict") is None:
        return None
    return Verdict(call["verdict"])
