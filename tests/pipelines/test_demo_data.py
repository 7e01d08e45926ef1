"""Tests of the synthetic demo inbox generator (pipelines/demo_data.py)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.demo_data import (
    CHANGE_COLUMNS,
    REVIEW_COLUMNS,
    TICKET_COLUMNS,
    TIMESHEET_COLUMNS,
    USAGE_COLUMNS,
    GeneratedInbox,
    generate_inbox,
)

SOURCES = ("usage", "tickets", "timesheets", "reviews", "changes")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> GeneratedInbox:
    return generate_inbox(tmp_path_factory.mktemp("inbox"))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _header(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pl.read_parquet_schema(path).names()
    if path.suffix == ".jsonl":
        return list(json.loads(path.read_text(encoding="utf-8").splitlines()[0]))
    if path.suffix == ".json":
        return list(json.loads(path.read_text(encoding="utf-8"))[0])
    first = path.read_text(encoding="utf-8-sig").splitlines()[0]
    return next(csv.reader(io.StringIO(first), delimiter=";" if ";" in first else ","))


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    """Two runs with the same seed write byte-identical files; another seed writes other data."""
    a = generate_inbox(tmp_path / "a", weeks=4, seed=11)
    b = generate_inbox(tmp_path / "b", weeks=4, seed=11)
    c = generate_inbox(tmp_path / "c", weeks=4, seed=12)
    snap_a, snap_b, snap_c = _snapshot(a.root), _snapshot(b.root), _snapshot(c.root)
    assert snap_a == snap_b
    assert a.rows == b.rows
    assert snap_a.keys() == snap_c.keys()
    assert snap_a["tickets/tickets-2026-W46.jsonl"] != snap_c["tickets/tickets-2026-W46.jsonl"]


def test_weeks_end_at_last_week_and_every_file_is_listed_in_its_week(
    inbox: GeneratedInbox,
) -> None:
    """The inbox covers 8 ISO weeks ending 2026-W46 and every written file belongs to one week."""
    assert inbox.weeks == [f"2026-W{n}" for n in range(39, 47)]
    assert inbox.bad_week == "2026-W43"
    listed = [p for files in inbox.files_by_week.values() for p in files]
    on_disk = {p for p in inbox.root.rglob("*") if p.is_file()}
    assert len(listed) == len(set(listed)) and set(listed) == on_disk
    for week, files in inbox.files_by_week.items():
        assert all(week in p.name for p in files)
        assert {p.parent.name for p in files} >= {"usage", "tickets", "reviews", "changes"}
    assert {p.name for p in inbox.root.iterdir()} == set(SOURCES)
    assert (inbox.root / "usage" / "usage-2026-W41.parquet").exists()
    assert (inbox.root / "tickets" / "tickets-2026-W44-helpdesk-export.csv").exists()


def test_every_readable_file_has_the_canonical_columns(inbox: GeneratedInbox) -> None:
    """Each source's files carry exactly the canonical column names (one ticket lacks category)."""
    expected = {
        "usage": USAGE_COLUMNS,
        "tickets": TICKET_COLUMNS,
        "timesheets": TIMESHEET_COLUMNS,
        "reviews": REVIEW_COLUMNS,
        "changes": CHANGE_COLUMNS,
    }
    for source, columns in expected.items():
        for path in sorted((inbox.root / source).iterdir()):
            if path.name.endswith("-helpdesk-export.csv"):
                continue  # the deliberately unreadable file
            assert _header(path) == columns, path
    timesheet = next((inbox.root / "timesheets").iterdir()).read_bytes()
    assert timesheet.startswith(b"\xef\xbb\xbf")


def test_bad_week_has_no_timesheets_a_stop_now_review_and_an_undocumented_model(
    inbox: GeneratedInbox,
) -> None:
    """The bad week lacks its timesheet export, logs a stop_now privacy finding and uses o1."""
    bad = inbox.bad_week
    assert not any(p.parent.name == "timesheets" for p in inbox.files_by_week[bad])
    assert not (inbox.root / "timesheets" / f"timesheets-{bad}.csv").exists()
    reviews = json.loads((inbox.root / "reviews" / f"reviews-{bad}.json").read_text())
    assert any(r["severity"] == "stop_now" and r["category"] == "privacy" for r in reviews)
    usage = pl.read_csv(inbox.root / "usage" / f"usage-{bad}.csv")
    changes = pl.read_csv(inbox.root / "changes" / f"changes-{bad}.csv")
    assert "o1" in usage["model"].to_list()
    assert "o1" not in changes["version"].to_list()


def test_usage_scale_option_writes_exactly_n_rows_per_week(tmp_path: Path) -> None:
    """With usage_rows_per_week=N every week's usage file holds exactly N data rows."""
    result = generate_inbox(tmp_path, weeks=4, usage_rows_per_week=50_000)
    for week in result.weeks:
        (path,) = [p for p in result.files_by_week[week] if p.parent.name == "usage"]
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
        assert frame.height == 50_000, path
    assert result.rows["usage"] == 4 * 50_000


def test_file_mtimes_are_the_export_time_and_increase_with_week(inbox: GeneratedInbox) -> None:
    """Every file's mtime is the Monday 06:00 UTC after its week, so later weeks are newer."""
    exports = []
    for week in inbox.weeks:
        mtimes = {int(p.stat().st_mtime) for p in inbox.files_by_week[week]}
        assert len(mtimes) == 1
        exports.append(mtimes.pop())
    assert exports == sorted(exports) and len(set(exports)) == len(exports)
    assert all(e % 86400 == 6 * 3600 for e in exports)
