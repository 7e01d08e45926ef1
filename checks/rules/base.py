"""What a stop rule is, what it sees and what it finds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

import polars as pl

from models.operating_model import OperatingModel
from models.results import EvidenceKind, OnFail, RuleOutcome, Status, Week, WeeklyMetrics
from pipelines.facts import EVIDENCE_CAP, WeekInputs


@dataclass(frozen=True)
class WeekHistory:
    """Earlier weeks of the same pilot, as stored by earlier runs, keyed by week label."""

    metrics: dict[str, WeeklyMetrics] = field(default_factory=dict)
    # Ids of the rules that failed or were unknown (kept the week from being green), for each
    # week whose rules were evaluated.
    failed_rules: dict[str, list[str]] = field(default_factory=dict)
    # Each stored week's verdict (None: facts stored, rules not evaluated).
    verdicts: dict[str, str | None] = field(default_factory=dict)
    # The first week holding model usage of the pilot (None without any).
    first_usage_week: str | None = None


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may read: the week's facts, metrics, inputs, history and the model."""

    operating_model: OperatingModel
    week: Week
    facts: pl.DataFrame
    metrics: WeeklyMetrics
    inputs: WeekInputs
    input_stats: dict[str, dict[str, Any]]
    history: WeekHistory


@dataclass(frozen=True)
class Finding:
    """What a rule's evaluation found: its status, the measured value against the threshold,
    a sentence for the report and the evidence behind it (ticket ids, files, versions...)."""

    status: Status
    value: float | None
    threshold: float | None
    message: str
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One stop rule, declared once in the catalog with everything about it: its stable id,
    the function that evaluates it, the role that owns it, what a failure pauses, the action a
    report asks for when it fails or warns and the kind of its evidence items."""

    id: str
    evaluate: Callable[[RuleContext], Finding]
    owner_role: str
    on_fail: OnFail
    action: str
    evidence_kind: EvidenceKind
    # The weekly metrics the rule decides on (names in WeeklyMetrics): when it is unknown, their
    # `unknown_because` reasons are the rule's.
    needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.action.strip():
            raise ValueError(f"rule {self.id}: an action is required")
        if self.evidence_kind not in get_args(EvidenceKind):
            raise ValueError(
                f"rule {self.id}: evidence kind {self.evidence_kind!r} is not one of "
                f"{', '.join(get_args(EvidenceKind))}"
            )
        if self.on_fail not in get_args(OnFail):
            raise ValueError(f"rule {self.id}: on_fail {self.on_fail!r} is not known")


def outcome(rule: Rule, ctx: RuleContext) -> RuleOutcome:
    """Run a rule and cap its evidence (the total is kept)."""
    found = rule.evaluate(ctx)
    unique = list(dict.fromkeys(found.evidence))
    return RuleOutcome(
        id=rule.id,
        status=found.status,
        value=None if found.value is None else round(float(found.value), 4),
        threshold=None if found.threshold is None else float(found.threshold),
        message=found.message,
        evidence=unique[:EVIDENCE_CAP],
        evidence_total=len(unique),
        owner_role=rule.owner_role,
        on_fail=rule.on_fail,
        action=rule.action,
        evidence_kind=rule.evidence_kind,
    )


def unknown_because(ctx: RuleContext, metric: str) -> str | None:
    """Why a metric is unknown this week, as the metrics stage recorded it."""
    return ctx.metrics.unknown_because.get(metric)


def partial_note(ctx: RuleContext, *metrics: str) -> str:
    """ " (partial: ...)" when one of the metrics is computed from a partial source, else ""."""
    notes = list(dict.fromkeys(ctx.metrics.partial[m] for m in metrics if m in ctx.metrics.partial))
    return f" (partial: {'; '.join(notes)})" if notes else ""


def unknown_reason(
    rule: Rule | None, status: str, message: str, metrics: WeeklyMetrics
) -> str | None:
    """Why a rule is unknown: the reasons its metrics are unknown, else its finding; None when
    the rule is not unknown."""
    if status != "unknown":
        return None
    needs = rule.needs if rule else ()
    reasons = [metrics.unknown_because[m] for m in needs if m in metrics.unknown_because]
    return "; ".join(dict.fromkeys(reasons)) if reasons else message


def ids(values: Iterable[Any]) -> list[str]:
    return sorted({str(v) for v in values if v is not None})


def above(
    value: float | None, limit: float, what: str, unit: str = "", because: str | None = None
) -> tuple[Status, str]:
    """fail when value > limit; unknown when the value cannot be measured (`because` says why)."""
    if value is None:
        return "unknown", f"{what} is unknown ({because or 'cannot be measured this week'})"
    if value > limit:
        return "fail", f"{what} {value:.4g}{unit} is above the limit {limit:.4g}{unit}"
    return "pass", f"{what} {value:.4g}{unit} is within the limit {limit:.4g}{unit}"
