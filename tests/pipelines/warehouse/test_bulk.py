"""Bulk upserts into the warehouse (SQLite and PostgreSQL): duplicates, newest export wins."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from sqlalchemy import String, cast, select

import pipelines.warehouse.bulk as db
from models.warehouse import ChangeEntry, Ticket
from pipelines.prepare import row_hash
from pipelines.warehouse.bulk import upsert_newest
from pipelines.warehouse.engine import transaction
from pipelines.warehouse.reads import read_frame, table_counts

UTC = dt.UTC
OLD = dt.datetime(2026, 7, 1, 8, tzinfo=UTC)
NEW = dt.datetime(2026, 7, 8, 8, tzinfo=UTC)
TABLE = ChangeEntry.__table__


def _changes(
    rows: list[tuple[str, str]], file_id: int, exported_at: dt.datetime, pilot: str = "p1"
) -> pl.DataFrame:
    """Change rows (version, description) as a prepared file would load them."""
    frame = pl.DataFrame(
        {
            "pilot": [pilot] * len(rows),
            "kind": ["prompt"] * len(rows),
            "version": [v for v, _ in rows],
            "changed_at": [dt.datetime(2026, 6, 30, 10, tzinfo=UTC)] * len(rows),
            "approved_by": ["Ana Ruiz"] * len(rows),
            "description": [d for _, d in rows],
        },
        schema_overrides={"changed_at": pl.Datetime("us", "UTC")},
    )
    content = ["kind", "version", "changed_at", "approved_by", "description"]
    return frame.with_columns(
        pl.lit(file_id).alias("file_id"),
        pl.lit(exported_at, dtype=pl.Datetime("us", "UTC")).alias("exported_at"),
        row_hash(frame, content).alias("row_hash"),
    )


def _load(url: str, frame: pl.DataFrame) -> tuple[int, int]:
    with transaction(url) as conn:
        return upsert_newest(conn, ChangeEntry, frame)[:2]


def _stored(url: str) -> dict[tuple[str, str], tuple[str, int, dt.datetime]]:
    with transaction(url) as conn:
        frame = read_frame(
            conn,
            select(
                TABLE.c.pilot,
                TABLE.c.version,
                TABLE.c.description,
                TABLE.c.file_id,
                TABLE.c.exported_at,
            ),
        )
    return {(p, v): (d, f, e) for p, v, d, f, e in frame.iter_rows()}


FIRST = [("v1", "first prompt"), ("v2", "shorter replies"), ("v3", "tone fix")]


def test_loading_the_same_rows_twice_counts_duplicates(warehouse_url: str) -> None:
    """It loads new rows, then counts the same rows as duplicates and leaves the table as it was."""
    assert _load(warehouse_url, _changes(FIRST, file_id=1, exported_at=OLD)) == (3, 0)
    before = _stored(warehouse_url)
    assert _load(warehouse_url, _changes(FIRST, file_id=2, exported_at=OLD)) == (0, 3)
    assert table_counts(warehouse_url, ["change_entry"]) == {"change_entry": 3}
    assert _stored(warehouse_url) == before


def test_same_content_in_a_newer_export_is_a_duplicate(warehouse_url: str) -> None:
    """It counts an identical row from a newer file as a duplicate and records the newer
    export as its source (so an older export arriving later cannot win)."""
    _load(warehouse_url, _changes(FIRST, file_id=1, exported_at=OLD))
    assert _load(warehouse_url, _changes(FIRST, file_id=2, exported_at=NEW)) == (0, 3)
    assert {(f, e) for _, f, e in _stored(warehouse_url).values()} == {(2, NEW)}
    assert _load(warehouse_url, _changes(FIRST, file_id=3, exported_at=OLD)) == (0, 3)
    assert {(f, e) for _, f, e in _stored(warehouse_url).values()} == {(2, NEW)}


def test_newer_export_with_changed_content_replaces(warehouse_url: str) -> None:
    """It replaces a row when a newer export brings different content for its key."""
    _load(warehouse_url, _changes(FIRST, file_id=1, exported_at=OLD))
    changed = [("v2", "shorter replies, approved again"), ("v3", "tone fix")]
    assert _load(warehouse_url, _changes(changed, file_id=2, exported_at=NEW)) == (1, 1)
    stored = _stored(warehouse_url)
    assert len(stored) == 3
    assert stored[("p1", "v2")] == ("shorter replies, approved again", 2, NEW)
    assert stored[("p1", "v1")] == ("first prompt", 1, OLD)
    assert stored[("p1", "v3")] == ("tone fix", 2, NEW)  # same content, newer export


def test_older_export_with_changed_content_does_not_replace(warehouse_url: str) -> None:
    """It keeps the newer row and counts an older export's different content as a duplicate."""
    _load(warehouse_url, _changes(FIRST, file_id=1, exported_at=NEW))
    stale = [("v2", "draft wording from last week")]
    assert _load(warehouse_url, _changes(stale, file_id=2, exported_at=OLD)) == (0, 1)
    assert _stored(warehouse_url)[("p1", "v2")] == ("shorter replies", 1, NEW)


