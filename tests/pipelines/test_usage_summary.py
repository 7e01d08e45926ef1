"""The per-file usage summary: written with each usage file, kept equal to the calls each file
holds, and read by the facts stage in place of the calls wherever week bounds allow."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from flows.ingest import ingest_inbox
from models.operating_model import OperatingModel
from models.results import Week
from models.warehouse import UsageCall, UsageSummary, UsageTaskSummary
from pipelines.facts import USAGE_SUMMARY_SCHEMA, _model_cost_usd, _week_usage_summary
from pipelines.usage_summary import aligned, bucket_of, calls_between, task_rows_fit
from pipelines.warehouse.bulk import STAGE_MIN_ROWS
from pipelines.warehouse.engine import transaction
from pipelines.weeks import week_bounds_utc

HEADER = "request_id,timestamp,task_id,model,prompt_version,input_tokens,output_tokens,status\n"
NOW = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
W46 = Week.parse("2026-W46", "Europe/Berlin")


def _put(inbox: Path, name: str, lines: list[str], exported: dt.datetime) -> None:
    folder = inbox / "usage"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    os.utime(path, (exported.timestamp(), exported.timestamp()))


def _line(key: str, stamp: str, task: str = "T-1", tokens: int = 100, status: str = "ok") -> str:
    return f"{key},{stamp},{task},gpt-4o,v3,{tokens},20,{status}\n"


def _raw_week_usage(url: str, pilot: str, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
    """The week's usage grouped straight from the calls (what the summary must reproduce)."""
    usage = UsageCall.__table__
    groups = [usage.c[c] for c in ("task_id", "model", "prompt_version", "status", "price_source")]
    with transaction(url) as conn:
        rows = conn.execute(
            select(*groups, func.count(), func.coalesce(func.sum(usage.c.model_cost_usd), 0.0))
            .where(usage.c.pilot == pilot, usage.c.timestamp >= start, usage.c.timestamp < end)
            .group_by(*groups)
            .order_by(*groups)
        ).fetchall()
    return pl.DataFrame([tuple(r) for r in rows], schema=USAGE_SUMMARY_SCHEMA, orient="row")


def _summary_rows(url: str) -> list[tuple[int, int]]:
    table = UsageSummary.__table__
    with transaction(url) as conn:
        rows = conn.execute(
            select(table.c.file_id, func.sum(table.c.calls))
            .group_by(table.c.file_id)
            .order_by(table.c.file_id)
        ).fetchall()
    return [(int(f), int(n)) for f, n in rows]


@pytest.mark.parametrize(
    ("timezone", "week", "expected"),
    [
        ("Europe/Berlin", "2026-W46", True),
        ("Asia/Kolkata", "2026-W46", True),  # +05:30
        ("Asia/Kathmandu", "2026-W46", True),  # +05:45
        ("America/St_Johns", "2026-W46", True),  # -03:30
        ("Asia/Kolkata", "1890-W10", False),  # local mean time, +05:53:28
    ],
)
def test_week_bounds_fall_on_buckets_for_quarter_hour_offsets(
    timezone: str, week: str, expected: bool
) -> None:
    """It finds week bounds on 15-minute boundaries for every quarter-hour offset, not for LMT."""
    assert aligned(*week_bounds_utc(week, timezone)) is expected


