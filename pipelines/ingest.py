"""Prepared input files: one inbox file read, typed, checked and priced, ready to load.

`prepare_file` never raises for bad input: an unreadable file comes back refused with its
reason; bad rows come back quarantined with every reason. For every file
rows_read = rows_valid + rows_quarantined + rows_duplicate_in_file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from checks.validate import REASONS, validate_batch
from models.operating_model import SOURCES, OperatingModel
from pipelines.normalize import to_canonical
from pipelines.read import LINE, READ_ERRORS, RefusedFile, file_sha256, read_raw
from pipelines.sources import SPECS, TIMESHEET_ALTERNATIVES
from pipelines.usage_costs import price_usage
from pipelines.weeks import week_expr

INPUT_SUFFIXES = {".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"}


@dataclass(frozen=True)
class InboxFile:
    """A file found in a pilot's inbox."""

    source: str
    path: Path
    relative_path: str
    sha256: str
    exported_at: dt.datetime  # the file's modification time: newest export wins
    outside_inbox: bool = False  # a link pointing out of the inbox: refused, never read


@dataclass
class PreparedFile:
    """A file after reading and checks, before loading."""

    file: InboxFile
    format: str | None
    refused: str | None
    rows_read: int = 0
    rows_duplicate_in_file: int = 0
    valid: pl.DataFrame = field(default_factory=pl.DataFrame)
    quarantined: pl.DataFrame = field(default_factory=pl.DataFrame)  # __line__, raw, reasons
    weeks: list[str] = field(default_factory=list)


def list_inbox(inbox: Path) -> list[InboxFile]:
    """Input files under `<inbox>/<source>/`, oldest export first (path breaks ties)."""
    found: list[InboxFile] = []
    root = inbox.resolve()
    for source in SOURCES:
        folder = inbox / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name.startswith("."):
                continue
            inside = path.resolve().is_relative_to(root)
            stat = path.stat() if inside else path.lstat()
            found.append(
                InboxFile(
                    source=source,
                    path=path,
                    relative_path=path.relative_to(inbox).as_posix(),
                    sha256=file_sha256(path)
                    if inside
                    else hashlib.sha256(str(path.resolve()).encode()).hexdigest(),
                    exported_at=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(
                        microsecond=0
                    ),
                    outside_inbox=not inside,
                )
            )
    return sorted(found, key=lambda f: (f.exported_at, f.relative_path))


def prepare_file(
    file: InboxFile, model: OperatingModel, now_utc: dt.datetime | None = None
) -> PreparedFile:
    """Read, type, de-duplicate, check and price one inbox file."""
    if file.outside_inbox:
        return PreparedFile(file, None, "links to a file outside the inbox; not read")
    settings = model.source(file.source)
    if settings.format != "canonical":
        return PreparedFile(file, None, f"format {settings.format!r} has no adapter yet")
    if file.path.suffix.lower() not in INPUT_SUFFIXES:
        return PreparedFile(file, None, f"unsupported file type {file.path.suffix or '(none)'!r}")
    try:
        fmt, raw = read_raw(file.path, settings.encoding)
        canonical = to_canonical(file.source, raw, model.timezone)
    except RefusedFile as exc:
        return PreparedFile(file, None, str(exc))
    rows_read = raw.height

    # An exact repeat of an earlier line is a duplicate, not a conflict: keep the first.
    data_columns = [c for c in raw.columns if c not in (LINE, READ_ERRORS)]
    first = raw.select(LINE, pl.struct(data_columns).is_first_distinct().alias("__first"))
    repeated_lines = first.filter(~pl.col("__first")).get_column(LINE)
    canonical = canonical.filter(~pl.col(LINE).is_in(repeated_lines.implode()))

    batch = validate_batch(file.source, canonical, now_utc)
    if batch.refused:
        return PreparedFile(file, fmt, batch.refused, rows_read=rows_read)

    bad = batch.quarantined
    # Free text a help desk exports (subjects, bodies, comments) is not kept, not even in the
    # quarantine, unless the operating model asks for it.
    kept = (
        data_columns
        if settings.keep_extra_columns
        else known_input_columns(file.source, data_columns)
    )
    raw_bad = raw.join(bad, on=LINE, how="inner").select(
        LINE,
        pl.struct([pl.col(c).cast(pl.String) for c in kept]).struct.json_encode().alias("raw"),
        pl.col(REASONS).alias("reasons"),
    )
    valid = batch.valid
    if file.source == "usage":
        valid = price_usage(valid, model.costs.prices)
    spec = SPECS[file.source]
    content = [c for c in spec.columns]
    valid = valid.with_columns(pl.struct(content).hash(seed=0).cast(pl.String).alias("row_hash"))
    weeks = _weeks(canonical, file.source, model.timezone)
    return PreparedFile(
        file,
        fmt,
        None,
        rows_read=rows_read,
        rows_duplicate_in_file=repeated_lines.len(),
        valid=valid,
        quarantined=raw_bad,
        weeks=weeks,
    )


def known_input_columns(source: str, columns: list[str]) -> list[str]:
    """The columns of a raw file that the source's canonical columns are made from."""
    spec = SPECS[source]
    known = set(spec.columns) | {
        c for groups in TIMESHEET_ALTERNATIVES.values() for g in groups for c in g
    }
    return [c for c in columns if c in known] or columns[:0]


def _weeks(frame: pl.DataFrame, source: str, timezone: str) -> list[str]:
    spec = SPECS[source]
    labels: set[str] = set()
    for column in spec.week_columns:
        is_date = frame.schema[column] == pl.Date
        labels.update(
            frame.select(week_expr(column, timezone, is_date).alias("w"))
            .get_column("w")
            .drop_nulls()
            .unique()
            .to_list()
        )
    return sorted(labels)
