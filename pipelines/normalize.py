"""Canonical frames: raw input cells typed into a source's canonical columns.

Timestamps with an offset are converted to UTC; timestamps without one are read in the pilot's
timezone. A cell that is present but cannot be typed becomes null and leaves a reason in
`__parse_errors__`, so the row is quarantined by the checks rather than silently changed.
"""

from __future__ import annotations

import hashlib

import polars as pl

from pipelines.read import LINE, READ_ERRORS, RefusedFile
from pipelines.sources import SPECS, TIMESHEET_ALTERNATIVES, SourceSpec

PARSE_ERRORS = "__parse_errors__"
UTC_DATETIME = pl.Datetime("us", "UTC")

_TRUE = ("true", "t", "yes", "y", "1", "1.0")
_FALSE = ("false", "f", "no", "n", "0", "0.0")
_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def boolean_text(value: pl.Expr) -> pl.Expr:
    """A text cell as a boolean: true/false, yes/no, 1/0 and the like; anything else is null."""
    lowered = value.str.to_lowercase()
    return pl.when(lowered.is_in(_TRUE)).then(True).when(lowered.is_in(_FALSE)).then(False)


def _text(column: str) -> pl.Expr:
    """A cell as trimmed text, empty meaning missing."""
    text = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def parse_datetime(column: str, timezone: str) -> pl.Expr:
    """UTC timestamps from ISO 8601 text; text without an offset is local time in `timezone`."""
    text = (
        _text(column)
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
        .str.replace(r"(?i)z$", "+00:00")
        .str.replace(r"([+-]\d{2})(\d{2})$", "${1}:${2}")
    )
    with_offset = pl.coalesce(
        [
            text.str.to_datetime(f, strict=False, time_zone="UTC", time_unit="us")
            for f in _OFFSET_FORMATS
        ]
    )
    naive = pl.coalesce(
        [text.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE_FORMATS]
    )
    local = naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    return pl.coalesce([with_offset, local.dt.convert_time_zone("UTC")])


def _parse(column: str, kind: str, timezone: str, dtype: pl.DataType) -> pl.Expr:
    if kind == "datetime":
        if isinstance(dtype, pl.Datetime):
            expr = pl.col(column)
            if dtype.time_zone is None:
                expr = expr.dt.replace_time_zone(
                    timezone, ambiguous="earliest", non_existent="null"
                )
            return expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        return parse_datetime(column, timezone)
    if kind == "date":
        if dtype == pl.Date:
            return pl.col(column)
        return _text(column).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    if kind == "bool":
        if dtype == pl.Boolean:
            return pl.col(column)
        return boolean_text(_text(column))
    if kind in ("int", "float") and dtype == pl.Boolean:
        return pl.lit(None, dtype=pl.Int64 if kind == "int" else pl.Float64)  # true is no count
    if kind == "int":
        number = (
            _text(column).cast(pl.Float64, strict=False)
            if dtype == pl.String
            else pl.col(column).cast(pl.Float64, strict=False)
        )
        whole = number.is_finite() & (number == number.floor()) & (number.abs() < 2**62)
        return pl.when(whole).then(number).otherwise(None).cast(pl.Int64)
    if kind == "float":
        number = (
            _text(column).cast(pl.Float64, strict=False)
            if dtype == pl.String
            else pl.col(column).cast(pl.Float64, strict=False)
        )
        return pl.when(number.is_finite()).then(number).otherwise(None)
    return _text(column)


_KIND_WORDS = {
    "datetime": "a timestamp",
    "date": "a date (YYYY-MM-DD)",
    "bool": "a boolean (true/false, yes/no, 1/0)",
    "int": "a whole number",
    "float": "a number",
}


