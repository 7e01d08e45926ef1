"""Helpers the help-desk adapters share (Zendesk, Freshdesk, Jira, Intercom): status words,
the AI-draft options, naive UTC timestamps, superseded versions of a record, configured columns
and vendor date formats.

The options every ticket adapter reads (`TicketOptions`, under `sources.tickets`):
`category_field`, `ai_draft_tags`, `ai_draft_field`, `draft_outcome_tags`, `draft_outcome_field`
and `status_map`; exports dated in the account's locale add `date_format`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import polars as pl
from pydantic import Field

from models.sources import DRAFT_OUTCOMES, TICKET_STATUSES
from pipelines.adapters.base import AdapterOptions, TextList, TextMap, text
from pipelines.read import LINE, READ_ERRORS, RefusedFile

CANONICAL_STATUSES = {s: s for s in TICKET_STATUSES}

DRAFT_MAPPING = {
    "ai_draft_used": "option ai_draft_field (true/false), else true when the ticket has one of "
    "the option ai_draft_tags and false when its tags lack them; unknown (null) otherwise",
    "draft_outcome": "option draft_outcome_field, else the outcome of the first option "
    "draft_outcome_tags tag the ticket has; unknown (null) otherwise",
}


def deleted_ticket(status: pl.Expr) -> pl.Expr:
    """The skip reason of a ticket the help desk marks deleted (not a ticket any more)."""
    return (
        pl.when(status.str.to_lowercase() == "deleted")
        .then(pl.lit("deleted ticket"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def keep_columns(raw: pl.DataFrame) -> list[pl.Expr]:
    """`__line__` and, when present, `__read_errors__`: what every adapter output keeps."""
    return [pl.col(c) for c in (LINE, READ_ERRORS) if c in raw.columns]


def column_text(raw: pl.DataFrame, name: str) -> pl.Expr:
    """A raw column as trimmed text, or null text when the file has no such column."""
    return text(name) if name in raw.columns else pl.lit(None, dtype=pl.String)


class DraftOptions(AdapterOptions):
    """How AI-draft use and draft outcomes are read from tags and fields: by the ticket adapters,
    and from ticket labels (tags, field history) when tickets are completed."""

    ai_draft_tags: TextList = Field(
        default=[], description="Tags meaning an AI draft was used (false when tags lack them)."
    )
    ai_draft_field: str | None = Field(
        default=None, description="A field (column or field id) holding true/false: draft used."
    )
    draft_outcome_tags: TextMap = Field(
        default={}, description="{tag: outcome}; the first listed tag the ticket has wins."
    )


class TicketOptions(DraftOptions):
    """The options every help-desk ticket adapter reads."""

    draft_outcome_field: str | None = Field(
        default=None, description="A field (column or field id) holding the draft outcome word."
    )
    category_field: str | None = Field(
        default=None, description="Where the category comes from (a column or field id)."
    )
    status_map: TextMap = Field(
        default={}, description="{vendor status: canonical status}, added to the built-in words."
    )


class DatedTicketOptions(TicketOptions):
    """Ticket options of exports whose dates follow the exporting account's locale."""

    date_format: TextList = Field(
        default=[], description="Date formats (strftime or Java style) tried before the defaults."
    )


def ticket_status(value: pl.Expr, options: TicketOptions, words: Mapping[str, str]) -> pl.Expr:
    """A vendor status word as a canonical status (built-in `words`, then option `status_map`);
    a word neither knows passes through unchanged, so the checks quarantine the row."""
    mapping = {k.lower(): v for k, v in {**CANONICAL_STATUSES, **words}.items()}
    mapping |= {k.lower(): v for k, v in options.status_map.items()}
    lowered = value.str.strip_chars().str.to_lowercase()
    return (
        pl.when(lowered.is_in(list(mapping)))
        .then(lowered.replace_strict(mapping, default=None, return_dtype=pl.String))
        .otherwise(value)
    )


