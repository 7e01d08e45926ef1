"""Adapters: vendor export formats mapped onto the canonical input columns.

An adapter takes the raw frame a file was read into (every cell text, column names lower-cased,
`__line__` holding the file line or record number) and returns a frame with the same `__line__`
values and the columns of its *target* as text (or already typed). The canonical typing and the
checks run afterwards, so a value the adapter cannot convert is passed on unchanged and the row is
quarantined with the reason, never dropped and never guessed.

Adapters never invent values: what the vendor does not record stays null (unknown), unless the
operating model says how to derive it (`sources.<source>` options). Each adapter declares the
options it reads as a pydantic model (`Adapter.options`); `check_source_options` refuses a pilot
whose `sources.<source>` holds a key no adapter of that source declares.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import polars as pl
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from models.operating_model import OperatingModel, SourceSettings
from pipelines.read import RefusedFile

# A row the adapter replaces by a later version of the same record in the same file (an
# Intercom conversation's history, say): counted as a duplicate, not loaded, not quarantined.
SUPERSEDED = "__superseded__"
# Why a row is not a record of its source at all (a Langfuse SPAN, a deleted ticket): set aside,
# counted as skipped with this reason, neither loaded nor quarantined. Null for every other row.
SKIPPED = "__skipped__"

# Targets an adapter may produce. The canonical sources, plus two tables that are never mixed
# with per-request usage or tickets: provider bills (bucketed usage and cost) and ticket labels
# (tags, field changes and comments recorded apart from the ticket row).
TARGETS = (
    "usage",
    "tickets",
    "timesheets",
    "reviews",
    "changes",
    "provider_costs",
    "ticket_labels",
)


@dataclass(frozen=True)
class Sniff:
    """What detection sees of a file: its column names, or a JSON document's key paths.

    `columns` are the lower-cased header names (CSV) or record keys (JSON Lines, JSON arrays,
    Parquet). `json_paths` are dotted key paths of a JSON document that is one object, with `[]`
    marking a list: `data`, `data[].results[].model`, `tickets[].id`.
    """

    path: Path
    columns: frozenset[str] = frozenset()
    json_paths: frozenset[str] = frozenset()


def _listed(value: Any) -> Any:
    """One word or a list of words as a list (absent: none)."""
    if value is None:
        return []
    return [value] if isinstance(value, str | int | float) else value


def _mapping(value: Any) -> Any:
    """`{word: word}` (absent: empty); anything else is refused, naming what was given."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"must map words to words ({{word: word}}), not {value!r}")
    return value


def _trimmed(value: dict[str, str]) -> dict[str, str]:
    return {k.strip(): v.strip() for k, v in value.items()}


# An option holding one word or a list of words (numbers read as text: `27642` is a field id).
TextList = Annotated[list[str], BeforeValidator(_listed)]
# An option holding `{word: word}`, keys and values trimmed.
TextMap = Annotated[dict[str, str], BeforeValidator(_mapping), AfterValidator(_trimmed)]


class AdapterOptions(BaseModel):
    """The options an adapter reads from `sources.<source>`: none unless a subclass declares them.

    Numbers are read as text, since YAML turns a field id such as `27642` into a number.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


Options = TypeVar("Options", bound=AdapterOptions)


def option_problems(error: ValidationError, source: str, where: str | None = None) -> list[str]:
    """Each value an options model refused, under its key path (`sources.usage.cost_unit: ...`;
    `where` names the section when it is not `sources.<source>`)."""
    problems: list[str] = []
    for item in error.errors():
        path = ".".join(str(part) for part in (where or f"sources.{source}", *item["loc"]))
        cause = (item.get("ctx") or {}).get("error")
        if item["type"] == "value_error" and cause:
            message = str(cause)  # our validators name the value themselves
        elif isinstance(item["input"], str | int | float | bool):
            message = f"{item['msg']}, not {item['input']!r}"
        else:
            message = item["msg"]
        problems.append(f"{path}: {message}")
    return problems


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter may read besides the raw frame."""

    path: Path
    source: str
    settings: SourceSettings  # `sources.<source>` of the operating model, extra options included
    operating_model: OperatingModel
    # What the adapter chose from the file and why, by name (`date_order`): shown by `check`.
    choices: dict[str, dict[str, str | None]] = field(default_factory=dict)

    def options(self, model: type[Options]) -> Options:
        """The adapter's options from `sources.<source>`, read by its options model; keys only
        other adapters declare are left to them. A value the model refuses refuses the file."""
        extra = self.settings.model_extra or {}
        given = {name: value for name, value in extra.items() if name in model.model_fields}
        try:
            return model.model_validate(given)
        except ValidationError as exc:
            raise RefusedFile("; ".join(option_problems(exc, self.source))) from None


