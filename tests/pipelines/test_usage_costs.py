"""Model cost of usage rows: export cost, genai-prices, operating-model overrides, unpriced."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from genai_prices import Usage, calc_price

from models.operating_model import ModelPrice
from pipelines.usage_costs import UNPRICED, genai_unit_prices, price_usage

WHEN = dt.datetime(2026, 7, 1, 10, tzinfo=dt.UTC)


def _usage(rows: list[dict]) -> pl.DataFrame:
    base = {
        "request_id": None,
        "timestamp": WHEN,
        "provider": None,
        "model": "gpt-4o",
        "input_tokens": 1000,
        "output_tokens": 500,
        "cached_input_tokens": None,
        "cost_usd": None,
    }
    return pl.DataFrame(
        [{**base, "request_id": f"r{i}", **r} for i, r in enumerate(rows)],
        schema={
            "request_id": pl.String,
            "timestamp": pl.Datetime("us", "UTC"),
            "provider": pl.String,
            "model": pl.String,
            "input_tokens": pl.Int64,
            "output_tokens": pl.Int64,
            "cached_input_tokens": pl.Int64,
            "cost_usd": pl.Float64,
        },
    )


def _priced(rows: list[dict], overrides: dict[str, ModelPrice] | None = None) -> list[tuple]:
    out = price_usage(_usage(rows), overrides or {})
    return out.select("model_cost_usd", "price_source").rows()


def test_genai_prices_knows_gpt_4o() -> None:
    """It reads gpt-4o at 2.5 / 1.25 / 10 USD per million input / cached / output tokens."""
    assert genai_unit_prices("gpt-4o", None, WHEN.date()) == pytest.approx((2.5, 1.25, 10.0))


def test_cost_from_genai_prices_is_exact() -> None:
    """It charges uncached input, cached input and output tokens each at their own price."""
    [(cost, source)] = _priced([{"input_tokens": 1000, "cached_input_tokens": 200}])
    # 800 uncached x 2.5 + 200 cached x 1.25 + 500 output x 10, per million tokens.
    assert cost == pytest.approx((800 * 2.5 + 200 * 1.25 + 500 * 10.0) / 1e6, rel=1e-12)
    assert cost == pytest.approx(0.00725, rel=1e-12)
    assert source.startswith("genai-prices")


def _genai_price(model: str, input_tokens: int, cached: int, output: int) -> float:
    """What genai-prices itself charges for one call."""
    usage = Usage(input_tokens=input_tokens, cache_read_tokens=cached, output_tokens=output)
    return float(calc_price(usage, model_ref=model, genai_request_timestamp=WHEN).total_price)


def test_cost_matches_genai_prices_for_a_flat_priced_model() -> None:
    """It charges a gpt-4o call exactly what genai-prices charges for it."""
    [(cost, _)] = _priced([{"input_tokens": 1000, "cached_input_tokens": 200}])
    assert cost == pytest.approx(_genai_price("gpt-4o", 1000, 200, 500), rel=1e-9)


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "gemini-2.5-pro"])
def test_cost_of_a_short_call_to_a_tiered_model_uses_the_first_tier(model: str) -> None:
    """It charges a short call to a model with long-context tiers what genai-prices charges."""
    [(cost, _)] = _priced([{"model": model, "input_tokens": 1000, "cached_input_tokens": 0}])
    assert cost == pytest.approx(_genai_price(model, 1000, 0, 500), rel=1e-9)


def test_missing_cached_tokens_count_as_uncached() -> None:
    """It prices all input tokens as uncached when the export has no cached count."""
    [(cost, _)] = _priced([{"input_tokens": 1000, "cached_input_tokens": None}])
    assert cost == pytest.approx((1000 * 2.5 + 500 * 10.0) / 1e6, rel=1e-12)


def test_export_cost_wins_over_computed_cost() -> None:
    """It takes the export's cost_usd as is, even for a model it could price or cannot price."""
    rows = [
        {"cost_usd": 0.5},
        {"cost_usd": 0.0},
        {"model": "no-such-model-xyz", "cost_usd": 0.01},
    ]
    assert _priced(rows) == [
        (0.5, "input cost_usd"),
        (0.0, "input cost_usd"),
        (0.01, "input cost_usd"),
    ]


def test_override_wins_over_genai_prices() -> None:
    """It uses the operating model's price for a model over the package's price."""
    override = {"gpt-4o": ModelPrice(input=1.0, output=2.0, cached_input=0.5)}
    [(cost, source)] = _priced([{"cached_input_tokens": 200}], override)
    assert cost == pytest.approx((800 * 1.0 + 200 * 0.5 + 500 * 2.0) / 1e6, rel=1e-12)
    assert source == "override"


def test_override_without_cached_price_charges_cached_at_input_price() -> None:
    """It charges cached tokens at the input price when the override gives no cached price."""
    override = {"my-model": ModelPrice(input=3.0, output=6.0)}
    [(cost, source)] = _priced([{"model": "my-model", "cached_input_tokens": 400}], override)
    assert cost == pytest.approx((1000 * 3.0 + 500 * 6.0) / 1e6, rel=1e-12)
    assert source == "override"


def test_unknown_model_is_unpriced_never_zero() -> None:
    """It leaves the cost null and flags the row unpriced when no price is known."""
    [(cost, source)] = _priced([{"model": "no-such-model-xyz"}])
    assert cost is None
    assert source == UNPRICED


def test_rows_keep_their_order_and_count() -> None:
    """It adds cost columns without reordering, dropping or doubling rows."""
    rows = [{"model": m} for m in ("gpt-4o", "no-such-model-xyz", "gpt-4o", "other-unknown")]
    out = price_usage(_usage(rows), {})
    assert out["request_id"].to_list() == ["r0", "r1", "r2", "r3"]
    assert out["price_source"].to_list()[1::2] == [UNPRICED, UNPRICED]
    assert "model_cost_usd" in out.columns
    assert not {"day", "__in", "__cached", "__out", "__source"} & set(out.columns)
