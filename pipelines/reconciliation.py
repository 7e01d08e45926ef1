"""Bill reconciliation: how much of a provider's bucketed bill the per-request logs explain.

Bucketed reports (OpenAI usage and costs, Anthropic usage and cost reports) cover every call an
organisation made; per-request logs (gateway or tracing exports) cover the calls the pilot can
attribute to tasks. The two are compared per model, side by side, never added together. A gap
means untracked usage (calls that bypass the gateway) or wrong prices (cents read as dollars, an
outdated price table).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select

from models.operating_model import OperatingModel
from models.results import Week
from models.warehouse import ProviderCost, UsageCall
from pipelines.usage_summary import calls_between
from pipelines.warehouse.reads import read_frame

# Above this share of the bill unexplained by the logs (either way), the report warns.
TOLERANCE = 0.05

BILL_SCHEMA = {
    "model": pl.String,
    "kind": pl.String,
    "currency": pl.String,
    "cost_usd": pl.Float64,
    "tokens": pl.Int64,
}
LOG_SCHEMA = {
    "model": pl.String,
    "calls": pl.Int64,
    "unpriced_calls": pl.Int64,
    "cost_usd": pl.Float64,
    "tokens": pl.Int64,
}


def model_key(column: str = "model") -> pl.Expr:
    """A model name comparable across exports: lower case, without a `provider/` prefix."""
    return pl.col(column).str.to_lowercase().str.replace(r"^[^/]*/", "").fill_null("(no model)")


def read_bill_and_logs(
    conn: Connection, operating_model: OperatingModel, week: Week
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The week's bill lines and logged usage, each summed per model (empty bill: no report).

    Daily buckets belong to the week their start falls in.
    """
    start, end = week.start, week.end
    bill_table = ProviderCost.__table__
    bill = read_frame(
        conn,
        select(
            bill_table.c.model,
            bill_table.c.kind,
            bill_table.c.currency,
            func.sum(bill_table.c.cost_usd).label("cost_usd"),
            func.sum(
                func.coalesce(bill_table.c.input_tokens, 0)
                + func.coalesce(bill_table.c.output_tokens, 0)
            ).label("tokens"),
        )
        .where(
            bill_table.c.pilot == operating_model.pilot,
            bill_table.c.bucket_start >= start,
            bill_table.c.bucket_start < end,
        )
        .group_by(bill_table.c.model, bill_table.c.kind, bill_table.c.currency)
        .order_by(bill_table.c.model, bill_table.c.kind, bill_table.c.currency),
        schema=BILL_SCHEMA,
    )
    if bill.height == 0:
        return bill, pl.DataFrame(schema=LOG_SCHEMA)
    usage = UsageCall.__table__
    logs = read_frame(
        conn,
        select(
            usage.c.model,
            func.count().label("calls"),
            func.sum(func.cast(usage.c.model_cost_usd.is_(None), usage.c.input_tokens.type)).label(
                "unpriced_calls"
            ),
            func.sum(usage.c.model_cost_usd).label("cost_usd"),
            func.sum(usage.c.input_tokens + usage.c.output_tokens).label("tokens"),
        )
        .where(calls_between(operating_model.pilot, start, end))
        .group_by(usage.c.model)
        .order_by(usage.c.model),
        schema=LOG_SCHEMA,
    )
    return bill, logs


