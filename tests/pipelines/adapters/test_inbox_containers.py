"""Files that are not text: archives refused by what their bytes say they are, and Excel
workbooks (.xlsx) read from their first sheet like a CSV export."""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import io
import lzma
import re
import shutil
import tarfile
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from typer.testing import CliRunner

from flows.cli import app
from pipelines.read import LINE, RefusedFile, read_raw
from tests.pipelines.adapters.conftest import VENDOR, Prepare

runner = CliRunner()

USAGE = (
    "request_id,timestamp,model,input_tokens,output_tokens,cached_input_tokens,status\n"
    "r1,2026-10-05T10:00:00Z,gpt-4o,100,20,0,ok\n"
)
FRESHDESK = VENDOR / "freshdesk" / "tickets-export.csv"
TOGGL = VENDOR / "toggl" / "toggl_detailed_pilot.csv"


def _zip(inner: str = "usage.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(inner, USAGE)
    return buffer.getvalue()


def _tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("usage.csv")
        info.size = len(USAGE)
        archive.addfile(info, io.BytesIO(USAGE.encode()))
    return buffer.getvalue()


# The smallest 7z archive (signature, version, empty header), written here as 7-Zip writes it.
_SEVEN_ZIP = b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24)

ARCHIVES = {
    "zip": (_zip, "a ZIP archive"),
    "gzip": (lambda: gzip.compress(USAGE.encode()), "a gzip archive"),
    "7z": (lambda: _SEVEN_ZIP, "a 7z archive"),
    "bzip2": (lambda: bz2.compress(USAGE.encode()), "a bzip2 archive"),
    "xz": (lambda: lzma.compress(USAGE.encode()), "an xz archive"),
    "tar": (_tar, "a tar archive"),
}


@pytest.mark.parametrize("kind", sorted(ARCHIVES))
def test_an_archive_named_csv_is_refused_as_the_archive_it_is(tmp_path: Path, kind: str) -> None:
    """It names the archive by its bytes, not its name, and says to unpack it."""
    make, words = ARCHIVES[kind]
    path = tmp_path / "usage.csv"
    path.write_bytes(make())
    with pytest.raises(RefusedFile) as refused:
        read_raw(path)
    assert str(refused.value) == (
        f"{words}, not a text CSV file; unpack it and put the CSV in the inbox"
    )


def test_an_archive_under_its_own_name_is_refused_as_an_archive(
    prepare: Prepare, tmp_path: Path
) -> None:
    """It refuses `x.zip` in the inbox as a ZIP archive to unpack, not as an unknown type."""
    path = tmp_path / "usage.zip"
    path.write_bytes(_zip())
    prepared = prepare("usage", path)
    assert prepared.refused == (
        "a ZIP archive, not an input file; unpack it and put its CSV, JSON or Parquet files "
        "in the inbox"
    )


def test_a_text_file_of_an_unknown_type_is_still_refused_by_its_extension(
    prepare: Prepare, tmp_path: Path
) -> None:
    """It names the extension and the readable ones for a text file of another type."""
    path = tmp_path / "usage.xml"
    path.write_text("<usage/>")
    prepared = prepare("usage", path)
    assert prepared.refused == (
        "unsupported file type '.xml'; expected .csv, .jsonl, .json, .parquet or .xlsx"
    )


def test_check_names_a_zip_archive_in_place_of_a_csv(tmp_path: Path) -> None:
    """`check` refuses a ZIP named .csv as a ZIP archive (exit 1), not as binary content."""
    path = tmp_path / "usage" / "x.csv"
    path.parent.mkdir()
    path.write_bytes(_zip())
    result = runner.invoke(app, ["check", "--source", "usage", str(path)])
    assert result.exit_code == 1
    assert (
        f"{path}: refused: a ZIP archive, not a text CSV file; unpack it and put the CSV in "
        "the inbox"
    ) in result.stdout
    assert "NUL bytes" not in result.stdout


# --- .xlsx ------------------------------------------------------------------------------------

