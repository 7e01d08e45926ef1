"""The week's rule outcomes and verdict (contract section 6)."""

from __future__ import annotations

import json
from typing import Literal

import polars as pl
from sqlalchemy import Connection, select

from checks.rules.base import RuleContext, RuleOutcome, WeekHistory, outcome
from checks.rules.catalog import RULES, STREAK, streak
from models.operating_model import OperatingModel
from models.warehouse import RuleResult, WeeklyMetric
from pipelines.facts import read_week_inputs, task_facts
from pipelines.input_stats import week_input_stats
from pipelines.metrics import WeekFacts
from pipelines.warehouse.bulk import replace_partition
from pipelines.warehouse.engine import transaction

Verdict = Literal["ready", "pause_expansion", "pause_pilot"]


def evaluate_rules(ctx: RuleContext) -> list[RuleOutcome]:
    """Every rule of the catalog; the streak counts this week green when no other rule failed."""
    results = [outcome(rule, ctx) for rule in RULES]
    failed = any(r.status == "fail" for r in results)
    streak_rule = type(STREAK)(
        STREAK.id, STREAK.owner_role, STREAK.on_fail, lambda c: streak(c, failed)
    )
    return [*results, outcome(streak_rule, ctx)]


def verdict(results: list[RuleOutcome]) -> Verdict:
    """pause_pilot if a pause_pilot rule fails; else pause_expansion if any rule fails or a rule
    needed for a pass is unknown; else ready."""
    if any(r.status == "fail" and r.on_fail == "pause_pilot" for r in results):
        return "pause_pilot"
    if any(r.status == "fail" for r in results):
        return "pause_expansion"
    if any(r.status == "unknown" and r.on_fail != "warn" for r in results):
        return "pause_expansion"
    return "ready"


def read_history(conn: Connection, pilot: str, week: str) -> WeekHistory:
    """Stored metrics and failed rules of the pilot's weeks before `week`."""
    metric, rule = WeeklyMetric.__table__, RuleResult.__table__
    metrics = {
        r.week: json.loads(r.metrics_json)
        for r in conn.execute(
            select(metric.c.week, metric.c.metrics_json).where(
                metric.c.pilot == pilot, metric.c.week < week
            )
        )
    }
    # Only weeks whose rules were evaluated appear here; a week with facts but no rule results
    # is not a green week.
    failed: dict[str, list[str]] = {}
    for r in conn.execute(
        select(rule.c.week, rule.c.rule_id, rule.c.status).where(
            rule.c.pilot == pilot, rule.c.week < week
        )
    ):
        failed.setdefault(r.week, [])
        if r.status == "fail":
            failed[r.week].append(r.rule_id)
    return WeekHistory(metrics=metrics, failed_rules=failed)


def stored_outcomes(conn: Connection, pilot: str, week: str) -> list[RuleOutcome]:
    """The rule outcomes stored for a week, in catalog order."""
    rule = RuleResult.__table__
    rows = conn.execute(select(rule).where(rule.c.pilot == pilot, rule.c.week == week)).all()
    order = {r.id: i for i, r in enumerate([*RULES, STREAK])}
    return sorted(
        (
            RuleOutcome(
                id=r.rule_id,
                status=r.status,
                value=r.value,
                threshold=r.threshold,
                message=r.message,
                evidence=json.loads(r.evidence_json),
                evidence_total=r.evidence_total,
                owner_role=r.owner_role,
                on_fail=r.on_fail,
            )
            for r in rows
        ),
        key=lambda o: order.get(o.id, len(order)),
    )


def store_week_verdict(
    db_url: str,
    operating_model: OperatingModel,
    week: str,
    week_facts: WeekFacts | None = None,
) -> tuple[Verdict, list[RuleOutcome]]:
    """Evaluate every rule on the week and store results and verdict (one transaction).

    `week_facts` is what the facts stage just computed for the week; without it, the week's
    inputs and facts are read back from the warehouse and its metrics from the stored ones.
    """
    with transaction(db_url) as conn:
        metric = WeeklyMetric.__table__
        stored = conn.execute(
            select(metric.c.metrics_json).where(
                metric.c.pilot == operating_model.pilot, metric.c.week == week
            )
        ).scalar_one_or_none()
        if stored is None:
            raise LookupError(
                f"no stored metrics for {operating_model.pilot} {week}: run the facts stage first"
            )
        if week_facts is None:
            inputs = read_week_inputs(conn, operating_model, week)
            week_facts = WeekFacts(inputs, task_facts(inputs, operating_model), json.loads(stored))
        ctx = RuleContext(
            operating_model=operating_model,
            week=week,
            facts=week_facts.facts,
            metrics=week_facts.metrics,
            inputs=week_facts.inputs,
            input_stats=week_input_stats(conn, operating_model.pilot, week),
            history=read_history(conn, operating_model.pilot, week),
        )
        results = evaluate_rules(ctx)
        outcome_verdict = verdict(results)
        rows = pl.DataFrame(
            [
                {
                    "pilot": operating_model.pilot,
                    "week": week,
                    "rule_id": r.id,
                    "status": r.status,
                    "value": r.value,
                    "threshold": r.threshold,
                    "message": r.message,
                    "evidence_json": json.dumps(r.evidence),
                    "evidence_total": r.evidence_total,
                    "owner_role": r.owner_role,
                    "on_fail": r.on_fail,
                }
                for r in results
            ],
            schema_overrides={"value": pl.Float64, "threshold": pl.Float64},
        )
        replace_partition(conn, RuleResult, {"pilot": operating_model.pilot, "week": week}, rows)
        conn.execute(
            metric.update()
            .where(metric.c.pilot == operating_model.pilot, metric.c.week == week)
            .values(verdict=outcome_verdict)
        )
    return outcome_verdict, results
