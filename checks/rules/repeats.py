"""Serious repeats (contract section 6): one definition, used by `quality.serious_repeat` and by
the report's "repeat" marker.

A finding of this week is a *serious repeat* when it is serious (severity medium or stop_now)
and its category already had a serious finding in an earlier week after which a fix was
recorded: the earlier finding's own `fix`, or a change-log entry (other than a restart) dated
between the earlier finding and this one. Any other finding whose category appeared in an
earlier week is only *seen before*.
"""

from __future__ import annotations

import polars as pl

SERIOUS = ("medium", "stop_now")


def _utc(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    zone = frame.schema[column].time_zone  # type: ignore[union-attr]
    cast = (
        pl.col(column).dt.replace_time_zone("UTC")
        if zone is None
        else pl.col(column).dt.convert_time_zone("UTC")
    )
    return frame.with_columns(cast)


def serious_repeat_mask(
    week_findings: pl.DataFrame, earlier_findings: pl.DataFrame, changes: pl.DataFrame
) -> pl.Series:
    """One boolean per row of `week_findings` (ticket_id, reviewed_at, severity, category):
    whether it is a serious repeat. `earlier_findings` are findings reviewed before the week
    (any severity; only serious ones with a recorded fix count), `changes` the change log."""
    if week_findings.height == 0:
        return pl.Series("serious_repeat", [], dtype=pl.Boolean)
    week = _utc(
        week_findings.select(
            "reviewed_at", pl.col("severity").cast(pl.String), pl.col("category").cast(pl.String)
        ),
        "reviewed_at",
    )
    week = week.with_row_index("__row__")
    earlier = _utc(
        earlier_findings.filter(pl.col("severity").cast(pl.String).is_in(SERIOUS)).select(
            pl.col("category").cast(pl.String),
            pl.col("reviewed_at").alias("earlier_at"),
            (pl.col("fix").cast(pl.String).str.strip_chars().fill_null("") != "").alias("fixed"),
        ),
        "earlier_at",
    )
    fixes = _utc(
        changes.filter(pl.col("kind") != "restart").select(pl.col("changed_at")), "changed_at"
    )
    pairs = (
        week.filter(pl.col("severity").is_in(SERIOUS) & pl.col("category").is_not_null())
        .join(earlier, on="category")
        .filter(pl.col("earlier_at") < pl.col("reviewed_at"))
    )
    if pairs.height and fixes.height:
        # A change between the earlier finding and this one counts as its fix.
        between = pairs.join(fixes, how="cross").filter(
            (pl.col("changed_at") > pl.col("earlier_at"))
            & (pl.col("changed_at") < pl.col("reviewed_at"))
        )
        changed_rows = set(between.get_column("__row__").to_list())
    else:
        changed_rows = set()
    repeat_rows = set(pairs.filter(pl.col("fixed")).get_column("__row__").to_list()) | changed_rows
    return pl.Series(
        "serious_repeat", [i in repeat_rows for i in range(week.height)], dtype=pl.Boolean
    )


def seen_before_mask(week_findings: pl.DataFrame, earlier_findings: pl.DataFrame) -> pl.Series:
    """One boolean per row of `week_findings`: its category had any finding in an earlier week."""
    earlier = set(earlier_findings.get_column("category").drop_nulls().to_list())
    return (
        week_findings.get_column("category")
        .is_in(list(earlier))
        .fill_null(False)
        .alias("seen_before")
    )
