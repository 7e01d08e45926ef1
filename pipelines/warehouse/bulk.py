"""Bulk loads into the warehouse: inserts (COPY on PostgreSQL, prepared statements or staged
files on SQLite), upserts that keep the newest export of each key, and partition replaces.

Upserts use each dialect's `INSERT .. ON CONFLICT` (SQLAlchemy Core) from a staging table, so a
whole file loads in a few statements inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import adbc_driver_sqlite.dbapi as adbc
import pgpq
import polars as pl
import pyarrow as pa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    FromClause,
    MetaData,
    Row,
    Select,
    Table,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from pipelines.warehouse.engine import (
    PAGE_BYTES,
    Stage,
    WarehouseError,
    reason,
    redacted,
    stage_file_name,
)

_BATCH_ROWS = 50_000
# From this many rows, SQLite loads stage the rows through ADBC (see `stage_rows`).
STAGE_MIN_ROWS = 20_000


# A table, or the SQLModel class declaring it.
TableOf = Table | type[SQLModel]


def _table(table: TableOf) -> Table:
    return table if isinstance(table, Table) else table.__table__


def _bulk_frame(frame: pl.DataFrame, dialect: str) -> pl.DataFrame:
    """Cells as the database stores them: UTC timestamps as text, booleans as 0/1 on SQLite."""
    stamp = "%Y-%m-%d %H:%M:%S%.6f" + ("+00:00" if dialect == "postgresql" else "")
    converted = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                column = column.dt.replace_time_zone("UTC")
            column = column.dt.convert_time_zone("UTC").dt.strftime(stamp)
        elif dtype == pl.Date:
            column = column.dt.strftime("%Y-%m-%d")
        elif dtype == pl.Boolean and dialect != "postgresql":
            column = column.cast(pl.Int8)
        converted.append(column.alias(name))
    return frame.select(converted)


def _key_order(table: Table, frame: pl.DataFrame) -> pl.Series | None:
    """The positions of the frame's rows in the table's key order (None: no key column in it).

    Rows loaded in key order walk the key index from one end to the other. Vendor ids come in
    no order: inserting 5M calls in file order beside 5M held took 23 s in SQLite, in key
    order 5.8 s.
    """
    keys = [c.name for c in table.primary_key.columns if c.name in frame.columns]
    if len(keys) == 1 and frame.schema[keys[0]] == pl.String:
        return _nearly_sorted(frame.get_column(keys[0]))
    return frame.select(pl.arg_sort_by(keys)).to_series() if keys else None


def _nearly_sorted(keys: pl.Series) -> pl.Series:
    """Positions of text keys in the order of their first 8 bytes after the prefix all of them
    share: key order but among keys equal on those bytes, which come in any order. Loads need
    the locality, not the exact order, and sorting 8-byte words is ten times faster than
    sorting text (5M request ids: 0.3 s against 3.1 s)."""
    low, high = keys.min(), keys.max()
    shared = 0  # characters every key starts with: those the smallest and largest share
    if isinstance(low, str) and isinstance(high, str):
        unequal = (i for i, (a, b) in enumerate(zip(low, high, strict=False)) if a != b)
        shared = next(unequal, min(len(low), len(high)))
    word = (
        keys.str.slice(shared, 8)
        .str.pad_end(8, "\0")
        .cast(pl.Binary)
        .bin.head(8)  # 8 characters may be more bytes
        .bin.reinterpret(dtype=pl.UInt64, endianness="big")
    )
    return word.arg_sort()


def _row_batches(
    frame: pl.DataFrame, positions: pl.Series | None, size: int
) -> Iterator[pl.DataFrame]:
    """The frame's rows `size` at a time: those at `positions`, in that order, when given (each
    batch gathered as it is needed: no sorted copy of the frame is held)."""
    height = frame.height if positions is None else positions.len()
    for start in range(0, height, size):
        if positions is None:
            yield frame.slice(start, size)
        else:
            yield frame.select(pl.all().gather(positions.slice(start, size)))


def _copy_into(
    conn: Connection, table: Table, frame: pl.DataFrame, positions: pl.Series | None = None
) -> None:
    """PostgreSQL bulk path: COPY .. FROM STDIN straight from polars, in the order of
    `positions` when given, batch by batch: in PostgreSQL's binary format where every column
    has one here (`_binary_cells`), else in CSV (cells converted by `_bulk_frame`)."""
    names = ", ".join(f'"{c}"' for c in frame.columns)
    cursor = conn.connection.driver_connection.cursor()
    cells = _binary_cells(conn, table, frame)
    form = "csv" if cells is None else "binary"  # binary: no parsing of text by the server
    # A thread of psycopg's sends the rows while this one makes the next batch.
    writer = QueuedLibpqWriter(cursor)
    sql = f'COPY "{table.name}" ({names}) FROM STDIN WITH (FORMAT {form})'
    with cursor.copy(sql, writer=writer) as copy:
        if cells is None:
            for rows in _row_batches(frame, positions, _BATCH_ROWS * 4):
                copy.write(_bulk_frame(rows, "postgresql").write_csv(include_header=False))
        else:
            for chunk in _binary_chunks(frame, positions, cells):
                copy.write(chunk)


def _binary_chunks(
    frame: pl.DataFrame, positions: pl.Series | None, cells: list[pl.Expr]
) -> Iterator[bytes]:
    """The frame's rows (those at `positions`, in that order, when given) as the chunks of one
    binary COPY stream (`_binary_cells`), batch by batch."""
    encoder: pgpq.ArrowToPostgresBinaryEncoder | None = None
    for rows in _row_batches(frame, positions, _BATCH_ROWS * 4):
        batch = rows.select(cells).to_arrow()
        del rows
        if encoder is None:
            encoder = pgpq.ArrowToPostgresBinaryEncoder(batch.schema)
            yield encoder.write_header()
        for part in batch.to_batches():
            yield encoder.write_batch(part)
    if encoder is not None:
        yield encoder.finish()


# The polars types of the cells PostgreSQL's binary COPY takes for a column of each type, and
# the polars types a frame's column may have to be cast to them.
_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_WIRE_TYPES: dict[str, tuple[pl.DataType, tuple[type[pl.DataType], ...]]] = {
    "boolean": (pl.Boolean(), (pl.Boolean,)),
    "smallint": (pl.Int16(), _INTEGERS),
    "integer": (pl.Int32(), _INTEGERS),
    "bigint": (pl.Int64(), _INTEGERS),
    "double precision": (pl.Float64(), (pl.Float32, pl.Float64, *_INTEGERS)),
    "character varying": (pl.String(), (pl.String,)),
    "text": (pl.String(), (pl.String,)),
    "timestamp with time zone": (pl.Datetime("us", "UTC"), (pl.Datetime,)),
    "timestamp without time zone": (pl.Datetime("us"), (pl.Datetime,)),
    "date": (pl.Date(), (pl.Date,)),
}
_INT_BOUNDS = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}


def _binary_cells(conn: Connection, table: Table, frame: pl.DataFrame) -> list[pl.Expr] | None:
    """The frame's columns as PostgreSQL's binary COPY takes them for the table's columns as
    the database declares them (timestamps in UTC, a naive one taken as UTC as `_bulk_frame`
    takes it), or None when a column has no such form here or a value would not fit (the CSV
    COPY then lets the server say what is wrong)."""
    declared = dict(
        conn.exec_driver_sql(
            "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
            " WHERE attrelid = to_regclass(quote_ident(%(name)s))"
            " AND attnum > 0 AND NOT attisdropped",
            {"name": table.name},
        ).all()
    )
    cells = []
    for name, dtype in frame.schema.items():
        sql = declared.get(name)
        if sql not in _WIRE_TYPES:
            return None
        target, accepted = _WIRE_TYPES[sql]
        if dtype != pl.Null and not isinstance(dtype, accepted):
            return None
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                column = column.dt.replace_time_zone("UTC")
            column = column.dt.convert_time_zone("UTC")
            if sql == "timestamp without time zone":
                column = column.dt.replace_time_zone(None)
        elif dtype.is_integer() and sql in _INT_BOUNDS:
            low, high = frame.select(pl.col(name).min().alias("low"), pl.col(name).max()).row(0)
            if low is not None and not -_INT_BOUNDS[sql] <= low <= high < _INT_BOUNDS[sql]:
                return None
        cells.append(column.cast(target).alias(name))
    return cells


def _copy_order(table: Table, frame: pl.DataFrame) -> pl.Series | None:
    """`_key_order` for a COPY, leaving out key columns that hold one value (a file's pilot):
    they change nothing in the order, and sorting by two text columns is far slower than
    `_nearly_sorted` on one."""
    keys = [c.name for c in table.primary_key.columns if c.name in frame.columns]
    same = [k for k in keys if frame.height > 0 and _one_value(frame.get_column(k))]
    return _key_order(table, frame.drop(same))


def _one_value(column: pl.Series) -> bool:
    """Whether every cell of the column holds the same value, none null."""
    first = column[0]
    return first is not None and column.null_count() == 0 and bool((column == first).all())


def _executemany(conn: Connection, sql: str, frame: pl.DataFrame) -> int:
    """SQLite bulk path: one prepared statement over all rows; returns rows changed."""
    raw = conn.connection.driver_connection
    before = raw.total_changes
    for start in range(0, frame.height, _BATCH_ROWS):
        raw.executemany(sql, frame.slice(start, _BATCH_ROWS).iter_rows())
    return raw.total_changes - before


def insert_rows(conn: Connection, table: TableOf, frame: pl.DataFrame) -> None:
    """Bulk insert of a frame into a table (COPY on PostgreSQL, executemany on SQLite)."""
    if frame.height == 0:
        return
    table = _table(table)
    dialect = conn.dialect.name
    frame = frame.select([c for c in frame.columns if c in table.c])
    if dialect == "postgresql":
        _copy_into(conn, table, frame, _copy_order(table, frame))
        return
    frame = _bulk_frame(frame, dialect)
    if dialect == "sqlite":
        names = ", ".join(f'"{c}"' for c in frame.columns)
        marks = ", ".join("?" for _ in frame.columns)
        _executemany(conn, f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', frame)
    else:
        conn.execute(table.insert(), frame.to_dicts())


def _dialect_insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT of the connection's dialect, which can take an ON CONFLICT clause."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise WarehouseError(f"upserts need SQLite or PostgreSQL, not {conn.dialect.name}")


def _insert_from(
    conn: Connection, table: Table, columns: list[str], rows: Select[Any]
) -> sqlite.Insert | postgresql.Insert:
    # A WHERE on the SELECT: SQLite cannot otherwise tell the ON of ON CONFLICT from a join's.
    return _dialect_insert(conn, table).from_select(columns, rows.where(true()))


def _newest_wins(
    conn: Connection, table: Table, keys: list[str], rows: Select[Any]
) -> sqlite.Insert | postgresql.Insert:
    """Insert `rows`; where a key is held, its row is replaced by a newer export or different
    content of an export at least as new."""
    columns = [c.name for c in table.columns]
    insert = _insert_from(conn, table, columns, rows)
    new = insert.excluded
    return insert.on_conflict_do_update(
        index_elements=keys,
        set_={c: new[c] for c in columns if c not in keys},
        where=and_(
            new.exported_at >= table.c.exported_at,
            or_(table.c.row_hash != new.row_hash, new.exported_at > table.c.exported_at),
        ),
    )


def _staged_source(stage: Stage, name: str, columns: list[Column[Any]]) -> FromClause:
    """The staged table `name` (`stage_rows`, attached as `Stage.schema(i)`) as a table to
    select `columns` from, its parts joined with UNION ALL."""
    parts = [
        Table(name, MetaData(), *(Column(c.name, c.type) for c in columns), schema=schema)
        for schema in stage.schemas_holding(name)
    ]
    if len(parts) == 1:
        return parts[0].alias("s")
    return union_all(*(select(*part.c) for part in parts)).subquery("s")


# Staged rows are written by this many threads into as many files at once (ADBC releases the
# GIL while it writes), from this many rows on.
STAGE_PARTS = max(1, min(os.cpu_count() or 1, 4))
STAGE_PARALLEL_ROWS = 200_000


def stage_rows(
    url: str,
    table: TableOf,
    frame: pl.DataFrame,
) -> Stage | None:
    """SQLite bulk path for large loads: write the rows into staging files beside the warehouse
    through ADBC (Arrow columns, no Python row objects), before the loading transaction; the
    transaction attaches them (`transaction(url, attach=...)`) and copies the rows in.

    The staging files are separate SQLite files on purpose: ADBC brings its own SQLite library,
    and two SQLite libraries must never hold the same database file open in one process (POSIX
    locks are per process; one library's close drops the other's locks). A large frame is split
    over several files written in parallel.
    Returns the stage, or None where this path does not apply (PostgreSQL loads with COPY;
    small frames go through executemany). The caller deletes the files (`drop_stage`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or frame.height < STAGE_MIN_ROWS:
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    parts = STAGE_PARTS if frame.height >= STAGE_PARALLEL_ROWS else 1
    size = -(-frame.height // parts)
    # Rows are staged in key order (`_key_order`), gathered batch by batch as they are staged.
    order = _key_order(_table(table), frame)
    work: list[dict[str, tuple[TableOf, pl.DataFrame, pl.Series | None]]] = [
        {
            "rows": (table, frame, order.slice(i * size, size))
            if order is not None
            else (table, frame.slice(i * size, size), None)
        }
        for i in range(parts)
    ]
    base = Path(parsed.database)
    stage = Stage(
        files=tuple(base.with_name(stage_file_name(base, os.getpid())) for _ in work),
        tables=tuple(frozenset(w) for w in work),
    )
    try:
        if parts == 1:
            _write_stage_file(stage.files[0], work[0])
        else:
            with ThreadPoolExecutor(parts, thread_name_prefix="stage") as pool:
                list(pool.map(_write_stage_file, stage.files, work))
    except Exception as exc:
        drop_stage(stage)
        raise WarehouseError(f"cannot stage rows beside {redacted(url)}: {reason(exc)}") from None
    return stage


def can_stage(url: str) -> bool:
    """Whether loads into this warehouse can go through staging files (a SQLite file)."""
    parsed = make_url(url)
    return (
        parsed.get_backend_name() == "sqlite"
        and bool(parsed.database)
        and parsed.database != ":memory:"
    )


def stage_slice(
    url: str,
    stage: Stage | None,
    table: TableOf,
    frame: pl.DataFrame,
) -> Stage:
    """`stage_rows` for a file read in slices: the first slice creates the stage's files
    (`STAGE_PARTS` of them), each later one appends its rows to them, each part in its own key
    order. The caller deletes the files (`drop_stage`), also when this raises."""
    if stage is None:
        base = Path(make_url(url).database or "")
        files = tuple(
            base.with_name(stage_file_name(base, os.getpid())) for _ in range(STAGE_PARTS)
        )
        stage = Stage(files=files, tables=tuple(frozenset() for _ in files))
    size = -(-frame.height // len(stage.files))
    order = _key_order(_table(table), frame)
    work: list[dict[str, tuple[TableOf, pl.DataFrame, pl.Series | None]]] = [
        {
            "rows": (table, frame, order.slice(i * size, size))
            if order is not None
            else (table, frame.slice(i * size, size), None)
        }
        for i in range(len(stage.files))
    ]
    try:
        with ThreadPoolExecutor(len(work), thread_name_prefix="stage") as pool:
            list(pool.map(_write_stage_file, stage.files, work, [True] * len(work)))
    except Exception as exc:
        raise WarehouseError(f"cannot stage rows beside {redacted(url)}: {reason(exc)}") from None
    return Stage(
        files=stage.files,
        tables=tuple(held | frozenset(w) for held, w in zip(stage.tables, work, strict=True)),
    )


def stage_tables(url: str, stage: Stage, tables: dict[str, tuple[TableOf, pl.DataFrame]]) -> Stage:
    """Add whole tables to a stage (in its first file), for rows that go into other tables in
    the same transaction (`insert_staged`): name -> (the table they go into, its rows)."""
    work = {name: (table, frame, None) for name, (table, frame) in tables.items()}
    try:
        _write_stage_file(stage.files[0], work, append=True)
    except Exception as exc:
        raise WarehouseError(f"cannot stage rows beside {redacted(url)}: {reason(exc)}") from None
    return Stage(files=stage.files, tables=(stage.tables[0] | frozenset(work), *stage.tables[1:]))


def insert_staged(
    conn: Connection,
    table: TableOf,
    stage: Stage,
    name: str,
    frame: pl.DataFrame,
    constants: dict[str, Any],
) -> None:
    """Insert the staged table `name` (`stage_tables`, which staged `frame`) into `table`: the
    staged columns, and `constants` for columns the same on every row."""
    target = _table(table)
    staged = [c for c in target.columns if c.name in frame.columns]  # as `_write_stage_file`
    source = _staged_source(stage, name, staged)
    columns = [*constants, *(c.name for c in staged)]
    values = [
        *(_constant(v, target.c[k]) for k, v in constants.items()),
        *(source.c[c.name] for c in staged),
    ]
    conn.execute(target.insert().from_select(columns, select(*values).select_from(source)))


def _write_stage_file(
    path: Path,
    tables: dict[str, tuple[TableOf, pl.DataFrame, pl.Series | None]],
    append: bool = False,
) -> None:
    """Write staged tables into one file: name -> (table, frame, the positions of the
    frame's rows to stage in that order, or None for all rows as they are). `append` adds the
    rows to tables the file may already hold."""
    # Autocommit until the settings are made: SQLite changes `synchronous` outside a
    # transaction only. The rows are then written in one transaction.
    with adbc.connect(str(path), autocommit=True) as conn:
        with conn.cursor() as cursor:
            # A scratch file: no recovery, and no commit waits for its rows to reach the disk.
            cursor.execute("PRAGMA journal_mode = OFF")
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute(f"PRAGMA page_size = {PAGE_BYTES}")
            conn.adbc_connection.set_autocommit(False)
            for name, (table, rows, positions) in tables.items():
                columns = [c.name for c in _table(table).columns if c.name in rows.columns]
                batches = _arrow_batches(rows.select(columns), positions)
                cursor.adbc_ingest(name, batches, mode="create_append" if append else "create")
        conn.adbc_connection.commit()


# Rows converted for staging at a time: the converted cells (timestamps as text) of a large
# frame are made batch by batch as the driver takes them, never all at once.
STAGE_BATCH_ROWS = 250_000


def _arrow_batches(frame: pl.DataFrame, positions: pl.Series | None = None) -> Any:
    """The frame's rows (those at `positions`, in that order, when given) as SQLite stores
    them (`_bulk_frame`), as a stream of Arrow record batches."""
    schema = _bulk_frame(frame.head(0), "sqlite").to_arrow().schema

    def batches() -> Iterator[Any]:
        for rows in _row_batches(frame, positions, STAGE_BATCH_ROWS):
            yield from _bulk_frame(rows, "sqlite").to_arrow().cast(schema).to_batches()

    return pa.RecordBatchReader.from_batches(schema, batches())


def drop_stage(stage: Stage) -> None:
    """Delete a stage's files."""
    for path in stage.files:
        path.unlink(missing_ok=True)


class Upserted(NamedTuple):
    """What an upsert did: rows loaded, rows that were duplicates, and the files whose rows
    share a key with the upserted ones (rows may have moved from them to the new file)."""

    loaded: int
    duplicate: int
    shared_files: tuple[int, ...]


def upsert_newest(
    conn: Connection,
    table: TableOf,
    frame: pl.DataFrame,
    staged: Stage | None = None,
    constants: dict[str, Any] | None = None,
    staged_rows: int | None = None,
) -> Upserted:
    """Upsert source rows by primary key, keeping the row of the newest export.

    A row is a duplicate when the warehouse already holds the same content for its key, or a
    newer export of it. A newer export with the same content still moves the stored export
    time forward, so an older export arriving later cannot win.
    `staged`: the frame's rows, already staged (`stage_rows`) and attached to this transaction;
    `constants` gives columns that are the same on every row (file id, pilot, export time) and
    are then not in the staged rows. `staged_rows`: how many rows are staged, when `frame`
    does not hold them (a file staged slice by slice, `stage_slice`).
    """
    constants = constants or {}
    target = _table(table)
    keys = [c.name for c in target.primary_key.columns]
    columns = [c.name for c in target.columns]
    height = frame.height if staged is None or staged_rows is None else staged_rows
    if staged is None and frame.height == 0:
        return Upserted(0, 0, ())
    if staged is None and conn.dialect.name == "postgresql":
        # A file mostly brings keys not held yet (a new week's calls): COPY them straight into
        # the table, without a staging table or ON CONFLICT (1M calls: 9.9 s to 7.7 s). A key
        # already held, or stored meanwhile by another writer, stops the COPY (unique key); the
        # rows are then upserted as below.
        rows = frame.with_columns(pl.lit(v).alias(k) for k, v in constants.items())
        try:
            with conn.begin_nested():
                insert_rows(conn, target, rows)
            return Upserted(frame.height, 0, ())
        except conn.dialect.loaded_dbapi.IntegrityError:
            pass
    varying = [c for c in target.columns if c.name not in constants]
    stage: Table | None = None
    if staged is None:
        stage = Table(
            f"stage_{target.name}",
            MetaData(),
            *(Column(c.name, c.type) for c in varying),
            prefixes=["TEMPORARY"],
        )
        stage.drop(conn, checkfirst=True)
        stage.create(conn)
        insert_rows(conn, stage, frame.select([c.name for c in varying]))
        source = stage.alias("s")
    else:
        source = _staged_source(staged, "rows", varying)
    held = target.alias("h")

    def value(column: str) -> ColumnElement[Any]:
        if column in constants:
            return _constant(constants[column], target.c[column])
        return source.c[column]

    on_key = [held.c[k] == value(k) for k in keys]
    values = [value(c) for c in columns]
    shared: Sequence[Row[Any]] = []
    new_file, inserted = constants.get("file_id"), 0
    if new_file is not None:
        # Rows of a new file: insert every key not held yet first, one key lookup a row. When
        # all were new (a new week's calls), nothing is left to compare (5M calls beside 5M
        # held: 5.5 s saved). Else only the rows whose key another file held are compared and
        # upserted below (the rows just inserted carry the new file's id).
        rows = select(*values).select_from(source)
        insert = _insert_from(conn, target, columns, rows).on_conflict_do_nothing()
        inserted = conn.execute(insert).rowcount
        on_key.append(held.c.file_id != value("file_id"))
    if new_file is None or inserted != height:
        # One pass over the keys already held: the duplicates, and which files hold them.
        held_rows = source.join(held, and_(*on_key))
        duplicate_row = or_(
            held.c.row_hash == value("row_hash"), held.c.exported_at > value("exported_at")
        )
        shared = conn.execute(
            select(held.c.file_id, func.sum(case((duplicate_row, 1), else_=0)))
            .select_from(held_rows)
            .group_by(held.c.file_id)
        ).all()
        rows = select(*values).select_from(source if new_file is None else held_rows)
        conn.execute(_newest_wins(conn, target, keys, rows))
    duplicate = sum(int(n) for _, n in shared)
    if stage is not None:
        stage.drop(conn)
    return Upserted(height - duplicate, duplicate, tuple(sorted(int(f) for f, _ in shared)))


def _constant(value: Any, column: Column[Any]) -> ColumnElement[Any]:
    """A value the same on every row, as a bound parameter of its column's type (a timestamp
    without a time zone is taken as UTC, as `_bulk_frame` takes it)."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return literal(value, column.type)


def replace_partition(
    conn: Connection,
    table: TableOf,
    where: dict[str, Any],
    frame: pl.DataFrame,
    staged: Stage | None = None,
) -> None:
    """Replace every row matching `where` (e.g. one pilot and week) with the frame's rows, or
    with the staged rows (`stage_rows`, attached to this transaction) when `staged`."""
    target = _table(table)
    conn.execute(target.delete().where(and_(*(target.c[k] == v for k, v in where.items()))))
    if staged is not None:
        columns = [c for c in target.columns if c.name in frame.columns]
        source = _staged_source(staged, "rows", columns)
        rows = select(*(source.c[c.name] for c in columns))
        conn.execute(target.insert().from_select([c.name for c in columns], rows))
    else:
        insert_rows(conn, target, frame)
