"""Per-task facts and weekly metrics (contract section 5) from hand-built week inputs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from checks.rules.base import Finding, RuleContext, WeekHistory
from checks.rules.catalog import per_employee_day
from models.operating_model import OperatingModel
from models.results import Week, WeeklyMetrics
from pipelines.facts import (  # the frames WeekInputs holds
    CHANGE_SCHEMA,
    REVIEW_SCHEMA,
    TICKET_SCHEMA,
    WeekInputs,
    task_facts,
)
from pipelines.facts import MONTH_TIMESHEET_SCHEMA as MONTH_SHEET_SCHEMA
from pipelines.facts import TIMESHEET_SCHEMA as SHEET_SCHEMA
from pipelines.facts import USAGE_SUMMARY_SCHEMA as USAGE_SCHEMA
from pipelines.metrics import baselines, weekly_fees, weekly_metrics

UTC = dt.UTC
# 2026-W40 runs Monday 2026-09-28 to Sunday 2026-10-04: its Thursday is 1 October.
WEEK = Week.parse("2026-W40", "Europe/Berlin")
SOLVED = dt.datetime(2026, 9, 30, 12, tzinfo=UTC)


def _ticket(
    ticket_id: str,
    category: str,
    agent: str | None,
    ai: bool,
    outcome: str | None = None,
    handle: float | None = None,
) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "created_at": SOLVED - dt.timedelta(hours=2),
        "solved_at": SOLVED,
        "status": "solved",
        "category": category,
        "agent": agent,
        "ai_draft_used": ai,
        "draft_outcome": outcome,
        "reopened": 0,
        "escalated": False,
        "handle_minutes": handle,
    }


def _frame(
    rows: list[dict[str, Any]] | list[tuple], schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    if rows and isinstance(rows[0], tuple):
        return pl.DataFrame(rows, schema=schema, orient="row")
    return pl.DataFrame(rows, schema=schema)


TICKETS = [
    _ticket("A1", "password", "ag1", True, "sent_as_is", 4.0),
    _ticket("A2", "password", "ag1", True, "edited", 6.0),
    _ticket("A3", "shipping", "ag2", True, "rewritten", 3.0),
    _ticket("A4", "shipping", "ag2", True, "discarded", None),
    _ticket("A5", "password", "ag1", True, None, 5.0),
    *[
        _ticket(f"M{i}", "password", "m1", False, None, h)
        for i, h in enumerate([8.0, 10.0, 12.0, 14.0, 100.0], start=1)
    ],
    *[_ticket(f"M{i}", "shipping", "m1", False, None, 20.0) for i in range(6, 10)],
    _ticket("M10", "legal", "m1", False, None, None),
]
USAGE = [
    ("A1", "gpt-4o", "p1", "ok", "genai-prices", 3, 0.03),
    ("A1", "gpt-4o", "p1", "error", "genai-prices", 1, 0.0),
    ("A3", "gpt-4o", "p1", "ok", "genai-prices", 2, 0.02),
    (None, "gpt-4o", "p1", "ok", "genai-prices", 4, 0.05),
    ("A5", "mystery", "p1", "ok", "unpriced", 1, 0.0),
]
DAY = dt.date(2026, 9, 30)
SHEETS = [
    ("e1", "Dana Levi", DAY, 10.0, "review", "A1"),  # 55 USD/h
    ("e2", "Max Roth", DAY, 3.0, "rework", "A3"),  # default 40 USD/h
    ("e3", "Max Roth", DAY, 2.0, "escalation", "A4"),
    ("e4", "Sam Okafor", DAY, 60.0, "maintenance", None),
    ("e5", "Sam Okafor", DAY, 120.0, "other", "A2"),  # not a paid pilot activity
]
REVIEWS = [
    ("A1", "Dana Levi", dt.datetime(2026, 9, 28, 10, tzinfo=UTC), "none", None, None, None),
    ("A2", "Dana Levi", dt.datetime(2026, 9, 29, 10, tzinfo=UTC), "low", "tone", None, None),
    ("A3", "Dana Levi", dt.datetime(2026, 9, 30, 10, tzinfo=UTC), "medium", "tone", None, None),
    ("A3", "Max Roth", dt.datetime(2026, 9, 30, 11, tzinfo=UTC), "stop_now", "privacy", None, None),
]
MONTH_SHEETS = [
    ("Dana Levi", "review", 10.0),
    ("Sam Okafor", "maintenance", 60.0),
    ("Sam Okafor", "other", 120.0),
]


def week_inputs(
    tickets: list[dict[str, Any]] = TICKETS,
    usage: list[tuple] = USAGE,
    sheets: list[tuple] = SHEETS,
    reviews: list[tuple] = REVIEWS,
    week: Week = WEEK,
    month_model_cost: float = 0.07,
    month_sheets: list[tuple] = MONTH_SHEETS,
) -> WeekInputs:
    usage_frame = _frame(usage, USAGE_SCHEMA)
    unpriced = usage_frame.filter(pl.col("price_source") == "unpriced")
    return WeekInputs(
        pilot="support-reply-drafts",
        week=week,
        tickets=_frame(tickets, TICKET_SCHEMA),
        usage_summary=usage_frame,
        unpriced_request_ids=["u-1"] if unpriced.height else [],
        unpriced_total=int(unpriced["calls"].sum() or 0),
        timesheets=_frame(sheets, SHEET_SCHEMA),
        reviews=_frame(reviews, REVIEW_SCHEMA),
        earlier_findings=_frame([], REVIEW_SCHEMA),
        changes=_frame([], CHANGE_SCHEMA),
        month_model_cost=month_model_cost,
        month_timesheets=_frame(month_sheets, MONTH_SHEET_SCHEMA),
    )


@pytest.fixture(scope="module")
def computed(example_model: OperatingModel) -> tuple[pl.DataFrame, WeeklyMetrics]:
    inputs = week_inputs()
    facts = task_facts(inputs, example_model)
    return facts, weekly_metrics(facts, inputs, example_model)


# facts ---------------------------------------------------------------------------------------
def test_task_facts_has_one_row_per_solved_ticket(computed) -> None:
    """It makes one fact per ticket solved in the week, AI and manual, sorted by ticket id."""
    facts, _ = computed
    assert facts.height == len(TICKETS)
    assert facts["ticket_id"].to_list() == sorted(t["ticket_id"] for t in TICKETS)
    assert facts.filter(pl.col("ai_task")).height == 5
    assert set(facts["week"].to_list()) == {"2026-W40"}
    assert facts.schema["solved_at"] == pl.Datetime("us", "UTC")


def test_task_facts_attribute_model_cost_and_calls(computed) -> None:
    """It sums each task's model calls and cost, and counts its unpriced calls."""
    facts = (
        computed[0].filter(pl.col("ticket_id").is_in(["A1", "A3", "A5", "M1"])).sort("ticket_id")
    )
    assert facts.select("ticket_id", "model_calls", "model_cost_usd", "unpriced_calls").rows() == [
        ("A1", 4, 0.03, 0),
        ("A3", 2, 0.02, 0),
        ("A5", 1, 0.0, 1),
        ("M1", 0, 0.0, 0),
    ]


