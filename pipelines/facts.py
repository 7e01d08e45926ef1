"""Per-task facts of one pilot and week, and the week's inputs read from the warehouse.

A *task* is a ticket solved in the week: an AI task when an AI draft was used, else a manual task
(the comparison group). Each task carries its model cost (usage attributed to it in the week),
the human minutes and cost logged against it, its draft outcome and worst review severity.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import Connection, and_, func, or_, select

from models.operating_model import OperatingModel
from models.results import Week
from models.sources import CHANGES, POLARS_TYPES, REVIEWS, TICKETS, TIMESHEETS, USAGE
from models.warehouse import (
    ChangeEntry,
    ReviewFinding,
    Ticket,
    TicketLabel,
    TimesheetEntry,
    UsageCall,
    UsageSummary,
    UsageTaskSummary,
)
from pipelines.ticket_labels import LABEL_SCHEMA, SOLVED_WORDS, complete_tickets
from pipelines.usage_costs import UNPRICED
from pipelines.usage_summary import GROUP_COLUMNS, aligned, calls_between, task_rows_fit
from pipelines.warehouse.reads import read_frame
from pipelines.weeks import pilot_week

SEVERITY_RANK = {"none": 0, "low": 1, "medium": 2, "stop_now": 3}
HUMAN_ACTIVITIES = ("review", "rework", "escalation", "maintenance")
OVERSIGHT_ACTIVITIES = ("review", "rework", "escalation")
EVIDENCE_CAP = 25

# The frames of WeekInputs: column names and types (timestamps in UTC), the types as the
# sources declare them. Each names the columns it reads, in the order its frames hold them.
UTC_TIME = POLARS_TYPES["datetime"]
# Every ticket column (the contact count for the comparison with the manual process, issue 22).
TICKET_SCHEMA = TICKETS.polars_schema(tuple(TICKETS.columns))
# Usage grouped per task, model, prompt and status: price_source is set by pricing, calls counts
# the group's calls and cost_usd sums the resolved model cost (usage_call.model_cost_usd), not
# the cost_usd a usage file states; none of the three is a usage column.
USAGE_SUMMARY_SCHEMA = {
    **USAGE.polars_schema(("task_id", "model", "prompt_version", "status")),
    "price_source": pl.String,
    "calls": pl.Int64,
    "cost_usd": pl.Float64,
}
TIMESHEET_SCHEMA = TIMESHEETS.polars_schema(
    ("entry_id", "person", "work_date", "minutes", "activity", "ticket_id")
)
MONTH_TIMESHEET_SCHEMA = TIMESHEETS.polars_schema(("person", "activity", "minutes"))
REVIEW_SCHEMA = REVIEWS.polars_schema(
    ("ticket_id", "reviewer", "reviewed_at", "severity", "category", "note", "fix")
)
CHANGE_SCHEMA = CHANGES.polars_schema()


@dataclass(frozen=True)
class WeekInputs:
    """What the warehouse holds for one pilot and week (and the month so far)."""

    pilot: str
    week: Week
    tickets: pl.DataFrame  # tickets solved in the week
    usage_summary: pl.DataFrame  # usage in the week grouped by task, model, prompt, status, pricing
    unpriced_request_ids: list[str]
    unpriced_total: int
    timesheets: pl.DataFrame  # entries dated in the week
    reviews: pl.DataFrame  # reviews in the week
    earlier_findings: pl.DataFrame  # medium/stop_now reviews before the week, with fixes
    changes: pl.DataFrame  # every change up to the week's end
    month_model_cost: float
    month_timesheets: (
        pl.DataFrame
    )  # person, activity, minutes from the 1st of the month to week end


def _t(table_class: type) -> object:
    return table_class.__table__  # type: ignore[attr-defined]


def read_week_inputs(conn: Connection, operating_model: OperatingModel, week: Week) -> WeekInputs:
    """Read the week's rows (aggregated where the table is large) for one pilot."""
    week = pilot_week(operating_model, week)
    start, end = week.start, week.end
    monday, sunday, month_first = week.monday, week.sunday, week.month_first
    pilot = operating_model.pilot
    usage, sheet, review, change = (
        _t(UsageCall),
        _t(TimesheetEntry),
        _t(ReviewFinding),
        _t(ChangeEntry),
    )
    tickets = _tickets_solved_in_week(conn, operating_model, start, end)
    usage_summary = _week_usage_summary(conn, pilot, start, end)
    unpriced_total = int(
        usage_summary.filter(pl.col("price_source") == UNPRICED).get_column("calls").sum() or 0
    )
    unpriced_ids = (
        conn.execute(
            select(usage.c.request_id)
            .where(
                calls_between(pilot, start, end),
                usage.c.price_source == UNPRICED,
            )
            .order_by(usage.c.request_id)
            .limit(EVIDENCE_CAP)
        )
        .scalars()
        .all()
        if unpriced_total
        else []
    )
    timesheets = read_frame(
        conn,
        select(*(sheet.c[c] for c in TIMESHEET_SCHEMA))
        .where(sheet.c.pilot == pilot, sheet.c.work_date >= monday, sheet.c.work_date <= sunday)
        .order_by(sheet.c.entry_id),
        schema=TIMESHEET_SCHEMA,
    )
    month_timesheets = read_frame(
        conn,
        select(sheet.c.person, sheet.c.activity, func.sum(sheet.c.minutes).label("minutes"))
        .where(
            sheet.c.pilot == pilot, sheet.c.work_date >= month_first, sheet.c.work_date <= sunday
        )
        .group_by(sheet.c.person, sheet.c.activity)
        .order_by(sheet.c.person, sheet.c.activity),
        schema=MONTH_TIMESHEET_SCHEMA,
    )
    review_columns = [review.c[c] for c in REVIEW_SCHEMA]
    reviews = read_frame(
        conn,
        select(*review_columns)
        .where(review.c.pilot == pilot, review.c.reviewed_at >= start, review.c.reviewed_at < end)
        .order_by(review.c.reviewed_at, review.c.ticket_id, review.c.reviewer),
        schema=REVIEW_SCHEMA,
    )
    earlier = read_frame(
        conn,
        select(*review_columns)
        .where(
            review.c.pilot == pilot,
            review.c.reviewed_at < start,
            review.c.severity.in_(("medium", "stop_now")),
        )
        .order_by(review.c.reviewed_at, review.c.ticket_id, review.c.reviewer),
        schema=REVIEW_SCHEMA,
    )
    changes = read_frame(
        conn,
        select(*(change.c[c] for c in CHANGE_SCHEMA))
        .where(change.c.pilot == pilot, change.c.changed_at < end)
        .order_by(change.c.changed_at, change.c.kind, change.c.version),
        schema=CHANGE_SCHEMA,
    )
    month_cost = _model_cost_usd(conn, pilot, week.month_start, end)
    return WeekInputs(
        pilot=pilot,
        week=week,
        tickets=tickets,
        usage_summary=usage_summary,
        unpriced_request_ids=list(unpriced_ids),
        unpriced_total=unpriced_total,
        timesheets=timesheets,
        reviews=reviews,
        earlier_findings=earlier,
        changes=changes,
        month_model_cost=float(month_cost),
        month_timesheets=month_timesheets,
    )


