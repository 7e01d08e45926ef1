"""Preparing one inbox file: in-file duplicates, counts that add up, and refusals that never raise."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from flows.ingest import prepare_file
from models.operating_model import OperatingModel, SourceSettings
from pipelines.prepare import InboxFile, list_inbox, repeated_line_numbers
from pipelines.read import LINE, file_sha256

NOW = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
USAGE_HEADER = "request_id,timestamp,model,input_tokens,output_tokens,status\n"


def _inbox_file(tmp_path: Path, name: str, data: str | bytes, source: str = "usage") -> InboxFile:
    folder = tmp_path / source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return InboxFile(source, path, f"{source}/{name}", file_sha256(path), NOW)


def _usage_line(request_id: str, tokens: str = "100", when: str = "2026-07-01T10:00:00Z") -> str:
    return f"{request_id},{when},gpt-4o,{tokens},10,ok\n"


def test_exact_duplicate_lines_count_as_duplicates_and_the_first_is_kept(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It keeps the first of identical lines and counts the repeats as duplicates."""
    text = (
        USAGE_HEADER
        + _usage_line("r1")  # line 2
        + _usage_line("r1")  # 3: exact repeat
        + _usage_line("r2", tokens="-1")  # 4: quarantined
        + _usage_line("r1")  # 5: exact repeat
        + _usage_line("r3")  # 6
    )
    prepared = prepare_file(_inbox_file(tmp_path, "a.csv", text), example_model, NOW)
    assert prepared.refused is None
    assert prepared.format == "csv"
    assert prepared.rows_read == 5
    assert prepared.rows_duplicate_in_file == 2
    assert prepared.valid[LINE].to_list() == [2, 6]
    assert prepared.valid["request_id"].to_list() == ["r1", "r3"]
    assert prepared.quarantined[LINE].to_list() == [4]
    assert prepared.quarantined["reasons"].to_list() == [["input_tokens is negative: -1"]]
    assert (
        prepared.rows_read
        == prepared.valid.height + prepared.quarantined.height + prepared.rows_duplicate_in_file
    )