def test_task_facts_cost_human_minutes_at_each_persons_rate(computed) -> None:
    """It costs review, rework and escalation minutes at the person's rate and skips 'other'."""
    rows = {
        r["ticket_id"]: (r["human_minutes"], r["human_cost_usd"]) for r in computed[0].to_dicts()
    }
    assert rows["A1"] == pytest.approx((10.0, 10 / 60 * 55.0))
    assert rows["A3"] == pytest.approx((3.0, 3 / 60 * 40.0))
    assert rows["A4"] == pytest.approx((2.0, 2 / 60 * 40.0))
    assert rows["A2"] == (0.0, 0.0)


def test_task_facts_worst_severity_and_excluded_category(computed) -> None:
    """It keeps each task's worst review severity and flags excluded categories."""
    rows = {r["ticket_id"]: r for r in computed[0].to_dicts()}
    assert rows["A1"]["worst_severity"] == "none"
    assert rows["A2"]["worst_severity"] == "low"
    assert rows["A3"]["worst_severity"] == "stop_now"
    assert rows["A4"]["worst_severity"] is None
    assert rows["M10"]["excluded_category"] is True
    assert rows["A1"]["excluded_category"] is False


# metrics -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("week", "days"),
    [
        ("2026-W40", 31),  # Mon 28 Sep, Thu 1 Oct: October
        ("2026-W47", 30),  # November
        ("2026-W06", 28),  # Thu 5 Feb 2026
        ("2028-W05", 29),  # Thu 3 Feb 2028, a leap year
        ("2026-W53", 31),  # Thu 31 Dec 2026
    ],
)
def test_weekly_fees_use_the_month_of_the_weeks_thursday(
    example_model: OperatingModel, week: str, days: int
) -> None:
    """It spreads the monthly fees as fees x 7 / days in the month of the week's Thursday."""
    assert weekly_fees(example_model, Week.parse(week, "Europe/Berlin")) == pytest.approx(
        120 * 7 / days
    )