def draft_columns(
    options: TicketOptions, tags: pl.Expr | None, field: Callable[[str], pl.Expr]
) -> list[pl.Expr]:
    """`ai_draft_used` and `draft_outcome` from the configured tags or fields, null otherwise.

    `tags` is the ticket's tags as a list of text (null when unknown), or None when the format
    has no tags; `field(name)` is a configured field's value as text.
    """
    used: list[pl.Expr] = []
    if options.ai_draft_field is not None:
        used.append(field(options.ai_draft_field))
    wanted = [t.strip().lower() for t in options.ai_draft_tags]
    if wanted and tags is not None:
        has = tags.list.eval(pl.element().str.strip_chars().str.to_lowercase().is_in(wanted))
        has = has.list.any()
        used.append(pl.when(has).then(pl.lit("true")).when(~has).then(pl.lit("false")))
    outcome: list[pl.Expr] = []
    if options.draft_outcome_field is not None:
        value = field(options.draft_outcome_field)
        word = value.str.to_lowercase().str.replace_all(r"[\s\-]+", "_")
        outcome.append(pl.when(word.is_in(list(DRAFT_OUTCOMES))).then(word).otherwise(value))
    outcome_tags = {k.lower(): v for k, v in options.draft_outcome_tags.items()}
    if outcome_tags and tags is not None:
        lowered = tags.list.eval(pl.element().str.strip_chars().str.to_lowercase())
        outcome.append(
            pl.coalesce(
                [
                    pl.when(lowered.list.contains(tag)).then(pl.lit(word))
                    for tag, word in outcome_tags.items()
                ]
            )
        )
    none = pl.lit(None, dtype=pl.String)
    return [
        (pl.coalesce(used) if used else none).cast(pl.String).alias("ai_draft_used"),
        (pl.coalesce(outcome) if outcome else none).cast(pl.String).alias("draft_outcome"),
    ]


_NAIVE = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M")


def naive_utc(column: str) -> pl.Expr:
    """A naive timestamp the vendor writes in UTC (Fivetran tables) as ISO text with `+00:00`;
    unreadable text passes through unchanged."""
    value = text(column)
    parsed = pl.coalesce([value.str.to_datetime(f, strict=False, time_unit="us") for f in _NAIVE])
    return (
        pl.when(parsed.is_not_null())
        .then(parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
        .otherwise(value)
    )


def superseded(raw: pl.DataFrame, key: pl.Expr, version: pl.Expr) -> pl.Expr:
    """True for a row replaced by a later version (higher `version`) of the same `key`.

    The first row holding the highest version is kept. An exact repeat of an earlier line is
    left unmarked: the ingest counts it as a duplicate itself.
    """
    data = [c for c in raw.columns if c not in (LINE, READ_ERRORS)]
    keeper = (
        pl.col(LINE)
        .sort_by([version, pl.col(LINE)], descending=[True, False], nulls_last=True)
        .first()
        .over(key)
    )
    first_of_its_kind = pl.struct(data).is_first_distinct()
    return (key.is_not_null() & (pl.col(LINE) != keeper) & first_of_its_kind).fill_null(False)


def column_field(raw: pl.DataFrame, option: str) -> Callable[[str], pl.Expr]:
    """A configured field that is a column of the file (refused when the file lacks it)."""

    def field(name: str) -> pl.Expr:
        column = name.strip().lower()
        if column not in raw.columns:
            raise RefusedFile(f"option {option}: the file has no column {name!r}")
        return text(column)

    return field


def category_column(raw: pl.DataFrame, options: TicketOptions, default: str | None) -> pl.Expr:
    """The category from option `category_field` (a column) or the format's default column."""
    name = options.category_field if options.category_field is not None else default
    if name is None:
        return pl.lit(None, dtype=pl.String)
    column = name.strip().lower()
    if column not in raw.columns:
        if options.category_field is None:
            return pl.lit(None, dtype=pl.String)  # the default column is simply not exported
        raise RefusedFile(f"option category_field: the file has no column {name!r}")
    return text(column)


_JAVA_TOKENS = {
    "yyyy": "%Y", "yy": "%y", "MMMM": "%B", "MMM": "%b", "MM": "%m", "M": "%m",
    "dd": "%d", "d": "%d", "HH": "%H", "H": "%H", "hh": "%I", "h": "%I",
    "mm": "%M", "ss": "%S", "a": "%p",
}  # fmt: skip
_JAVA_PATTERN = re.compile("|".join(sorted(_JAVA_TOKENS, key=len, reverse=True)))


def strftime_format(value: str) -> str:
    """A date format as strftime: `%d/%b/%y %I:%M %p` as is, or a Java/Jira pattern such as
    `dd/MMM/yy h:mm a` translated."""
    if "%" in value:
        return value
    return _JAVA_PATTERN.sub(lambda m: _JAVA_TOKENS[m.group(0)], value)


def date_formats(options: DatedTicketOptions, defaults: tuple[str, ...]) -> tuple[str, ...]:
    """Option `date_format` (one format or a list, strftime or Java style) before `defaults`."""
    return tuple(strftime_format(f) for f in options.date_format) + defaults


def split_tags(value: pl.Expr, separator: str) -> pl.Expr:
    """A cell of separated tags as a list of words (empty cell: no tags)."""
    return (
        value.fill_null("")
        .str.split(separator)
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.strip_chars() != ""))
    )
