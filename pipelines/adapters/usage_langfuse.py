"""Langfuse observations as per-request usage.

Read from the public API (`/api/public/observations`, `/api/public/v2/observations`: camelCase
fields, as JSON Lines, a JSON array or one API page `{"data": [...], "meta": {...}}`) or from a
blob storage export (`observations/`, enriched `observations_v2/`: snake_case fields, JSON,
JSONL or CSV, times `YYYY-MM-DD HH:MM:SS.ffffff` in UTC without an offset).

Only GENERATION observations are model calls (option `model_call_types`). Other observation
types (SPAN, EVENT, ...) are not usage rows: they are set aside and counted as skipped with their
type as the reason, neither loaded nor quarantined (a clean export has many of them).

The task id comes from option `task_id_from` when set: `trace_id` (the observation's trace) or
`metadata.<key>` (a key of the observation's metadata); else from the metadata key
`task_id_metadata_key`, else the session id (unless `task_id_from_session` is false).

`usageDetails` is a map of usage metric -> units whose non-total keys partition the total
(Langfuse's OpenAI integration writes `input` without cached tokens plus `input_cached_tokens`;
Anthropic-style usage writes `input`, `cache_read_input_tokens` and
`cache_creation_input_tokens`). Canonical `input_tokens` includes cached input, so it is the sum
of every input-side key.
"""

from __future__ import annotations

import polars as pl
from pydantic import Field

from pipelines.adapters.base import SKIPPED, Adapter, AdapterContext, Sniff, TextList, text
from pipelines.adapters.usage_common import (
    TaskKeyOptions,
    first_text,
    json_field,
    json_text,
    keep_line,
    number_text,
    page_records,
    utc_datetime,
    utc_text,
)

DEFAULT_MODEL_CALL_TYPES = ("GENERATION",)


class ObservationOptions(TaskKeyOptions):
    """Langfuse's options: where the task id is, which observations are calls, the provider."""

    task_id_from_session: bool = Field(
        default=True, description="Without a metadata task id, the session id is the task id."
    )
    model_call_types: TextList = Field(
        default=list(DEFAULT_MODEL_CALL_TYPES), description="Observation types that are calls."
    )
    provider: str | None = Field(
        default=None, description="genai-prices provider id of every call (Langfuse has none)."
    )
    task_id_from: str | None = Field(
        default=None,
        pattern=r"^(trace_id|session_id|metadata\.[^.\s]+)$",
        description="Where the task id is: trace_id, session_id or metadata.<key>.",
    )


# Usage-detail keys, matched as whole JSON keys inside the usageDetails map.
# A CSV export may write the map with single quotes ({'input':1200}); both are read.
_INPUT_KEYS = r"[\"'](?:input|prompt|cache_)[^\"']*[\"']"
_OUTPUT_KEYS = r"[\"'](?:output|completion)[^\"']*[\"']"
_CACHED_KEYS = r"[\"'][^\"']*(?:cache_read|cached)[^\"']*[\"']"
_NUMBER = r"\s*:\s*-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"


def _camel(sniff: Sniff) -> bool:
    return {"id", "type", "traceid", "starttime"} <= sniff.columns


def _snake(sniff: Sniff) -> bool:
    return {"id", "type", "trace_id", "start_time"} <= sniff.columns


def _page(sniff: Sniff) -> bool:
    return {"data[].id", "data[].type", "data[].traceId", "data[].startTime"} <= sniff.json_paths


def _detect(sniff: Sniff) -> bool:
    """Observation records (API camelCase or blob-export snake_case) or an API page."""
    return _camel(sniff) or _snake(sniff) or _page(sniff)


def _usage_sum(column: str | None, keys: str) -> pl.Expr:
    """Sum of the numeric values of matching keys in a usage-details JSON map (null when none)."""
    if column is None:
        return pl.lit(None, dtype=pl.Float64)
    pairs = json_text(text(column)).str.extract_all(keys + _NUMBER)
    values = pairs.list.eval(
        pl.element().str.extract(r":\s*(\S+)$", 1).cast(pl.Float64, strict=False)
    )
    return pl.when(pairs.list.len() > 0).then(values.list.sum())


