"""Loading files into the warehouse: the SQLite bulk path through an ADBC staging file gives the
same rows and counts as the row path, and leaves no staging file behind."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from sqlalchemy import Connection, inspect, select

import flows.ingest
import pipelines.warehouse.bulk as db
from checks.rules.catalog import quarantine_ratio
from flows.ingest import ingest_inbox, load_order, prepared_in_order
from models.operating_model import OperatingModel
from models.results import Week
from models.warehouse import UsageCall, UsageSummary
from pipelines.input_stats import snapshot_week_inputs, week_input_stats
from pipelines.prepare import InboxFile, PreparedFile, list_inbox
from pipelines.warehouse.engine import dispose_engines, make_engine, transaction

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
W41 = Week.parse("2026-W41", "Europe/Berlin")
HEADER = "request_id,timestamp,model,input_tokens,output_tokens,cost_usd,status\n"


def _usage(path: Path, ids: range, cost: float, mtime: int) -> None:
    lines = [f"r{i},2026-10-05T10:00:00Z,gpt-4o,100,{i % 50},{cost},ok\n" for i in ids]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(lines) + "bad,not-a-time,gpt-4o,1,1,0.1,ok\n")
    os.utime(path, (mtime, mtime))


def _load(
    tmp_path: Path, name: str, operating_model: OperatingModel
) -> tuple[list, pl.DataFrame, set]:
    """Ingest two overlapping exports (the second newer) and return counts, rows, tables."""
    inbox = tmp_path / name / "inbox"
    _usage(inbox / "usage" / "a.csv", range(0, 30), 0.5, 1_760_000_000)
    _usage(inbox / "usage" / "b.csv", range(20, 45), 0.7, 1_760_100_000)
    url = f"sqlite:///{tmp_path / name / 'w.db'}"
    files = ingest_inbox(url, operating_model, inbox, W41, NOW)
    with transaction(url) as conn:
        table = UsageCall.__table__
        rows = pl.DataFrame(
            [
                dict(r._mapping)
                for r in conn.execute(
                    select(table.c.request_id, table.c.cost_usd, table.c.file_id).order_by(
                        table.c.request_id
                    )
                )
            ]
        )
        summary = table_rows(conn, UsageSummary, "file_id", "bucket_start", "calls", "cost_usd")
    tables = set(inspect(make_engine(url)).get_table_names())
    tables |= {p.name for p in (tmp_path / name).iterdir()}
    dispose_engines()
    counts = [
        (f.path, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate) for f in files
    ]
    return counts, rows, tables, summary


def table_rows(conn: Connection, model: type, *columns: str) -> list[tuple]:
    table = model.__table__  # type: ignore[attr-defined]
    order = [table.c[c] for c in columns]
    return [tuple(r) for r in conn.execute(select(*order).order_by(*order))]


@pytest.mark.parametrize("parts", [1, 3])
def test_staged_loads_match_row_loads(
    tmp_path: Path, example_model: OperatingModel, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    """It loads the same rows, counts and usage summary whether the rows are staged (in one file
    or in parts written at once) or not."""
    by_rows = _load(tmp_path, "rows", example_model)
    monkeypatch.setattr(db, "STAGE_MIN_ROWS", 1)
    monkeypatch.setattr(db, "STAGE_PARALLEL_ROWS", 1)
    monkeypatch.setattr(db, "STAGE_PARTS", parts)
    staged = _load(tmp_path, "staged", example_model)
    assert (
        staged[0]
        == by_rows[0]
        == [
            ("usage/a.csv", 31, 30, 1, 0),
            ("usage/b.csv", 26, 25, 1, 0),
        ]
    )
    assert staged[1].equals(by_rows[1])
    assert staged[1].filter(pl.col("request_id") == "r25").get_column("cost_usd").to_list() == [0.7]
    assert staged[2] == by_rows[2]  # same tables, and no staging file left beside the warehouse
    assert staged[3] == by_rows[3]
    assert [(f, n) for f, _, n, _ in staged[3]] == [(1, 20), (2, 25)]  # b took r20-r29 from a


def test_a_failed_load_drops_its_staging_table(
    tmp_path: Path, example_model: OperatingModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It refuses a file whose rows cannot be stored and leaves no staging file behind."""
    monkeypatch.setattr(db, "STAGE_MIN_ROWS", 1)

    def broken(*args: object, **kwargs: object) -> tuple[int, int]:
        raise RuntimeError("disk trouble")

    monkeypatch.setattr("pipelines.store.upsert_newest", broken)
    inbox = tmp_path / "inbox"
    _usage(inbox / "usage" / "a.csv", range(0, 5), 0.5, 1_760_000_000)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    (record,) = ingest_inbox(url, example_model, inbox, W41, NOW)
    assert record.status == "refused"
    assert "disk trouble" in (record.reason or "")
    dispose_engines()
    assert not [p.name for p in tmp_path.iterdir() if ".stage-" in p.name]


