"""Custom exports: any other CSV/JSON export mapped by a declarative mapping (YAML).

Chosen only by configuration, never by detection:

    sources:
      tickets:
        format: custom
        mapping: mappings/helpdesk.yaml   # a file, or the mapping itself inline

The mapping names, per canonical column, where its value comes from (`columns`, `constants`,
`patterns`, `combine`) and how vendor text is converted (`dates`, `values`, `numbers`). It is
validated before the file is read; an invalid mapping refuses the file with every problem named
by its key path. See docs/custom-formats.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from models.operating_model import SourceSettings, read_yaml
from models.sources import SPECS
from pipelines.adapters.base import TARGETS, Adapter, AdapterContext, AdapterOptions, Sniff, text
from pipelines.adapters.locale_dates import english_months
from pipelines.normalize import missing_required
from pipelines.read import LINE, READ_ERRORS, RefusedFile

NAME = "custom"

# Raw timesheet columns the canonical typing derives work_date, minutes and started_at from.
_TIMESHEET_INPUTS = {"date": "date", "start": "datetime", "end": "datetime", "duration": "duration"}
# Targets a folder's files may go to besides the folder's own source.
_OTHER_TARGETS = {"usage": ("provider_costs",), "tickets": ("ticket_labels",)}
# Required columns a mapping may leave out: derived ids, and whether a draft was used (unknown).
_MAY_BE_ABSENT = {
    "tickets": ("ai_draft_used",),
    "provider_costs": ("bucket_id",),
    "ticket_labels": ("label_id",),
}
_OFFSET_DIRECTIVES = ("%z", "%:z", "%#z")


def _scalar_text(value: Any) -> Any:
    """YAML scalars as text: `true` -> "true", `5` -> "5" (YAML reads `ja: true` as a bool)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _text_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_scalar_text(k): _scalar_text(v) for k, v in value.items()}
    return value


