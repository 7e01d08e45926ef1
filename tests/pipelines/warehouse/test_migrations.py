"""Alembic migrations of the warehouse (SQLite and PostgreSQL): real upgrades, legacy stamping."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlmodel import SQLModel

from models.warehouse import MIGRATIONS_DIR as MIGRATIONS
from models.warehouse import (
    IngestedFile,
    Ticket,
    UsageCall,
    UsageSummary,
    UsageTaskSummary,
    WeeklyMetric,
)
from pipelines import usage_summary
from pipelines.warehouse.engine import (
    WarehouseError,
    dispose_engines,
    make_engine,
    migrate,
)

UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[3]
# Made by 0002, 0003, 0004 and 0010.
LATER_TABLES = {
    "email_delivery",
    "week_input_file",
    "provider_cost",
    "ticket_label",
    "usage_summary",
    "usage_task_summary",
}
EXPORTED = dt.datetime(2026, 7, 6, 9, 30, tzinfo=UTC)
# Later columns that old rows get a value in: 0007 counts no skipped rows for older files.
LATER_DEFAULTS = {"rows_skipped": 0, "rows": 0}

ROWS: dict[Any, list[dict[str, Any]]] = {
    IngestedFile: [
        {
            "id": 1,
            "pilot": "p1",
            "source": "usage",
            "path": "inbox/usage.csv",
            "sha256": "ab" * 32,
            "format": "csv",
            "exported_at": EXPORTED,
            "ingested_at": EXPORTED + dt.timedelta(minutes=5),
            "first_seen_week": "2026-W28",
            "status": "loaded",
            "reason": None,
            "rows_read": 2,
            "rows_loaded": 2,
            "rows_quarantined": 0,
            "rows_duplicate": 0,
        }
    ],
    UsageCall: [
        {
            "file_id": 1,
            "exported_at": EXPORTED,
            "row_hash": f"h{n}",
            "pilot": "p1",
            "request_id": f"req-{n}",
            "timestamp": dt.datetime(2026, 7, 6, 8, n, tzinfo=UTC),
            "task_id": "T-1",
            "user": "ana",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "prompt_version": "v3",
            "input_tokens": 1200 + n,
            "output_tokens": 300,
            "cached_input_tokens": None,
            "cost_usd": None,
            "latency_ms": 812.5,
            "status": "ok",
            "model_cost_usd": 0.000375,
            "price_source": "genai-prices",
        }
        for n in range(2)
    ],
    Ticket: [
        {
            "file_id": 2,
            "exported_at": EXPORTED,
            "row_hash": "t1",
            "pilot": "p1",
            "ticket_id": "T-1",
            "created_at": dt.datetime(2026, 7, 6, 7, tzinfo=UTC),
            "solved_at": dt.datetime(2026, 7, 6, 10, tzinfo=UTC),
            "status": "solved",
            "category": "billing",
            "agent": "ana",
            "ai_draft_used": True,
            "draft_outcome": "edited",
            "reopened": 0,
            "escalated": False,
            "handle_minutes": 7.5,
            "contact_count": 2,
        }
    ],
    WeeklyMetric: [
        {
            "pilot": "p1",
            "week": "2026-W28",
            "ai_tasks": 1,
            "total_cost": 0.75,
            "cost_per_task": 0.75,
            "verdict": "continue",
            "metrics_json": '{"ai_tasks": 1}',
            "inputs_json": "[1, 2]",
        }
    ],
}


def _config(conn: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def _upgrade(url: str, revision: str) -> None:
    """Upgrade a database to one revision the way an older release would have left it."""
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)
    engine.dispose()


def _insert_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        for model, rows in ROWS.items():
            # Only the given columns: a later column's Python default must not be written to a
            # table an old revision made without it.
            table = model.__table__
            given = sa.table(table.name, *(sa.column(k, table.c[k].type) for k in rows[0]))
            conn.execute(given.insert(), rows)


def _assert_rows_intact(engine: Engine) -> None:
    with engine.connect() as conn:
        for model, rows in ROWS.items():
            table = model.__table__
            stored = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            # Columns added by later revisions are null (or their server default) on old rows.
            assert [{k: r[k] for k in rows[0]} for r in stored] == rows, table.name
            assert all(
                v == LATER_DEFAULTS.get(k) for r in stored for k, v in r.items() if k not in rows[0]
            )


def _assert_usage_summarized(engine: Engine) -> None:
    """The usage summaries hold the old usage rows, summed per file and 15-minute bucket, and
    per file and task."""
    bucket, task = UsageSummary.__table__, UsageTaskSummary.__table__
    with engine.connect() as conn:
        buckets = conn.execute(select(bucket).order_by(bucket.c.id)).mappings().all()
        tasks = conn.execute(select(task).order_by(task.c.id)).mappings().all()
    assert [
        {k: r[k] for k in ("pilot", "file_id", "bucket_start", "model", "calls")} for r in buckets
    ] == [
        {
            "pilot": "p1",
            "file_id": 1,
            "bucket_start": dt.datetime(2026, 7, 6, 8, tzinfo=UTC),
            "model": "gpt-4o-mini",
            "calls": 2,
        }
    ]
    assert buckets[0]["cost_usd"] == pytest.approx(0.00075)
    keys = ("pilot", "file_id", "task_id", "model", "first_bucket", "last_bucket", "calls")
    assert [{k: r[k] for k in keys} for r in tasks] == [
        {
            "pilot": "p1",
            "file_id": 1,
            "task_id": "T-1",
            "model": "gpt-4o-mini",
            "first_bucket": dt.datetime(2026, 7, 6, 8, tzinfo=UTC),
            "last_bucket": dt.datetime(2026, 7, 6, 8, tzinfo=UTC),
            "calls": 2,
        }
    ]
    assert tasks[0]["cost_usd"] == pytest.approx(0.00075)


def _version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _head() -> str:
    head = ScriptDirectory.from_config(_config(None)).get_current_head()
    assert head is not None
    return head


def test_migrations_match_the_models(warehouse_url: str) -> None:
    """It upgrades an empty warehouse to head and finds no difference from the SQLModel tables."""
    engine = make_engine(warehouse_url)
    assert _version(engine) == _head()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_the_revisions_form_one_line_from_0001() -> None:
    """It finds one head and a single line of revisions that starts 0001, 0002."""
    scripts = ScriptDirectory.from_config(_config(None))
    assert len(scripts.get_heads()) == 1
    line = [s.revision for s in scripts.walk_revisions()][::-1]
    assert line[:2] == ["0001", "0002"]
    assert all(scripts.get_revision(r).down_revision == p for p, r in itertools.pairwise(line))


def test_upgrading_from_0001_keeps_the_rows(warehouse_url: str) -> None:
    """It upgrades a warehouse left at 0001 to head, keeping its rows and adding the new tables."""
    _upgrade(warehouse_url, "0001")
    engine = create_engine(warehouse_url)
    tables = set(inspect(engine).get_table_names())
    assert not tables & LATER_TABLES
    assert set(SQLModel.metadata.tables) - LATER_TABLES <= tables
    _insert_rows(engine)
    engine.dispose()

    engine = make_engine(warehouse_url)
    assert _version(engine) == _head()
    assert set(inspect(engine).get_table_names()) >= LATER_TABLES
    _assert_rows_intact(engine)
    _assert_usage_summarized(engine)
    with engine.begin() as conn:
        conn.execute(
            SQLModel.metadata.tables["week_input_file"].insert(),
            {"pilot": "p1", "week": "2026-W28", "file_id": 1},
        )


@pytest.mark.parametrize("missing", [(), tuple(sorted(LATER_TABLES))], ids=["complete", "older"])
def test_a_create_all_warehouse_is_stamped(warehouse_url: str, missing: tuple[str, ...]) -> None:
    """It stamps a warehouse made by create_all at head, keeping its rows and adding any table it lacks."""
    engine = create_engine(warehouse_url)
    SQLModel.metadata.create_all(
        engine, tables=[t for n, t in SQLModel.metadata.tables.items() if n not in missing]
    )
    _insert_rows(engine)
    engine.dispose()

    engine = make_engine(warehouse_url)
    assert _version(engine) == _head()
    assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    _assert_rows_intact(engine)
    _assert_usage_summarized(engine)


def test_opening_a_migrated_warehouse_again_changes_nothing(warehouse_url: str) -> None:
    """It runs no DDL and writes no version when the warehouse is already at head."""
    make_engine(warehouse_url)
    dispose_engines()
    assert make_engine(warehouse_url) is make_engine(warehouse_url)

    engine = create_engine(warehouse_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    migrate(engine)
    changes = [
        s
        for s in statements
        if s.lstrip().split(None, 1)[0].upper() in {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE"}
    ]
    assert changes == []
    assert _version(engine) == _head()
    engine.dispose()


def test_threads_opening_new_warehouses_at_once_all_migrate(
    warehouse_url: str, tmp_path: Path
) -> None:
    """It migrates warehouses opened together by several threads, two of them the same one."""
    urls = [warehouse_url, warehouse_url] + [
        f"sqlite:///{(tmp_path / f'other{n}.db').as_posix()}" for n in range(3)
    ]
    engines = [create_engine(url) for url in urls]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def open_one(engine: Engine) -> None:
        try:
            start.wait(timeout=30)
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(e,), daemon=True) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a migration is stuck"
    assert errors == []
    assert {_version(e) for e in engines} == {_head()}
    for engine in engines:
        engine.dispose()


OPEN_AFTER_BARRIER = """
import sys, time
from pathlib import Path
from pipelines.warehouse.engine import make_engine
url, folder, me, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
(folder / me).touch()
deadline = time.monotonic() + 30
while len(list(folder.iterdir())) < count and time.monotonic() < deadline:
    time.sleep(0.005)
