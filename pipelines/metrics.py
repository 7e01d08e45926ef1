"""Weekly metrics of one pilot (contract sections 5 and 7): costs, rates, savings and volumes.

Computed once from the week's task facts and inputs, stored, and read by rules and reports.
`None` means "not measurable this week" (for example no AI tasks), never zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, select

from models.operating_model import OperatingModel
from models.results import (
    Baseline,
    BillReconciliation,
    HumanMinutesByActivity,
    SourceCoverage,
    Volume,
    Volumes,
    Week,
    WeeklyMetrics,
    days_in_month,
)
from models.warehouse import TaskFact, WeeklyMetric
from pipelines.coverage import (
    HISTORY_WEEKS,
    affected,
    month_gaps,
    source_coverage,
    usage_day_rows,
    week_day_rows,
)
from pipelines.facts import (
    OVERSIGHT_ACTIVITIES,
    WeekInputs,
    human_costed,
    rate_expr,
    read_week_inputs,
    task_facts,
)
from pipelines.input_stats import snapshot_week_inputs, week_input_stats
from pipelines.intervals import wilson
from pipelines.reconciliation import week_reconciliation
from pipelines.warehouse.bulk import drop_stage, replace_partition, stage_rows
from pipelines.warehouse.engine import transaction


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def weekly_fees(operating_model: OperatingModel, week: Week) -> float:
    """Fixed monthly fees spread evenly over days: 7 days of the month of the week's Thursday."""
    return operating_model.costs.fixed_monthly_fees * 7 / days_in_month(week.thursday)


def baselines(facts: pl.DataFrame, operating_model: OperatingModel) -> pl.DataFrame:
    """Manual handle minutes per category: median of manual tasks when there are at least 5."""
    manual = facts.filter(~pl.col("ai_task") & pl.col("handle_minutes").is_not_null())
    measured = manual.group_by("category").agg(
        pl.col("handle_minutes").median().alias("median_minutes"), pl.len().alias("manual_tasks")
    )
    categories = facts.filter(pl.col("ai_task")).select("category").unique()
    return (
        categories.join(measured, on="category", how="left")
        .with_columns(pl.col("manual_tasks").fill_null(0))
        .with_columns(
            pl.when(pl.col("manual_tasks") >= 5)
            .then(pl.col("median_minutes"))
            .otherwise(pl.lit(operating_model.costs.baseline_manual_minutes))
            .alias("baseline_minutes"),
            (pl.col("manual_tasks") >= 5).alias("measured"),
        )
        .sort("category")
    )


def week_rows(inputs: WeekInputs) -> dict[str, int]:
    """Rows of each covered source in the week (usage: model calls)."""
    return {
        "usage": int(inputs.usage_summary.get_column("calls").sum() or 0),
        "tickets": inputs.tickets.height,
        "timesheets": inputs.timesheets.height,
        "reviews": inputs.reviews.height,
    }


