"""Large files read in slices (`pipelines.slices`): the warehouse ends up with exactly the rows,
quarantine (with its line numbers), counts, weeks and usage summary of a whole-file read."""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

import flows.ingest
from flows.ingest import ingest_inbox
from models.operating_model import OperatingModel
from models.results import Week
from models.warehouse import (
    FileWeek,
    IngestedFile,
    QuarantinedRow,
    Ticket,
    UsageCall,
    UsageSummary,
    UsageTaskSummary,
)
from pipelines import slices
from pipelines.prepare import InboxFile, PreparedFile, list_inbox
from pipelines.slices import SLICE_ROWS_VARIABLE, plan_slices
from pipelines.warehouse.engine import dispose_engines, transaction

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
W41 = Week.parse("2026-W41", "Europe/Berlin")
HEADER = "request_id,timestamp,user,model,input_tokens,output_tokens,cost_usd,status\n"


def _row(i: int, cost: float = 0.5) -> str:
    return f"r{i},2026-10-05T10:{i % 60:02d}:00Z,u{i % 3},gpt-4o,100,{i},{cost},ok\n"


def _first_export(path: Path, layout: str = "quoted line end") -> None:
    """40 rows with a quoted line end (row 4; else a quoted cell on one line, or a blank line
    before row 4, which polars reads as a row of missing cells), bad rows after it, a key
    shared by rows in different slices (rows 2 and 25) and an exact repeat of row 12 as row
    33."""
    rows = [_row(i) for i in range(40)]
    rows[4] = {
        "quoted line end": 'r4,2026-10-05T10:04:00Z,"ali\nce",gpt-4o,100,4,0.5,ok\n',
        "one line a record": 'r4,2026-10-05T10:04:00Z,"alice",gpt-4o,100,4,0.5,ok\n',
        "blank line": "\n" + _row(4),
    }[layout]
    rows[6] = "r6,2026-10-05T10:06:00Z,u0,gpt-4o,-5,6,0.5,ok\n"
    rows[8] = "r8,not-a-time,u2,gpt-4o,100,8,0.5,ok\n"
    rows[25] = "r2,2026-10-05T10:25:00Z,u1,gpt-4o,100,25,0.5,ok\n"
    rows[33] = rows[12]
    rows[36] = 'r36,2026-10-05T10:36:00Z,"say ""hi"", a",gpt-4o,100,36,0.5,ok\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(rows))
    os.utime(path, (1_760_000_000, 1_760_000_000))


def _second_export(path: Path) -> None:
    """A newer export of rows 30-45 at another price: it wins their keys."""
    path.write_text(HEADER + "".join(_row(i, 0.7) for i in range(30, 46)))
    os.utime(path, (1_760_100_000, 1_760_100_000))


def _inbox(tmp_path: Path, layout: str = "quoted line end") -> Path:
    inbox = tmp_path / "inbox"
    _first_export(inbox / "usage" / "a.csv", layout)
    _second_export(inbox / "usage" / "b.csv")
    return inbox


def _ticket(i: int, minutes: str = "2", outcome: str = '"sent_as_is"') -> str:
    return (
        f'{{"ticket_id": "T-{i}", "created_at": "2026-10-05T10:{i % 60:02d}:00+02:00", '
        f'"solved_at": "2026-10-05T12:00:00+02:00", "status": "solved", "category": "billing", '
        f'"agent": "Agent {i % 3}", "ai_draft_used": true, "draft_outcome": {outcome}, '
        f'"reopened": 0, "escalated": false, "handle_minutes": {minutes}, "contact_count": 1}}\n'
    )


def _tickets_inbox(tmp_path: Path) -> Path:
    """A JSON Lines export of 30 tickets: whole minutes except one (row 27, so the whole file
    reads them as decimals), a draft outcome missing but in one slice, a bad row, a key shared
    by rows in different slices (rows 3 and 17) and an exact repeat of row 9 as row 22."""
    rows = [_ticket(i, outcome="null") for i in range(30)]
    rows[5] = _ticket(5)
    rows[7] = rows[7].replace('"status": "solved"', '"status": null')
    rows[17] = _ticket(3).replace('"billing"', '"shipping"')
    rows[22] = rows[9]
    rows[27] = _ticket(27, minutes="2.5")
    path = tmp_path / "inbox" / "tickets" / "tickets.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(rows))
    return tmp_path / "inbox"


