"""Large CSV and JSON Lines files read in slices: memory that depends on the slice size, not on
the file.

A file of canonical columns larger than a slice (`slice_rows`, setting
`PILOT_INGEST_SLICE_ROWS`) is cut at record boundaries into byte ranges of about that many
records (`plan_slices`). A quoted CSV cell may hold line ends: a line end only ends a record
outside quotes, and each slice knows the physical line it starts on, so quarantine messages name
the same lines as a whole-file read. A JSON Lines record is one line; its slices are read with
the types polars infers from the whole file, as a whole-file read types them.

Two checks compare rows across the whole file: an exact repeat of an earlier line is a duplicate,
and a key that different rows share quarantines all of them. Both must be known before the first
slice is checked, so a first pass computes a hash of each row's canonical key and of its raw
cells only (20 bytes a row): in one streaming scan of the file when every line is one record (a
row's line is then its position, and each slice read again must show the scan's row count and
key hash sum), else by reading every slice. Rows whose key hash occurs once can be neither;
the few others ("suspects") are decided from the hashes and then verified exactly while the
slices are read again (`canonical_slices`): their raw cells and canonical keys are kept and
compared at the end, and the file is read whole instead (`SlicesDisagree`) in the unlikely case
a hash collided.

Anything the slice reader does not take the way `read_raw` would (another encoding, a lone `\\r`,
a record polars cannot parse, a vendor format) leaves the file to the whole-file path.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import polars as pl

from models.operating_model import OperatingModel, SourceSettings
from models.sources import SPECS
from pipelines.adapters import custom_mapping
from pipelines.adapters.base import Sniff
from pipelines.encoding import detect_encoding
from pipelines.file_settings import file_names, settings_for
from pipelines.normalize import missing_required, to_canonical
from pipelines.prepare import CanonicalFile, InboxFile, PreparedFile, choose_adapter
from pipelines.read import (
    LINE,
    RefusedFile,
    read_csv_slice,
    read_json_lines_slice,
    sniff_delimiter,
)
from pipelines.threads import join_or_warn

log = logging.getLogger(__name__)

SLICE_ROWS_VARIABLE = "PILOT_INGEST_SLICE_ROWS"
# Rows of a large file read, checked and loaded at a time. Two slices are held at most (one
# loading while the next is prepared).
DEFAULT_SLICE_ROWS = 250_000
# No record of any source is shorter: a file of fewer bytes than this many per slice row holds
# at most one slice, and is not scanned for record boundaries.
MIN_RECORD_BYTES = 16
_CHUNK_BYTES = 16 << 20
_SNIFF_BYTES = 64 * 1024
_QUOTE, _NEWLINE = ord('"'), ord("\n")
_FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# Columns of the first pass: a row's line, its key's hash and whether it is null, its cells' hash.
_KEY_HASH, _KEY_NULL, _ROW_HASH = "__key_hash", "__key_null", "__row_hash"


def slice_rows() -> int:
    """Rows per slice, from `PILOT_INGEST_SLICE_ROWS` (at least 1), else the default."""
    value = os.environ.get(SLICE_ROWS_VARIABLE, "").strip()
    return max(1, int(value)) if value else DEFAULT_SLICE_ROWS


class SlicesDisagree(Exception):
    """The slices' exact comparison found what the first pass's hashes missed (a collision),
    or a slice read otherwise than the first pass read it: the file must be read whole."""


@dataclass(frozen=True)
class ByteSlice:
    """Whole records of a file: bytes [start, end) and the physical line `start` is on."""

    start: int
    end: int
    first_line: int


@dataclass(frozen=True)
class SliceSums:
    """What the first pass's scan saw of one slice: its rows and the sum (modulo 2**64) of
    their key hashes. Enough to trust the scan's decisions: only rows whose key hash is not
    unique can be repeats or share a key, and those are compared cell by cell (`_verify`)."""

    rows: int
    key_hashes: int


@dataclass
class SlicePlan:
    """How a large CSV or JSON Lines file is read in slices, and what its first pass found."""

    file: InboxFile
    settings: SourceSettings  # the file's settings as read as canonical columns
    choices: dict[str, dict[str, str | None]]
    delimiter: str  # CSV only
    header: bytes  # CSV: the header record, line end included, without a byte-order mark
    slices: list[ByteSlice]
    file_format: str = "csv"  # or "jsonl"
    schema: pl.Schema | None = None  # JSON Lines: the types polars infers from the whole file
    rows_read: int = 0
    # Lines that exactly repeat an earlier line; lines whose key other rows share; the lines
    # of every row whose key hash is not unique (those two are decided among them).
    repeated_lines: pl.Series = field(default_factory=lambda: pl.Series(LINE, [], pl.UInt32))
    not_unique_lines: pl.Series = field(default_factory=lambda: pl.Series(LINE, [], pl.UInt32))
    suspect_lines: pl.Series = field(default_factory=lambda: pl.Series(LINE, [], pl.UInt32))
    # Per slice, what a single scan of the file saw (None when the slices themselves were read
    # for the first pass): a slice read otherwise is `SlicesDisagree`.
    slice_sums: list[SliceSums] | None = None

    @property
    def target(self) -> str:
        """The table the rows go to (canonical columns: the file's source)."""
        return self.file.source

    @property
    def key(self) -> str:
        """The source's key column (one text column: see `plan_slices`)."""
        return SPECS[self.target].key[0]

    def read(self, part: ByteSlice) -> pl.DataFrame:
        """One slice's raw frame, numbered by its physical lines."""
        with self.file.path.open("rb") as handle:
            handle.seek(part.start)
            body = handle.read(part.end - part.start)
        if self.schema is not None:
            return read_json_lines_slice(body, self.schema, part.first_line)
        offset = part.first_line - (self.header.count(b"\n") + 1)
        return read_csv_slice(self.header + body, self.delimiter, offset)


def plan_slices(
    file: InboxFile, operating_model: OperatingModel, rows: int | None = None
) -> SlicePlan | None:
    """The slices of a large CSV or JSON Lines file of canonical columns, with its first pass
    done; None for a file read whole (small, not a plain UTF-8 file of either format, a vendor
    format, or anything the slice reader would read otherwise than `read_raw`)."""
    rows = rows or slice_rows()
    file_format = _FORMATS.get(file.path.suffix.lower())
    if file.outside_inbox or file.hidden or file_format is None:
        return None
    spec = SPECS.get(file.source)
    if spec is None or file.source == "timesheets" or len(spec.key) != 1:
        return None  # timesheet columns are derived; compound keys are compared whole
    if spec.columns[spec.key[0]] != "str":
        return None
    try:
        if file.path.stat().st_size < rows * MIN_RECORD_BYTES:
            return None
        folder = operating_model.source(file.source)
        names = file_names(file.source, file.relative_path)
        settings = settings_for(folder, names)
        if settings.format == custom_mapping.NAME or not _utf8(settings.encoding):
            return None
        if settings.encoding is None and detect_encoding(file.path) is not None:
            return None
        cut = _cut(file, rows) if file_format == "csv" else _cut_lines(file, rows)
        if cut is None:
            return None
        resolved = settings_for(folder, names, "canonical")
        if not _utf8(resolved.encoding):
            return None
        choices: dict[str, dict[str, str | None]] = {
            "encoding": {"value": resolved.encoding, "chosen_by": "configured"}
            if resolved.encoding is not None
            else {"value": "utf-8", "chosen_by": "default (the file reads as UTF-8)"}
        }
        if file_format == "csv":
            with file.path.open("rb") as handle:
                sample = handle.read(_SNIFF_BYTES).decode("utf-8-sig", errors="replace")
            delimiter = sniff_delimiter(sample[: sample.rfind("\n") + 1] or sample)
            plan = SlicePlan(file, resolved, choices, delimiter, cut.header, cut.slices)
            heading = read_csv_slice(cut.header, delimiter, 0)
            columns = [c for c in heading.columns if c != LINE]
            scan = pl.scan_csv(
                file.path, separator=delimiter, infer_schema=False, encoding="utf8",
                raise_if_empty=True,
            )  # fmt: skip
        else:
            # Every record is read to know each column's type, as `read_raw` infers it.
            schema = pl.scan_ndjson(file.path, infer_schema_length=None).collect_schema()
            if any(dtype.is_nested() for dtype in schema.dtypes()):
                return None  # nested values become JSON text when read whole
            plan = SlicePlan(file, resolved, choices, "", b"", cut.slices, "jsonl", schema)
            columns = [c.strip().lower() for c in schema.names()]
            scan = pl.scan_ndjson(file.path, schema=schema)
        if not _plain_columns(columns) or missing_required(spec, columns):
            return None  # the whole-file path refuses it, with its reason
        adapter = choose_adapter(file.source, settings.format, Sniff(file.path, frozenset(columns)))
        if adapter is not None:
            return None
        if cut.quoted_line_ends or not _first_pass_scan(plan, scan, cut.lines, columns):
            if file_format != "csv":
                return None  # blank lines: numbered by the whole-file reader
            _first_pass(plan)
    except (RefusedFile, OSError, UnicodeDecodeError, pl.exceptions.PolarsError) as exc:
        log.info("%s is read whole: %s", file.relative_path, exc)
        return None
    return plan


def _utf8(encoding: str | None) -> bool:
    return encoding is None or encoding.lower().replace("-", "").replace("_", "") == "utf8"


def _plain_columns(columns: list[str]) -> bool:
    """No column name repeated (polars numbers repeats; `read_raw` refuses or renames them)."""
    return len(set(columns)) == len(columns) and not any(
        re.search(r"_duplicated_\d+$", c) for c in columns
    )


@dataclass(frozen=True)
class _Cut:
    """Where a file is cut: its header record, its slices, its physical lines, and whether a
    line end falls inside a quoted cell (a record spanning lines)."""

    header: bytes
    slices: list[ByteSlice]
    lines: int
    quoted_line_ends: bool


def _cut(file: InboxFile, rows: int) -> _Cut | None:
    """The header record and the byte ranges of about `rows` records each, or None for a file
    to read whole (one slice, NUL bytes, a lone `\\r`, a quote left open at the end).

    A line end ends a record when an even number of quotes came before it in the file (a
    doubled quote inside a quoted cell counts twice)."""
    quotes_odd = False
    quoted_line_ends = False
    offset = 0
    newlines = 0  # line ends before the chunk
    boundaries = 0  # record ends before the chunk (the header's included)
    header_end: int | None = None
    cuts: list[tuple[int, int]] = []  # (byte offset, its physical line)
    last = b""
    with file.path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            if b"\x00" in chunk or _lone_carriage_return(chunk):
                return None
            data = np.frombuffer(chunk, np.uint8)
            ends = np.flatnonzero(data == _NEWLINE)
            if b'"' in chunk:
                # The quotes before each line end, found by position: cheaper than a running
                # count over every byte, as quotes are few.
                quotes = np.flatnonzero(data == _QUOTE)
                at_end = ((np.searchsorted(quotes, ends) & 1) ^ int(quotes_odd)) == 0
                chunk_quotes_odd = bool(quotes.size & 1)
                del quotes
            else:
                at_end = np.full(ends.size, not quotes_odd)
                chunk_quotes_odd = False
            if at_end.all():
                record_ends = ends
                line_of_end = np.arange(1, ends.size + 1) + newlines
            else:
                quoted_line_ends = True
                record_ends = ends[at_end]
                line_of_end = np.flatnonzero(at_end) + 1 + newlines  # the line each ends
            first = 0
            if header_end is None and record_ends.size:
                header_end = offset + int(record_ends[0]) + 1
                boundaries, first = 0, 1
            # Cut after every `rows`-th record end after the header.
            wanted = np.arange(
                (boundaries // rows + 1) * rows, boundaries + record_ends.size - first + 1, rows
            )
            for target in wanted:
                index = int(target - boundaries) - 1 + first
                cuts.append((offset + int(record_ends[index]) + 1, int(line_of_end[index]) + 1))
            boundaries += record_ends.size - first
            newlines += ends.size
            quotes_odd ^= chunk_quotes_odd
            offset += len(chunk)
            last = chunk[-1:]
            del data, ends, at_end, record_ends, line_of_end
    if quotes_odd or header_end is None:
        return None
    with file.path.open("rb") as handle:
        header = handle.read(header_end)
    header = header.removeprefix(b"\xef\xbb\xbf")
    header_lines = header.count(b"\n")
    slices = _byte_slices((header_end, header_lines + 1), cuts, offset)
    if len(slices) <= 1:
        return None
    lines = newlines + (0 if last == b"\n" else 1)
    return _Cut(header, slices, lines, quoted_line_ends)


def _byte_slices(first: tuple[int, int], cuts: list[tuple[int, int]], end: int) -> list[ByteSlice]:
    """The non-empty byte ranges between the first record (offset, line) and each cut, to `end`."""
    starts = [first, *cuts]
    return [
        ByteSlice(start, stop, line)
        for (start, line), (stop, _) in zip(starts, [*cuts, (end, 0)], strict=True)
        if stop > start
    ]


def _cut_lines(file: InboxFile, rows: int) -> _Cut | None:
    """The byte ranges of about `rows` lines each of a JSON Lines file (a record is one line:
    JSON text holds no raw line end), or None for a file to read whole (one slice, a
    byte-order mark, NUL bytes, a lone `\\r`)."""
    offset = 0
    newlines = 0  # line ends before the chunk
    cuts: list[tuple[int, int]] = []  # (byte offset, its line)
    last = b""
    with file.path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            if offset == 0 and chunk.startswith(b"\xef\xbb\xbf"):
                return None  # read whole, decoded in Python
            if b"\x00" in chunk or _lone_carriage_return(chunk):
                return None
            ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == _NEWLINE)
            for line in range((newlines // rows + 1) * rows, newlines + ends.size + 1, rows):
                cuts.append((offset + int(ends[line - newlines - 1]) + 1, line + 1))
            newlines += ends.size
            offset += len(chunk)
            last = chunk[-1:]
            del ends
    slices = _byte_slices((0, 1), cuts, offset)
    if len(slices) <= 1:
        return None
    return _Cut(b"", slices, newlines + (0 if last == b"\n" else 1), False)


def _lone_carriage_return(chunk: bytes) -> bool:
    # Searching for one `\r` costs a fraction of counting them, and most files hold none.
    return b"\r" in chunk and chunk.count(b"\r") != chunk.count(b"\r\n")


def _key_text(column: str) -> pl.Expr:
    """The key as `pipelines.normalize` types a text column: trimmed, empty meaning missing
    (checked against the typed key of every slice: `SlicesDisagree` if they ever differ)."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text.str.len_bytes() == 0).then(None).otherwise(text)


def _first_pass_scan(plan: SlicePlan, scan: pl.LazyFrame, lines: int, columns: list[str]) -> bool:
    """Hash every row's key and cells in one streaming scan of the file, for a file whose
    every line is one record (so a row's line is its position; polars reads a blank line as a
    row of missing cells); decide as `_decide` does. False, deciding nothing, when the scan
    finds another number of rows than lines or other column names than the header's: the
    slices are then read for it (`_first_pass`).

    The scan's row count and key hash sum per slice are kept: each slice read again must match
    them (`canonical_slices`), else the file is read whole."""
    names = scan.collect_schema().names()
    if [n.strip().lower() for n in names] != columns:
        return False
    key = _key_text(names[columns.index(plan.key)])
    hashes = scan.select(
        key.hash(seed=0).alias(_KEY_HASH),
        key.is_null().alias(_KEY_NULL),
        pl.struct(names).hash(seed=0).alias(_ROW_HASH),
    ).collect(engine="streaming")
    first_line = plan.header.count(b"\n") + 1
    if hashes.height != lines - first_line + 1:
        return False
    hashes = hashes.with_row_index(LINE, offset=first_line)
    starts = pl.Series([part.first_line for part in plan.slices], dtype=pl.UInt32)
    part = (starts.search_sorted(hashes.get_column(LINE), side="right") - 1).alias("__slice")
    sums = hashes.group_by(part).agg(pl.len(), pl.col(_KEY_HASH).sum()).sort("__slice")
    if sums.height != len(plan.slices):
        return False
    plan.slice_sums = [SliceSums(int(rows), int(keys)) for _, rows, keys in sums.iter_rows()]
    _decide(plan, hashes)
    return True


def _first_pass(plan: SlicePlan) -> None:
    """Hash every row's key and cells, slice by slice; decide as `_decide` does. For a file
    a single scan cannot number (a record spanning lines)."""
    hashes: list[pl.DataFrame] = []
    for part in plan.slices:
        raw = plan.read(part)
        data_columns = [c for c in raw.columns if c != LINE]
        key = _key_text(plan.key)
        hashes.append(
            raw.select(
                LINE,
                key.hash(seed=0).alias(_KEY_HASH),
                key.is_null().alias(_KEY_NULL),
                pl.struct(data_columns).hash(seed=0).alias(_ROW_HASH),
            )
        )
        del raw
    _decide(plan, pl.concat(hashes))


def _decide(plan: SlicePlan, rows: pl.DataFrame) -> None:
    """From every row's line, key hash and cells' hash: the repeated lines and the lines whose
    key other rows share (as the whole-file checks would), decided among the suspects."""
    plan.rows_read = rows.height
    suspects = rows.filter(pl.col(_KEY_HASH).is_duplicated()).sort(LINE)
    del rows
    repeat = ~pl.struct(_KEY_HASH, _ROW_HASH).is_first_distinct()
    suspects = suspects.with_columns(repeat.alias("__repeat"))
    shared = suspects.filter(~pl.col("__repeat") & ~pl.col(_KEY_NULL)).filter(
        pl.len().over(_KEY_HASH) > 1
    )
    plan.suspect_lines = suspects.get_column(LINE)
    plan.repeated_lines = suspects.filter("__repeat").get_column(LINE)
    plan.not_unique_lines = shared.get_column(LINE)


def canonical_slices(
    plan: SlicePlan, operating_model: OperatingModel
) -> Iterator[CanonicalFile | PreparedFile]:
    """The file's slices read and typed, each as the `CanonicalFile` of its rows (its repeats
    set aside), ready for the row checks; a file refused while typed comes back as one refused
    `PreparedFile`. After the last slice, the first pass's decisions are verified exactly
    (raises `SlicesDisagree` if they do not hold)."""
    file, target, key = plan.file, plan.target, plan.key
    kept: list[pl.DataFrame] = []  # the suspects' raw cells and typed keys, for the check
    data_columns: list[str] = []
    for n, part in enumerate(plan.slices):
        raw = plan.read(part)
        data_columns = [c for c in raw.columns if c != LINE]
        key_text = raw.select(_key_text(key)).to_series()
        if plan.slice_sums is not None and _sums(key_text) != plan.slice_sums[n]:
            raise SlicesDisagree("a slice read otherwise than the first pass scanned it")
        try:
            canonical = to_canonical(target, raw, operating_model.timezone)
        except RefusedFile as exc:
            yield PreparedFile(
                file, plan.file_format, str(exc), rows_read=plan.rows_read, adapter="canonical"
            )
            return
        typed_key = canonical.get_column(key)
        if not key_text.equals(typed_key, check_names=False):
            raise SlicesDisagree("a key typed otherwise than hashed")
        del key_text
        suspect = raw.get_column(LINE).is_in(plan.suspect_lines.implode())
        kept.append(raw.filter(suspect).with_columns(typed_key.filter(suspect).alias("__key")))
        repeated = raw.get_column(LINE).filter(
            raw.get_column(LINE).is_in(plan.repeated_lines.implode())
        )
        canonical = canonical.filter(~pl.col(LINE).is_in(repeated.implode()))
        made = [
            CanonicalFile(
                file, plan.file_format, None, target, raw, canonical, raw.height, repeated,
                plan.settings, dict(plan.choices), {},
            )
        ]  # fmt: skip
        del raw, canonical, typed_key, suspect, repeated
        # This frame holds nothing of the slice while suspended: the slice is let go when its
        # caller is done with it, not only when the caller asks for the next one.
        yield made.pop()
    _verify(plan, pl.concat(kept, how="diagonal_relaxed"), data_columns)


def _sums(key_text: pl.Series) -> SliceSums:
    """A slice's rows and the sum of its key hashes, as the first pass's scan computes them."""
    return SliceSums(key_text.len(), int(key_text.hash(seed=0).sum()))


def _verify(plan: SlicePlan, kept: pl.DataFrame, data_columns: list[str]) -> None:
    """The suspects compared cell by cell and key by key: the same repeats and shared keys as
    the first pass decided from hashes, or `SlicesDisagree`."""
    if kept.height == 0:
        return
    kept = kept.sort(LINE)
    repeat = ~pl.struct(data_columns).is_first_distinct()
    kept = kept.with_columns(repeat.alias("__repeat"))
    shared = kept.filter(~pl.col("__repeat") & pl.col("__key").is_not_null()).filter(
        pl.len().over("__key") > 1
    )
    repeated = kept.filter("__repeat").get_column(LINE)
    if not _same(repeated, plan.repeated_lines) or not _same(
        shared.get_column(LINE), plan.not_unique_lines
    ):
        raise SlicesDisagree("rows' hashes collided")


def _same(a: pl.Series, b: pl.Series) -> bool:
    return a.sort().cast(pl.UInt32).equals(b.sort().cast(pl.UInt32), check_names=False)


Item = TypeVar("Item")


def read_ahead(items: Iterator[Item], held: int = 2) -> Iterator[Item]:
    """The items made by a worker thread, ahead of the caller, with at most `held` of them
    alive at once: the one the caller works on and the next (the caller drops each before
    asking for the next). An error of the worker is raised in the caller."""
    tokens = threading.Semaphore(held)
    ready: queue.Queue[tuple[str, object]] = queue.Queue()
    stopping = threading.Event()

    def work() -> None:
        try:
            while True:
                tokens.acquire()
                if stopping.is_set():
                    return
                made = next(items, ready)  # the queue itself marks the end
                if made is ready:
                    ready.put(("end", None))
                    return
                ready.put(("item", made))
                del made
        except BaseException as exc:  # surfaces in the caller, never lost with the thread
            ready.put(("error", exc))

    worker = threading.Thread(target=work, name="slices", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
            del value
            tokens.release()
    finally:
        stopping.set()
        tokens.release()
        join_or_warn(worker)
        close = getattr(items, "close", None)
        if close is not None and not worker.is_alive():
            close()
