"""The report on hand-made weeks: unknown and partial figures, sample intervals, changes in
percentage points, the order of volumes, aligned numbers, unbroken ticket ids, ownership."""

from __future__ import annotations

import re
from typing import Any

import pytest

from checks.rules.base import RuleContext, outcome
from checks.rules.catalog import CATALOG
from models.operating_model import OperatingModel
from models.results import RuleOutcome, Week, WeeklyMetrics
from reports.charts import cost_trend_png
from reports.readiness import WeekReadiness
from reports.render import change, key_figures, render_html
from tests.checks.test_rules import GREEN_METRICS, metrics

WEEK = Week.parse("2026-W47", "Europe/Berlin")
NO_TIMESHEETS = "no timesheets this week"
UNKNOWN_VOLUME = {"cost": None, "review_hours": None, "under_cap": None}


def without_timesheets() -> WeeklyMetrics:
    """The green week's metrics had its timesheet export not arrived."""
    names = (
        "human_cost",
        "total_cost",
        "cost_per_task",
        "minutes_saved_per_employee_day",
        "month_to_date_cost",
        "projected_month_cost",
        "volumes",
        "human_minutes_by_activity",
    )
    return metrics(
        human_cost=None,
        total_cost=None,
        cost_per_task=None,
        minutes_saved_per_employee_day=None,
        month_to_date_cost=None,
        projected_month_cost=None,
        human_minutes_by_activity=None,
        volumes=dict.fromkeys(("current", "next_team", "busy_month"), UNKNOWN_VOLUME),
        unknown_because=dict.fromkeys(names, NO_TIMESHEETS),
    )


def render(
    example_model: OperatingModel,
    week_metrics: WeeklyMetrics,
    outcomes: list[RuleOutcome] | None = None,
    previous: WeeklyMetrics | None = None,
    findings: list[dict[str, Any]] | None = None,
) -> str:
    readiness = WeekReadiness(
        pilot=example_model.pilot,
        week=WEEK,
        verdict="pause_expansion",
        outcomes=outcomes or [],
        metrics=week_metrics,
        inputs={},
    )
    return render_html(
        readiness,
        example_model,
        chart_png=None,
        previous_metrics=previous,
        findings=findings or [],
        quarantine=[],
    )


def text(html: str) -> str:
    """The page's words without tags (each cell's end a space), spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html.replace("</td>", " </td>")))


def test_unknown_figures_read_unknown_with_the_reason(example_model: OperatingModel) -> None:
    """It shows "unknown (no timesheets this week)" for the human cost, total, cost per task,
    savings and every volume, never 0.00."""
    words = text(render(example_model, without_timesheets()))
    shown = "unknown (no timesheets this week)"
    assert f"Cost per AI task {shown}" in words
    assert f"human review and rework {shown}" in words
    assert f"Total cost {shown}" in words
    assert f"after review time: {shown}" in words
    for volume in ("now", "with the next team", "busy month"):
        assert f"{volume} {shown} {shown} unknown" in words
    cost_section = words.split("Cost per task")[1].split("Stop rules")[0]
    assert not re.search(r"(?<![\d,])0\.00 USD", cost_section)


def test_partial_figures_are_marked(example_model: OperatingModel) -> None:
    """It marks a figure computed from a partial source "(partial)" and keeps its number."""
    reason = "timesheets cover 4 of the usual 5 days (none on Fri)"
    partial = metrics(partial={"cost_per_task": reason, "human_cost": reason})
    words = text(render(example_model, partial))
    assert "Cost per AI task 1.00 USD (partial)" in words
    assert "human review and rework 1.50 USD (partial)" in words


def test_sample_rates_show_their_interval(example_model: OperatingModel) -> None:
    """It writes the error rate as "6.9 %, 95 % CI 1.9-22.0 %, n=29" and shows the rule's
    "sample too small" finding in the quality section."""
    week = metrics(
        reviewed=29, serious_findings=2, error_rate=0.069, error_rate_ci=[0.0191, 0.2196]
    )
    ctx = RuleContext(
        operating_model=example_model,
        week=WEEK,
        facts=None,  # type: ignore[arg-type]
        metrics=week,
        inputs=_reviews_only(),
        input_stats={},
        history=None,  # type: ignore[arg-type]
    )
    rule = outcome(CATALOG["quality.error_rate"], ctx)
    assert rule.status == "warn"
    words = text(render(example_model, week, outcomes=[rule]))
    assert "Error rate 6.9 %, 95 % CI 1.9-22.0 %, n=29 (limit 10.0%)" in words
    quality = words.split("Quality")[1]
    assert "sample too small to be sure" in quality and "more reviews" in quality


def _reviews_only() -> Any:
    import polars as pl

    from pipelines.facts import REVIEW_SCHEMA

    class Inputs:
        reviews = pl.DataFrame(schema=REVIEW_SCHEMA)

    return Inputs()


@pytest.mark.parametrize(
    ("key", "now", "before", "shown"),
    [
        ("error_rate", 0.069, 0.035, "+3.4 pp"),
        ("correction_rate", 0.1, 0.12, "-2.0 pp"),
        ("cost_per_task", 1.1, 1.0, "+10%"),
        ("cost_per_task", None, 1.0, "n/a"),
    ],
)
def test_changes_of_rates_are_in_percentage_points(
    key: str, now: float | None, before: float, shown: str
) -> None:
    """It gives a rate's change in percentage points and other figures' in per cent."""
    assert change(key, now, before) == shown


def test_key_figures_say_unknown_this_week(example_model: OperatingModel) -> None:
    """It shows this week's unknown cost per task as unknown beside last week's number."""
    rows = {r["label"]: r for r in key_figures(without_timesheets(), GREEN_METRICS)}
    assert "unknown (no timesheets this week)" in rows["Cost per AI task"]["value"]
    assert rows["Cost per AI task"]["previous"] == "1.00 USD"
    assert rows["Cost per AI task"]["delta"] == "n/a"


def test_key_figures_say_unknown_last_week(example_model: OperatingModel) -> None:
    """It shows last week's unknown cost per task as unknown "that week", with no change."""
    rows = {r["label"]: r for r in key_figures(GREEN_METRICS, without_timesheets())}
    assert "unknown (no timesheets that week)" in rows["Cost per AI task"]["previous"]
    assert rows["Cost per AI task"]["delta"] == "n/a"


