"""Canonical frames: raw input cells typed into a source's canonical columns.

Timestamps with an offset are converted to UTC; timestamps without one are read in the pilot's
timezone. A cell that is present but cannot be typed becomes null and leaves a reason in
`__parse_errors__`, so the row is quarantined by the checks rather than silently changed.
"""

from __future__ import annotations

import hashlib

import polars as pl

from models.sources import MAX_ABS_NUMBER, SPECS, TIMESHEET_ALTERNATIVES, SourceSpec
from pipelines.read import LINE, READ_ERRORS, RefusedFile

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
    return pl.when(text.str.len_bytes() == 0).then(None).otherwise(text)


def _trimmed(frame: pl.DataFrame, column: str) -> pl.Series:
    """`_text` of a text column, skipping its `when` (half the time) if no cell ends up empty."""
    text = frame.get_column(column).str.strip_chars()
    if (text.str.len_bytes() == 0).any():
        return frame.select(_text(column).alias(column)).to_series()
    return text


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
        return pl.when(_in_range(number)).then(number).otherwise(None)
    return _text(column)


def _in_range(number: pl.Expr) -> pl.Expr:
    """Finite and at most MAX_ABS_NUMBER in size: sums of such values stay finite."""
    return number.is_finite() & (number.abs() <= MAX_ABS_NUMBER)


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
    text = [c for c in present if spec.columns[c] == "str" and frame.schema[c] == pl.String]
    typed = (
        frame.select(
            pl.col(LINE),
            *(
                _parse_fast(c, spec.columns[c], timezone, frame.schema[c], frame).alias(c)
                for c in present
                if c not in text
            ),
        )
        .with_columns(_trimmed(frame, c) for c in text)
        .select(LINE, *present)
    )
    typed = _parse_remaining(typed, frame, spec, present, timezone)
    # A derived column is named after the input column it came from.
    labels = {"minutes": "duration"} if {"duration"} <= set(raw.columns) - {"minutes"} else {}
    parse_errors = _parse_errors(source, raw, frame, typed, spec, present, labels, timezone)
    return typed.select(
        pl.col(LINE),
        *(
            pl.col(c) if c in present else pl.lit(None, dtype=_dtype(k)).alias(c)
            for c, k in spec.columns.items()
        ),
    ).with_columns(parse_errors)


def _parse_errors(
    source: str,
    raw: pl.DataFrame,
    frame: pl.DataFrame,
    typed: pl.DataFrame,
    spec: SourceSpec,
    present: list[str],
    labels: dict[str, str],
    timezone: str,
) -> pl.Series | pl.Expr:
    """Each row's parse errors (an empty list for most rows), in a fixed order of checks.

    A cheap mask per check (a superset of its failing rows) picks the suspect rows first; the
    messages are built for those rows only, so a large clean file never formats a message.
    """
    # Each check: (the cells it reads, a cheap mask that is true on every failing row, message).
    cells: dict[str, pl.Series] = {}
    masks: list[pl.Series] = []
    messages: list[pl.Expr] = []
    for c in present:
        if (kind := spec.columns[c]) == "str":
            continue
        name = f"__cell{len(cells)}"
        cells[name], cells[f"{name}_typed"] = frame[c], typed[c]
        masks.append(typed[c].is_null() & frame[c].is_not_null())
        unread = _has_text(pl.col(name)) & pl.col(f"{name}_typed").is_null()
        label = pl.lit(labels.get(c, c))
        if kind == "float":
            # A number that is infinite, NaN or too large is named as such, not as "not a number".
            number = pl.col(name).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
            messages.append(
                pl.when(unread & number.is_not_null())
                .then(
                    pl.format(
                        "{}: {} is not a finite number of at most " + f"{MAX_ABS_NUMBER:g} in size",
                        label,
                        _cell(name),
                    )
                )
                .when(unread)
                .then(pl.format("{}: {} is not " + _KIND_WORDS[kind], label, _cell(name)))
                .otherwise(None)
            )
            continue
        messages.append(
            pl.when(unread)
            .then(pl.format("{}: {} is not " + _KIND_WORDS[kind], label, _cell(name)))
            .otherwise(None)
        )
    # PostgreSQL cannot store NUL in text, and no honest export has one: the row is quarantined.
    for c in present:
        if spec.columns[c] == "str" and frame.schema[c] == pl.String:
            name = f"__cell{len(cells)}"
            cells[name] = frame[c]
            masks.append(frame[c].str.contains("\x00", literal=True).fill_null(False))
            messages.append(
                pl.when(pl.col(name).str.contains("\x00", literal=True))
                .then(pl.lit(f"{c}: contains a NUL character"))
                .otherwise(None)
            )
    if source == "timesheets":
        # start/end are read into started_at and minutes: an unreadable one must not vanish.
        for c in ("start", "end"):
            if c in raw.columns:
                name = f"__cell{len(cells)}"
                cells[name] = raw[c]
                cells[f"{name}_typed"] = raw.select(parse_datetime(c, timezone)).to_series()
                masks.append(cells[f"{name}_typed"].is_null() & raw[c].is_not_null())
                messages.append(
                    pl.when(_has_text(pl.col(name)) & pl.col(f"{name}_typed").is_null())
                    .then(pl.format("{}: {} is not a timestamp", pl.lit(c), _cell(name)))
                    .otherwise(None)
                )
    if READ_ERRORS in raw.columns:
        name = f"__cell{len(cells)}"
        cells[name] = raw[READ_ERRORS]
        masks.append(raw[READ_ERRORS].is_not_null())
        messages.append(pl.col(name))
    none = pl.lit([], dtype=pl.List(pl.String))
    if not messages:
        return none.alias(PARSE_ERRORS)
    suspect = pl.select(pl.any_horizontal(masks)).to_series()
    if not suspect.any():
        return none.alias(PARSE_ERRORS)
    found = (
        pl.DataFrame([cell.alias(name) for name, cell in cells.items()])
        .with_row_index("__row")
        .filter(suspect)
        .select("__row", pl.concat_list(messages).list.drop_nulls().alias(PARSE_ERRORS))
    )
    return (
        typed.select(LINE)
        .with_row_index("__row")
        .join(found, on="__row", how="left", maintain_order="left")
        .select(pl.col(PARSE_ERRORS).fill_null(none))
        .to_series()
    )


