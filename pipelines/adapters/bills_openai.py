"""OpenAI provider bills: bucketed usage and cost (export-formats.md A1) as `provider_costs` rows.

Four shapes, each its own format:
- `openai_usage_api`: a page of `GET /v1/organization/usage/completions`
  (`{"object": "page", "data": [{"start_time", "end_time", "results": [...]}]}`), one row per result.
- `openai_costs_api`: a page of `GET /v1/organization/costs`; `amount: {value, currency}` and a
  `line_item` that packs the model and the token class ("gpt-4o-mini-2024-07-18, cached input").
- `openai_fivetran_completion` and `openai_fivetran_cost`: the Fivetran connector tables
  (`completion`, `cost`): singular column names (`input_token`, `num_model_request`), unix-second
  `start_time`, `_fivetran_*` bookkeeping columns.

Bucket rows are never per-request usage: they go to `provider_costs`, used to reconcile usage.
A row the connector marks deleted (`_fivetran_deleted` = true) is quarantined with that reason.
"""

from __future__ import annotations

import polars as pl

from pipelines.adapters.base import Adapter, AdapterContext, unix_seconds
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
)
from pipelines.read import LINE


def split_line_item(item: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(model, token class) of an OpenAI line item, split on its last ", ":
    "gpt-4o-mini-2024-07-18, cached input" -> ("gpt-4o-mini-2024-07-18", "cached input");
    an item without a model ("Image models") keeps its text as the class, model null."""
    parts = item.str.extract_groups(r"^(.+), ([^,]+)$")
    model = parts.struct.field("1").str.strip_chars()
    kind = parts.struct.field("2").str.strip_chars()
    return model, pl.when(model.is_not_null()).then(kind).otherwise(item)


# ---------------------------------------------------------------------------------------------
# OpenAI formats.

_USAGE_GROUPS = ("user_id", "batch", "service_tier", "api_source")


def _bucket_times(raw: pl.DataFrame) -> list[pl.Expr]:
    """bucket_start and bucket_end from an API page's unix-second start_time and end_time."""
    return [
        unix_seconds(name).alias(alias)
        if name in raw.columns
        else pl.lit(None, dtype=pl.String).alias(alias)
        for name, alias in (("start_time", "bucket_start"), ("end_time", "bucket_end"))
    ]


def _usage_api(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    return raw.select(
        pl.col(LINE),
        *_bucket_times(raw),
        pl.lit("openai").alias("provider"),
        pl.lit("usage").alias("kind"),
        column(raw, "model").alias("model"),
        column(raw, "project_id").alias("project"),
        column(raw, "api_key_id").alias("api_key"),
        column(raw, "input_tokens").alias("input_tokens"),
        column(raw, "input_cached_tokens").alias("cached_input_tokens"),
        column(raw, "output_tokens").alias("output_tokens"),
        column(raw, "num_model_requests").alias("requests"),
        group_label(raw, _USAGE_GROUPS).alias(GROUP),
        row_problems(raw),
    )


def _costs_api(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    currency = json_field(raw, "amount", "$.currency")
    model, item = split_line_item(column(raw, "line_item"))
    return raw.select(
        pl.col(LINE),
        *_bucket_times(raw),
        pl.lit("openai").alias("provider"),
        pl.lit("cost").alias("kind"),
        model.alias("model"),
        item.alias("line_item"),
        column(raw, "project_id").alias("project"),
        column(raw, "api_key_id").alias("api_key"),
        money(json_field(raw, "amount", "$.value", plain=True), currency).alias("cost_usd"),
        currency.str.to_uppercase().alias("currency"),
        row_problems(raw, currency_reason(currency)),
    )


def _fivetran_completion(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    return raw.select(
        pl.col(LINE),
        unix_seconds("start_time").alias("bucket_start"),
        pl.lit("openai").alias("provider"),
        pl.lit("usage").alias("kind"),
        column(raw, "model").alias("model"),
        column(raw, "project_id").alias("project"),
        column(raw, "api_key_id").alias("api_key"),
        column(raw, "input_token").alias("input_tokens"),
        column(raw, "input_cached_token").alias("cached_input_tokens"),
        column(raw, "output_token").alias("output_tokens"),
        column(raw, "num_model_request").alias("requests"),
        group_label(raw, ("user_id", "batch", "service_tier")).alias(GROUP),
        row_problems(raw, deleted_reason(raw)),
    )


def _fivetran_cost(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    currency = column(raw, "amount_currency")
    model, item = split_line_item(column(raw, "line_item"))
    return raw.select(
        pl.col(LINE),
        unix_seconds("start_time").alias("bucket_start"),
        pl.lit("openai").alias("provider"),
        pl.lit("cost").alias("kind"),
        model.alias("model"),
        item.alias("line_item"),
        column(raw, "project_id").alias("project"),
        column(raw, "api_key_id").alias("api_key"),
        money(column(raw, "amount_value"), currency).alias("cost_usd"),
        currency.str.to_uppercase().alias("currency"),
        row_problems(raw, deleted_reason(raw), currency_reason(currency)),
    )


_BUCKET_API = {
    "bucket_start": "bucket `start_time` (unix seconds, UTC) as ISO UTC",
    "bucket_end": "bucket `end_time` (unix seconds, UTC) as ISO UTC",
    "provider": '"openai"',
}
_BUCKET_FIVETRAN = {
    "bucket_start": "`start_time` (unix seconds, UTC) as ISO UTC",
    "bucket_end": "not recorded by the connector table (null)",
    "provider": '"openai"',
}
_DELETED = {
    "__read_errors__": "`_fivetran_deleted` = true: quarantined as deleted at the source",
}
_COST_SPLIT = {
    "model": 'model part of `line_item` before its last ", " (null for "Image models")',
    "line_item": 'token class part of `line_item` after its last ", " ("input", "cached input", '
    '"output"), or the whole item when it names no model',
}

ADAPTERS: list[Adapter] = [
    Adapter(
        name="openai_usage_api",
        source="usage",
        title="OpenAI Usage API (completions) page",
        target="provider_costs",
        detect=page_detect(
            ("data[].start_time",),
            ("data[].results[].input_tokens", "data[].results[].num_model_requests"),
        ),
        transform=_usage_api,
        read_document=bucket_records,
        mapping=_BUCKET_API
        | {
            "kind": '"usage"',
            "model": "`model` (null unless the page is grouped by model)",
            "project": "`project_id`",
            "api_key": "`api_key_id`",
            "input_tokens": "`input_tokens` (includes cached input)",
            "cached_input_tokens": "`input_cached_tokens`",
            "output_tokens": "`output_tokens`",
            "requests": "`num_model_requests`",
            GROUP: "`user_id`, `batch`, `service_tier`, `api_source` when grouped by them",
        },
    ),
    Adapter(
        name="openai_costs_api",
        source="usage",
        title="OpenAI Costs API page",
        target="provider_costs",
        detect=page_detect(("data[].start_time",), ("data[].results[].amount.value",)),
        transform=_costs_api,
        read_document=bucket_records,
        mapping=_BUCKET_API
        | _COST_SPLIT
        | {
            "kind": '"cost"',
            "project": "`project_id`",
            "api_key": "`api_key_id`",
            "cost_usd": "`amount.value` (a row in another currency is quarantined)",
            "currency": "`amount.currency`, upper-cased",
        },
    ),
    Adapter(
        name="openai_fivetran_completion",
        source="usage",
        title="OpenAI completion usage table (Fivetran connector)",
        target="provider_costs",
        detect=lambda s: (
            {"input_token", "output_token", "num_model_request", "start_time"} <= s.columns
        ),
        transform=_fivetran_completion,
        mapping=_BUCKET_FIVETRAN
        | {
            "kind": '"usage"',
            "model": "`model`",
            "project": "`project_id`",
            "api_key": "`api_key_id`",
            "input_tokens": "`input_token` (includes cached input)",
            "cached_input_tokens": "`input_cached_token`",
            "output_tokens": "`output_token`",
            "requests": "`num_model_request`",
            GROUP: "`user_id` (the table is grouped by user)",
        }
        | _DELETED,
    ),
    Adapter(
        name="openai_fivetran_cost",
        source="usage",
        title="OpenAI cost table (Fivetran connector)",
        target="provider_costs",
        detect=lambda s: (
            {"line_item", "amount_value", "amount_currency", "start_time"} <= s.columns
        ),
        transform=_fivetran_cost,
        mapping=_BUCKET_FIVETRAN
        | _COST_SPLIT
        | {
            "kind": '"cost"',
            "project": "`project_id`",
            "api_key": "`api_key_id` when the table has it",
            "cost_usd": "`amount_value` as plain decimal dollars (`2.5e-05` -> 0.000025; a row "
            "in another currency is quarantined)",
            "currency": "`amount_currency`, upper-cased",
        }
        | _DELETED,
    ),
]
