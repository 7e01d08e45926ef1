"""Ingest: every new file of a pilot's inbox read and adapted (`pipelines.prepare`), checked
(`checks.validate`), and stored (`pipelines.store`), each file in its own transaction.

Plain functions: the flow's ingest task wraps `ingest_inbox`; `check` runs `prepare_file` alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import polars as pl

from checks import validate
from flows.progress import FileProgress, OnFileProgress
from models.operating_model import OperatingModel
from models.results import Week
from models.sources import SPECS
from models.warehouse import SOURCE_TABLES, IngestedFile
from pipelines import slices, usage_summary
from pipelines.prepare import (
    CHANGED_REASON,
    InboxFile,
    PreparedFile,
    finish_prepared,
    list_inbox,
    read_canonical,
)
from pipelines.read import LINE
from pipelines.slices import SlicePlan
from pipelines.store import (
    close_file,
    known,
    open_file,
    store_prepared_file,
    store_quarantine,
    store_rows,
)
from pipelines.threads import join_or_warn
from pipelines.usage_summary import FileSummary
from pipelines.warehouse.bulk import Upserted, can_stage, drop_stage, stage_rows, stage_slice
from pipelines.warehouse.engine import Stage, WarehouseError, finish_checkpoints, transaction

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
    database works without the GIL); on SQLite each file's rows are staged, then stored by a
    committing thread while the next file is read, checked and staged (`_Commits`). Returns
    the records of the files ingested by this call, in inbox order (known files are not
    repeated).
    """
    now_utc = now_utc or dt.datetime.now(dt.UTC)
    listed = list_inbox(inbox)
    files = [f for f in load_order(listed) if not _skip_known(db_url, operating_model.pilot, f)]
    # The checks' library loads while the first file is read.
    warm_up = threading.Thread(target=validate.warm_up, name="warm-up", daemon=True)
    if files:
        warm_up.start()
    budget = ReadAhead()
    with _Commits(background=can_stage(db_url), progress=progress) as commits:
        for prepared in prepared_in_order(files, operating_model, now_utc, progress, budget):
            name, rows = prepared.file.relative_path, prepared.rows_read
            if isinstance(prepared, SlicePlan):
                ready = _load_sliced(
                    db_url, operating_model, prepared, run_week, now_utc, progress,
                    budget.slices_read,
                )  # fmt: skip
            else:
                if progress is not None:
                    progress(FileProgress(name, "storing", 0, rows))
                ready = _staged_file(db_url, operating_model.pilot, prepared, run_week, now_utc)
            del prepared  # a large file's rows are let go before the next file is taken
            commits.submit(ready, FileProgress(name, "stored", rows, rows))
    ingested = [record for record in commits.records if record is not None]
    finish_checkpoints()  # the warehouse file is complete when the ingest returns
    if files:  # no import is left running (all files may have been refused before any check)
        join_or_warn(warm_up)
    position = {f.relative_path: n for n, f in enumerate(listed)}
    return sorted(ingested, key=lambda r: position[r.path])


@dataclass
class _Ready:
    """A file ready for its transaction: `store` writes it into the warehouse (its rows staged
    beforehand, or held by it) and returns its record, or None when it is not stored now.
    `stage`: the scratch files of its rows, deleted once it has run or when it never runs."""

    store: Callable[[], IngestedFile | None]
    stage: Stage | None = None

    def __call__(self) -> IngestedFile | None:
        try:
            return self.store()
        finally:
            self.discard()

    def discard(self) -> None:
        if self.stage is not None:
            drop_stage(self.stage)
            self.stage = None


