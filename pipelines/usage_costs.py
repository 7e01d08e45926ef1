"""Model cost of each usage row: from the export's cost_usd, an operating-model override, or
`genai-prices` at the call's date. A model without a price is marked unpriced, never zero."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache

import polars as pl
from genai_prices import Usage, calc_price
from genai_prices import __version__ as GENAI_PRICES_VERSION

from models.operating_model import ModelPrice

UNPRICED = "unpriced"
_MILLION = 1_000_000
# Unit prices are taken from a small call and scaled: a million-token call would be billed at
# the long-context tier some models have above 128k or 200k tokens.
_PROBE_TOKENS = 1_000


@cache
def genai_unit_prices(
    model: str, provider: str | None, day: dt.date
) -> tuple[float, float, float] | None:
    """USD per million (uncached input, cached input, output) tokens, or None when unknown."""
    when = dt.datetime.combine(day, dt.time(12), dt.UTC)

    def price(**tokens: int) -> Decimal:
        return calc_price(
            Usage(**tokens), model_ref=model, provider_id=provider, genai_request_timestamp=when
        ).total_price

    try:
        uncached = price(input_tokens=_PROBE_TOKENS)
        cached = price(input_tokens=_PROBE_TOKENS, cache_read_tokens=_PROBE_TOKENS)
        output = price(output_tokens=_PROBE_TOKENS)
    except LookupError:
        return None
    scale = _MILLION // _PROBE_TOKENS
    return float(uncached * scale), float(cached * scale), float(output * scale)


def price_usage(usage: pl.DataFrame, overrides: dict[str, ModelPrice]) -> pl.DataFrame:
    """Add `model_cost_usd` and `price_source` to canonical usage rows.

    Tiered (long-context) prices are not modelled: every call is priced at the first tier.
    """
    day = pl.col("timestamp").dt.date()
    combos = usage.select(pl.col("model"), pl.col("provider"), day.alias("day")).unique()
    table_rows = []
    for model, provider, when in combos.iter_rows():
        override = overrides.get(model)
        if override is not None:
            cached = override.cached_input if override.cached_input is not None else override.input
            table_rows.append(
                (model, provider, when, override.input, cached, override.output, "override")
            )
            continue
        prices = genai_unit_prices(model, provider, when) if when is not None else None
        if prices is None:
            table_rows.append((model, provider, when, None, None, None, UNPRICED))
        else:
            table_rows.append(
                (model, provider, when, *prices, f"genai-prices {GENAI_PRICES_VERSION}")
            )
    table = pl.DataFrame(
        table_rows,
        schema={
            "model": pl.String,
            "provider": pl.String,
            "day": pl.Date,
            "__in": pl.Float64,
            "__cached": pl.Float64,
            "__out": pl.Float64,
            "__source": pl.String,
        },
        orient="row",
    )
    cached_tokens = pl.col("cached_input_tokens").fill_null(0)
    computed = (
        (pl.col("input_tokens") - cached_tokens) * pl.col("__in")
        + cached_tokens * pl.col("__cached")
        + pl.col("output_tokens") * pl.col("__out")
    ) / _MILLION
    return (
        usage.with_columns(day.alias("day"))
        .join(table, on=["model", "provider", "day"], how="left", nulls_equal=True)
        .with_columns(
            pl.coalesce(pl.col("cost_usd"), computed).alias("model_cost_usd"),
            pl.when(pl.col("cost_usd").is_not_null())
            .then(pl.lit("input cost_usd"))
            .otherwise(pl.col("__source"))
            .alias("price_source"),
        )
        .drop("day", "__in", "__cached", "__out", "__source")
    )
