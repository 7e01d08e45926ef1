"""Warehouse upkeep around runs: a killed run's staging files go at the next run's start, and a
completed run leaves the whole SQLite warehouse in its `.db` file."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from models.warehouse import Run
from pipelines.warehouse.engine import (
    checkpoint_and_truncate,
    dispose_engines,
    make_engine,
    stage_file_name,
    transaction,
)


def _ended_process_id() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_runs_staging_files_are_removed_when_the_warehouse_is_next_opened(
    tmp_path: Path,
) -> None:
    """It deletes the staging files of a process that no longer runs (and unnamed ones older than
    an hour) when a run opens the warehouse, and keeps those a live load is writing."""
    database = tmp_path / "warehouse.db"
    killed = tmp_path / stage_file_name(database, _ended_process_id())
    live = tmp_path / stage_file_name(database, os.getpid())
    old_unnamed = tmp_path / f".{database.name}.stage-0123456789ab"
    new_unnamed = tmp_path / f".{database.name}.stage-ba9876543210"
    other_warehouse = tmp_path / stage_file_name(tmp_path / "other.db", _ended_process_id())
    for path in (killed, live, old_unnamed, new_unnamed, other_warehouse):
        path.write_bytes(b"x" * 1000)
    hour_ago = time.time() - 3700
    os.utime(old_unnamed, (hour_ago, hour_ago))
    try:
        make_engine(f"sqlite:///{database.as_posix()}")
        assert not killed.exists() and not old_unnamed.exists()
        assert live.exists() and new_unnamed.exists() and other_warehouse.exists()
    finally:
        dispose_engines()


def test_a_completed_run_leaves_the_whole_warehouse_in_its_db_file(tmp_path: Path) -> None:
    """It copies the write-ahead log into the database file and empties it, so a backup copying
    the `.db` file alone holds every row."""
    database = tmp_path / "warehouse.db"
    url = f"sqlite:///{database.as_posix()}"
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")  # as a large staged load leaves it
        conn.commit()
        rows = [
            {"id": f"run-{i}", "pilot": "p", "week": "2026-W45", "status": "completed"}
            for i in range(2000)
        ]
        started = dt.datetime.now(dt.UTC)
        conn.execute(Run.__table__.insert(), [{**r, "started_at": started} for r in rows])
        conn.commit()
    wal = database.with_name(database.name + "-wal")
    assert wal.stat().st_size > 0
    checkpoint_and_truncate(url)
    assert not wal.exists() or wal.stat().st_size == 0
    backup = tmp_path / "backup.db"
    shutil.copyfile(database, backup)  # the .db file only
    with sqlite3.connect(backup) as copy:
        assert copy.execute("SELECT count(*) FROM run").fetchone() == (2000,)
    with transaction(url) as conn:
        assert len(conn.execute(select(Run.__table__.c.id)).fetchall()) == 2000
    dispose_engines()
