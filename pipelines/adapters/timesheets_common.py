"""Helpers the timesheet adapters share (Toggl, Harvest, Clockify): dates and wall-clock times
read in the person's timezone, durations in their many spellings, ticket ids found in free text,
and activities from the configured `activity_map`.

Options read here (`sources.timesheets.<name>`; `ActivityOptions`, `ClockOptions`):

- `activity_map` ({key: activity}, default none): keys are compared case-insensitively with the
  entry's tags, then its task, project and client (equal), then its description or notes (the
  key occurs in it); the first field with a matching key decides, and within a field the first
  key written. Values should be canonical activities (review, rework, escalation, maintenance,
  other); anything else is quarantined by the checks.
- `default_activity` (default none): the activity of entries no key matches. Without it such an
  entry has no activity and is quarantined (`activity is missing`): time nobody classified is not
  silently counted as `other`, which the human cost leaves out. Set it to `other` to say that
  unclassified time is not pilot work.
- `ticket_id_pattern` (default `#(\\d+)|\\[([A-Z][A-Z0-9]+-\\d+)\\]`: `#48213`, `ZD#48213`,
  `[SUP-1042]`): regular expression searched in the description, then the tags; the ticket id
  is the first capture group that matched, or the whole match when the pattern has no group.
  Entries where nothing matches have no ticket id. An empty pattern turns this off.
- `person_timezones` ({email or user name: IANA timezone}, default none) and `timezone`
  (default the pilot's timezone): the zone wall-clock times are read in, per person.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from pydantic import AfterValidator, Field

from pipelines.adapters.base import AdapterContext, AdapterOptions, TextMap, text
from pipelines.adapters.date_order import infer_date_order
from pipelines.read import READ_ERRORS

DEFAULT_TICKET_PATTERN = r"#(\d+)|\[([A-Z][A-Z0-9]+-\d+)\]"
_TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "%I:%M:%S%p", "%I:%M%p")
_UTC_TEXT = "%Y-%m-%dT%H:%M:%S+00:00"
_HMS = r"^\d+:\d{1,2}(:\d{1,2})?$"
_DECIMAL = r"^\d+(\.\d+)?$|^\.\d+$"
_COMPACT = r"^(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s(?:ec)?)?$"


# ---------------------------------------------------------------------------------------------
# Options


def _known_zone(value: str | None) -> str | None:
    if value is not None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
    return value


def _known_zones(value: dict[str, str]) -> dict[str, str]:
    for zone in value.values():
        _known_zone(zone)
    return value


def _regular_expression(value: str | None) -> str | None:
    """A pattern both Python and polars read (polars' engine knows no look-around)."""
    if value:
        try:
            groups = re.compile(value).groups
            pl.Series([""]).str.extract(value if groups else f"({value})", 1)
        except (re.error, pl.exceptions.PolarsError) as exc:
            raise ValueError(f"{value!r} is not a regular expression") from exc
    return value


DateOrder = Literal["month_first", "day_first"]

# A keyword `activity_map` that classifies the entries pilots typically log (what `check`
# without a pilot, and the example pilot, use): review and QA, rework and fixes, escalations.
TYPICAL_ACTIVITY_MAP = {
    "review": "review",
    "rework": "rework",
    "escalation": "escalation",
    "maintenance": "maintenance",
    "other": "other",
    "qa": "review",
    "quality check": "review",
    "fix": "rework",
    "correction": "rework",
    "escalated": "escalation",
}


class ActivityOptions(AdapterOptions):
    """How a time entry's activity and ticket id are found (every timesheet adapter)."""

    activity_map: TextMap = Field(
        default={}, description="{key: activity}: a key matching a tag, task or words decides."
    )
    default_activity: str | None = Field(
        default=None, description="The activity of entries no key matches (else quarantined)."
    )
    ticket_id_pattern: Annotated[str | None, AfterValidator(_regular_expression)] = Field(
        default=DEFAULT_TICKET_PATTERN,
        description="Regular expression finding the ticket id in free text; empty: none.",
    )


class ClockOptions(ActivityOptions):
    """Options of exports with wall-clock times: the zone each person's times are read in."""

    person_timezones: Annotated[TextMap, AfterValidator(_known_zones)] = Field(
        default={}, description="{email or user name: IANA timezone} of people not in timezone."
    )
    timezone: Annotated[str | None, AfterValidator(_known_zone)] = Field(
        default=None, description="IANA timezone wall-clock times are read in; default the pilot's."
    )


# ---------------------------------------------------------------------------------------------
# Dates, times and durations


def date_order(
    raw: pl.DataFrame,
    ctx: AdapterContext,
    configured: str | None,
    columns: Sequence[str],
    timezone: str | None = None,
) -> str | None:
    """The order the file's year-last dates are read in (proven by the file, else `configured`,
    else the timezone's convention), recorded with its reason for `check`."""
    choice = infer_date_order(raw, columns, configured, timezone or ctx.operating_model.timezone)
    ctx.choices["date_order"] = {"value": choice.order, "chosen_by": choice.reason}
    return choice.order


def read_date(column: str, order: str | None) -> pl.Expr:
    """A local date: `YYYY-MM-DD` (padding lenient), `DD.MM.YYYY`, and year-last dates with `/`
    or `-` in `order` (month_first, day_first; None: not read). Null when unreadable."""
    value = text(column)
    formats = ["%Y-%m-%d", "%d.%m.%Y"]
    if order == "month_first":
        formats += ["%m/%d/%Y", "%m-%d-%Y"]
    elif order == "day_first":
        formats += ["%d/%m/%Y", "%d-%m-%Y"]
    # Year first is only ISO; a two-digit year or a trailing time is not guessed at.
    iso = value.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}$")
    other = value.str.contains(r"^\d{1,2}[./-]\d{1,2}[./-]\d{4}$")
    parsed = pl.coalesce([value.str.to_date(f, strict=False) for f in formats])
    return pl.when(iso | other).then(parsed).otherwise(None)


