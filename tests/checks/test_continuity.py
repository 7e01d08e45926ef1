"""Pauses, restarts, weeks never run and serious repeats, on small hand-made weeks."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from checks.rules.continuity import missing_weeks, pause_state, restart_row, weeks_option
from checks.rules.repeats import seen_before_mask, serious_repeat_mask
from models.operating_model import OperatingModel
from models.results import Week
from pipelines.facts import CHANGE_SCHEMA, REVIEW_SCHEMA

TZ = "Europe/Berlin"
W43, W44, W45, W46 = (Week.parse(f"2026-W{n}", TZ) for n in (43, 44, 45, 46))


def changes(*rows: tuple) -> pl.DataFrame:
    """Change rows (changed_at, kind, version, approved_by, description)."""
    return pl.DataFrame(list(rows), schema=CHANGE_SCHEMA, orient="row")


def reviews(*rows: tuple) -> pl.DataFrame:
    """Review rows (ticket, reviewer, reviewed_at, severity, category, note, fix)."""
    return pl.DataFrame(list(rows), schema=REVIEW_SCHEMA, orient="row")


def at(week: Week, days: float) -> dt.datetime:
    """A moment `days` days after the week's start (UTC)."""
    return week.start + dt.timedelta(days=days)


def restart(when: dt.datetime, who: str = "Ana Ruiz", version: str = "r1") -> tuple:
    return (when, "restart", version, who, "restart")


# pauses ----------------------------------------------------------------------------------------
def test_a_pause_stays_until_a_restart(example_model: OperatingModel) -> None:
    """It keeps the pilot paused since the pause_pilot week while no restart is logged."""
    verdicts = {"2026-W43": "pause_pilot", "2026-W44": "pause_pilot"}
    state = pause_state(W45, verdicts, changes(), example_model)
    assert state.paused_since == "2026-W43"


def test_a_restart_by_the_stop_authority_lifts_the_pause(example_model: OperatingModel) -> None:
    """It lifts the pause from the week in which the stop authority logged a restart."""
    log = changes(restart(at(W44, 1.5)))
    assert not pause_state(W44, {"2026-W43": "pause_pilot"}, log, example_model).paused
    assert not pause_state(
        W45, {"2026-W43": "pause_pilot", "2026-W44": "ready"}, log, example_model
    ).paused


def test_the_backup_may_restart_but_nobody_else(example_model: OperatingModel) -> None:
    """It accepts the stop authority's backup and ignores a restart by anyone else."""
    verdicts = {"2026-W43": "pause_pilot"}
    backup = changes(restart(at(W44, 1), who=" sam okafor "))
    assert not pause_state(W44, verdicts, backup, example_model).paused
    other = pause_state(W44, verdicts, changes(restart(at(W44, 1), who="Dana Levi")), example_model)
    assert other.paused_since == "2026-W43"
    assert [r.allowed for r in other.restarts] == [False]


def test_a_restart_inside_the_paused_week_does_not_count(example_model: OperatingModel) -> None:
    """It ignores a restart dated before the paused week ended (before its report existed)."""
    log = changes(restart(at(W43, 5)))
    assert pause_state(W44, {"2026-W43": "pause_pilot"}, log, example_model).paused


def test_a_restart_logged_after_the_week_does_not_lift_it(example_model: OperatingModel) -> None:
    """It ignores a restart dated after the week being evaluated (later weeks never change it)."""
    log = changes(restart(at(W45, 2)))
    assert pause_state(W44, {"2026-W43": "pause_pilot"}, log, example_model).paused


def test_a_second_pause_needs_a_second_restart(example_model: OperatingModel) -> None:
    """It pauses again after a later pause_pilot week that the first restart came before."""
    log = changes(restart(at(W44, 1)))
    verdicts = {"2026-W43": "pause_pilot", "2026-W44": "ready", "2026-W45": "pause_pilot"}
    assert pause_state(W46, verdicts, log, example_model).paused_since == "2026-W45"


def test_the_restart_row_is_a_change_log_line(example_model: OperatingModel) -> None:
    """It writes the exact CSV row that restarts the pilot, dated after the week, by the stop
    authority."""
    row = restart_row("2026-W43", W44, example_model)
    changed_at, kind, version, who, _ = row.split(",", 4)
    assert (kind, version, who) == ("restart", "after-2026-W43", "Ana Ruiz")
    assert dt.datetime.fromisoformat(changed_at) >= W44.end


# weeks never run --------------------------------------------------------------------------------
def test_missing_weeks_since_the_pilot_started() -> None:
    """It lists the weeks since `started_on` that were never evaluated."""
    gaps = missing_weeks(W46, {"2026-W43"}, dt.date(2026, 10, 19), None)
    assert gaps == ["2026-W44", "2026-W45"]


def test_missing_weeks_from_the_first_data_without_a_start_date() -> None:
    """It starts from the first week with data when the pilot has no `started_on`."""
    assert missing_weeks(W46, set(), None, "2026-W44") == ["2026-W44", "2026-W45"]
    assert missing_weeks(W46, set(), None, None) == []


@pytest.mark.parametrize(
    ("labels", "option"),
    [(["2026-W44"], "--week 2026-W44"), (["2026-W44", "2026-W45"], "--weeks 2026-W44..2026-W45")],
)
def test_weeks_option(labels: list[str], option: str) -> None:
    """It names one week with --week and several with a --weeks range."""
    assert weeks_option(labels) == option


# serious repeats ---------------------------------------------------------------------------------
def test_a_low_finding_before_is_only_seen_before() -> None:
    """It does not call a medium finding a serious repeat when only low findings came before."""
    week = reviews(("T9", "Dana", at(W46, 1), "medium", "missed_policy", None, None))
    earlier = reviews(("T1", "Dana", at(W43, 1), "low", "missed_policy", None, "fixed prompt"))
    assert serious_repeat_mask(week, earlier, changes()).to_list() == [False]
    assert seen_before_mask(week, earlier).to_list() == [True]


def test_a_serious_finding_after_a_recorded_fix_is_a_repeat() -> None:
    """It marks a medium finding whose category had a fixed medium finding in an earlier week."""
    week = reviews(
        ("T9", "Dana", at(W46, 1), "medium", "wrong_facts", None, None),
        ("T8", "Dana", at(W46, 1), "low", "wrong_facts", None, None),
        ("T7", "Dana", at(W46, 1), "medium", "tone", None, None),
    )
    earlier = reviews(("T1", "Dana", at(W43, 1), "medium", "wrong_facts", None, "prompt v2"))
    assert serious_repeat_mask(week, earlier, changes()).to_list() == [True, False, False]


def test_a_change_between_the_findings_counts_as_the_fix() -> None:
    """It counts a change logged between the two findings as the fix, but not a restart."""
    week = reviews(("T9", "Dana", at(W46, 1), "stop_now", "privacy", None, None))
    earlier = reviews(("T1", "Dana", at(W43, 1), "medium", "privacy", None, None))
    assert serious_repeat_mask(week, earlier, changes()).to_list() == [False]
    fix = changes((at(W44, 1), "prompt", "v3", "Sam Okafor", "privacy filter"))
    assert serious_repeat_mask(week, earlier, fix).to_list() == [True]
    only_restart = changes(restart(at(W44, 1)))
    assert serious_repeat_mask(week, earlier, only_restart).to_list() == [False]