def _pick(cols: list[str], *names: str) -> str | None:
    return next((n for n in names if n in cols), None)


def _tokens(raw: pl.DataFrame) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    cols = raw.columns
    details = _pick(cols, "usagedetails", "usage_details")
    legacy = _pick(cols, "usage")
    input_tokens = pl.coalesce(
        [
            number_text(_usage_sum(details, _INPUT_KEYS)),
            json_field(legacy, "$.input", cols) if legacy else pl.lit(None, pl.String),
            first_text(cols, "prompttokens", "prompt_tokens", "input_tokens"),
        ]
    )
    output_tokens = pl.coalesce(
        [
            number_text(_usage_sum(details, _OUTPUT_KEYS)),
            json_field(legacy, "$.output", cols) if legacy else pl.lit(None, pl.String),
            first_text(cols, "completiontokens", "completion_tokens", "output_tokens"),
        ]
    )
    cached = number_text(_usage_sum(details, _CACHED_KEYS))
    return input_tokens, output_tokens, cached


def _cost(raw: pl.DataFrame) -> pl.Expr:
    cols = raw.columns
    details = _pick(cols, "costdetails", "cost_details")
    found = [json_field(details, "$.total", cols)] if details else []
    found.append(first_text(cols, "totalcost", "total_cost", "calculatedtotalcost"))
    return pl.coalesce(found)


def _latency(raw: pl.DataFrame) -> pl.Expr:
    cols = raw.columns
    seconds = first_text(cols, "latency")
    from_seconds = seconds.cast(pl.Float64, strict=False) * 1000
    start, end = _pick(cols, "starttime", "start_time"), _pick(cols, "endtime", "end_time")
    found = [from_seconds]
    if start and end:
        span = (utc_datetime(end) - utc_datetime(start)).dt.total_microseconds()
        found.append(span.cast(pl.Float64) / 1000)
    # Unreadable `latency` text passes through unchanged, so the check names it.
    return pl.coalesce([number_text(pl.coalesce(found)), seconds])


def _prompt_version(raw: pl.DataFrame) -> pl.Expr:
    cols = raw.columns
    name = first_text(cols, "promptname", "prompt_name")
    version = first_text(cols, "promptversion", "prompt_version").str.replace(r"\.0$", "")
    return (
        pl.when(name.is_not_null() & version.is_not_null())
        .then(pl.concat_str([name, version], separator=":"))
        .otherwise(pl.coalesce([name, version]))
    )


def _task_id(raw: pl.DataFrame, options: ObservationOptions) -> pl.Expr:
    cols = raw.columns
    chosen = options.task_id_from
    if chosen == "trace_id":
        return first_text(cols, "traceid", "trace_id")
    if chosen == "session_id":
        return first_text(cols, "sessionid", "session_id")
    if chosen is not None:
        key = chosen.removeprefix("metadata.")
        if "metadata" not in cols:
            return pl.lit(None, dtype=pl.String)
        return json_field("metadata", f"$.{key}", cols)
    found: list[pl.Expr] = []
    key = options.task_id_metadata_key
    if key and "metadata" in cols:
        found.append(json_field("metadata", f"$.{key}", cols))
    if options.task_id_from_session:
        found.append(first_text(cols, "sessionid", "session_id"))
    return pl.coalesce(found) if found else pl.lit(None, dtype=pl.String)


def _status(raw: pl.DataFrame, options: ObservationOptions) -> pl.Expr:
    cols = raw.columns
    kinds = options.model_call_types
    kind = first_text(cols, "type")
    level = first_text(cols, "level").str.to_uppercase()
    # Langfuse levels: DEBUG, DEFAULT, WARNING, ERROR (DEFAULT when not set).
    call_status = (
        pl.when(level.is_null() | level.is_in(["DEBUG", "DEFAULT", "WARNING"]))
        .then(pl.lit("ok"))
        .when(level == "ERROR")
        .then(pl.lit("error"))
        .otherwise(first_text(cols, "level"))
    )
    is_call = kind.str.to_uppercase().is_in([k.upper() for k in kinds])
    # Not a model call: the type word itself (such rows are skipped, see `_skipped`).
    return pl.when(is_call).then(call_status).otherwise(kind)