def test_costs_and_cost_per_task(computed) -> None:
    """It adds model, human and fees into the total and divides by AI tasks only."""
    _, metrics = computed
    human = 10 / 60 * 55 + 3 / 60 * 40 + 2 / 60 * 40 + 60 / 60 * 40
    fees = 120 * 7 / 31
    total = 0.10 + human + fees
    assert metrics.ai_tasks == 5
    assert metrics.manual_tasks == 10
    assert metrics.model_cost == pytest.approx(0.10)
    assert metrics.human_cost == pytest.approx(round(human, 4))
    assert metrics.fees == pytest.approx(round(fees, 4))
    assert metrics.total_cost == pytest.approx(round(total, 4))
    assert metrics.cost_per_task == pytest.approx(round(total / 5, 4))
    assert metrics.model_cost_per_task == pytest.approx(round((0.03 + 0.02) / 5, 4))


def test_error_and_correction_rates(computed) -> None:
    """It rates medium/stop_now over all reviews, and rewritten/discarded over drafts with an outcome."""
    _, metrics = computed
    assert metrics.reviewed == 4
    assert metrics.serious_findings == 2
    assert metrics.error_rate == 0.5
    assert metrics.correction_rate == 0.5  # 2 of A1..A4; A5 has no outcome


def test_model_call_counts(computed) -> None:
    """It counts every model call of the week and those that did not end ok."""
    _, metrics = computed
    assert metrics.model_calls == 11
    assert metrics.failed_model_calls == 1
    assert metrics.unpriced_model_calls == 1


def test_baseline_uses_the_median_only_with_five_manual_tasks(
    computed, example_model: OperatingModel
) -> None:
    """It takes the manual median with at least 5 manual tasks, else the configured minutes."""
    facts, metrics = computed
    base = {r["category"]: r for r in baselines(facts, example_model).to_dicts()}
    assert set(base) == {"password", "shipping"}  # categories of AI tasks only
    assert base["password"]["baseline_minutes"] == 12.0
    assert base["password"]["measured"] is True
    assert base["shipping"]["manual_tasks"] == 4
    assert base["shipping"]["baseline_minutes"] == 6.0  # not the manual median of 20
    assert base["shipping"]["measured"] is False
    assert {b.category: b.baseline_minutes for b in metrics.baselines} == {
        "password": 12.0,
        "shipping": 6.0,
    }


def test_manual_tasks_without_handle_time_do_not_count_towards_five(
    example_model: OperatingModel,
) -> None:
    """It falls back to the configured minutes when one of five manual tasks has no handle time."""
    tickets = [
        _ticket("A1", "password", "ag1", True, "edited", 4.0),
        *[
            _ticket(f"M{i}", "password", "m1", False, None, h)
            for i, h in enumerate([8.0, 10.0, 12.0, 14.0, None])
        ],
    ]
    facts = task_facts(week_inputs(tickets=tickets), example_model)
    [row] = baselines(facts, example_model).to_dicts()
    assert row["manual_tasks"] == 4
    assert row["baseline_minutes"] == 6.0


def test_minutes_saved_per_employee_per_day(computed) -> None:
    """It nets oversight minutes off the saving over baseline and spreads it over agents x 5 days."""
    _, metrics = computed
    # password: (12-4) + (12-6) + (12-5) = 21; shipping: 6-3 = 3; A4 has no handle time.
    gross = 21 + 3
    oversight = 10 + 3 + 2  # review + rework + escalation; maintenance and other excluded
    agents = 2
    assert metrics.minutes_saved_per_employee_day == pytest.approx(
        round((gross - oversight) / (agents * 5), 2)
    )
    assert metrics.human_minutes_by_activity.model_dump() == {
        "review": 10.0,
        "rework": 3.0,
        "escalation": 2.0,
        "maintenance": 60.0,
        "other": 120.0,
    }


def test_month_to_date_and_projection(computed) -> None:
    """It adds month model cost, month human cost and fees for the days elapsed, then projects."""
    _, metrics = computed
    # The week ends Sunday 4 October: 4 days of October have elapsed out of 31.
    month_human = 10 / 60 * 55 + 60 / 60 * 40
    mtd = 0.07 + month_human + 120 * 4 / 31
    assert metrics.month_to_date_cost == pytest.approx(round(mtd, 2))
    assert metrics.projected_month_cost == pytest.approx(round(mtd / 4 * 31, 2))