def weekly_metrics(
    facts: pl.DataFrame,
    inputs: WeekInputs,
    operating_model: OperatingModel,
    bill_reconciliation: BillReconciliation | None = None,
    coverage: dict[str, SourceCoverage] | None = None,
    month_unknown: dict[str, str] | None = None,
) -> WeeklyMetrics:
    """All metrics of the week; `bill_reconciliation` is the week's provider bills beside the
    request logs (None without bill lines). `coverage` is how completely each source covers the
    week (by default from the inputs alone: missing or not, usage days unread, no history);
    `month_unknown` makes the month-to-date figures unknown for a gap earlier in the month.

    A metric needing a missing source (`METRIC_SOURCES`) is None with the reason in
    `unknown_because`; one needing a partial source keeps its value and is listed in `partial`.
    """
    if coverage is None:
        weekdays = week_day_rows(
            inputs.tickets, inputs.timesheets, inputs.reviews, inputs.week, None
        )
        coverage = source_coverage(week_rows(inputs), weekdays)
    unknown = affected(coverage, "missing")
    for metric, reason in (month_unknown or {}).items():
        unknown[metric] = "; ".join(r for r in (unknown.get(metric), reason) if r)
    ai = facts.filter(pl.col("ai_task"))
    manual = facts.filter(~pl.col("ai_task"))
    usage = inputs.usage_summary
    model_cost = float(usage.get_column("cost_usd").sum() or 0.0)
    calls = int(usage.get_column("calls").sum() or 0)
    failed_calls = int(usage.filter(pl.col("status") != "ok").get_column("calls").sum() or 0)

    costed = human_costed(inputs.timesheets, operating_model)
    human_cost = float(costed.get_column("cost_usd").sum() or 0.0)
    minutes_by_activity = {
        a: float(
            inputs.timesheets.filter(pl.col("activity") == a).get_column("minutes").sum() or 0.0
        )
        for a in ("review", "rework", "escalation", "maintenance", "other")
    }
    oversight_minutes = sum(minutes_by_activity[a] for a in OVERSIGHT_ACTIVITIES)
    fees = weekly_fees(operating_model, inputs.week)
    total = model_cost + human_cost + fees
    ai_tasks = ai.height

    reviewed = inputs.reviews.height
    serious = inputs.reviews.filter(pl.col("severity").is_in(("medium", "stop_now"))).height
    stop_now = inputs.reviews.filter(pl.col("severity") == "stop_now").height
    with_outcome = ai.filter(pl.col("draft_outcome").is_not_null())
    corrected = with_outcome.filter(
        pl.col("draft_outcome").is_in(("rewritten", "discarded"))
    ).height

    base = baselines(facts, operating_model)
    ai_handled = ai.filter(pl.col("handle_minutes").is_not_null()).join(
        base.select("category", "baseline_minutes"), on="category", how="left"
    )
    gross_saved = float(
        (ai_handled["baseline_minutes"] - ai_handled["handle_minutes"]).sum() or 0.0
    )
    agents = ai.filter(pl.col("agent").is_not_null()).get_column("agent").n_unique()
    saved_per_day = _ratio(gross_saved - oversight_minutes, agents * 5)

    sunday = inputs.week.sunday
    days_elapsed = sunday.day
    month_days = days_in_month(sunday)
    month_human = float(
        inputs.month_timesheets.filter(
            pl.col("activity").is_in(("review", "rework", "escalation", "maintenance"))
        )
        .select((pl.col("minutes") / 60 * rate_expr(operating_model)).sum())
        .item()
        or 0.0
    )
    month_fees = operating_model.costs.fixed_monthly_fees * days_elapsed / month_days
    month_to_date = inputs.month_model_cost + month_human + month_fees
    projected = month_to_date / days_elapsed * month_days

    def known(metric: str, value: float | None, digits: int = 4) -> float | None:
        return None if metric in unknown else _round(value, digits)

    cost_known = "total_cost" not in unknown
    hours_known = "human_cost" not in unknown
    current_cost = total * 52 / 12
    current_review_hours = oversight_minutes / 60 * 52 / 12

    def volume(factor: float) -> Volume:
        cost = current_cost * factor
        return Volume(
            cost=round(cost, 2) if cost_known else None,
            review_hours=round(current_review_hours * factor, 1) if hours_known else None,
            under_cap=cost <= operating_model.costs.monthly_cap if cost_known else None,
        )

    reviewed_agents = (
        inputs.reviews.join(facts.select("ticket_id", "agent"), on="ticket_id", how="left")
        .get_column("agent")
        .drop_nulls()
        .n_unique()
    )
    review_days = (
        inputs.reviews.select(
            pl.col("reviewed_at").dt.convert_time_zone(operating_model.timezone).dt.date()
        ).n_unique()
        if reviewed
        else 0
    )
    values: dict[str, Any] = {
        "model_cost": known("model_cost", model_cost),
        "human_cost": known("human_cost", human_cost),
        "total_cost": known("total_cost", total),
        "cost_per_task": known("cost_per_task", _ratio(total, ai_tasks)),
        "model_cost_per_task": known(
            "model_cost_per_task", _ratio(float(ai["model_cost_usd"].sum() or 0.0), ai_tasks)
        ),
        "error_rate": known("error_rate", _ratio(serious, reviewed)),
        "stop_now_share": known("stop_now_share", _ratio(stop_now, reviewed)),
        "correction_rate": known("correction_rate", _ratio(corrected, with_outcome.height)),
        "minutes_saved_per_employee_day": known("minutes_saved_per_employee_day", saved_per_day, 2),
        "month_to_date_cost": known("month_to_date_cost", month_to_date, 2),
        "projected_month_cost": known("projected_month_cost", projected, 2),
    }
    because = dict(unknown)
    for metric, reason in NOT_MEASURABLE.items():
        if values[metric] is None and metric not in because:
            because[metric] = reason
    return WeeklyMetrics(
        ai_tasks=ai_tasks,
        manual_tasks=manual.height,
        unknown_ai_tasks=facts.filter(pl.col("ai_task").is_null()).height,
        fees=round(fees, 4),
        reviewed=reviewed,
        volumes=Volumes(
            current=volume(1.0),
            next_team=volume(operating_model.volumes.next_team_factor),
            busy_month=volume(operating_model.volumes.busy_month_factor),
        ),
        model_calls=calls,
        failed_model_calls=failed_calls,
        unpriced_model_calls=inputs.unpriced_total,
        human_minutes_by_activity=None
        if "human_minutes_by_activity" in unknown
        else HumanMinutesByActivity(**{k: round(v, 1) for k, v in minutes_by_activity.items()}),
        serious_findings=serious,
        review_distinct_days=review_days,
        review_distinct_agents=reviewed_agents,
        baselines=[
            Baseline(
                category=row["category"],
                median_minutes=_round(row["median_minutes"], 2),
                manual_tasks=row["manual_tasks"],
                baseline_minutes=round(float(row["baseline_minutes"]), 2),
                measured=row["measured"],
            )
            for row in base.to_dicts()
        ],
        bill_reconciliation=bill_reconciliation,
        error_rate_ci=_interval(values["error_rate"], serious, reviewed),
        correction_rate_ci=_interval(values["correction_rate"], corrected, with_outcome.height),
        stop_now_share_ci=_interval(values["stop_now_share"], stop_now, reviewed),
        draft_outcomes=with_outcome.height,
        unknown_because=dict(sorted(because.items())),
        partial=affected(coverage, "partial"),
        sources=coverage,
        **values,
    )


