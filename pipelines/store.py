"""The store stage: one prepared file written to the warehouse (its record, rows, usage summary,
quarantine and weeks) inside the caller's transaction, so a file is wholly loaded or not at all."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, select

from models.results import Week
from models.warehouse import SOURCE_TABLES, FileWeek, IngestedFile, QuarantinedRow
from pipelines import usage_summary
from pipelines.prepare import InboxFile, PreparedFile
from pipelines.warehouse.bulk import Upserted, insert_rows, upsert_newest
from pipelines.warehouse.engine import Stage


def known_file(conn: Connection, pilot: str, file: InboxFile) -> IngestedFile | None:
    """The record of an already-ingested file with the same content, if any."""
    table = IngestedFile.__table__
    row = conn.execute(
        select(table).where(
            table.c.pilot == pilot, table.c.source == file.source, table.c.sha256 == file.sha256
        )
    ).first()
    return IngestedFile.model_validate(row._mapping) if row else None


def touch_rows(conn: Connection, pilot: str, known: IngestedFile, exported_at: dt.datetime) -> None:
    """Move the export time of rows still held from a known file forward to a newer export."""
    table = SOURCE_TABLES[known.target or known.source].__table__
    conn.execute(
        table.update()
        .where(
            table.c.pilot == pilot,
            table.c.file_id == known.id,
            table.c.exported_at < exported_at,
        )
        .values(exported_at=exported_at)
    )


def store_prepared_file(
    conn: Connection,
    pilot: str,
    prepared: PreparedFile,
    run_week: Week,
    now_utc: dt.datetime,
    staged: Stage | None = None,
    summary: usage_summary.FileSummary | None = None,
    staged_rows: int | None = None,
) -> IngestedFile:
    """Write one prepared file and return its record with the counts.

    `staged`: the file's rows, staged and attached to this transaction (`bulk.stage_rows`).
    `summary`: a usage file's summaries (`usage_summary.FileSummary`), when the caller has them.
    `staged_rows`: how many rows are staged when `prepared.valid` does not hold them (a file
    read in slices, staged slice by slice).
    """
    file_id, record = open_file(conn, pilot, prepared, run_week, now_utc)
    if prepared.refused:
        return IngestedFile(id=file_id, **record)
    rows = prepared.valid.drop("__line__") if staged_rows is None else prepared.valid.head(0)
    upserted = store_rows(conn, pilot, prepared, file_id, rows, staged, staged_rows)
    store_quarantine(conn, pilot, prepared.file, file_id, prepared.quarantined)
    if (prepared.target or prepared.file.source) == "usage" and summary is None and not staged:
        summary = usage_summary.FileSummary.of(prepared.valid, run_week.timezone)
    return close_file(conn, pilot, prepared, file_id, record, upserted, run_week, staged, summary)


def open_file(
    conn: Connection, pilot: str, prepared: PreparedFile, run_week: Week, now_utc: dt.datetime
) -> tuple[int, dict[str, Any]]:
    """Insert a file's record (its counts follow in `close_file`); returns its id and record."""
    file = prepared.file
    record = {
        "pilot": pilot,
        "source": file.source,
        "path": file.relative_path,
        "sha256": file.sha256,
        "format": prepared.format,
        "adapter": prepared.adapter,
        "target": prepared.target or file.source,
        "exported_at": file.exported_at,
        "ingested_at": now_utc.replace(microsecond=0),
        "first_seen_week": run_week.label,
        "status": "deferred" if prepared.deferred else "refused" if prepared.refused else "loaded",
        "reason": prepared.refused,
        "rows_read": prepared.rows_read,
    }
    table = IngestedFile.__table__
    file_id = conn.execute(table.insert().values(record).returning(table.c.id)).scalar_one()
    return file_id, record