def test_volumes(computed, example_model: OperatingModel) -> None:
    """It scales the weekly cost and review hours to a month and to the two larger volumes."""
    _, metrics = computed
    current = metrics.total_cost * 52 / 12
    volumes = metrics.volumes
    assert volumes.current.cost == pytest.approx(current, abs=0.01)
    assert volumes.current.review_hours == pytest.approx(round(15 / 60 * 52 / 12, 1))
    assert volumes.next_team.cost == pytest.approx(current * 1.5, abs=0.01)
    assert volumes.busy_month.cost == pytest.approx(current * 2.0, abs=0.01)
    assert volumes.busy_month.under_cap is (current * 2.0 <= example_model.costs.monthly_cap)


def test_review_spread(computed) -> None:
    """It counts the local days and the distinct agents the week's reviews cover."""
    _, metrics = computed
    assert metrics.review_distinct_days == 3
    assert metrics.review_distinct_agents == 2


def test_review_days_are_counted_in_the_pilot_timezone(example_model: OperatingModel) -> None:
    """It counts 22:30 and 23:30 UTC on one day as two Berlin days."""
    reviews = [
        ("A1", "Dana Levi", dt.datetime(2026, 9, 29, 21, 30, tzinfo=UTC), "none", None, None, None),
        ("A2", "Dana Levi", dt.datetime(2026, 9, 29, 22, 30, tzinfo=UTC), "none", None, None, None),
    ]
    inputs = week_inputs(reviews=reviews)
    metrics = weekly_metrics(task_facts(inputs, example_model), inputs, example_model)
    assert metrics.review_distinct_days == 2


def test_unmeasurable_metrics_are_none_not_zero(example_model: OperatingModel) -> None:
    """It reports rates, cost per task and savings as None when the week has nothing to measure."""
    manual_only = [_ticket("M1", "password", "m1", False, None, 8.0)]
    inputs = week_inputs(tickets=manual_only, usage=[], sheets=[], reviews=[])
    metrics = weekly_metrics(task_facts(inputs, example_model), inputs, example_model)
    assert metrics.ai_tasks == 0
    assert metrics.cost_per_task is None
    assert metrics.model_cost_per_task is None
    assert metrics.error_rate is None
    assert metrics.correction_rate is None
    assert metrics.minutes_saved_per_employee_day is None
    # No usage and no timesheets this week: their costs are unknown, never zero.
    assert metrics.model_cost is None and metrics.human_cost is None
    assert metrics.unknown_because["model_cost"] == "no model usage this week"
    assert metrics.unknown_because["cost_per_task"] == (
        "no model usage this week; no timesheets this week"
    )
    assert metrics.fees == pytest.approx(round(120 * 7 / 31, 4))
    assert metrics.review_distinct_days == 0


def test_savings_are_none_when_ai_tasks_have_no_agent(example_model: OperatingModel) -> None:
    """It cannot spread savings over employees when no AI task names its agent."""
    tickets = [_ticket("A1", "password", None, True, "edited", 4.0)]
    inputs = week_inputs(tickets=tickets, sheets=[])
    metrics = weekly_metrics(task_facts(inputs, example_model), inputs, example_model)
    assert metrics.ai_tasks == 1
    assert metrics.minutes_saved_per_employee_day is None
    assert metrics.correction_rate == 0.0


# the worked case: small savings on simple tickets, rework on hard ones ----------------------------
# Manual comparison group: 5 password tickets (8, 9, 10, 11, 12 min; median 10) and 5 shipping
# tickets (16, 18, 20, 22, 24 min; median 20), both measured baselines. Two agents draft with AI.
MANUAL_GROUP = [
    *[
        _ticket(f"MP{i}", "password", "m1", False, None, h)
        for i, h in enumerate([8.0, 9.0, 10.0, 11.0, 12.0])
    ],
    *[
        _ticket(f"MS{i}", "shipping", "m1", False, None, h)
        for i, h in enumerate([16.0, 18.0, 20.0, 22.0, 24.0])
    ],
]
REVIEW_SHEETS = [
    ("r1", "Dana Levi", DAY, 10.0, "review", None),
    ("r2", "Sam Okafor", DAY, 60.0, "maintenance", None),  # not oversight of the drafts
]


