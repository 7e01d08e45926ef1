"""Which sources cover a week fully, partly or not at all, and what that does to the metrics."""

from __future__ import annotations

import datetime as dt

import pytest

from models.operating_model import OperatingModel
from models.results import WeeklyMetrics
from pipelines.coverage import source_coverage, usual_weekdays
from pipelines.facts import task_facts
from pipelines.metrics import weekly_metrics
from tests.pipelines.test_facts_metrics import DAY, SHEETS, week_inputs

FULL = [10, 12, 11, 9, 10, 1, 0]  # a support week: Monday to Friday, a quiet Saturday
NO_FRIDAY = [10, 12, 11, 9, 0, 1, 0]


def _rows(**overrides: int) -> dict[str, int]:
    return {"usage": 50, "tickets": 40, "timesheets": 30, "reviews": 20, **overrides}


def _days(**overrides: list[int] | None) -> dict[str, list[int] | None]:
    return {"usage": FULL, "tickets": FULL, "timesheets": FULL, "reviews": FULL, **overrides}


def _history(example_weeks: int, timesheet_days: list[int]) -> list[WeeklyMetrics]:
    """Earlier weeks' stored metrics whose only relevant part is their coverage."""
    from tests.checks.test_rules import GREEN_METRICS

    coverage = source_coverage(_rows(), _days(timesheets=timesheet_days))
    return [GREEN_METRICS.model_copy(update={"sources": coverage})] * example_weeks


def test_a_source_without_rows_is_missing() -> None:
    """It names a source with no rows in the week as missing, with the reason."""
    coverage = source_coverage(_rows(timesheets=0), _days(timesheets=[0] * 7))
    assert coverage["timesheets"].state == "missing"
    assert coverage["timesheets"].reason == "no timesheets this week"
    assert coverage["usage"].state == "complete"


def test_without_history_monday_to_friday_is_usual() -> None:
    """It expects rows Monday to Friday when no earlier week is stored, and flags a Friday
    without timesheets as partial."""
    coverage = source_coverage(_rows(), _days(timesheets=NO_FRIDAY))
    assert coverage["timesheets"].usual_from == "default"
    assert coverage["timesheets"].state == "partial"
    assert coverage["timesheets"].reason == "timesheets cover 4 of the usual 5 days (none on Fri)"


def test_usual_days_come_from_earlier_weeks() -> None:
    """It takes as usual the days that held a tenth of the rows in at least half of the earlier
    weeks: a team that logs time on Saturdays is partial without a Saturday."""
    weekend_team = [10, 10, 10, 10, 10, 10, 1]
    earlier = _history(3, weekend_team)
    assert usual_weekdays("timesheets", earlier) == ([1, 2, 3, 4, 5, 6], "3 earlier week(s)")
    coverage = source_coverage(_rows(), _days(timesheets=[*FULL[:5], 0, 5]), earlier)
    assert coverage["timesheets"].state == "partial"
    assert "none on Sat" in (coverage["timesheets"].reason or "")


def test_a_quiet_day_going_empty_is_not_partial() -> None:
    """It does not flag a week whose only empty day usually holds under a tenth of the rows."""
    earlier = _history(4, [10, 10, 10, 10, 10, 2, 2])
    coverage = source_coverage(_rows(), _days(timesheets=[10, 10, 10, 10, 10, 2, 0]), earlier)
    assert coverage["timesheets"].state == "complete"


def test_reviews_are_a_sample_and_never_partial() -> None:
    """It never flags the review log as partial: reviews on two days are a complete sample."""
    coverage = source_coverage(_rows(), _days(reviews=[5, 0, 0, 5, 0, 0, 0]))
    assert coverage["reviews"].state == "complete"


def test_a_missing_timesheet_export_makes_the_human_figures_unknown(
    example_model: OperatingModel,
) -> None:
    """It gives no human cost, total, cost per task, savings, month to date or review hours
    when the week has no timesheets, and keeps the model cost and the rates."""
    inputs = week_inputs(sheets=[], month_sheets=[])
    metrics = weekly_metrics(task_facts(inputs, example_model), inputs, example_model)
    for name in (
        "human_cost",
        "total_cost",
        "cost_per_task",
        "minutes_saved_per_employee_day",
        "month_to_date_cost",
        "projected_month_cost",
        "human_minutes_by_activity",
    ):
        assert getattr(metrics, name) is None, name
        assert metrics.unknown_because[name] == "no timesheets this week", name
    assert metrics.volumes.current.cost is None and metrics.volumes.busy_month.review_hours is None
    assert metrics.model_cost == pytest.approx(0.1)
    assert metrics.error_rate == 0.5 and metrics.unknown_because.get("error_rate") is None


def test_partial_figures_keep_their_value_and_are_marked(example_model: OperatingModel) -> None:
    """It computes the figures of a partial source as usual and lists them as partial."""
    inputs = week_inputs()
    facts = task_facts(inputs, example_model)
    complete = weekly_metrics(facts, inputs, example_model)
    coverage = source_coverage(
        {"usage": 11, "tickets": 15, "timesheets": 5, "reviews": 4},
        {"usage": FULL, "tickets": FULL, "timesheets": NO_FRIDAY, "reviews": FULL},
    )
    partial = weekly_metrics(facts, inputs, example_model, coverage=coverage)
    assert partial.cost_per_task == complete.cost_per_task is not None
    assert partial.partial["cost_per_task"].startswith("timesheets cover 4 of the usual 5 days")
    assert "error_rate" not in partial.partial
    assert partial.unknown_because == complete.unknown_because