@pytest.mark.parametrize(
    ("timezone", "week", "stamps"),
    [
        (
            "Asia/Kathmandu",
            "2026-W46",
            ["2026-11-08T18:14:59Z", "2026-11-08T18:15:00Z", "2026-11-15T18:14:59Z",
             "2026-11-15T18:15:00Z", "2026-11-10T09:00:00+05:45"],
        ),
        (
            "Asia/Kolkata",
            "1890-W10",  # bounds off the buckets: read from the calls
            ["1890-03-02T18:06:31Z", "1890-03-02T18:06:32Z", "1890-03-05T10:00:00Z",
             "1890-03-09T18:06:31Z", "1890-03-09T18:06:32Z"],
        ),
    ],
)  # fmt: skip
def test_the_week_read_equals_grouping_the_calls(
    example_model: OperatingModel,
    warehouse_url: str,
    tmp_path: Path,
    timezone: str,
    week: str,
    stamps: list[str],
) -> None:
    """It reads a week's usage per task equal to grouping the calls, at the week's very edges."""
    operating_model = example_model.model_copy(update={"timezone": timezone})
    lines = [_line(f"r{i}", s, task=f"T-{i % 2}") for i, s in enumerate(stamps)]
    _put(tmp_path / "inbox", "u.csv", lines, NOW - dt.timedelta(days=1))
    [record] = ingest_inbox(
        warehouse_url, operating_model, tmp_path / "inbox", Week.parse(week, timezone), NOW
    )
    assert record.rows_loaded == len(stamps)
    start, end = week_bounds_utc(week, timezone)
    with transaction(warehouse_url) as conn:
        read = _week_usage_summary(conn, operating_model.pilot, start, end)
        cost = _model_cost_usd(conn, operating_model.pilot, start, end)
    raw = _raw_week_usage(warehouse_url, operating_model.pilot, start, end)
    assert read.drop("cost_usd").equals(raw.drop("cost_usd"))
    assert read["cost_usd"].to_list() == pytest.approx(raw["cost_usd"].to_list())
    assert read["calls"].sum() == 3  # the two edge calls outside the week are left out
    assert cost == pytest.approx(raw["cost_usd"].sum())


def test_a_newer_export_moves_calls_and_both_summaries_follow(
    example_model: OperatingModel, warehouse_url: str, tmp_path: Path
) -> None:
    """It recomputes the older file's summary when a newer export takes over some of its calls."""
    inbox = tmp_path / "inbox"
    older = [_line(f"r{i}", "2026-11-10T09:00:00Z", tokens=100) for i in range(4)]
    _put(inbox, "a.csv", older, NOW - dt.timedelta(days=3))
    ingest_inbox(warehouse_url, example_model, inbox, W46, NOW)
    # r0, r1 exported again with other content, r9 new: r0 and r1 move to the newer file.
    newer = [_line(f"r{i}", "2026-11-10T09:20:00Z", tokens=900) for i in (0, 1, 9)]
    _put(inbox, "b.csv", newer, NOW - dt.timedelta(days=1))
    [record] = ingest_inbox(warehouse_url, example_model, inbox, W46, NOW)
    assert _summary_rows(warehouse_url) == [(1, 2), (record.id, 3)]
    start, end = week_bounds_utc("2026-W46", example_model.timezone)
    with transaction(warehouse_url) as conn:
        read = _week_usage_summary(conn, example_model.pilot, start, end)
    raw = _raw_week_usage(warehouse_url, example_model.pilot, start, end)
    assert read["calls"].sum() == 5
    assert read["cost_usd"].sum() == pytest.approx(raw["cost_usd"].sum())