def date_text(column: str, order: str | None) -> pl.Expr:
    """A local date as `YYYY-MM-DD` text; unreadable text passes through unchanged."""
    return pl.coalesce(read_date(column, order).dt.strftime("%Y-%m-%d"), text(column))


def read_time(column: str) -> pl.Expr:
    """A wall-clock time, 24-hour or 12-hour (`01:30:00 PM`). Null when unreadable."""
    value = text(column).str.to_uppercase()
    return pl.coalesce([value.str.to_time(f, strict=False) for f in _TIME_FORMATS])


def duration_value(value: pl.Expr) -> pl.Expr:
    """A duration as text the canonical typing reads (`H:MM:SS`, `H:MM` or decimal hours with a
    dot), from those, decimal commas, `0.79 h` or `47m 6s`. Null when unreadable."""
    value = value.str.strip_chars()
    decimal = value.str.replace(r"(?i)\s*h(ours?)?$", "").str.replace(",", ".", literal=True)
    compact = value.str.to_lowercase().str.extract_groups(_COMPACT)
    parts = [compact.struct.field(g).cast(pl.Int64) for g in ("1", "2", "3")]
    any_part = parts[0].is_not_null() | parts[1].is_not_null() | parts[2].is_not_null()
    seconds = parts[0].fill_null(0) * 3600 + parts[1].fill_null(0) * 60 + parts[2].fill_null(0)
    return (
        pl.when(value.str.contains(_HMS))
        .then(value)
        .when(decimal.str.contains(_DECIMAL))
        .then(decimal)
        .when(any_part)
        .then(hms_text(seconds))
        .otherwise(None)
    )