_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DURATION = re.compile(r"(\d{2}):(\d{2}):(\d{2})")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_as_workbook(csv_path: Path, xlsx_path: Path, *, blank_row_after: int | None = None) -> None:
    """Write a CSV export as a help desk's or time tracker's .xlsx export: one sheet with typed
    cells (numbers, dates, date-times and [h]:mm:ss durations or times as Excel stores them, the
    rest as text), and a second sheet that must not be read. `blank_row_after` leaves an empty
    sheet row after that line."""
    frame = pl.read_csv(csv_path, infer_schema=False)
    workbook = xlsxwriter.Workbook(xlsx_path)
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    duration = workbook.add_format({"num_format": "[h]:mm:ss"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet("Tickets")
    sheet.write_row(0, 0, frame.columns)
    row = 1
    for line, record in enumerate(frame.iter_rows(), start=2):
        for column, cell in enumerate(record):
            if cell is None:
                continue
            if _MOMENT.fullmatch(cell):
                sheet.write_datetime(row, column, dt.datetime.fromisoformat(cell), moment)
            elif _DAY.fullmatch(cell):
                sheet.write_datetime(row, column, dt.datetime.fromisoformat(cell), day)
            elif match := _DURATION.fullmatch(cell):
                hours, minutes, seconds = (int(part) for part in match.groups())
                span = dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
                sheet.write_number(row, column, span / dt.timedelta(days=1), duration)
            elif _NUMBER.fullmatch(cell):
                sheet.write_number(row, column, float(cell))
            else:
                sheet.write_string(row, column, cell)
        row += 2 if line == blank_row_after else 1
    workbook.add_worksheet("Summary").write(0, 0, "not tickets")
    workbook.close()


def _freshdesk(prepare: Prepare, path: Path):
    return prepare(
        "tickets",
        path,
        ai_draft_tags=["ai_draft_used"],
        draft_outcome_tags={"ai_draft_edited": "edited"},
    )


def test_an_xlsx_ticket_export_loads_the_same_rows_as_its_csv(
    prepare: Prepare, tmp_path: Path
) -> None:
    """It reads the first sheet of an .xlsx Freshdesk export with typed cells into the same
    stored rows (values and row hashes), quarantines and lines as the CSV export."""
    xlsx = tmp_path / "tickets-export.xlsx"
    csv_as_workbook(FRESHDESK, xlsx)
    from_csv = _freshdesk(prepare, FRESHDESK)
    from_xlsx = _freshdesk(prepare, xlsx)

    assert from_xlsx.refused is None
    assert from_xlsx.format == "xlsx" and from_xlsx.adapter == "freshdesk_csv"
    assert from_xlsx.rows_read == from_csv.rows_read == 6
    assert from_xlsx.weeks == from_csv.weeks
    assert from_xlsx.week_rows == from_csv.week_rows
    assert from_xlsx.valid.sort(LINE).equals(from_csv.valid.sort(LINE))
    assert (
        from_xlsx.quarantined.select(LINE, "reasons")
        .sort(LINE)
        .equals(from_csv.quarantined.select(LINE, "reasons").sort(LINE))
    )
    assert from_xlsx.valid["handle_minutes"].to_list() == [18.5, None, 62.05]


def test_an_xlsx_timesheet_export_with_date_and_time_cells_loads_like_its_csv(
    prepare: Prepare, tmp_path: Path
) -> None:
    """It reads a Toggl export's date cells as dates and its time cells as times of day, so the
    .xlsx loads the same rows and quarantines as the CSV."""
    xlsx = tmp_path / "toggl_detailed_pilot.xlsx"
    csv_as_workbook(TOGGL, xlsx)
    options = {"default_activity": "other", "ticket_id_pattern": r"ZD#\d+"}
    from_csv = prepare("timesheets", TOGGL, **options)
    from_xlsx = prepare("timesheets", xlsx, **options)
    assert from_xlsx.refused is None and from_xlsx.adapter == from_csv.adapter
    assert (from_xlsx.valid.height, from_xlsx.quarantined.height) == (6, 2)
    assert from_xlsx.valid.sort(LINE).equals(from_csv.valid.sort(LINE))
    assert from_xlsx.quarantined.select(LINE, "reasons").sort(LINE).rows() == (
        from_csv.quarantined.select(LINE, "reasons").sort(LINE).rows()
    )


def test_xlsx_lines_are_sheet_rows_and_empty_rows_hold_no_record(tmp_path: Path) -> None:
    """It numbers rows as the sheet does (header = row 1) and skips an empty row."""
    xlsx = tmp_path / "tickets.xlsx"
    csv_as_workbook(FRESHDESK, xlsx, blank_row_after=3)
    fmt, frame = read_raw(xlsx)
    assert fmt == "xlsx"
    assert frame[LINE].to_list() == [2, 3, 5, 6, 7, 8]
    assert frame["ticket id"].to_list() == ["1001", "1002", "1003", "1004", "1005", "1006"]
    assert frame["created time"][0] == "2026-10-05 09:12:00"
    assert frame["time tracked"][0] == "00:18:30"


def test_an_xlsx_named_csv_is_read_as_the_workbook_it_is(tmp_path: Path) -> None:
    """It reads a workbook saved under a .csv name as a workbook, by its bytes."""
    xlsx = tmp_path / "tickets.xlsx"
    csv_as_workbook(FRESHDESK, xlsx)
    named_csv = tmp_path / "tickets.csv"
    shutil.copyfile(xlsx, named_csv)
    fmt, frame = read_raw(named_csv)
    assert fmt == "xlsx"
    assert frame.height == 6


def test_an_xlsx_under_another_extension_is_named_with_the_fix(
    prepare: Prepare, tmp_path: Path
) -> None:
    """It refuses a workbook saved as `.xls` naming it a workbook and asking for .xlsx."""
    xls = tmp_path / "tickets.xls"
    csv_as_workbook(FRESHDESK, xls)
    prepared = prepare("tickets", xls)
    assert prepared.refused == (
        "an Excel workbook (.xlsx) under a '.xls' name; rename it to .xlsx to have it read"
    )


def test_xlsx_with_a_repeated_header_is_refused_and_an_empty_sheet_named(tmp_path: Path) -> None:
    """It refuses an .xlsx whose header repeats a name, and one whose first sheet is empty."""
    repeated = tmp_path / "repeated.xlsx"
    workbook = xlsxwriter.Workbook(repeated)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["id", "id"])
    sheet.write_row(1, 0, ["a", "b"])
    workbook.close()
    with pytest.raises(RefusedFile, match=r"repeated column name\(s\) \['id'\]"):
        read_raw(repeated)
    empty = tmp_path / "empty.xlsx"
    workbook = xlsxwriter.Workbook(empty)
    workbook.add_worksheet("Export")
    workbook.close()
    with pytest.raises(RefusedFile, match="the first sheet, 'Export', is empty"):
        read_raw(empty)
