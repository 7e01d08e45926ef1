"""Provider bills reconciled with request logs, per model, never added together."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from flows.ingest import ingest_inbox
from models.operating_model import OperatingModel
from models.results import Week
from pipelines.reconciliation import BILL_SCHEMA, LOG_SCHEMA, reconcile, week_reconciliation
from pipelines.warehouse.engine import transaction

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "vendor" / "real"
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
W02 = Week.parse("2025-W02", "Europe/Berlin")


def _bill(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=BILL_SCHEMA, orient="row")


def _logs(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LOG_SCHEMA, orient="row")


def test_no_bill_means_no_reconciliation() -> None:
    """It reports nothing when the week has no bill lines."""
    assert reconcile(_bill(), _logs(("gpt-4o", 3, 0, 1.0, 300))) is None


def test_a_gap_above_five_percent_warns_and_a_small_one_does_not() -> None:
    """It warns for a model whose logs explain less than 95 % of the bill, not for one within."""
    bill = _bill(
        ("gpt-4o", "cost", "usd", 10.0, None),
        ("openai/GPT-4o-mini", "cost", "USD", 2.0, None),
    )
    logs = _logs(("gpt-4o", 40, 0, 9.0, 1000), ("gpt-4o-mini", 10, 0, 1.95, 500))
    result = reconcile(bill, logs)
    assert result is not None
    by_model = {r["model"]: r for r in result["models"]}
    assert by_model["gpt-4o"]["unexplained_cost_share"] == 0.1
    assert by_model["gpt-4o"]["warning"].startswith("gpt-4o: 10.0% of the bill")
    assert by_model["gpt-4o-mini"]["unexplained_cost_share"] == 0.025
    assert by_model["gpt-4o-mini"]["warning"] is None
    assert (result["bill_cost_usd"], result["logged_cost_usd"]) == (12.0, 10.95)
    assert len(result["warnings"]) == 1


def test_logged_cost_above_the_bill_warns_too() -> None:
    """It warns when the logs cost more than the bill (wrong prices, say cents read as dollars)."""
    result = reconcile(
        _bill(("claude", "cost", None, 1.0, None)), _logs(("claude", 5, 0, 100.0, 9))
    )
    assert result is not None
    assert result["models"][0]["unexplained_cost_share"] == -99.0
    assert "logged cost above the bill" in result["warnings"][0]


def test_a_hundredfold_gap_points_at_the_cost_unit() -> None:
    """It names the cost unit when bill and logs differ by about 100x (cents read as dollars)."""
    result = reconcile(
        _bill(("claude", "cost", "usd", 300.0, None)), _logs(("claude", 9, 0, 3.0, 9))
    )
    assert result is not None
    assert "differ by about 100x" in result["warnings"][0]
    small = reconcile(_bill(("claude", "cost", "usd", 4.0, None)), _logs(("claude", 9, 0, 3.0, 9)))
    assert small is not None and "100x" not in small["warnings"][0]


def test_tokens_are_compared_when_the_bill_has_usage_lines_only() -> None:
    """It compares token counts when the bill has usage lines but no cost lines."""
    result = reconcile(_bill(("m", "usage", None, None, 1000)), _logs(("m", 2, 0, 0.5, 900)))
    assert result is not None
    row = result["models"][0]
    assert (row["bill_cost_usd"], row["unexplained_cost_share"]) == (None, None)
    assert (row["bill_tokens"], row["logged_tokens"], row["unexplained_token_share"]) == (
        1000,
        900,
        0.1,
    )
    assert row["warning"] is not None


def test_other_currencies_are_named_not_converted() -> None:
    """It leaves bill lines in another currency out of the sums and says so."""
    result = reconcile(
        _bill(("m", "cost", "eur", 5.0, None), ("m", "cost", "usd", 1.0, None)),
        _logs(("m", 1, 0, 1.0, 10)),
    )
    assert result is not None
    assert result["bill_cost_usd"] == 1.0
    assert "bill lines in eur are not compared (only USD is)" in result["warnings"]


@pytest.fixture
def reconciled_inbox(tmp_path: Path) -> Path:
    """The real OpenAI Fivetran usage and cost tables beside a request log of week 2025-W02."""
    inbox = tmp_path / "inbox"
    (inbox / "usage").mkdir(parents=True)
    for name in (
        "openai__fivetran-dbt_openai__cost_HEAD9.csv",
        "openai__fivetran-dbt_openai__completion_SUBSET.csv",
    ):
        shutil.copyfile(REAL / name, inbox / "usage" / name)
    log = inbox / "usage" / "requests.csv"
    log.write_text(
        "request_id,timestamp,model,input_tokens,output_tokens,cost_usd,status\n"
        "r1,2025-01-06T10:00:00Z,gpt-4o-mini-2024-07-18,1000,200,0.0004,ok\n"
        "r2,2025-01-07T10:00:00Z,gpt-4o-mini-2024-07-18,1500,218,0.0003,ok\n"
    )
    for path in (inbox / "usage").iterdir():
        os.utime(path, (1_760_000_000, 1_760_000_000))
    return inbox


def test_real_openai_bill_is_reconciled_with_the_request_log(
    reconciled_inbox: Path, sqlite_url: str, example_model: OperatingModel
) -> None:
    """It loads the bill apart from the request log and shows the week's gap per model."""
    files = ingest_inbox(sqlite_url, example_model, reconciled_inbox, W02, NOW)
    assert sorted((f.adapter, f.target, f.rows_loaded) for f in files) == [
        ("canonical", "usage", 2),
        ("openai_fivetran_completion", "provider_costs", 13),
        ("openai_fivetran_cost", "provider_costs", 9),
    ]
    with transaction(sqlite_url) as conn:
        result = week_reconciliation(conn, example_model, W02)
        calls = conn.exec_driver_sql("select count(*) from usage_call").scalar_one()
    assert calls == 2  # bill lines are never added to the request log
    assert result is not None
    (row,) = result["models"]
    assert row["model"] == "gpt-4o-mini-2024-07-18"
    # Bill: six cost lines of 6 and 7 January; usage buckets 1257+378 and 945+338 tokens.
    assert row["bill_cost_usd"] == pytest.approx(0.000796)
    assert row["logged_cost_usd"] == pytest.approx(0.0007)
    assert (row["bill_tokens"], row["logged_tokens"]) == (2918, 2918)
    assert row["unexplained_token_share"] == 0.0
    assert row["unexplained_cost_share"] == pytest.approx(0.1206, abs=1e-4)
    assert result["warnings"] == [row["warning"]]


def test_the_weeks_metrics_carry_the_reconciliation(
    reconciled_inbox: Path, sqlite_url: str, example_model: OperatingModel
) -> None:
    """It stores the week's reconciliation with the metrics the report shows."""
    from pipelines.metrics import store_week_metrics

    ingest_inbox(sqlite_url, example_model, reconciled_inbox, W02, NOW)
    metrics = store_week_metrics(sqlite_url, example_model, W02).metrics
    assert metrics.bill_reconciliation is not None
    (row,) = metrics.bill_reconciliation.models
    assert (row.model, row.bill_tokens) == ("gpt-4o-mini-2024-07-18", 2918)
    assert metrics.model_cost == pytest.approx(0.0007)  # the bill is not added to the logs