def hms_text(seconds: pl.Expr) -> pl.Expr:
    """Whole seconds as `H:MM:SS` text (a negative count keeps its sign and is not readable)."""
    size = seconds.abs()
    return pl.format(
        "{}{}:{}:{}",
        pl.when(seconds < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        size // 3600,
        (size % 3600 // 60).cast(pl.String).str.zfill(2),
        (size % 60).cast(pl.String).str.zfill(2),
    )


def zone_of(
    options: ClockOptions, pilot_zone: str, who: Sequence[pl.Expr]
) -> tuple[pl.Expr, list[str]]:
    """Each row's IANA timezone (from `person_timezones` by the first of `who` listed there, else
    the `timezone` option, else the pilot's), and every zone that can occur."""
    people = {k.lower(): v for k, v in options.person_timezones.items()}
    fallback = options.timezone or pilot_zone
    listed = [
        w.str.strip_chars()
        .str.to_lowercase()
        .replace_strict(people, default=None, return_dtype=pl.String)
        for w in who
    ]
    zone = pl.coalesce([*listed, pl.lit(fallback)]) if people else pl.lit(fallback)
    return zone, sorted({fallback, *people.values()})


def local_instant(date: pl.Expr, time: pl.Expr, zone: pl.Expr, zones: list[str]) -> pl.Expr:
    """UTC instants of a local date and time in each row's zone. Null when either is missing,
    or the time does not exist there (skipped by a DST change); a repeated hour reads as the
    earlier of the two."""
    naive = date.dt.combine(time)
    chain: Any = pl
    for name in zones:
        chain = chain.when(zone == name).then(
            naive.dt.replace_time_zone(name, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            .dt.cast_time_unit("us")
        )
    return chain.otherwise(None)


def instant_text(instant: pl.Expr) -> pl.Expr:
    """A UTC instant as ISO text with its offset, so it is not read in the pilot's zone again."""
    return instant.dt.strftime(_UTC_TEXT)


def timestamp_problem(
    label: str, date: pl.Expr, time: pl.Expr, parsed_date: pl.Expr, instant: pl.Expr, zone: pl.Expr
) -> pl.Expr:
    """Why a readable date with a time gave no instant (the reason names the vendor columns)."""
    return (
        pl.when(parsed_date.is_not_null() & time.is_not_null() & instant.is_null())
        .then(
            pl.format(
                "{}: {} {} is not a time of day in {}",
                pl.lit(label),
                date,
                time.str.slice(0, 40),
                zone,
            )
        )
        .otherwise(None)
    )


def with_reasons(frame: pl.DataFrame, reasons: Sequence[pl.Expr]) -> pl.DataFrame:
    """`__read_errors__` with these reasons added (for what the canonical typing cannot see)."""
    parts = [pl.col(READ_ERRORS)] if READ_ERRORS in frame.columns else []
    if not parts and not reasons:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias(READ_ERRORS))
    joined = pl.concat_str([*parts, *reasons], separator="; ", ignore_nulls=True)
    return frame.with_columns(pl.when(joined == "").then(None).otherwise(joined).alias(READ_ERRORS))


# ---------------------------------------------------------------------------------------------
# Tickets and activities


def entry_columns(
    raw: pl.DataFrame,
    options: ActivityOptions,
    tags: pl.Expr | None,
    start_date: pl.Expr,
    start: pl.Expr,
    zone: pl.Expr,
) -> list[pl.Expr]:
    """activity, ticket_id and the start-time problem of a Toggl or Clockify detailed export
    (the two share these columns: Description, Tags, Task/Project/Client, Start date/time)."""
    return [
        activity(
            options,
            tags,
            exact=[optional(raw, c) for c in ("task", "project", "client")],
            keywords=[text("description")],
        ).alias("activity"),
        ticket_id(options, [text("description"), optional(raw, "tags")]).alias("ticket_id"),
        timestamp_problem(
            "start date, start time",
            text("start date"),
            text("start time"),
            start_date,
            start,
            zone,
        ).alias("__problem"),
    ]


def ticket_id(options: ActivityOptions, fields: Sequence[pl.Expr]) -> pl.Expr:
    """The ticket id found by `ticket_id_pattern` in the first of `fields` that has one."""
    pattern = options.ticket_id_pattern
    if not pattern:
        return pl.lit(None, dtype=pl.String)
    groups = re.compile(pattern).groups
    found: list[pl.Expr] = []
    for field in fields:
        if groups:
            found += [field.str.extract(pattern, i) for i in range(1, groups + 1)]
        else:
            found.append(field.str.extract(f"({pattern})", 1))
    cleaned = [f.str.strip_chars() for f in found]
    return pl.coalesce([pl.when(f == "").then(None).otherwise(f) for f in cleaned])


def tag_list(column: str) -> pl.Expr:
    """A comma-separated tag cell as a list of lower-case tags."""
    return text(column).str.split(",").list.eval(pl.element().str.strip_chars().str.to_lowercase())


def activity(
    options: ActivityOptions,
    tags: pl.Expr | None,
    exact: Sequence[pl.Expr],
    keywords: Sequence[pl.Expr],
) -> pl.Expr:
    """The activity from `activity_map`, else `default_activity`, else null (unknown:
    quarantined). The most specific field decides: a tag, then each of `exact` in turn (equal to
    a key), then a key found in `keywords`; within one field the first key written wins."""
    default = options.default_activity
    keys = [(k.lower(), v) for k, v in options.activity_map.items() if k]
    tests: list[Callable[[str], pl.Expr]] = []
    if tags is not None:
        tests.append(lambda word: tags.list.contains(word))
    for field in exact:
        lowered = field.str.strip_chars().str.to_lowercase()
        tests.append(lambda word, lowered=lowered: lowered == word)
    for field in keywords:
        lowered = field.str.to_lowercase()
        tests.append(lambda word, lowered=lowered: lowered.str.contains(word, literal=True))
    levels: list[pl.Expr] = []
    for test in tests if keys else []:
        chain: Any = pl
        for word, value in keys:
            chain = chain.when(test(word).fill_null(False)).then(pl.lit(value))
        levels.append(chain.otherwise(None))
    fallback = pl.lit(default.strip() if default else None, dtype=pl.String)
    return pl.coalesce([*levels, fallback])


def stable_id(parts: Sequence[pl.Expr]) -> pl.Expr:
    """A key hashed from text parts, the same on every machine (as the canonical derivation)."""
    joined = pl.concat_str([p.cast(pl.String).fill_null("") for p in parts], separator="|")
    return joined.map_elements(
        lambda s: "h" + hashlib.sha1(s.encode("utf-8")).hexdigest()[:20], return_dtype=pl.String
    )


def optional(raw: pl.DataFrame, column: str) -> pl.Expr:
    """A raw cell as trimmed text, or null when the export lacks the column."""
    return text(column) if column in raw.columns else pl.lit(None, dtype=pl.String)
