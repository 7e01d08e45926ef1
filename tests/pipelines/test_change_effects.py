"""What each change did: hand-made weeks with known numbers before and after a change."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from models.operating_model import OperatingModel
from models.results import Week, WeeklyMetrics
from models.warehouse import ChangeEntry, TaskFact, UsageTaskSummary, WeeklyMetric
from pipelines.change_effects import (
    VERSION_TASK_SCHEMA,
    VERSION_USAGE_SCHEMA,
    change_effects,
    version_figures,
    window_figures,
    windows,
)
from pipelines.warehouse.engine import transaction
from tests.checks.test_rules import GREEN_METRICS

TZ = "Europe/Berlin"
BERLIN = dt.timezone(dt.timedelta(hours=2))  # CEST, the autumn weeks below


def week(label: str) -> Week:
    return Week.parse(label, TZ)


def minutes(review: float, rework: float) -> dict[str, float]:
    return {"review": review, "rework": rework, "escalation": 0.0, "maintenance": 0.0, "other": 0.0}


def made(**values: Any) -> WeeklyMetrics:
    """A week's stored metrics with the given values (the rest from a green week)."""
    return WeeklyMetrics.model_validate(GREEN_METRICS.model_dump() | values)


# Two weeks with round numbers: 500 AI tasks, 500 USD, 160 calls for 16 USD, 500 review and 250
# rework minutes, 4 serious findings in 40 reviews, 25 corrections in 200 drafts.
WEEK_A = made(
    ai_tasks=400,
    total_cost=300.0,
    model_cost=10.0,
    model_calls=100,
    human_minutes_by_activity=minutes(400.0, 200.0),
    reviewed=20,
    serious_findings=3,
    error_rate=0.15,
    correction_rate=0.15,
    draft_outcomes=100,
    minutes_saved_per_employee_day=20.0,
)
WEEK_B = made(
    ai_tasks=100,
    total_cost=200.0,
    model_cost=6.0,
    model_calls=60,
    human_minutes_by_activity=minutes(100.0, 50.0),
    reviewed=20,
    serious_findings=1,
    error_rate=0.05,
    correction_rate=0.1,
    draft_outcomes=100,
    minutes_saved_per_employee_day=30.0,
)
NO_TIMESHEETS = "no timesheets this week"
WEEK_B_WITHOUT_TIMESHEETS = WEEK_B.model_copy(
    update={
        "total_cost": None,
        "human_cost": None,
        "cost_per_task": None,
        "human_minutes_by_activity": None,
        "minutes_saved_per_employee_day": None,
        "unknown_because": {
            name: NO_TIMESHEETS
            for name in (
                "cost_per_task",
                "human_cost",
                "human_minutes_by_activity",
                "minutes_saved_per_employee_day",
                "total_cost",
            )
        },
    }
)
W40, W41, W44 = week("2026-W40"), week("2026-W41"), week("2026-W44")


def test_a_window_pools_its_weeks_into_one_figure_each() -> None:
    """It divides the window's summed costs, minutes, findings and corrections by its summed
    tasks, calls, reviews and drafts, with Wilson 95 % intervals, and averages the savings."""
    figures = window_figures([W40, W41], {W40.label: WEEK_A, W41.label: WEEK_B}, W44)
    assert figures.weeks == ["2026-W40", "2026-W41"] and figures.missing_weeks == []
    assert figures.ai_tasks == 500
    assert figures.cost_per_task == 1.0
    assert figures.model_cost_per_call == 0.1
    assert figures.review_minutes_per_task == 1.0
    assert figures.rework_minutes_per_task == 0.5
    assert (figures.error_rate, figures.reviewed) == (0.1, 40)
    assert figures.error_rate_ci == [0.0396, 0.2305]  # Wilson 4/40, worked by hand
    assert (figures.correction_rate, figures.draft_outcomes) == (0.125, 200)
    assert figures.correction_rate_ci == [0.0861, 0.178]  # Wilson 25/200, worked by hand
    assert figures.minutes_saved_per_employee_day == 25.0
    assert figures.unknown_because == {} and figures.partial == {}


