"""Typed results: ISO weeks in a pilot's timezone, the weekly metrics and rule outcomes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.results import RuleOutcome, Week, WeeklyMetrics, days_in_month

UTC = dt.UTC
BERLIN = "Europe/Berlin"
GOLDEN = Path(__file__).parents[1] / "fixtures" / "demo-golden"


def berlin(label: str) -> Week:
    return Week.parse(label, BERLIN)


# weeks ----------------------------------------------------------------------------------------
def test_2026_has_53_iso_weeks() -> None:
    """It accepts 2026-W53 (2026 starts on a Thursday) and refuses 2027-W53."""
    assert berlin("2026-W53").monday == dt.date(2026, 12, 28)
    with pytest.raises(ValueError, match="does not exist"):
        berlin("2027-W53")


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("2026-47", "is not an ISO week like 2026-W47"),
        ("2026-w47", "is not an ISO week"),
        ("26-W47", "is not an ISO week"),
        ("2026-W7", "is not an ISO week"),
        (" 2026-W47", "is not an ISO week"),
        ("2026-W47 ", "is not an ISO week"),
        ("2026-W47\n", "is not an ISO week"),
        ("", "is not an ISO week"),
        ("2026-W00", "does not exist"),
        ("2026-W54", "does not exist"),
    ],
)
def test_parse_refuses_bad_labels(label: str, message: str) -> None:
    """It refuses labels that are not `YYYY-Www` or name a week that does not exist, quoting the
    label in the message."""
    with pytest.raises(ValueError, match=message) as refused:
        berlin(label)
    assert repr(label) in str(refused.value)
    with pytest.raises(ValueError, match=message):
        Week.check_label(label)


def test_parse_refuses_an_unknown_timezone() -> None:
    """It refuses a timezone that is not an IANA name."""
    with pytest.raises(ValueError, match="not a known IANA timezone"):
        Week.parse("2026-W47", "Mars/Olympus")


def test_a_week_is_its_label_and_cannot_be_changed() -> None:
    """It prints as its label, equals a week parsed from the same label and timezone only, and
    refuses to be changed."""
    week = berlin("2026-W47")
    assert str(week) == f"{week}" == "2026-W47"
    assert week == berlin("2026-W47") != Week.parse("2026-W47", "UTC")
    assert hash(week) == hash(berlin("2026-W47"))
    with pytest.raises(FrozenInstanceError):
        week.label = "2026-W48"  # type: ignore[misc]


def test_local_days_are_monday_to_sunday() -> None:
    """It gives the local Monday, Sunday, Thursday and all seven dates of a week."""
    week = berlin("2026-W01")
    assert (week.monday, week.sunday) == (dt.date(2025, 12, 29), dt.date(2026, 1, 4))
    assert week.thursday == dt.date(2026, 1, 1)
    assert week.days == [dt.date(2025, 12, 29) + dt.timedelta(days=n) for n in range(7)]


def test_bounds_in_a_summer_week() -> None:
    """It starts a Berlin summer week at Sunday 22:00 UTC and lasts exactly 7 days."""
    week = berlin("2026-W27")
    assert week.start == dt.datetime(2026, 6, 28, 22, tzinfo=UTC)
    assert week.end - week.start == dt.timedelta(days=7)


def test_bounds_across_the_spring_dst_change() -> None:
    """It makes 2026-W13 (summer time starts on Sunday 29 March) an hour shorter than 7 days:
    Monday 00:00 CET to the next Monday 00:00 CEST."""
    week = berlin("2026-W13")
    assert week.start == dt.datetime(2026, 3, 22, 23, tzinfo=UTC)
    assert week.end == dt.datetime(2026, 3, 29, 22, tzinfo=UTC)
    assert week.end - week.start == dt.timedelta(days=6, hours=23)
    assert week.shift(1).start == week.end


def test_bounds_across_the_autumn_dst_change() -> None:
    """It makes 2026-W43 (summer time ends on Sunday 25 October) an hour longer than 7 days, and
    2026-W44 after it exactly 7 days in winter time."""
    week = berlin("2026-W43")
    assert (week.monday, week.sunday) == (dt.date(2026, 10, 19), dt.date(2026, 10, 25))
    assert week.start == dt.datetime(2026, 10, 18, 22, tzinfo=UTC)  # Monday 00:00 CEST
    assert week.end == dt.datetime(2026, 10, 25, 23, tzinfo=UTC)  # next Monday 00:00 CET
    assert week.end - week.start == dt.timedelta(days=7, hours=1)
    w44 = berlin("2026-W44")
    assert (w44.start, w44.end) == (week.end, dt.datetime(2026, 11, 1, 23, tzinfo=UTC))
    assert week.start.tzinfo == w44.end.tzinfo == UTC


@pytest.mark.parametrize(
    ("now", "timezone", "week"),
    [
        # Sunday 23:30 UTC is already Monday 00:30 in Berlin: W47 has ended there, not in UTC.
        (dt.datetime(2026, 11, 22, 23, 30, tzinfo=UTC), BERLIN, "2026-W47"),
        (dt.datetime(2026, 11, 22, 23, 30, tzinfo=UTC), "UTC", "2026-W46"),
        (dt.datetime(2026, 11, 22, 22, 59, tzinfo=UTC), BERLIN, "2026-W46"),
        (dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC), BERLIN, "2026-W47"),
        (dt.datetime(2027, 1, 4, 12, 0, tzinfo=UTC), BERLIN, "2026-W53"),
    ],
)
def test_last_complete_week(now: dt.datetime, timezone: str, week: str) -> None:
    """It takes the newest week that has fully ended in the pilot's timezone."""
    assert Week.last_complete(timezone, now) == Week.parse(week, timezone)


