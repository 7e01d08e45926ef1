"""Provider bills (OpenAI and Anthropic bucketed usage and cost) read into `provider_costs`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipelines.adapters import adapters_for, bills_anthropic, bills_openai
from pipelines.adapters.base import AdapterContext, Sniff, json_paths
from pipelines.prepare import PreparedFile
from pipelines.read import LINE, READ_ERRORS, read_raw
from tests.pipelines.adapters.conftest import VENDOR, sample

Prepare = Callable[..., PreparedFile]
# Composed fixtures: tests/fixtures/vendor/openai/ORIGIN.md and .../anthropic/ORIGIN.md.
OPENAI = VENDOR / "openai"
ANTHROPIC = VENDOR / "anthropic"

OPENAI_COMPLETION = "openai__fivetran-dbt_openai__completion_SUBSET.csv"
OPENAI_COST = "openai__fivetran-dbt_openai__cost_HEAD9.csv"
CLAUDE_USAGE = "anthropic__fivetran-dbt_claude__message_usage_report.csv"
CLAUDE_COST = "anthropic__fivetran-dbt_claude__cost_report.csv"
DELETED = "deleted at the source (_fivetran_deleted is true); not loaded"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


def day(unix: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix, dt.UTC)


def rows(prepared: PreparedFile, *columns: str) -> list[tuple[Any, ...]]:
    """Valid rows as tuples of `columns`, in file order."""
    return prepared.valid.sort(LINE).select(columns).rows()


def reasons(prepared: PreparedFile) -> dict[int, list[str]]:
    return {
        int(line): list(found)
        for line, found in prepared.quarantined.select(LINE, "reasons").iter_rows()
    }


def assert_counts(
    prepared: PreparedFile, fmt: str, read: int, valid: int, quarantined: int
) -> None:
    assert prepared.refused is None
    assert prepared.adapter == fmt
    assert prepared.rows_read == read
    assert prepared.valid.height == valid
    assert prepared.quarantined.height == quarantined
    assert prepared.rows_duplicate_in_file == 0


# --- OpenAI, Fivetran connector tables (real samples) ------------------------------------------


def test_openai_fivetran_completion_maps_every_real_row(prepare: Prepare) -> None:
    """It maps all 13 rows of the real Fivetran completion table to usage buckets."""
    prepared = prepare("usage", sample(OPENAI_COMPLETION))
    assert_counts(prepared, "openai_fivetran_completion", read=13, valid=13, quarantined=0)
    assert prepared.valid.get_column("provider").unique().to_list() == ["openai"]
    assert prepared.valid.get_column("kind").unique().to_list() == ["usage"]
    assert prepared.valid.get_column("bucket_end").null_count() == 13
    assert prepared.valid.get_column("cost_usd").null_count() == 13
    mini, big = "gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"
    portal, bright = (
        ("proj-patientportal01", "key-portalchatbot01"),
        ("proj-brightbyfdc02", "key-brightcopy03"),
    )
    assert rows(
        prepared, "bucket_start", "model", "project", "api_key",
        "input_tokens", "cached_input_tokens", "output_tokens", "requests",
    ) == [
        (day(1736121600), mini, *portal, 1257, 328, 378, 26),
        (day(1736208000), mini, *portal, 945, 136, 338, 32),
        (day(1736726400), mini, *portal, 1144, 191, 510, 38),
        (day(1737331200), mini, *portal, 1729, 463, 540, 42),
        (day(1737590400), mini, *portal, 1481, 384, 312, 46),
        (day(1746748800), mini, *portal, 3867, 1223, 682, 77),
        (day(1748908800), big, *bright, 2634, 217, 1471, 9),
        (day(1748995200), mini, *portal, 3371, 1109, 737, 51),
        (day(1748995200), big, *bright, 1733, 101, 1355, 10),
        (day(1756771200), mini, "proj-internaltools04", "key-internaltools07", 950, 174, 231, 17),
        (day(1756771200), big, *bright, 1729, 226, 1313, 8),
        (day(1762128000), big, *bright, 5456, 691, 2162, 30),
        (day(1766966400), big, *bright, 3040, 326, 3649, 41),
    ]  # fmt: skip
    assert prepared.valid.sort(LINE).get_column("bucket_start")[0] == utc(2025, 1, 6)


def test_openai_fivetran_cost_splits_line_items_of_every_real_row(prepare: Prepare) -> None:
    """It splits each real cost line item into model and token class and keeps the dollars."""
    prepared = prepare("usage", sample(OPENAI_COST))
    assert_counts(prepared, "openai_fivetran_cost", read=9, valid=9, quarantined=0)
    mini = "gpt-4o-mini-2024-07-18"
    assert rows(
        prepared, "bucket_start", "kind", "model", "line_item", "project", "cost_usd", "currency"
    ) == [
        (utc(2025, 1, 6), "cost", mini, "cached input", "proj-patientportal01", 0.000025, "USD"),
        (utc(2025, 1, 6), "cost", mini, "input", "proj-patientportal01", 0.000189, "USD"),
        (utc(2025, 1, 6), "cost", mini, "output", "proj-patientportal01", 0.000227, "USD"),
        (utc(2025, 1, 7), "cost", mini, "cached input", "proj-patientportal01", 0.00001, "USD"),
        (utc(2025, 1, 7), "cost", mini, "input", "proj-patientportal01", 0.000142, "USD"),
        (utc(2025, 1, 7), "cost", mini, "output", "proj-patientportal01", 0.000203, "USD"),
        (utc(2025, 1, 13), "cost", mini, "cached input", "proj-patientportal01", 0.000014, "USD"),
        (utc(2025, 1, 13), "cost", mini, "input", "proj-patientportal01", 0.000172, "USD"),
        (utc(2025, 1, 13), "cost", mini, "output", "proj-patientportal01", 0.000306, "USD"),
    ]
    assert prepared.valid.get_column("bucket_id").n_unique() == 9


def test_openai_fivetran_deleted_row_is_quarantined_with_reason(prepare: Prepare) -> None:
    """It quarantines a row the connector marks deleted, saying so, and loads the other."""
    prepared = prepare("usage", OPENAI / "fivetran_completion_deleted.csv")
    assert_counts(prepared, "openai_fivetran_completion", read=2, valid=1, quarantined=1)
    assert reasons(prepared) == {3: [DELETED]}
    assert rows(prepared, "bucket_start", "input_tokens") == [(utc(2025, 1, 6), 1257)]


# --- OpenAI, API pages (composed from the documented shape) ------------------------------------


def test_openai_usage_api_page_flattens_buckets_and_results(prepare: Prepare) -> None:
    """It reads one row per bucket result of a Usage API page and checks the token counts."""
    prepared = prepare("usage", OPENAI / "usage_completions_page.json")
    assert_counts(prepared, "openai_usage_api", read=3, valid=2, quarantined=1)
    assert rows(
        prepared, LINE, "bucket_start", "bucket_end", "provider", "kind", "model", "project",
        "api_key", "input_tokens", "cached_input_tokens", "output_tokens", "requests",
    ) == [
        (1, utc(2024, 11, 1), utc(2024, 11, 2), "openai", "usage", None, None, None,
         1000, 800, 500, 5),
        (2, utc(2024, 11, 2), utc(2024, 11, 3), "openai", "usage", "gpt-4o-mini-2024-07-18",
         "proj_support", "key_abc", 2400, 1200, 610, 12),
    ]  # fmt: skip
    assert reasons(prepared) == {3: ["cached_input_tokens exceeds input_tokens: 500 > 300"]}


def test_openai_page_with_empty_first_bucket_is_still_detected(prepare: Prepare) -> None:
    """It recognises a usage page by a later bucket when the first one is empty, and reads it
    the same when the format is named."""
    path = OPENAI / "usage_completions_page_first_bucket_empty.json"
    detected = prepare("usage", path)
    assert_counts(detected, "openai_usage_api", read=1, valid=1, quarantined=0)
    prepared = prepare("usage", path, format="openai_usage_api")
    assert_counts(prepared, "openai_usage_api", read=1, valid=1, quarantined=0)
    assert rows(prepared, "bucket_start", "model", "input_tokens") == [
        (utc(2024, 11, 2), "gpt-4o-mini-2024-07-18", 1000)
    ]


def test_openai_costs_api_page_splits_line_items_and_refuses_other_currencies(
    prepare: Prepare,
) -> None:
    """It maps Costs API results to cost buckets and quarantines an amount not in USD."""
    prepared = prepare("usage", OPENAI / "costs_page.json")
    assert_counts(prepared, "openai_costs_api", read=4, valid=3, quarantined=1)
    assert rows(
        prepared, LINE, "bucket_start", "kind", "model", "line_item", "project", "api_key",
        "cost_usd", "currency",
    ) == [
        (1, utc(2024, 11, 1), "cost", None, "Image models", "proj_abc", None, 0.06, "USD"),
        (2, utc(2024, 11, 1), "cost", "gpt-4o-mini-2024-07-18", "cached input", "proj_abc",
         "key_abc", 0.000025, "USD"),
        (3, utc(2024, 11, 1), "cost", "gpt-4o-mini-2024-07-18", "output", "proj_abc",
         "key_abc", 1.5, "USD"),
    ]  # fmt: skip
    assert reasons(prepared) == {4: ["amount is in EUR, not USD; convert it before loading"]}


# --- Anthropic, Fivetran connector tables (real samples) ---------------------------------------


def test_anthropic_fivetran_usage_adds_cache_reads_and_writes_to_input(prepare: Prepare) -> None:
    """It counts input as uncached + cache read + 5m and 1h cache writes on every real row."""
    prepared = prepare("usage", sample(CLAUDE_USAGE))
    assert_counts(prepared, "anthropic_fivetran_usage", read=4, valid=4, quarantined=0)
    sonnet, opus = "claude-3-5-sonnet-20241022", "claude-opus-4-5"
    assert rows(
        prepared, "bucket_start", "bucket_end", "provider", "kind", "model", "project", "api_key",
        "input_tokens", "cached_input_tokens", "output_tokens", "requests",
    ) == [
        (utc(2025, 1, 1), utc(2025, 1, 1, 23, 59, 59), "anthropic", "usage", sonnet,
         "ws_abc123", "apikey_001", 8200 + 750 + 1500 + 0, 750, 2340, None),
        (utc(2025, 1, 1), utc(2025, 1, 1, 23, 59, 59), "anthropic", "usage", opus,
         "ws_abc123", "apikey_002", 4100 + 0 + 0 + 3200, 0, 980, None),
        (utc(2025, 1, 2), utc(2025, 1, 2, 23, 59, 59), "anthropic", "usage", sonnet,
         "ws_abc123", "apikey_001", 12000 + 2100, 2100, 5600, None),
        (utc(2025, 1, 1), utc(2025, 1, 1, 23, 59, 59), "anthropic", "usage", sonnet,
         "ws_abc123", "apikey_002", 1800 + 250 + 500, 250, 660, None),
    ]  # fmt: skip


CLAUDE_COST_ROWS = [
    # (bucket day, model, line_item, amount as written in the file)
    (1, "claude-3-5-sonnet-20241022", "uncached_input_tokens", "3.0000"),
    (1, "claude-3-5-sonnet-20241022", "output_tokens", "4.5000"),
    (1, "claude-3-5-sonnet-20241022", "cache_read_input_tokens", "0.0300"),
    (1, "claude-3-5-sonnet-20241022", "cache_creation.ephemeral_5m_input_tokens", "0.7500"),
    (1, "claude-opus-4-5", "uncached_input_tokens", "6.1500"),
    (1, "claude-opus-4-5", "output_tokens", "7.3500"),
    (1, "claude-opus-4-5", "cache_creation.ephemeral_1h_input_tokens", "1.6000"),
    (2, "claude-3-5-sonnet-20241022", "uncached_input_tokens", "3.6000"),
    (2, "claude-3-5-sonnet-20241022", "output_tokens", "8.4000"),
    (2, "claude-3-5-sonnet-20241022", "cache_read_input_tokens", "0.0600"),
    (3, "claude-3-5-sonnet-20241022", "uncached_input_tokens", "1.0000"),
    (1, None, "web_search", "0.5000"),
    (1, None, "session_usage", "0.2000"),
]
CENTS = [0.03, 0.045, 0.0003, 0.0075, 0.0615, 0.0735, 0.016, 0.036, 0.084, 0.0006, 0.01, 0.005,
         0.002]  # fmt: skip
DOLLARS = [3.0, 4.5, 0.03, 0.75, 6.15, 7.35, 1.6, 3.6, 8.4, 0.06, 1.0, 0.5, 0.2]


@pytest.mark.parametrize(
    ("options", "expected"),
    [({}, CENTS), ({"cost_unit": "cents"}, CENTS), ({"cost_unit": "usd"}, DOLLARS)],
    ids=["default-cents", "cents", "usd"],
)
def test_anthropic_fivetran_cost_reads_amounts_in_the_configured_unit(
    prepare: Prepare, options: dict[str, str], expected: list[float]
) -> None:
    """It reads every real cost row, dividing the amount by 100 unless the unit is usd."""
    prepared = prepare("usage", sample(CLAUDE_COST), **options)
    assert_counts(prepared, "anthropic_fivetran_cost", read=13, valid=13, quarantined=0)
    assert rows(
        prepared, "bucket_start", "bucket_end", "provider", "kind", "model", "line_item",
        "project", "cost_usd", "currency",
    ) == [
        (utc(2025, 1, d), utc(2025, 1, d, 23, 59, 59), "anthropic", "cost", model, item,
         "ws_abc123", usd, "USD")
        for (d, model, item, _), usd in zip(CLAUDE_COST_ROWS, expected, strict=True)
    ]  # fmt: skip


def test_anthropic_fivetran_deleted_row_is_quarantined_with_reason(prepare: Prepare) -> None:
    """It quarantines a cost row the connector marks deleted, saying so, and loads the other."""
    prepared = prepare("usage", ANTHROPIC / "fivetran_cost_report_deleted.csv")
    assert_counts(prepared, "anthropic_fivetran_cost", read=2, valid=1, quarantined=1)
    assert reasons(prepared) == {3: [DELETED]}
    assert rows(prepared, "line_item", "cost_usd") == [("uncached_input_tokens", 0.03)]


def test_anthropic_unknown_cost_unit_refuses_the_file(prepare: Prepare) -> None:
    """It refuses a cost file when the configured cost unit is neither cents nor usd."""
    prepared = prepare("usage", sample(CLAUDE_COST), cost_unit="euros")
    assert (
        prepared.refused == "sources.usage.cost_unit: Input should be 'cents' or 'usd', not 'euros'"
    )


# --- Anthropic, API pages (composed from the documented shape) ---------------------------------


def test_anthropic_usage_api_page_sums_nested_cache_creation(prepare: Prepare) -> None:
    """It reads one row per result and adds the nested cache-creation counts to input."""
    prepared = prepare("usage", ANTHROPIC / "usage_report_page.json")
    assert_counts(prepared, "anthropic_usage_api", read=3, valid=2, quarantined=1)
    assert rows(
        prepared, LINE, "bucket_start", "bucket_end", "model", "project", "api_key",
        "input_tokens", "cached_input_tokens", "output_tokens",
    ) == [
        (1, utc(2025, 1, 1), utc(2025, 1, 2), "claude-3-5-sonnet-20241022", "wrkspc_01",
         "apikey_01", 10450, 750, 2340),
        (2, utc(2025, 1, 1), utc(2025, 1, 2), "claude-opus-4-5", "wrkspc_01", "apikey_01",
         500, 0, 50),
    ]  # fmt: skip
    assert reasons(prepared) == {3: ["output_tokens is negative: -1"]}


@pytest.mark.parametrize(
    ("options", "expected"),
    [({}, [1.2345, 0.5]), ({"cost_unit": "usd"}, [123.45, 50.0])],
    ids=["default-cents", "usd"],
)
def test_anthropic_cost_api_page_reads_cents(
    prepare: Prepare, options: dict[str, str], expected: list[float]
) -> None:
    """It reads the cost report's amount as cents ("123.45" is 1.2345 USD) unless told usd."""
    prepared = prepare("usage", ANTHROPIC / "cost_report_page.json", **options)
    assert_counts(prepared, "anthropic_cost_api", read=3, valid=2, quarantined=1)
    assert rows(prepared, LINE, "bucket_start", "model", "line_item", "cost_usd") == [
        (1, utc(2025, 1, 1), "claude-sonnet-4-20250514", "uncached_input_tokens", expected[0]),
        (2, utc(2025, 1, 1), None, "web_search", expected[1]),
    ]
    assert reasons(prepared) == {3: ["cost_usd: n/a is not a number"]}