make_engine(url)
"""


def test_processes_opening_one_new_warehouse_migrate_it_once(
    warehouse_url: str, tmp_path: Path
) -> None:
    """It lets several processes, released together, migrate the same new warehouse without a clash."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    count = 2
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                OPEN_AFTER_BARRIER,
                warehouse_url,
                str(barrier),
                str(n),
                str(count),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(count)
    ]
    outputs = []
    for process in processes:
        try:
            outputs.append(process.communicate(timeout=90)[0])
        except subprocess.TimeoutExpired:
            for other in processes:
                other.kill()
            pytest.fail("a migrating process is stuck")
    assert [p.returncode for p in processes] == [0] * count, outputs
    assert outputs == [""] * count
    engine = create_engine(warehouse_url)
    assert _version(engine) == _head()
    engine.dispose()


def test_a_warehouse_from_a_newer_release_is_refused(sqlite_url: str) -> None:
    """It raises WarehouseError naming the unknown revision instead of touching the warehouse."""
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    dispose_engines()
    with pytest.raises(WarehouseError, match="0099"):
        make_engine(sqlite_url)


def test_migrations_need_no_ini_file_and_print_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """It migrates from any working directory without alembic.ini and logs nothing below WARNING."""
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stdout)
    monkeypatch.setattr(root, "level", logging.DEBUG)
    root.addHandler(handler)
    try:
        engine = make_engine(f"sqlite:///{(tmp_path / 'w.db').as_posix()}")
    finally:
        root.removeHandler(handler)
        dispose_engines()
    assert _version(engine) == _head()
    assert not (tmp_path / "alembic.ini").exists()
    out, err = capfd.readouterr()
    assert "alembic" not in out + err