def test_a_large_file_stages_its_summary_with_its_rows(
    example_model: OperatingModel, sqlite_url: str, tmp_path: Path
) -> None:
    """It writes a staged (large) file's summary equal to grouping the calls it loaded."""
    start = dt.datetime(2026, 11, 9, 0, 0, tzinfo=dt.UTC)
    lines = [
        _line(
            f"r{i}",
            (start + dt.timedelta(seconds=13 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            task=f"T-{i % 997}",
            status=("ok", "error")[i % 7 == 0],
        )
        for i in range(STAGE_MIN_ROWS + 10)
    ]
    _put(tmp_path / "inbox", "big.csv", lines, NOW - dt.timedelta(days=1))
    [record] = ingest_inbox(sqlite_url, example_model, tmp_path / "inbox", W46, NOW)
    assert record.rows_loaded == len(lines)
    assert _summary_rows(sqlite_url) == [(record.id, len(lines))]
    week_start, week_end = week_bounds_utc("2026-W46", example_model.timezone)
    with transaction(sqlite_url) as conn:
        read = _week_usage_summary(conn, example_model.pilot, week_start, week_end)
    raw = _raw_week_usage(sqlite_url, example_model.pilot, week_start, week_end)
    assert read.drop("cost_usd").equals(raw.drop("cost_usd"))
    assert read["cost_usd"].to_list() == pytest.approx(raw["cost_usd"].to_list())


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-11-10T09:00:00Z", "2026-11-10T10:00:00Z"),  # on buckets
        ("2026-11-10T09:06:31Z", "2026-11-10T09:52:02Z"),  # inside buckets, as LMT bounds are
    ],
)
def test_calls_of_a_span_are_found_through_their_files(
    example_model: OperatingModel, warehouse_url: str, tmp_path: Path, start: str, end: str
) -> None:
    """It finds exactly the calls in a span, from every file holding some, at the span's edges."""
    inbox = tmp_path / "inbox"
    stamps = {
        "a.csv": ["2026-11-10T08:59:59Z", "2026-11-10T09:06:30Z", "2026-11-10T09:06:31Z"],
        "b.csv": ["2026-11-10T09:30:00Z", "2026-11-10T09:52:01Z", "2026-11-10T09:52:02Z"],
        "c.csv": ["2026-11-10T11:00:00Z"],  # a file with no call in the span
    }
    for n, (name, times) in enumerate(stamps.items()):
        lines = [_line(f"{name}-{i}", t) for i, t in enumerate(times)]
        _put(inbox, name, lines, NOW - dt.timedelta(days=3 - n))
    ingest_inbox(warehouse_url, example_model, inbox, W46, NOW)
    begin, stop = (dt.datetime.fromisoformat(v) for v in (start, end))
    calls = UsageCall.__table__
    with transaction(warehouse_url) as conn:
        found = conn.execute(
            select(calls.c.timestamp).where(calls_between(example_model.pilot, begin, stop))
        ).scalars()
        found_times = sorted(t.astimezone(dt.UTC) for t in found)
    every = [dt.datetime.fromisoformat(t) for times in stamps.values() for t in times]
    assert found_times == sorted(t for t in every if begin <= t < stop)
    assert found_times  # both cases find calls in two files


def test_bucket_of_a_moment_is_its_quarter_hour_in_utc() -> None:
    """It floors a moment in any offset to the start of its 15-minute UTC bucket."""
    kathmandu = dt.timezone(dt.timedelta(hours=5, minutes=45))
    moment = dt.datetime(2026, 11, 10, 15, 1, 59, 999, tzinfo=kathmandu)  # 09:16:59 UTC
    assert bucket_of(moment) == dt.datetime(2026, 11, 10, 9, 15, tzinfo=dt.UTC)
    assert bucket_of(bucket_of(moment)) == bucket_of(moment)


def test_the_calls_of_a_span_are_read_through_the_file_index(sqlite_url: str) -> None:
    """It lets SQLite look calls up by file, not walk the pilot's whole key index."""
    from pipelines.warehouse.engine import make_engine

    calls = UsageCall.__table__
    start = dt.datetime(2026, 11, 9, tzinfo=dt.UTC)
    query = select(calls.c.request_id).where(
        calls_between("p", start, start + dt.timedelta(days=7)), calls.c.price_source == "x"
    )
    engine = make_engine(sqlite_url)
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "SEARCH usage_call USING INDEX ix_usage_call_file_id (file_id=?)" in plan


def test_a_week_read_in_another_timezone_than_its_files_were_stored_in_reads_the_calls(
    example_model: OperatingModel, warehouse_url: str, tmp_path: Path
) -> None:
    """It reads a week's usage exactly from the calls when task rows, cut at Berlin's week
    bounds, cross the bounds of the week in the pilot's new timezone."""
    stamps = ["2026-11-08T09:00:00Z", "2026-11-08T11:00:00Z", "2026-11-10T09:00:00Z"]
    lines = [_line(f"r{i}", stamp) for i, stamp in enumerate(stamps)]
    _put(tmp_path / "inbox", "u.csv", lines, NOW - dt.timedelta(days=1))
    ingest_inbox(warehouse_url, example_model, tmp_path / "inbox", W46, NOW)
    berlin = week_bounds_utc("2026-W46", "Europe/Berlin")
    kiritimati = week_bounds_utc("2026-W46", "Pacific/Kiritimati")  # from Sunday 10:00 UTC
    with transaction(warehouse_url) as conn:
        assert task_rows_fit(conn, example_model.pilot, *berlin)
        assert not task_rows_fit(conn, example_model.pilot, *kiritimati)
        read = _week_usage_summary(conn, example_model.pilot, *kiritimati)
    raw = _raw_week_usage(warehouse_url, example_model.pilot, *kiritimati)
    assert read.drop("cost_usd").equals(raw.drop("cost_usd"))
    assert read["calls"].sum() == 2