def test_a_week_without_timesheets_leaves_its_figures_out_and_says_so() -> None:
    """It pools cost, minutes and savings over the week that knows them and names the week
    left out with its reason; model cost and rates still use both weeks."""
    stored = {W40.label: WEEK_A, W41.label: WEEK_B_WITHOUT_TIMESHEETS}
    figures = window_figures([W40, W41], stored, W44)
    assert figures.cost_per_task == 0.75  # 300 USD / 400 tasks
    assert figures.review_minutes_per_task == 1.0  # 400 / 400
    assert figures.minutes_saved_per_employee_day == 20.0
    assert figures.model_cost_per_call == 0.1 and figures.error_rate == 0.1
    reason = f"from 1 of 2 week(s): {NO_TIMESHEETS} (2026-W41)"
    assert figures.partial["cost_per_task"] == reason
    assert figures.partial["minutes_saved_per_employee_day"] == reason
    assert "model_cost_per_call" not in figures.partial


def test_a_window_no_week_of_which_was_run_is_unknown_not_zero() -> None:
    """It gives every figure as unknown, with the reason, when no week of the window was run
    (the weeks before the pilot started) or has ended yet."""
    before = window_figures([W40, W41], {}, W44, started_on=dt.date(2026, 10, 12))
    assert before.missing_weeks == ["2026-W40", "2026-W41"] and before.ai_tasks == 0
    assert before.cost_per_task is None and before.error_rate_ci is None
    assert before.unknown_because["cost_per_task"] == (
        "before the pilot started (2026-W40, 2026-W41)"
    )
    later = window_figures([week("2026-W45")], {}, W44)
    assert later.unknown_because["correction_rate"] == "not yet ended (2026-W45)"


def test_a_window_never_reads_a_week_after_the_report_week() -> None:
    """It leaves out a stored week later than the week being reported."""
    figures = window_figures([W40, W41], {W40.label: WEEK_A, W41.label: WEEK_B}, W40)
    assert figures.weeks == ["2026-W40"] and figures.missing_weeks == ["2026-W41"]
    assert figures.cost_per_task == 0.75


@pytest.mark.parametrize(
    ("changed_at", "change_week", "before", "after"),
    [
        # Wednesday 10:00: the change's own week is mixed, after starts the week after.
        (
            dt.datetime(2026, 10, 14, 10, tzinfo=BERLIN),
            "2026-W42",
            ["2026-W40", "2026-W41"],
            ["2026-W43", "2026-W44"],
        ),
        # Monday 00:00 local: the whole week runs with the change.
        (
            dt.datetime(2026, 10, 12, 0, tzinfo=BERLIN),
            "2026-W42",
            ["2026-W40", "2026-W41"],
            ["2026-W42", "2026-W43"],
        ),
        # Sunday 23:30 local is still the old week (Monday 21:30 UTC is not).
        (
            dt.datetime(2026, 10, 18, 23, 30, tzinfo=BERLIN),
            "2026-W42",
            ["2026-W40", "2026-W41"],
            ["2026-W43", "2026-W44"],
        ),
    ],
)
def test_the_windows_sit_around_the_change_week(
    changed_at: dt.datetime, change_week: str, before: list[str], after: list[str]
) -> None:
    """It puts the change in its local week, the before window right before that week and the
    after window from the first week that runs wholly with the change."""
    week_of, before_weeks, after_weeks = windows(changed_at, TZ, 2, 2)
    assert week_of.label == change_week
    assert [w.label for w in before_weeks] == before
    assert [w.label for w in after_weeks] == after


def _usage(rows: list[tuple[str | None, str | None, int, float]]) -> pl.DataFrame:
    first = dt.datetime(2026, 10, 12, tzinfo=dt.UTC)
    return pl.DataFrame(
        [
            {
                "task_id": task,
                "prompt_version": version,
                # v1 ran first: its rows start earlier.
                "first_bucket": first + dt.timedelta(days=0 if version == "v1" else 2),
                "calls": calls,
                "cost_usd": cost,
            }
            for task, version, calls, cost in rows
        ],
        schema=VERSION_USAGE_SCHEMA,
    )


SIDE_BY_SIDE_USAGE = [
    ("T1", "v1", 3, 0.03),
    ("T2", "v1", 3, 0.03),
    ("T3", "v1", 3, 0.03),
    ("T4", "v1", 3, 0.03),
    ("T5", "v2", 3, 0.06),
    ("T6", "v2", 3, 0.06),
    ("T7", "v1", 1, 0.01),  # T7 ran on both versions: neither owns it
    ("T7", "v2", 1, 0.02),
    (None, "v2", 2, 0.04),  # calls of no task still count for the version's cost per call
]
SIDE_BY_SIDE_TASKS = [
    ("T1", "rewritten", "medium"),
    ("T2", "edited", "none"),
    ("T3", "discarded", None),
    ("T4", "sent_as_is", "low"),
    ("T5", "sent_as_is", "none"),
    ("T6", "edited", None),
    ("T7", "rewritten", "stop_now"),
]