def test_staged_task_facts_match_row_inserts(
    tmp_path: Path, example_model: OperatingModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It stores the same task facts and metrics whether the facts are staged or inserted."""
    import shutil

    from models.warehouse import TaskFact
    from pipelines.demo.canonical import generate_inbox
    from pipelines.metrics import store_week_metrics

    exports = generate_inbox(tmp_path / "exports", weeks=2, seed=2)
    week = Week.parse(exports.weeks[-1], example_model.timezone)
    stored = []
    for name, threshold in (("rows", 10**9), ("staged", 1)):
        monkeypatch.setattr(db, "STAGE_MIN_ROWS", threshold)
        inbox = tmp_path / name / "inbox"
        shutil.copytree(exports.root, inbox, copy_function=shutil.copy2)
        url = f"sqlite:///{tmp_path / name / 'w.db'}"
        ingest_inbox(url, example_model, inbox, week)
        metrics = store_week_metrics(url, example_model, week).metrics
        with transaction(url) as conn:
            table = TaskFact.__table__
            facts = [
                dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.ticket_id))
            ]
        dispose_engines()
        stored.append((metrics, facts))
    assert stored[0][1] and stored[0] == stored[1]
    assert not [p for p in (tmp_path / "staged").iterdir() if ".stage-" in p.name]


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_files_are_read_ahead_within_the_row_budget_and_come_in_order(
    tmp_path: Path, example_model: OperatingModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It prepares the next files while the caller holds one, stops at the row budget, keeps order."""
    inbox = tmp_path / "inbox"
    for n, name in enumerate("abcd"):
        _usage(inbox / "usage" / f"{name}.csv", range(n * 10, n * 10 + 2), 0.5, 1_760_000_000 + n)
    files = list_inbox(inbox)
    prepared_names: list[str] = []
    real_prepare = flows.ingest.prepare_file

    def recording(file: InboxFile, *args: object) -> PreparedFile:
        prepared_names.append(file.path.name)
        return real_prepare(file, *args)

    monkeypatch.setattr(flows.ingest, "prepare_file", recording)
    monkeypatch.setattr(flows.ingest, "READ_AHEAD_ROWS", 5)  # each file has 3 rows
    stream = prepared_in_order(files, example_model, NOW)
    first = next(stream)
    # a is taken; b (3 rows ahead) and c (6 ahead, over the budget) are read, d waits.
    _wait_for(lambda: len(prepared_names) == 3)
    time.sleep(0.3)
    assert prepared_names == ["a.csv", "b.csv", "c.csv"]
    rest = list(stream)
    assert [p.file.path.name for p in [first, *rest]] == ["a.csv", "b.csv", "c.csv", "d.csv"]
    assert prepared_names == ["a.csv", "b.csv", "c.csv", "d.csv"]


def test_a_failure_in_the_reading_thread_reaches_the_caller(
    tmp_path: Path, example_model: OperatingModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It raises in the caller what stopped the reading thread, instead of waiting forever."""

    class Stop(BaseException):
        pass

    def stopping(*_args: object) -> PreparedFile:
        raise Stop

    _usage(tmp_path / "inbox" / "usage" / "a.csv", range(2), 0.5, 1_760_000_000)
    monkeypatch.setattr(flows.ingest, "prepare_file", stopping)
    with pytest.raises(Stop):
        list(prepared_in_order(list_inbox(tmp_path / "inbox"), example_model, NOW))


def test_largest_source_loads_first_and_a_vanished_file_does_not_stop_the_order(
    tmp_path: Path,
) -> None:
    """It orders sources by their bytes, keeps each source's export order, and sizes a file
    deleted since listing as empty instead of failing."""
    inbox = tmp_path / "inbox"
    _usage(inbox / "usage" / "a.csv", range(0, 50), 0.5, 1_760_000_000)
    _usage(inbox / "usage" / "b.csv", range(50, 60), 0.5, 1_760_000_100)
    (inbox / "tickets").mkdir()
    gone = inbox / "tickets" / "t.csv"
    gone.write_text("ticket_id\nT-1\n")
    os.utime(gone, (1_759_000_000, 1_759_000_000))
    files = list_inbox(inbox)
    assert [f.path.name for f in files] == ["t.csv", "a.csv", "b.csv"]
    assert [f.path.name for f in load_order(files)] == ["a.csv", "b.csv", "t.csv"]
    gone.unlink()
    assert [f.path.name for f in load_order(files)] == ["a.csv", "b.csv", "t.csv"]


def test_the_warehouse_file_holds_a_staged_load_once_the_ingest_returns(
    tmp_path: Path, example_model: OperatingModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It has copied the write-ahead log of a staged load into the database file (the background
    checkpoint is finished), so a copy of the file alone holds every loaded row."""
    monkeypatch.setattr(db, "STAGE_MIN_ROWS", 1)
    inbox = tmp_path / "inbox"
    _usage(inbox / "usage" / "a.csv", range(0, 300), 0.5, 1_760_000_000)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    [record] = ingest_inbox(url, example_model, inbox, W41, NOW)
    assert record.rows_loaded == 300
    shutil.copyfile(tmp_path / "w.db", tmp_path / "copy.db")  # without w.db-wal
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("SELECT count(*) FROM usage_call").fetchone() == (300,)
        assert copy.execute("SELECT sum(calls) FROM usage_summary").fetchone() == (300,)
    finally:
        copy.close()
    dispose_engines()


def test_new_warehouse_and_staging_files_use_large_pages_and_old_files_keep_theirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It creates new warehouse and staging files with 64 KiB pages, and leaves the page size of
    a warehouse made earlier as it was."""
    new = f"sqlite:///{tmp_path / 'new.db'}"
    with transaction(new) as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == db.PAGE_BYTES == 65_536
    monkeypatch.setattr(db, "STAGE_MIN_ROWS", 1)
    stage = db.stage_rows(new, UsageSummary, pl.DataFrame({"pilot": ["p"], "calls": [1]}))
    assert stage is not None
    try:
        staged = sqlite3.connect(stage.files[0])
        assert staged.execute("PRAGMA page_size").fetchone() == (65_536,)
        staged.close()
    finally:
        db.drop_stage(stage)
    old_file = tmp_path / "old.db"
    made_earlier = sqlite3.connect(old_file)
    made_earlier.execute("CREATE TABLE t (x)")
    made_earlier.close()
    with transaction(f"sqlite:///{old_file}") as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert "usage_call" in inspect(conn).get_table_names()
    dispose_engines()


def test_a_file_rewritten_while_it_was_read_is_left_for_the_next_run(
    tmp_path: Path, example_model: OperatingModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It stores no row of a file that an export rewrote (same size, new bytes) after it was
    listed, lists it in the week's report with the reason, and ingests the finished file on the
    next run (the report then lists it loaded only)."""
    inbox = tmp_path / "inbox"
    path = inbox / "usage" / "a.csv"
    _usage(path, range(0, 10), 0.5, 1_760_000_000)
    real_prepare = flows.ingest.prepare_file

    def rewritten_after_reading(file: InboxFile, *args: object, **kwargs: object) -> PreparedFile:
        prepared = real_prepare(file, *args, **kwargs)
        path.write_text(path.read_text().replace("0.5", "0.7"))  # same size, new content
        return prepared

    monkeypatch.setattr(flows.ingest, "prepare_file", rewritten_after_reading)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    [deferred] = ingest_inbox(url, example_model, inbox, W41, NOW)
    assert (deferred.status, deferred.rows_loaded) == ("deferred", 0)
    assert "changed while being read" in (deferred.reason or "")
    with transaction(url) as conn:
        snapshot_week_inputs(conn, example_model.pilot, W41.label)
        stats = week_input_stats(conn, example_model.pilot, W41.label)["usage"]
        assert conn.execute(select(UsageCall.__table__)).first() is None
    assert stats["refused_files"] == [{"file": "usage/a.csv", "reason": deferred.reason}]
    monkeypatch.setattr(flows.ingest, "prepare_file", real_prepare)
    [record] = ingest_inbox(url, example_model, inbox, W41, NOW)
    assert record.rows_loaded == 10
    with transaction(url) as conn:
        costs = {c for (c,) in conn.execute(select(UsageCall.__table__.c.cost_usd))}
        snapshot_week_inputs(conn, example_model.pilot, W41.label)
        stats = week_input_stats(conn, example_model.pilot, W41.label)["usage"]
    assert costs == {0.7}
    assert stats["refused_files"] == []
    assert [f["file"] for f in stats["files_detail"]] == ["usage/a.csv"]
    dispose_engines()


def test_a_hidden_file_is_listed_with_its_reason_and_read_once_renamed(
    tmp_path: Path, example_model: OperatingModel, sqlite_url: str
) -> None:
    """It never reads a file whose name starts with "." but lists it in the week's report with
    the reason, once; the same bytes renamed without the dot are then loaded."""
    inbox = tmp_path / "inbox"
    hidden = inbox / "usage" / ".upload.csv"
    _usage(hidden, range(0, 5), 0.5, 1_760_000_000)
    [record] = ingest_inbox(sqlite_url, example_model, inbox, W41, NOW)
    assert (record.status, record.rows_read) == ("deferred", 0)
    assert ingest_inbox(sqlite_url, example_model, inbox, W41, NOW) == []  # listed once
    with transaction(sqlite_url) as conn:
        snapshot_week_inputs(conn, example_model.pilot, W41.label)
        stats = week_input_stats(conn, example_model.pilot, W41.label)["usage"]
    assert stats["refused_files"] == [{"file": "usage/.upload.csv", "reason": record.reason}]
    assert "name starts with '.'" in (record.reason or "")
    hidden.rename(inbox / "usage" / "upload.csv")
    [loaded] = ingest_inbox(sqlite_url, example_model, inbox, W41, NOW)
    assert (loaded.status, loaded.rows_loaded) == ("loaded", 5)


def test_the_checks_library_is_loaded_in_a_thread_only_when_there_is_a_file_to_check(
    tmp_path: Path, example_model: OperatingModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It starts loading Great Expectations beside the first read when a file is new, and not
    for a run with nothing new (which stays quick)."""
    import threading

    warmed: list[str] = []
    monkeypatch.setattr(
        flows.ingest.validate, "warm_up", lambda: warmed.append(threading.current_thread().name)
    )
    inbox = tmp_path / "inbox"
    _usage(inbox / "usage" / "a.csv", range(0, 5), 0.5, 1_760_000_000)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    ingest_inbox(url, example_model, inbox, W41, NOW)
    _wait_for(lambda: len(warmed) == 1)
    assert warmed == ["warm-up"]
    assert ingest_inbox(url, example_model, inbox, W41, NOW) == []
    time.sleep(0.2)
    assert warmed == ["warm-up"]
    dispose_engines()


def test_warming_up_makes_the_one_context_the_checks_use() -> None:
    """It makes the Great Expectations context once, and the checks then use that one."""
    import checks.validate as validate

    validate._new_gx_context.cache_clear()
    validate._validation.cache_clear()
    validate.warm_up()
    assert validate._new_gx_context.cache_info().currsize == 1
    assert validate._gx_context() is validate._gx_context()


def test_a_file_without_a_usable_date_counts_in_the_week_it_arrived_in(
    tmp_path: Path, example_model: OperatingModel, sqlite_url: str
) -> None:
    """It lists files none of whose rows has a usable date (US dates, dotted dates, integer
    timestamps) in the week of their export time, or the run's week when exported after it, and
    counts their quarantined rows in that week's quarantine ratio."""
    inbox = tmp_path / "inbox"
    exported_in_w41 = dt.datetime(2026, 10, 7, 9, tzinfo=dt.UTC).timestamp()
    exported_after = dt.datetime(2026, 10, 20, 9, tzinfo=dt.UTC).timestamp()
    _usage(inbox / "usage" / "good.csv", range(0, 10), 0.5, int(exported_in_w41))
    us_dates = inbox / "usage" / "us_dates.csv"
    us_dates.write_text(
        HEADER + "".join(f"u{i},11/10/2026 10:00:00,gpt-4o,100,20,0.1,ok\n" for i in range(500))
    )
    sheets = inbox / "timesheets" / "dotted.csv"
    sheets.parent.mkdir(parents=True)
    sheets.write_text("person,date,minutes,activity\nDana Levi,09.11.2026,30,review\n")
    parquet = inbox / "usage" / "int_stamps.parquet"
    pl.DataFrame(
        {
            "request_id": ["p1", "p2"],
            "timestamp": [1_760_000_000, 1_760_000_001],
            "model": ["gpt-4o"] * 2,
            "input_tokens": [1, 2],
            "output_tokens": [1, 2],
            "status": ["ok"] * 2,
        }
    ).write_parquet(parquet)
    for path, when in ((us_dates, exported_in_w41), (sheets, exported_in_w41)):
        os.utime(path, (when, when))
    os.utime(parquet, (exported_after, exported_after))  # after the run's week: the run's week

    ingest_inbox(sqlite_url, example_model, inbox, W41, NOW)
    with transaction(sqlite_url) as conn:
        snapshot_week_inputs(conn, example_model.pilot, W41.label)
        stats = week_input_stats(conn, example_model.pilot, W41.label)

    usage = {d["file"]: d for d in stats["usage"]["files_detail"]}
    assert set(usage) == {"usage/good.csv", "usage/us_dates.csv", "usage/int_stamps.parquet"}
    assert usage["usage/us_dates.csv"]["rows_quarantined"] == 500
    assert usage["usage/int_stamps.parquet"]["rows_quarantined"] == 2
    assert stats["usage"]["rows_quarantined"] == 1 + 500 + 2
    assert [d["file"] for d in stats["timesheets"]["files_detail"]] == ["timesheets/dotted.csv"]
    assert stats["timesheets"]["rows_quarantined"] == 1
    context = SimpleNamespace(operating_model=example_model, input_stats=stats)
    finding = quarantine_ratio(context)  # type: ignore[arg-type]
    assert finding.status == "fail"
    assert finding.value == 1.0  # timesheets: every row quarantined


def test_skipped_rows_are_stored_and_counted_in_the_week_inputs(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It stores a Langfuse file's spans and events as skipped, so read = loaded + quarantined
    + duplicate + skipped holds in the warehouse and in the week's inputs (issue 17, case 6)."""
    from pipelines.input_stats import snapshot_week_inputs, week_input_stats

    inbox = tmp_path / "inbox"
    (inbox / "usage").mkdir(parents=True)
    source = Path(__file__).parents[1] / "fixtures/vendor/langfuse/observations.jsonl"
    shutil.copyfile(source, inbox / "usage" / "observations.jsonl")
    url = f"sqlite:///{tmp_path / 'w.db'}"
    (stored,) = ingest_inbox(url, example_model, inbox, W41, NOW)
    assert (stored.rows_read, stored.rows_loaded, stored.rows_quarantined) == (7, 3, 2)
    assert (stored.rows_duplicate, stored.rows_skipped) == (0, 2)
    with transaction(url) as conn:
        snapshot_week_inputs(conn, example_model.pilot, "2026-W41")
        usage = week_input_stats(conn, example_model.pilot, "2026-W41", example_model.timezone)[
            "usage"
        ]
    assert {k: usage[k] for k in ("rows_read", "rows_loaded", "rows_quarantined")} == {
        "rows_read": 7,
        "rows_loaded": 3,
        "rows_quarantined": 2,
    }
    assert (usage["rows_skipped"], usage["rows_in_week"]) == (2, 3)
    dispose_engines()


def test_solved_tickets_without_a_solve_time_are_counted_for_the_warning(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It counts the week's solved tickets that lack a solve time (never a task) and counts
    every ticket of the week in rows_in_week, solved or not (issue 17, case 9)."""
    from pipelines.input_stats import snapshot_week_inputs, week_input_stats

    inbox = tmp_path / "inbox"
    (inbox / "tickets").mkdir(parents=True)
    (inbox / "tickets" / "t.csv").write_text(
        "ticket_id,created_at,solved_at,status,category,ai_draft_used\n"
        "T1,2026-10-05T09:00:00Z,2026-10-05T10:00:00Z,solved,password,true\n"
        "T2,2026-10-05T09:30:00Z,,solved,password,false\n"
        "T3,2026-10-06T09:30:00Z,,open,shipping,false\n",
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'w.db'}"
    (stored,) = ingest_inbox(url, example_model, inbox, W41, NOW)
    assert (stored.rows_read, stored.rows_loaded, stored.rows_quarantined) == (3, 3, 0)
    with transaction(url) as conn:
        snapshot_week_inputs(conn, example_model.pilot, "2026-W41")
        tickets = week_input_stats(conn, example_model.pilot, "2026-W41", example_model.timezone)[
            "tickets"
        ]
    assert (tickets["rows_in_week"], tickets["solved_without_solve_time"]) == (3, 1)
    dispose_engines()