def _warehouse(url: str) -> dict[str, list[tuple]]:
    """Every row the ingest wrote, table by table, in a stable order."""
    tables = {
        "tickets": Ticket,
        "calls": UsageCall,
        "quarantine": QuarantinedRow,
        "files": IngestedFile,
        "weeks": FileWeek,
        "summary": UsageSummary,
        "task summary": UsageTaskSummary,
    }
    found: dict[str, list[tuple]] = {}
    with transaction(url) as conn:
        for name, model in tables.items():
            table = model.__table__
            columns = [c for c in table.columns if c.name not in ("id", "cost_usd")]
            rows = conn.execute(select(*columns).order_by(*columns)).all()
            found[name] = [tuple(r) for r in rows]
            if "cost_usd" in table.c:  # float sums may differ in the last bits
                costs = conn.execute(select(table.c.cost_usd).order_by(*columns)).scalars()
                found[name + " cost"] = [round(c, 9) if c is not None else None for c in costs]
    return found


def _ingest(url: str, inbox: Path, model: OperatingModel, rows: int) -> list[IngestedFile]:
    os.environ[SLICE_ROWS_VARIABLE] = str(rows)
    try:
        return ingest_inbox(url, model, inbox, W41, NOW)
    finally:
        del os.environ[SLICE_ROWS_VARIABLE]


@pytest.fixture(params=["staged", "direct"])
def load_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How a sliced file is loaded: staged into scratch files beside a SQLite warehouse, or
    slice by slice in its transaction ("direct", as PostgreSQL always loads)."""
    if request.param == "direct":
        if "warehouse_url" in request.fixturenames and not str(
            request.getfixturevalue("warehouse_url")
        ).startswith("sqlite"):
            pytest.skip("PostgreSQL always loads slice by slice")
        monkeypatch.setattr(flows.ingest, "can_stage", lambda url: False)
    return request.param


def test_plan_cuts_whole_records_with_their_lines(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It cuts a file at record ends only (not inside a quoted line end), knows each slice's
    first physical line, and finds the repeated line and the shared key across slices."""
    inbox = _inbox(tmp_path)
    file = next(f for f in list_inbox(inbox) if f.relative_path == "usage/a.csv")
    plan = plan_slices(file, example_model, rows=4)
    assert plan is not None
    assert [s.first_line for s in plan.slices] == [2, 6, 11, 15, 19, 23, 27, 31, 35, 39]
    assert plan.rows_read == 40
    assert plan.repeated_lines.to_list() == [36]  # row 33 repeats row 12 (line 15)
    assert sorted(plan.not_unique_lines.to_list()) == [4, 28]  # rows 2 and 25 share r2
    assert plan.slice_sums is None  # a record spans lines: the slices were read for the hashes
    lines = [plan.read(s).get_column("__line__").to_list() for s in plan.slices]
    assert lines[1] == [6, 8, 9, 10]  # row 4 spans lines 6-7
    assert sum(len(part) for part in lines) == 40


@pytest.mark.parametrize("layout", ["one line a record", "blank line"])
def test_plan_numbers_rows_by_their_lines(
    tmp_path: Path, example_model: OperatingModel, layout: str
) -> None:
    """It hashes a file whose every line is one record (a blank one included) in one scan,
    numbering each row by its line, with the decisions of a read slice by slice."""
    inbox = _inbox(tmp_path, layout)
    file = next(f for f in list_inbox(inbox) if f.relative_path == "usage/a.csv")
    plan = plan_slices(file, example_model, rows=4)
    assert plan is not None
    assert plan.slice_sums is not None
    shift = 1 if layout == "blank line" else 0  # the blank line before row 4, a row itself
    assert plan.rows_read == 40 + shift
    assert plan.repeated_lines.to_list() == [35 + shift]  # row 33 repeats row 12
    assert sorted(plan.not_unique_lines.to_list()) == [4, 27 + shift]  # rows 2 and 25: r2
    lines = [plan.read(s).get_column("__line__").to_list() for s in plan.slices]
    assert [n for part in lines for n in part] == list(range(2, 42 + shift))
    assert [s.rows for s in plan.slice_sums] == [len(part) for part in lines]