def test_two_prompt_versions_in_one_week_are_compared_directly() -> None:
    """It gives each version its calls' model cost per call and the correction and error rates
    of the tasks whose calls all carry it, leaving out a task that used both."""
    tasks = pl.DataFrame(SIDE_BY_SIDE_TASKS, schema=VERSION_TASK_SCHEMA, orient="row")
    v1, v2 = version_figures(_usage(SIDE_BY_SIDE_USAGE), tasks)
    assert (v1.prompt_version, v1.calls, v1.model_cost_per_call) == ("v1", 13, 0.01)
    assert (v1.tasks, v1.draft_outcomes, v1.correction_rate) == (4, 4, 0.5)
    assert v1.correction_rate_ci == [0.15, 0.85]  # Wilson 2/4
    assert (v1.reviewed_tasks, v1.error_rate) == (3, 0.3333)
    assert (v2.prompt_version, v2.calls, v2.model_cost_per_call) == ("v2", 9, 0.02)
    assert (v2.tasks, v2.correction_rate, v2.reviewed_tasks, v2.error_rate) == (2, 0.0, 1, 0.0)
    assert v2.correction_rate_ci == [0.0, 0.6576]  # Wilson 0/2


def test_one_prompt_version_alone_gives_no_side_by_side() -> None:
    """It compares nothing when the week's calls carry a single version (or none)."""
    tasks = pl.DataFrame(SIDE_BY_SIDE_TASKS, schema=VERSION_TASK_SCHEMA, orient="row")
    assert version_figures(_usage([("T1", "v1", 3, 0.03), ("T2", None, 1, 0.01)]), tasks) == []


# the warehouse -------------------------------------------------------------------------------
def _store(url: str, pilot: str) -> None:
    """Four stored weeks around a prompt change on Wednesday of W42, a restart in W43 and a
    model change at the start of W44; W42 ran both prompt versions."""
    hashes = iter(range(10_000))

    def source(**values: Any) -> dict[str, Any]:
        exported = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
        row = {"pilot": pilot, "file_id": 1, "exported_at": exported}
        return (
            row
            | {"approved_by": None, "description": None, **values}
            | {"row_hash": f"h{next(hashes)}"}
        )

    with transaction(url) as conn:
        for label, stored in (
            ("2026-W40", WEEK_A),
            ("2026-W41", WEEK_B),
            ("2026-W43", WEEK_B),
            ("2026-W44", WEEK_A),
        ):
            conn.execute(
                WeeklyMetric.__table__.insert().values(
                    pilot=pilot,
                    week=label,
                    verdict="pause_pilot" if label == "2026-W43" else "pause_expansion",
                    ai_tasks=stored.ai_tasks,
                    total_cost=stored.total_cost,
                    cost_per_task=stored.cost_per_task,
                    metrics_json=stored.to_json(),
                    inputs_json="{}",
                )
            )
        conn.execute(
            ChangeEntry.__table__.insert(),
            [
                source(
                    kind="prompt",
                    version="v2",
                    changed_at=dt.datetime(2026, 10, 14, 8, tzinfo=dt.UTC),
                    approved_by="Ana Ruiz",
                    description="order lookup",
                ),
                source(
                    kind="restart",
                    version="after-2026-W42",
                    changed_at=dt.datetime(2026, 10, 20, 9, tzinfo=dt.UTC),
                ),
                source(
                    kind="model",
                    version="gpt-4.1",
                    changed_at=dt.datetime(2026, 10, 25, 23, tzinfo=dt.UTC),  # Monday 00:00 CET
                ),
            ],
        )
        monday = dt.datetime(2026, 10, 12, 8, tzinfo=dt.UTC)
        conn.execute(
            UsageTaskSummary.__table__.insert(),
            [
                {
                    "pilot": pilot,
                    "file_id": 1,
                    "task_id": task,
                    "model": "gpt-4o",
                    "prompt_version": version,
                    "status": "ok",
                    "price_source": "genai-prices",
                    "first_bucket": monday + dt.timedelta(days=0 if version == "v1" else 2),
                    "last_bucket": monday + dt.timedelta(days=0 if version == "v1" else 2),
                    "calls": calls,
                    "cost_usd": cost,
                }
                for task, version, calls, cost in SIDE_BY_SIDE_USAGE
            ],
        )
        conn.execute(
            TaskFact.__table__.insert(),
            [
                {
                    "pilot": pilot,
                    "week": "2026-W42",
                    "ticket_id": ticket,
                    "category": "password",
                    "solved_at": monday,
                    "ai_task": True,
                    "excluded_category": False,
                    "draft_outcome": outcome,
                    "model_calls": 1,
                    "model_cost_usd": 0.0,
                    "unpriced_calls": 0,
                    "human_minutes": 0.0,
                    "human_cost_usd": 0.0,
                    "worst_severity": severity,
                }
                for ticket, outcome, severity in SIDE_BY_SIDE_TASKS
            ],
        )