def _savings_verdict(
    example_model: OperatingModel, tickets: list[dict[str, Any]], sheets: list[tuple]
) -> tuple[WeeklyMetrics, Finding]:
    """Facts, metrics and the savings rule for one week built from the given tickets and sheets."""
    inputs = week_inputs(tickets=tickets, usage=[], sheets=sheets, reviews=[])
    facts = task_facts(inputs, example_model)
    metrics = weekly_metrics(facts, inputs, example_model)
    ctx = RuleContext(
        operating_model=example_model,
        week=WEEK,
        facts=facts,
        metrics=metrics,
        inputs=inputs,
        input_stats={},
        history=WeekHistory(),
    )
    return metrics, per_employee_day(ctx)


def test_small_savings_eaten_by_rework_fail_the_savings_rule(
    example_model: OperatingModel,
) -> None:
    """It fails savings.per_employee_day when 90 seconds saved per simple ticket are eaten by 4
    minutes of rework on each hard ticket and the review time."""
    simple = [
        _ticket(f"S{i:02d}", "password", f"ag{i % 2 + 1}", True, "edited", 10.0 - 1.5)
        for i in range(40)
    ]
    hard = [
        _ticket(f"H{i:02d}", "shipping", f"ag{i % 2 + 1}", True, "rewritten", 20.0)
        for i in range(10)
    ]
    rework = [(f"w{i:02d}", f"ag{i % 2 + 1}", DAY, 4.0, "rework", f"H{i:02d}") for i in range(10)]
    metrics, found = _savings_verdict(
        example_model, MANUAL_GROUP + simple + hard, REVIEW_SHEETS + rework
    )
    # Saved over baseline: 40 simple x (10 - 8.5) = 60 min; 10 hard x (20 - 20) = 0 min.
    # Oversight: 10 x 4 = 40 min rework + 10 min review = 50 min (maintenance is not counted).
    # Per employee per day: (60 - 50) / (2 agents x 5 days) = 1.0 minute, below the 15 required.
    assert metrics.ai_tasks == 50
    assert {b.category: b.baseline_minutes for b in metrics.baselines} == {
        "password": 10.0,
        "shipping": 20.0,
    }
    assert metrics.minutes_saved_per_employee_day == 1.0
    assert (found.status, found.value, found.threshold) == ("fail", 1.0, 15)
    assert "keep to low-risk tasks" in found.message


def test_drafting_only_simple_tickets_with_real_savings_passes(
    example_model: OperatingModel,
) -> None:
    """It passes savings.per_employee_day when drafts save 4.5 minutes on simple tickets and the
    hard tickets are handled without AI."""
    simple = [
        _ticket(f"S{i:02d}", "password", f"ag{i % 2 + 1}", True, "sent_as_is", 10.0 - 4.5)
        for i in range(40)
    ]
    hard_by_hand = [_ticket(f"H{i:02d}", "shipping", "ag1", False, None, 20.0) for i in range(10)]
    metrics, found = _savings_verdict(
        example_model, MANUAL_GROUP + simple + hard_by_hand, REVIEW_SHEETS
    )
    # Saved over baseline: 40 x (10 - 5.5) = 180 min; oversight: 10 min review.
    # Per employee per day: (180 - 10) / (2 agents x 5 days) = 17.0 minutes, at least the 15.
    assert metrics.ai_tasks == 40
    assert metrics.minutes_saved_per_employee_day == 17.0
    assert (found.status, found.value, found.threshold) == ("pass", 17.0, 15)


def test_tickets_with_an_unknown_ai_draft_flag_are_in_neither_group(
    example_model: OperatingModel,
) -> None:
    """It counts a ticket whose export does not say whether a draft was used apart, neither as
    an AI task nor as a manual one."""
    tickets = [
        _ticket("A1", "password", "ag1", True, "sent_as_is", 4.0),
        _ticket("M1", "password", "m1", False, None, 8.0),
        _ticket("U1", "password", "m1", None, None, 9.0),  # type: ignore[arg-type]
    ]
    inputs = week_inputs(tickets=tickets, usage=[], sheets=[], reviews=[])
    facts = task_facts(inputs, example_model)
    metrics = weekly_metrics(facts, inputs, example_model)
    assert (metrics.ai_tasks, metrics.manual_tasks, metrics.unknown_ai_tasks) == (1, 1, 1)
    assert facts.filter(pl.col("ticket_id") == "U1").get_column("ai_task").to_list() == [None]
