"""LiteLLM proxy spend logs (`LiteLLM_SpendLogs` rows) as per-request usage.

The table is exported as CSV (a database dump), JSON Lines, a JSON array (`GET /spend/logs`) or
a `/spend/logs/v2` page (`{"data": [...], "total": ...}`). Columns after `api_base` are optional
(older installs lack them), and a "minimal" export may leave out more: what a row lacks stays
null and the checks say which required column is missing.

Options (`sources.usage.<name>`): `task_id_tag_prefix`, `task_id_metadata_key`,
`prompt_version_metadata_key` (default `prompt_version`: the metadata key holding the prompt
version the caller sent), `timeout_error_classes` (default none: LiteLLM exception classes, such
as `Timeout`, whose failures are timeouts) and `status_when_missing`.

Times (`startTime`, `endTime`) are stored as naive UTC by LiteLLM, so text without an offset is
read as UTC here, not in the pilot's timezone. `spend` is LiteLLM's own cost in USD.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl
from pydantic import Field

from pipelines.adapters.base import Adapter, AdapterContext, Sniff, TextList, text
from pipelines.adapters.usage_common import (
    TaskKeyOptions,
    first_text,
    json_field,
    json_text,
    keep_line,
    number_text,
    page_records,
    records_frame,
    utc_datetime,
    utc_text,
)

# ---------------------------------------------------------------------------------------------
# LiteLLM.

# LiteLLM provider names (custom_llm_provider, or the model prefix "openai/gpt-4o") ->
# genai-prices provider ids. Other names are passed on unchanged.
LITELLM_PROVIDERS = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "azure": "azure",
    "azure_ai": "azure",
    "anthropic": "anthropic",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "sagemaker": "aws",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "gemini": "google",
    "mistral": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "xai": "x-ai",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "cerebras": "cerebras",
}
_STATUS = {"success": "ok", "failure": "error"}
DEFAULT_TAG_PREFIXES = ("ticket:", "task:")
DEFAULT_PROMPT_VERSION_KEY = "prompt_version"


class SpendLogOptions(TaskKeyOptions):
    """LiteLLM's options: where the task id and prompt version are, and how statuses read."""

    task_id_tag_prefix: TextList = Field(
        default=list(DEFAULT_TAG_PREFIXES),
        description="Request tag prefix(es) before the task id; null or empty: none.",
    )
    prompt_version_metadata_key: str | None = Field(
        default=DEFAULT_PROMPT_VERSION_KEY, description="Metadata key holding the prompt version."
    )
    timeout_error_classes: TextList = Field(
        default=[], description="LiteLLM exception classes whose failures are timeouts."
    )
    status_when_missing: str | None = Field(
        default=None, description="The status of a call that records none (else quarantined)."
    )


def _detect(sniff: Sniff) -> bool:
    """Spend-log rows (CSV, JSON Lines, JSON array), a `/spend/logs/v2` page, or a file holding
    one SpendLogs object (as LiteLLM's GCS and Pub/Sub loggers write each request)."""
    return (
        {"request_id", "spend", "starttime"} <= sniff.columns
        or {"data[].request_id", "data[].spend", "data[].startTime"} <= sniff.json_paths
        or {"request_id", "spend", "startTime"} <= sniff.json_paths
    )


def _read_document(value: Any) -> pl.DataFrame:
    """The records of a `/spend/logs/v2` page, or the one SpendLogs object a file holds."""
    if isinstance(value, dict) and "request_id" in value and "data" not in value:
        return records_frame([value])
    return page_records(value)


def _task_id(raw: pl.DataFrame, options: SpendLogOptions) -> pl.Expr:
    cols = raw.columns
    found: list[pl.Expr] = []
    prefixes = [p for p in options.task_id_tag_prefix if p]
    if prefixes and "request_tags" in cols:
        pattern = "|".join(re.escape(p) for p in prefixes)
        tag = json_text(text("request_tags")).str.extract(rf'"(?:{pattern})([^"]+)"', 1)
        found.append(tag.str.strip_chars())
    key = options.task_id_metadata_key
    if key:
        found.append(_metadata_value(raw, key))
    return pl.coalesce(found) if found else pl.lit(None, dtype=pl.String)


def _metadata_value(raw: pl.DataFrame, key: str | None) -> pl.Expr:
    """A metadata key as text: top level, else in spend_logs_metadata or requester_metadata."""
    if not key:
        return pl.lit(None, dtype=pl.String)
    paths = (f"$.{key}", f"$.spend_logs_metadata.{key}", f"$.requester_metadata.{key}")
    return pl.coalesce([json_field("metadata", p, raw.columns) for p in paths])


def _provider_and_model(raw: pl.DataFrame) -> tuple[pl.Expr, pl.Expr]:
    model = first_text(raw.columns, "model")
    prefix = model.str.extract(r"^([^/]+)/", 1)
    known_prefix = prefix.str.to_lowercase().is_in(list(LITELLM_PROVIDERS))
    bare = pl.when(known_prefix).then(model.str.replace(r"^[^/]+/", "")).otherwise(model)
    named = first_text(raw.columns, "custom_llm_provider").str.to_lowercase()
    name = pl.coalesce([named, pl.when(known_prefix).then(prefix.str.to_lowercase())])
    provider = name.replace(LITELLM_PROVIDERS)
    return provider, bare


