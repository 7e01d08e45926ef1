"""Prepared input files: one inbox file read, typed, checked and priced, ready to load.

`read_canonical` (before the row checks) and `finish_prepared` (after them) never raise for bad
input: an unreadable file comes back refused with its reason; bad rows come back quarantined with
every reason. For every file rows_read = rows_valid + rows_quarantined + rows_duplicate_in_file +
rows_skipped (rows that are not records of the source, such as Langfuse spans).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import polars_hash as plh

from models.operating_model import SOURCES, OperatingModel, SourceSettings
from models.results import REASONS, CheckedRows
from models.sources import SPECS, TIMESHEET_ALTERNATIVES
from pipelines.adapters import ADAPTERS, DETECTED, adapters_for, closest_format, custom_mapping
from pipelines.adapters.base import (
    SKIPPED,
    SUPERSEDED,
    Adapter,
    AdapterContext,
    Sniff,
    json_paths,
)
from pipelines.encoding import detect_encoding
from pipelines.file_settings import file_names, settings_for
from pipelines.normalize import stable_id, to_canonical
from pipelines.read import (
    LINE,
    READ_ERRORS,
    REPEATED_MARK,
    JsonDocument,
    RefusedFile,
    file_sha256,
    read_raw,
    unsupported_reason,
)
from pipelines.usage_costs import price_usage
from pipelines.weeks import rows_per_week, week_expr

INPUT_SUFFIXES = {
    ".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".pq", ".xlsx",
}  # fmt: skip


@dataclass(frozen=True)
class InboxFile:
    """A file found in a pilot's inbox."""

    source: str
    path: Path
    relative_path: str
    sha256: str
    exported_at: dt.datetime  # the file's modification time: newest export wins
    outside_inbox: bool = False  # a link pointing out of the inbox: refused, never read
    # Size and modification time (ns) when listed, taken before the checksum: a file that still
    # has both after it was read was not rewritten meanwhile (`unchanged_since_listed`).
    size_bytes: int | None = None
    mtime_ns: int | None = None
    # A name starting with "." (a partial upload, an editor's lock file): listed, never read.
    hidden: bool = False

    def deferred(self) -> InboxFile:
        """The file as recorded when it is left for a later run (hidden, or changed while it
        was read): known by its path, size and time, never by content, so the same bytes
        under a proper name, or once complete, are still read."""
        key = f"deferred:{self.relative_path}:{self.size_bytes}:{self.mtime_ns}"
        return dataclasses.replace(self, sha256=hashlib.sha256(key.encode()).hexdigest())

    def unchanged_since_listed(self) -> bool:
        """Whether the file still has the size and modification time it was listed with (no
        export rewrote it since); a file listed without them is compared by checksum."""
        try:
            if self.mtime_ns is None:
                return file_sha256(self.path) == self.sha256
            stat = self.path.stat()
        except OSError:
            return False
        return (stat.st_size, stat.st_mtime_ns) == (self.size_bytes, self.mtime_ns)


@dataclass
class PreparedFile:
    """A file after reading and checks, before loading."""

    file: InboxFile
    format: str | None
    refused: str | None
    rows_read: int = 0
    rows_duplicate_in_file: int = 0
    # Rows that are not records of the source (not model calls, deleted tickets), by reason.
    skipped: dict[str, int] = field(default_factory=dict)
    valid: pl.DataFrame = field(default_factory=pl.DataFrame)
    quarantined: pl.DataFrame = field(default_factory=pl.DataFrame)  # __line__, raw, reasons
    weeks: list[str] = field(default_factory=list)
    # ISO week -> loaded rows in it (each row in one week: see `pipelines.weeks.rows_per_week`).
    week_rows: dict[str, int] = field(default_factory=dict)
    adapter: str | None = None  # "canonical" or the vendor format it was read as
    target: str | None = None  # the table its rows go to (the source, or a vendor-only table)
    # Output column -> where it comes from, as the adapter applied it (shown by `check`).
    mapping: dict[str, str] = field(default_factory=dict)
    # What was chosen from the file and why (`date_order`, `encoding`): {value, chosen_by}.
    choices: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # Left for a later run (hidden, or changed while read) rather than refused for its content.
    deferred: bool = False

    @property
    def rows_skipped(self) -> int:
        """Rows set aside as not records of the source (every reason)."""
        return sum(self.skipped.values())


HIDDEN_REASON = (
    "hidden file (its name starts with '.'), not read: rename it without the dot to load it"
)
CHANGED_REASON = "changed while being read; left for the next run, which reads it once complete"