Text = Annotated[str, BeforeValidator(_scalar_text)]
WordMap = Annotated[dict[Text, Text], BeforeValidator(_text_keys)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DateSpec(_Strict):
    """How a vendor date or timestamp is written."""

    # strftime formats, tried in order, e.g. "%d.%m.%Y %H:%M".
    format: list[str] = Field(min_length=1)
    # The timezone the vendor writes local times in; absent: the pilot's timezone.
    timezone: str | None = None
    # The language of month names (%b, %B): es, de, fr or pt; absent: English and all four.
    locale: Literal["en", "es", "de", "fr", "pt"] | None = None

    @field_validator("format", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("format")
    @classmethod
    def _has_directive(cls, value: list[str]) -> list[str]:
        for fmt in value:
            if "%" not in fmt:
                raise ValueError(f"{fmt!r} is not a date format (use strftime codes: %d.%m.%Y)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown timezone {value!r} (use an IANA name)") from None
        return value


def _date_spec(value: Any) -> Any:
    return {"format": value} if isinstance(value, str | list) else value


class PatternSpec(_Strict):
    """A value found in a column by a regular expression (its first capture group)."""

    from_: str = Field(alias="from")
    regex: str

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            pl.select(pl.lit("", dtype=pl.String).str.extract_groups(value))
        except pl.exceptions.PolarsError as exc:
            first = str(exc).strip().splitlines()[-1].removeprefix("error: ")
            raise ValueError(f"invalid regular expression {value!r}: {first}") from None
        return value


class CombineSpec(_Strict):
    """One value written across several columns, e.g. a date column and a time column."""

    join: list[str] = Field(min_length=2)
    separator: str = " "


class NumberSpec(_Strict):
    """How numbers are written: decimal comma, thousands separator."""

    decimal: Literal[".", ","] = "."
    thousands: Literal[".", ",", " ", "'"] | None = None

    @field_validator("thousands")
    @classmethod
    def _differs(cls, value: str | None, info: Any) -> str | None:
        if value is not None and value == info.data.get("decimal"):
            raise ValueError("the thousands separator must differ from the decimal mark")
        return value


class CustomMapping(_Strict):
    """A declarative mapping of one vendor export onto canonical columns."""

    target: str | None = None  # the canonical table; default: the source folder
    description: str | None = None
    columns: dict[str, str] = {}  # canonical column: vendor column (case-insensitive)
    constants: dict[str, Text] = {}  # canonical column: the same value on every row
    patterns: dict[str, PatternSpec] = {}  # canonical column: regex over a vendor column
    combine: dict[str, CombineSpec] = {}  # canonical column: vendor columns joined
    dates: dict[str, Annotated[DateSpec, BeforeValidator(_date_spec)]] = {}
    values: dict[str, WordMap] = {}  # canonical column: {vendor word: canonical word}
    numbers: NumberSpec = NumberSpec()

    def sources(self) -> dict[str, str]:
        """Canonical column -> which key gives its value (in the order of the mapping)."""
        found: dict[str, str] = {}
        for key in ("columns", "constants", "patterns", "combine"):
            for column in getattr(self, key):
                found.setdefault(column, key)
        return found

    def ordered_sources(self, target: str) -> dict[str, str]:
        """`sources()` in the order of the target's canonical columns."""
        given = self.sources()
        return {c: given[c] for c in _kinds(target) if c in given}


# --- loading and validation ------------------------------------------------------------------


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("function-before", "function-after"))


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
            if len(error["loc"]) == 1:
                message += f" (known: {', '.join(CustomMapping.model_fields)})"
        problems.append(f"{_location(error['loc'])}: {message}")
    return problems


def target_of(mapping: CustomMapping, source: str) -> str:
    """The canonical table the mapped rows go to."""
    return mapping.target or source


def _kinds(target: str) -> dict[str, str]:
    kinds = dict(SPECS[target].columns)
    if target == "timesheets":
        kinds.update(_TIMESHEET_INPUTS)
    return kinds


def _semantic_problems(mapping: CustomMapping, source: str) -> list[str]:
    target = target_of(mapping, source)
    allowed = (source, *_OTHER_TARGETS.get(source, ()))
    if target not in TARGETS or target not in allowed:
        return [
            f"target: {target!r} is not a table {source} files can go to ({', '.join(allowed)})"
        ]
    kinds = _kinds(target)
    problems: list[str] = []
    given: dict[str, str] = {}
    for key in ("columns", "constants", "patterns", "combine"):
        for column in getattr(mapping, key):
            if column not in kinds:
                problems.append(
                    f"{key}.{column}: not a {target} column (columns: {', '.join(kinds)})"
                )
            elif column in given:
                problems.append(
                    f"{key}.{column}: {column} is already given under {given[column]}; "
                    "give each column in one place"
                )
            else:
                given[column] = key
    for key in ("dates", "values"):
        for column in getattr(mapping, key):
            if column not in kinds:
                problems.append(f"{key}.{column}: not a {target} column")
            elif column not in given:
                problems.append(
                    f"{key}.{column}: {column} is not mapped; "
                    "name its vendor column under columns, patterns or combine"
                )
            elif given[column] == "constants":
                problems.append(f"{key}.{column}: {column} is a constant; write it canonically")
    for column in mapping.dates:
        if kinds.get(column) not in (None, "date", "datetime"):
            problems.append(f"dates.{column}: {column} is not a date or timestamp column")
    for column, spec in mapping.dates.items():
        if kinds.get(column) == "date" and any(
            d in fmt for fmt in spec.format for d in ("%H", "%I", "%M", *_OFFSET_DIRECTIVES)
        ):
            problems.append(f"dates.{column}: {column} is a date; its format has no time of day")
    for column, value in mapping.constants.items():
        if column in SPECS[target].enums and value not in SPECS[target].enums[column]:
            words = ", ".join(SPECS[target].enums[column])
            problems.append(f"constants.{column}: {value!r} is not one of {words}")
    for column, words in mapping.values.items():
        allowed_words = SPECS[target].enums.get(column)
        if allowed_words is None and kinds.get(column) == "bool":
            allowed_words = ("true", "false")
        for word, canonical in words.items():
            if allowed_words is not None and canonical not in allowed_words:
                problems.append(
                    f"values.{column}.{word}: {canonical!r} is not one of {', '.join(allowed_words)}"
                )
    ignorable = _MAY_BE_ABSENT.get(target, ())
    missing = [m for m in missing_required(SPECS[target], list(given)) if m not in ignorable]
    for name in missing:
        problems.append(
            f"{name}: required for {target}; map it under columns, constants, patterns or combine"
        )
    return problems


def parse_mapping(data: Any, source: str, origin: str = "the mapping") -> CustomMapping:
    """A validated mapping; RefusedFile naming every problem by its key path."""
    if not isinstance(data, dict):
        raise RefusedFile(f"custom mapping {origin} is not a YAML mapping of keys")
    try:
        mapping = CustomMapping.model_validate(data)
    except ValidationError as exc:
        problems = _pydantic_problems(exc)
    else:
        problems = _semantic_problems(mapping, source)
        if not problems:
            return mapping
    raise RefusedFile(f"custom mapping {origin} is invalid: " + "; ".join(problems))


def load_mapping(settings: SourceSettings, source: str, base: Path | None = None) -> CustomMapping:
    """The mapping of `sources.<source>.mapping`: a YAML file path or an inline mapping.

    A relative path is read from `base` (the operating model's folder), else the current folder.
    """
    extra = settings.model_extra or {}
    where = f"sources.{source}.mapping"
    value = extra.get("mapping")
    if value is None:
        raise RefusedFile(
            f"format custom needs {where}: a mapping file (YAML) or the mapping inline"
        )
    if isinstance(value, dict):
        return parse_mapping(value, source, f"({where})")
    if not isinstance(value, str):
        raise RefusedFile(f"{where} must be a file path or a mapping, not {value!r}")
    path = Path(value).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RefusedFile(f"custom mapping file {value} ({where}) not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError, RecursionError) as exc:
        raise RefusedFile(f"cannot read custom mapping file {value}: {exc}") from None
    return parse_mapping(data, source, value)


# --- transform -------------------------------------------------------------------------------


def _vendor_column(name: str, columns: set[str], key: str) -> pl.Expr:
    """A vendor column as trimmed text (names compared lower-case, as read); `a.b` reads key `b`
    of a nested JSON column `a` (JSON keys are case-sensitive)."""
    if name.strip().lower() in columns:
        return text(name.strip().lower())
    head, _, rest = name.strip().partition(".")
    while rest:
        if head.lower() in columns:
            found = pl.col(head.lower()).cast(pl.String).str.json_path_match(f"$.{rest}")
            found = found.str.strip_chars()
            return pl.when(found == "").then(None).otherwise(found)
        part, _, rest = rest.partition(".")
        head = f"{head}.{part}"
    shown = ", ".join(sorted(c for c in columns if c not in (LINE, READ_ERRORS))[:20])
    raise RefusedFile(
        f"custom mapping {key}: column {name!r} is not in the file (columns: {shown})"
    )


def _source_expr(mapping: CustomMapping, column: str, how: str, columns: set[str]) -> pl.Expr:
    if how == "columns":
        return _vendor_column(mapping.columns[column], columns, f"columns.{column}")
    if how == "constants":
        return pl.lit(mapping.constants[column], dtype=pl.String)
    if how == "patterns":
        spec = mapping.patterns[column]
        value = _vendor_column(spec.from_, columns, f"patterns.{column}.from")
        found = value.str.extract(spec.regex, _group(spec.regex))
        return pl.when(found.str.strip_chars() == "").then(None).otherwise(found)
    spec_c = mapping.combine[column]
    parts = [_vendor_column(n, columns, f"combine.{column}.join") for n in spec_c.join]
    joined = pl.concat_str(parts, separator=spec_c.separator, ignore_nulls=True)
    return pl.when(pl.any_horizontal([p.is_not_null() for p in parts])).then(joined)


def _group(regex: str) -> int:
    """The capture group a pattern gives: its first group, or the whole match without one."""
    groups = pl.select(pl.lit("", dtype=pl.String).str.extract_groups(regex).alias("g"))
    return 1 if groups.schema["g"].fields else 0  # type: ignore[attr-defined]


def _mapped_words(value: pl.Expr, words: Mapping[str, str]) -> pl.Expr:
    """Vendor words replaced case-insensitively; a word the map lacks passes through."""
    lowered = {k.strip().lower(): v for k, v in words.items()}
    return value.str.to_lowercase().replace_strict(
        list(lowered), list(lowered.values()), default=value, return_dtype=pl.String
    )


def _dates(value: pl.Expr, spec: DateSpec, kind: str) -> pl.Expr:
    """Vendor dates as ISO text; text no format reads passes through unchanged. Month names
    of the spec's `locale` (else of every known language) are read as English first."""
    readings: list[pl.Expr] = []
    original = value
    if spec.locale != "en" and any(d in f for f in spec.format for d in ("%b", "%B")):
        value = english_months(value, spec.locale)
    for fmt in spec.format:
        if kind == "date":
            parsed = value.str.to_date(fmt, strict=False)
            readings.append(parsed.dt.strftime("%Y-%m-%d"))
        elif any(d in fmt for d in _OFFSET_DIRECTIVES):
            parsed = value.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC")
            readings.append(parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
        elif spec.timezone:
            parsed = (
                value.str.to_datetime(fmt, strict=False, time_unit="us")
                .dt.replace_time_zone(spec.timezone, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC")
            )
            readings.append(parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
        else:  # local time without offset: read in the pilot's timezone by the canonical typing
            parsed = value.str.to_datetime(fmt, strict=False, time_unit="us")
            readings.append(parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
    return pl.coalesce([*readings, original])


def _numbers(value: pl.Expr, spec: NumberSpec) -> pl.Expr:
    """Numbers with a dot and no thousands separator; text that is then no number passes through."""
    converted = value
    if spec.thousands:
        converted = converted.str.replace_all(spec.thousands, "", literal=True)
    if spec.decimal == ",":
        converted = converted.str.replace_all(",", ".", literal=True)
    ok = converted.cast(pl.Float64, strict=False).is_not_null()
    return pl.when(ok).then(converted).otherwise(value)


def apply_mapping(raw: pl.DataFrame, mapping: CustomMapping, target: str) -> pl.DataFrame:
    """The raw frame mapped onto the target's columns (text); row count and `__line__` kept."""
    columns = set(raw.columns)
    kinds = _kinds(target)
    exprs: list[pl.Expr] = []
    for column, how in mapping.ordered_sources(target).items():
        value = _source_expr(mapping, column, how, columns)
        if how != "constants":
            if column in mapping.values:
                value = _mapped_words(value, mapping.values[column])
            if column in mapping.dates:
                value = _dates(value, mapping.dates[column], kinds[column])
            elif kinds[column] in ("int", "float", "duration") and mapping.numbers != NumberSpec():
                value = _numbers(value, mapping.numbers)
        exprs.append(value.cast(pl.String).alias(column))
    if target == "tickets" and "ai_draft_used" not in mapping.sources():
        exprs.append(pl.lit(None, dtype=pl.String).alias("ai_draft_used"))  # unknown
    keep = [c for c in (LINE, READ_ERRORS) if c in columns]
    return raw.select(*keep, *exprs)


# --- what `check` shows ----------------------------------------------------------------------


def _words(words: Mapping[str, str], limit: int = 6) -> str:
    shown = [f"{k} -> {v}" for k, v in list(words.items())[:limit]]
    more = len(words) - limit
    return ", ".join(shown) + (f", and {more} more" if more > 0 else "")


def explain(mapping: CustomMapping, target: str) -> dict[str, str]:
    """{canonical column: where it comes from, in words} for a validated mapping."""
    found: dict[str, str] = {}
    numbers = []
    if mapping.numbers.decimal == ",":
        numbers.append("decimal comma")
    if mapping.numbers.thousands:
        numbers.append(f"thousands separator '{mapping.numbers.thousands}' removed")
    kinds = _kinds(target)
    for column, how in mapping.ordered_sources(target).items():
        if how == "columns":
            words = f"column '{mapping.columns[column]}'"
        elif how == "constants":
            words = f"constant '{mapping.constants[column]}'"
        elif how == "patterns":
            spec = mapping.patterns[column]
            part = "first group" if _group(spec.regex) else "whole match"
            words = f"regex '{spec.regex}' in column '{spec.from_}' ({part})"
        else:
            spec_c = mapping.combine[column]
            joined = " + ".join(repr(n) for n in spec_c.join)
            words = f"columns {joined} joined with '{spec_c.separator}'"
        if column in mapping.values:
            words += f"; words: {_words(mapping.values[column])} (others as written)"
        if column in mapping.dates:
            spec_d = mapping.dates[column]
            words += f"; read as {' or '.join(spec_d.format)}"
            words += f" in {spec_d.timezone}" if spec_d.timezone else " (pilot timezone)"
        elif numbers and how != "constants" and kinds[column] in ("int", "float", "duration"):
            words += f" ({', '.join(numbers)} when a number)"
        found[column] = words
    return found


def _described(mapping: CustomMapping, source: str) -> dict[str, str]:
    found = explain(mapping, target_of(mapping, source))
    if target_of(mapping, source) == "tickets" and "ai_draft_used" not in found:
        found["ai_draft_used"] = "not recorded (unknown)"
    return found


def describe(settings: SourceSettings, source: str, base: Path | None = None) -> dict[str, str]:
    """What `check` shows for a custom source: {output column: where it comes from}.

    Raises RefusedFile (the message names the problem) when the mapping is missing or invalid.
    """
    return _described(load_mapping(settings, source, base), source)


def for_source(source: str, settings: SourceSettings, base: Path | None = None) -> Adapter:
    """The custom adapter for one source's files: target and mapping from its mapping YAML.

    Raises RefusedFile when the mapping is missing or invalid.
    """
    mapping = load_mapping(settings, source, base)
    target = target_of(mapping, source)
    return dataclasses.replace(
        CUSTOM,
        source=source,
        target=target,
        mapping=_described(mapping, source),
        transform=lambda raw, ctx: apply_mapping(raw, mapping, target),
    )


def kept_columns(
    settings: SourceSettings, source: str, raw_columns: list[str], base: Path | None = None
) -> list[str]:
    """The raw columns worth keeping in quarantined rows: those `columns` and `combine` read (a
    nested `a.b` keeps `a`). Columns only searched by `patterns` are free text (subjects, notes)
    and are left out."""
    mapping = load_mapping(settings, source, base)
    names = [*mapping.columns.values(), *(n for c in mapping.combine.values() for n in c.join)]
    read: set[str] = set()
    for name in names:
        parts = name.strip().lower().split(".")
        heads = [".".join(parts[: i + 1]) for i in range(len(parts))]
        read.update(h for h in heads[-1:] + heads[:-1] if h in raw_columns)
    return [c for c in raw_columns if c in read]


def _transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    mapping = load_mapping(ctx.settings, ctx.source)
    return apply_mapping(raw, mapping, target_of(mapping, ctx.source))


class CustomOptions(AdapterOptions):
    """The custom format's one option: where its mapping is."""

    mapping: str | dict[str, Any] | None = Field(
        default=None, description="The mapping: a YAML file (relative to the pilot file) or inline."
    )


def _never(sniff: Sniff) -> bool:
    return False  # only by `sources.<source>.format: custom`


CUSTOM = Adapter(
    name=NAME,
    source="*",  # any folder: `for_source` gives the adapter of one source
    title="custom mapping (sources.<source>.mapping)",
    target="*",  # the mapping's `target`, default the source: see `for_source`
    detect=_never,
    transform=_transform,
    mapping={},
    options=CustomOptions,
)

ADAPTERS: list[Adapter] = [CUSTOM]