def _status(raw: pl.DataFrame, options: SpendLogOptions) -> pl.Expr:
    word = pl.coalesce(
        [first_text(raw.columns, "status"), json_field("metadata", "$.status", raw.columns)]
    )
    mapped = pl.when(word.str.to_lowercase().is_in(list(_STATUS))).then(
        word.str.to_lowercase().replace(_STATUS)
    )
    # A failure whose exception class is a configured timeout class is a timeout.
    classes = options.timeout_error_classes
    if classes:
        error_class = json_field("metadata", "$.error_information.error_class", raw.columns)
        timed_out = error_class.str.to_lowercase().is_in([c.lower() for c in classes])
        mapped = (
            pl.when((mapped == "error") & timed_out.fill_null(False))
            .then(pl.lit("timeout"))
            .otherwise(mapped)
        )
    fallback = pl.lit(options.status_when_missing, dtype=pl.String)
    return pl.coalesce([mapped, word, fallback])


def _latency(raw: pl.DataFrame) -> pl.Expr:
    cols = raw.columns
    duration = first_text(cols, "request_duration_ms").cast(pl.Float64, strict=False)
    if {"starttime", "endtime"} <= set(cols):
        span = (utc_datetime("endtime") - utc_datetime("starttime")).dt.total_microseconds()
        duration = pl.coalesce([duration, span.cast(pl.Float64) / 1000])
    raw_duration = first_text(cols, "request_duration_ms")
    return pl.coalesce([number_text(duration), raw_duration])


def transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """LiteLLM_SpendLogs rows -> canonical usage text columns."""
    options = ctx.options(SpendLogOptions)
    cols = raw.columns
    provider, model = _provider_and_model(raw)
    cached = pl.coalesce(
        [
            json_field("metadata", "$.usage_object.prompt_tokens_details.cached_tokens", cols),
            json_field("metadata", "$.usage_object.cache_read_input_tokens", cols),
        ]
    )
    return raw.select(
        *keep_line(raw),
        first_text(cols, "request_id").alias("request_id"),
        (utc_text("starttime") if "starttime" in cols else pl.lit(None, pl.String)).alias(
            "timestamp"
        ),
        _task_id(raw, options).alias("task_id"),
        first_text(cols, "user", "end_user").alias("user"),
        provider.alias("provider"),
        model.alias("model"),
        _metadata_value(raw, options.prompt_version_metadata_key).alias("prompt_version"),
        first_text(cols, "prompt_tokens").alias("input_tokens"),
        first_text(cols, "completion_tokens").alias("output_tokens"),
        cached.alias("cached_input_tokens"),
        _spend(cols, _status(raw, options)).alias("cost_usd"),
        _latency(raw).alias("latency_ms"),
        _status(raw, options).alias("status"),
    )


def _spend(cols: set[str], status: pl.Expr) -> pl.Expr:
    """LiteLLM's cost; a spend of 0 on a successful call with tokens is unknown, not free:
    LiteLLM writes 0 for models it cannot price, so such a call is priced here (or flagged
    unpriced). A failed call's 0 stays: providers do not bill failures."""
    spend = first_text(cols, "spend")
    tokens = pl.sum_horizontal(
        first_text(cols, "prompt_tokens").cast(pl.Float64, strict=False).fill_null(0),
        first_text(cols, "completion_tokens").cast(pl.Float64, strict=False).fill_null(0),
    )
    zero = spend.cast(pl.Float64, strict=False) == 0
    return pl.when(zero & (tokens > 0) & (status == "ok")).then(None).otherwise(spend)


MAPPING = {
    "request_id": "request_id",
    "timestamp": "startTime (naive times are UTC, as LiteLLM stores them)",
    "task_id": "the request tag starting with an option task_id_tag_prefix (default 'ticket:' "
    "or 'task:'), else metadata key task_id_metadata_key (default 'ticket_id'; also looked for "
    "in metadata.spend_logs_metadata and metadata.requester_metadata)",
    "user": "user, else end_user",
    "provider": "custom_llm_provider, else the model's provider prefix ('openai/gpt-4o'), as a "
    "genai-prices provider id (bedrock -> aws, vertex_ai/gemini -> google, ...)",
    "model": "model, without a known provider prefix",
    "prompt_version": "metadata key prompt_version_metadata_key (default 'prompt_version'; "
    "also looked for in metadata.spend_logs_metadata and metadata.requester_metadata)",
    "cost_usd": "spend (USD); a spend of 0 on a successful call with tokens counts as unknown "
    "and is priced with genai-prices or flagged unpriced, never costed at zero",
    "input_tokens": "prompt_tokens (includes cached tokens)",
    "output_tokens": "completion_tokens",
    "cached_input_tokens": "metadata.usage_object.prompt_tokens_details.cached_tokens, else "
    "metadata.usage_object.cache_read_input_tokens",
    "latency_ms": "request_duration_ms, else endTime - startTime",
    "status": "status (success -> ok, failure -> error, or timeout when "
    "metadata.error_information.error_class is one of option timeout_error_classes, e.g. "
    "[Timeout]), else metadata.status; when neither is recorded, option status_when_missing "
    "(default: none, the row is quarantined)",
}

ADAPTERS: list[Adapter] = [
    Adapter(
        name="litellm_spendlogs",
        source="usage",
        title="LiteLLM LiteLLM_SpendLogs rows (CSV, JSON Lines, JSON array, /spend/logs/v2 page "
        "or one SpendLogs object)",
        target="usage",
        detect=_detect,
        transform=transform,
        mapping=MAPPING,
        read_document=_read_document,
        options=SpendLogOptions,
    ),
]