def test_small_file_is_read_whole(tmp_path: Path, example_model: OperatingModel) -> None:
    """It reads a file of fewer rows than a slice whole (no plan)."""
    inbox = _inbox(tmp_path)
    file = next(f for f in list_inbox(inbox) if f.relative_path == "usage/a.csv")
    assert plan_slices(file, example_model, rows=100) is None


@pytest.mark.parametrize("layout", ["quoted line end", "one line a record", "blank line"])
def test_slices_store_what_a_whole_read_stores(
    tmp_path: Path,
    example_model: OperatingModel,
    warehouse_url: str,
    caplog: pytest.LogCaptureFixture,
    load_path: str,
    layout: str,
) -> None:
    """It stores the same calls, quarantined rows and line numbers, counts, weeks and summary
    from a file read in slices of 4 rows as from the same file read whole (a record spanning
    lines, every line a record, a blank line), and a second run over the same files changes
    nothing."""
    inbox = _inbox(tmp_path, layout)
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    whole = _ingest(whole_url, inbox, example_model, 1_000_000)
    with caplog.at_level(logging.INFO, logger="flows.ingest"):
        sliced = _ingest(warehouse_url, inbox, example_model, 4)
    blank = 1 if layout == "blank line" else 0  # a row of missing cells, quarantined
    assert f"usage/a.csv: {40 + blank} rows in {10 + blank} slices" in caplog.text
    assert (
        [(f.path, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate) for f in sliced]
        == [
            (f.path, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate)
            for f in whole
        ]
        == [("usage/a.csv", 40 + blank, 35, 4 + blank, 1), ("usage/b.csv", 16, 16, 0, 0)]
    )
    stored = _warehouse(warehouse_url)
    assert stored == _warehouse(whole_url)
    quarantine = {
        (line, reasons)
        for _, _, _, _, line, _, reasons in stored["quarantine"]
        if line != 6 or not blank
    }
    shift = 0 if layout == "one line a record" else 1  # the lines row 4 adds
    assert quarantine == {
        (4, "[\"request_id is not unique in the file (different rows share it): 'r2'\"]"),
        (8 + shift, '["input_tokens is negative: -5"]'),
        (10 + shift, '["timestamp: not-a-time is not a timestamp", "timestamp is missing"]'),
        (27 + shift, "[\"request_id is not unique in the file (different rows share it): 'r2'\"]"),
    }
    assert _ingest(warehouse_url, inbox, example_model, 4) == []
    assert _warehouse(warehouse_url) == stored
    dispose_engines()


def test_the_next_file_is_prepared_while_a_sliced_file_is_stored(
    tmp_path: Path,
    example_model: OperatingModel,
    monkeypatch: pytest.MonkeyPatch,
    load_path: str,
) -> None:
    """It prepares the file after a sliced one (tickets in slices, then calls) once the sliced
    file's last slice is read, before that file's rows are stored (the read-ahead budget is
    let go), and stores both files."""
    inbox = tmp_path / "inbox"
    _first_export(inbox / "usage" / "a.csv")
    _tickets_inbox(tmp_path)
    prepared: list[str] = []
    real_prepare = flows.ingest._plan_or_prepare

    def recording(file: InboxFile, *args: object) -> object:
        result = real_prepare(file, *args)
        prepared.append(file.relative_path)
        return result

    stored_after: dict[str, list[str]] = {}
    real_close = flows.ingest.close_file
    real_store = flows.ingest.store_prepared_file

    def wait_then(real: Callable[..., IngestedFile]) -> Callable[..., IngestedFile]:
        def storing(
            conn: object, pilot: str, part: PreparedFile, *args: object, **kwargs: object
        ) -> IngestedFile:
            if not stored_after:  # the first file, the tickets: the most bytes
                deadline = time.monotonic() + 10
                while len(prepared) < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                stored_after[part.file.relative_path] = list(prepared)
            return real(conn, pilot, part, *args, **kwargs)

        return storing

    monkeypatch.setattr(flows.ingest, "_plan_or_prepare", recording)
    monkeypatch.setattr(flows.ingest, "store_prepared_file", wait_then(real_store))
    monkeypatch.setattr(flows.ingest, "close_file", wait_then(real_close))
    url = f"sqlite:///{tmp_path / 'w.db'}"
    files = _ingest(url, inbox, example_model, 4)
    assert stored_after == {"tickets/tickets.jsonl": ["tickets/tickets.jsonl", "usage/a.csv"]}
    assert sorted((f.path, f.status) for f in files) == [
        ("tickets/tickets.jsonl", "loaded"),
        ("usage/a.csv", "loaded"),
    ]
    dispose_engines()