def test_sample_rates_carry_wilson_intervals(example_model: OperatingModel) -> None:
    """It gives the error rate, stop-now share and correction rate their 95 % intervals."""
    inputs = week_inputs()
    metrics = weekly_metrics(task_facts(inputs, example_model), inputs, example_model)
    # 2 serious of 4 reviews; 1 stop-now of 4; 2 corrected of 4 drafts with an outcome.
    assert metrics.error_rate_ci == [0.15, 0.85]
    assert metrics.stop_now_share == 0.25 and metrics.stop_now_share_ci == [0.0456, 0.6994]
    assert metrics.draft_outcomes == 4 and metrics.correction_rate_ci == [0.15, 0.85]


def test_the_timesheet_day_is_counted(example_model: OperatingModel) -> None:
    """It counts the week's timesheet rows on their local weekday (30 September: Wednesday)."""
    inputs = week_inputs()
    metrics = weekly_metrics(task_facts(inputs, example_model), inputs, example_model)
    assert dt.date(2026, 9, 30) == DAY
    assert metrics.sources["timesheets"].day_rows == [0, 0, len(SHEETS), 0, 0, 0, 0]


def test_a_timesheet_export_cut_short_is_partial_in_the_warehouse(
    tmp_path, example_model: OperatingModel
) -> None:
    """It flags the second demo week's timesheets as partial, in a real SQLite warehouse, when
    their export stops before Friday, from the usual days the first week stored; usage and
    tickets stay complete."""
    import shutil

    import polars as pl

    from flows.ingest import ingest_inbox
    from models.results import Week
    from pipelines.demo.canonical import generate_inbox
    from pipelines.metrics import store_week_metrics
    from pipelines.warehouse.engine import dispose_engines

    exports = generate_inbox(tmp_path / "exports", weeks=2, seed=3)
    inbox, db_url = tmp_path / "inbox", f"sqlite:///{tmp_path / 'w.db'}"
    found = {}
    for label in exports.weeks:
        week = Week.parse(label, example_model.timezone)
        for path in exports.files_by_week[label]:
            target = inbox / path.relative_to(exports.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            if label == exports.weeks[-1] and "timesheets" in target.parts:
                sheet = pl.read_csv(target, separator=";", infer_schema=False)
                thursday = (week.monday + dt.timedelta(days=3)).isoformat()
                cut = sheet.filter(pl.col("date").str.slice(0, 10) <= thursday)
                target.write_text(cut.write_csv(separator=";"), encoding="utf-8")
        ingest_inbox(db_url, example_model, inbox, week)
        found[label] = store_week_metrics(db_url, example_model, week).metrics
    dispose_engines()
    first, second = (found[label] for label in exports.weeks)
    assert {s: c.state for s, c in first.sources.items()} == dict.fromkeys(
        ("usage", "tickets", "timesheets", "reviews"), "complete"
    )
    sheets = second.sources["timesheets"]
    assert sheets.state == "partial" and sheets.usual_from == "1 earlier week(s)"
    assert sheets.day_rows is not None and sheets.day_rows[4:] == [0, 0, 0]
    assert "none on Fri" in (sheets.reason or "")
    assert second.sources["usage"].state == "complete"
    assert all(second.sources["usage"].day_rows or [])
    assert second.cost_per_task is not None and "cost_per_task" in second.partial


def test_a_gap_earlier_in_the_month_makes_month_to_date_unknown(
    example_model: OperatingModel,
) -> None:
    """It gives no month-to-date or projected cost when an earlier week of the same month had
    no timesheets, and ignores a gap in the month before."""
    from models.results import Week
    from pipelines.coverage import month_gaps
    from tests.checks.test_rules import GREEN_METRICS

    missing = source_coverage(_rows(timesheets=0), _days(timesheets=[0] * 7))
    gap = GREEN_METRICS.model_copy(update={"sources": missing})
    week = Week.parse("2026-W45", "Europe/Berlin")  # 2 to 8 November
    same_month = [(week.shift(-1), gap)]  # 26 October to 1 November: holds 1 November
    assert month_gaps(week, same_month) == {
        "month_to_date_cost": "no timesheets in 2026-W44, earlier this month",
        "projected_month_cost": "no timesheets in 2026-W44, earlier this month",
    }
    assert month_gaps(week, [(week.shift(-2), gap)]) == {}
    inputs = week_inputs()
    metrics = weekly_metrics(
        task_facts(inputs, example_model),
        inputs,
        example_model,
        month_unknown=month_gaps(week, same_month),
    )
    assert metrics.month_to_date_cost is None and metrics.projected_month_cost is None
    assert metrics.cost_per_task is not None
    assert "2026-W44" in metrics.unknown_because["month_to_date_cost"]
