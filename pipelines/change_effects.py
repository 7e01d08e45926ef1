"""What each change did (issue 20): for every change-log entry but restarts, the weeks before
its week against the weeks after it, from the weeks' stored metrics.

A change falls in the week that holds its `changed_at` (pilot's timezone). The before window is
the `weeks_before` weeks ending the week before that one; the after window starts with the next
week (with the change's own week when the change came at its very start, Monday 00:00) and runs
`weeks_after` weeks, never past the week being reported. Until all after-weeks have ended the
change is "too early to tell". Figures are pooled over the window's weeks whose stored metrics
know them (sums of costs, tasks, calls, reviews and outcomes, then one ratio); the savings per
employee and day are the mean of the known weeks' values.

Where the week of a prompt change has usage rows carrying two or more prompt versions, the
versions that ran side by side that week are compared directly: model cost per call of each
version's calls, and the correction and error rates of the AI tasks whose calls all carry it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, func, select

from models.operating_model import OperatingModel
from models.results import ChangeEffect, VersionFigures, Week, WeeklyMetrics, WindowFigures
from models.warehouse import ChangeEntry, TaskFact, UsageCall, UsageTaskSummary, WeeklyMetric
from pipelines.intervals import wilson
from pipelines.usage_summary import calls_between, task_rows_fit
from pipelines.warehouse.reads import read_frame

SKIPPED_KINDS = ("restart",)  # a restart lifts a pause; it changes nothing the AI does
SERIOUS = ("medium", "stop_now")
CORRECTED = ("rewritten", "discarded")
# The per-version figures need the task id and prompt version of each call.
VERSION_USAGE_SCHEMA = {
    "task_id": pl.String,
    "prompt_version": pl.String,
    "first_bucket": pl.Datetime("us", "UTC"),
    "calls": pl.Int64,
    "cost_usd": pl.Float64,
}
VERSION_TASK_SCHEMA = {
    "ticket_id": pl.String,
    "draft_outcome": pl.String,
    "worst_severity": pl.String,
}


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _ci(successes: int, n: int) -> list[float] | None:
    bounds = wilson(successes, n)
    return None if bounds is None else [round(bounds[0], 4), round(bounds[1], 4)]


def change_week(changed_at: dt.datetime, timezone: str) -> Week:
    """The week (pilot's timezone) a change fell in."""
    return Week.of_day(changed_at.astimezone(ZoneInfo(timezone)).date(), timezone)


def windows(
    changed_at: dt.datetime, timezone: str, weeks_before: int, weeks_after: int
) -> tuple[Week, list[Week], list[Week]]:
    """The change's week, its before-weeks and its after-weeks, oldest first."""
    week = change_week(changed_at, timezone)
    first_after = week if changed_at <= week.start else week.shift(1)
    before = [week.shift(-k) for k in range(weeks_before, 0, -1)]
    after = [first_after.shift(k) for k in range(weeks_after)]
    return week, before, after


def _why_missing(week: Week, report_week: Week, started_on: dt.date | None) -> str:
    if week.start >= report_week.end:
        return "not yet ended"
    if started_on is not None and week.sunday < started_on:
        return "before the pilot started"
    return "never run"


def window_figures(
    weeks: list[Week],
    stored: Mapping[str, WeeklyMetrics],
    report_week: Week,
    started_on: dt.date | None = None,
) -> WindowFigures:
    """One window's figures pooled over its weeks' stored metrics (`stored`: week label ->
    metrics); weeks after `report_week` are never read. A figure some read weeks cannot give is
    pooled over the others and named in `partial`; one no week gives is None with the reasons."""
    known = [w for w in weeks if w.start < report_week.end and w.label in stored]
    missing = {w.label: _why_missing(w, report_week, started_on) for w in weeks if w not in known}
    metrics = {w.label: stored[w.label] for w in known}
    unknown: dict[str, str] = {}
    partial: dict[str, str] = {}

    def reason(source: str, left_out: list[str]) -> str:
        why = sorted({metrics[w].unknown_because.get(source, "") for w in left_out} - {""})
        parts = (
            [f"{'; '.join(why) or 'nothing to measure'} ({', '.join(left_out)})"]
            if left_out
            else []
        )
        if missing:
            parts.append("; ".join(sorted(set(missing.values()))) + f" ({', '.join(missing)})")
        return "; ".join(parts) or "nothing to measure"

    def pooled(
        name: str, source: str, parts: dict[str, tuple[float, float]], digits: int = 4
    ) -> float | None:
        """sum(numerators) / sum(denominators) over the weeks in `parts` (week -> pair)."""
        left_out = [w for w in metrics if w not in parts]
        whole = sum(b for _, b in parts.values())
        if not whole:
            unknown[name] = reason(source, left_out)
            return None
        if left_out:
            partial[name] = f"from {len(parts)} of {len(metrics)} week(s): " + reason(
                source, left_out
            )
        return _round(sum(a for a, _ in parts.values()) / whole, digits)

    cost_per_task = pooled(
        "cost_per_task",
        "cost_per_task",
        {w: (m.total_cost, m.ai_tasks) for w, m in metrics.items() if m.total_cost is not None},
    )
    model_cost_per_call = pooled(
        "model_cost_per_call",
        "model_cost",
        {w: (m.model_cost, m.model_calls) for w, m in metrics.items() if m.model_cost is not None},
        6,
    )
    minutes = {w: (m, m.human_minutes_by_activity) for w, m in metrics.items()}
    review = pooled(
        "review_minutes_per_task",
        "human_minutes_by_activity",
        {w: (h.review, m.ai_tasks) for w, (m, h) in minutes.items() if h is not None},
        2,
    )
    rework = pooled(
        "rework_minutes_per_task",
        "human_minutes_by_activity",
        {w: (h.rework, m.ai_tasks) for w, (m, h) in minutes.items() if h is not None},
        2,
    )
    reviews = {
        w: (m.serious_findings, m.reviewed) for w, m in metrics.items() if m.error_rate is not None
    }
    error_rate = pooled("error_rate", "error_rate", reviews)
    # The stored rate has 4 decimals: rate * n is within 0.5 of the count below 5000 outcomes.
    outcomes = {
        w: (round(m.correction_rate * m.draft_outcomes), m.draft_outcomes)
        for w, m in metrics.items()
        if m.correction_rate is not None
    }
    correction_rate = pooled("correction_rate", "correction_rate", outcomes)
    saved = {
        w: m.minutes_saved_per_employee_day
        for w, m in metrics.items()
        if m.minutes_saved_per_employee_day is not None
    }
    saved_left_out = [w for w in metrics if w not in saved]
    if not saved:
        unknown["minutes_saved_per_employee_day"] = reason(
            "minutes_saved_per_employee_day", saved_left_out
        )
    elif saved_left_out:
        partial["minutes_saved_per_employee_day"] = (
            f"from {len(saved)} of {len(metrics)} week(s): "
            + reason("minutes_saved_per_employee_day", saved_left_out)
        )
    serious, reviewed = (sum(v) for v in zip(*reviews.values(), strict=True)) if reviews else (0, 0)
    corrected, judged = (
        (sum(v) for v in zip(*outcomes.values(), strict=True)) if outcomes else (0, 0)
    )
    return WindowFigures(
        weeks=[w.label for w in known],
        missing_weeks=list(missing),
        ai_tasks=sum(m.ai_tasks for m in metrics.values()),
        cost_per_task=cost_per_task,
        model_cost_per_call=model_cost_per_call,
        review_minutes_per_task=review,
        rework_minutes_per_task=rework,
        error_rate=error_rate,
        error_rate_ci=_ci(serious, reviewed) if error_rate is not None else None,
        reviewed=reviewed,
        correction_rate=correction_rate,
        correction_rate_ci=_ci(corrected, judged) if correction_rate is not None else None,
        draft_outcomes=judged,
        minutes_saved_per_employee_day=_round(sum(saved.values()) / len(saved), 2)
        if saved
        else None,
        unknown_because=dict(sorted(unknown.items())),
        partial=dict(sorted(partial.items())),
    )


def version_figures(usage: pl.DataFrame, tasks: pl.DataFrame) -> list[VersionFigures]:
    """Per prompt version (oldest first): calls and model cost per call from `usage` (columns of
    VERSION_USAGE_SCHEMA, one row per task and version), and the outcomes and reviews of the AI
    tasks in `tasks` whose calls all carry that version; [] unless two or more versions ran."""
    usage = usage.filter(pl.col("prompt_version").is_not_null())
    if usage.get_column("prompt_version").n_unique() < 2:
        return []
    single = (
        usage.filter(pl.col("task_id").is_not_null())
        .group_by("task_id")
        .agg(pl.col("prompt_version").unique())
        .filter(pl.col("prompt_version").list.len() == 1)
        .select(pl.col("task_id").alias("ticket_id"), pl.col("prompt_version").list.first())
    )
    owned = tasks.join(single, on="ticket_id", how="inner")
    per_version = (
        usage.group_by("prompt_version")
        .agg(
            pl.col("first_bucket").min(),
            pl.col("calls").sum(),
            pl.col("cost_usd").sum(),
        )
        .sort("first_bucket", "prompt_version")
    )
    out = []
    for row in per_version.iter_rows(named=True):
        mine = owned.filter(pl.col("prompt_version") == row["prompt_version"])
        with_outcome = mine.filter(pl.col("draft_outcome").is_not_null())
        corrected = with_outcome.filter(pl.col("draft_outcome").is_in(CORRECTED)).height
        reviewed = mine.filter(pl.col("worst_severity").is_not_null())
        serious = reviewed.filter(pl.col("worst_severity").is_in(SERIOUS)).height
        n_out, n_rev = with_outcome.height, reviewed.height
        out.append(
            VersionFigures(
                prompt_version=row["prompt_version"],
                calls=int(row["calls"]),
                model_cost_per_call=_round(row["cost_usd"] / row["calls"], 6)
                if row["calls"]
                else None,
                tasks=mine.height,
                correction_rate=_round(corrected / n_out) if n_out else None,
                correction_rate_ci=_ci(corrected, n_out),
                draft_outcomes=n_out,
                error_rate=_round(serious / n_rev) if n_rev else None,
                error_rate_ci=_ci(serious, n_rev),
                reviewed_tasks=n_rev,
            )
        )
    return out


def _version_usage(conn: Connection, pilot: str, week: Week) -> pl.DataFrame:
    """The week's calls per task and prompt version (from the task usage summary when none of
    its rows crosses the week's bounds, else from the calls)."""
    if task_rows_fit(conn, pilot, week.start, week.end):
        s = UsageTaskSummary.__table__
        statement = (
            select(
                s.c.task_id,
                s.c.prompt_version,
                func.min(s.c.first_bucket).label("first_bucket"),
                func.sum(s.c.calls).label("calls"),
                func.sum(s.c.cost_usd).label("cost_usd"),
            )
            .where(s.c.pilot == pilot, s.c.first_bucket >= week.start, s.c.first_bucket < week.end)
            .group_by(s.c.task_id, s.c.prompt_version)
        )
    else:
        u = UsageCall.__table__
        statement = (
            select(
                u.c.task_id,
                u.c.prompt_version,
                func.min(u.c.timestamp).label("first_bucket"),
                func.count().label("calls"),
                func.coalesce(func.sum(u.c.model_cost_usd), 0.0).label("cost_usd"),
            )
            .where(calls_between(pilot, week.start, week.end))
            .group_by(u.c.task_id, u.c.prompt_version)
        )
    return read_frame(conn, statement, schema=VERSION_USAGE_SCHEMA)


def _version_tasks(conn: Connection, pilot: str, week: Week) -> pl.DataFrame:
    t = TaskFact.__table__
    return read_frame(
        conn,
        select(t.c.ticket_id, t.c.draft_outcome, t.c.worst_severity).where(
            t.c.pilot == pilot, t.c.week == week.label, t.c.ai_task.is_(True)
        ),
        schema=VERSION_TASK_SCHEMA,
    )


def _stored(
    conn: Connection, pilot: str, labels: set[str]
) -> tuple[dict[str, WeeklyMetrics], set[str]]:
    """The weeks' stored metrics, and those of the weeks whose verdict paused the pilot."""
    table = WeeklyMetric.__table__
    rows = conn.execute(
        select(table.c.week, table.c.metrics_json, table.c.verdict).where(
            table.c.pilot == pilot, table.c.week.in_(sorted(labels))
        )
    ).all()
    paused = {r.week for r in rows if r.verdict == "pause_pilot"}
    return {r.week: WeeklyMetrics.from_json(r.metrics_json) for r in rows}, paused


def change_effects(
    conn: Connection, operating_model: OperatingModel, report_week: Week
) -> list[ChangeEffect]:
    """Every change logged before the end of `report_week` (restarts left out), newest first,
    with its before and after windows as far as `report_week` reaches."""
    settings = operating_model.change_effects
    pilot, timezone = operating_model.pilot, operating_model.timezone
    c = ChangeEntry.__table__
    logged = conn.execute(
        select(c.c.changed_at, c.c.kind, c.c.version, c.c.approved_by, c.c.description)
        .where(c.c.pilot == pilot, c.c.changed_at < report_week.end)
        .order_by(c.c.changed_at.desc(), c.c.kind, c.c.version)
    ).all()
    # SQLite hands back naive UTC.
    moments = [
        r.changed_at if r.changed_at.tzinfo else r.changed_at.replace(tzinfo=dt.UTC) for r in logged
    ]
    weeks_of = [change_week(m, timezone).label for m in moments]
    planned = []
    for index, row in enumerate(logged):
        if row.kind in SKIPPED_KINDS:
            continue
        changed_at = moments[index]
        week, before, after = windows(
            changed_at, timezone, settings.weeks_before, settings.weeks_after
        )
        window = {w.label for w in (*before, *after)}
        others = [
            f"{other.kind} {other.version} ({weeks_of[k]})"
            for k, other in enumerate(logged)
            if k != index and weeks_of[k] in window
        ]
        planned.append((row, changed_at, week, before, after, sorted(others)))
    labels = {w.label for _, _, week, b, a, _ in planned for w in (*b, *a, week)}
    stored, paused = _stored(conn, pilot, labels)
    effects = []
    for row, changed_at, week, before, after, others in planned:
        ended = [w for w in after if w.start < report_week.end]
        read = {w for w in (*before, *ended)}
        versions: list[VersionFigures] = []
        if row.kind == "prompt" and week.start < report_week.end:
            versions = version_figures(
                _version_usage(conn, pilot, week), _version_tasks(conn, pilot, week)
            )
        before_figures = window_figures(before, stored, report_week, operating_model.started_on)
        status = (
            "no_weeks_before"
            if not before_figures.weeks
            else "measured"
            if len(ended) == len(after)
            else "too_early"
        )
        effects.append(
            ChangeEffect(
                kind=row.kind,
                version=row.version,
                changed_at=changed_at.astimezone(operating_model.zone).isoformat(),
                approved_by=row.approved_by,
                description=row.description,
                change_week=week.label,
                status=status,
                weeks_before=settings.weeks_before,
                weeks_after=settings.weeks_after,
                before=before_figures,
                after=window_figures(after, stored, report_week, operating_model.started_on),
                side_by_side_week=week.label if versions else None,
                side_by_side=versions,
                other_changes=others,
                paused_weeks=sorted(
                    w.label for w in (*before, *after) if w.label in paused and w in read
                ),
            )
        )
    return effects
