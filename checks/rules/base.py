"""What a stop rule sees and what it returns."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from models.operating_model import OperatingModel
from pipelines.facts import EVIDENCE_CAP, WeekInputs

Status = Literal["pass", "warn", "fail", "unknown"]
OnFail = Literal["pause_pilot", "pause_expansion", "warn"]


@dataclass(frozen=True)
class WeekHistory:
    """Earlier weeks of the same pilot, newest first, as stored by earlier runs."""

    # week -> stored metrics of that week
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    # week -> ids of rules that failed that week
    failed_rules: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may read: the week's facts, metrics, inputs, history and the model."""

    operating_model: OperatingModel
    week: str
    facts: pl.DataFrame
    metrics: dict[str, Any]
    inputs: WeekInputs
    input_stats: dict[str, dict[str, Any]]
    history: WeekHistory


@dataclass(frozen=True)
class RuleOutcome:
    """One rule's result for the week."""

    id: str
    status: Status
    value: float | None
    threshold: float | None
    message: str
    evidence: list[str]
    evidence_total: int
    owner_role: str
    on_fail: OnFail

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
            "evidence": self.evidence,
            "evidence_total": self.evidence_total,
            "owner_role": self.owner_role,
            "on_fail": self.on_fail,
        }


@dataclass(frozen=True)
class Rule:
    id: str
    owner_role: str
    on_fail: OnFail
    evaluate: Callable[[RuleContext], tuple[Status, float | None, float | None, str, list[str]]]


def outcome(rule: Rule, ctx: RuleContext) -> RuleOutcome:
    """Run a rule and cap its evidence (the total is kept)."""
    status, value, threshold, message, evidence = rule.evaluate(ctx)
    unique = list(dict.fromkeys(evidence))
    return RuleOutcome(
        id=rule.id,
        status=status,
        value=None if value is None else round(float(value), 4),
        threshold=None if threshold is None else float(threshold),
        message=message,
        evidence=unique[:EVIDENCE_CAP],
        evidence_total=len(unique),
        owner_role=rule.owner_role,
        on_fail=rule.on_fail,
    )


def ids(values: Iterable[Any]) -> list[str]:
    return sorted({str(v) for v in values if v is not None})


def above(value: float | None, limit: float, what: str, unit: str = "") -> tuple[Status, str]:
    """fail when value > limit; unknown when the value cannot be measured."""
    if value is None:
        return "unknown", f"{what} cannot be measured this week"
    if value > limit:
        return "fail", f"{what} {value:.4g}{unit} is above the limit {limit:.4g}{unit}"
    return "pass", f"{what} {value:.4g}{unit} is within the limit {limit:.4g}{unit}"
