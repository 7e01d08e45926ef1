"""PostgreSQL's bulk path: rows copied in the binary format store the cells the CSV COPY stores."""

from __future__ import annotations

import datetime as dt

import polars as pl
import psycopg
import pytest
from sqlalchemy import Connection, select

import pipelines.warehouse.bulk as db
from models.warehouse import Ticket, UsageCall
from pipelines.warehouse.engine import transaction
from pipelines.warehouse.reads import read_frame

TABLE = Ticket.__table__


def _tickets() -> pl.DataFrame:
    """Tickets as a caller may hand them: a naive timestamp column (taken as UTC), another in a
    zone other than UTC, integers wider than their columns, a float column of integers, and
    text with quotes, commas, newlines, backslashes and non-ASCII characters."""
    return pl.DataFrame(
        {
            "pilot": ["p1"] * 3,
            "ticket_id": ["t1", 't"2,', "t\n3"],
            "created_at": [dt.datetime(2026, 7, 1, 10, 0, 0, 123456)] * 3,
            "solved_at": [dt.datetime(2026, 7, 1, 13, tzinfo=dt.UTC), None, None],
            "status": ["solved"] * 3,
            "category": ['a "quoted", \\N value', "", "naïve €\r\nx"],
            "agent": [None, "\\N", "NULL"],
            "ai_draft_used": [True, False, None],
            "reopened": [0, None, 2**31 - 1],
            "escalated": [None, True, False],
            "handle_minutes": [3, None, -7],
            "contact_count": [None, 2, None],
            "file_id": [1] * 3,
            "exported_at": [dt.datetime(2026, 7, 8, 8, tzinfo=dt.UTC)] * 3,
            "row_hash": ["h1", "h2", "h3"],
        },
        schema_overrides={
            "solved_at": pl.Datetime("us", "Europe/Madrid"),
            "reopened": pl.Int64,
            "handle_minutes": pl.Int64,
            "contact_count": pl.UInt8,
        },
    )


def _stored(conn: Connection) -> list[tuple[object, ...]]:
    columns = [TABLE.c[c] for c in _tickets().columns]
    return read_frame(conn, select(*columns).order_by(TABLE.c.ticket_id)).rows()


def test_binary_copy_stores_what_the_csv_copy_stores(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It copies a frame in the binary format (every column has a binary form) and stores the
    same cells as the CSV COPY: naive timestamps as UTC, zoned ones at their UTC instant,
    integers and floats given in other polars types at their values."""
    frame = _tickets()
    with transaction(postgres_url) as conn:
        assert db._binary_cells(conn, TABLE, frame) is not None
        db.insert_rows(conn, Ticket, frame)
        binary = _stored(conn)
        conn.rollback()
    monkeypatch.setattr(db, "_binary_cells", lambda *_: None)
    with transaction(postgres_url) as conn:
        db.insert_rows(conn, Ticket, frame)
        text = _stored(conn)
    assert binary == text
    by_id = {row[1]: row for row in binary}
    assert by_id["t1"][2] == dt.datetime(2026, 7, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
    assert by_id["t1"][3] == dt.datetime(2026, 7, 1, 13, tzinfo=dt.UTC)  # 15:00 in Madrid
    assert by_id["t\n3"][8] == 2**31 - 1 and by_id["t\n3"][10] == -7.0


def test_an_integer_too_large_for_its_column_is_refused_by_the_server(postgres_url: str) -> None:
    """It copies a frame whose integer does not fit its column as CSV, so the server refuses
    it as it always did (the transaction, so the file, loads nothing)."""
    frame = _tickets().with_columns(pl.Series("reopened", [0, None, 2**31]))
    with transaction(postgres_url) as conn:
        assert db._binary_cells(conn, TABLE, frame) is None
    with pytest.raises(psycopg.errors.NumericValueOutOfRange), transaction(postgres_url) as conn:
        db.insert_rows(conn, Ticket, frame)


def test_a_key_column_of_one_value_leaves_the_order_to_the_others() -> None:
    """It orders rows for a COPY by the key columns whose values differ (a file's pilot is the
    same on every row), and by every key column when each holds several values."""
    ids = [f"chatcmpl-{(i * 7919) % 101:03d}" for i in range(101)]
    one_pilot = pl.DataFrame({"pilot": ["p1"] * 101, "request_id": ids})
    order = db._copy_order(UsageCall.__table__, one_pilot)
    assert order is not None
    assert one_pilot.get_column("request_id").gather(order).to_list() == sorted(ids)
    two_pilots = pl.DataFrame({"pilot": ["p2", "p1"] * 50 + ["p2"], "request_id": ids})
    order = db._copy_order(UsageCall.__table__, two_pilots)
    assert order is not None
    assert two_pilots[order].rows() == sorted(two_pilots.rows())