# Why a metric is None when no source is missing: nothing to measure this week.
NOT_MEASURABLE = {
    "cost_per_task": "no AI tasks this week",
    "model_cost_per_task": "no AI tasks this week",
    "error_rate": "no reviews this week",
    "stop_now_share": "no reviews this week",
    "correction_rate": "no AI task with a draft outcome this week",
    "minutes_saved_per_employee_day": "no AI task with an agent this week",
}


def _interval(share: float | None, successes: int, n: int) -> list[float] | None:
    """The Wilson 95 % interval of a known share, rounded like the share."""
    bounds = None if share is None else wilson(successes, n)
    return None if bounds is None else [round(bounds[0], 4), round(bounds[1], 4)]


@dataclass(frozen=True)
class WeekFacts:
    """One week as the facts stage computed it: the inputs read from the warehouse, the facts
    (one row per task) and the week's metrics. The rules stage evaluates these."""

    inputs: WeekInputs
    facts: pl.DataFrame
    metrics: WeeklyMetrics


def stored_metrics(conn: Connection, pilot: str, week: Week) -> WeeklyMetrics | None:
    """The metrics stored for a week, or None when its facts stage never ran."""
    metric = WeeklyMetric.__table__
    stored = conn.execute(
        select(metric.c.metrics_json).where(metric.c.pilot == pilot, metric.c.week == week.label)
    ).scalar_one_or_none()
    return None if stored is None else WeeklyMetrics.from_json(stored)


def earlier_metrics(conn: Connection, pilot: str, week: Week) -> list[tuple[Week, WeeklyMetrics]]:
    """The stored metrics of up to `HISTORY_WEEKS` weeks before this one (enough to cover the
    week's month), newest first."""
    found = []
    for back in range(1, HISTORY_WEEKS + 1):
        before = week.shift(-back)
        stored = stored_metrics(conn, pilot, before)
        if stored is not None:
            found.append((before, stored))
    return found


def compute_week_facts(db_url: str, operating_model: OperatingModel, week: Week) -> WeekFacts:
    """Read the week's inputs and compute its task facts and metrics (nothing is stored)."""
    with transaction(db_url) as conn:
        inputs = read_week_inputs(conn, operating_model, week)
        reconciliation = week_reconciliation(conn, operating_model, week)
        usage_days = usage_day_rows(conn, operating_model.pilot, inputs.week)
        earlier = earlier_metrics(conn, operating_model.pilot, inputs.week)
    facts = task_facts(inputs, operating_model)
    bills = None if reconciliation is None else BillReconciliation.model_validate(reconciliation)
    weekdays = week_day_rows(
        inputs.tickets, inputs.timesheets, inputs.reviews, inputs.week, usage_days
    )
    coverage = source_coverage(week_rows(inputs), weekdays, [m for _, m in earlier])
    gaps = month_gaps(inputs.week, earlier)
    return WeekFacts(
        inputs, facts, weekly_metrics(facts, inputs, operating_model, bills, coverage, gaps)
    )


def store_week_metrics(db_url: str, operating_model: OperatingModel, week: Week) -> WeekFacts:
    """Compute the week's task facts and metrics and store them (one writing transaction);
    the stored verdict of the week is cleared until the rules are evaluated again."""
    week_facts = compute_week_facts(db_url, operating_model, week)
    facts, metrics = week_facts.facts, week_facts.metrics
    pilot = operating_model.pilot
    # A large week's facts are staged before the writing transaction (SQLite bulk path).
    staged = stage_rows(db_url, TaskFact, facts)
    try:
        with transaction(db_url, attach=staged) as conn:
            snapshot_week_inputs(conn, pilot, week.label)
            where = {"pilot": pilot, "week": week.label}
            replace_partition(conn, TaskFact, where, facts, staged=staged)
            row = pl.DataFrame(
                [
                    {
                        "pilot": pilot,
                        "week": week.label,
                        "ai_tasks": metrics.ai_tasks,
                        "total_cost": metrics.total_cost,
                        "cost_per_task": metrics.cost_per_task,
                        "verdict": None,
                        "metrics_json": metrics.to_json(),
                        "inputs_json": json.dumps(
                            week_input_stats(conn, pilot, week.label, week.timezone),
                            sort_keys=True,
                        ),
                    }
                ],
                schema_overrides={"cost_per_task": pl.Float64, "verdict": pl.String},
            )
            replace_partition(conn, WeeklyMetric, where, row)
    finally:
        if staged is not None:
            drop_stage(staged)
    return week_facts
