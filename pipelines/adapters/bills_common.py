"""Helpers the provider bill adapters share (OpenAI, Anthropic): API pages of buckets flattened
to rows, page detection, money amounts, UTC times, grouping labels and the reasons a bill row is
quarantined."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from pipelines.adapters.base import Sniff, text
from pipelines.read import LINE, READ_ERRORS, cell_text

# Grouping dimensions of a bucket beyond the canonical key parts (an OpenAI `user_id`, an
# Anthropic `service_tier`): "name=value; ..." so two results of one bucket that differ only in
# them stay apart. Not a canonical column (ingest may add it to the derived `bucket_id`).
GROUP = "__group__"
_ISO_UTC = "%Y-%m-%dT%H:%M:%S%.6f+00:00"
_OFFSET_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_PLAIN_DECIMAL = r"^[+-]?(\d+\.?\d*|\.\d+)$"
_TRUE_WORDS = ("true", "t", "1", "yes", "y")


def bucket_records(document: Any) -> pl.DataFrame:
    """An API page `{"data": [bucket...]}` flattened to one raw row per bucket result.

    Each row holds the bucket's own fields (`start_time`/`end_time` or `starting_at`/`ending_at`)
    and the result's fields, every cell as text; `__line__` numbers the results from 1 in page
    order. A result that is not an object becomes a row with a read error, never vanishes.
    """
    buckets = document.get("data") if isinstance(document, dict) else None
    records: list[dict[str, str | None]] = []
    errors: list[str | None] = []
    for bucket in buckets if isinstance(buckets, list) else []:
        if not isinstance(bucket, dict):
            records.append({})
            errors.append("a bucket of the page is not a JSON object")
            continue
        head = {k: cell_text(v) for k, v in bucket.items() if k not in ("results", "object")}
        results = bucket.get("results")
        for result in results if isinstance(results, list) else []:
            if isinstance(result, dict):
                records.append(head | {k: cell_text(v) for k, v in result.items()})
                errors.append(None)
            else:
                records.append(head)
                errors.append(f"a result of the bucket is not a JSON object: {cell_text(result)}")
    columns = list(dict.fromkeys(k for record in records for k in record))
    if not columns and records:  # only malformed buckets: still one row each
        columns, records = ["object"], [{"object": None} for _ in records]
    frame = pl.DataFrame(
        {c: [record.get(c) for record in records] for c in columns},
        schema={c: pl.String for c in columns},
    ).with_row_index(LINE, offset=1)
    frame = frame.with_columns(pl.col(LINE).cast(pl.UInt32))
    if any(errors):
        frame = frame.with_columns(pl.Series(READ_ERRORS, errors, dtype=pl.String))
    return frame


def page_detect(
    bucket_paths: tuple[str, ...], result_paths: tuple[str, ...]
) -> Callable[[Sniff], bool]:
    """Detection of an API page by its key paths.

    Detection sees the first bucket only: when it holds no results, the page cannot tell usage
    from cost, so every page adapter of that provider matches and the file is refused as
    ambiguous unless `sources.usage.format` names the format.
    """
    wanted_bucket = frozenset(("data[].results", *bucket_paths))
    wanted_result = frozenset(result_paths)

    def detect(sniff: Sniff) -> bool:
        paths = sniff.json_paths
        if not wanted_bucket <= paths:
            return False
        first_bucket_empty = not any(p.startswith("data[].results[]") for p in paths)
        return first_bucket_empty or wanted_result <= paths

    return detect


def column(raw: pl.DataFrame, name: str) -> pl.Expr:
    """A raw cell as trimmed text (empty is missing); a column the file lacks reads as null."""
    return text(name) if name in raw.columns else pl.lit(None, dtype=pl.String)


def json_field(raw: pl.DataFrame, name: str, path: str, plain: bool = False) -> pl.Expr:
    """A field of a nested JSON text cell (`$.value` of `amount`), null when absent; with
    `plain`, a cell that is not a JSON object is the value itself (passed through as text)."""
    if name not in raw.columns:
        return pl.lit(None, dtype=pl.String)
    inner = text(name).str.json_path_match(path).str.strip_chars()
    inner = pl.when(inner == "").then(None).otherwise(inner)
    if plain:
        return pl.when(text(name).str.starts_with("{")).then(inner).otherwise(text(name))
    return inner


def utc_text(expr: pl.Expr) -> pl.Expr:
    """Time text (`2025-01-01 00:00:00 UTC`, RFC 3339, or zone-less meaning UTC, as both
    providers report) as ISO text in UTC; unreadable text passes through unchanged."""
    norm = (
        expr.str.replace(r"(?i)\s*(utc|z)$", "+00:00")
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T")
        .str.replace(r"([+-]\d{2})(\d{2})$", "${1}:${2}")
    )
    parsed = pl.coalesce(
        [norm.str.to_datetime(f, strict=False, time_zone="UTC", time_unit="us")
         for f in _OFFSET_FORMATS]
        + [norm.str.to_datetime(f, strict=False, time_unit="us").dt.replace_time_zone("UTC")
           for f in _NAIVE_FORMATS]
    )  # fmt: skip
    return pl.when(parsed.is_not_null()).then(parsed.dt.strftime(_ISO_UTC)).otherwise(expr)


def decimal_text(expr: pl.Expr, cents: bool = False) -> pl.Expr:
    """A money amount as plain decimal text (`2.5e-05` -> `0.000025`), in cents divided by 100
    exactly (`123.45` -> `1.2345`); text that is not a number passes through unchanged."""
    number = expr.cast(pl.Float64, strict=False)
    plain = (
        pl.when(expr.str.contains(_PLAIN_DECIMAL))
        .then(expr.str.replace(r"^\+", ""))
        .otherwise(number.cast(pl.String))
    )
    if cents:
        sign = plain.str.extract(r"^(-?)", 1)
        body = plain.str.replace(r"^-", "")
        whole = body.str.extract(r"^(\d*)", 1).str.zfill(3)
        fraction = body.str.extract(r"\.(\d*)$", 1).fill_null("")
        head = whole.str.head(-2).str.strip_chars_start("0")
        tail = pl.concat_str([whole.str.tail(2), fraction]).str.strip_chars_end("0")
        shifted = pl.concat_str(
            [
                sign,
                pl.when(head == "").then(pl.lit("0")).otherwise(head),
                pl.lit("."),
                pl.when(tail == "").then(pl.lit("0")).otherwise(tail),
            ]
        )
        plain = (
            pl.when(plain.str.contains(_PLAIN_DECIMAL))
            .then(shifted)
            .otherwise((number / 100).cast(pl.String))
        )
    return pl.when(number.is_not_null()).then(plain).otherwise(expr)


def group_label(raw: pl.DataFrame, names: tuple[str, ...]) -> pl.Expr:
    """`name=value; ...` of the grouping columns a row has a value in (null when none)."""
    parts = [
        pl.when(text(n).is_not_null()).then(pl.format("{}={}", pl.lit(n), text(n)))
        for n in names
        if n in raw.columns
    ]
    if not parts:
        return pl.lit(None, dtype=pl.String)
    joined = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def row_problems(raw: pl.DataFrame, *reasons: pl.Expr) -> pl.Expr:
    """`__read_errors__`: the read errors a row already has plus the adapter's own reasons
    (null for none), so the row is quarantined naming them."""
    parts = [pl.col(READ_ERRORS)] if READ_ERRORS in raw.columns else []
    if not parts and not reasons:
        return pl.lit(None, dtype=pl.String).alias(READ_ERRORS)
    joined = pl.concat_str([*parts, *reasons], separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined).alias(READ_ERRORS)


def deleted_reason(raw: pl.DataFrame) -> pl.Expr:
    """The reason a Fivetran row is not loaded: the connector marks it deleted at the source."""
    if "_fivetran_deleted" not in raw.columns:
        return pl.lit(None, dtype=pl.String)
    return (
        pl.when(text("_fivetran_deleted").str.to_lowercase().is_in(_TRUE_WORDS))
        .then(pl.lit("deleted at the source (_fivetran_deleted is true); not loaded"))
        .otherwise(None)
    )


def currency_reason(currency: pl.Expr) -> pl.Expr:
    """The reason a cost row is not loaded: its amount is not in US dollars."""
    return (
        pl.when(currency.is_not_null() & (currency.str.to_uppercase() != "USD"))
        .then(
            pl.format(
                "amount is in {}, not USD; convert it before loading", currency.str.to_uppercase()
            )
        )
        .otherwise(None)
    )


def money(amount: pl.Expr, currency: pl.Expr, cents: bool = False) -> pl.Expr:
    """`cost_usd`: the amount as decimal dollars when the currency is USD or not stated."""
    usd = currency.is_null() | (currency.str.to_uppercase() == "USD")
    return pl.when(usd).then(decimal_text(amount, cents)).otherwise(None)