def _skipped(raw: pl.DataFrame, options: ObservationOptions) -> pl.Expr:
    """Why an observation is not a model call: `Langfuse SPAN observation (not a model call)`."""
    kind = first_text(raw.columns, "type")
    is_call = kind.str.to_uppercase().is_in([k.upper() for k in options.model_call_types])
    return (
        pl.when(kind.is_not_null() & ~is_call)
        .then(pl.format("Langfuse {} observation (not a model call)", kind.str.to_uppercase()))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def _provider(options: ObservationOptions) -> pl.Expr:
    return pl.lit(options.provider or None, dtype=pl.String)


def transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Langfuse observations -> canonical usage text columns."""
    options = ctx.options(ObservationOptions)
    cols = raw.columns
    start = _pick(cols, "starttime", "start_time")
    input_tokens, output_tokens, cached = _tokens(raw)
    return raw.select(
        *keep_line(raw),
        first_text(cols, "id").alias("request_id"),
        (utc_text(start) if start else pl.lit(None, pl.String)).alias("timestamp"),
        _task_id(raw, options).alias("task_id"),
        first_text(cols, "userid", "user_id").alias("user"),
        _provider(options).alias("provider"),
        first_text(cols, "model", "providedmodelname", "provided_model_name").alias("model"),
        _prompt_version(raw).alias("prompt_version"),
        input_tokens.alias("input_tokens"),
        output_tokens.alias("output_tokens"),
        cached.alias("cached_input_tokens"),
        _cost(raw).alias("cost_usd"),
        _latency(raw).alias("latency_ms"),
        _status(raw, options).alias("status"),
        _skipped(raw, options).alias(SKIPPED),
    )


MAPPING = {
    "request_id": "id (observation id)",
    "timestamp": "startTime / start_time (times without an offset are UTC, as Langfuse writes "
    "them)",
    "task_id": "option task_id_from (trace_id, session_id or metadata.<key>) when set; else "
    "metadata key task_id_metadata_key (default 'ticket_id'), else sessionId / session_id "
    "unless option task_id_from_session is false",
    "user": "userId / user_id (v2 API, enriched export)",
    "provider": "not recorded by Langfuse: option provider (a genai-prices provider id) when "
    "set, else left to genai-prices to infer from the model",
    "model": "model, else providedModelName / provided_model_name",
    "prompt_version": "promptName:promptVersion (either alone when the other is missing)",
    "input_tokens": "sum of usageDetails input-side keys (input, input_*, cache_*; cached "
    "tokens included), else usage.input (deprecated), else promptTokens",
    "output_tokens": "sum of usageDetails output-side keys (output, output_*), else "
    "usage.output (deprecated), else completionTokens",
    "cached_input_tokens": "sum of usageDetails cache-read keys (input_cached_tokens, "
    "cache_read_input_tokens, ...)",
    "cost_usd": "costDetails.total, else totalCost / total_cost, else calculatedTotalCost "
    "(deprecated)",
    "latency_ms": "latency (seconds) x 1000, else endTime - startTime",
    "status": "level ERROR -> error, DEBUG/DEFAULT/WARNING/unset -> ok, for observation types in "
    "option model_call_types (default GENERATION); any other type (SPAN, EVENT, ...) is not a "
    "call: skipped, counted with its type as the reason",
}

ADAPTERS: list[Adapter] = [
    Adapter(
        name="langfuse_observations",
        source="usage",
        title="Langfuse observations (API records or page, or blob storage export; GENERATION "
        "rows are usage)",
        target="usage",
        detect=_detect,
        transform=transform,
        mapping=MAPPING,
        read_document=page_records,
        options=ObservationOptions,
    ),
]