def reconcile(bill: pl.DataFrame, logs: pl.DataFrame) -> dict[str, Any] | None:
    """Per model: the bill's cost and tokens beside the logged ones, with the unexplained share.

    Cost is compared where the bill has cost lines in USD, tokens where it has usage lines.
    Returns None when the week has no bill lines.
    """
    if bill.height == 0:
        return None
    other_currency = sorted(
        set(
            bill.filter(
                (pl.col("kind") == "cost")
                & pl.col("currency").is_not_null()
                & (pl.col("currency").str.to_lowercase() != "usd")
            )
            .get_column("currency")
            .to_list()
        )
    )
    usd = (pl.col("kind") == "cost") & (
        pl.col("currency").is_null() | (pl.col("currency").str.to_lowercase() == "usd")
    )
    billed = (
        bill.with_columns(model_key().alias("key"))
        .group_by("key")
        .agg(
            pl.col("cost_usd").filter(usd).sum().alias("bill_cost_usd"),
            usd.any().alias("has_cost"),
            pl.col("tokens").filter(pl.col("kind") == "usage").sum().alias("bill_tokens"),
            (pl.col("kind") == "usage").any().alias("has_tokens"),
        )
    )
    logged = (
        logs.with_columns(model_key().alias("key"))
        .group_by("key")
        .agg(
            pl.col("calls").sum().alias("logged_calls"),
            pl.col("unpriced_calls").sum().alias("unpriced_calls"),
            pl.col("cost_usd").sum().alias("logged_cost_usd"),
            pl.col("tokens").sum().alias("logged_tokens"),
        )
    )
    table = (
        billed.join(logged, on="key", how="full", coalesce=True)
        .with_columns(
            pl.col("has_cost").fill_null(False),
            pl.col("has_tokens").fill_null(False),
            pl.col("logged_calls").fill_null(0),
            pl.col("unpriced_calls").fill_null(0),
            pl.col("logged_cost_usd").fill_null(0.0),
            pl.col("logged_tokens").fill_null(0),
        )
        .sort("key")
    )
    rows = [_row(r) for r in table.iter_rows(named=True)]
    total_bill = sum(r["bill_cost_usd"] or 0.0 for r in rows if r["bill_cost_usd"] is not None)
    total_logged = sum(r["logged_cost_usd"] for r in rows if r["bill_cost_usd"] is not None)
    return {
        "tolerance": TOLERANCE,
        "models": rows,
        "bill_cost_usd": round(total_bill, 6),
        "logged_cost_usd": round(total_logged, 6),
        "unexplained_share": _share(total_bill, total_logged),
        "warnings": [r["warning"] for r in rows if r["warning"]]
        + [f"bill lines in {c} are not compared (only USD is)" for c in other_currency],
    }


def _share(billed: float | None, logged: float | None) -> float | None:
    if not billed or logged is None:
        return None
    return round((billed - logged) / billed, 4)


def _about_100x(billed: float | None, logged: float) -> bool:
    """Bill and logs 80-120x apart either way: cents read as dollars, or the reverse."""
    if not billed or not logged:
        return False
    ratio = billed / logged
    return 80 <= ratio <= 120 or 80 <= 1 / ratio <= 120


def _row(r: dict[str, Any]) -> dict[str, Any]:
    bill_cost = r["bill_cost_usd"] if r["has_cost"] else None
    bill_tokens = r["bill_tokens"] if r["has_tokens"] else None
    cost_share = _share(bill_cost, r["logged_cost_usd"])
    token_share = _share(bill_tokens, r["logged_tokens"])
    warning = None
    if r["has_cost"] or r["has_tokens"]:
        gaps = [s for s in (cost_share, token_share) if s is not None]
        if bill_cost == 0 and r["logged_cost_usd"] > 0 and not gaps:
            gaps = [-1.0]
        worst = max(gaps, key=abs) if gaps else None
        if worst is not None and abs(worst) > TOLERANCE:
            what = "untracked usage" if worst > 0 else "logged cost above the bill"
            warning = (
                f"{r['key']}: {abs(worst):.1%} of the bill is not explained by the request logs "
                f"({what}; or wrong prices)"
            )
            if _about_100x(bill_cost, r["logged_cost_usd"]):
                warning += (
                    "; the costs differ by about 100x: check the cost unit "
                    "(sources.usage.cost_unit: cents or usd)"
                )
    return {
        "model": r["key"],
        "bill_cost_usd": None if bill_cost is None else round(bill_cost, 6),
        "logged_cost_usd": round(r["logged_cost_usd"], 6),
        "unexplained_cost_share": cost_share,
        "bill_tokens": bill_tokens,
        "logged_tokens": int(r["logged_tokens"]),
        "unexplained_token_share": token_share,
        "logged_calls": int(r["logged_calls"]),
        "unpriced_calls": int(r["unpriced_calls"]),
        "warning": warning,
    }


def week_reconciliation(
    conn: Connection, operating_model: OperatingModel, week: Week
) -> dict[str, Any] | None:
    """The week's reconciliation of provider bills against request logs, or None without bills."""
    bill, logs = read_bill_and_logs(conn, operating_model, week)
    return reconcile(bill, logs)