def test_each_change_is_measured_from_the_stored_weeks(
    warehouse_url: str, example_model: OperatingModel
) -> None:
    """It lists every change but the restart, newest first, measured over the stored weeks
    around it, too early to tell while its after-weeks have not all ended, with the prompt
    versions of the change week side by side and the other changes of its windows named."""
    _store(warehouse_url, example_model.pilot)
    with transaction(warehouse_url) as conn:
        effects = change_effects(conn, example_model, W44)
    assert [(e.kind, e.version) for e in effects] == [("model", "gpt-4.1"), ("prompt", "v2")]
    model, prompt = effects
    assert model.change_week == "2026-W44" and model.status == "too_early"
    assert model.after.weeks == ["2026-W44"] and model.after.missing_weeks == ["2026-W45"]
    assert model.before.weeks == ["2026-W43"] and model.before.missing_weeks == ["2026-W42"]
    assert model.changed_at == "2026-10-26T00:00:00+01:00"
    assert prompt.status == "measured" and prompt.approved_by == "Ana Ruiz"
    assert prompt.before.cost_per_task == 1.0 and prompt.before.error_rate_ci == [0.0396, 0.2305]
    assert prompt.after.weeks == ["2026-W43", "2026-W44"] and prompt.after.cost_per_task == 1.0
    assert prompt.side_by_side_week == "2026-W42"
    assert [(v.prompt_version, v.tasks) for v in prompt.side_by_side] == [("v1", 4), ("v2", 2)]
    assert model.side_by_side == []
    # What else changed in the windows is named: the difference is not the change's alone.
    assert prompt.other_changes == ["model gpt-4.1 (2026-W44)", "restart after-2026-W42 (2026-W43)"]
    assert model.other_changes == ["prompt v2 (2026-W42)", "restart after-2026-W42 (2026-W43)"]
    assert prompt.paused_weeks == ["2026-W43"] and model.paused_weeks == ["2026-W43"]


def test_the_report_week_bounds_what_a_change_shows(
    sqlite_url: str, example_model: OperatingModel
) -> None:
    """It leaves out changes logged after the report week and calls a change whose after
    window has not ended too early to tell."""
    _store(sqlite_url, example_model.pilot)
    with transaction(sqlite_url) as conn:
        effects = change_effects(conn, example_model, W41.shift(2))  # 2026-W43
    assert [(e.version, e.status) for e in effects] == [("v2", "too_early")]
    assert effects[0].after.weeks == ["2026-W43"]
    assert effects[0].after.missing_weeks == ["2026-W44"]
    assert effects[0].after.unknown_because == {}


def test_a_change_with_no_week_before_it_has_nothing_to_compare(
    sqlite_url: str, example_model: OperatingModel
) -> None:
    """It marks a change none of whose before-weeks was run as having nothing to compare."""
    _store(sqlite_url, example_model.pilot)
    with transaction(sqlite_url) as conn:
        conn.execute(WeeklyMetric.__table__.delete().where(WeeklyMetric.week < "2026-W42"))
        effects = change_effects(conn, example_model, W44)
    prompt = next(e for e in effects if e.kind == "prompt")
    assert prompt.status == "no_weeks_before"
    assert prompt.before.unknown_because["cost_per_task"] == "never run (2026-W40, 2026-W41)"