def test_volumes_run_now_next_team_busy_month(example_model: OperatingModel) -> None:
    """It lists the volumes in the order now, with the next team, busy month."""
    words = text(render(example_model, GREEN_METRICS)).split("Volumes")[1]
    assert words.index("now") < words.index("with the next team") < words.index("busy month")


def test_number_columns_have_right_aligned_headers(example_model: OperatingModel) -> None:
    """It right-aligns the severity columns' headers over their right-aligned counts."""
    findings = [
        {
            "ticket_id": "T-104107",
            "severity": "medium",
            "category": "missed_policy",
            "reviewer": "Dana Levi",
            "note": None,
            "fix": None,
            "repeat": False,
        }
    ]
    html = render(example_model, GREEN_METRICS, findings=findings)
    assert (
        '<th class="num">low</th><th class="num">medium</th><th class="num">stop now</th>' in html
    )
    assert '<td class="num">1</td>' in html
    assert "th.num { text-align: right; }" in html


def test_ticket_ids_are_never_broken(example_model: OperatingModel) -> None:
    """It keeps each ticket id on one line, in the findings and in a rule's evidence."""
    findings = [
        {
            "ticket_id": "T-104107",
            "severity": "low",
            "category": "tone",
            "reviewer": "Dana Levi",
            "note": None,
            "fix": None,
            "repeat": False,
        }
    ]
    rule = RuleOutcome(
        id="quality.stop_now",
        status="fail",
        value=2,
        threshold=0,
        message="2 stop-now finding(s) this week",
        evidence=["T-104107", "T-104108"],
        evidence_total=2,
        owner_role="stop_authority",
        on_fail="pause_pilot",
        action="Pause.",
        evidence_kind="tickets",
    )
    html = render(example_model, GREEN_METRICS, outcomes=[rule], findings=findings)
    assert ".tid { white-space: nowrap; }" in html and "break-all" not in html
    assert html.count('class="tid"') >= 3
    assert re.search(r'<td class="tid"><a href="[^"]+T-104107">T-104107</a></td>', html)


def test_ownership_shows_contacts_approvers_and_limits(example_model: OperatingModel) -> None:
    """It shows each role's email and backup email, the change approvers, what the AI never
    does and the excluded categories."""
    words = text(render(example_model, GREEN_METRICS)).split("Ownership")[1]
    assert "Ana Ruiz ana@example.com" in words and "Li Wei li@example.com" in words
    assert "Change approvers: Sam Okafor, Ana Ruiz." in words
    assert "The AI never: approve refunds; change account data; answer legal complaints." in words
    assert (
        "Excluded categories (no AI drafts): billing_dispute, legal, chargeback, complaint" in words
    )


def test_chart_draws_an_unknown_week_without_a_zero_bar() -> None:
    """It still draws the chart when a week's cost per task is unknown (a hatched bar), and
    none when no week has AI tasks."""
    point = {
        "week": "2026-W43",
        "ai_tasks": 10,
        "model": 0.5,
        "human": None,
        "fees": 0.1,
        "cost_per_task": None,
        "partial": None,
    }
    known = {**point, "week": "2026-W42", "human": 0.2, "cost_per_task": 0.8}
    png = cost_trend_png([known, point], 1.5)
    assert png is not None and png.startswith(b"\x89PNG")
    assert cost_trend_png([point], 1.5) is not None
    assert cost_trend_png([{**point, "ai_tasks": 0}], 1.5) is None


def test_unknown_rules_are_listed_as_reasons(example_model: OperatingModel) -> None:
    """It lists the rules that are unknown under the verdict, with what is missing."""
    rule = RuleOutcome(
        id="savings.per_employee_day",
        status="unknown",
        value=None,
        threshold=15,
        message="minutes saved per employee per day are unknown (no timesheets this week)",
        evidence=[],
        evidence_total=0,
        owner_role="business_owner",
        on_fail="pause_expansion",
        action="Keep the pilot to low-risk tasks.",
        evidence_kind="text",
    )
    words = text(render(example_model, without_timesheets(), outcomes=[rule]))
    reasons = words.split("What to do next")[0]
    assert "Not known this week" in reasons
    assert "savings.per_employee_day: minutes saved per employee per day are unknown" in reasons