class _Commits:
    """The files' transactions, one after another in file order (a later export of the same rows
    must be stored after the earlier one). With `background` (a SQLite warehouse, whose loads
    are staged) they run in a thread of their own, so the next file is read, checked and staged
    while the rows of the one before go into the warehouse; at most one waits behind the one
    running. Else each runs when submitted. `records` holds their results, in order."""

    def __init__(self, background: bool, progress: OnFileProgress | None = None) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="commit") if background else None
        self._progress = progress
        self._running: list[tuple[Future[IngestedFile | None], _Ready]] = []
        self.records: list[IngestedFile | None] = []

    def __enter__(self) -> _Commits:
        return self

    def submit(self, ready: _Ready, stored: FileProgress) -> None:
        """Store the file now, or queue it behind the one being stored; either way the first
        failure of a transaction before it (the warehouse down) is raised here."""
        if self._pool is None:
            self.records.append(self._stored(ready, stored))
            return
        while len(self._running) > 1:  # at most one waits behind the one running
            self._take_first()
        self._running.append((self._pool.submit(self._stored, ready, stored), ready))

    def _stored(self, ready: _Ready, stored: FileProgress) -> IngestedFile | None:
        record = ready()
        if self._progress is not None:
            self._progress(stored)
        return record

    def _take_first(self) -> None:
        future, _ = self._running.pop(0)
        self.records.append(future.result())

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if self._pool is None:
            return
        try:
            if kind is None:
                while self._running:
                    self._take_first()
        finally:
            for future, ready in self._running:  # after a failure: what never ran is dropped
                if future.cancel():
                    ready.discard()
            self._pool.shutdown(wait=True)


# Rows the worker may hold prepared beyond the file being loaded: enough for the smaller sources
# of a large week to be read while its usage loads, without holding two large files at once.
READ_AHEAD_ROWS = 1_000_000


class ReadAhead:
    """The rows the prepare worker holds ahead of the caller, against READ_AHEAD_ROWS. A file
    read in slices holds the whole budget from when it is taken until its last slice is read
    (`slices_read`): the next files are then prepared while its rows are stored."""

    def __init__(self) -> None:
        self.room = threading.Condition()
        self.ahead = 0  # rows prepared and not yet let go
        self.stopping = False
        self.sliced = 0  # what the sliced file being loaded still holds

    def may_go_on(self) -> bool:
        return self.stopping or self.ahead < READ_AHEAD_ROWS

    def let_go(self, rows: int) -> None:
        with self.room:
            self.ahead -= rows
            self.room.notify()

    def slices_read(self) -> None:
        """The sliced file being loaded has read its last slice: its budget is let go."""
        with self.room:
            rows, self.sliced = self.sliced, 0
        self.let_go(rows)


def prepared_in_order(
    files: list[InboxFile],
    operating_model: OperatingModel,
    now_utc: dt.datetime,
    progress: OnFileProgress | None = None,
    budget: ReadAhead | None = None,
) -> Iterator[PreparedFile | SlicePlan]:
    """The files read, adapted and checked in order by a worker thread, which reads ahead of the
    caller while the rows prepared but not yet taken stay under READ_AHEAD_ROWS (the next file
    is always prepared once the caller has taken the previous ones). A file larger than a
    slice comes as its plan (`pipelines.slices`), its first pass done: the caller reads it, and
    may let its budget go once its slices are read (`budget.slices_read`)."""
    ready: queue.Queue[PreparedFile | SlicePlan | BaseException] = queue.Queue()
    budget = budget or ReadAhead()
    room = budget.room

    def work() -> None:
        try:
            for file in files:
                with room:
                    room.wait_for(budget.may_go_on)
                    if budget.stopping:
                        return
                prepared = _plan_or_prepare(file, operating_model, now_utc, progress)
                with room:
                    budget.ahead += _held_rows(prepared)
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
            if isinstance(item, SlicePlan):
                # A file read in slices holds the whole budget while its slices are read: its
                # two slices are what is held, not the next files too.
                with room:
                    budget.sliced = _held_rows(item)
                yield item
                budget.slices_read()  # unless the caller did already
            else:
                budget.let_go(_held_rows(item))
                yield item
    finally:
        with room:
            budget.stopping = True
            room.notify()
        join_or_warn(worker)


def _held_rows(item: PreparedFile | SlicePlan) -> int:
    """The rows an item counts against READ_AHEAD_ROWS: a sliced file counts them all."""
    return READ_AHEAD_ROWS if isinstance(item, SlicePlan) else item.rows_read


def _plan_or_prepare(
    file: InboxFile,
    operating_model: OperatingModel,
    now_utc: dt.datetime,
    progress: OnFileProgress | None = None,
) -> PreparedFile | SlicePlan:
    """A large file's slice plan, else the file prepared whole."""
    try:
        plan = slices.plan_slices(file, operating_model)
    except Exception as exc:  # reading it whole says what is wrong with it, if anything
        log.warning("%s cannot be read in slices (%s); it is read whole", file.relative_path, exc)
        plan = None
    return plan if plan is not None else prepare_or_refuse(file, operating_model, now_utc, progress)


