"""Reads from the warehouse into polars frames, and table row counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select
from sqlmodel import SQLModel

from pipelines.warehouse.engine import transaction


def read_frame(
    conn: Connection, statement: Any, schema: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """Run a select and return its rows as a polars frame (timestamps as UTC)."""
    result = conn.execute(statement)
    names = list(result.keys())
    if conn.dialect.name == "sqlite" and schema is not None:
        return _sqlite_frame(result.cursor.fetchall(), names, schema)
    rows = result.fetchall()
    frame = (
        pl.DataFrame(
            [list(r) for r in rows] if rows else None,
            schema=schema or names,
            orient="row",
            infer_schema_length=None,
        )
        if rows
        else pl.DataFrame(schema=schema or {n: pl.Null for n in names})
    )
    return frame.with_columns(
        pl.col(c).dt.replace_time_zone("UTC")
        for c, t in frame.schema.items()
        if isinstance(t, pl.Datetime) and t.time_zone is None
    )


_SQLITE_STAMP = "%Y-%m-%d %H:%M:%S%.f"


def _sqlite_frame(
    rows: list[tuple[Any, ...]], names: list[str], schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """Raw SQLite cells (timestamps as text, booleans as 0/1) typed in polars, column-wise:
    much faster than converting every cell in Python for large reads."""
    schema = {n: (t() if isinstance(t, type) else t) for n, t in schema.items()}
    stored: dict[str, pl.DataType] = {}
    for name in names:
        dtype = schema[name]
        if isinstance(dtype, (pl.Datetime, pl.Date)):
            stored[name] = pl.String()
        elif dtype == pl.Boolean:
            stored[name] = pl.Int64()
        else:
            stored[name] = dtype
    frame = pl.DataFrame(rows or None, schema=stored, orient="row", strict=False)
    typed = []
    for name in names:
        dtype = schema[name]
        if isinstance(dtype, pl.Datetime):
            typed.append(
                pl.col(name)
                .str.to_datetime(_SQLITE_STAMP, time_unit="us")
                .dt.replace_time_zone("UTC")
                .dt.convert_time_zone(dtype.time_zone or "UTC")
            )
        elif dtype == pl.Date:
            typed.append(pl.col(name).str.slice(0, 10).str.to_date("%Y-%m-%d"))
        elif dtype == pl.Boolean:
            typed.append(pl.col(name).cast(pl.Boolean))
        else:
            typed.append(pl.col(name))
    return frame.select(typed)


def table_counts(url: str, names: Sequence[str] | None = None) -> dict[str, int]:
    """Row count of every warehouse table (or of the named ones)."""
    counts: dict[str, int] = {}
    with transaction(url) as conn:
        for table in SQLModel.metadata.sorted_tables:
            if names is None or table.name in names:
                counts[table.name] = conn.execute(
                    select(func.count()).select_from(table)
                ).scalar_one()
    return counts


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