def store_rows(
    conn: Connection,
    pilot: str,
    prepared: PreparedFile,
    file_id: int,
    rows: pl.DataFrame,
    staged: Stage | None = None,
    staged_rows: int | None = None,
) -> Upserted:
    """Upsert valid rows of a file (all of them, or one slice; `rows` without `__line__`), or
    its staged rows (`staged`, `staged_rows` of them)."""
    file = prepared.file
    return upsert_newest(
        conn,
        SOURCE_TABLES[prepared.target or file.source],
        rows,
        staged,
        # The same on every row of a file: written as constants, not staged row by row.
        {"file_id": file_id, "pilot": pilot, "exported_at": file.exported_at},
        staged_rows,
    )


def store_quarantine(
    conn: Connection, pilot: str, file: InboxFile, file_id: int, quarantined: pl.DataFrame
) -> None:
    """Write quarantined rows of a file (`__line__`, raw, reasons), all of them or one slice's."""
    if quarantined.height == 0:
        return
    quarantine = quarantined.select(
        pl.lit(pilot).alias("pilot"),
        pl.lit(file.source).alias("source"),
        pl.lit(file_id).alias("file_id"),
        pl.lit(file.relative_path).alias("path"),
        pl.col("__line__").cast(pl.Int64).alias("line"),
        pl.col("raw"),
        pl.col("reasons").map_elements(lambda r: json.dumps(list(r)), return_dtype=pl.String),
    )
    insert_rows(conn, QuarantinedRow, quarantine)


def close_file(
    conn: Connection,
    pilot: str,
    prepared: PreparedFile,
    file_id: int,
    record: dict[str, Any],
    upserted: Upserted,
    run_week: Week,
    staged: Stage | None = None,
    summary: usage_summary.FileSummary | None = None,
    quarantined_rows: int | None = None,
) -> IngestedFile:
    """Finish a file whose rows and quarantine are written: its usage summaries (from
    `summary`, or from its calls when there is none), its weeks and its counts (`prepared`
    gives all but the upsert's, and the quarantined rows unless `quarantined_rows` says how
    many were written slice by slice)."""
    file = prepared.file
    loaded, duplicate, shared_files = upserted
    if (prepared.target or file.source) == "usage":
        usage_summary.store(conn, pilot, file_id, shared_files, summary, staged)
    weeks = prepared.weeks or [arrival_week(file, run_week)]
    insert_rows(
        conn,
        FileWeek,
        pl.DataFrame(
            {
                "file_id": [file_id] * len(weeks),
                "week": weeks,
                "pilot": [pilot] * len(weeks),
                "rows": [prepared.week_rows.get(w, 0) for w in weeks],
            }
        ),
    )
    counts = {
        "rows_loaded": loaded,
        "rows_quarantined": prepared.quarantined.height
        if quarantined_rows is None
        else quarantined_rows,
        "rows_duplicate": duplicate + prepared.rows_duplicate_in_file,
        "rows_skipped": prepared.rows_skipped,
    }
    table = IngestedFile.__table__
    conn.execute(table.update().where(table.c.id == file_id).values(counts))
    return IngestedFile(id=file_id, **record, **counts)


def arrival_week(file: InboxFile, run_week: Week) -> str:
    """The week a file none of whose rows has a usable date belongs to: the week of its export
    time, or the run's week for a file exported after it (a Monday export of last week's rows).
    So the file, its counts and its quarantined rows appear in a report, never in none."""
    exported = Week.of_day(
        file.exported_at.astimezone(ZoneInfo(run_week.timezone)).date(), run_week.timezone
    ).label
    return min(exported, run_week.label)


def known(conn: Connection, pilot: str, file: InboxFile) -> bool:
    """Whether the file's bytes are already stored; a known file re-exported later under another
    name moves its rows' export time forward."""
    record = known_file(conn, pilot, file)
    if record is None:
        return False
    if record.status == "loaded" and record.path != file.relative_path:
        # The same bytes exported again later under another name: its rows are as new as that
        # export, so an older export arriving later cannot win.
        touch_rows(conn, pilot, record, file.exported_at)
    return True
