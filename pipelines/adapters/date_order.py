"""Day/month order of year-last dates (`03/04/2026`), inferred from the file's own values.

A first field above 12 proves the file writes the day first; a second field above 12 proves it
writes the month first. A file that proves both is refused (it mixes two locales: no order reads
it whole). A file that proves neither is read in the configured `date_order`, else in the
convention of the pilot's timezone (month first in the United States and the Philippines, day
first elsewhere). The file is always read in one order: never part of it in one order and the
rest quarantined for the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from pipelines.read import LINE, RefusedFile

_YEAR_LAST = r"^\s*(\d{1,2})[/-](\d{1,2})[/-](\d{2}|\d{4})\b"
# Zones of countries that write the month first (the US and its territories, the Philippines);
# zoneinfo carries no country, so the zones are listed.
MONTH_FIRST_ZONES = frozenset(
    {
        "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
        "America/Phoenix", "America/Anchorage", "America/Adak", "America/Boise",
        "America/Detroit", "America/Juneau", "America/Metlakatla", "America/Nome",
        "America/Sitka", "America/Yakutat", "America/Menominee", "America/Puerto_Rico",
        "America/Indiana/Indianapolis", "America/Indiana/Knox", "America/Indiana/Marengo",
        "America/Indiana/Petersburg", "America/Indiana/Tell_City", "America/Indiana/Vevay",
        "America/Indiana/Vincennes", "America/Indiana/Winamac", "America/Kentucky/Louisville",
        "America/Kentucky/Monticello", "America/North_Dakota/Beulah",
        "America/North_Dakota/Center", "America/North_Dakota/New_Salem", "Pacific/Honolulu",
        "Pacific/Guam", "Pacific/Saipan", "Pacific/Pago_Pago", "Asia/Manila", "US/Eastern",
        "US/Central", "US/Mountain", "US/Pacific", "US/Alaska", "US/Hawaii", "US/Arizona",
    }
)  # fmt: skip


@dataclass(frozen=True)
class DateOrderChoice:
    """The order a file's year-last dates are read in, and why (shown by `check`)."""

    order: str | None  # "day_first", "month_first", or None when the file has no such date
    reason: str


def locale_order(timezone: str) -> str:
    """The order the people of a timezone's country write dates in."""
    return "month_first" if timezone in MONTH_FIRST_ZONES else "day_first"


def infer_date_order(
    raw: pl.DataFrame,
    columns: Sequence[str],
    configured: str | None,
    timezone: str,
    *,
    what: str = "dates",
) -> DateOrderChoice:
    """The order of the year-last dates in `columns` of `raw`: proven by the file, else
    `configured`, else the convention of `timezone`. Refuses a file that proves both orders."""
    present = [c for c in columns if c in raw.columns]
    if not present:
        return DateOrderChoice(configured, "no date column")
    cells = pl.concat(
        [
            raw.select(
                LINE,
                pl.col(c).cast(pl.String).alias("value"),
                pl.lit(c).alias("column"),
            )
            for c in present
        ]
    )
    parts = cells.with_columns(
        pl.col("value").str.extract(_YEAR_LAST, 1).cast(pl.Int32, strict=False).alias("first"),
        pl.col("value").str.extract(_YEAR_LAST, 2).cast(pl.Int32, strict=False).alias("second"),
    ).filter(pl.col("first").is_not_null() & pl.col("second").is_not_null())
    if parts.is_empty():
        return DateOrderChoice(configured, f"no day/month-ambiguous {what} in the file")
    day = parts.filter(pl.col("first") > 12).sort(LINE).head(1)
    month = parts.filter(pl.col("second") > 12).sort(LINE).head(1)
    if not day.is_empty() and not month.is_empty():
        raise RefusedFile(
            f"its {what} are written in two orders: line {_where(day)} can only be day first, "
            f"line {_where(month)} only month first; split the file or correct those rows"
        )
    for proof, order, field in ((day, "day_first", "first"), (month, "month_first", "second")):
        if not proof.is_empty():
            reason = f"proven by the file: line {_where(proof)} has a {field} field above 12"
            if configured and configured != order:
                reason += f" (the configured date_order {configured} cannot read it)"
            return DateOrderChoice(order, reason)
    if configured:
        return DateOrderChoice(
            configured, "configured date_order (no value in the file proves either order)"
        )
    order = locale_order(timezone)
    return DateOrderChoice(
        order,
        f"the convention of the pilot's timezone {timezone} (no value in the file proves "
        "either order and no date_order is configured)",
    )


def _where(proof: pl.DataFrame) -> str:
    row = proof.row(0, named=True)
    return f"{row[LINE]} ({row['column']} {row['value'].strip()!r})"
