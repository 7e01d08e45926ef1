"""Per-request usage adapters: LiteLLM spend logs, Langfuse observations, Bedrock invocation logs.

Fixtures are composed from export-formats.md sections A4, A5 and A6 (see each ORIGIN.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.prepare import PreparedFile
from pipelines.usage_costs import GENAI_PRICES_VERSION, UNPRICED

Prepare = Callable[..., PreparedFile]
VENDOR = Path(__file__).resolve().parents[2] / "fixtures" / "vendor"
LITELLM = VENDOR / "litellm"
LANGFUSE = VENDOR / "langfuse"
BEDROCK = VENDOR / "bedrock"
GENAI = f"genai-prices {GENAI_PRICES_VERSION}"
VENDOR_COST = "input cost_usd"
TIMESTAMP_REASON = "timestamp: {} is not a timestamp"
NOT_A_CALL = [
    "model is missing",
    "input_tokens is missing",
    "output_tokens is missing",
    "status is not one of ok, error, timeout",
]


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def reasons(prepared: Any) -> dict[int, list[str]]:
    return {
        line: list(why)
        for line, why in prepared.quarantined.select("__line__", "reasons").iter_rows()
    }


def rows(prepared: Any) -> dict[str, dict[str, Any]]:
    return {r["request_id"]: r for r in prepared.valid.sort("__line__").iter_rows(named=True)}


def counts(prepared: Any) -> tuple[int, int, int, int]:
    return (
        prepared.rows_read,
        prepared.valid.height,
        prepared.quarantined.height,
        prepared.rows_duplicate_in_file,
    )


def assert_vendor_cost(prepared: Any) -> None:
    priced = prepared.valid.filter(pl.col("cost_usd").is_not_null())
    assert priced.get_column("model_cost_usd").to_list() == priced.get_column("cost_usd").to_list()
    assert set(priced.get_column("price_source").to_list()) <= {VENDOR_COST}


# --- LiteLLM ---------------------------------------------------------------------------------


def test_litellm_jsonl_maps_full_rows_and_quarantines_minimal_and_bad_rows(
    prepare: Prepare,
) -> None:
    """It maps full spend-log rows and quarantines the minimal, status-less and bad rows by name."""
    prepared = prepare("usage", LITELLM / "spendlogs.jsonl")
    assert prepared.refused is None
    assert prepared.adapter == "litellm_spendlogs"
    assert counts(prepared) == (7, 3, 4, 0)
    assert reasons(prepared) == {
        4: ["status is missing"],
        5: ["input_tokens is missing", "output_tokens is missing", "status is missing"],
        6: ["output_tokens is negative: -5"],
        7: [TIMESTAMP_REASON.format("06/10/2026 11:00"), "timestamp is missing"],
    }
    got = rows(prepared)
    assert list(got) == ["chatcmpl-a1", "chatcmpl-a2", "chatcmpl-a3"]
    a1, a2, a3 = got.values()
    assert a1["timestamp"] == dt.datetime(2026, 10, 5, 9, 14, 7, 120000, tzinfo=dt.UTC)
    assert [a1["task_id"], a2["task_id"], a3["task_id"]] == ["48213", "48214", "T-77"]
    assert [a1["user"], a2["user"]] == ["agent-anna", "agent-ben"]
    assert (a2["provider"], a2["model"]) == ("aws", "anthropic.claude-3-haiku-20240307-v1:0")
    assert (a1["provider"], a1["model"]) == ("openai", "gpt-4o-mini")
    assert (a1["input_tokens"], a1["output_tokens"], a1["cached_input_tokens"]) == (1834, 212, 1024)
    assert a2["cached_input_tokens"] is None
    assert [a1["latency_ms"], a2["latency_ms"], a3["latency_ms"]] == [2360.0, 3250.0, 30000.0]
    assert [a1["status"], a2["status"], a3["status"]] == ["ok", "ok", "error"]
    assert [a1["cost_usd"], a2["cost_usd"], a3["cost_usd"]] == [0.00045, 0.000712, 0.0]
    assert_vendor_cost(prepared)


def test_litellm_status_when_missing_option_loads_rows_of_older_installs(
    prepare: Prepare,
) -> None:
    """It reads a row without any status as the configured status_when_missing value."""
    prepared = prepare("usage", LITELLM / "spendlogs.jsonl", status_when_missing="ok")
    assert counts(prepared) == (7, 4, 3, 0)
    assert reasons(prepared) == {
        5: ["input_tokens is missing", "output_tokens is missing"],
        6: ["output_tokens is negative: -5"],
        7: [TIMESTAMP_REASON.format("06/10/2026 11:00"), "timestamp is missing"],
    }
    a4 = rows(prepared)["chatcmpl-a4"]
    # The model prefix "openai/" gives the provider; metadata.ticket_id gives the task.
    assert (a4["provider"], a4["model"], a4["task_id"]) == ("openai", "gpt-4o", "48220")
    assert (a4["status"], a4["latency_ms"], a4["user"]) == ("ok", 1500.0, "agent-carl")
    assert (a4["model_cost_usd"], a4["price_source"]) == (0.00213, VENDOR_COST)


def test_litellm_csv_dump_reads_naive_times_as_utc(prepare: Prepare) -> None:
    """It reads the naive timestamp(3) times of a table dump as UTC, not in the pilot timezone."""
    prepared = prepare("usage", LITELLM / "spendlogs_dump.csv", status_when_missing="ok")
    assert prepared.adapter == "litellm_spendlogs"
    assert counts(prepared) == (3, 2, 1, 0)
    assert reasons(prepared) == {4: ["cost_usd is negative: -0.5"]}
    c1, c2 = rows(prepared).values()
    assert c1["timestamp"] == dt.datetime(2026, 10, 7, 7, 30, 0, 250000, tzinfo=dt.UTC)
    assert [c1["task_id"], c2["task_id"]] == ["48240", "48241"]
    assert (c1["cached_input_tokens"], c1["latency_ms"]) == (512, 1750.0)
    assert (c2["provider"], c2["model"]) == ("anthropic", "claude-3-5-haiku-20241022")
    assert [c1["model_cost_usd"], c2["model_cost_usd"]] == [0.00031, 0.0029]
    assert_vendor_cost(prepared)


def test_litellm_task_id_options_choose_the_tag_prefix_and_metadata_key(
    prepare: Prepare,
) -> None:
    """It takes task ids only from the configured tag prefix and metadata key."""
    prepared = prepare(
        "usage",
        LITELLM / "spendlogs.jsonl",
        task_id_tag_prefix="task:",
        task_id_metadata_key="user_api_key_alias",
    )
    assert counts(prepared) == (7, 3, 4, 0)
    tasks = {k: r["task_id"] for k, r in rows(prepared).items()}
    assert tasks == {
        "chatcmpl-a1": "support-bot",
        "chatcmpl-a2": "support-bot",
        "chatcmpl-a3": "T-77",
    }


def test_litellm_reads_a_spend_logs_v2_page(prepare: Prepare) -> None:
    """It reads the records of a /spend/logs/v2 page document."""
    prepared = prepare("usage", LITELLM / "spendlogs_v2_page.json")
    assert prepared.refused is None
    assert prepared.adapter == "litellm_spendlogs"
    assert counts(prepared) == (2, 2, 0, 0)
    p1, p2 = rows(prepared).values()
    assert [p1["task_id"], p2["task_id"]] == ["48250", "48251"]
    assert [p1["status"], p2["status"]] == ["ok", "error"]
    assert (p1["cached_input_tokens"], p2["latency_ms"]) == (1024, 0.0)
    assert_vendor_cost(prepared)


# --- Langfuse --------------------------------------------------------------------------------


def test_langfuse_jsonl_loads_generations_and_skips_spans_and_events(
    prepare: Prepare,
) -> None:
    """It loads GENERATION observations and sets SPAN/EVENT rows aside as skipped, not bad."""
    prepared = prepare("usage", LANGFUSE / "observations.jsonl")
    assert prepared.refused is None
    assert prepared.adapter == "langfuse_observations"
    assert counts(prepared) == (7, 3, 2, 0)
    assert prepared.skipped == {
        "Langfuse EVENT observation (not a model call)": 1,
        "Langfuse SPAN observation (not a model call)": 1,
    }
    assert reasons(prepared) == {
        6: ["input_tokens is negative: -20"],
        7: [TIMESTAMP_REASON.format("last tuesday"), "timestamp is missing"],
    }
    got = rows(prepared)
    assert list(got) == ["gen-01", "gen-02", "gen-03"]
    g1, g2, g3 = got.values()
    assert g1["timestamp"] == dt.datetime(2026, 10, 5, 9, 14, 7, 120000, tzinfo=dt.UTC)
    # OpenAI-style usage: "input" excludes the cached tokens, which canonical input includes.
    assert (g1["input_tokens"], g1["output_tokens"], g1["cached_input_tokens"]) == (1834, 212, 1024)
    # Anthropic-style usage: input + cache_read_input_tokens + cache_creation_input_tokens.
    assert (g2["input_tokens"], g2["output_tokens"], g2["cached_input_tokens"]) == (2100, 300, 1200)
    # metadata.ticket_id wins over the session id.
    assert [g1["task_id"], g2["task_id"], g3["task_id"]] == ["48213", "48214", "48215"]
    assert [g1["prompt_version"], g2["prompt_version"]] == ["support-reply:3", "support-reply:4"]
    assert [g1["user"], g2["user"]] == ["agent-anna", "agent-ben"]
    assert [g1["latency_ms"], g2["latency_ms"], g3["latency_ms"]] == [2360.0, 3250.0, 30000.0]
    assert [g1["status"], g2["status"], g3["status"]] == ["ok", "ok", "error"]
    assert g1["provider"] is None
    assert [g1["cost_usd"], g2["cost_usd"], g3["cost_usd"]] == [0.0003255, None, 0.0]
    assert_vendor_cost(prepared)
    # No vendor cost: priced from tokens (claude-3-5-haiku: $0.8 in, $0.08 cached, $4 out /MTok).
    assert g2["model_cost_usd"] == pytest.approx((900 * 0.8 + 1200 * 0.08 + 300 * 4) / 1e6)
    assert g2["price_source"] == GENAI


def test_langfuse_blob_export_csv_reads_snake_case_fields_and_utc_times(
    prepare: Prepare,
) -> None:
    """It reads an enriched blob-storage CSV export, its naive times as UTC."""
    prepared = prepare("usage", LANGFUSE / "observations_v2_export.csv")
    assert prepared.adapter == "langfuse_observations"
    assert counts(prepared) == (3, 2, 0, 0)
    assert prepared.skipped == {"Langfuse SPAN observation (not a model call)": 1}
    b1, b2 = rows(prepared).values()
    assert b1["timestamp"] == dt.datetime(2026, 10, 7, 7, 30, 0, 250000, tzinfo=dt.UTC)
    assert (b1["model"], b1["input_tokens"], b1["cached_input_tokens"]) == (
        "gpt-4o-mini",
        1300,
        512,
    )
    assert [b1["task_id"], b2["task_id"]] == ["48240", "48241"]
    assert [b1["status"], b2["status"]] == ["ok", "ok"]  # level WARNING is not an error
    assert [b1["latency_ms"], b2["latency_ms"]] == [1750.0, 4500.0]
    assert (b1["model_cost_usd"], b1["price_source"]) == (0.0002766, VENDOR_COST)
    assert b2["cost_usd"] is None
    assert b2["model_cost_usd"] == pytest.approx((900 * 0.15 + 200 * 0.6) / 1e6)
    assert b2["price_source"] == GENAI


def test_langfuse_options_drop_session_task_ids_and_set_the_provider(prepare: Prepare) -> None:
    """It leaves task_id unknown without the session option and takes the provider option."""
    prepared = prepare(
        "usage", LANGFUSE / "observations.jsonl", task_id_from_session=False, provider="openai"
    )
    assert counts(prepared) == (7, 3, 2, 0)
    tasks = {k: r["task_id"] for k, r in rows(prepared).items()}
    assert tasks == {"gen-01": None, "gen-02": "48214", "gen-03": None}
    assert set(prepared.valid.get_column("provider").to_list()) == {"openai"}


def test_langfuse_model_call_types_option_admits_other_observation_types(
    prepare: Prepare,
) -> None:
    """It treats the observation types named in model_call_types as model calls."""
    prepared = prepare(
        "usage", LANGFUSE / "observations.jsonl", model_call_types=["GENERATION", "SPAN"]
    )
    assert counts(prepared) == (7, 3, 3, 0)
    assert reasons(prepared)[2] == NOT_A_CALL[:3]  # a SPAN now fails only for what it lacks
    assert prepared.skipped == {"Langfuse EVENT observation (not a model call)": 1}


def test_langfuse_task_id_from_names_the_trace_or_a_metadata_key(prepare: Prepare) -> None:
    """It takes the task id from the trace id, or from one metadata key, as `task_id_from` says."""
    by_trace = prepare("usage", LANGFUSE / "observations.jsonl", task_id_from="trace_id")
    assert {k: r["task_id"] for k, r in rows(by_trace).items()} == {
        "gen-01": "tr-48213",
        "gen-02": "tr-48214",
        "gen-03": "tr-48215",
    }
    by_key = prepare("usage", LANGFUSE / "observations.jsonl", task_id_from="metadata.queue")
    assert {k: r["task_id"] for k, r in rows(by_key).items()} == {
        "gen-01": "password",
        "gen-02": None,
        "gen-03": None,
    }
    wrong = prepare("usage", LANGFUSE / "observations.jsonl", task_id_from="trace")
    assert wrong.refused is not None and "sources.usage.task_id_from" in wrong.refused


def test_langfuse_reads_an_observations_api_page(prepare: Prepare) -> None:
    """It reads the records of a /api/public/observations page document."""
    prepared = prepare("usage", LANGFUSE / "observations_page.json")
    assert prepared.refused is None
    assert prepared.adapter == "langfuse_observations"
    assert counts(prepared) == (2, 1, 0, 0)
    assert prepared.skipped == {"Langfuse SPAN observation (not a model call)": 1}
    p1 = rows(prepared)["gen-p1"]
    assert (p1["task_id"], p1["input_tokens"], p1["latency_ms"]) == ("48250", 1834, 2000.0)


# --- Bedrock ---------------------------------------------------------------------------------


def test_bedrock_invocation_logs_map_request_metadata_and_price_from_tokens(
    prepare: Prepare,
) -> None:
    """It maps invocation records, takes the task from requestMetadata and prices with aws."""
    prepared = prepare("usage", BEDROCK / "invocations.jsonl")
    assert prepared.refused is None
    assert prepared.adapter == "bedrock_invocation_logs"
    assert counts(prepared) == (7, 5, 2, 0)
    assert reasons(prepared) == {
        6: ["input_tokens is negative: -1"],
        7: [TIMESTAMP_REASON.format("2026-10-06 9:60"), "timestamp is missing"],
    }
    got = list(rows(prepared).values())
    assert [r["task_id"] for r in got] == ["48213", "48214", None, "48215", "48216"]
    assert got[0]["user"] == "arn:aws:sts::123456789012:assumed-role/support-bot/session-anna"
    assert got[0]["timestamp"] == utc(2026, 10, 5, 9, 14, 7)
    assert set(prepared.valid.get_column("provider").to_list()) == {"aws"}
    assert got[0]["latency_ms"] == 1412.0
    # Cache reads are counted apart by Bedrock and included in canonical input.
    assert (got[1]["input_tokens"], got[1]["cached_input_tokens"]) == (2100, 1200)
    assert [r["status"] for r in got] == ["ok", "ok", "ok", "timeout", "ok"]
    assert prepared.valid.get_column("cost_usd").null_count() == 5
    assert [r["price_source"] for r in got] == [GENAI, GENAI, GENAI, GENAI, UNPRICED]
    # claude-3-haiku $0.25 in / $1.25 out; claude-3.5-sonnet $3 in, $0.3 cached, $15 out /MTok.
    assert got[0]["model_cost_usd"] == pytest.approx((1834 * 0.25 + 212 * 1.25) / 1e6)
    assert got[1]["model_cost_usd"] == pytest.approx((900 * 3 + 1200 * 0.3 + 300 * 15) / 1e6)
    assert got[4]["model_cost_usd"] is None  # an application inference profile has no price


def test_bedrock_task_id_metadata_key_option(prepare: Prepare) -> None:
    """It takes the task id from the requestMetadata key named by task_id_metadata_key."""
    prepared = prepare("usage", BEDROCK / "invocations.jsonl", task_id_metadata_key="team")
    assert counts(prepared) == (7, 5, 2, 0)
    assert prepared.valid.sort("__line__").get_column("task_id").to_list() == [
        "support",
        "support",
        None,
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("path", "format"),
    [
        (BEDROCK / "invocations.jsonl", "litellm_spendlogs"),
        (LITELLM / "spendlogs.jsonl", "langfuse_observations"),
        (LANGFUSE / "observations.jsonl", "bedrock_invocation_logs"),
    ],
)
def test_a_configured_format_refuses_another_vendors_file(
    prepare: Prepare, path: Path, format: str
) -> None:
    """It refuses a file whose columns do not match the configured usage format."""
    prepared = prepare("usage", path, format=format)
    assert prepared.refused is not None
    assert prepared.refused.startswith("the file does not look like")


# --- LiteLLM prompt version and timeouts -------------------------------------------------------

# Spend-log rows (export-formats.md A5) with the caller's metadata and LiteLLM's error_information.
_LITELLM_ROWS = [
    {
        "request_id": "p1",
        "spend": 0.001,
        "startTime": "2026-10-05T10:00:00.000Z",
        "endTime": "2026-10-05T10:00:01.500Z",
        "model": "gpt-4o",
        "custom_llm_provider": "openai",
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "status": "success",
        "metadata": {"requester_metadata": {"prompt_version": "v2"}},
    },
    {
        "request_id": "p2",
        "spend": 0.0,
        "startTime": "2026-10-05T10:01:00.000Z",
        "endTime": "2026-10-05T10:01:30.000Z",
        "model": "gpt-4o",
        "custom_llm_provider": "openai",
        "prompt_tokens": 100,
        "completion_tokens": 0,
        "status": "failure",
        "metadata": {
            "prompt_version": "v1",
            "error_information": {"error_class": "Timeout", "error_code": "408"},
        },
    },
    {
        "request_id": "p3",
        "spend": 0.0,
        "startTime": "2026-10-05T10:02:00.000Z",
        "endTime": "2026-10-05T10:02:00.200Z",
        "model": "gpt-4o",
        "custom_llm_provider": "openai",
        "prompt_tokens": 100,
        "completion_tokens": 0,
        "status": "failure",
        "metadata": {
            "spend_logs_metadata": {"release": "r7"},
            "error_information": {"error_class": "RateLimitError", "error_code": "429"},
        },
    },
]


def test_litellm_prompt_version_and_timeout_options(prepare: Prepare, tmp_path: Path) -> None:
    """It reads the prompt version from the caller's metadata key and makes failures of the
    configured exception classes timeouts."""
    import json

    path = tmp_path / "spendlogs-options.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _LITELLM_ROWS), encoding="utf-8")

    default = prepare("usage", path)
    assert counts(default) == (3, 3, 0, 0)
    assert {k: (r["prompt_version"], r["status"]) for k, r in rows(default).items()} == {
        "p1": ("v2", "ok"),
        "p2": ("v1", "error"),
        "p3": (None, "error"),
    }

    configured = prepare(
        "usage", path, prompt_version_metadata_key="release", timeout_error_classes=["Timeout"]
    )
    assert counts(configured) == (3, 3, 0, 0)
    assert {k: (r["prompt_version"], r["status"]) for k, r in rows(configured).items()} == {
        "p1": (None, "ok"),
        "p2": (None, "timeout"),
        "p3": ("r7", "error"),
    }
    assert [r["latency_ms"] for r in rows(configured).values()] == [1500.0, 30000.0, 200.0]


def test_litellm_zero_spend_with_tokens_is_priced_not_free(prepare, tmp_path) -> None:
    """It treats LiteLLM's spend of 0 on a call with tokens as unknown: priced from the price
    table, or flagged unpriced for a model without a price, never costed at zero."""
    path = tmp_path / "spend.jsonl"
    path.write_text(
        '{"request_id":"z1","startTime":"2026-10-05T10:00:00","model":"gpt-4o","spend":0,'
        '"prompt_tokens":1000,"completion_tokens":100,"status":"success"}\n'
        '{"request_id":"z2","startTime":"2026-10-05T10:00:00","model":"my-private-model","spend":0,'
        '"prompt_tokens":1000,"completion_tokens":100,"status":"success"}\n'
        '{"request_id":"z3","startTime":"2026-10-05T10:00:00","model":"gpt-4o","spend":0,'
        '"prompt_tokens":0,"completion_tokens":0,"status":"success"}\n'
    )
    prepared = prepare("usage", path)
    assert prepared.adapter == "litellm_spendlogs"
    rows = {r["request_id"]: r for r in prepared.valid.iter_rows(named=True)}
    assert rows["z1"]["cost_usd"] is None and rows["z1"]["model_cost_usd"] > 0
    assert rows["z1"]["price_source"].startswith("genai-prices")
    assert (rows["z2"]["model_cost_usd"], rows["z2"]["price_source"]) == (None, "unpriced")
    assert (rows["z3"]["cost_usd"], rows["z3"]["model_cost_usd"]) == (0.0, 0.0)
