"""The `inputs` block of a week's report: per source, the files holding rows of the week and the
files refused (or left for a later run: hidden, or changed while read) when the week ran, with
the counts recorded when each file was ingested, and the rows of the warehouse that fall in the
week (`rows_in_week`)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, or_, select

from models.operating_model import SOURCES
from models.results import Week
from models.warehouse import (
    FileWeek,
    IngestedFile,
    QuarantinedRow,
    Ticket,
    TicketLabel,
    WeekInputFile,
)
from pipelines.prepare import CHANGED_REASON

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
                files.c.status.in_(("refused", "deferred")) & (files.c.first_seen_week == week),
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
        if row["status"] in ("refused", "deferred"):
            entry["refused_files"].append({"file": row["path"], "reason": row["reason"]})
            continue
        entry["files"] += 1
        for key in COUNT_KEYS:
            entry[key] += row[key]
        entry["files_detail"].append({"file": row["path"], **{k: row[k] for k in COUNT_KEYS}})
    for entry in stats.values():
        # A file left for a later run (changed while read) that a later run of the week loaded.
        loaded = {f["file"] for f in entry["files_detail"]}
        entry["refused_files"] = [
            f
            for f in entry["refused_files"]
            if not (f["reason"] == CHANGED_REASON and f["file"] in loaded)
        ]
    if timezone is not None:
        for source, count in rows_in_week(conn, pilot, week).items():
            stats[source]["rows_in_week"] = count
        stats["tickets"]["solved_without_solve_time"] = solved_without_solve_time(
            conn, pilot, Week.parse(week, timezone)
        )
    return stats


def rows_in_week(conn: Connection, pilot: str, week: str) -> dict[str, int]:
    """Per source, the loaded rows in the week of the files the week's report lists (as each
    file counted them when it was stored), so a later export does not change a reported week.
    Files whose rows went to another table (provider bills, ticket labels) count none."""
    files, weeks, snap = IngestedFile.__table__, FileWeek.__table__, WeekInputFile.__table__
    in_week = select(snap.c.file_id).where(snap.c.pilot == pilot, snap.c.week == week)
    query = (
        select(files.c.source, func.coalesce(func.sum(weeks.c.rows), 0))
        .join(weeks, weeks.c.file_id == files.c.id)
        .where(
            files.c.pilot == pilot,
            files.c.id.in_(in_week),
            weeks.c.week == week,
            files.c.target == files.c.source,
        )
        .group_by(files.c.source)
    )
    counts = dict.fromkeys(SOURCES, 0)
    counts.update({source: int(n) for source, n in conn.execute(query)})
    return counts


def solved_without_solve_time(conn: Connection, pilot: str, week: Week) -> int:
    """Tickets created in the week, stored from a file the week's report lists, that are solved
    or closed but have no solve time, neither in their row nor from a status change among their
    labels: no week can count them as a task."""
    ticket, label = Ticket.__table__, TicketLabel.__table__
    snap = WeekInputFile.__table__
    listed = select(snap.c.file_id).where(snap.c.pilot == pilot, snap.c.week == week.label)
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
        ticket.c.file_id.in_(listed),
    )
    return int(conn.execute(query).scalar_one())


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
