"""Issue 22: what the pilot means for the people around it.

- Reviewer load: each reviewer's review hours per week (timesheet activity `review`) now and
  scaled to the next team's and the busy month's volume, against `review.capacity_hours_per_week`.
- Handoff: escalated tickets, when a person first acted on them against `handoff.response_time`,
  and the reviews marked `should_have_handed_off` (missed handoffs).
- AI next to the manual process: the week's AI-assisted tickets beside its manual tickets of the
  same categories (reopen rate, contacts per ticket, median resolution time), each difference with
  a 95 % interval.
"""

from __future__ import annotations

import polars as pl

from models.operating_model import OperatingModel
from models.results import GroupDifference, HandoffMetrics, ManualComparison, ReviewerLoad
from pipelines.intervals import bootstrap_difference, newcombe_difference, wilson

EVIDENCE_CAP = 25


def reviewer_load(timesheets: pl.DataFrame, operating_model: OperatingModel) -> list[ReviewerLoad]:
    """Review hours of each person who logged review time this week, per week at today's volume,
    with the next team and in a busy month (volumes scale review time linearly, as the
    operating model's volume factors do), by person."""
    review = operating_model.review
    volumes = operating_model.volumes
    per_person = (
        timesheets.filter((pl.col("activity") == "review") & pl.col("person").is_not_null())
        .group_by("person")
        .agg(pl.col("minutes").sum())
        .sort("person")
    )
    loads = []
    for person, minutes in per_person.iter_rows():
        hours = float(minutes or 0.0) / 60
        capacity = review.capacity_of(person)
        busy = hours * volumes.busy_month_factor
        loads.append(
            ReviewerLoad(
                person=person,
                capacity_hours_per_week=float(capacity),
                current_hours_per_week=round(hours, 2),
                next_team_hours_per_week=round(hours * volumes.next_team_factor, 2),
                busy_month_hours_per_week=round(busy, 2),
                over_capacity_busy_month=round(busy, 2) > capacity,
            )
        )
    return loads


def _difference(
    ai: float | None,
    manual: float | None,
    ai_n: int,
    manual_n: int,
    ci: tuple[float, float] | None,
    interval: str,
    digits: int,
) -> GroupDifference:
    known = ai is not None and manual is not None
    return GroupDifference(
        ai=None if ai is None else round(ai, digits),
        manual=None if manual is None else round(manual, digits),
        ai_n=ai_n,
        manual_n=manual_n,
        difference=round(ai - manual, digits) if known else None,  # type: ignore[operator]
        difference_ci=None
        if ci is None or not known
        else [round(ci[0], digits), round(ci[1], digits)],
        interval=interval,  # type: ignore[arg-type]
    )


def manual_comparison(tickets: pl.DataFrame, operating_model: OperatingModel) -> ManualComparison:
    """AI-assisted tickets next to manual ones of the categories both groups have this week
    (excluded categories and tickets that do not say whether a draft was used left out); a
    ticket without a reopen count, contact count or solve time is left out of that measure."""
    excluded = operating_model.workflow.excluded_categories
    known = tickets.filter(
        pl.col("ai_draft_used").is_not_null()
        & pl.col("category").is_not_null()
        & ~pl.col("category").is_in(excluded)
    )
    ai_cats = set(known.filter(pl.col("ai_draft_used")).get_column("category").to_list())
    manual_cats = set(known.filter(~pl.col("ai_draft_used")).get_column("category").to_list())
    shared = sorted(ai_cats & manual_cats)
    compared = known.filter(pl.col("category").is_in(shared)).sort("ticket_id")
    ai = compared.filter(pl.col("ai_draft_used"))
    manual = compared.filter(~pl.col("ai_draft_used"))

    def column(frame: pl.DataFrame, expr: pl.Expr) -> list[float]:
        return frame.select(expr.alias("v")).get_column("v").drop_nulls().cast(pl.Float64).to_list()

    reopened = (pl.col("reopened") > 0).cast(pl.Float64)
    resolution = (pl.col("solved_at") - pl.col("created_at")).dt.total_seconds() / 60
    reopen_ai, reopen_manual = column(ai, reopened), column(manual, reopened)
    contacts_ai = column(ai, pl.col("contact_count"))
    contacts_manual = column(manual, pl.col("contact_count"))
    minutes_ai, minutes_manual = column(ai, resolution), column(manual, resolution)

    def share(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    def median(values: list[float]) -> float | None:
        return float(pl.Series(values).median()) if values else None  # type: ignore[arg-type]

    return ManualComparison(
        categories=shared,
        ai_tickets=ai.height,
        manual_tickets=manual.height,
        reopen_rate=_difference(
            share(reopen_ai),
            share(reopen_manual),
            len(reopen_ai),
            len(reopen_manual),
            newcombe_difference(
                int(sum(reopen_ai)), len(reopen_ai), int(sum(reopen_manual)), len(reopen_manual)
            ),
            "newcombe_wilson",
            4,
        ),
        contacts_per_ticket=_difference(
            share(contacts_ai),
            share(contacts_manual),
            len(contacts_ai),
            len(contacts_manual),
            bootstrap_difference(contacts_ai, contacts_manual, "mean"),
            "bootstrap",
            3,
        ),
        median_resolution_minutes=_difference(
            median(minutes_ai),
            median(minutes_manual),
            len(minutes_ai),
            len(minutes_manual),
            bootstrap_difference(minutes_ai, minutes_manual, "median"),
            "bootstrap",
            1,
        ),
    )


def handoff_metrics(
    tickets: pl.DataFrame, reviews: pl.DataFrame, operating_model: OperatingModel
) -> HandoffMetrics:
    """The week's handoffs: escalated tickets solved this week; those with a handoff and a first
    human action time are late when the action came after the handoff plus the operating
    model's response time (in the pilot's timezone: days keep the local time of day)."""
    handoff = operating_model.handoff
    zone = operating_model.zone
    handed = tickets.filter(pl.col("escalated").fill_null(False)).sort("ticket_id")
    timed = handed.filter(
        pl.col("handed_off_at").is_not_null() & pl.col("first_human_action_at").is_not_null()
    )
    late_ids: list[str] = []
    minutes: list[float] = []
    for ticket_id, handed_at, acted_at in timed.select(
        "ticket_id", "handed_off_at", "first_human_action_at"
    ).iter_rows():
        minutes.append((acted_at - handed_at).total_seconds() / 60)
        if handoff is not None and acted_at > handoff.response_time.due(handed_at, zone):
            late_ids.append(ticket_id)
    missed = reviews.filter(pl.col("category") == "should_have_handed_off")
    missed_ids = sorted(set(missed.get_column("ticket_id").drop_nulls().to_list()))
    n = timed.height
    share = len(late_ids) / n if n and handoff is not None else None
    bounds = wilson(len(late_ids), n) if share is not None else None
    return HandoffMetrics(
        handed_off=handed.height,
        with_times=n,
        late=len(late_ids),
        late_share=None if share is None else round(share, 4),
        late_share_ci=None if bounds is None else [round(bounds[0], 4), round(bounds[1], 4)],
        median_response_minutes=round(float(pl.Series(minutes).median()), 1) if minutes else None,  # type: ignore[arg-type]
        response_limit=None if handoff is None else str(handoff.response_time),
        late_tickets=late_ids[:EVIDENCE_CAP],
        missed_handoffs=missed.height,
        missed_tickets=missed_ids[:EVIDENCE_CAP],
        unknown_escalation=tickets.filter(pl.col("escalated").is_null()).height,
    )
