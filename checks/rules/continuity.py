"""Continuity of a pilot's weeks: pauses and restarts, and weeks that were never run.

**Paused.** After a week whose verdict was `pause_pilot`, the pilot stays paused until the change
log holds a `restart` entry approved by the stop authority or the stop authority's backup, dated
at or after the end of that week (a restart logged inside the paused week, before its report
existed, does not count). While paused, every week's verdict is `pause_pilot`, so no paused week
counts toward the green streak and the streak starts again from zero after the restart.

**Gaps.** Weeks since the pilot started (`started_on`, else the first week with model usage or
stored results) that have no stored verdict were never run; the streak cannot look past them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from checks.rules.base import Finding, RuleContext
from models.operating_model import OperatingModel
from models.results import Week

# How far back gaps are looked for; older missing weeks cannot change any streak.
GAP_HORIZON_WEEKS = 52


@dataclass(frozen=True)
class Restart:
    """A `restart` entry of the change log."""

    changed_at: dt.datetime
    version: str
    approved_by: str
    allowed: bool  # approved by the stop authority or the stop authority's backup


@dataclass(frozen=True)
class PauseState:
    """Whether the pilot is paused in a week, since when, and the restarts the log holds."""

    paused_since: str | None  # label of the first week of the pause still in force
    restarts: list[Restart]

    @property
    def paused(self) -> bool:
        return self.paused_since is not None


def restart_approvers(operating_model: OperatingModel) -> list[str]:
    """Who may restart a paused pilot: the stop authority and the stop authority's backup."""
    role = operating_model.roles.stop_authority
    if role is None:
        return []
    return [role.name] + ([role.backup.name] if role.backup else [])


def restarts(changes: pl.DataFrame, operating_model: OperatingModel) -> list[Restart]:
    """The change log's restart entries, oldest first, each marked allowed or not."""
    allowed = {name.strip().lower() for name in restart_approvers(operating_model)}
    rows = changes.filter(pl.col("kind") == "restart").sort("changed_at")
    found = []
    for changed_at, version, approved_by in rows.select(
        "changed_at", "version", "approved_by"
    ).iter_rows():
        if changed_at.tzinfo is None:
            changed_at = changed_at.replace(tzinfo=dt.UTC)
        who = (approved_by or "").strip()
        found.append(Restart(changed_at, version, who, who.lower() in allowed))
    return found


def pause_state(
    week: Week,
    verdicts: dict[str, str | None],
    changes: pl.DataFrame,
    operating_model: OperatingModel,
) -> PauseState:
    """The pause in force during `week`: the oldest earlier `pause_pilot` week that no allowed
    restart (dated at or after its end, before this week ended) has lifted."""
    logged = [r for r in restarts(changes, operating_model) if r.changed_at < week.end]
    lifts = [r.changed_at for r in logged if r.allowed]
    for label in sorted(v for v, verdict in verdicts.items() if verdict == "pause_pilot"):
        if label >= week.label:
            continue
        paused_week = Week.parse(label, week.timezone)
        if not any(at >= paused_week.end for at in lifts):
            return PauseState(label, logged)
    return PauseState(None, logged)


def restart_row(since: str, week: Week, operating_model: OperatingModel) -> str:
    """The change-log row (CSV: changed_at, kind, version, approved_by, description) that
    restarts the pilot, dated the morning after this week ended."""
    approvers = restart_approvers(operating_model)
    who = approvers[0] if approvers else "<stop authority>"
    when = dt.datetime.combine(
        week.sunday + dt.timedelta(days=1), dt.time(9, 0), operating_model.zone
    )
    return (
        f"{when.isoformat()},restart,after-{since},{who},"
        f"Restart after the {since} pause: causes reviewed and fixed"
    )


def paused(ctx: RuleContext) -> Finding:
    """`pilot.paused`: fails while a pause_pilot verdict has not been lifted by a restart."""
    state = pause_state(ctx.week, ctx.history.verdicts, ctx.inputs.changes, ctx.operating_model)
    refused = [
        f"restart {r.version} approved by {r.approved_by or 'nobody'} does not count: only "
        f"{' or '.join(restart_approvers(ctx.operating_model)) or 'the stop authority'} may restart"
        for r in state.restarts
        if not r.allowed
    ]
    if state.paused:
        since = state.paused_since
        weeks = len(Week.parse_range(f"{since}..{ctx.week.label}", ctx.week.timezone)) - 1
        row = restart_row(since, ctx.week, ctx.operating_model)
        return Finding(
            "fail",
            weeks,
            0,
            f"paused since {since}, no restart recorded; to restart, add to the change log: {row}",
            [row, *refused],
        )
    lifted = [r for r in state.restarts if r.allowed and r.changed_at >= ctx.week.start]
    if lifted:
        r = lifted[-1]
        local = r.changed_at.astimezone(ctx.operating_model.zone)
        return Finding(
            "pass",
            0,
            0,
            f"restarted {local:%Y-%m-%d %H:%M} by {r.approved_by}; the green streak starts again",
            refused,
        )
    return Finding("pass", 0, 0, "the pilot is not paused", refused)


def missing_weeks(
    week: Week,
    evaluated: set[str],
    started_on: dt.date | None,
    first_known_week: str | None,
) -> list[str]:
    """Weeks before `week`, since the pilot started, whose rules were never evaluated."""
    if started_on is not None:
        first = Week.of_day(started_on, week.timezone)
    elif first_known_week is not None:
        first = Week.parse(first_known_week, week.timezone)
    else:
        return []
    first = max(first.label, week.shift(-GAP_HORIZON_WEEKS).label)
    labels, current = [], week.shift(-1)
    while current.label >= first:
        labels.append(current.label)
        current = current.shift(-1)
    return sorted(label for label in labels if label not in evaluated)


def weeks_option(labels: list[str]) -> str:
    """`--week X` for one week, `--weeks A..B` for consecutive ones, else one per run."""
    if len(labels) == 1:
        return f"--week {labels[0]}"
    return f"--weeks {labels[0]}..{labels[-1]}"
