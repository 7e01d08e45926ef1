"""Issue 22's figures on hand-made weeks: reviewer load at the three volumes and AI tickets next
to manual ones of the same categories, with their intervals."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from models.operating_model import OperatingModel
from pipelines.facts import TICKET_SCHEMA, TIMESHEET_SCHEMA
from pipelines.intervals import bootstrap_difference, newcombe_difference
from pipelines.operating_load import manual_comparison, reviewer_load

T0 = dt.datetime(2026, 11, 17, 9, tzinfo=dt.UTC)


def test_newcombe_difference_matches_the_published_example() -> None:
    """It gives Newcombe's (1998) hybrid score interval for 56/70 minus 48/80: 0.0524 to 0.3339."""
    low, high = newcombe_difference(56, 70, 48, 80) or (0.0, 0.0)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    assert newcombe_difference(1, 0, 3, 10) is None


def test_bootstrap_difference_is_seeded_and_brackets_the_difference() -> None:
    """It gives the same interval for the same groups, around the difference of the medians."""
    slow, fast = [50.0 + i for i in range(40)], [20.0 + i for i in range(40)]
    first = bootstrap_difference(slow, fast, "median")
    assert first == bootstrap_difference(slow, fast, "median")
    assert first is not None and first[0] < 30.0 < first[1] and first[0] > 0
    assert bootstrap_difference([], fast, "mean") is None


def _timesheets(*rows: tuple[str, str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [(f"e{i}", p, dt.date(2026, 11, 17), m, a, None) for i, (p, a, m) in enumerate(rows)],
        schema=TIMESHEET_SCHEMA,
        orient="row",
    )


def test_reviewer_load_scales_review_hours_and_names_who_is_over(
    example_model: OperatingModel,
) -> None:
    """It sums each person's review minutes (not rework), scales them by 1.5 and 2.0, and marks
    who would pass their capacity in a busy month: 3 h -> 6 h against 5 h, 2 h -> 4 h."""
    model = example_model.model_copy(
        update={
            "review": example_model.review.model_copy(
                update={"capacity_hours_per_week": {"default": 5.0, "Max Roth": 3.5}}
            )
        }
    )
    loads = reviewer_load(
        _timesheets(
            ("Dana Levi", "review", 120),
            ("Dana Levi", "review", 60),
            ("Dana Levi", "rework", 600),
            ("Max Roth", "review", 120),
        ),
        model,
    )
    assert [(x.person, x.current_hours_per_week, x.next_team_hours_per_week) for x in loads] == [
        ("Dana Levi", 3.0, 4.5),
        ("Max Roth", 2.0, 3.0),
    ]
    assert [(x.busy_month_hours_per_week, x.capacity_hours_per_week) for x in loads] == [
        (6.0, 5.0),
        (4.0, 3.5),
    ]
    assert [x.over_capacity_busy_month for x in loads] == [True, True]
    assert model.review.capacity_of("Someone Else") == 5.0
    assert example_model.review.capacity_of("Anyone") == 5.0


def _tickets(rows: list[tuple]) -> pl.DataFrame:
    """Tickets (id, category, ai, reopened, contacts, minutes to solve)."""
    full = [
        {
            "ticket_id": tid,
            "created_at": T0,
            "solved_at": T0 + dt.timedelta(minutes=minutes),
            "status": "solved",
            "category": category,
            "agent": "ag1",
            "ai_draft_used": ai,
            "draft_outcome": None,
            "reopened": reopened,
            "escalated": False,
            "handle_minutes": 5.0,
            "contact_count": contacts,
        }
        for tid, category, ai, reopened, contacts, minutes in rows
    ]
    return pl.DataFrame(full, schema=TICKET_SCHEMA)


def test_manual_comparison_compares_shared_categories_only(example_model: OperatingModel) -> None:
    """It compares 10 AI and 10 manual password tickets (3 vs 1 reopened, 2 vs 1 contacts,
    60 vs 30 minutes), leaving out a category only one group has and excluded categories."""
    rows = [(f"A{i}", "password", True, int(i < 3), 2, 60) for i in range(10)]
    rows += [(f"M{i}", "password", False, int(i < 1), 1, 30) for i in range(10)]
    rows += [("A-only", "shipping", True, 5, 9, 999), ("M-legal", "legal", False, 5, 9, 999)]
    comparison = manual_comparison(_tickets(rows), example_model)
    assert comparison.categories == ["password"]
    assert (comparison.ai_tickets, comparison.manual_tickets) == (10, 10)
    reopen = comparison.reopen_rate
    assert (reopen.ai, reopen.manual, reopen.difference) == (0.3, 0.1, 0.2)
    low, high = newcombe_difference(3, 10, 1, 10) or (0.0, 0.0)
    assert reopen.difference_ci == [round(low, 4), round(high, 4)]
    assert reopen.difference_ci[0] < 0 < reopen.difference_ci[1]  # ten tickets settle nothing
    contacts = comparison.contacts_per_ticket
    assert (contacts.ai, contacts.manual, contacts.difference) == (2.0, 1.0, 1.0)
    assert contacts.difference_ci == [1.0, 1.0]  # no spread: every resample is the same
    minutes = comparison.median_resolution_minutes
    assert (minutes.ai, minutes.manual, minutes.difference, minutes.interval) == (
        60.0,
        30.0,
        30.0,
        "bootstrap",
    )


def test_manual_comparison_without_manual_tickets_is_not_measurable(
    example_model: OperatingModel,
) -> None:
    """It gives no difference and no interval when no manual ticket shares a category."""
    comparison = manual_comparison(_tickets([("A1", "password", True, 0, 1, 10)]), example_model)
    assert comparison.categories == [] and comparison.reopen_rate.difference is None
    assert comparison.median_resolution_minutes.difference_ci is None


@pytest.mark.parametrize("capacity", [-1, 200])
def test_capacity_out_of_range_is_refused(example_model: OperatingModel, capacity: float) -> None:
    """It refuses a review capacity below zero or above the hours of a week."""
    from pydantic import ValidationError

    raw = example_model.model_dump(mode="json")
    raw["review"]["capacity_hours_per_week"] = capacity
    raw["response_times"] = {k: str(v) for k, v in example_model.response_times}
    with pytest.raises(ValidationError, match="capacity_hours_per_week"):
        OperatingModel.model_validate(raw)
