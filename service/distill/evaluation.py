"""A judge against the teacher on the held-out pairs of a distillation (items never trained
on): both orders through the judgment cache, the judge's results file written beside them,
and the judge's report card against the teacher (`judges.report_card`, as `sxs judges report`
gives it).

The verdicts are kept as a finished stage is: a results file whose stamp (the judge's
identity, the template, the held-out file's digest) matches is carded again without a judge
call, as a finished comparison job is shown again; its invalid replies included (a run with
a new judge, template or held-out set asks them again, through the cache).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from common.files import write_text_atomically
from common.jsonl import write_records
from judges.backends.base import Judge
from judges.cache import JudgmentCache
from judges.pairs import read_pairs
from judges.prompts import JudgeTemplate
from judges.report_card import ReportCard, read_card_records, report_card
from judges.results import result_record
from judges.sxs import SideBySide


async def judge_held_out(
    held_out: Path,
    judge: Judge,
    template: JudgeTemplate,
    cache: JudgmentCache | None,
    results: Path,
) -> ReportCard:
    """Judge every held-out pair with `judge` (unless `results` holds this judge's verdicts on
    this held-out file already), write its results to `results`, and card them against the
    teacher's verdicts kept in `held_out`."""
    stamp = _stamp(held_out, judge, template)
    if not _kept(results, stamp):
        pairs = read_pairs(held_out, allow_empty=True)
        sxs = SideBySide(judge, template=template, cache=cache, concurrency=16)
        judged = await sxs.run(pairs)
        write_records(results, (result_record(result) for result in judged))
        write_text_atomically(stamp_of(results), json.dumps(stamp, indent=2) + "\n")
    return report_card(
        read_card_records(results),
        read_card_records(held_out),
        names=("the distilled judge", "its teacher"),
    )


def stamp_of(results: Path) -> Path:
    """Where what made `results` is written: its judge, template and held-out set."""
    return results.with_name(f"{results.stem}.stamp.json")


def _stamp(held_out: Path, judge: Judge, template: JudgeTemplate) -> dict[str, str]:
    digest = hashlib.sha256(held_out.read_bytes()).hexdigest()
    return {"judge": judge.identity, "template": template.hash, "held_out": digest}


def _kept(results: Path, stamp: dict[str, str]) -> bool:
    """Whether `results` holds the verdicts `stamp` describes."""
    try:
        return results.is_file() and json.loads(stamp_of(results).read_text("utf-8")) == stamp
    except (OSError, ValueError):
        return False