def list_inbox(inbox: Path) -> list[InboxFile]:
    """Input files under `<inbox>/<source>/`, oldest export first (path breaks ties)."""
    found: list[InboxFile] = []
    root = inbox.resolve()
    # Hidden files are listed too (never read): a file is never skipped without a word.
    for source in SOURCES:
        folder = inbox / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            hidden = path.name.startswith(".")
            inside = path.resolve().is_relative_to(root)
            stat = path.stat() if inside else path.lstat()
            found.append(
                InboxFile(
                    source=source,
                    path=path,
                    relative_path=path.relative_to(inbox).as_posix(),
                    sha256=file_sha256(path)
                    if inside and not hidden
                    else hashlib.sha256(str(path.resolve()).encode()).hexdigest(),
                    exported_at=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(
                        microsecond=0
                    ),
                    outside_inbox=not inside,
                    size_bytes=stat.st_size if inside else None,
                    mtime_ns=stat.st_mtime_ns if inside else None,
                    hidden=hidden,
                )
            )
            if hidden:
                found[-1] = found[-1].deferred()
    return sorted(found, key=lambda f: (f.exported_at, f.relative_path))


@dataclass
class CanonicalFile:
    """A file read, adapted and typed into its canonical columns, before the row checks.

    `canonical` holds every row not repeated in the file (its `__line__` and `__parse_errors__`
    included); `raw` the file's cells as read, for the quarantine."""

    file: InboxFile
    file_format: str
    adapter: Adapter | None
    target: str
    raw: pl.DataFrame
    canonical: pl.DataFrame
    rows_read: int
    repeated_lines: pl.Series
    # The settings the file was read with: folder-wide, its format's and its `files` entries'.
    settings: SourceSettings = field(default_factory=SourceSettings)
    choices: dict[str, dict[str, str | None]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows set aside

    @property
    def format_name(self) -> str:
        """The vendor format the file was read as, or "canonical"."""
        return self.adapter.name if self.adapter else "canonical"

    @property
    def unknown_allowed(self) -> tuple[str, ...]:
        """Required columns that may be unknown (null) in this file: vendors do not record
        whether a draft was used, so unknown is allowed and false is never guessed."""
        return ("ai_draft_used",) if self.adapter is not None and self.target == "tickets" else ()


def read_canonical(
    file: InboxFile, operating_model: OperatingModel
) -> CanonicalFile | PreparedFile:
    """Read, adapt, type and de-duplicate one inbox file: the rows the checks run on, or the
    file refused with its reason."""
    if file.outside_inbox:
        return PreparedFile(file, None, "links to a file outside the inbox; not read")
    if file.hidden:
        return PreparedFile(file.deferred(), None, HIDDEN_REASON, deferred=True)
    settings = operating_model.source(file.source)
    if file.path.suffix.lower() not in INPUT_SUFFIXES:
        return PreparedFile(file, None, unsupported_reason(file.path))
    adapter: Adapter | None = None
    choices: dict[str, dict[str, str | None]] = {}
    try:
        fmt, raw, adapter, settings = read_and_choose(file, settings, choices)
        target = adapter.target if adapter else file.source
        if adapter is not None:
            context = AdapterContext(file.path, file.source, settings, operating_model)
            adapted = adapter.transform(raw, context)
            choices.update(context.choices)
            adapted = _with_derived_ids(target, adapted)
        else:
            adapted = raw
        try:
            canonical = to_canonical(target, adapted, operating_model.timezone)
        except RefusedFile as exc:
            if adapter is None and settings.format == DETECTED:
                raise RefusedFile(_with_closest(str(exc), file.source, raw.columns)) from exc
            raise
    except RefusedFile as exc:
        return PreparedFile(file, None, str(exc), adapter=adapter.name if adapter else None)

    # An exact repeat of an earlier line is a duplicate, not a conflict: keep the first. A row an
    # adapter replaced by a later version of the same record counts as a duplicate too.
    data_columns = [c for c in raw.columns if c not in (LINE, READ_ERRORS)]
    repeated_lines = repeated_line_numbers(raw, data_columns)
    if SUPERSEDED in adapted.columns:
        superseded = adapted.filter(pl.col(SUPERSEDED).fill_null(False)).get_column(LINE)
        repeated_lines = pl.concat([repeated_lines, superseded.cast(repeated_lines.dtype)]).unique()
    canonical = canonical.filter(~pl.col(LINE).is_in(repeated_lines.implode()))
    skipped: dict[str, int] = {}
    if SKIPPED in adapted.columns:
        # A row that is not a record of the source (and not a repeat): set aside with its reason.
        marked = adapted.filter(
            pl.col(SKIPPED).is_not_null() & ~pl.col(LINE).is_in(repeated_lines.implode())
        ).select(LINE, SKIPPED)
        skipped = dict(marked.group_by(SKIPPED).len().sort(SKIPPED).iter_rows())
        canonical = canonical.filter(~pl.col(LINE).is_in(marked.get_column(LINE).implode()))
    return CanonicalFile(
        file, fmt, adapter, target, raw, canonical, raw.height, repeated_lines, settings, choices,
        skipped,
    )  # fmt: skip


def finish_prepared(
    read: CanonicalFile, checked: CheckedRows, operating_model: OperatingModel
) -> PreparedFile:
    """The file ready to store, from its canonical rows and their checks: the quarantined rows
    with their raw cells, the weeks the file holds rows of, and the valid rows priced (usage)
    and hashed. Takes over `read`: its frames are let go as soon as they are not needed."""
    file, adapter, target = read.file, read.adapter, read.target
    if checked.refused:
        return PreparedFile(
            file, read.file_format, checked.refused, rows_read=read.rows_read,
            adapter=read.format_name,
        )  # fmt: skip
    settings = read.settings
    raw = read.raw
    data_columns = [c for c in raw.columns if c not in (LINE, READ_ERRORS)]
    # Free text a help desk or a gateway exports (subjects, bodies, prompts) is not kept, not
    # even in the quarantine, unless the operating model asks for it.
    if settings.keep_extra_columns:
        kept = data_columns
    elif adapter is not None and adapter.name == custom_mapping.NAME:
        kept = custom_mapping.kept_columns(settings, file.source, data_columns)
    elif adapter is not None:
        kept = [c for c in data_columns if c not in FREE_TEXT_COLUMNS]
    else:
        kept = known_input_columns(file.source, data_columns)
    raw_bad = raw.join(checked.quarantined, on=LINE, how="inner").select(
        LINE,
        pl.struct([pl.col(c).cast(pl.String) for c in kept]).struct.json_encode().alias("raw"),
        pl.col(REASONS).alias("reasons"),
    )
    weeks = _weeks(read.canonical, target, operating_model.timezone)
    week_rows = rows_per_week(checked.valid, SPECS[target].week_columns, operating_model.timezone)
    raw_columns = set(raw.columns)
    # A large file's raw cells are the biggest frame held: let them go before pricing.
    del raw
    read.raw = read.canonical = pl.DataFrame()
    valid = checked.valid
    if target == "usage":
        valid = price_usage(valid, operating_model.costs.prices)
    spec = SPECS[target]
    valid = valid.with_columns(row_hash(valid, spec.columns).alias("row_hash"))
    valid = valid.rechunk()  # checks may leave slices of the checked rows
    return PreparedFile(
        file,
        read.file_format,
        None,
        rows_read=read.rows_read,
        rows_duplicate_in_file=read.repeated_lines.len(),
        skipped=read.skipped,
        valid=valid,
        quarantined=raw_bad,
        weeks=weeks,
        week_rows=week_rows,
        adapter=read.format_name,
        target=target,
        mapping=dict(adapter.mapping)
        if adapter
        else {c: c for c in spec.columns if c in raw_columns},
        choices=read.choices,
    )


def row_hash(rows: pl.DataFrame, columns: Iterable[str]) -> pl.Expr:
    """The content hash of each row over `columns` (a re-sent identical row is a duplicate):
    xxHash64 of the row's bytes in polars-hash's row encoding, version 1, as decimal text.

    Both are frozen, so a row keeps its hash across polars versions (polars' own hash may
    change with any release). The encoding writes each value with a type tag, and text with
    its length: a null, an empty text and a zero differ, and text cannot move from one column
    to the next unseen. Floats are read as 8-byte values (-0.0 as 0.0), timestamps as the
    instant whatever their unit or time zone.
    """
    return plh.hash_rows(list(columns), version=1).nchash.xxhash64().cast(pl.String)


def repeated_line_numbers(raw: pl.DataFrame, columns: list[str]) -> pl.Series:
    """Lines that exactly repeat an earlier line of the file.

    A repeated line repeats every cell, so a row can only be one if each of its cells occurs
    again in its column. Suspects are narrowed one column at a time by a hash of its cells (a
    key column first: few rows share a key), then by a hash of the whole row; only the rows
    left are compared cell by cell, so a hash collision never makes a duplicate.
    """
    if not columns:
        return raw.get_column(LINE).head(0)
    rows = pl.int_range(raw.height, dtype=pl.UInt32, eager=True)
    keys = {k for spec in SPECS.values() for k in spec.key}
    for column in sorted(columns, key=lambda c: c not in keys):
        cells, before = raw.get_column(column), rows.len()
        cells = cells if before == raw.height else cells.gather(rows)
        rows = rows.filter(_hash_repeats(cells.hash(seed=0)))
        # Stop narrowing once few suspects are left, or when a column barely narrowed them.
        if rows.len() <= _FEW_SUSPECTS or rows.len() > before // 2:
            break
    suspects = raw.select(LINE, *columns)
    suspects = suspects if rows.len() == raw.height else suspects[rows]
    suspects = suspects.filter(
        _hash_repeats(suspects.select(pl.struct(columns).hash(seed=0)).to_series())
    )
    first = suspects.select(LINE, pl.struct(columns).is_first_distinct().alias("__first"))
    return first.filter(~pl.col("__first")).get_column(LINE)


# Below this many suspect rows, comparing whole rows costs less than narrowing further.
_FEW_SUSPECTS = 10_000


def _hash_repeats(hashes: pl.Series) -> pl.Series:
    """Which hashes occur more than once (by sorting: 3x faster than `is_duplicated`)."""
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    if repeated.is_empty():
        return pl.repeat(False, hashes.len(), eager=True)
    return hashes.is_in(repeated.unique().implode())


# Raw columns that hold free text (ticket subjects and bodies, prompts and replies, notes).
FREE_TEXT_COLUMNS = frozenset(
    {
        "subject", "raw_subject", "description", "body", "html_body", "plain_body", "comment",
        "comments", "source_body", "source_subject", "summary", "messages", "response",
        "prompt", "input", "output", "completion", "notes", "note", "text", "content",
        "last comment", "latest comment", "full description", "proxy_server_request",
    }
)  # fmt: skip


def read_and_choose(
    file: InboxFile,
    folder: SourceSettings,
    choices: dict[str, dict[str, str | None]] | None = None,
) -> tuple[str, pl.DataFrame, Adapter | None, SourceSettings]:
    """Read a file and choose its adapter: the configured format, else detection.

    Returns (file format, raw frame, adapter or None for canonical columns, the file's settings:
    `folder` with its format's and its `files` entries' options). Detection must be
    unambiguous: a file that two formats claim is refused with both named. A file whose format's
    options name another encoding is read again in it. Without a configured encoding, a file that
    is not UTF-8 is read in the encoding charset-normalizer detects; `choices["encoding"]` says
    which and why.
    """
    choices = {} if choices is None else choices
    names = file_names(file.source, file.relative_path)
    settings = settings_for(folder, names)
    detected = detect_encoding(file.path) if settings.encoding is None else None
    reading = settings.model_copy(update={"encoding": detected.encoding}) if detected else settings
    fmt, raw, adapter, document = _read_and_detect(file, reading)
    resolved = settings_for(folder, names, adapter.name if adapter else "canonical")
    if resolved.encoding not in (None, reading.encoding) and document is None:
        fmt, raw, adapter, _ = _read_and_detect(file, resolved)
        resolved = settings_for(folder, names, adapter.name if adapter else "canonical")
    if resolved.encoding is not None:
        choices["encoding"] = {"value": resolved.encoding, "chosen_by": "configured"}
    elif detected is not None:
        resolved = resolved.model_copy(update={"encoding": detected.encoding})
        choices["encoding"] = {
            "value": detected.encoding,
            "chosen_by": f"detected by charset-normalizer (confidence {detected.confidence:.2f}):"
            " the file is not UTF-8",
        }
    else:
        choices["encoding"] = {"value": "utf-8", "chosen_by": "default (the file reads as UTF-8)"}
    return fmt, raw, adapter, resolved


def _read_and_detect(
    file: InboxFile, settings: SourceSettings
) -> tuple[str, pl.DataFrame, Adapter | None, object]:
    document: object = None
    not_records = ""
    try:
        fmt, raw = read_raw(file.path, settings.encoding, number_repeated=True)
        sniff = Sniff(
            file.path, columns=frozenset(c for c in raw.columns if c not in (LINE, READ_ERRORS))
        )
    except JsonDocument as doc:
        fmt, raw, document, not_records = "json", pl.DataFrame(), doc.value, str(doc)
        sniff = Sniff(file.path, json_paths=frozenset(json_paths(document)))
    if settings.format == custom_mapping.NAME:
        adapter = custom_mapping.for_source(file.source, settings)
    else:
        adapter = choose_adapter(file.source, settings.format, sniff)
    if document is not None:
        if adapter is None or adapter.read_document is None:
            raise RefusedFile(f"{not_records}; no known export format reads this document")
        raw = adapter.read_document(document)
        if raw.height == 0:
            raise RefusedFile(f"{adapter.title}: the document holds no records")
    if adapter is None:
        repeated = sorted({c.rsplit(REPEATED_MARK, 1)[0] for c in sniff.columns if _numbered(c)})
        if repeated:
            reason = f"repeated column name(s) {repeated}"
            if settings.format == DETECTED:
                reason = _with_closest(reason, file.source, sniff.columns)
            raise RefusedFile(reason)
    return fmt, raw, adapter, document


def _with_closest(reason: str, source: str, columns: Iterable[str]) -> str:
    """A refusal of a file no export format matched, with the closest format named."""
    closest = closest_format(source, [c for c in columns if c not in (LINE, READ_ERRORS)])
    if closest is None:
        return reason
    return f"no known export format; closest: {closest}; read as canonical columns: {reason}"


def _numbered(column: str) -> bool:
    head, _, tail = column.rpartition(REPEATED_MARK)
    return bool(head) and tail.isdigit()


def choose_adapter(source: str, configured: str, sniff: Sniff) -> Adapter | None:
    """The adapter for a file of `source`: configured by name, or detected (None = canonical)."""
    if configured == "canonical":
        return None
    if configured != "auto":
        adapter = ADAPTERS.get(configured)
        if adapter is None or adapter.source != source:
            known = sorted(a.name for a in adapters_for(source))
            raise RefusedFile(
                f"unknown format {configured!r} for {source} files; known: "
                f"{', '.join(['auto', 'canonical', custom_mapping.NAME, *known])}"
            )
        if not adapter.detect(sniff):
            raise RefusedFile(
                f"the file does not look like {adapter.title} (format {configured!r}): "
                f"its columns are {', '.join(sorted(sniff.columns)[:12]) or 'not a table'}"
            )
        return adapter
    matches = [a for a in adapters_for(source) if a.detect(sniff)]
    if len(matches) > 1:
        raise RefusedFile(
            "the file matches several export formats ("
            + ", ".join(sorted(a.name for a in matches))
            + f"); set sources.{source}.format to one of them"
        )
    return matches[0] if matches else None


def _with_derived_ids(target: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Provider bills and ticket labels get a stable id from their other key parts."""
    parts = {
        "provider_costs": (
            "provider", "kind", "bucket_start", "project", "api_key", "model", "line_item",
            "__group__",  # what else the report grouped by (user, tier, region), as text
        ),
        "ticket_labels": ("ticket_id", "name", "value", "labelled_at"),
    }.get(target)  # fmt: skip
    if parts is None:
        return frame
    id_column = SPECS[target].key[0]
    if id_column in frame.columns:
        return frame
    present = [
        pl.col(c).cast(pl.String).fill_null("") if c in frame.columns else pl.lit("") for c in parts
    ]
    joined = pl.concat_str(present, separator="\x1f")
    return frame.with_columns(
        joined.map_elements(stable_id, return_dtype=pl.String).alias(id_column)
    )


def known_input_columns(source: str, columns: list[str]) -> list[str]:
    """The columns of a raw file that the source's canonical columns are made from."""
    spec = SPECS[source]
    known = set(spec.columns) | {
        c for groups in TIMESHEET_ALTERNATIVES.values() for g in groups for c in g
    }
    return [c for c in columns if c in known] or columns[:0]


def _weeks(frame: pl.DataFrame, source: str, timezone: str) -> list[str]:
    """The ISO weeks (in the timezone) the rows' week columns fall in."""
    spec = SPECS[source]
    labels: set[str] = set()
    for column in spec.week_columns:
        is_date = frame.schema[column] == pl.Date
        labels.update(
            _moments(frame, column, is_date)
            .select(week_expr(column, timezone, is_date).alias("w"))
            .get_column("w")
            .drop_nulls()
            .unique()
            .to_list()
        )
    return sorted(labels)


def _moments(frame: pl.DataFrame, column: str, is_date: bool) -> pl.DataFrame:
    """Fewer values of a column with the same local dates in every timezone: the distinct dates,
    or each 15-minute span's first and last timestamp (a span holds at most one local midnight,
    so its first and last rows give every local date in it)."""
    cells = frame.select(pl.col(column).drop_nulls())
    if is_date:
        return cells.unique()
    spans = cells.group_by(pl.col(column).dt.truncate("15m").alias("__span")).agg(
        pl.col(column).min().alias("__first"), pl.col(column).max().alias("__last")
    )
    return pl.concat([spans.select(pl.col(c).alias(column)) for c in ("__first", "__last")])