def _week_usage_summary(
    conn: Connection, pilot: str, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    """Usage calls in [start, end) per task, model, prompt, status and price source: the task
    summary's rows that start in the span when none crosses its bounds, else the calls."""
    if task_rows_fit(conn, pilot, start, end):
        task: Any = _t(UsageTaskSummary)
        # Task rows are few enough to read as they are; polars groups them several times
        # faster than SQLite, which sorts to group.
        rows = read_frame(
            conn,
            select(*(task.c[c] for c in GROUP_COLUMNS), task.c.calls, task.c.cost_usd).where(
                task.c.pilot == pilot, task.c.first_bucket >= start, task.c.first_bucket < end
            ),
            schema=USAGE_SUMMARY_SCHEMA,
        )
        return (
            rows.group_by(*GROUP_COLUMNS)
            .agg(pl.col("calls").sum(), pl.col("cost_usd").sum())
            .sort(*GROUP_COLUMNS, nulls_last=False)
        )
    usage: Any = _t(UsageCall)
    groups = [usage.c[c] for c in GROUP_COLUMNS]
    return read_frame(
        conn,
        select(
            *groups,
            func.count().label("calls"),
            func.coalesce(func.sum(usage.c.model_cost_usd), 0.0).label("cost_usd"),
        )
        .where(calls_between(pilot, start, end))
        .group_by(*groups)
        .order_by(*groups),
        schema=USAGE_SUMMARY_SCHEMA,
    )


def _model_cost_usd(conn: Connection, pilot: str, start: dt.datetime, end: dt.datetime) -> float:
    """Model cost of the usage calls in [start, end): from the bucket summary when both ends are
    bucket boundaries, else from the calls themselves."""
    if aligned(start, end):
        summary: Any = _t(UsageSummary)
        time = summary.c.bucket_start
        cost = func.sum(summary.c.cost_usd)
        in_span = and_(summary.c.pilot == pilot, time >= start, time < end)
    else:
        usage: Any = _t(UsageCall)
        cost = func.sum(usage.c.model_cost_usd)
        in_span = calls_between(pilot, start, end)
    statement = select(func.coalesce(cost, 0.0)).where(in_span)
    return float(conn.execute(statement).scalar_one())


def _tickets_solved_in_week(
    conn: Connection, operating_model: OperatingModel, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    """Tickets solved in [start, end): by their solve time, or, when the ticket row has none,
    by the status changes exported as labels; completed from their labels."""
    ticket, label = _t(Ticket), _t(TicketLabel)
    pilot = operating_model.pilot
    solved_by_label = select(label.c.ticket_id).where(
        label.c.pilot == pilot,
        label.c.name == "status",
        func.lower(label.c.value).in_(SOLVED_WORDS),
        label.c.labelled_at >= start,
        label.c.labelled_at < end,
    )
    in_week = and_(
        ticket.c.pilot == pilot,
        or_(
            and_(ticket.c.solved_at >= start, ticket.c.solved_at < end),
            and_(ticket.c.solved_at.is_(None), ticket.c.ticket_id.in_(solved_by_label)),
        ),
    )
    tickets = read_frame(
        conn,
        select(*(ticket.c[c] for c in TICKET_SCHEMA)).where(in_week).order_by(ticket.c.ticket_id),
        schema=TICKET_SCHEMA,
    )
    labels = read_frame(
        conn,
        select(*(label.c[c] for c in LABEL_SCHEMA))
        .join(
            ticket, and_(ticket.c.pilot == label.c.pilot, ticket.c.ticket_id == label.c.ticket_id)
        )
        .where(in_week)
        .order_by(label.c.ticket_id, label.c.label_id),
        schema=LABEL_SCHEMA,
    )
    if labels.height == 0:
        return tickets
    completed = complete_tickets(tickets, labels, operating_model.source("tickets"))
    return completed.filter((pl.col("solved_at") >= start) & (pl.col("solved_at") < end))


def rate_expr(operating_model: OperatingModel, person: str = "person") -> pl.Expr:
    """Hourly rate of the person in each row."""
    rates = operating_model.costs.hourly_rates
    return pl.col(person).replace_strict(
        {k: v for k, v in rates.items() if k != "default"},
        default=rates["default"],
        return_dtype=pl.Float64,
    )


def human_costed(timesheets: pl.DataFrame, operating_model: OperatingModel) -> pl.DataFrame:
    """Timesheet rows of paid pilot activities with their cost in USD."""
    return timesheets.filter(pl.col("activity").is_in(HUMAN_ACTIVITIES)).with_columns(
        (pl.col("minutes") / 60 * rate_expr(operating_model)).alias("cost_usd")
    )


def task_facts(inputs: WeekInputs, operating_model: OperatingModel) -> pl.DataFrame:
    """One row per ticket solved in the week, AI or manual, with cost and outcome."""
    per_task_usage = (
        inputs.usage_summary.filter(pl.col("task_id").is_not_null())
        .group_by("task_id")
        .agg(
            pl.col("calls").sum().alias("model_calls"),
            pl.col("cost_usd").sum().alias("model_cost_usd"),
            pl.col("calls")
            .filter(pl.col("price_source") == UNPRICED)
            .sum()
            .alias("unpriced_calls"),
        )
        .rename({"task_id": "ticket_id"})
    )
    per_task_human = (
        human_costed(inputs.timesheets, operating_model)
        .filter(pl.col("ticket_id").is_not_null())
        .group_by("ticket_id")
        .agg(
            pl.col("minutes").sum().alias("human_minutes"),
            pl.col("cost_usd").sum().alias("human_cost_usd"),
        )
    )
    worst = (
        inputs.reviews.with_columns(
            pl.col("severity").replace_strict(SEVERITY_RANK, default=0).alias("rank")
        )
        .group_by("ticket_id")
        .agg(pl.col("severity").sort_by("rank").last().alias("worst_severity"))
    )
    excluded = operating_model.workflow.excluded_categories
    return (
        inputs.tickets.join(per_task_usage, on="ticket_id", how="left")
        .join(per_task_human, on="ticket_id", how="left")
        .join(worst, on="ticket_id", how="left")
        .select(
            pl.lit(inputs.pilot).alias("pilot"),
            pl.lit(inputs.week.label).alias("week"),
            "ticket_id",
            "category",
            "agent",
            "solved_at",
            pl.col("ai_draft_used").alias("ai_task"),
            pl.col("category").is_in(excluded).alias("excluded_category"),
            "draft_outcome",
            "handle_minutes",
            pl.col("model_calls").fill_null(0),
            pl.col("model_cost_usd").fill_null(0.0),
            pl.col("unpriced_calls").fill_null(0),
            pl.col("human_minutes").fill_null(0.0),
            pl.col("human_cost_usd").fill_null(0.0),
            "worst_severity",
        )
        .sort("ticket_id")
    )
