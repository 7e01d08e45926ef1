"""Anthropic provider bills: messages usage and cost reports (export-formats.md A2) as
`provider_costs` rows.

Four shapes, each its own format:
- `anthropic_usage_api`: a page of `GET /v1/organizations/usage_report/messages`
  (`{"data": [{"starting_at", "ending_at", "results": [...]}]}`), one row per result.
- `anthropic_cost_api`: a page of `GET /v1/organizations/cost_report`.
- `anthropic_fivetran_usage` and `anthropic_fivetran_cost`: the Fivetran connector tables
  `message_usage_report` and `cost_report` (singular column names such as `output_token`,
  timestamps like `2025-01-01 00:00:00 UTC`, `_fivetran_*` bookkeeping columns).

Anthropic counts input apart from the cache: canonical `input_tokens` (which includes cached input,
as in usage) = uncached + cache read + cache creation (5 minute + 1 hour);
`cached_input_tokens` = cache read.

Cost `amount` is a decimal string in the currency's lowest unit (cents: "123.45" is $1.2345). The
option `sources.usage.cost_unit` ("cents" or "usd") says which unit a file holds; the default is
"cents" for both the API page and the Fivetran table, because Fivetran's own dbt package for this
connector (fivetran/dbt_claude, `claude_convert_cost`) divides `cost_report.amount` by 100 by
default: the connector keeps the API's cents. Its test seed's "3.0000" only reads like dollars.
Set `cost_unit: usd` for a table a pipeline has already converted to dollars.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import polars as pl
from pydantic import BeforeValidator, Field

from pipelines.adapters.base import Adapter, AdapterContext, AdapterOptions
from pipelines.adapters.bills_common import (
    GROUP,
    bucket_records,
    column,
    currency_reason,
    deleted_reason,
    group_label,
    json_field,
    money,
    page_detect,
    row_problems,
    utc_text,
)
from pipelines.read import LINE

CostUnit = Literal["cents", "usd"]
# Both defaults are the documented unit: the API says cents; Fivetran's dbt package for the
# connector divides the table's amount by 100 by default (see the module docstring).
API_COST_UNIT: CostUnit = "cents"
FIVETRAN_COST_UNIT: CostUnit = "cents"

_USAGE_GROUPS = (
    "service_tier",
    "context_window",
    "inference_geo",
    "account_id",
    "service_account_id",
    "speed",
)
_COST_GROUPS = ("service_tier", "context_window", "inference_geo", "description")


def _word(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class ApiCostOptions(AdapterOptions):
    """The unit the cost report page's amounts are in."""

    cost_unit: Annotated[CostUnit, BeforeValidator(_word)] = Field(
        default=API_COST_UNIT, description="cents (the API's unit) or usd."
    )


class FivetranCostOptions(AdapterOptions):
    """The unit the Fivetran cost table's amounts are in."""

    cost_unit: Annotated[CostUnit, BeforeValidator(_word)] = Field(
        default=FIVETRAN_COST_UNIT, description="cents (as the connector keeps them) or usd."
    )


def _token_sum(first: pl.Expr, *rest: pl.Expr) -> pl.Expr:
    """Total of token counts as whole-number text: null when `first` is missing (other missing
    parts count as 0); a part that is not a whole number passes through unchanged."""
    parts = [first, *rest]
    numbers = [p.cast(pl.Float64, strict=False) for p in parts]
    bad = pl.coalesce(
        [
            pl.when(p.is_not_null() & (n.is_null() | (n != n.floor()))).then(p)
            for p, n in zip(parts, numbers, strict=True)
        ]
    )
    total = pl.sum_horizontal([n.fill_null(0) for n in numbers])
    return (
        pl.when(bad.is_not_null())
        .then(bad)
        .when(first.is_null())
        .then(None)
        .otherwise(total.cast(pl.Int64).cast(pl.String))
    )


def _usage(
    raw: pl.DataFrame,
    uncached: pl.Expr,
    cache_read: pl.Expr,
    cache_5m: pl.Expr,
    cache_1h: pl.Expr,
    output: pl.Expr,
    *problems: pl.Expr,
) -> pl.DataFrame:
    return raw.select(
        pl.col(LINE),
        utc_text(column(raw, "starting_at")).alias("bucket_start"),
        utc_text(column(raw, "ending_at")).alias("bucket_end"),
        pl.lit("anthropic").alias("provider"),
        pl.lit("usage").alias("kind"),
        column(raw, "model").alias("model"),
        column(raw, "workspace_id").alias("project"),
        column(raw, "api_key_id").alias("api_key"),
        _token_sum(uncached, cache_read, cache_5m, cache_1h).alias("input_tokens"),
        cache_read.alias("cached_input_tokens"),
        output.alias("output_tokens"),
        group_label(raw, _USAGE_GROUPS).alias(GROUP),
        row_problems(raw, *problems),
    )