def stable_id(text: str) -> str:
    # A derived key must be the same on every machine and polars version: re-ingest relies on it.
    return "h" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def _timesheet_columns(raw: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Timesheet entries with `minutes`, `work_date`, `started_at` and `entry_id` derived."""
    cols = set(raw.columns)
    exprs: list[pl.Expr] = []
    start_col = "start" if "start" in cols else "started_at" if "started_at" in cols else None
    if start_col:
        exprs.append(parse_datetime(start_col, timezone).alias("__start"))
    if "end" in cols:
        exprs.append(parse_datetime("end", timezone).alias("__end"))
    frame = raw.with_columns(exprs) if exprs else raw
    derived: list[pl.Expr] = []
    if "minutes" not in cols:
        if "duration" in cols:
            text = _text("duration")
            hms = text.str.extract_groups(r"^(\d+):(\d{1,2})(?::(\d{1,2}))?$")
            hms_minutes = (
                hms.struct.field("1").cast(pl.Float64) * 60
                + hms.struct.field("2").cast(pl.Float64)
                + hms.struct.field("3").cast(pl.Float64).fill_null(0) / 60
            )
            hours = text.cast(pl.Float64, strict=False) * 60
            # An unreadable duration stays text so the minutes check names it.
            derived.append(
                pl.coalesce([hms_minutes, hours]).cast(pl.String).fill_null(text).alias("minutes")
            )
        elif {"__start", "__end"} <= set(frame.columns):
            derived.append(
                ((pl.col("__end") - pl.col("__start")).dt.total_seconds() / 60)
                .cast(pl.String)
                .alias("minutes")
            )
    if "date" in cols:
        derived.append(pl.col("date").alias("work_date"))
    elif "__start" in frame.columns:
        derived.append(
            pl.col("__start")
            .dt.convert_time_zone(timezone)
            .dt.date()
            .cast(pl.String)
            .alias("work_date")
        )
    if "__start" in frame.columns:
        derived.append(pl.col("__start").alias("started_at"))
    frame = frame.with_columns(derived) if derived else frame
    if "entry_id" not in cols:
        parts = [
            pl.col(c).cast(pl.String).fill_null("")
            for c in ("person", "work_date", "minutes", "ticket_id")
            if c in frame.columns
        ]
        if "started_at" in frame.columns:
            parts.append(pl.col("started_at").cast(pl.String).fill_null(""))
        frame = frame.with_columns(
            pl.concat_str(parts, separator="|")
            .map_elements(stable_id, return_dtype=pl.String)
            .alias("entry_id")
        )
    return frame.drop([c for c in ("__start", "__end") if c in frame.columns])


def missing_required(spec: SourceSpec, columns: list[str]) -> list[str]:
    """Required canonical columns a raw frame lacks (timesheet alternatives considered)."""
    present = set(columns)
    missing: list[str] = []
    for name in spec.required:
        if spec.name == "timesheets" and name in ("work_date", "minutes", "entry_id"):
            if name == "entry_id":
                continue
            options = TIMESHEET_ALTERNATIVES["date" if name == "work_date" else "minutes"]
            if not any(set(group) <= present for group in options):
                missing.append(" or ".join("+".join(g) for g in options))
            continue
        if name not in present:
            missing.append(name)
    return missing


def to_canonical(source: str, raw: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """Type a raw frame into the source's canonical columns plus `__line__` and parse errors.

    Raises RefusedFile when required columns are missing. Unknown extra columns are left out.
    """
    spec = SPECS[source]
    missing = missing_required(spec, raw.columns)
    if missing:
        raise RefusedFile(f"missing required column(s): {', '.join(missing)}")
    frame = _timesheet_columns(raw, timezone) if source == "timesheets" else raw
    present = [c for c in spec.columns if c in frame.columns]
    typed = frame.select(
        pl.col(LINE),
        *(_parse_fast(c, spec.columns[c], timezone, frame.schema[c]).alias(c) for c in present),
    )
    typed = _parse_remaining(typed, frame, spec, present, timezone)
    # A derived column is named after the input column it came from.
    labels = {"minutes": "duration"} if {"duration"} <= set(raw.columns) - {"minutes"} else {}
    errors = [
        pl.when(_has_text(frame[c]) & typed[c].is_null())
        .then(
            pl.format(
                "{}: {} is not " + _KIND_WORDS[kind], pl.lit(labels.get(c, c)), _cell(frame[c])
            )
        )
        .otherwise(None)
        for c in present
        if (kind := spec.columns[c]) != "str"
    ]
    # PostgreSQL cannot store NUL in text, and no honest export has one: the row is quarantined.
    errors += [
        pl.when(pl.lit(frame[c]).cast(pl.String).str.contains("\x00", literal=True))
        .then(pl.lit(f"{c}: contains a NUL character"))
        .otherwise(None)
        for c in present
        if spec.columns[c] == "str" and frame.schema[c] == pl.String
    ]
    if source == "timesheets":
        # start/end are read into started_at and minutes: an unreadable one must not vanish.
        errors += [
            pl.when(
                _has_text(raw[c])
                & pl.lit(raw.select(parse_datetime(c, timezone)).to_series()).is_null()
            )
            .then(pl.format("{}: {} is not a timestamp", pl.lit(c), _cell(raw[c])))
            .otherwise(None)
            for c in ("start", "end")
            if c in raw.columns
        ]
    if READ_ERRORS in raw.columns:
        errors.append(pl.lit(raw[READ_ERRORS]))
    parse_errors = (
        pl.concat_list(errors).list.drop_nulls() if errors else pl.lit([], dtype=pl.List(pl.String))
    )
    return typed.select(
        pl.col(LINE),
        *(
            pl.col(c) if c in present else pl.lit(None, dtype=_dtype(k)).alias(c)
            for c, k in spec.columns.items()
        ),
        parse_errors.alias(PARSE_ERRORS),
    )


def _has_text(series: pl.Series) -> pl.Expr:
    return pl.lit(series.is_not_null() & (series.cast(pl.String).str.strip_chars() != ""))


def _cell(series: pl.Series) -> pl.Expr:
    return pl.lit(series.cast(pl.String).str.slice(0, 60))


# Most exports write one ISO 8601 shape with an offset; parse that in one pass and send only the
# rows it misses through the slower multi-format parser.
_FAST_ISO = "%Y-%m-%dT%H:%M:%S%.f%#z"


def _parse_fast(column: str, kind: str, timezone: str, dtype: pl.DataType) -> pl.Expr:
    if kind == "datetime" and dtype == pl.String:
        return pl.col(column).str.to_datetime(
            _FAST_ISO, strict=False, time_zone="UTC", time_unit="us"
        )
    # Plain numbers in one cast; anything else (spaces, "12.0") goes through the full parse.
    if kind == "int" and dtype == pl.String:
        number = pl.col(column).cast(pl.Int64, strict=False)
        return pl.when(number.abs() < 2**62).then(number)
    if kind == "float" and dtype == pl.String:
        number = pl.col(column).cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number)
    return _parse(column, kind, timezone, dtype)


def _parse_remaining(
    typed: pl.DataFrame, raw: pl.DataFrame, spec: SourceSpec, present: list[str], timezone: str
) -> pl.DataFrame:
    """The full parse, for the cells the fast path left null."""
    for column in present:
        kind = spec.columns[column]
        if kind not in ("datetime", "int", "float") or raw.schema[column] != pl.String:
            continue
        missed = raw.filter(typed[column].is_null() & raw[column].is_not_null())
        if missed.height == 0:
            continue
        slow = missed.select(
            pl.col(LINE), _parse(column, kind, timezone, pl.String()).alias("__slow")
        )
        typed = (
            typed.join(slow, on=LINE, how="left", maintain_order="left")
            .with_columns(pl.coalesce(column, "__slow").alias(column))
            .drop("__slow")
        )
    return typed


def _dtype(kind: str) -> pl.DataType:
    return {
        "str": pl.String(),
        "int": pl.Int64(),
        "float": pl.Float64(),
        "bool": pl.Boolean(),
        "datetime": UTC_DATETIME,
        "date": pl.Date(),
    }[kind]
