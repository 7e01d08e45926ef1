"""The `inputs` block of a week's report: per source, the files holding rows of the week and the
files refused when the week ran, with the counts recorded when each file was ingested, and the
rows of the warehouse that fall in the week (`rows_in_week`)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, or_, select

from models.operating_model import SOURCES
from models.results import Week
from models.warehouse import (
    ChangeEntry,
    FileWeek,
    IngestedFile,
    QuarantinedRow,
    ReviewFinding,
    Ticket,
    TicketLabel,
    TimesheetEntry,
    UsageSummary,
    WeekInputFile,
)

COUNT_KEYS = ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate", "rows_skipped")


def snapshot_week_inputs(conn: Connection, pilot: str, week: str) -> None:
    """Fix which files the week's report lists.

    The first run of a week takes every known file holding rows of the week; a later run of the
    same week adds only files it ingested itself. Files delivered for later weeks that happen to
    repeat rows of this week do not change an already reported week.
    """
    snap, weeks, files = WeekInputFile.__table__, FileWeek.__table__, IngestedFile.__table__
    existing = {
        r
        for (r,) in conn.execute(
            select(snap.c.file_id).where(snap.c.pilot == pilot, snap.c.week == week)
        )
    }
    candidates = select(weeks.c.file_id).where(weeks.c.pilot == pilot, weeks.c.week == week)
    if existing:
        candidates = candidates.join(files, files.c.id == weeks.c.file_id).where(
            files.c.first_seen_week == week
        )
    new = sorted({r for (r,) in conn.execute(candidates)} - existing)
    if new:
        conn.execute(snap.insert(), [{"pilot": pilot, "week": week, "file_id": f} for f in new])


def week_input_stats(
    conn: Connection, pilot: str, week: str, timezone: str | None = None
) -> dict[str, dict[str, Any]]:
    """Per source: files, summed counts, refused files and per-file detail for one week; with
    the pilot's `timezone`, also the rows of the warehouse in the week (`rows_in_week`)."""
    files, snap = IngestedFile.__table__, WeekInputFile.__table__
    in_week = select(snap.c.file_id).where(snap.c.pilot == pilot, snap.c.week == week)
    rows = conn.execute(
        select(files)
        .where(
            files.c.pilot == pilot,
            or_(
                files.c.id.in_(in_week),
                (files.c.status == "refused") & (files.c.first_seen_week == week),
            ),
        )
        .order_by(files.c.source, files.c.path, files.c.id)
    ).mappings()
    stats: dict[str, dict[str, Any]] = {
        s: {"files": 0, **dict.fromkeys(COUNT_KEYS, 0), "refused_files": [], "files_detail": []}
        for s in SOURCES
    }
    for row in rows:
        entry = stats[row["source"]]
        if row["status"] == "refused":
            entry["refused_files"].append({"file": row["path"], "reason": row["reason"]})
            continue
        entry["files"] += 1
        for key in COUNT_KEYS:
            entry[key] += row[key]
        entry["files_detail"].append({"file": row["path"], **{k: row[k] for k in COUNT_KEYS}})
    if timezone is not None:
        parsed = Week.parse(week, timezone)
        for source, count in rows_in_week(conn, pilot, parsed).items():
            stats[source]["rows_in_week"] = count
        stats["tickets"]["solved_without_solve_time"] = solved_without_solve_time(
            conn, pilot, parsed
        )
    return stats


def solved_without_solve_time(conn: Connection, pilot: str, week: Week) -> int:
    """Tickets created in the week that are solved or closed but have no solve time, neither in
    their row nor from a status change among their labels: no week can count them as a task."""
    ticket, label = Ticket.__table__, TicketLabel.__table__
    status_known = select(label.c.ticket_id).where(
        label.c.pilot == pilot, func.lower(label.c.name) == "status"
    )
    query = select(func.count()).where(
        ticket.c.pilot == pilot,
        ticket.c.created_at >= week.start,
        ticket.c.created_at < week.end,
        ticket.c.status.in_(("solved", "closed")),
        ticket.c.solved_at.is_(None),
        ticket.c.ticket_id.not_in(status_known),
    )
    return int(conn.execute(query).scalar_one())


def rows_in_week(conn: Connection, pilot: str, week: Week) -> dict[str, int]:
    """Per source, the stored rows that fall in the week (pilot timezone): calls by time,
    tickets by solve time else creation time, time entries by local date, findings and
    changes by time. Counted per row, whatever file it came from."""
    usage, ticket = UsageSummary.__table__, Ticket.__table__
    entry, review, change = (
        TimesheetEntry.__table__,
        ReviewFinding.__table__,
        ChangeEntry.__table__,
    )
    ticket_time = func.coalesce(ticket.c.solved_at, ticket.c.created_at)
    queries = {
        "usage": select(func.coalesce(func.sum(usage.c.calls), 0)).where(
            usage.c.pilot == pilot,
            usage.c.bucket_start >= week.start,
            usage.c.bucket_start < week.end,
        ),
        "tickets": select(func.count()).where(
            ticket.c.pilot == pilot, ticket_time >= week.start, ticket_time < week.end
        ),
        "timesheets": select(func.count()).where(
            entry.c.pilot == pilot,
            entry.c.work_date >= week.monday,
            entry.c.work_date <= week.sunday,
        ),
        "reviews": select(func.count()).where(
            review.c.pilot == pilot,
            review.c.reviewed_at >= week.start,
            review.c.reviewed_at < week.end,
        ),
        "changes": select(func.count()).where(
            change.c.pilot == pilot,
            change.c.changed_at >= week.start,
            change.c.changed_at < week.end,
        ),
    }
    return {source: int(conn.execute(query).scalar_one()) for source, query in queries.items()}


def week_quarantine(conn: Connection, pilot: str, week: str) -> list[dict[str, Any]]:
    """Quarantined rows of the files that hold rows of the week, by file and line."""
    q, snap = QuarantinedRow.__table__, WeekInputFile.__table__
    in_week = select(snap.c.file_id).where(snap.c.pilot == pilot, snap.c.week == week)
    rows = conn.execute(
        select(q.c.source, q.c.path, q.c.line, q.c.raw, q.c.reasons)
        .where(q.c.pilot == pilot, q.c.file_id.in_(in_week))
        .order_by(q.c.source, q.c.path, q.c.line)
    ).mappings()
    return [
        {**row, "reasons": json.loads(row["reasons"]), "raw": json.loads(row["raw"])}
        for row in rows
    ]