def _prepared_slices(
    plan: SlicePlan, operating_model: OperatingModel, now_utc: dt.datetime, timezone: str
) -> Iterator[tuple[PreparedFile, FileSummary | None]]:
    """Each slice of a large file read, checked and priced (`finish_prepared`), with its usage
    summaries (task rows cut at the local weeks of `timezone`, the pilot's); a refused file
    comes as one refused part."""
    reads = slices.canonical_slices(plan, operating_model)
    while True:
        try:
            read = next(reads, None)
            if read is None:
                return
            if isinstance(read, PreparedFile):
                yield read, None
                return
            checked = validate.validate_slice(
                read.target, read.canonical, now_utc, plan.not_unique_lines
            )
            part = finish_prepared(read, checked, operating_model)
            del read, checked
            summary = None
            if not part.refused and plan.target == "usage":
                summary = FileSummary.of(part.valid, timezone)
        except slices.SlicesDisagree:
            raise
        except (Exception, pl.exceptions.PanicException) as exc:
            raise _SliceFailed(f"{type(exc).__name__}: {str(exc)[:300]}") from exc
        yield part, summary
        del part, summary


class _SliceFailed(Exception):
    """A slice could not be read or checked: the file is read whole, which says why."""


class _Abandon(Exception):
    """A sliced load stops before its commit: the file is refused (or deferred) instead."""

    def __init__(self, prepared: PreparedFile) -> None:
        super().__init__(prepared.refused)
        self.prepared = prepared


# Task rows of a file's slices merged at the least at once (`_SliceTotals`).
_MERGE_MIN_ROWS = 200_000


