"""Computing an IF matrix through the comparison service.

Every off-diagonal cell is one comparison job (row model as A, the language's baseline as B);
the diagonal is 50 with no call. At most `concurrency` cells are in flight; each is submitted,
then polled until it is done. Jobs are durable and idempotent on the service, so an
interrupted matrix resumes where it stopped when run again, and a finished one costs no
generation or judge call. Everything the matrix needs (models, baselines, eval set and its
languages, judge) is checked before the first job is submitted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from common.concurrency import bounded_map
from common.errors import EndpointError, EndpointRejectedError, EndpointUnavailableError
from common.openai_http import ClientSettings, OpenAIHttp, RetryPolicy
from common.urls import shown
from service.api.schemas import ComparisonView, JobStatus
from service.matrix.recipe import MatrixRecipe
from service.matrix.results import DIAGONAL_SCORE, NO_VALID_JUDGMENT, Cell, MatrixResults
from service.plans.model import MatrixPlan, RunPlan, matrix_plan

MAX_POLL_FAILURES = 60


class MatrixError(Exception):
    """The matrix could not be finished: the service refused a job or left while polling."""


class MatrixInputError(MatrixError):
    """The matrix cannot be computed as asked: found by `check`, before any work."""


@dataclass(frozen=True, slots=True)
class CellProgress:
    """A cell's state as the service reports it."""

    row: str
    language: str
    baseline: str
    status: str
    done: int
    total: int


