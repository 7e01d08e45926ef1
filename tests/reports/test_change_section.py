"""The report's "Changes and their effect" rows, from hand-made change effects."""

from __future__ import annotations

from models.results import ChangeEffect
from pipelines.change_effects import window_figures
from reports.change_section import change_rows
from tests.pipelines.test_change_effects import W40, W41, W44, WEEK_A, WEEK_B, week


def _effect(**values: object) -> dict:
    before = window_figures([W40], {W40.label: WEEK_A}, W44)
    after = window_figures([W41, week("2026-W42")], {W41.label: WEEK_B}, W41)
    effect = ChangeEffect(
        kind="prompt",
        version="v2",
        changed_at="2026-10-07T10:00:00+02:00",
        approved_by=None,
        description="<b>order lookup</b>",
        change_week="2026-W41",
        status="too_early",
        weeks_before=1,
        weeks_after=2,
        before=before,
        after=after,
        **values,
    )
    return effect.model_dump(mode="json")


def test_a_change_reads_too_early_with_its_figures_before_and_after() -> None:
    """It says how many after-weeks have ended, writes rates with their interval and sample,
    and the change of a share in points, saying whether the intervals are apart."""
    (row,) = change_rows([_effect()])
    assert row["title"] == "Prompt v2" and row["when"] == "2026-10-07 10:00"
    assert row["status"] == "too early to tell (1 of 2 week(s) after it so far)"
    assert (row["before_weeks"], row["after_weeks"]) == ("W40", "W41")
    figures = {f["label"]: f for f in row["figures"]}
    cost = figures["Cost per AI task"]
    assert (cost["before"], cost["after"], cost["change"]) == ("0.75 USD", "2.00 USD", "+166.7%")
    correction = figures["Correction rate (drafts rewritten or discarded)"]
    assert str(correction["before"]).startswith("15.0 %<br>")
    assert "95 % CI 9.3-23.3 %, n=100" in str(correction["before"])
    assert str(correction["change"]) == '-5.0 pp<br><span class="muted">within the intervals</span>'


def test_an_unknown_figure_says_unknown_and_why() -> None:
    """It shows a figure no week of the window gives as unknown with the reason, never 0."""
    effect = _effect()
    effect["after"]["cost_per_task"] = None
    effect["after"]["unknown_because"] = {"cost_per_task": "no timesheets this week (2026-W41)"}
    (row,) = change_rows([effect])
    cost = next(f for f in row["figures"] if f["label"] == "Cost per AI task")
    assert str(cost["after"]) == (
        '<span class="unknown">unknown (no timesheets this week (2026-W41))</span>'
    )
    assert cost["change"] == ""
