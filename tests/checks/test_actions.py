"""Actions: urgency, order, the verdict-deciding rules and due times."""

from __future__ import annotations

import datetime as dt

import pytest

from checks.actions import action_order, urgency, with_actions
from checks.verdict import verdict
from models.operating_model import OperatingModel, ResponseTime, ResponseTimes
from models.results import RuleOutcome, Week

W43 = Week.parse("2026-W43", "Europe/Berlin")  # ends Monday 2026-10-26 00:00 CET (after DST)


def outcome(rule_id: str, status: str, on_fail: str) -> RuleOutcome:
    return RuleOutcome(
        id=rule_id,
        status=status,  # type: ignore[arg-type]
        value=None,
        threshold=None,
        message=f"{rule_id} is {status}",
        evidence=[],
        evidence_total=0,
        owner_role="business_owner",
        on_fail=on_fail,  # type: ignore[arg-type]
        action=f"fix {rule_id}",
        evidence_kind="text",
    )


# catalog order, as stored
W43_OUTCOMES = [
    outcome("data.inputs_present", "fail", "pause_expansion"),
    outcome("cost.spend_alert", "warn", "warn"),
    outcome("cost.per_task", "fail", "pause_expansion"),
    outcome("quality.stop_now", "fail", "pause_pilot"),
    outcome("quality.error_rate", "unknown", "pause_expansion"),
    outcome("scope.excluded_category", "fail", "pause_pilot"),
    outcome("review.sample_spread", "unknown", "warn"),
    outcome("volume.busy_month", "pass", "warn"),
]


def test_actions_put_what_pauses_the_pilot_first() -> None:
    """It orders actions: pause-pilot failures, then what blocks expansion, then warnings."""
    ordered = [o.id for o in action_order(W43_OUTCOMES)]
    assert ordered == [
        "quality.stop_now",
        "scope.excluded_category",
        "data.inputs_present",
        "cost.per_task",
        "quality.error_rate",
        "review.sample_spread",
        "cost.spend_alert",
    ]


def test_the_rules_that_decide_the_verdict_are_marked(example_model: OperatingModel) -> None:
    """It marks the pause-pilot failures as deciding a pause_pilot verdict, and nothing else."""
    marked = with_actions(W43_OUTCOMES, example_model, W43)
    assert verdict(marked) == "pause_pilot"
    assert [o.id for o in marked if o.decides_verdict] == [
        "quality.stop_now",
        "scope.excluded_category",
    ]


def test_without_a_pause_the_blocking_rules_decide(example_model: OperatingModel) -> None:
    """It marks the expansion-blocking rules when nothing pauses the pilot; a week with only
    warnings has no deciding rule."""
    blocking = [o for o in W43_OUTCOMES if o.on_fail != "pause_pilot"]
    marked = with_actions(blocking, example_model, W43)
    assert {o.id for o in marked if o.decides_verdict} == {
        "data.inputs_present",
        "cost.per_task",
        "quality.error_rate",
        "review.sample_spread",
    }
    warnings = [o for o in W43_OUTCOMES if o.status == "warn"]
    assert not any(o.decides_verdict for o in with_actions(warnings, example_model, W43))


def test_due_times_follow_the_default_response_times(example_model: OperatingModel) -> None:
    """It gives stop-now 4 hours, other failures 2 business days and warnings the next review,
    counted from the week's end in the pilot's timezone."""
    due = {o.id: o.due for o in with_actions(W43_OUTCOMES, example_model, W43)}
    berlin = example_model.zone
    assert due["quality.stop_now"] == dt.datetime(2026, 10, 26, 4, tzinfo=berlin)
    assert due["cost.per_task"] == dt.datetime(2026, 10, 28, 0, tzinfo=berlin)
    assert due["quality.error_rate"] == due["cost.per_task"]
    assert due["cost.spend_alert"] == dt.datetime(2026, 11, 2, 0, tzinfo=berlin)
    assert due["volume.busy_month"] is None
    # An unknown is never a pass, whatever the rule: it blocks expansion until measured.
    assert (
        urgency(W43_OUTCOMES[6]) == "fail" and due["review.sample_spread"] == due["cost.per_task"]
    )


def test_response_times_come_from_the_operating_model(example_model: OperatingModel) -> None:
    """It uses the operating model's response times when it sets them."""
    model = example_model.model_copy(
        update={"response_times": ResponseTimes.model_validate({"fail": "1 business day"})}
    )
    friday = Week.parse("2026-W44", "Europe/Berlin")
    due = {o.id: o.due for o in with_actions(W43_OUTCOMES, model, friday)}
    assert due["cost.per_task"] == dt.datetime(2026, 11, 3, 0, tzinfo=model.zone)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4h", ResponseTime(4, "hours")),
        ("4 hours", ResponseTime(4, "hours")),
        ("1 day", ResponseTime(1, "days")),
        ("2 Business Days", ResponseTime(2, "business_days")),
        ("next review", ResponseTime(1, "next_review")),
    ],
)
def test_response_times_parse(text: str, expected: ResponseTime) -> None:
    """It reads the response-time forms the docs list."""
    assert ResponseTime.parse(text) == expected


@pytest.mark.parametrize("text", ["soon", "-2 days", "2 weeks", ""])
def test_response_times_refuse_other_text(text: str) -> None:
    """It refuses a response time it cannot read, saying what to write."""
    with pytest.raises(ValueError, match="business days"):
        ResponseTime.parse(text)


def test_business_days_skip_the_weekend() -> None:
    """It skips Saturday and Sunday when counting business days."""
    thursday_end = dt.datetime(2026, 10, 23, 0, tzinfo=dt.UTC)  # a Friday 00:00 UTC
    due = ResponseTime(2, "business_days").due(thursday_end, dt.UTC)
    assert due == dt.datetime(2026, 10, 27, 0, tzinfo=dt.UTC)  # Friday and Monday: end of Monday


def test_hours_are_elapsed_hours_across_a_clock_change() -> None:
    """It counts hours as elapsed time when the clocks change inside them."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    start = dt.datetime(2026, 10, 25, 0, tzinfo=berlin)  # DST ends at 03:00 that night
    assert ResponseTime(4, "hours").due(start, berlin).hour == 3


def test_response_times_survive_a_dump_and_a_validation(example_model: OperatingModel) -> None:
    """It dumps response times as they are written ('4 hours'), so a dumped operating model
    validates again to the same model."""
    dumped = example_model.model_dump()
    assert dumped["response_times"] == {
        "stop_now": "4 hours",
        "fail": "2 business days",
        "warn": "next review",
    }
    assert OperatingModel.model_validate(dumped) == example_model
