"""The usage summary: each loaded file's model calls summed per 15-minute UTC bucket, task, model,
prompt version, status and price source (table `usage_summary`).

The facts stage reads a week's usage from it instead of grouping millions of calls. It must always
equal a GROUP BY of the calls each file holds in `usage_call`:
- a file whose keys are all new gets its summary from its own rows (`summarize`, in polars);
- when a file shares keys with rows already held (a newer or repeated export), the summaries of
  that file and of every file it shares keys with are recomputed from `usage_call` in SQL
  (`refresh`), since the upsert may have moved rows between them.
A week (or month) boundary in any timezone with a whole-quarter-hour offset falls on a bucket
boundary, so summing buckets gives exactly the calls in the week; other boundaries (historic
local mean times) fall back to the calls themselves (`aligned`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl
from sqlalchemy import ColumnElement, Connection, and_, select

from models.warehouse import UsageCall, UsageSummary
from pipelines.warehouse.bulk import insert_rows
from pipelines.warehouse.usage_summary_sql import GROUP_COLUMNS, refresh_sql

BUCKET = dt.timedelta(minutes=15)


_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def aligned(*moments: dt.datetime) -> bool:
    """Whether every moment is a bucket boundary (then bucket sums are exact between them)."""
    return all(bucket_of(m) == m for m in moments)


def bucket_of(moment: dt.datetime) -> dt.datetime:
    """The start of the bucket holding a moment (UTC)."""
    moment = moment.astimezone(dt.UTC)
    return moment - (moment - _EPOCH) % BUCKET


def calls_between(pilot: str, start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
    """Where a pilot's usage calls in [start, end) are: in the files whose summary has a bucket
    of the span, at those times. Calls have no time index (a random insert per call); the files
    are found in the summary and their calls through the file index."""
    calls, summary = UsageCall.__table__, UsageSummary.__table__
    files = (
        select(summary.c.file_id)
        .where(
            summary.c.pilot == pilot,
            summary.c.bucket_start >= bucket_of(start),
            summary.c.bucket_start < end,
        )
        .distinct()
    )
    # No `pilot =` on the calls: a file holds one pilot's calls, and SQLite would then walk
    # the pilot's whole key index instead of the few files.
    return and_(calls.c.file_id.in_(files), calls.c.timestamp >= start, calls.c.timestamp < end)


def summarize(rows: pl.DataFrame) -> pl.DataFrame:
    """One file's usage rows (canonical columns, priced) summed per bucket and group."""
    return (
        rows.group_by(pl.col("timestamp").dt.truncate("15m").alias("bucket_start"), *GROUP_COLUMNS)
        .agg(
            pl.len().cast(pl.Int64).alias("calls"),
            pl.col("model_cost_usd").sum().alias("cost_usd"),
        )
        .sort("bucket_start", *GROUP_COLUMNS, nulls_last=False)
    )


def _mark(conn: Connection) -> str:
    """The driver's placeholder for one bound value (sqlite3: ?, psycopg: %s)."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def refresh(conn: Connection, pilot: str, file_ids: Iterable[int]) -> None:
    """Recompute the summaries of these files from the usage calls they hold now."""
    ids = sorted({int(i) for i in file_ids})
    if not ids:
        return
    listed = ", ".join(str(i) for i in ids)  # integers from the warehouse: safe to inline
    conn.exec_driver_sql(f"DELETE FROM usage_summary WHERE file_id IN ({listed})")
    conn.exec_driver_sql(
        refresh_sql(conn.dialect.name, f"pilot = {_mark(conn)} AND file_id IN ({listed})"),
        (pilot,),
    )


def store(
    conn: Connection,
    pilot: str,
    file_id: int,
    shared_files: Iterable[int],
    summary: pl.DataFrame | None = None,
    staged: str | None = None,
) -> None:
    """Write the summary of a usage file whose rows were just upserted.

    The summary is `summarize` of the file's rows, given as a frame or as a `staged` copy.
    Both are right only when no row of the file met a key already held (`shared_files` empty);
    otherwise the file and the files it shares keys with are recomputed from the calls they hold.
    """
    shared = set(shared_files)
    if shared:
        refresh(conn, pilot, {file_id, *shared})
        return
    if staged is None:
        assert summary is not None
        insert_rows(
            conn,
            UsageSummary,
            summary.with_columns(pl.lit(pilot).alias("pilot"), pl.lit(file_id).alias("file_id")),
        )
        return
    columns = ", ".join(("bucket_start", *GROUP_COLUMNS, "calls", "cost_usd"))
    conn.exec_driver_sql(
        f"INSERT INTO usage_summary (pilot, file_id, {columns}) "
        f"SELECT {_mark(conn)}, {int(file_id)}, {columns} FROM {staged} AS s",
        (pilot,),
    )
