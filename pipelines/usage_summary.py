"""The usage summaries: each loaded file's model calls summed per 15-minute UTC bucket, model,
prompt version, status and price source (table `usage_summary`), and per task, model, prompt
version, status and price source within each part of the UTC week (`usage_task_summary`).

The facts stage reads a week's usage from them instead of grouping millions of calls: the bucket
summary gives the calls per span, day and month and which files hold a span's calls; the task
summary gives the week's usage per task. Both must always equal a GROUP BY of the calls each
file holds in `usage_call`:
- a file whose keys are all new gets its summaries from its own rows (`summarize`, in polars);
- when a file shares keys with rows already held (a newer or repeated export), the summaries of
  that file and of every file it shares keys with are recomputed from `usage_call` in SQL
  (`refresh`), since the upsert may have moved rows between them.
A week (or month) boundary in any timezone with a whole-quarter-hour offset falls on a bucket
boundary, so summing buckets gives exactly the calls in the week; other boundaries (historic
local mean times) fall back to the calls themselves (`aligned`). A week boundary in such a
timezone also never falls inside a part of the task summary (`splits_parts`), so summing the
task rows whose part starts in the week gives exactly the week's usage per task; however the
calls are ordered in time, a task has one row per week plus one per bucket it has calls in
between Sunday 10:00 and Monday 12:00 UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl
from sqlalchemy import ColumnElement, Connection, and_, select

from models.warehouse import UsageCall, UsageSummary, UsageTaskSummary
from pipelines.warehouse.bulk import insert_rows
from pipelines.warehouse.usage_summary_sql import (
    BUCKET_GROUP_COLUMNS,
    GROUP_COLUMNS,
    PART_ORIGIN_EPOCH_S,
    PART_S,
    SPLIT_FROM_S,
    refresh_sql,
    refresh_task_sql,
)

BUCKET = dt.timedelta(minutes=15)


_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def aligned(*moments: dt.datetime) -> bool:
    """Whether every moment is a bucket boundary (then bucket sums are exact between them)."""
    return all(bucket_of(m) == m for m in moments)


def splits_parts(*moments: dt.datetime) -> bool:
    """Whether every moment is a boundary of the task summary's parts (then the task rows
    whose first bucket lies between two such moments hold exactly the calls between them):
    a bucket boundary from Sunday 10:00 to Monday 12:00 UTC, where local week bounds fall."""
    if not aligned(*moments):
        return False
    seconds = (int(m.timestamp()) - PART_ORIGIN_EPOCH_S for m in moments)
    return all(s % PART_S == 0 or s % PART_S >= SPLIT_FROM_S for s in seconds)


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
    """One file's usage rows (canonical columns, priced) summed per bucket and task group:
    what both summaries are summed from (`bucket_rows`, `task_rows`)."""
    return (
        rows.group_by(pl.col("timestamp").dt.truncate("15m").alias("bucket_start"), *GROUP_COLUMNS)
        .agg(
            pl.len().cast(pl.Int64).alias("calls"),
            pl.col("model_cost_usd").sum().alias("cost_usd"),
        )
        .sort("bucket_start", *GROUP_COLUMNS, nulls_last=False)
    )


def bucket_rows(summary: pl.DataFrame) -> pl.DataFrame:
    """A file's bucket summary rows (`usage_summary`) from its `summarize`."""
    return (
        summary.group_by("bucket_start", *BUCKET_GROUP_COLUMNS)
        .agg(pl.col("calls").sum(), pl.col("cost_usd").sum())
        .sort("bucket_start", *BUCKET_GROUP_COLUMNS, nulls_last=False)
    )


def task_rows(summary: pl.DataFrame) -> pl.DataFrame:
    """A file's task summary rows (`usage_task_summary`) from its `summarize`: its buckets
    summed per task group and part of the UTC week (the SQL of `refresh_task_sql`)."""
    bucket = pl.col("bucket_start")
    seconds = bucket.dt.epoch("s") - PART_ORIGIN_EPOCH_S
    return (
        summary.group_by(
            *GROUP_COLUMNS,
            (seconds // PART_S).alias("week_part"),
            pl.when(seconds % PART_S >= SPLIT_FROM_S).then(bucket).alias("split_bucket"),
        )
        .agg(
            bucket.min().alias("first_bucket"),
            bucket.max().alias("last_bucket"),
            pl.col("calls").sum(),
            pl.col("cost_usd").sum(),
        )
        .drop("week_part", "split_bucket")
        .sort("first_bucket", *GROUP_COLUMNS, nulls_last=False)
    )


def _mark(conn: Connection) -> str:
    """The driver's placeholder for one bound value (sqlite3: ?, psycopg: %s)."""
    return "?" if conn.dialect.name == "sqlite" else "%s"


def refresh(conn: Connection, pilot: str, file_ids: Iterable[int]) -> None:
    """Recompute both summaries of these files from the usage calls they hold now."""
    ids = sorted({int(i) for i in file_ids})
    if not ids:
        return
    listed = ", ".join(str(i) for i in ids)  # integers from the warehouse: safe to inline
    where = f"pilot = {_mark(conn)} AND file_id IN ({listed})"
    for table, sql in (("usage_summary", refresh_sql), ("usage_task_summary", refresh_task_sql)):
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE file_id IN ({listed})")
        conn.exec_driver_sql(sql(conn.dialect.name, where), (pilot,))


def store(
    conn: Connection,
    pilot: str,
    file_id: int,
    shared_files: Iterable[int],
    summary: pl.DataFrame | None = None,
) -> None:
    """Write the summaries of a usage file whose rows were just upserted.

    `summary` is `summarize` of the file's rows; it is right only when no row of the file met
    a key already held (`shared_files` empty). Otherwise, or without it, the file and the files
    it shares keys with are recomputed from the calls they hold.
    """
    shared = set(shared_files)
    if shared or summary is None:
        refresh(conn, pilot, {file_id, *shared})
        return
    file_columns = (pl.lit(pilot).alias("pilot"), pl.lit(file_id).alias("file_id"))
    insert_rows(conn, UsageSummary, bucket_rows(summary).with_columns(*file_columns))
    insert_rows(conn, UsageTaskSummary, task_rows(summary).with_columns(*file_columns))
