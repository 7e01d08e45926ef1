"""Helpers the per-request usage adapters share (LiteLLM, Langfuse, Bedrock): vendor times as
UTC, JSON text cells, API pages of records and the bookkeeping columns a transform keeps, and
the option all three read: `task_id_metadata_key`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
from pydantic import Field

from pipelines.adapters.base import AdapterOptions, text
from pipelines.read import LINE, READ_ERRORS, cell_text

DEFAULT_METADATA_KEY = "ticket_id"


class TaskKeyOptions(AdapterOptions):
    """Where a call's task id is recorded in the call's metadata."""

    task_id_metadata_key: str | None = Field(
        default=DEFAULT_METADATA_KEY, description="Metadata key holding the task id; empty: none."
    )


_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M")
_ISO_UTC = "%Y-%m-%dT%H:%M:%S%.6f+00:00"


def utc_datetime(column: str) -> pl.Expr:
    """Vendor ISO-like time text as a UTC Datetime; text without an offset is UTC (null when
    unreadable)."""
    norm = (
        text(column)
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
        .str.replace(r"(?i)z$", "+00:00")
        .str.replace(r"([+-]\d{2})(\d{2})$", "${1}:${2}")
    )
    with_offset = [
        norm.str.to_datetime(f, strict=False, time_zone="UTC", time_unit="us")
        for f in _OFFSET_FORMATS
    ]
    naive = [
        norm.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
        for f in _NAIVE_FORMATS
    ]
    return pl.coalesce([*with_offset, *naive])


def utc_text(column: str) -> pl.Expr:
    """Vendor time text as ISO text in UTC (`+00:00`); unreadable text passes through unchanged."""
    parsed = utc_datetime(column)
    return pl.when(parsed.is_not_null()).then(parsed.dt.strftime(_ISO_UTC)).otherwise(text(column))


def json_text(expr: pl.Expr) -> pl.Expr:
    """JSON text of a cell; a JSON document exported as one JSON-encoded string is unwrapped."""
    quoted = expr.str.starts_with('"') & expr.str.ends_with('"')
    unwrapped = (
        expr.str.slice(1, expr.str.len_chars() - 2)
        .str.replace_all(r"\"", '"', literal=True)
        .str.replace_all(r"\\", "\\", literal=True)
    )
    return pl.when(quoted).then(unwrapped).otherwise(expr)


def json_field(column: str, path: str, columns: Iterable[str]) -> pl.Expr:
    """A value inside a JSON-text cell (`$.a.b`) as trimmed text; null when the column is absent."""
    if column not in set(columns):
        return pl.lit(None, dtype=pl.String)
    value = json_text(text(column)).str.json_path_match(path).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def first_text(columns: Iterable[str], *names: str) -> pl.Expr:
    """The first non-empty of the named raw columns that the frame has (null when none)."""
    present = set(columns)
    found = [text(n) for n in names if n in present]
    return pl.coalesce(found) if found else pl.lit(None, dtype=pl.String)


def number_text(expr: pl.Expr) -> pl.Expr:
    """A number as text with a dot, e.g. `1834` or `0.0123` (null stays null)."""
    return expr.cast(pl.Float64).cast(pl.String).str.replace(r"\.0$", "")


def records_frame(records: Any) -> pl.DataFrame:
    """JSON records (a page's `data` list) as a raw frame: text cells, lower-case column names,
    nested values as JSON text, `__line__` = record number from 1. Items that are not records
    become empty rows with a read error, so they are quarantined rather than lost."""
    items = records if isinstance(records, list) else []
    rows = [item if isinstance(item, dict) else {} for item in items]
    columns = list(dict.fromkeys(str(k).strip().lower() for item in rows for k in item))
    data: dict[str, list[str | None]] = {c: [] for c in columns}
    for item in rows:
        lowered = {str(k).strip().lower(): v for k, v in item.items()}
        for c in columns:
            data[c].append(cell_text(lowered.get(c)))
    frame = pl.DataFrame(data, schema={c: pl.String for c in columns}, height=len(rows))
    errors = [None if isinstance(item, dict) else "record is not a JSON object" for item in items]
    frame = frame.with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.UInt32))
    if any(errors):
        frame = frame.with_columns(pl.Series(READ_ERRORS, errors, dtype=pl.String))
    return frame


def page_records(value: Any) -> pl.DataFrame:
    """The `data` list of an API page (`{"data": [...], ...}`) as a raw frame."""
    return records_frame(value.get("data") if isinstance(value, dict) else None)


def keep_line(raw: pl.DataFrame) -> list[str]:
    """The bookkeeping columns a transform keeps: `__line__` and `__read_errors__` if present."""
    return [c for c in (LINE, READ_ERRORS) if c in raw.columns]
