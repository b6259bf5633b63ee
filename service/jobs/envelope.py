"""A job's stored form: one envelope `{kind, request, resolved}` for every kind of job.

`request` is what the client asked (validated at the edge), `resolved` what the service made of
it when the job was submitted (e.g. a comparison's judges). Older stores hold a comparison's
request bare and a consistency job's as `{kind, request}`: both are read. A job's id hashes what
it always hashed (a comparison's bare request, another kind's `{kind, request}`), so a store
written before the envelope finds its jobs again when they are submitted anew.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMPARISON = "comparison"
PANEL = " + "  # a comparison's judge column: its judges' names joined


def judge_column(names: list[str]) -> str:
    """What a comparison's `judge` column holds: its one judge, or a panel's names joined."""
    return PANEL.join(names)


def comparison_judges(resolved: dict[str, Any], column: str) -> list[str]:
    """The judges a comparison was resolved to at submission (one stored before the envelope:
    its judge column's names)."""
    return list(resolved.get("judges") or column.split(PANEL))


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job to submit, as its kind's engine resolved it: what makes its id, what is stored."""

    kind: str
    request: dict[str, Any]
    judge: str  # a comparison's judge (a panel's "a + b + c"); "" for kinds without one
    version: str  # what else makes two equal requests different jobs (a template, a set's digest)
    total: int  # how many items the job will store
    resolved: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """What the job's id hashes (with `judge` and `version`)."""
        if self.kind == COMPARISON:
            return self.request
        return {"kind": self.kind, "request": self.request}

    def envelope(self) -> dict[str, Any]:
        """The stored form."""
        return {"kind": self.kind, "request": self.request, "resolved": self.resolved}


def unwrap(stored: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A stored request's kind, request and resolved parts, from any form a store holds."""
    if isinstance(stored.get("kind"), str) and isinstance(stored.get("request"), dict):
        return stored["kind"], stored["request"], dict(stored.get("resolved") or {})
    return COMPARISON, stored, {}  # a comparison stored before the envelope