# Calls over two weeks, around the bounds of buckets and weeks, in several tasks (one missing),
# files and models: what 0010 must sum per bucket, as the store stage sums a file's buckets.
SPREAD_STAMPS = (
    "2026-07-05 09:44:59.999999",  # Sunday
    "2026-07-05 09:59:59.999999",
    "2026-07-05 10:00:00",
    "2026-07-05 23:30:00.5",
    "2026-07-06 11:59:59",  # Monday
    "2026-07-06 12:00:00",
    "2026-07-08 17:20:00",
    "2026-07-12 09:50:00",
    "2026-07-13 00:05:00",
)


def _spread_calls() -> list[dict[str, Any]]:
    template = ROWS[UsageCall][0]
    return [
        {
            **template,
            "file_id": 1 + n % 2,
            "request_id": f"spread-{n}",
            "timestamp": dt.datetime.fromisoformat(stamp).replace(tzinfo=UTC),
            "task_id": None if n % 4 == 3 else f"T-{n % 3}",
            "model": ("gpt-4o-mini", "gpt-4o")[n % 2],
            "model_cost_usd": 0.001 * (n + 1),
        }
        for n, stamp in enumerate(SPREAD_STAMPS * 3)
    ]


def test_upgrading_from_0009_sums_the_calls_per_bucket(warehouse_url: str) -> None:
    """It refills both usage summaries from the calls held, per bucket as the store stage sums
    them (the task rows one per bucket too)."""
    _upgrade(warehouse_url, "0009_i22")
    engine = create_engine(warehouse_url)
    calls = _spread_calls()
    with engine.begin() as conn:
        table = UsageCall.__table__
        given = sa.table(table.name, *(sa.column(k, table.c[k].type) for k in calls[0]))
        conn.execute(given.insert(), calls)
    engine.dispose()

    engine = make_engine(warehouse_url)
    assert _version(engine) == _head()
    frame = pl.DataFrame(calls).with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))
    summary = usage_summary.summarize(frame)
    groups = ("file_id", "model", "prompt_version", "status", "price_source")
    expected_buckets = pl.concat(
        usage_summary.bucket_rows(usage_summary.summarize(part)).with_columns(
            pl.lit(file_id).alias("file_id")
        )
        for (file_id,), part in frame.group_by("file_id")
    )
    expected_tasks = pl.concat(  # a row per bucket: SQL does not know the pilot's weeks
        usage_summary.summarize(part).with_columns(
            pl.lit(file_id).alias("file_id"),
            pl.col("bucket_start").alias("first_bucket"),
            pl.col("bucket_start").alias("last_bucket"),
        )
        for (file_id,), part in frame.group_by("file_id")
    )
    assert summary["calls"].sum() == len(calls)
    with engine.connect() as conn:
        for model, expected, order in (
            (UsageSummary, expected_buckets, ("bucket_start", *groups)),
            (UsageTaskSummary, expected_tasks, ("first_bucket", "last_bucket", "task_id", *groups)),
        ):
            table = model.__table__
            columns = [c for c in expected.columns if c in table.c]
            stored = pl.DataFrame(
                [tuple(r) for r in conn.execute(select(*(table.c[c] for c in columns)))],
                schema=expected.select(columns).schema,
                orient="row",
            )
            want = expected.select(columns).sort(order, nulls_last=False)
            got = stored.sort(order, nulls_last=False)
            assert got.drop("cost_usd").equals(want.drop("cost_usd")), table.name
            assert got["cost_usd"].to_list() == pytest.approx(want["cost_usd"].to_list())