def _has_text(cell: pl.Expr) -> pl.Expr:
    return cell.is_not_null() & (cell.cast(pl.String).str.strip_chars() != "")


def _cell(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String).str.slice(0, 60)


# Most exports write one ISO 8601 shape with an offset; parse that in one pass and send only the
# rows it misses through the slower multi-format parser.
_FAST_ISO = "%Y-%m-%dT%H:%M:%S%.f%#z"
# The commonest shape of all, UTC with a "Z", is read from its digits (faster than a format).
# The pattern bounds hours, minutes and seconds; an impossible date is null from `to_date`.
_ISO_Z = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?Z$"


def _iso_z(column: str) -> pl.Expr:
    """`YYYY-MM-DDTHH:MM:SS[.ffffff]Z` as UTC; null for any other text or an invalid time.

    Gives exactly what `_FAST_ISO` gives wherever it is not null; the rest goes the slow way.
    Each part is referenced once: an eager select does not share common subexpressions.
    """
    text = pl.col(column)
    day = text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)  # few distinct days
    hour, minute, second = (text.str.slice(i, 2).cast(pl.Int64, strict=False) for i in (11, 14, 17))
    micros = text.str.slice(20).str.strip_chars_end("Z").str.pad_end(6, "0")
    epoch = (
        day.cast(pl.Int64) * 86_400_000_000
        + hour * 3_600_000_000
        + minute * 60_000_000
        + second * 1_000_000
        + micros.cast(pl.Int64, strict=False)
    )
    return pl.when(text.str.contains(_ISO_Z)).then(epoch).cast(UTC_DATETIME)


def _iso_offset(column: str) -> pl.Expr:
    return pl.col(column).str.to_datetime(_FAST_ISO, strict=False, time_zone="UTC", time_unit="us")


def _parse_fast(
    column: str, kind: str, timezone: str, dtype: pl.DataType, frame: pl.DataFrame
) -> pl.Expr:
    if kind == "datetime" and dtype == pl.String:
        # Whichever fast path fits the file's first cells: both give the same instants.
        zulu = frame.get_column(column).head(1000).str.ends_with("Z").mean() or 0.0
        return _iso_z(column) if zulu > 0.5 else _iso_offset(column)
    # Plain numbers in one cast; anything else (spaces, "12.0") goes through the full parse.
    if kind == "int" and dtype == pl.String:
        number = pl.col(column).cast(pl.Int64, strict=False)
        return pl.when(number.abs() < 2**62).then(number)
    if kind == "float" and dtype == pl.String:
        number = pl.col(column).cast(pl.Float64, strict=False)
        return pl.when(_in_range(number)).then(number)
    return _parse(column, kind, timezone, dtype)


def _parse_remaining(
    typed: pl.DataFrame, raw: pl.DataFrame, spec: SourceSpec, present: list[str], timezone: str
) -> pl.DataFrame:
    """The full parse, for the cells the fast path left null."""
    for column in present:
        kind = spec.columns[column]
        if kind not in ("datetime", "int", "float") or raw.schema[column] != pl.String:
            continue
        # A timestamp the "Z" path missed may still have an offset: try that before the rest.
        parsers = [_iso_offset(column)] if kind == "datetime" else []
        for parser in [*parsers, _parse(column, kind, timezone, pl.String())]:
            missed = raw.filter(typed[column].is_null() & raw[column].is_not_null())
            if missed.height == 0:
                break
            slow = missed.select(pl.col(LINE), parser.alias("__slow"))
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