def test_new_keys_load_next_to_duplicates(warehouse_url: str) -> None:
    """It loads new keys and counts known ones in the same batch; other pilots' keys are separate."""
    _load(warehouse_url, _changes(FIRST, file_id=1, exported_at=OLD))
    batch = _changes([("v1", "first prompt"), ("v4", "new prompt")], file_id=2, exported_at=NEW)
    assert _load(warehouse_url, batch) == (1, 1)
    other = _changes([("v1", "first prompt")], file_id=3, exported_at=OLD, pilot="p2")
    assert _load(warehouse_url, other) == (1, 0)
    assert sorted(_stored(warehouse_url)) == [
        ("p1", "v1"),
        ("p1", "v2"),
        ("p1", "v3"),
        ("p1", "v4"),
        ("p2", "v1"),
    ]


def _load_file(url: str, frame: pl.DataFrame) -> tuple[int, int, tuple[int, ...]]:
    """Load as a file is loaded: file id, pilot and export time given once, as constants."""
    constants = {c: frame[c][0] for c in ("file_id", "pilot", "exported_at")}
    with transaction(url) as conn:
        return tuple(upsert_newest(conn, ChangeEntry, frame.drop(*constants), None, constants))


def test_a_file_loads_as_its_rows_do(warehouse_url: str) -> None:
    """It counts and stores a file's rows given with constants as it does the same rows given
    whole: new keys, duplicates, newer and older changed content, the files sharing keys."""
    exports = [
        (1, OLD, FIRST),
        (2, NEW, [("v1", "first prompt"), ("v2", "longer replies"), ("v4", "new prompt")]),
        (3, OLD - dt.timedelta(days=7), [("v3", "tone fix, older export"), ("v5", "another")]),
        (4, NEW, [("v4", "new prompt"), ("v6", "last")]),
    ]
    counts = {}
    for pilot, load in (("rows", _load), ("file", _load_file)):
        counts[pilot] = [
            load(warehouse_url, _changes(rows, file_id, exported, pilot=pilot))[:2]
            for file_id, exported, rows in exports
        ]
    assert counts["file"] == counts["rows"] == [(3, 0), (2, 1), (1, 1), (1, 1)]
    stored = _stored(warehouse_url)
    by_pilot = {
        pilot: {v: kept for (p, v), kept in stored.items() if p == pilot} for pilot in counts
    }
    assert by_pilot["file"] == by_pilot["rows"]
    assert by_pilot["file"]["v2"][:2] == ("longer replies", 2)  # the newer content won
    assert by_pilot["file"]["v3"][:2] == ("tone fix", 1)  # the older export did not


def test_a_file_of_new_keys_shares_no_file(warehouse_url: str) -> None:
    """It loads a file of keys not held yet with no duplicate and no file sharing its keys, and
    names the files that held keys of a later file."""
    _load_file(warehouse_url, _changes(FIRST, file_id=1, exported_at=OLD))
    fresh = _changes([("v7", "x"), ("v8", "y")], file_id=2, exported_at=NEW)
    assert _load_file(warehouse_url, fresh) == (2, 0, ())
    again = _changes([("v2", "changed"), ("v8", "y"), ("v9", "z")], file_id=3, exported_at=NEW)
    assert _load_file(warehouse_url, again) == (2, 1, (1, 2))