@pytest.mark.parametrize(
    ("week", "by", "expected"),
    [
        ("2026-W53", 1, "2027-W01"),
        ("2027-W01", -1, "2026-W53"),
        ("2026-W52", 1, "2026-W53"),
        ("2025-W52", 1, "2026-W01"),
        ("2026-W01", -1, "2025-W52"),
        ("2026-W47", -8, "2026-W39"),
        ("2026-W47", 0, "2026-W47"),
    ],
)
def test_shift_across_year_boundaries(week: str, by: int, expected: str) -> None:
    """It moves by whole ISO weeks, including into and out of a 53-week year, in the same zone."""
    shifted = berlin(week).shift(by)
    assert (shifted.label, shifted.timezone) == (expected, BERLIN)


def test_of_day_uses_the_iso_year() -> None:
    """It puts 2027-01-01 (a Friday) in the 53rd week of 2026."""
    assert Week.of_day(dt.date(2027, 1, 1), BERLIN).label == "2026-W53"
    assert Week.of_day(dt.date(2025, 12, 29), BERLIN).label == "2026-W01"


def test_month_of_the_sunday() -> None:
    """It starts the month-to-date at the 1st of the Sunday's month, local midnight in UTC."""
    week = berlin("2026-W44")  # Monday 26 October .. Sunday 1 November
    assert week.month_first == dt.date(2026, 11, 1)
    assert week.month_start == dt.datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert berlin("2026-W27").month_start == dt.datetime(2026, 6, 30, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "days"),
    [(dt.date(2026, 2, 10), 28), (dt.date(2028, 2, 1), 29), (dt.date(2026, 10, 31), 31)],
)
def test_days_in_month(day: dt.date, days: int) -> None:
    """It counts the days of the month a date falls in, leap years included."""
    assert days_in_month(day) == days


# weekly metrics --------------------------------------------------------------------------------
def _golden_metrics() -> list[str]:
    """The stored text of every golden demo week's metrics (keys sorted, as stored)."""
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLDEN.glob("*.json"))]
    return [json.dumps(doc["metrics"], sort_keys=True) for doc in docs]


@pytest.mark.parametrize("stored", _golden_metrics())
def test_metrics_round_trip_through_their_json_unchanged(stored: str) -> None:
    """It reads a week's stored metrics and writes back exactly the same text and values."""
    metrics = WeeklyMetrics.from_json(stored)
    assert metrics.to_json() == stored
    assert metrics.as_json() == json.loads(stored)
    assert WeeklyMetrics.from_json(metrics.to_json()) == metrics


