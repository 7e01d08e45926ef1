"""The usage summaries: each loaded file's model calls summed per 15-minute UTC bucket, model,
prompt version, status and price source (table `usage_summary`), and per task, model, prompt
version, status and price source (`usage_task_summary`), each task row within one week of the
pilot, from its first bucket to its last.

The facts stage reads a week's usage from them instead of grouping millions of calls: the bucket
summary gives the calls per span, day and month and which files hold a span's calls; the task
summary gives the week's usage per task (one row per task and week however its calls are spread
in time, where the bucket summary with tasks had a row per call). Both must always equal a
GROUP BY of the calls each file holds in `usage_call`:
- a file whose keys are all new gets its summaries from its own rows (`FileSummary`, in
  polars), its task rows cut at the local week bounds of the pilot's timezone; a file read in
  slices merges each slice's summaries into the file's as the slice comes;
- when a file shares keys with rows already held (a newer or repeated export), the summaries of
  that file and of every file it shares keys with are recomputed from `usage_call` in SQL
  (`refresh`), since the upsert may have moved rows between them; SQL does not know the
  pilot's weeks, so those task rows are cut per bucket (as the migration that made the table).
A week (or month) boundary in any timezone with a whole-quarter-hour offset falls on a bucket
boundary, so summing buckets gives exactly the calls in the week; other boundaries (historic
local mean times) fall back to the calls themselves (`aligned`). A week is read from the task
rows that start in it when none of them crosses its bounds (`task_rows_fit`), which holds unless
the pilot's timezone changed since its files were loaded; else from the calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl
from sqlalchemy import ColumnElement, Connection, and_, or_, select

from models.warehouse import UsageCall, UsageSummary, UsageTaskSummary
from pipelines.warehouse.bulk import TableOf, insert_rows, insert_staged, stage_tables
from pipelines.warehouse.engine import Stage
from pipelines.warehouse.usage_summary_sql import (
    BUCKET_GROUP_COLUMNS,
    GROUP_COLUMNS,
    refresh_sql,
    refresh_task_sql,
)

BUCKET = dt.timedelta(minutes=15)


_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def aligned(*moments: dt.datetime) -> bool:
    """Whether every moment is a bucket boundary (then bucket sums are exact between them)."""
    return all(bucket_of(m) == m for m in moments)


# The longest a task row can span: one local week, with an hour put back in autumn.
LONGEST_TASK_ROW = dt.timedelta(days=7, hours=1)


def task_rows_fit(conn: Connection, pilot: str, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether the task summary rows that start in [start, end) hold exactly its calls: both
    bounds on buckets, and no task row from before or in the span running past a bound."""
    if not aligned(start, end):
        return False
    task = UsageTaskSummary.__table__
    crossing = (
        select(task.c.id)
        .where(
            task.c.pilot == pilot,
            task.c.first_bucket >= start - LONGEST_TASK_ROW,
            task.c.first_bucket < end,
            or_(
                and_(task.c.first_bucket < start, task.c.last_bucket >= start),
                task.c.last_bucket >= end,
            ),
        )
        .limit(1)
    )
    return conn.execute(crossing).first() is None


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
    """A file's bucket summary rows (`usage_summary`) from its `summarize`, or from bucket rows
    of parts of the file (those of its slices, which merge into the file's)."""
    return (
        summary.group_by("bucket_start", *BUCKET_GROUP_COLUMNS)
        .agg(pl.col("calls").sum(), pl.col("cost_usd").sum())
        .sort("bucket_start", *BUCKET_GROUP_COLUMNS, nulls_last=False)
    )


def task_rows(summary: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """A file's task summary rows (`usage_task_summary`) from its `summarize`, or from task
    rows of parts of the file (those of its slices, which merge into the file's): its buckets
    summed per task group and local week (Monday first) of the pilot's timezone."""
    if "bucket_start" in summary.columns:  # a bucket is a task row from it to itself
        summary = summary.rename({"bucket_start": "first_bucket"}).with_columns(
            pl.col("first_bucket").alias("last_bucket")
        )
    first = pl.col("first_bucket")
    local = first.dt.convert_time_zone(timezone).dt.replace_time_zone(None)
    return (
        summary.group_by(*GROUP_COLUMNS, local.dt.truncate("1w").alias("week"))
        .agg(
            first.min(),
            pl.col("last_bucket").max(),
            pl.col("calls").sum(),
            pl.col("cost_usd").sum(),
        )
        .drop("week")
        .sort("first_bucket", *GROUP_COLUMNS, nulls_last=False)
    )


@dataclass(frozen=True)
class FileSummary:
    """A usage file's rows of both summaries (without pilot and file id): `bucket_rows` and
    `task_rows` in the pilot's timezone."""

    buckets: pl.DataFrame
    tasks: pl.DataFrame

    @classmethod
    def of(cls, rows: pl.DataFrame, timezone: str) -> FileSummary:
        """The summaries of a file's usage rows (canonical columns, priced), or of a part."""
        summary = summarize(rows)
        return cls(bucket_rows(summary), task_rows(summary, timezone))

    @classmethod
    def of_parts(cls, parts: list[FileSummary], timezone: str) -> FileSummary:
        """The summaries of parts of one file (slices, or summaries of slices) as those of
        the parts together."""
        if len(parts) == 1:
            return parts[0]
        return cls(
            bucket_rows(pl.concat([p.buckets for p in parts])),
            task_rows(pl.concat([p.tasks for p in parts]), timezone),
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


def _staged_tables(summary: FileSummary) -> dict[str, tuple[TableOf, pl.DataFrame]]:
    """A file's summaries in its stage (`staged`): name -> (their table, their rows)."""
    return {
        "summary_buckets": (UsageSummary, summary.buckets),
        "summary_tasks": (UsageTaskSummary, summary.tasks),
    }


def staged(url: str, stage: Stage, summary: FileSummary) -> Stage:
    """The stage of a usage file's rows with its summaries added: the loading transaction then
    copies them in SQL (`store`) instead of inserting their rows one by one."""
    return stage_tables(url, stage, _staged_tables(summary))


def store(
    conn: Connection,
    pilot: str,
    file_id: int,
    shared_files: Iterable[int],
    summary: FileSummary | None = None,
    stage: Stage | None = None,
) -> None:
    """Write the summaries of a usage file whose rows were just upserted.

    `summary` is `FileSummary.of` the file's rows; it is right only when no row of the file
    met a key already held (`shared_files` empty). Otherwise, or without it, the file and the
    files it shares keys with are recomputed from the calls they hold. When `stage` holds the
    summary (`staged`), its rows are copied from there.
    """
    shared = set(shared_files)
    if shared or summary is None:
        refresh(conn, pilot, {file_id, *shared})
        return
    constants = {"pilot": pilot, "file_id": file_id}
    tables = _staged_tables(summary)
    if stage is not None and all(stage.schemas_holding(name) for name in tables):
        for name, (table, frame) in tables.items():
            insert_staged(conn, table, stage, name, frame, constants)
        return
    file_columns = [pl.lit(value).alias(name) for name, value in constants.items()]
    insert_rows(conn, UsageSummary, summary.buckets.with_columns(*file_columns))
    insert_rows(conn, UsageTaskSummary, summary.tasks.with_columns(*file_columns))