Detect = Callable[[Sniff], bool]
Transform = Callable[[pl.DataFrame, AdapterContext], pl.DataFrame]
# Reads a JSON document (one object) into a raw frame with `__line__` = record number (1-based).
ReadDocument = Callable[[Any], pl.DataFrame]


@dataclass(frozen=True)
class Adapter:
    """One vendor export format."""

    name: str  # the value of `sources.<source>.format`, e.g. "litellm_spendlogs"
    source: str  # the inbox folder it is read from
    title: str  # shown by `pilot-readiness check`, e.g. "LiteLLM LiteLLM_SpendLogs rows"
    target: str  # one of TARGETS
    detect: Detect
    transform: Transform
    # Output column -> where it comes from, in words (shown by `check`).
    mapping: Mapping[str, str] = field(default_factory=dict)
    # For JSON documents that are one object (API pages): how to make records of them.
    read_document: ReadDocument | None = None
    # The options it reads from `sources.<source>`, with their defaults.
    options: type[AdapterOptions] = AdapterOptions


def has_columns(*names: str) -> Detect:
    """Detection by header: every named column present (names lower-case). The names are kept
    on the function (`columns`) to name the closest format of a file no format matches."""
    wanted = frozenset(n.lower() for n in names)

    def detect(sniff: Sniff) -> bool:
        return wanted <= sniff.columns

    detect.columns = wanted  # type: ignore[attr-defined]
    return detect


def has_paths(*paths: str) -> Detect:
    """Detection by JSON document key paths, e.g. `data[].results[].input_tokens`."""
    wanted = frozenset(paths)
    return lambda sniff: wanted <= sniff.json_paths


def json_paths(value: Any, prefix: str = "", depth: int = 4, items: int = 20) -> set[str]:
    """Dotted key paths of a JSON value (the first `items` elements of each list, so an empty
    first bucket does not hide the shape), as `Sniff.json_paths`."""
    found: set[str] = set()
    if depth == 0:
        return found
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            found.add(path)
            found |= json_paths(inner, path, depth - 1)
    elif isinstance(value, list):
        for item in value[:items]:
            found |= json_paths(item, f"{prefix}[]", depth, items)
    return found


def text(column: str) -> pl.Expr:
    """A raw cell as trimmed text, empty meaning missing."""
    value = pl.col(column).cast(pl.String).str.strip_chars()
    return pl.when(value == "").then(None).otherwise(value)


def unix_seconds(column: str) -> pl.Expr:
    """Unix seconds as UTC timestamps; text that is not a number passes through unchanged."""
    number = text(column).cast(pl.Float64, strict=False)
    stamp = (number * 1_000_000).cast(pl.Int64, strict=False).cast(pl.Datetime("us", "UTC"))
    return (
        pl.when(number.is_not_null())
        .then(stamp.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
        .otherwise(text(column))
    )


def local_datetime(column: str, formats: tuple[str, ...]) -> pl.Expr:
    """Vendor date-time text in any of `formats` as ISO text (no offset: read in the pilot's or
    configured timezone by the canonical typing); unreadable text passes through unchanged."""
    parsed = pl.coalesce(
        [text(column).str.to_datetime(f, strict=False, time_unit="us") for f in formats]
    )
    return (
        pl.when(parsed.is_not_null())
        .then(parsed.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
        .otherwise(text(column))
    )


def utc_iso(value: dt.datetime) -> str:
    """A timestamp as ISO text in UTC."""
    return value.astimezone(dt.UTC).isoformat()
