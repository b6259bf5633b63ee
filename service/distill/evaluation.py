"""A judge against the teacher on the held-out pairs of a distillation (items never trained
on): both orders through the judgment cache, the judge's results file written beside them,
and the judge's report card against the teacher (`judges.report_card`, as `sxs judges report`
gives it)."""

from __future__ import annotations

from pathlib import Path

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
    """Judge every held-out pair with `judge`, write its results to `results`, and card them
    against the teacher's verdicts kept in `held_out`."""
    pairs = read_pairs(held_out, allow_empty=True)
    sxs = SideBySide(judge, template=template, cache=cache, concurrency=16)
    judged = await sxs.run(pairs)
    write_records(results, (result_record(result) for result in judged))
    return report_card(
        read_card_records(results),
        read_card_records(held_out),
        names=("the distilled judge", "its teacher"),
    )