# --- Detection and mappings ---------------------------------------------------------------------

FILES = {
    "openai_fivetran_completion": sample(OPENAI_COMPLETION),
    "openai_fivetran_cost": sample(OPENAI_COST),
    "anthropic_fivetran_usage": sample(CLAUDE_USAGE),
    "anthropic_fivetran_cost": sample(CLAUDE_COST),
    "openai_usage_api": OPENAI / "usage_completions_page.json",
    "openai_costs_api": OPENAI / "costs_page.json",
    "anthropic_usage_api": ANTHROPIC / "usage_report_page.json",
    "anthropic_cost_api": ANTHROPIC / "cost_report_page.json",
}
BILLS = {a.name: a for a in bills_openai.ADAPTERS + bills_anthropic.ADAPTERS}


def _sniff(path: Path) -> Sniff:
    if path.suffix == ".json":
        return Sniff(path, json_paths=frozenset(json_paths(json.loads(path.read_text()))))
    _, raw = read_raw(path)
    return Sniff(path, columns=frozenset(c for c in raw.columns if c not in (LINE, READ_ERRORS)))


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_bill_file_is_detected_by_its_own_adapter_only(name: str) -> None:
    """It detects each bill format by its own vendor columns, and no other usage adapter does."""
    sniff = _sniff(FILES[name])
    assert [a.name for a in adapters_for("usage") if a.detect(sniff)] == [name]


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_bill_adapter_describes_every_column_it_produces(name: str, example_model) -> None:
    """It names, in its mapping, where every column it produces comes from."""
    adapter = BILLS[name]
    path = FILES[name]
    if adapter.read_document is not None:
        raw = adapter.read_document(json.loads(path.read_text()))
    else:
        _, raw = read_raw(path)
    settings = example_model.source("usage")
    out = adapter.transform(raw, AdapterContext(path, "usage", settings, example_model))
    assert out.height == raw.height
    produced = set(out.columns) - {LINE, READ_ERRORS, bills_openai.GROUP}
    assert produced <= set(adapter.mapping)
    assert adapter.target == "provider_costs" and adapter.source == "usage"


def test_api_page_result_that_is_not_an_object_is_quarantined(
    prepare: Prepare, tmp_path: Path
) -> None:
    """It keeps a page result that is not a JSON object as a row quarantined for that reason."""
    page = {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": 1730419200,
                "end_time": 1730505600,
                "results": [
                    {
                        "input_tokens": 10,
                        "output_tokens": 5,
                        "num_model_requests": 1,
                        "model": "gpt-4o",
                    },
                    "oops",
                ],
            }
        ],
    }
    path = tmp_path / "usage_page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    prepared = prepare("usage", path)
    assert_counts(prepared, "openai_usage_api", read=2, valid=1, quarantined=1)
    assert reasons(prepared) == {2: ["a result of the bucket is not a JSON object: oops"]}