def test_same_key_with_different_content_is_quarantined_not_deduplicated(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It quarantines both rows when one key carries two different contents in one file."""
    text = USAGE_HEADER + _usage_line("r1") + _usage_line("r1", tokens="101")
    prepared = prepare_file(_inbox_file(tmp_path, "a.csv", text), example_model, NOW)
    assert prepared.rows_read == 2
    assert prepared.rows_duplicate_in_file == 0
    assert prepared.valid.height == 0
    assert prepared.quarantined[LINE].to_list() == [2, 3]


def _raw_rows(rows: list[tuple[str | None, ...]], columns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=dict.fromkeys(columns, pl.String), orient="row"
    ).with_row_index(LINE, offset=2)


def test_repeated_lines_need_every_cell_equal_not_just_the_key() -> None:
    """It counts a line as repeated only when every cell matches an earlier line, even where
    the key (or a first column of few values) repeats with other content."""
    columns = ["status", "request_id", "model"]
    rows = [
        ("ok", "r1", "a"),  # 2
        ("ok", "r1", "b"),  # 3: same key, other content
        ("ok", "r2", "a"),  # 4
        ("ok", "r1", "a"),  # 5: repeats line 2
        (None, "r3", None),  # 6
        (None, "r3", None),  # 7: repeats line 6, nulls included
        ("ok", "r1", "b"),  # 8: repeats line 3
    ]
    raw = _raw_rows(rows, columns)
    assert repeated_line_numbers(raw, columns).to_list() == [5, 7, 8]
    # No column is a key: narrowed by the other columns, same answer.
    renamed = raw.rename({"request_id": "id"})
    assert repeated_line_numbers(renamed, ["status", "id", "model"]).to_list() == [5, 7, 8]


def test_hash_collisions_never_make_a_repeated_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """It compares suspect rows cell by cell, so rows whose hashes all collide stay distinct."""
    import pipelines.prepare as ingest

    monkeypatch.setattr(ingest, "_hash_repeats", lambda h: pl.repeat(True, h.len(), eager=True))
    columns = ["request_id", "model"]
    raw = _raw_rows([("r1", "a"), ("r2", "a"), ("r1", "b"), ("r1", "a")], columns)
    assert repeated_line_numbers(raw, columns).to_list() == [5]


def test_quarantined_rows_keep_the_raw_cells(tmp_path: Path, example_model: OperatingModel) -> None:
    """It stores a quarantined row as the file had it, so the user can find and fix it."""
    text = USAGE_HEADER + _usage_line("bad", tokens="lots")
    prepared = prepare_file(_inbox_file(tmp_path, "a.csv", text), example_model, NOW)
    row = prepared.quarantined.row(0, named=True)
    assert row[LINE] == 2
    assert '"input_tokens":"lots"' in row["raw"]
    assert row["reasons"][0] == "input_tokens: lots is not a whole number"


@pytest.mark.parametrize(
    ("lines", "read", "valid", "quarantined", "duplicate"),
    [
        ([_usage_line("a"), _usage_line("b")], 2, 2, 0, 0),
        ([_usage_line("a"), _usage_line("a"), _usage_line("a")], 3, 1, 0, 2),
        ([_usage_line("a", "-1"), _usage_line("a", "-1"), _usage_line("b")], 3, 1, 1, 1),
        ([_usage_line("a", "x"), _usage_line("b", "y")], 2, 0, 2, 0),
    ],
)
def test_counts_add_up(
    tmp_path: Path,
    example_model: OperatingModel,
    lines: list[str],
    read: int,
    valid: int,
    quarantined: int,
    duplicate: int,
) -> None:
    """It accounts for every row read as valid, quarantined or duplicate."""
    prepared = prepare_file(
        _inbox_file(tmp_path, "a.csv", USAGE_HEADER + "".join(lines)), example_model, NOW
    )
    counts = (
        prepared.rows_read,
        prepared.valid.height,
        prepared.quarantined.height,
        prepared.rows_duplicate_in_file,
    )
    assert counts == (read, valid, quarantined, duplicate)
    assert read == valid + quarantined + duplicate


def test_valid_usage_is_priced_and_hashed(tmp_path: Path, example_model: OperatingModel) -> None:
    """It prices valid usage rows and gives each a content hash for re-ingest detection."""
    text = USAGE_HEADER + _usage_line("a") + _usage_line("b", tokens="200")
    prepared = prepare_file(_inbox_file(tmp_path, "a.csv", text), example_model, NOW)
    assert prepared.valid["price_source"].str.starts_with("genai-prices").all()
    assert prepared.valid["model_cost_usd"].to_list() == pytest.approx(
        [(100 * 2.5 + 10 * 10.0) / 1e6, (200 * 2.5 + 10 * 10.0) / 1e6]
    )
    hashes = prepared.valid["row_hash"].to_list()
    assert len(set(hashes)) == 2
    again = prepare_file(_inbox_file(tmp_path, "b.csv", text), example_model, NOW)
    assert again.valid["row_hash"].to_list() == hashes


def test_weeks_are_iso_weeks_in_the_pilot_timezone(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It lists the Berlin ISO weeks a file holds rows of (Sunday 23:30 UTC is Monday in Berlin)."""
    text = (
        USAGE_HEADER
        + _usage_line("a", when="2026-07-05T21:30:00Z")  # Sunday 23:30 Berlin: W27
        + _usage_line("b", when="2026-07-05T22:30:00Z")  # Monday 00:30 Berlin: W28
    )
    prepared = prepare_file(_inbox_file(tmp_path, "a.csv", text), example_model, NOW)
    assert prepared.weeks == ["2026-W27", "2026-W28"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.csv", "x,y\n1,2\n", "missing required column(s): request_id"),
        ("a.csv", "", "empty file"),
        ("a.csv", USAGE_HEADER, "no data rows"),
        ("a.xlsx", USAGE_HEADER + _usage_line("a"), "not a readable Excel workbook"),
        ("a.xml", USAGE_HEADER + _usage_line("a"), "unsupported file type '.xml'"),
        ("a.json", '{"data": [1, 2]', "not valid JSON"),
        ("a.csv", b"\x00\x01\x02garbage\x00", "binary content"),
        ("a.csv", b"request_id,timestamp\nr1," + bytes(range(128, 256)) * 20, "cannot decode"),
    ],
)
def test_refused_file_returns_a_reason_and_never_raises(
    tmp_path: Path, example_model: OperatingModel, name: str, data: str | bytes, reason: str
) -> None:
    """It returns a refused file with the reason instead of raising."""
    prepared = prepare_file(_inbox_file(tmp_path, name, data), example_model, NOW)
    assert prepared.refused is not None
    assert reason in prepared.refused
    assert prepared.valid.height == 0
    assert prepared.quarantined.height == 0