@dataclass
class _SliceTotals:
    """What a sliced file's parts add up to, for its record: `summary()` gives the usage
    summaries of the slices so far (their task rows cut at the local weeks of `timezone`)."""

    timezone: str
    rows_duplicate_in_file: int = 0
    rows_quarantined: int = 0
    rows_valid: int = 0
    weeks: set[str] = field(default_factory=set)
    week_rows: dict[str, int] = field(default_factory=dict)
    merged: FileSummary | None = None  # the summaries of the slices merged so far
    unmerged: list[FileSummary] = field(default_factory=list)  # those of the slices since
    quarantined: list[pl.DataFrame] = field(default_factory=list)
    loaded: int = 0
    duplicate: int = 0
    shared_files: set[int] = field(default_factory=set)

    def add(self, part: PreparedFile, summary: FileSummary | None) -> None:
        self.rows_duplicate_in_file += part.rows_duplicate_in_file
        self.rows_quarantined += part.quarantined.height
        self.rows_valid += part.valid.height
        self.weeks.update(part.weeks)
        for week, rows in part.week_rows.items():
            self.week_rows[week] = self.week_rows.get(week, 0) + rows
        if summary is None:
            return
        self.unmerged.append(summary)
        # Merged once the slices since hold half as many task rows as the merged ones: each
        # row is merged a few times over the file, not once a slice, and the rows waiting stay
        # a share of the file's summary (not a row per call, when a ticket's calls are spread).
        waiting = sum(s.tasks.height for s in self.unmerged)
        merged = self.merged.tasks.height if self.merged else 0
        if waiting >= max(_MERGE_MIN_ROWS, merged // 2):
            self.summary()

    def summary(self) -> FileSummary | None:
        """The usage summaries of the slices so far (None: not a usage file)."""
        if self.unmerged:
            parts = [self.merged, *self.unmerged] if self.merged else self.unmerged
            self.merged, self.unmerged = FileSummary.of_parts(parts, self.timezone), []
        return self.merged

    def prepared(self, plan: SlicePlan, refused: str | None = None) -> PreparedFile:
        """The file as one prepared file, its rows held by the warehouse or the stage."""
        return PreparedFile(
            plan.file,
            plan.file_format,
            refused,
            rows_read=plan.rows_read,
            rows_duplicate_in_file=self.rows_duplicate_in_file,
            quarantined=pl.concat(self.quarantined) if self.quarantined else pl.DataFrame(),
            weeks=sorted(self.weeks),
            week_rows=self.week_rows,
            adapter="canonical",
            target=plan.target,
            mapping={c: c for c in SPECS[plan.target].columns},
            choices=plan.choices,
        )


def _load_sliced(
    db_url: str,
    operating_model: OperatingModel,
    plan: SlicePlan,
    run_week: Week,
    now_utc: dt.datetime,
    progress: OnFileProgress | None = None,
    slices_read: Callable[[], None] | None = None,
) -> _Ready:
    """Read, check and store a large file slice by slice in one transaction, the next slice
    prepared by a worker while the current one loads (two slices held at most). On SQLite the
    slices are staged into scratch files, and the returned `_Ready` loads them; elsewhere each
    slice is upserted as it comes, and the file is stored when this returns. A file the
    slices cannot read as a whole-file read would (a hash collision found by the exact check)
    is read whole instead. `slices_read` hears when the last slice is read (before the rows
    are all stored)."""
    pilot = operating_model.pilot
    log.info("%s: %d rows in %d slices", plan.file.relative_path, plan.rows_read, len(plan.slices))
    parts = slices.read_ahead(_prepared_slices(plan, operating_model, now_utc, run_week.timezone))
    try:
        if can_stage(db_url):
            return _staged_slices(
                db_url, pilot, plan, parts, run_week, now_utc, progress, slices_read
            )
        record = _load_slices_directly(
            db_url, pilot, plan, parts, run_week, now_utc, progress, slices_read
        )
        return _Ready(lambda: record)
    except _Abandon as stop:
        return _staged_file(db_url, pilot, stop.prepared, run_week, now_utc)
    except WarehouseError:
        raise
    except (slices.SlicesDisagree, _SliceFailed) as exc:
        log.warning("%s: %s; it is read whole", plan.file.relative_path, exc)
    finally:
        parts.close()
    return _staged_file(
        db_url, pilot, prepare_or_refuse(plan.file, operating_model, now_utc), run_week, now_utc
    )


def _refused_part(plan: SlicePlan, part: PreparedFile) -> _Abandon:
    return _Abandon(
        PreparedFile(
            plan.file, part.format, part.refused, rows_read=plan.rows_read, adapter=part.adapter
        )
    )


def _staged_slices(
    db_url: str,
    pilot: str,
    plan: SlicePlan,
    parts: Iterator[tuple[PreparedFile, FileSummary | None]],
    run_week: Week,
    now_utc: dt.datetime,
    progress: OnFileProgress | None,
    slices_read: Callable[[], None] | None = None,
) -> _Ready:
    """SQLite: each slice's valid rows appended to scratch files beside the warehouse (written
    while the next slice is prepared); the returned `_Ready` loads the file from them in one
    transaction."""
    table = SOURCE_TABLES[plan.target]
    totals = _SliceTotals(run_week.timezone)
    done = 0  # rows of the file read and stored so far
    stage: Stage | None = None
    empty = pl.DataFrame()
    try:
        for part, summary in parts:
            if part.refused:
                raise _refused_part(plan, part)
            stage = stage_slice(db_url, stage, table, part.valid)
            empty = part.valid.head(0)
            totals.add(part, summary)
            totals.quarantined.append(part.quarantined)
            done += part.rows_read
            if progress is not None:
                progress(FileProgress(plan.file.relative_path, "storing", done, plan.rows_read))
            del part, summary
        if slices_read is not None:
            slices_read()
        if stage is None:
            stage = stage_slice(db_url, stage, table, empty)
        prepared = totals.prepared(plan)
    except BaseException:
        if stage is not None:
            drop_stage(stage)
        raise
    return _staged_file(
        db_url, pilot, prepared, run_week, now_utc, stage, totals.summary(), totals.rows_valid
    )


def _load_slices_directly(
    db_url: str,
    pilot: str,
    plan: SlicePlan,
    parts: Iterator[tuple[PreparedFile, FileSummary | None]],
    run_week: Week,
    now_utc: dt.datetime,
    progress: OnFileProgress | None,
    slices_read: Callable[[], None] | None = None,
) -> IngestedFile | None:
    """PostgreSQL (or SQLite in memory): one transaction, each slice's rows upserted and its
    quarantined rows written as it comes, so its raw text is let go slice by slice."""
    file = plan.file
    totals = _SliceTotals(run_week.timezone)
    done = 0  # rows of the file read and stored so far
    try:
        with transaction(db_url) as conn:
            if known(conn, pilot, file):
                return None
            opened = totals.prepared(plan)
            file_id, record = open_file(conn, pilot, opened, run_week, now_utc)
            for part, summary in parts:
                if part.refused:
                    raise _refused_part(plan, part)
                upserted = store_rows(conn, pilot, part, file_id, part.valid.drop(LINE))
                store_quarantine(conn, pilot, file, file_id, part.quarantined)
                totals.add(part, summary)
                totals.loaded += upserted.loaded
                totals.duplicate += upserted.duplicate
                totals.shared_files.update(upserted.shared_files)
                done += part.rows_read
                if progress is not None:
                    progress(FileProgress(file.relative_path, "storing", done, plan.rows_read))
                del part, summary, upserted
            if slices_read is not None:
                slices_read()
            if not file.unchanged_since_listed():
                raise _Abandon(PreparedFile(file, None, CHANGED_REASON))
            upserted = Upserted(totals.loaded, totals.duplicate, tuple(sorted(totals.shared_files)))
            return close_file(
                conn, pilot, totals.prepared(plan), file_id, record, upserted, run_week,
                summary=totals.summary(), quarantined_rows=totals.rows_quarantined,
            )  # fmt: skip
    except (WarehouseError, _Abandon, slices.SlicesDisagree, _SliceFailed):
        raise
    except Exception as exc:  # the rows could not be stored: refuse the file, keep going
        reason = f"could not be stored ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})"
        raise _Abandon(
            PreparedFile(file, plan.file_format, reason, rows_read=plan.rows_read)
        ) from exc


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


def _staged_file(
    db_url: str,
    pilot: str,
    prepared: PreparedFile,
    run_week: Week,
    now_utc: dt.datetime,
    staged: Stage | None = None,
    summary: FileSummary | None = None,
    staged_rows: int | None = None,
) -> _Ready:
    """One prepared file made ready for its own transaction: its rows staged now (SQLite),
    unless `staged` already holds them (a file read in slices, with its `summary` and
    `staged_rows`). The transaction runs when the returned `_Ready` is called; it deletes the
    stage after."""
    file = prepared.file
    if not file.outside_inbox and not file.unchanged_since_listed():
        # Re-exported while we read it: what we read may be half a file. The next run
        # ingests the finished file under its own checksum; this one lists it with the reason.
        log.warning("%s changed while being read; it is left for the next run", file.relative_path)
        if staged is not None:
            drop_stage(staged)
            staged = None
        prepared = PreparedFile(file.deferred(), None, CHANGED_REASON, deferred=True)
    try:
        if not prepared.refused and staged is None:
            target = prepared.target or prepared.file.source
            if target == "usage":
                summary = FileSummary.of(prepared.valid, run_week.timezone)
            staged = stage_rows(db_url, SOURCE_TABLES[target], prepared.valid)
        if staged is not None and summary is not None:
            staged = usage_summary.staged(db_url, staged, summary)
    except WarehouseError:  # the warehouse's folder cannot take the scratch files: stop the run
        if staged is not None:
            drop_stage(staged)
        raise
    except Exception as exc:  # the rows could not be staged: refuse the file, keep going
        refuse = partial(_refuse_unstored, db_url, pilot, prepared, run_week, now_utc, exc)
        return _Ready(refuse, staged)

    def store() -> IngestedFile | None:
        try:
            with transaction(db_url, attach=staged) as conn:
                if known(conn, pilot, prepared.file):
                    return None  # the same bytes were stored meanwhile (by this run or another)
                return store_prepared_file(
                    conn, pilot, prepared, run_week, now_utc, staged, summary, staged_rows
                )
        except WarehouseError:
            raise  # the warehouse itself is down or locked: the run must stop
        except Exception as exc:  # the rows could not be stored: refuse the file, keep going
            return _refuse_unstored(db_url, pilot, prepared, run_week, now_utc, exc)

    return _Ready(store, staged)


def _refuse_unstored(
    db_url: str,
    pilot: str,
    prepared: PreparedFile,
    run_week: Week,
    now_utc: dt.datetime,
    exc: Exception,
) -> IngestedFile | None:
    """Record a file whose rows could not be stored as refused, with the reason."""
    reason = f"could not be stored ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})"
    with transaction(db_url) as conn:
        file = prepared.file
        refused = PreparedFile(file, prepared.format, reason, rows_read=prepared.rows_read)
        return store_prepared_file(conn, pilot, refused, run_week, now_utc)