def _usage_api(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    # The documented shape nests `cache_creation{...}`; a derived schema flattens it.
    return _usage(
        raw,
        column(raw, "uncached_input_tokens"),
        column(raw, "cache_read_input_tokens"),
        pl.coalesce(
            json_field(raw, "cache_creation", "$.ephemeral_5m_input_tokens"),
            column(raw, "cache_creation_5m_input_tokens"),
        ),
        pl.coalesce(
            json_field(raw, "cache_creation", "$.ephemeral_1h_input_tokens"),
            column(raw, "cache_creation_1h_input_tokens"),
        ),
        column(raw, "output_tokens"),
    )


def _fivetran_usage(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    return _usage(
        raw,
        column(raw, "uncached_input_token"),
        column(raw, "cache_read_input_token"),
        column(raw, "cache_creation_ephemeral_5_m_input_token"),
        column(raw, "cache_creation_ephemeral_1_h_input_token"),
        column(raw, "output_token"),
        deleted_reason(raw),
    )


def _cost(raw: pl.DataFrame, unit: str, *problems: pl.Expr) -> pl.DataFrame:
    currency = column(raw, "currency")
    return raw.select(
        pl.col(LINE),
        utc_text(column(raw, "starting_at")).alias("bucket_start"),
        utc_text(column(raw, "ending_at")).alias("bucket_end"),
        pl.lit("anthropic").alias("provider"),
        pl.lit("cost").alias("kind"),
        column(raw, "model").alias("model"),
        pl.coalesce(
            column(raw, "token_type"), column(raw, "cost_type"), column(raw, "description")
        ).alias("line_item"),
        column(raw, "workspace_id").alias("project"),
        money(column(raw, "amount"), currency, cents=unit == "cents").alias("cost_usd"),
        currency.str.to_uppercase().alias("currency"),
        group_label(raw, _COST_GROUPS).alias(GROUP),
        row_problems(raw, *problems, currency_reason(currency)),
    )


def _cost_api(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    return _cost(raw, ctx.options(ApiCostOptions).cost_unit)


def _fivetran_cost(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    return _cost(raw, ctx.options(FivetranCostOptions).cost_unit, deleted_reason(raw))


_USAGE_MAPPING = {
    "provider": '"anthropic"',
    "kind": '"usage"',
    "model": "`model` (null unless grouped by model)",
    "project": "`workspace_id`",
    "api_key": "`api_key_id`",
    GROUP: "`service_tier`, `context_window`, `inference_geo`, ... when grouped by them",
}
_COST_MAPPING = {
    "provider": '"anthropic"',
    "kind": '"cost"',
    "model": "`model` (null for non-token costs)",
    "line_item": "`token_type` (e.g. uncached_input_tokens), else `cost_type` (web_search, "
    "session_usage, ...), else `description`",
    "project": "`workspace_id`",
    "cost_usd": "`amount` in the unit of option `cost_unit` (default cents: divided by 100); "
    "a row in another currency is quarantined",
    "currency": "`currency`, upper-cased",
    GROUP: "`service_tier`, `context_window`, `inference_geo`, `description`",
}
_DELETED = {
    "__read_errors__": "`_fivetran_deleted` = true: quarantined as deleted at the source",
}

ADAPTERS: list[Adapter] = [
    Adapter(
        name="anthropic_usage_api",
        source="usage",
        title="Anthropic messages usage report page (Admin API)",
        target="provider_costs",
        detect=page_detect(("data[].starting_at",), ("data[].results[].uncached_input_tokens",)),
        transform=_usage_api,
        read_document=bucket_records,
        mapping={
            "bucket_start": "bucket `starting_at` (RFC 3339) as ISO UTC",
            "bucket_end": "bucket `ending_at` (exclusive) as ISO UTC",
            "input_tokens": "`uncached_input_tokens` + `cache_read_input_tokens` + "
            "`cache_creation.ephemeral_5m_input_tokens` + "
            "`cache_creation.ephemeral_1h_input_tokens`",
            "cached_input_tokens": "`cache_read_input_tokens`",
            "output_tokens": "`output_tokens`",
        }
        | _USAGE_MAPPING,
    ),
    Adapter(
        name="anthropic_cost_api",
        source="usage",
        title="Anthropic cost report page (Admin API)",
        target="provider_costs",
        detect=page_detect(
            ("data[].starting_at",), ("data[].results[].amount", "data[].results[].currency")
        ),
        transform=_cost_api,
        read_document=bucket_records,
        options=ApiCostOptions,
        mapping={
            "bucket_start": "bucket `starting_at` (RFC 3339) as ISO UTC",
            "bucket_end": "bucket `ending_at` (exclusive) as ISO UTC",
        }
        | _COST_MAPPING,
    ),
    Adapter(
        name="anthropic_fivetran_usage",
        source="usage",
        title="Anthropic message usage report table (Fivetran connector)",
        target="provider_costs",
        detect=lambda s: (
            {
                "uncached_input_token",
                "cache_read_input_token",
                "output_token",
                "starting_at",
            }
            <= s.columns
        ),
        transform=_fivetran_usage,
        mapping={
            "bucket_start": "`starting_at` (`2025-01-01 00:00:00 UTC`) as ISO UTC",
            "bucket_end": "`ending_at` as ISO UTC",
            "input_tokens": "`uncached_input_token` + `cache_read_input_token` + "
            "`cache_creation_ephemeral_5_m_input_token` + "
            "`cache_creation_ephemeral_1_h_input_token`",
            "cached_input_tokens": "`cache_read_input_token`",
            "output_tokens": "`output_token`",
        }
        | _USAGE_MAPPING
        | _DELETED,
    ),
    Adapter(
        name="anthropic_fivetran_cost",
        source="usage",
        title="Anthropic cost report table (Fivetran connector)",
        target="provider_costs",
        detect=lambda s: {"amount", "currency", "cost_type", "starting_at"} <= s.columns,
        transform=_fivetran_cost,
        options=FivetranCostOptions,
        mapping={
            "bucket_start": "`starting_at` (`2025-01-01 00:00:00 UTC`) as ISO UTC",
            "bucket_end": "`ending_at` as ISO UTC",
        }
        | _COST_MAPPING
        | _DELETED,
    ),
]