def test_metrics_round_trip_with_a_bill_reconciliation() -> None:
    """It keeps a week's bill reconciliation, None shares and token counts through its JSON."""
    stored = json.loads(_golden_metrics()[0])
    stored["bill_reconciliation"] = {
        "bill_cost_usd": 10.0,
        "logged_cost_usd": 8.0,
        "models": [
            {
                "bill_cost_usd": 10.0,
                "bill_tokens": None,
                "logged_calls": 4,
                "logged_cost_usd": 8.0,
                "logged_tokens": 100,
                "model": "gpt-4o",
                "unexplained_cost_share": 0.2,
                "unexplained_token_share": None,
                "unpriced_calls": 1,
                "warning": "gpt-4o: 20.0% of the bill is not explained",
            }
        ],
        "tolerance": 0.05,
        "unexplained_share": 0.2,
        "warnings": ["gpt-4o: 20.0% of the bill is not explained"],
    }
    text = json.dumps(stored, sort_keys=True)
    metrics = WeeklyMetrics.from_json(text)
    assert metrics.bill_reconciliation is not None
    assert metrics.bill_reconciliation.models[0].bill_tokens is None
    assert metrics.to_json() == text


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"surprise": 1}, "Extra inputs are not permitted"),
        ({"ai_tasks": "5"}, "valid integer"),
        ({"ai_tasks": 5.5}, "valid integer"),
        ({"month_to_date_cost": "12.5"}, "valid number"),
    ],
)
def test_metrics_refuse_unknown_keys_and_wrong_types(change: dict, problem: str) -> None:
    """It refuses stored metrics with a key it does not know or a value of the wrong type."""
    stored = json.loads(_golden_metrics()[0]) | change
    with pytest.raises(ValidationError, match=problem):
        WeeklyMetrics.from_json(json.dumps(stored))


def test_rule_outcome_json_has_the_reported_keys_only() -> None:
    """It lists a rule in readiness.json with its stored fields, without action or evidence kind."""
    outcome = RuleOutcome(
        id="quality.stop_now",
        status="fail",
        value=1.0,
        threshold=0.0,
        message="1 stop-now finding(s) this week",
        evidence=["T1"],
        evidence_total=1,
        owner_role="stop_authority",
        on_fail="pause_pilot",
        action="Pause the pilot now.",
        evidence_kind="tickets",
    )
    assert list(outcome.as_json()) == [
        "id",
        "status",
        "value",
        "threshold",
        "message",
        "evidence",
        "owner_role",
        "evidence_total",
        "on_fail",
        "unknown_because",
        "due",
        "decides_verdict",
    ]


def test_a_week_has_ended_only_after_its_last_local_day() -> None:
    """It says a week has ended from its local Monday-after 00:00, not before."""
    week = Week.parse("2026-W46", "Pacific/Auckland")
    assert not week.has_ended(week.end - dt.timedelta(seconds=1))
    assert week.has_ended(week.end)
    assert "--allow-partial-week" in week.not_ended_message()


def test_week_ranges_run_oldest_first() -> None:
    """It expands A..B into every week in between, across a year end, and refuses a range
    that runs backwards."""
    weeks = Week.parse_range("2026-W52..2027-W02", "Europe/Berlin")
    assert [w.label for w in weeks] == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    assert [w.label for w in Week.parse_range("2026-W40", "UTC")] == ["2026-W40"]
    with pytest.raises(ValueError, match="backwards"):
        Week.parse_range("2026-W46..2026-W39", "UTC")


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan")])
def test_metrics_refuse_a_number_json_cannot_hold(number: float) -> None:
    """It refuses metrics holding an infinite or NaN cost, so no readiness.json says Infinity."""
    stored = json.loads(_golden_metrics()[0])
    values = {k: v for k, v in stored.items() if k != "projected_month_cost"}
    with pytest.raises(ValidationError, match="finite"):
        WeeklyMetrics.model_validate({**values, "projected_month_cost": number})


@pytest.mark.parametrize("field", ["value", "threshold"])
def test_a_rule_outcome_refuses_a_nan_value_or_threshold(field: str) -> None:
    """It refuses a NaN threshold or value, which would silently pass the rule."""
    fields = {
        "id": "savings.minutes_per_day",
        "status": "pass",
        "value": 20.0,
        "threshold": 15.0,
        "message": "",
        "evidence": [],
        "evidence_total": 0,
        "owner_role": "business_owner",
        "on_fail": "pause_expansion",
        "action": "",
        "evidence_kind": "text",
    }
    with pytest.raises(ValueError, match="not a finite number"):
        RuleOutcome(**{**fields, field: float("nan")})