def test_declared_encoding_reaches_the_reader(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It reads a Latin-1 file when the operating model declares that encoding for the source."""
    operating_model = example_model.model_copy(
        update={"sources": {"usage": SourceSettings(encoding="latin-1")}}
    )
    data = (USAGE_HEADER + "réq-1,2026-07-01T10:00:00Z,gpt-4o,1,1,ok\n").encode("latin-1")
    prepared = prepare_file(_inbox_file(tmp_path, "a.csv", data), operating_model, NOW)
    assert prepared.refused is None
    assert prepared.valid["request_id"].to_list() == ["réq-1"]


def test_unknown_adapter_is_refused(tmp_path: Path, example_model: OperatingModel) -> None:
    """It refuses a file whose source is set to a format without an adapter."""
    operating_model = example_model.model_copy(
        update={"sources": {"usage": SourceSettings(format="no-such-vendor")}}
    )
    prepared = prepare_file(
        _inbox_file(tmp_path, "a.csv", USAGE_HEADER + _usage_line("a")), operating_model, NOW
    )
    assert prepared.refused is not None
    assert "no-such-vendor" in prepared.refused


def test_list_inbox_finds_source_files_oldest_first(tmp_path: Path) -> None:
    """It lists files per source folder, hidden files marked as such (never read, known by
    their path and time rather than their bytes), oldest export first."""
    newer = _inbox_file(tmp_path, "new.csv", USAGE_HEADER)
    older = _inbox_file(tmp_path, "old.csv", USAGE_HEADER, source="tickets")
    hidden = _inbox_file(tmp_path, ".hidden.csv", USAGE_HEADER)
    _inbox_file(tmp_path, "x.csv", USAGE_HEADER, source="not_a_source")
    os.utime(older.path, (1_700_000_000, 1_700_000_000))
    os.utime(newer.path, (1_800_000_000, 1_800_000_000))
    os.utime(hidden.path, (1_900_000_000, 1_900_000_000))
    found = list_inbox(tmp_path)
    assert [f.relative_path for f in found] == [
        "tickets/old.csv",
        "usage/new.csv",
        "usage/.hidden.csv",
    ]
    assert [f.hidden for f in found] == [False, False, True]
    assert found[0].exported_at == dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)
    assert found[1].sha256 == file_sha256(newer.path)
    assert found[2].sha256 != file_sha256(hidden.path)


def test_ticket_free_text_is_not_kept_in_the_quarantine(tmp_path, example_model):
    """It keeps only canonical input columns of a quarantined row unless configured otherwise."""
    import datetime as dt

    from flows.ingest import prepare_file
    from models.operating_model import SourceSettings
    from pipelines.prepare import InboxFile
    from pipelines.read import file_sha256

    path = tmp_path / "tickets.csv"
    path.write_text(
        "ticket_id,created_at,status,category,ai_draft_used,subject,body\n"
        "T-1,2026-10-05T10:00:00Z,open,password_reset,maybe,Locked out,My card 4111 is blocked\n"
    )
    file = InboxFile(
        "tickets", path, "tickets/tickets.csv", file_sha256(path), dt.datetime.now(dt.UTC)
    )
    prepared = prepare_file(file, example_model)
    raw = prepared.quarantined["raw"].item()
    assert "4111" not in raw and "subject" not in raw and '"ticket_id":"T-1"' in raw

    keeping = example_model.model_copy(
        update={"sources": {"tickets": SourceSettings(keep_extra_columns=True)}}
    )
    assert "4111" in prepare_file(file, keeping).quarantined["raw"].item()


@pytest.mark.parametrize(
    "timezone", ["UTC", "Europe/Berlin", "Asia/Kathmandu", "America/St_Johns", "Asia/Kolkata"]
)
@pytest.mark.parametrize("year", [2026, 1890])  # 1890: Kolkata's local mean time, +5:53:20
def test_a_file_s_weeks_are_those_of_its_rows_even_a_second_past_local_midnight(
    timezone: str, year: int
) -> None:
    """It finds every week a row falls in, one row a second after local Sunday midnight
    included, and no week that only a neighbouring row's 15-minute span reaches."""
    from zoneinfo import ZoneInfo

    from pipelines.prepare import _weeks
    from pipelines.weeks import week_expr

    zone = ZoneInfo(timezone)
    first_monday = dt.date(year, 7, 1) + dt.timedelta(days=-dt.date(year, 7, 1).weekday() % 7)
    monday = dt.datetime.combine(first_monday, dt.time(), zone).astimezone(dt.UTC)  # week start
    instants = [
        monday - dt.timedelta(days=2),
        monday - dt.timedelta(seconds=1),  # the last second of the week before
        monday + dt.timedelta(seconds=1),  # alone in its week, in the same span as the one before
        monday + dt.timedelta(days=7, minutes=-20),  # within the week, near its end
        monday + dt.timedelta(days=21, hours=3),
    ]
    for rows in (instants, instants[:2], instants[1:3], instants[2:3]):
        frame = pl.DataFrame(
            {"timestamp": [*rows, None]}, schema={"timestamp": pl.Datetime("us", "UTC")}
        )
        expected = set(
            frame.select(week_expr("timestamp", timezone)).to_series().drop_nulls().to_list()
        )
        assert _weeks(frame, "usage", timezone) == sorted(expected)
    assert len(_weeks(pl.DataFrame({"timestamp": instants}), "usage", timezone)) == 3
