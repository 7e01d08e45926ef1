"""Ingest: every new file of a pilot's inbox read and adapted (`pipelines.prepare`), checked
(`checks.validate`), and stored (`pipelines.store`), each file in its own transaction.

Plain functions: the flow's ingest task wraps `ingest_inbox`; `check` runs `prepare_file` alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from checks import validate
from flows.progress import FileProgress, OnFileProgress
from models.operating_model import OperatingModel
from models.results import Week
from models.warehouse import SOURCE_TABLES, IngestedFile, UsageSummary
from pipelines import usage_summary
from pipelines.prepare import (
    CHANGED_REASON,
    InboxFile,
    PreparedFile,
    finish_prepared,
    list_inbox,
    read_canonical,
)
from pipelines.store import SUMMARY, known, store_prepared_file
from pipelines.threads import join_or_warn
from pipelines.warehouse.bulk import drop_stage, stage_rows
from pipelines.warehouse.engine import WarehouseError, finish_checkpoints, transaction

log = logging.getLogger(__name__)


def prepare_file(
    file: InboxFile,
    operating_model: OperatingModel,
    now_utc: dt.datetime | None = None,
    progress: OnFileProgress | None = None,
) -> PreparedFile:
    """Read, adapt, type, de-duplicate, check and price one inbox file. Never raises for bad
    input: the file comes back refused, or its bad rows quarantined, with every reason.
    `progress` hears the rows checked so far, from 0 once the file is read."""
    read = read_canonical(file, operating_model)
    if isinstance(read, PreparedFile):
        return read  # refused before its rows could be checked
    on_rows_checked = None
    if progress is not None:
        total = read.canonical.height

        def on_rows_checked(rows: int) -> None:
            progress(FileProgress(file.relative_path, "checking", rows, total))

        on_rows_checked(0)
    checked = validate.validate_batch(
        read.target,
        read.canonical,
        now_utc,
        unknown_allowed=read.unknown_allowed,
        on_rows_checked=on_rows_checked,
    )
    return finish_prepared(read, checked, operating_model)


def ingest_inbox(
    db_url: str,
    operating_model: OperatingModel,
    inbox: Path,
    run_week: Week,
    now_utc: dt.datetime | None = None,
    progress: OnFileProgress | None = None,
) -> list[IngestedFile]:
    """Ingest every new file of the inbox, each in its own transaction; skip known files.
    `run_week` is the week the run is for: a file first seen now is recorded as delivered for it.
    `progress` hears each file's rows as they are checked (from the worker thread) and stored.

    The next files are read and checked in a worker thread while the current one loads (the
    database works without the GIL). Returns the records of the files ingested by this call,
    in inbox order (known files are not repeated).
    """
    now_utc = now_utc or dt.datetime.now(dt.UTC)
    listed = list_inbox(inbox)
    files = [f for f in load_order(listed) if not _skip_known(db_url, operating_model.pilot, f)]
    # The checks' library loads while the first file is read.
    warm_up = threading.Thread(target=validate.warm_up, name="warm-up", daemon=True)
    if files:
        warm_up.start()
    ingested: list[IngestedFile] = []
    for prepared in prepared_in_order(files, operating_model, now_utc, progress):
        rows = prepared.rows_read
        if progress is not None:
            progress(FileProgress(prepared.file.relative_path, "storing", 0, rows))
        record = _load(db_url, operating_model.pilot, prepared, run_week, now_utc)
        if record is not None:
            ingested.append(record)
        if progress is not None:
            progress(FileProgress(prepared.file.relative_path, "stored", rows, rows))
    finish_checkpoints()  # the warehouse file is complete when the ingest returns
    if files:  # no import is left running (all files may have been refused before any check)
        join_or_warn(warm_up)
    position = {f.relative_path: n for n, f in enumerate(listed)}
    return sorted(ingested, key=lambda r: position[r.path])


# Rows the worker may hold prepared beyond the file being loaded: enough for the smaller sources
# of a large week to be read while its usage loads, without holding two large files at once.
READ_AHEAD_ROWS = 1_000_000


def prepared_in_order(
    files: list[InboxFile],
    operating_model: OperatingModel,
    now_utc: dt.datetime,
    progress: OnFileProgress | None = None,
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
                prepared = prepare_or_refuse(file, operating_model, now_utc, progress)
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
        join_or_warn(worker)


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
        return known(conn, pilot, file)


def prepare_or_refuse(
    file: InboxFile,
    operating_model: OperatingModel,
    now_utc: dt.datetime | None = None,
    progress: OnFileProgress | None = None,
) -> PreparedFile:
    """`prepare_file`, with any failure of it (a reader's RecursionError, a polars panic) turned
    into a refused file with the reason: what `run` and `check` both use."""
    try:
        return prepare_file(file, operating_model, now_utc, progress)
    except (Exception, pl.exceptions.PanicException) as exc:  # a bad file never stops the run
        reason = f"could not be processed ({type(exc).__name__}: {str(exc)[:300]})"
        return PreparedFile(file, None, reason)


def _load(
    db_url: str, pilot: str, prepared: PreparedFile, run_week: Week, now_utc: dt.datetime
) -> IngestedFile | None:
    """Store one prepared file in its own transaction; None when it is not stored now."""
    file = prepared.file
    if not file.outside_inbox and not file.unchanged_since_listed():
        # Re-exported while we read it: what we read may be half a file. The next run
        # ingests the finished file under its own checksum; this one lists it with the reason.
        log.warning("%s changed while being read; it is left for the next run", file.relative_path)
        prepared = PreparedFile(file.deferred(), None, CHANGED_REASON, deferred=True)
        file = prepared.file
    staged, summary = None, None
    try:
        if not prepared.refused:
            target = prepared.target or file.source
            if target == "usage":
                summary = usage_summary.summarize(prepared.valid)
            also = {SUMMARY: (UsageSummary, summary)} if summary is not None else None
            staged = stage_rows(db_url, SOURCE_TABLES[target], prepared.valid, also)
        with transaction(db_url, attach=staged) as conn:
            if known(conn, pilot, file):
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