def test_json_lines_slices_store_what_a_whole_read_stores(
    tmp_path: Path,
    example_model: OperatingModel,
    warehouse_url: str,
    caplog: pytest.LogCaptureFixture,
    load_path: str,
) -> None:
    """It reads a JSON Lines file in slices of 4 lines with the types of the whole file, and
    stores the same tickets, quarantined rows and line numbers, counts and weeks as a whole
    read of it."""
    inbox = _tickets_inbox(tmp_path)
    file = next(iter(list_inbox(inbox)))
    plan = plan_slices(file, example_model, rows=4)
    assert plan is not None and plan.file_format == "jsonl"
    assert [s.first_line for s in plan.slices] == [1, 5, 9, 13, 17, 21, 25, 29]
    assert plan.repeated_lines.to_list() == [23]  # row 22 repeats row 9 (line 10)
    assert sorted(plan.not_unique_lines.to_list()) == [4, 18]  # rows 3 and 17 share T-3
    assert plan.read(plan.slices[0]).get_column("handle_minutes").dtype == pl.Float64
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    whole = _ingest(whole_url, inbox, example_model, 1_000_000)
    with caplog.at_level(logging.INFO, logger="flows.ingest"):
        sliced = _ingest(warehouse_url, inbox, example_model, 4)
    assert "tickets/tickets.jsonl: 30 rows in 8 slices" in caplog.text
    assert (
        [(f.path, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate) for f in sliced]
        == [
            (f.path, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate)
            for f in whole
        ]
        == [("tickets/tickets.jsonl", 30, 26, 3, 1)]
    )
    stored = _warehouse(warehouse_url)
    assert stored == _warehouse(whole_url)
    assert {line for _, _, _, _, line, _, _ in stored["quarantine"]} == {4, 8, 18}
    dispose_engines()


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (5, _ticket(4, minutes="true")),  # another type: read whole, every cell as text
        (5, "\n"),  # a blank line: no record, yet a line
        (1, "\ufeff" + _ticket(0)),  # a byte-order mark: decoded in Python
        (5, _ticket(4).replace("1}", '1, "tags": ["vip"]}')),  # a list: JSON text when whole
    ],
)
def test_json_lines_read_whole_when_slices_could_differ(
    tmp_path: Path, example_model: OperatingModel, line: int, text: str
) -> None:
    """It leaves to the whole-file reader a JSON Lines file it reads otherwise: a value of
    another type than its column's, a blank line, a byte-order mark, a nested value."""
    inbox = _tickets_inbox(tmp_path)
    path = inbox / "tickets" / "tickets.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[line - 1] = text
    path.write_text("".join(lines))
    file = next(iter(list_inbox(inbox)))
    assert plan_slices(file, example_model, rows=4) is None
    path.write_text("".join([*lines[: line - 1], _ticket(99), *lines[line:]]))
    assert plan_slices(file, example_model, rows=4) is not None  # the file without it