def test_a_constant_export_time_is_stored_as_the_same_time_on_every_row(
    warehouse_url: str,
) -> None:
    """It stores an export time given once, in any time zone, exactly as it stores the same
    instant given on every row."""
    given_once = {"exported_at": NEW.astimezone(ZoneInfo("Europe/Berlin")), "pilot": "file"}
    for pilot, constants in (("rows", {}), ("file", given_once)):
        _load(warehouse_url, _changes(FIRST, file_id=1, exported_at=OLD, pilot=pilot))
        frame = _changes([("v2", "changed")], file_id=2, exported_at=NEW, pilot=pilot)
        with transaction(warehouse_url) as conn:
            upsert_newest(conn, ChangeEntry, frame.drop(*constants), None, constants)
    with transaction(warehouse_url) as conn:
        stored = conn.execute(
            select(TABLE.c.pilot, cast(TABLE.c.exported_at, String)).where(TABLE.c.version == "v2")
        ).all()
    assert dict(stored)["file"] == dict(stored)["rows"]
    assert _stored(warehouse_url)[("file", "v2")] == ("changed", 2, NEW)


def test_staged_rows_are_in_key_order(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """It stages rows sorted by the table's key, across all the parts, whatever their order."""
    import sqlite3

    monkeypatch.setattr(db, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(db, "STAGE_PARALLEL_ROWS", 1)
    monkeypatch.setattr(db, "STAGE_PARTS", 3)
    monkeypatch.setattr(db, "STAGE_BATCH_ROWS", 4)
    versions = [f"v{(i * 7919) % 101:03d}" for i in range(101)]  # every number once, shuffled
    frame = _changes([(v, f"text {v}") for v in versions], file_id=1, exported_at=OLD)
    stage = db.stage_rows(sqlite_url, ChangeEntry, frame)
    assert stage is not None and len(stage.files) == 3
    try:
        staged = []
        for path in stage.files:
            with sqlite3.connect(path) as part:
                staged += part.execute("SELECT version, description FROM rows ORDER BY rowid")
    finally:
        db.drop_stage(stage)
    assert staged == [(v, f"text {v}") for v in sorted(versions)]


def test_text_keys_are_put_in_order_by_their_bytes_after_the_shared_prefix() -> None:
    """It orders text keys by the 8 bytes after the prefix they share (exactly, where those
    bytes differ; keys equal on them stay together), with nulls first."""
    differing = ["chatcmpl-b7", "chatcmpl-a", "chatcmpl-é1", "chatcmpl-", None, "chatcmpl-ab"]
    keys = pl.Series(differing)
    assert keys.gather(db._nearly_sorted(keys)).to_list() == [
        None,
        "chatcmpl-",
        "chatcmpl-a",
        "chatcmpl-ab",
        "chatcmpl-b7",
        "chatcmpl-é1",
    ]
    # Equal on the 8 characters after "id-": together, in any order among themselves.
    tied = pl.Series(["id-00000001z", "id-00000000b", "id-00000001a", "id-00000000a"])
    ordered = tied.gather(db._nearly_sorted(tied)).to_list()
    assert sorted(ordered[:2]) == ["id-00000000a", "id-00000000b"]
    assert sorted(ordered[2:]) == ["id-00000001a", "id-00000001z"]


def test_empty_frame_loads_nothing(warehouse_url: str) -> None:
    """It returns zero counts for an empty frame."""
    assert _load(warehouse_url, _changes([], file_id=1, exported_at=OLD)) == (0, 0)
    assert table_counts(warehouse_url, ["change_entry"]) == {"change_entry": 0}


def test_timestamps_round_trip_as_utc(warehouse_url: str) -> None:
    """It stores and reads back timestamps as the same UTC instants."""
    _load(warehouse_url, _changes(FIRST[:1], file_id=1, exported_at=NEW))
    with transaction(warehouse_url) as conn:
        [(changed_at, exported_at)] = read_frame(
            conn, select(TABLE.c.changed_at, TABLE.c.exported_at)
        ).rows()
    assert changed_at == dt.datetime(2026, 6, 30, 10, tzinfo=UTC)
    assert exported_at == NEW


def test_failed_transaction_loads_nothing(warehouse_url: str) -> None:
    """It rolls the whole upsert back when the transaction fails, so a file is all or nothing."""
    with pytest.raises(RuntimeError), transaction(warehouse_url) as conn:
        upsert_newest(conn, ChangeEntry, _changes(FIRST, file_id=1, exported_at=OLD))
        raise RuntimeError("stage failed")
    assert table_counts(warehouse_url, ["change_entry"]) == {"change_entry": 0}
    assert _load(warehouse_url, _changes(FIRST, file_id=1, exported_at=OLD)) == (3, 0)


def test_every_cell_type_round_trips(warehouse_url: str) -> None:
    """It stores text with quotes, commas and newlines, nulls, booleans, ints and floats exactly."""
    frame = pl.DataFrame(
        {
            "pilot": ["p1"] * 3,
            "ticket_id": ["t1", 't"2,', "t\n3"],
            "created_at": [dt.datetime(2026, 7, 1, 10, 0, 0, 123456, tzinfo=UTC)] * 3,
            "solved_at": [dt.datetime(2026, 7, 1, 11, tzinfo=UTC), None, None],
            "status": ["solved"] * 3,
            "category": ['a "quoted", \\N value', "", "naïve €\r\nx"],
            "agent": [None, "\\N", "NULL"],
            "ai_draft_used": [True, False, True],
            "draft_outcome": [None, "edited", None],
            "reopened": [0, None, 3],
            "escalated": [None, True, False],
            "handle_minutes": [0.1 + 0.2, 1 / 3, 1e-17],
            "contact_count": [None, 2, None],
            "handed_off_at": [None, dt.datetime(2026, 7, 1, 10, 30, tzinfo=UTC), None],
            "first_human_action_at": [None, dt.datetime(2026, 7, 1, 11, 5, tzinfo=UTC), None],
            "file_id": [1] * 3,
            "exported_at": [NEW] * 3,
            "row_hash": ["h1", "h2", "h3"],
        },
        schema_overrides={
            "created_at": pl.Datetime("us", "UTC"),
            "solved_at": pl.Datetime("us", "UTC"),
            "handed_off_at": pl.Datetime("us", "UTC"),
            "first_human_action_at": pl.Datetime("us", "UTC"),
            "exported_at": pl.Datetime("us", "UTC"),
        },
    )
    with transaction(warehouse_url) as conn:
        assert upsert_newest(conn, Ticket, frame)[:2] == (3, 0)
        table = Ticket.__table__
        stored = read_frame(
            conn,
            select(*(table.c[c] for c in frame.columns)).order_by(table.c.ticket_id),
            schema=frame.schema,
        )
    assert stored.rows() == frame.sort("ticket_id").rows()


def test_keys_stored_by_another_writer_during_a_load_are_upserted(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It upserts (newest export wins, counted as a duplicate) when another writer commits one
    of the file's keys just before the file's rows are copied straight into the table
    (PostgreSQL, where a file of new keys loads by COPY; SQLite allows one writer at a time)."""
    import pipelines.warehouse.bulk as db
    import pipelines.warehouse.engine as engine

    real_copy = db._copy_into
    others = _changes([("v2", "stored meanwhile")], file_id=9, exported_at=NEW)

    def another_writer_first(conn: object, table: object, *rows: object) -> None:
        if getattr(table, "name", "") == "change_entry":
            monkeypatch.setattr(db, "_copy_into", real_copy)
            with engine.make_engine(postgres_url).connect() as other:  # its own transaction
                upsert_newest(other, ChangeEntry, others)
                other.commit()
        real_copy(conn, table, *rows)

    monkeypatch.setattr(db, "_copy_into", another_writer_first)
    loaded = _load(postgres_url, _changes(FIRST, file_id=1, exported_at=OLD))
    stored = _stored(postgres_url)
    assert stored[("p1", "v2")] == ("stored meanwhile", 9, NEW)  # the newer export stays
    assert stored[("p1", "v1")] == ("first prompt", 1, OLD)
    assert len(stored) == 3
    assert loaded == (2, 1)
