"""Stored jobs and results as the API shows them."""

from __future__ import annotations

from datetime import UTC, datetime

from judges.results import RecordedCall
from service.api.schemas import (
    CallView,
    ComparisonView,
    ConsistencyView,
    ItemView,
    JobStatus,
    Progress,
    VoteView,
)
from service.jobs.comparisons import ComparisonItem
from service.jobs.store import Job
from service.wiring import Service


def call_view(call: RecordedCall | None) -> CallView | None:
    """One order's judge call; None for identical responses."""
    if call is None:
        return None
    return CallView(
        raw=call.raw,
        verdict=call.verdict.value if call.verdict is not None else None,
        score_1=call.score_1,
        score_2=call.score_2,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
    )


def item_view(item: ComparisonItem) -> ItemView:
    """One finished item of a comparison."""
    return ItemView(
        item_id=item.id,
        instruction=item.instruction,
        response_a=item.response_a,
        response_b=item.response_b,
        outcome=item.outcome.value,
        score=item.score,
        ab=call_view(item.ab),
        ba=call_view(item.ba),
        panel=None if item.panel is None else {
            judge: VoteView(outcome=vote.outcome.value, ab=call_view(vote.ab),
                            ba=call_view(vote.ba))
            for judge, vote in item.panel.items()
        },
    )  # fmt: skip


LOW_VALID_SHARE = 0.5  # a score resting on fewer valid pairs than this share is flagged


async def comparison_view(service: Service, job: Job) -> ComparisonView:
    """A comparison job with its summary so far."""
    summary = await service.comparisons.summary_of(job)
    warning = None
    if job.status is JobStatus.DONE and summary is not None and summary.score is None:
        who = "the judge answered neither '1' nor '2'"
        if summary.panel is not None:
            who = "the panel's judges gave no majority verdict in some order"
        warning = (
            f"no valid verdict: {who} for any of the {summary.invalid} judged pairs, so there "
            "is no score; read the raw outputs in /items and check the judges and the template"
        )
    elif summary is not None and summary.score is not None and summary.pairs:
        valid = summary.pairs - summary.invalid
        if valid < LOW_VALID_SHARE * summary.pairs:
            warning = (
                f"the score rests on {valid} valid pairs of {summary.pairs} (below "
                f"{LOW_VALID_SHARE:.0%}): the judge gave no verdict for {summary.invalid}; read "
                "the raw outputs in /items before trusting it"
            )
    return ComparisonView(
        id=job.id,
        status=job.status,
        request=service.comparisons.request_of(job),
        judge=job.judge,
        progress=Progress(done=job.done, total=job.total),
        summary=summary,
        error=job.error,
        warning=warning,
        waiting_on=service.comparisons.waiting_on(job) if job.status is JobStatus.RUNNING else [],
        judge_cost=None if summary is None else service.comparisons.judge_cost(job, summary),
        judge_cost_partial=summary is not None and summary.usage.unreported > 0,
        created_at=datetime.fromtimestamp(job.created_at, UTC),
        updated_at=datetime.fromtimestamp(job.updated_at, UTC),
    )


async def consistency_view(service: Service, job: Job) -> ConsistencyView:
    """A consistency job with its report once every unit is answered."""
    report = job.summary
    if report is None and job.done == job.total and job.total:
        report = await service.consistency.report(job)
    return ConsistencyView(
        id=job.id,
        status=job.status,
        request=service.consistency.request_of(job),
        progress=Progress(done=job.done, total=job.total),
        report=report,
        error=job.error,
        created_at=datetime.fromtimestamp(job.created_at, UTC),
        updated_at=datetime.fromtimestamp(job.updated_at, UTC),
    )
