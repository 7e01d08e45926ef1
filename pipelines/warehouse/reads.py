"""Reads from the warehouse into polars frames, and table row counts."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, func, select
from sqlmodel import SQLModel

from pipelines.warehouse.engine import transaction


def read_frame(
    conn: Connection, statement: Any, schema: dict[str, pl.DataType] | None = None
) -> pl.DataFrame:
    """Run a select and return its rows as a polars frame (timestamps as UTC).

    With a `schema` the rows are typed column-wise in polars: from PostgreSQL as `COPY` text in
    the connection's own transaction (no Python object per cell), from SQLite as raw cells."""
    if schema is not None:
        columnar = _columnar_frame(conn, statement, schema)
        if columnar is not None:
            return columnar
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


def _schema_types(schema: dict[str, Any]) -> dict[str, pl.DataType]:
    return {n: (t() if isinstance(t, type) else t) for n, t in schema.items()}


def _stored_types(names: list[str], schema: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    """The types the cells arrive in: timestamps and dates as text, booleans as 0/1."""
    stored: dict[str, pl.DataType] = {}
    for name in names:
        dtype = schema[name]
        if isinstance(dtype, (pl.Datetime, pl.Date)):
            stored[name] = pl.String()
        elif dtype == pl.Boolean:
            stored[name] = pl.Int64()
        else:
            stored[name] = dtype
    return stored


def _driver_sql(conn: Connection, statement: Any) -> tuple[str, Any] | None:
    """The statement as the driver gets it: SQL text and its bound values, converted as
    SQLAlchemy converts them (aware timestamps to UTC text on SQLite). None when it is not
    a select."""
    if not hasattr(statement, "selected_columns"):
        return None
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    processors = compiled._bind_processors  # the conversions SQLAlchemy applies when it executes
    for name, process in processors.items():
        if name in values and not isinstance(process, tuple):
            values[name] = process(values[name])
    if compiled.positiontup is not None:
        return compiled.string, [values[name] for name in compiled.positiontup]
    return compiled.string, values


def _columnar_frame(
    conn: Connection, statement: Any, schema: dict[str, Any]
) -> pl.DataFrame | None:
    """The select's rows read column-wise (PostgreSQL through psycopg), or None: then they are
    read row by row."""
    # SQLite stays row by row: a second SQLite library in the process (ADBC's driver links its
    # own) must not open the warehouse file while sqlite3 holds it. Each library keeps its own
    # POSIX locks, and closing one's file drops the other's: one may then checkpoint or delete
    # the write-ahead log the other still reads.
    dialect = conn.dialect.name
    types = _schema_types(schema)
    if dialect == "postgresql" and conn.dialect.driver == "psycopg":
        return _postgres_frame(conn, statement, types)
    return None


def _postgres_frame(
    conn: Connection, statement: Any, schema: dict[str, pl.DataType]
) -> pl.DataFrame | None:
    """The select's rows as CSV from `COPY (..) TO STDOUT`, in the connection's transaction:
    timestamps as UTC text, booleans as 0/1, parsed by polars."""
    names = list(statement.selected_columns.keys())
    if not set(names) <= set(schema):
        return None
    driver = _driver_sql(conn, statement)
    if driver is None:
        return None
    sql, values = driver
    cells = []
    for name in names:
        column, dtype = f'q."{name}"', schema[name]
        if isinstance(dtype, pl.Datetime):
            cells.append(f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
        elif dtype == pl.Date:
            cells.append(f"to_char({column}, 'YYYY-MM-DD')")
        elif dtype == pl.Boolean:
            cells.append(f"{column}::int")
        else:
            cells.append(column)
    copy_sql = f"COPY (SELECT {', '.join(cells)} FROM ({sql}) AS q) TO STDOUT (FORMAT csv)"
    buffer = io.BytesIO()
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(copy_sql, values) as copy:  # type: ignore[union-attr]
        for chunk in copy:
            buffer.write(chunk)
    stored = _stored_types(names, schema)
    if buffer.tell() == 0:
        frame = pl.DataFrame(schema=stored)
    else:
        buffer.seek(0)
        frame = pl.read_csv(buffer, has_header=False, new_columns=names, schema=stored)
    return _typed(frame, names, schema)


def _sqlite_frame(
    rows: list[tuple[Any, ...]], names: list[str], schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """Raw SQLite cells (timestamps as text, booleans as 0/1) typed in polars, column-wise:
    much faster than converting every cell in Python for large reads."""
    schema = _schema_types(schema)
    stored = _stored_types(names, schema)
    frame = pl.DataFrame(rows or None, schema=stored, orient="row", strict=False)
    return _typed(frame, names, schema)


def _typed(frame: pl.DataFrame, names: list[str], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Cells as stored (`_stored_types`) typed as `schema` says, timestamps in UTC."""
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
