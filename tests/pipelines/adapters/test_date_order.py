"""Day/month order inferred from a file's own values, else configured, else the timezone's."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.adapters.date_order import infer_date_order, locale_order
from pipelines.read import LINE, RefusedFile


def _frame(*values: str | None) -> pl.DataFrame:
    return pl.DataFrame(
        {LINE: list(range(2, len(values) + 2)), "date": list(values)},
        schema={LINE: pl.UInt32, "date": pl.String},
    )


def test_a_first_field_above_12_proves_day_first_whatever_is_configured() -> None:
    """It reads day first when a value's first field is above 12, naming that line."""
    choice = infer_date_order(_frame("01/02/2026", "21/01/2026"), ["date"], "month_first", "UTC")
    assert choice.order == "day_first"
    assert choice.reason == (
        "proven by the file: line 3 (date '21/01/2026') has a first field above 12 "
        "(the configured date_order month_first cannot read it)"
    )


def test_a_second_field_above_12_proves_month_first() -> None:
    """It reads month first when a value's second field is above 12 (times after it allowed)."""
    choice = infer_date_order(_frame("01/02/2026 9:00", "01-30-2026"), ["date"], None, "UTC")
    assert (choice.order, choice.reason) == (
        "month_first",
        "proven by the file: line 3 (date '01-30-2026') has a second field above 12",
    )


def test_a_file_proving_both_orders_is_refused() -> None:
    """It refuses a file mixing both orders instead of loading half of it swapped."""
    with pytest.raises(RefusedFile, match=r"line 2 .* day first, line 3 .* month first"):
        infer_date_order(_frame("13/01/2026", "01/13/2026"), ["date"], None, "UTC")


def test_without_proof_the_configured_order_then_the_timezone_convention_decides() -> None:
    """It uses `date_order` when set, else month first in US zones and day first elsewhere."""
    ambiguous = _frame("01/02/2026", "2026-03-04", None)
    assert infer_date_order(ambiguous, ["date"], "month_first", "Europe/Berlin").order == (
        "month_first"
    )
    berlin = infer_date_order(ambiguous, ["date"], None, "Europe/Berlin")
    assert berlin.order == "day_first"
    assert berlin.reason.startswith("the convention of the pilot's timezone Europe/Berlin")
    assert infer_date_order(ambiguous, ["date"], None, "America/Chicago").order == "month_first"
    assert (locale_order("Asia/Manila"), locale_order("America/Toronto")) == (
        "month_first",
        "day_first",
    )


def test_a_file_without_year_last_dates_keeps_the_configured_order() -> None:
    """It says no date was ambiguous when the file writes ISO or dotted dates only."""
    choice = infer_date_order(_frame("2026-01-02", "02.01.2026"), ["date"], None, "UTC")
    assert (choice.order, choice.reason) == (None, "no day/month-ambiguous dates in the file")
