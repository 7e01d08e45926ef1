"""Warehouse reads into polars frames (SQLite row by row, PostgreSQL through COPY)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
from polars.testing import assert_frame_equal
from sqlalchemy import select

from models.warehouse import Ticket
from pipelines.facts import TICKET_SCHEMA
from pipelines.prepare import row_hash
from pipelines.warehouse.bulk import upsert_newest
from pipelines.warehouse.engine import transaction
from pipelines.warehouse.reads import read_frame

UTC = dt.UTC
TABLE = Ticket.__table__
# More rows than a reader that types each column from its first 1,024 rows sees there, the first
# ones with no agent, solve time or draft flag: such a reader would mistype or refuse the rest.
ROWS = 1_500
FIRST_NULLS = 1_100


def _tickets(pilot: str) -> pl.DataFrame:
    """Tickets with NULL-led text, timestamp and boolean columns, one empty text cell and
    microsecond timestamps, as a prepared tickets file would load them."""
    start = dt.datetime(2026, 11, 9, 7, 0, 0, 123456, tzinfo=UTC)
    created = [start + dt.timedelta(minutes=i) for i in range(ROWS)]
    late = [i >= FIRST_NULLS for i in range(ROWS)]
    frame = pl.DataFrame(
        {
            "pilot": [pilot] * ROWS,
            "ticket_id": [f"T-{100001 + i}" for i in range(ROWS)],
            "created_at": created,
            "solved_at": [
                c + dt.timedelta(hours=1) if x else None for c, x in zip(created, late, strict=True)
            ],
            "status": ["closed" if x else "open" for x in late],
            "category": ["" if i == ROWS - 1 else "password_reset" for i in range(ROWS)],
            "agent": [f"Agent {i % 7}" if x else None for i, x in enumerate(late)],
            "ai_draft_used": [(i % 2 == 0) if x else None for i, x in enumerate(late)],
            "draft_outcome": ["edited, then sent" if x else None for x in late],
            "reopened": [i % 3 if x else None for i, x in enumerate(late)],
            "escalated": [False] * ROWS,
            "handle_minutes": [i / 8 if x else None for i, x in enumerate(late)],
            "contact_count": [1] * ROWS,
            "handed_off_at": [None] * ROWS,
            "first_human_action_at": [None] * ROWS,
        },
        schema=TICKET_SCHEMA | {"pilot": pl.String},
    )
    content = [c for c in TICKET_SCHEMA if c != "ticket_id"]
    return frame.with_columns(
        pl.lit(1).alias("file_id"),
        pl.lit(start, dtype=pl.Datetime("us", "UTC")).alias("exported_at"),
        row_hash(frame, content).alias("row_hash"),
    )


def _select(pilot: str, since: dt.datetime):
    return (
        select(*(TABLE.c[c] for c in TICKET_SCHEMA))
        .where(TABLE.c.pilot == pilot, TABLE.c.created_at >= since)
        .order_by(TABLE.c.ticket_id)
    )


def test_read_frame_types_every_column_as_the_schema_says(warehouse_url: str) -> None:
    """It returns committed rows with NULL-led text, boolean and timestamp columns, empty text
    and microseconds exactly as stored, filtered by a bound timestamp given in another zone."""
    tickets = _tickets("p1")
    with transaction(warehouse_url) as conn:
        upsert_newest(conn, Ticket, tickets)
    # 08:00:00.123456 in Berlin is 07:00:00.123456 UTC, the first ticket's creation.
    since = dt.datetime(2026, 11, 9, 8, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Berlin"))
    with transaction(warehouse_url) as conn:
        read = read_frame(conn, _select("p1", since), schema=TICKET_SCHEMA)
    assert read.schema == pl.Schema(TICKET_SCHEMA)
    assert_frame_equal(read, tickets.select(list(TICKET_SCHEMA)))
    assert read.get_column("category")[-1] == ""
    assert read.get_column("agent").null_count() == FIRST_NULLS


def test_read_frame_sees_its_own_transactions_writes(warehouse_url: str) -> None:
    """It reads rows written earlier in the same, not yet committed, transaction."""
    tickets = _tickets("p2")
    with transaction(warehouse_url) as conn:
        upsert_newest(conn, Ticket, tickets)
        read = read_frame(conn, _select("p2", dt.datetime(2026, 1, 1, tzinfo=UTC)), TICKET_SCHEMA)
    assert_frame_equal(read, tickets.select(list(TICKET_SCHEMA)))


def test_read_frame_of_no_rows_keeps_the_schema(warehouse_url: str) -> None:
    """It returns an empty frame with the schema's column types when nothing matches."""
    with transaction(warehouse_url) as conn:
        upsert_newest(conn, Ticket, _tickets("p3"))
    with transaction(warehouse_url) as conn:
        read = read_frame(
            conn, _select("nobody", dt.datetime(2026, 1, 1, tzinfo=UTC)), TICKET_SCHEMA
        )
    assert read.height == 0
    assert read.schema == pl.Schema(TICKET_SCHEMA)
