"""Loading prepared files into the warehouse: file record, rows, quarantine and weeks, in one
transaction per file, so a file is either wholly loaded or not at all."""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, select

import checks.validate
from models.db import (
    Stage,
    WarehouseError,
    drop_stage,
    finish_checkpoints,
    insert_rows,
    stage_rows,
    transaction,
    upsert_newest,
)
from models.operating_model import OperatingModel
from models.warehouse import SOURCE_TABLES, FileWeek, IngestedFile, QuarantinedRow, UsageSummary
from pipelines import usage_summary
from pipelines.ingest import InboxFile, PreparedFile, list_inbox, prepare_file

log = logging.getLogger(__name__)
SUMMARY = "usage_summary"  # the staged usage summary's table in a stage


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
    run_week: str,
    now_utc: dt.datetime,
    staged: Stage | None = None,
    summary: pl.DataFrame | None = None,
) -> IngestedFile:
    """Write one prepared file and return its record with the counts.

    `staged`: the file's rows, staged and attached to this transaction (`models.db.stage_rows`).
    `summary`: a usage file's `usage_summary.summarize`, when the caller already has it.
    """
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
        "first_seen_week": run_week,
        "status": "refused" if prepared.refused else "loaded",
        "reason": prepared.refused,
        "rows_read": prepared.rows_read,
    }
    table = IngestedFile.__table__
    file_id = conn.execute(table.insert().values(record).returning(table.c.id)).scalar_one()
    if prepared.refused:
        return IngestedFile(id=file_id, **record)

    target = prepared.target or file.source
    loaded, duplicate, shared_files = upsert_newest(
        conn,
        SOURCE_TABLES[target],
        prepared.valid.drop("__line__"),
        staged.source() if staged else None,
        # The same on every row of a file: written as constants, not staged row by row.
        {"file_id": file_id, "pilot": pilot, "exported_at": file.exported_at},
    )
    if target == "usage":
        if staged:
            usage_summary.store(conn, pilot, file_id, shared_files, staged=staged.source(SUMMARY))
        else:
            if summary is None:
                summary = usage_summary.summarize(prepared.valid)
            usage_summary.store(conn, pilot, file_id, shared_files, summary=summary)
    quarantine = prepared.quarantined.select(
        pl.lit(pilot).alias("pilot"),
        pl.lit(file.source).alias("source"),
        pl.lit(file_id).alias("file_id"),
        pl.lit(file.relative_path).alias("path"),
        pl.col("__line__").cast(pl.Int64).alias("line"),
        pl.col("raw"),
        pl.col("reasons").map_elements(lambda r: json.dumps(list(r)), return_dtype=pl.String),
    )
    insert_rows(conn, QuarantinedRow, quarantine)
    insert_rows(
        conn,
        FileWeek,
        pl.DataFrame(
            {
                "file_id": [file_id] * len(prepared.weeks),
                "week": prepared.weeks,
                "pilot": [pilot] * len(prepared.weeks),
            }
        ),
    )
    counts = {
        "rows_loaded": loaded,
        "rows_quarantined": prepared.quarantined.height,
        "rows_duplicate": duplicate + prepared.rows_duplicate_in_file,
    }
    conn.execute(table.update().where(table.c.id == file_id).values(counts))
    return IngestedFile(id=file_id, **record, **counts)


def ingest_inbox(
    db_url: str,
    model: OperatingModel,
    inbox: Path,
    run_week: str,
    now_utc: dt.datetime | None = None,
) -> list[IngestedFile]:
    """Ingest every new file of the inbox, each in its own transaction; skip known files.

    The next files are read and checked in a worker thread while the current one loads (the
    database works without the GIL). Returns the records of the files ingested by this call,
    in inbox order (known files are not repeated).
    """
    now_utc = now_utc or dt.datetime.now(dt.UTC)
    listed = list_inbox(inbox)
    files = [f for f in load_order(listed) if not _skip_known(db_url, model.pilot, f)]
    # The checks' library loads while the first file is read.
    warm_up = threading.Thread(target=checks.validate.warm_up, name="warm-up", daemon=True)
    if files:
        warm_up.start()
    ingested: list[IngestedFile] = []
    for prepared in prepared_in_order(files, model, now_utc):
        record = _load(db_url, model.pilot, prepared, run_week, now_utc)
        if record is not None:
            ingested.append(record)
    finish_checkpoints()  # the warehouse file is complete when the ingest returns
    if files:  # no import is left running (all files may have been refused before any check)
        warm_up.join()
    position = {f.relative_path: n for n, f in enumerate(listed)}
    return sorted(ingested, key=lambda r: position[r.path])


# Rows the worker may hold prepared beyond the file being loaded: enough for the smaller sources
# of a large week to be read while its usage loads, without holding two large files at once.
READ_AHEAD_ROWS = 1_000_000