@pytest.mark.parametrize("timezone", ["Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kathmandu"])
def test_tasks_with_calls_on_both_sides_of_the_week_bounds_are_cut_at_them(
    example_model: OperatingModel, warehouse_url: str, tmp_path: Path, timezone: str
) -> None:
    """It reads per task exactly the calls inside the week when tickets have calls before, in
    and after it, in random order, in the timezones with the earliest and latest midnights."""
    operating_model = example_model.model_copy(update={"timezone": timezone})
    start, end = week_bounds_utc("2026-W46", timezone)
    minute = dt.timedelta(minutes=1)
    offsets = {
        start: [-3 * 24 * 60, -61, -16, -15, -1, 0, 1, 14, 15, 600],
        end: [-600, -1, 0, 1, 15, 2 * 24 * 60],
    }
    stamps = [
        (bound + n * minute - dt.timedelta(seconds=1) * (n % 2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for bound, minutes in offsets.items()
        for n in minutes
    ]
    lines = [
        _line(f"r{i}", stamp, task=f"T-{i % 5}", tokens=100 + 10 * i)
        for i, stamp in enumerate(stamps)
    ]
    lines = [lines[(7 * i) % len(lines)] for i in range(len(lines))]  # out of time order
    _put(tmp_path / "inbox", "u.csv", lines, NOW - dt.timedelta(days=1))
    [record] = ingest_inbox(
        warehouse_url, operating_model, tmp_path / "inbox", Week.parse("2026-W46", timezone), NOW
    )
    assert record.rows_loaded == len(stamps)
    with transaction(warehouse_url) as conn:
        assert task_rows_fit(conn, operating_model.pilot, start, end)  # read from the task rows
        read = _week_usage_summary(conn, operating_model.pilot, start, end)
    raw = _raw_week_usage(warehouse_url, operating_model.pilot, start, end)
    assert read.drop("cost_usd").equals(raw.drop("cost_usd"))
    assert read["cost_usd"].to_list() == pytest.approx(raw["cost_usd"].to_list())
    assert read["calls"].sum() == 5 + 2  # from the start on, and before the end


def test_a_task_with_calls_spread_over_the_week_has_one_task_summary_row(
    example_model: OperatingModel, warehouse_url: str, tmp_path: Path
) -> None:
    """It sums a task's calls in as many buckets as there are calls into one row of the task
    summary, while the bucket summary keeps one row per bucket."""
    tuesday = dt.datetime(2026, 11, 10, tzinfo=dt.UTC)
    stamps = [(tuesday + i * dt.timedelta(minutes=47)) for i in range(90)]  # to Friday
    lines = [_line(f"r{i}", t.strftime("%Y-%m-%dT%H:%M:%SZ")) for i, t in enumerate(stamps)]
    _put(tmp_path / "inbox", "u.csv", lines[::-1], NOW - dt.timedelta(days=1))
    ingest_inbox(warehouse_url, example_model, tmp_path / "inbox", W46, NOW)
    task, bucket = UsageTaskSummary.__table__, UsageSummary.__table__
    with transaction(warehouse_url) as conn:
        tasks = conn.execute(
            select(task.c.task_id, task.c.first_bucket, task.c.last_bucket, task.c.calls)
        ).all()
        buckets = conn.execute(select(func.count()).select_from(bucket)).scalar_one()
    assert [tuple(r) for r in tasks] == [("T-1", bucket_of(stamps[0]), bucket_of(stamps[-1]), 90)]
    assert buckets == 90