def test_exact_check_refutes_a_wrong_hash_decision(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It raises SlicesDisagree after the last slice when the first pass's decision (here a
    shared key dropped, as a hash collision would) does not hold row by row."""
    inbox = _inbox(tmp_path)
    file = next(f for f in list_inbox(inbox) if f.relative_path == "usage/a.csv")
    plan = plan_slices(file, example_model, rows=4)
    assert plan is not None
    parts = slices.canonical_slices(plan, example_model)
    assert len(list(parts)) == 10  # the right decisions verify
    plan.not_unique_lines = plan.not_unique_lines.head(1)
    with pytest.raises(slices.SlicesDisagree):
        list(slices.canonical_slices(plan, example_model))


def test_slice_read_otherwise_than_scanned_disagrees(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It raises SlicesDisagree at the slice whose keys differ from what the first pass's single
    scan saw of it, before that slice is handed on."""
    inbox = _inbox(tmp_path, "one line a record")
    file = next(f for f in list_inbox(inbox) if f.relative_path == "usage/a.csv")
    plan = plan_slices(file, example_model, rows=4)
    assert plan is not None and plan.slice_sums is not None
    assert len(list(slices.canonical_slices(plan, example_model))) == 10
    seen = plan.slice_sums[3]
    plan.slice_sums[3] = slices.SliceSums(seen.rows, seen.key_hashes + 1)
    parts = slices.canonical_slices(plan, example_model)
    assert len([next(parts) for _ in range(3)]) == 3
    with pytest.raises(slices.SlicesDisagree):
        next(parts)


def test_read_ahead_holds_two_items_at_most() -> None:
    """It never has more than two items made and not yet let go by the caller."""
    made: list[int] = []

    def items() -> Iterator[int]:
        for n in range(8):
            made.append(n)
            yield n

    taken = 0
    for n in slices.read_ahead(items()):
        assert n == taken
        assert len(made) <= taken + 2  # the one in hand and the next
        taken += 1
    assert taken == 8


def _spread_usage_inbox(tmp_path: Path) -> Path:
    """90 calls of 4 tasks in random order, from Saturday 24 October 2026 to Tuesday 27 in
    Berlin: over the night summer time ends (Sunday 25, 03:00 CEST back to 02:00 CET) and over
    Monday 26 00:00 CET (the local week's start), in two models and two statuses."""
    start = dt.datetime(2026, 10, 24, 12, tzinfo=dt.UTC)
    shuffled = list(range(90))
    random.Random(18).shuffle(shuffled)
    lines = []
    for i in shuffled:
        stamp = (start + i * dt.timedelta(minutes=41)).strftime("%Y-%m-%dT%H:%M:%SZ")
        model, status = ("gpt-4o", "ok") if i % 5 else ("gpt-4o-mini", "error")
        lines.append(
            f"r{i},{stamp},T-{i % 4},u{i % 3},{model},p{i % 2},100,{i},{(i % 7) * 0.25},{status}\n"
        )
    path = tmp_path / "inbox" / "usage" / "spread.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "request_id,timestamp,task_id,user,model,prompt_version,input_tokens,output_tokens,"
        "cost_usd,status\n" + "".join(lines)
    )
    return tmp_path / "inbox"


@pytest.mark.parametrize("merge_min_rows", [1, 200_000])
def test_slices_sum_to_the_summaries_of_a_whole_read(
    tmp_path: Path,
    example_model: OperatingModel,
    warehouse_url: str,
    caplog: pytest.LogCaptureFixture,
    load_path: str,
    merge_min_rows: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It stores the same bucket and task summary rows for shuffled calls read in slices of 7
    rows (the slices' summaries merged as they come, or all at the end) as for the file read
    whole, a task's calls cut at the Berlin week's start and not at the end of summer time."""
    monkeypatch.setattr(flows.ingest, "_MERGE_MIN_ROWS", merge_min_rows)
    inbox = _spread_usage_inbox(tmp_path)
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    _ingest(whole_url, inbox, example_model, 1_000_000)
    with caplog.at_level(logging.INFO, logger="flows.ingest"):
        _ingest(warehouse_url, inbox, example_model, 7)
    assert "usage/spread.csv: 90 rows in 13 slices" in caplog.text
    stored = _warehouse(warehouse_url)
    assert stored == _warehouse(whole_url)
    week_start = dt.datetime(2026, 10, 25, 23, tzinfo=dt.UTC)  # Monday 26 October, 00:00 CET
    summer_ends = dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC)
    # Columns: pilot, file, task, model, prompt, status, price source, first, last, calls.
    t0 = [r[7:9] for r in stored["task summary"] if r[2:6] == ("T-0", "gpt-4o", "p0", "ok")]
    assert len(t0) == 2
    (first, last), (after_first, _) = t0
    assert last < week_start <= after_first  # cut at the week's start
    assert first < summer_ends < last  # one row across the hour put back
    assert sum(calls for *_, calls in stored["task summary"]) == 90
    dispose_engines()
