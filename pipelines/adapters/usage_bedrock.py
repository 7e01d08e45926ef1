"""AWS Bedrock model invocation logs (`ModelInvocationLog` records, JSON Lines) as usage.

One record per invocation, delivered to CloudWatch Logs or S3. Nested objects (`identity`,
`input`, `output`, `requestMetadata`) arrive as JSON text. There is no cost field: every row is
priced from its tokens with genai-prices, provider `aws` (which resolves plain Bedrock model ids,
regional `us.`/`eu.` ids and inference-profile ARNs).

Bedrock counts `inputTokenCount` without prompt-cache reads and writes (Converse reports
`cacheReadInputTokenCount` / `cacheWriteInputTokenCount` apart), so canonical `input_tokens`
(which includes cached input) is their sum.

Read as JSON Lines of the log records (what CloudWatch Logs and S3 hold, and what a plain dump of
the `@message` payloads is), one pretty-printed record, or a CloudWatch Logs Insights result
dump (`aws logs get-query-results`: `results` as lists of `{field, value}` pairs, the log record
as JSON text in `@message`); a result whose `@message` is not a JSON record is quarantined.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from pipelines.adapters.base import Adapter, AdapterContext, Sniff
from pipelines.adapters.usage_common import (
    TaskKeyOptions,
    first_text,
    json_field,
    keep_line,
    number_text,
    records_frame,
    utc_text,
)
from pipelines.read import READ_ERRORS

PROVIDER = "aws"


def _detect(sniff: Sniff) -> bool:
    return (
        {"schematype", "requestid", "modelid"} <= sniff.columns
        or {"schemaType", "requestId", "modelId"} <= sniff.json_paths
        or {"results[][].field", "results[][].value"} <= sniff.json_paths
    )


def _read_document(value: Any) -> pl.DataFrame:
    """A Logs Insights dump's results (each `@message` parsed), or one log record."""
    if not (isinstance(value, dict) and isinstance(value.get("results"), list)):
        return records_frame([value])
    records: list[dict[str, Any]] = []
    errors: list[str | None] = []
    for result in value["results"]:
        fields = {
            f.get("field"): f.get("value")
            for f in (result if isinstance(result, list) else [])
            if isinstance(f, dict)
        }
        try:
            record = json.loads(fields.get("@message") or "")
        except (TypeError, json.JSONDecodeError):
            record = None
        ok = isinstance(record, dict)
        records.append(record if ok else {})
        errors.append(None if ok else "@message is not a JSON log record")
    frame = records_frame(records)
    if any(errors):
        frame = frame.with_columns(pl.Series(READ_ERRORS, errors, dtype=pl.String))
    return frame


def _tokens(raw: pl.DataFrame) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    cols = raw.columns
    counted = json_field("input", "$.inputTokenCount", cols)
    read = json_field("input", "$.cacheReadInputTokenCount", cols)
    write = json_field("input", "$.cacheWriteInputTokenCount", cols)
    as_number = [e.cast(pl.Float64, strict=False) for e in (counted, read, write)]
    readable = pl.all_horizontal(
        [
            n.is_not_null() | e.is_null()
            for n, e in zip(as_number, (counted, read, write), strict=True)
        ]
    )
    total = as_number[0] + as_number[1].fill_null(0) + as_number[2].fill_null(0)
    # Unreadable counts pass through unchanged, so the check names the column.
    input_tokens = pl.when(readable).then(number_text(total)).otherwise(counted)
    output_tokens = json_field("output", "$.outputTokenCount", cols)
    return input_tokens, output_tokens, read


def _status(raw: pl.DataFrame) -> pl.Expr:
    error = pl.coalesce(
        [
            first_text(raw.columns, "errorcode"),
            json_field("output", "$.errorCode", raw.columns),
        ]
    )
    return (
        pl.when(error.is_null())
        .then(pl.lit("ok"))
        .when(error.str.contains("(?i)timeout|timed out"))
        .then(pl.lit("timeout"))
        .otherwise(pl.lit("error"))
    )


def transform(raw: pl.DataFrame, ctx: AdapterContext) -> pl.DataFrame:
    """Bedrock invocation log records -> canonical usage text columns."""
    cols = raw.columns
    key = ctx.options(TaskKeyOptions).task_id_metadata_key
    task_id = json_field("requestmetadata", f"$.{key}", cols) if key else pl.lit(None, pl.String)
    input_tokens, output_tokens, cached = _tokens(raw)
    latency = json_field("output", "$.outputBodyJson.metrics.latencyMs", cols)
    return raw.select(
        *keep_line(raw),
        first_text(cols, "requestid").alias("request_id"),
        (utc_text("timestamp") if "timestamp" in cols else pl.lit(None, pl.String)).alias(
            "timestamp"
        ),
        task_id.alias("task_id"),
        json_field("identity", "$.arn", cols).alias("user"),
        pl.lit(PROVIDER).alias("provider"),
        first_text(cols, "modelid").alias("model"),
        input_tokens.alias("input_tokens"),
        output_tokens.alias("output_tokens"),
        cached.alias("cached_input_tokens"),
        latency.alias("latency_ms"),
        _status(raw).alias("status"),
    )


MAPPING = {
    "request_id": "requestId",
    "timestamp": "timestamp (UTC)",
    "task_id": "requestMetadata key task_id_metadata_key (default 'ticket_id')",
    "user": "identity.arn (the calling IAM role or user)",
    "provider": "'aws' (the genai-prices provider of Bedrock model ids)",
    "model": "modelId (a Bedrock model id or an inference-profile ARN)",
    "input_tokens": "input.inputTokenCount + input.cacheReadInputTokenCount + "
    "input.cacheWriteInputTokenCount",
    "output_tokens": "output.outputTokenCount",
    "cached_input_tokens": "input.cacheReadInputTokenCount",
    "latency_ms": "output.outputBodyJson.metrics.latencyMs (Converse, when text delivery is on)",
    "status": "errorCode recorded -> error (timeout when it names a timeout), else ok",
}

ADAPTERS: list[Adapter] = [
    Adapter(
        name="bedrock_invocation_logs",
        source="usage",
        title="AWS Bedrock model invocation logs (ModelInvocationLog JSON Lines, or a "
        "CloudWatch Logs Insights result dump)",
        target="usage",
        detect=_detect,
        transform=transform,
        mapping=MAPPING,
        read_document=_read_document,
        options=TaskKeyOptions,
    ),
]