def prepared_in_order(
    files: list[InboxFile], model: OperatingModel, now_utc: dt.datetime
) -> Iterator[PreparedFile]:
    """The files read, adapted and checked in order by a worker thread, which reads ahead of the
    caller while the rows prepared but not yet taken stay under READ_AHEAD_ROWS (the next file
    is always prepared once the caller has taken the previous ones)."""
    ready: queue.Queue[PreparedFile | BaseException] = queue.Queue()
    room = threading.Condition()
    ahead = 0  # rows prepared and not yet taken
    stopping = False

    def may_go_on() -> bool:
        return stopping or ahead < READ_AHEAD_ROWS

    def work() -> None:
        nonlocal ahead
        try:
            for file in files:
                with room:
                    room.wait_for(may_go_on)
                    if stopping:
                        return
                prepared = _prepare(file, model, now_utc)
                with room:
                    ahead += prepared.rows_read
                ready.put(prepared)
        except BaseException as exc:  # surfaces in the caller, never lost with the thread
            ready.put(exc)

    worker = threading.Thread(target=work, name="prepare", daemon=True)
    worker.start()
    try:
        for _ in files:
            item = ready.get()
            if isinstance(item, BaseException):
                raise item
            with room:
                ahead -= item.rows_read
                room.notify()
            yield item
    finally:
        with room:
            stopping = True
            room.notify()
        worker.join()


def load_order(files: list[InboxFile]) -> list[InboxFile]:
    """The sources with the most bytes first, each source's files in inbox (export) order.

    Only files of one source can replace each other's rows, so their order is kept; putting the
    largest load first lets the smaller files be read and checked while it loads.
    """
    size: dict[str, int] = {}
    for f in files:
        size[f.source] = size.get(f.source, 0) + _bytes(f)
    return sorted(files, key=lambda f: -size[f.source])  # stable: keeps the order within


def _bytes(file: InboxFile) -> int:
    if file.outside_inbox:
        return 0
    try:
        return file.path.stat().st_size
    except OSError:  # gone since it was listed: its reading will say so
        return 0


def _skip_known(db_url: str, pilot: str, file: InboxFile) -> bool:
    """Whether the file's bytes are already ingested (then a newer export time moves on)."""
    with transaction(db_url) as conn:
        return _known(conn, pilot, file)


def _known(conn: Connection, pilot: str, file: InboxFile) -> bool:
    known = known_file(conn, pilot, file)
    if known is None:
        return False
    if known.status == "loaded" and known.path != file.relative_path:
        # The same bytes exported again later under another name: its rows are as new as that
        # export, so an older export arriving later cannot win.
        touch_rows(conn, pilot, known, file.exported_at)
    return True


def _prepare(file: InboxFile, model: OperatingModel, now_utc: dt.datetime) -> PreparedFile:
    try:
        return prepare_file(file, model, now_utc)
    except (Exception, pl.exceptions.PanicException) as exc:  # a bad file never stops the run
        reason = f"could not be processed ({type(exc).__name__}: {str(exc)[:300]})"
        return PreparedFile(file, None, reason)


def _load(
    db_url: str, pilot: str, prepared: PreparedFile, run_week: str, now_utc: dt.datetime
) -> IngestedFile | None:
    """Store one prepared file in its own transaction; None when it is not stored now."""
    file = prepared.file
    if not file.outside_inbox and not file.unchanged_since_listed():
        # Re-exported while we read it: what we read may be half a file. The next run
        # ingests the finished file under its own checksum.
        log.warning("%s changed while being read; it is left for the next run", file.relative_path)
        return None
    staged, summary = None, None
    try:
        if not prepared.refused:
            target = prepared.target or file.source
            if target == "usage":
                summary = usage_summary.summarize(prepared.valid)
            also = {SUMMARY: (UsageSummary, summary)} if summary is not None else None
            staged = stage_rows(db_url, SOURCE_TABLES[target], prepared.valid, also)
        with transaction(db_url, attach=staged) as conn:
            if _known(conn, pilot, file):
                return None  # the same bytes were stored meanwhile (by this run or another)
            return store_prepared_file(conn, pilot, prepared, run_week, now_utc, staged, summary)
    except WarehouseError:
        raise  # the warehouse itself is down or locked: the run must stop
    except Exception as exc:  # the rows could not be stored: refuse the file, keep going
        reason = f"could not be stored ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})"
        with transaction(db_url) as conn:
            refused = PreparedFile(file, prepared.format, reason, rows_read=prepared.rows_read)
            return store_prepared_file(conn, pilot, refused, run_week, now_utc)
    finally:
        if staged is not None:
            drop_stage(staged)
