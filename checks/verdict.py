"""The week's rule outcomes and verdict (contract section 6)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Literal
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, func, select

from checks.rules.base import RuleContext, WeekHistory, outcome
from checks.rules.catalog import CATALOG, RULES, STREAK, streak
from models.operating_model import OperatingModel
from models.results import RuleOutcome, Week, WeeklyMetrics
from models.warehouse import RuleResult, UsageSummary, WeeklyMetric
from pipelines.facts import read_week_inputs, task_facts
from pipelines.input_stats import week_input_stats
from pipelines.metrics import WeekFacts, stored_metrics
from pipelines.warehouse.bulk import replace_partition
from pipelines.warehouse.engine import transaction
from pipelines.weeks import pilot_week

Verdict = Literal["ready", "pause_expansion", "pause_pilot"]
# Rule statuses that keep a week from counting green: an unknown is never taken as a pass.
NOT_GREEN = ("fail", "unknown")


def evaluate_rules(ctx: RuleContext) -> list[RuleOutcome]:
    """Every rule of the catalog; the streak counts this week green when no other rule failed
    or is unknown."""
    results = [outcome(rule, ctx) for rule in RULES]
    failed = any(r.status in NOT_GREEN for r in results)
    streak_rule = replace(STREAK, evaluate=lambda c: streak(c, failed))
    return [*results, outcome(streak_rule, ctx)]


def verdict(results: list[RuleOutcome]) -> Verdict:
    """pause_pilot if a pause_pilot rule fails; else pause_expansion if any rule fails or is
    unknown (whatever its consequence: an unknown never lets a week pass); else ready."""
    if any(r.status == "fail" and r.on_fail == "pause_pilot" for r in results):
        return "pause_pilot"
    if any(r.status == "fail" for r in results):
        return "pause_expansion"
    if any(r.status == "unknown" for r in results):
        return "pause_expansion"
    return "ready"


def read_history(conn: Connection, pilot: str, week: Week) -> WeekHistory:
    """Stored metrics and the rules that failed or were unknown in the pilot's weeks before
    `week` (`failed_rules`: what kept each week from being green)."""
    metric, rule = WeeklyMetric.__table__, RuleResult.__table__
    metrics, verdicts = {}, {}
    for r in conn.execute(
        select(metric.c.week, metric.c.metrics_json, metric.c.verdict).where(
            metric.c.pilot == pilot, metric.c.week < week.label
        )
    ):
        metrics[r.week] = WeeklyMetrics.from_json(r.metrics_json)
        verdicts[r.week] = r.verdict
    # Only weeks whose rules were evaluated appear here; a week with facts but no rule results
    # is not a green week.
    failed: dict[str, list[str]] = {}
    for r in conn.execute(
        select(rule.c.week, rule.c.rule_id, rule.c.status).where(
            rule.c.pilot == pilot, rule.c.week < week.label
        )
    ):
        failed.setdefault(r.week, [])
        if r.status in NOT_GREEN:
            failed[r.week].append(r.rule_id)
    summary = UsageSummary.__table__
    first_usage = conn.execute(
        select(func.min(summary.c.bucket_start)).where(summary.c.pilot == pilot)
    ).scalar()
    first_usage_week = None
    if first_usage is not None:
        if first_usage.tzinfo is None:
            first_usage = first_usage.replace(tzinfo=dt.UTC)
        local_day = first_usage.astimezone(ZoneInfo(week.timezone)).date()
        first_usage_week = Week.of_day(local_day, week.timezone).label
    return WeekHistory(
        metrics=metrics,
        failed_rules=failed,
        verdicts=verdicts,
        first_usage_week=first_usage_week,
    )


def stored_outcomes(conn: Connection, pilot: str, week: Week) -> list[RuleOutcome]:
    """The rule outcomes stored for a week, in catalog order, with each rule's action and
    evidence kind from the catalog (a rule no longer in the catalog asks for its message and
    shows its evidence as text)."""
    rule = RuleResult.__table__
    rows = conn.execute(select(rule).where(rule.c.pilot == pilot, rule.c.week == week.label)).all()
    order = {rule_id: i for i, rule_id in enumerate(CATALOG)}
    outcomes = []
    for r in rows:
        declared = CATALOG.get(r.rule_id)
        outcomes.append(
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
                action=declared.action if declared else r.message,
                evidence_kind=declared.evidence_kind if declared else "text",
            )
        )
    return sorted(outcomes, key=lambda o: (order.get(o.id, len(order)), o.id))


def store_week_verdict(
    db_url: str,
    operating_model: OperatingModel,
    week: Week,
    week_facts: WeekFacts | None = None,
) -> tuple[Verdict, list[RuleOutcome]]:
    """Evaluate every rule on the week and store results and verdict (one transaction).

    `week_facts` is what the facts stage just computed for the week; without it, the week's
    inputs and facts are read back from the warehouse and its metrics from the stored ones.
    """
    pilot, week = operating_model.pilot, pilot_week(operating_model, week)
    with transaction(db_url) as conn:
        stored = stored_metrics(conn, pilot, week)
        if stored is None:
            raise LookupError(f"no stored metrics for {pilot} {week}: run the facts stage first")
        if week_facts is None:
            inputs = read_week_inputs(conn, operating_model, week)
            week_facts = WeekFacts(inputs, task_facts(inputs, operating_model), stored)
        ctx = RuleContext(
            operating_model=operating_model,
            week=week,
            facts=week_facts.facts,
            metrics=week_facts.metrics,
            inputs=week_facts.inputs,
            input_stats=week_input_stats(conn, pilot, week.label, week.timezone),
            history=read_history(conn, pilot, week),
        )
        results = evaluate_rules(ctx)
        outcome_verdict = verdict(results)
        rows = pl.DataFrame(
            [
                {
                    "pilot": pilot,
                    "week": week.label,
                    "rule_id": r.id,
                    "status": r.status,
                    "value": r.value,
                    "threshold": r.threshold,
                    "message": r.message,
                    "evidence_json": json.dumps(r.evidence, allow_nan=False),
                    "evidence_total": r.evidence_total,
                    "owner_role": r.owner_role,
                    "on_fail": r.on_fail,
                }
                for r in results
            ],
            schema_overrides={"value": pl.Float64, "threshold": pl.Float64},
        )
        replace_partition(conn, RuleResult, {"pilot": pilot, "week": week.label}, rows)
        metric = WeeklyMetric.__table__
        conn.execute(
            metric.update()
            .where(metric.c.pilot == pilot, metric.c.week == week.label)
            .values(verdict=outcome_verdict)
        )
    return outcome_verdict, results


def forget_week_results(db_url: str, pilot: str, week: Week) -> None:
    """Remove a week's stored metrics and rule results (a draft of a week not yet ended)."""
    metric, rule = WeeklyMetric.__table__, RuleResult.__table__
    with transaction(db_url) as conn:
        for table in (rule, metric):
            conn.execute(table.delete().where(table.c.pilot == pilot, table.c.week == week.label))