class MatrixClient:
    """Talks to one comparison service (`…/v1`)."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        concurrency: int = 4,
        poll_s: float = 0.5,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base = server.rstrip("/")
        if not self.base.endswith("/v1"):
            self.base += "/v1"
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.finished: dict[tuple[str, str, str], Cell] = {}  # (row, baseline, language)
        self._http = OpenAIHttp(
            ClientSettings(
                concurrency=max(8, 2 * concurrency),
                timeout_s=60.0,
                retry=retry or RetryPolicy(max_attempts=5, backoff_initial_s=0.5),
                api_key=token,
                transport=transport,
            )
        )

    async def check(self, recipe: MatrixRecipe) -> None:
        """Every model, the eval set with every language, and the judges exist on the server."""
        try:
            models = {entry["name"] for entry in await self._http.get(f"{self.base}/models")}
            sets = {entry["id"]: entry for entry in await self._http.get(f"{self.base}/eval-sets")}
            health = await self._http.get(f"{self.base}/health")
        except EndpointRejectedError as error:
            raise MatrixInputError(f"the service refused: {error}") from None
        except EndpointError as error:
            raise MatrixInputError(
                f"the service at {shown(self.base)} is not reachable ({error}); start it with "
                "`sxs serve` or pass --server"
            ) from None
        unknown = [model for model in recipe.models() if model not in models]
        if unknown:
            raise MatrixInputError(
                f"model {unknown[0]!r} is not served by {shown(self.base)} (it has: "
                f"{', '.join(sorted(models))}); train it or add it to the registry"
            )
        name = recipe.eval_set or "sample"
        if name not in sets:
            raise MatrixInputError(f"eval set {name!r} is unknown to the service (it has: "
                              f"{', '.join(sorted(sets))})")  # fmt: skip
        lacking = [x for x in recipe.languages if x not in sets[name]["languages"]]
        if lacking:
            raise MatrixInputError(
                f"eval set {name!r} has no {lacking[0]!r} (it has: "
                f"{', '.join(sets[name]['languages'])})"
            )
        judges = health.get("judges", {})
        for judge in recipe.judges or ([recipe.judge] if recipe.judge else []):
            if judge not in judges:
                raise MatrixInputError(f"judge {judge!r} is unknown to the service (it has: "
                                  f"{', '.join(sorted(judges))})")  # fmt: skip

    async def run(
        self,
        recipe: MatrixRecipe,
        on_progress: Callable[[CellProgress], None] | None = None,
        on_cell: Callable[[Cell], None] | None = None,
    ) -> MatrixResults:
        """Every cell of the matrix; failed cells carry their error instead of a score.
        `on_progress` sees each poll, `on_cell` each finished cell once it is kept."""
        await self.check(recipe)
        todo: list[tuple[str, str, str]] = []
        for row, baseline, language in recipe.comparisons():
            if row == baseline:
                self.finished[(row, baseline, language)] = Cell(
                    row=row, language=language, baseline=baseline, diagonal=True,
                    score=DIAGONAL_SCORE,
                )  # fmt: skip
            else:
                todo.append((row, baseline, language))

        async def one(key: tuple[str, str, str]) -> Cell:
            row, baseline, language = key
            cell = await self.cell(recipe, row, language, on_progress, baseline=baseline)
            self.finished[key] = cell
            if on_cell is not None:
                on_cell(cell)
            return cell

        # the cells of one baseline in flight together: their judge prompts share the baseline's
        # response as a prefix, which a judge server's prefix cache then serves once
        todo.sort(key=lambda key: (key[2], key[1]))
        await bounded_map(todo, one, self.concurrency)
        return MatrixResults(
            recipe=recipe, cells=[self.finished[key] for key in recipe.comparisons()]
        )

    async def plan(self, recipe: MatrixRecipe) -> MatrixPlan:
        """Every cell's plan (a dry run of its comparison: no job, no model or judge call) and
        their sum, a response two cells share counted once."""
        await self.check(recipe)
        cells = [key for key in recipe.comparisons() if key[0] != key[1]]

        async def one(key: tuple[str, str, str]) -> RunPlan:
            body = recipe.comparison_body(*key) | {"dry_run": True}
            try:
                return RunPlan.model_validate(
                    await self._http.post([f"{self.base}/comparisons"], body)
                )
            except EndpointRejectedError as error:
                raise MatrixError(f"{key[0]} · {key[2]}: the service refused: {error}") from None

        return matrix_plan(cells, await bounded_map(cells, one, self.concurrency))

    async def cell(
        self,
        recipe: MatrixRecipe,
        row: str,
        language: str,
        on_progress: Callable[[CellProgress], None] | None = None,
        *,
        baseline: str | None = None,
    ) -> Cell:
        """One comparison of `row` against `baseline` (default: the language's): submitted
        (or found again), then polled to its end."""
        baseline = baseline or recipe.baselines[language]
        body = recipe.comparison_body(row, baseline, language)
        try:
            view = ComparisonView.model_validate(
                await self._http.post([f"{self.base}/comparisons"], body)
            )
        except EndpointRejectedError as error:
            raise MatrixError(f"{row} · {language}: the service refused the job: {error}") from None
        failures = 0
        while True:
            if on_progress is not None:
                done, total = view.progress.done, view.progress.total
                on_progress(CellProgress(row, language, baseline, view.status.value, done, total))
            if view.status in FINISHED:
                break
            await asyncio.sleep(self.poll_s)
            try:
                data = await self._http.get(f"{self.base}/comparisons/{view.id}")
                view, failures = ComparisonView.model_validate(data), 0
            except EndpointUnavailableError as error:
                failures += 1
                if failures >= MAX_POLL_FAILURES:
                    raise MatrixError(f"lost the service while polling: {error}") from None
        if view.status is not JobStatus.DONE:
            reason = view.error or view.status.value
            return Cell(row=row, language=language, baseline=baseline, job_id=view.id, error=reason)
        return cell_of(view, row, language, baseline)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


def cell_of(view: ComparisonView, row: str, language: str, baseline: str) -> Cell:
    """The cell of a finished comparison."""
    summary = view.summary
    if summary is None:
        return Cell(row=row, language=language, baseline=baseline, job_id=view.id,
                    error=NO_VALID_JUDGMENT)  # fmt: skip
    return Cell(
        row=row,
        language=language,
        baseline=baseline,
        score=summary.score,
        ci_low=summary.ci_low,
        ci_high=summary.ci_high,
        pairs=summary.pairs,
        wins=summary.wins,
        ties=summary.ties,
        losses=summary.losses,
        invalid=summary.invalid,
        identical=summary.identical,
        empty_row=summary.empty_a,
        empty_baseline=summary.empty_b,
        off_language=summary.off_language_a,
        off_language_baseline=summary.off_language_b,
        length_controlled=summary.length_controlled,
        length_controlled_ci_low=summary.length_controlled_ci_low,
        length_controlled_ci_high=summary.length_controlled_ci_high,
        language_controlled=summary.language_controlled,
        language_controlled_ci_low=summary.language_controlled_ci_low,
        language_controlled_ci_high=summary.language_controlled_ci_high,
        panel=summary.panel,
        judge_replies=summary.usage.replies,
        judge_prompt_tokens=summary.usage.prompt_tokens,
        judge_completion_tokens=summary.usage.completion_tokens,
        judge_replies_without_usage=summary.usage.unreported,
        judge_cost=view.judge_cost,
        job_id=view.id,
        error=None if summary.score is not None else NO_VALID_JUDGMENT,
    )
