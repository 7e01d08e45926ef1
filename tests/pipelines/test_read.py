"""Raw reading of inbox files: formats, encodings, delimiters, refusals and line numbers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.read import LINE, RefusedFile, read_raw


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("delimiter", "name"),
    [(",", "comma.csv"), (";", "semicolon.csv"), ("\t", "tab.csv"), ("\t", "tab.tsv")],
)
def test_csv_delimiter_is_sniffed(tmp_path: Path, delimiter: str, name: str) -> None:
    """It splits CSV columns on whichever delimiter the file uses."""
    text = delimiter.join(["id", "note"]) + "\n" + delimiter.join(["r1", "a b"]) + "\n"
    text += delimiter.join(["r2", "c"]) + "\n"
    fmt, frame = read_raw(_write(tmp_path, name, text.encode()))
    assert fmt == "csv"
    assert frame.columns == [LINE, "id", "note"]
    assert frame.select("id", "note").rows() == [("r1", "a b"), ("r2", "c")]


def test_semicolon_csv_with_decimal_commas_keeps_cells_whole(tmp_path: Path) -> None:
    """It picks the semicolon over commas that only appear inside values."""
    data = b"id;amount;n\nr1;1,5;2\nr2;4,25;3\n"
    _, frame = read_raw(_write(tmp_path, "eu.csv", data))
    assert frame.select("id", "amount", "n").rows() == [("r1", "1,5", "2"), ("r2", "4,25", "3")]


def test_csv_line_numbers_count_the_header_as_line_one(tmp_path: Path) -> None:
    """It numbers the first CSV record line 2 because the header is line 1."""
    _, frame = read_raw(_write(tmp_path, "a.csv", b"id\nr1\nr2\nr3\n"))
    assert frame.get_column(LINE).to_list() == [2, 3, 4]


@pytest.mark.parametrize(
    "data",
    [b"id,n\nr1,1\n\nr2,2\n", b'id,note\nr1,"a, b"\n\nr2,c\n'],
    ids=["plain", "quoted-cells"],
)
def test_csv_blank_line_keeps_later_line_numbers_true(tmp_path: Path, data: bytes) -> None:
    """It keeps the file's own line numbers for records that follow a blank line, with or
    without quoted cells in the file."""
    _, frame = read_raw(_write(tmp_path, "a.csv", data))
    rows = dict(zip(frame["id"].to_list(), frame[LINE].to_list(), strict=True))
    assert rows["r1"] == 2
    assert rows["r2"] == 4


def test_csv_quoted_cells_on_one_line_keep_simple_line_numbers(tmp_path: Path) -> None:
    """It numbers records line by line when quotes appear but no cell spans lines."""
    _, frame = read_raw(_write(tmp_path, "a.csv", b'id,note\nr1,"a, b"\nr2,c\nr3,"d"\n'))
    assert frame.get_column(LINE).to_list() == [2, 3, 4]
    assert frame["note"].to_list() == ["a, b", "c", "d"]


def test_csv_cell_spanning_lines_keeps_later_line_numbers_true(tmp_path: Path) -> None:
    """It numbers each record by the line it starts on when a quoted cell spans two lines."""
    data = b'id,note\nr1,"two\nlines"\nr2,c\nr3,d\n'
    _, frame = read_raw(_write(tmp_path, "a.csv", data))
    rows = dict(zip(frame["id"].to_list(), frame[LINE].to_list(), strict=True))
    assert rows == {"r1": 2, "r2": 4, "r3": 5}
    assert frame["note"].to_list() == ["two\nlines", "c", "d"]


def test_utf8_bom_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    """It strips a UTF-8 byte order mark so the first column keeps its plain name."""
    _, frame = read_raw(_write(tmp_path, "bom.csv", "\ufeffid,name\nr1,Zoë\n".encode()))
    assert frame.columns == [LINE, "id", "name"]
    assert frame.row(0) == (2, "r1", "Zoë")


def test_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    """It reads a UTF-16 CSV (with byte order mark) such as spreadsheet exports produce."""
    data = "id;name\nr1;Zoë\nr2;Jürgen\n".encode("utf-16")
    assert data.startswith((b"\xff\xfe", b"\xfe\xff"))
    fmt, frame = read_raw(_write(tmp_path, "u16.csv", data))
    assert fmt == "csv"
    assert frame.select("id", "name").rows() == [("r1", "Zoë"), ("r2", "Jürgen")]
    assert frame[LINE].to_list() == [2, 3]


def test_latin1_reads_with_its_declared_encoding(tmp_path: Path) -> None:
    """It decodes a Latin-1 CSV when the source declares that encoding."""
    path = _write(tmp_path, "lat.csv", "id,name\nr1,café\n".encode("latin-1"))
    _, frame = read_raw(path, "latin-1")
    assert frame.select("id", "name").rows() == [("r1", "café")]


def test_latin1_is_refused_without_a_declared_encoding(tmp_path: Path) -> None:
    """It refuses undecodable bytes and tells the user to declare the encoding."""
    path = _write(tmp_path, "lat.csv", "id,name\nr1,café\n".encode("latin-1"))
    with pytest.raises(RefusedFile, match=r"cannot decode as UTF-8.*encoding"):
        read_raw(path)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.csv", b"", "empty file"),
        ("blank.csv", b"  \n\n", "empty file"),
        ("header.csv", b"id,name\n", "no data rows"),
        ("garbage.csv", bytes(range(256)) * 4, "binary content"),
        ("empty.json", b"[]", "empty file"),
        ("empty.jsonl", b"", "empty file"),
    ],
)
def test_files_without_records_are_refused(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    """It refuses empty, header-only and binary files with a reason."""
    with pytest.raises(RefusedFile, match=reason):
        read_raw(_write(tmp_path, name, data))


def test_json_array_under_json_extension(tmp_path: Path) -> None:
    """It reads a `.json` array of records, cells as text, nested values as JSON text."""
    data = b'[{"id": "r1", "n": 1, "ok": true, "meta": {"k": 1}}, {"id": "r2", "n": null}]'
    fmt, frame = read_raw(_write(tmp_path, "a.json", data))
    assert fmt == "json"
    assert frame.columns == [LINE, "id", "n", "ok", "meta"]
    assert frame.rows() == [(1, "r1", "1", "true", '{"k": 1}'), (2, "r2", None, None, None)]


def test_json_lines_under_json_extension(tmp_path: Path) -> None:
    """It reads a `.json` file holding one record per line as JSON Lines, one line per record."""
    fmt, frame = read_raw(_write(tmp_path, "a.json", b'{"id": "r1"}\n{"id": "r2"}\n'))
    assert fmt == "jsonl"
    assert frame.select(LINE, "id").rows() == [(1, "r1"), (2, "r2")]


def test_json_lines_line_numbers_survive_blank_lines(tmp_path: Path) -> None:
    """It gives a JSON Lines record after a blank line its real line number in the file."""
    _, frame = read_raw(_write(tmp_path, "a.jsonl", b'{"id": "r1"}\n\n{"id": "r2"}\n'))
    assert frame.select(LINE, "id").rows() == [(1, "r1"), (3, "r2")]


def test_json_lines_line_numbers_survive_a_blank_first_line(tmp_path: Path) -> None:
    """It counts a blank first line (spaces only) as line 1 of a JSON Lines file."""
    _, frame = read_raw(_write(tmp_path, "a.jsonl", b' \t\n{"id": "r1"}\n{"id": "r2"}\n'))
    assert frame.select(LINE, "id").rows() == [(2, "r1"), (3, "r2")]


def test_json_array_with_utf8_bom(tmp_path: Path) -> None:
    """It reads a `.json` array that starts with a UTF-8 byte order mark."""
    fmt, frame = read_raw(_write(tmp_path, "a.json", b'\xef\xbb\xbf[{"id": "r1"}]'))
    assert (fmt, frame.select(LINE, "id").rows()) == ("json", [(1, "r1")])


@pytest.mark.parametrize("name", ["a.jsonl", "a.json"])
def test_json_lines_with_utf8_bom(tmp_path: Path, name: str) -> None:
    """It reads JSON Lines that start with a UTF-8 byte order mark."""
    data = b'\xef\xbb\xbf{"id": "r1"}\n{"id": "r2"}\n'
    fmt, frame = read_raw(_write(tmp_path, name, data))
    assert (fmt, frame.select(LINE, "id").rows()) == ("jsonl", [(1, "r1"), (2, "r2")])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{\n  "id": "r1",\n  "n": 2\n}\n', "holds one object \\(keys: id, n\\)"),
        (b"[1, 2, 3]", "not records"),
        (b'[{"id": "r1"},', "not valid JSON"),
        (b'{"id": "r1"}\nnot json\n', "not valid JSON Lines"),
    ],
)
def test_json_that_is_not_records_is_refused(tmp_path: Path, data: bytes, reason: str) -> None:
    """It refuses a JSON object document, an array of non-records and broken JSON."""
    with pytest.raises(RefusedFile, match=reason):
        read_raw(_write(tmp_path, "a.json", data))


def test_parquet_keeps_its_types(tmp_path: Path) -> None:
    """It reads Parquet with its own column types and numbers rows from 1."""
    path = tmp_path / "a.parquet"
    pl.DataFrame({"ID": ["r1", "r2"], "n": [1, 2]}).write_parquet(path)
    fmt, frame = read_raw(path)
    assert fmt == "parquet"
    assert frame.columns == [LINE, "id", "n"]
    assert frame.schema["n"] == pl.Int64
    assert frame.rows() == [(1, "r1", 1), (2, "r2", 2)]


def test_corrupt_parquet_is_refused(tmp_path: Path) -> None:
    """It refuses a `.parquet` file that is not Parquet."""
    with pytest.raises(RefusedFile, match="not a readable Parquet file"):
        read_raw(_write(tmp_path, "a.parquet", b"id,n\nr1,1\n"))


def test_column_names_are_trimmed_and_lowercased(tmp_path: Path) -> None:
    """It matches columns case- and space-insensitively by normalising their names."""
    _, frame = read_raw(_write(tmp_path, "a.csv", b" Request_ID ,Model\nr1,m\n"))
    assert frame.columns == [LINE, "request_id", "model"]


def test_repeated_column_names_differing_in_case_are_refused(tmp_path: Path) -> None:
    """It refuses a file whose column names collide once case and spaces are ignored."""
    with pytest.raises(RefusedFile, match=r"repeated column name\(s\) \['id'\]"):
        read_raw(_write(tmp_path, "a.csv", b"id,ID ,n\nr1,r2,3\n"))


def test_exactly_repeated_column_names_are_refused(tmp_path: Path) -> None:
    """It refuses a CSV whose header names the same column twice."""
    with pytest.raises(RefusedFile, match="repeated column name"):
        read_raw(_write(tmp_path, "a.csv", b"id,id,n\nr1,r2,3\n"))


@pytest.mark.parametrize("name", ["a.xml", "noextension"])
def test_unsupported_extension_is_refused(tmp_path: Path, name: str) -> None:
    """It refuses file types it has no reader for and names the expected ones."""
    with pytest.raises(RefusedFile, match=r"unsupported file type.*\.csv"):
        read_raw(_write(tmp_path, name, b"id,n\nr1,1\n"))


def test_text_named_xlsx_is_refused_as_no_workbook(tmp_path: Path) -> None:
    """It refuses a text file named .xlsx as not a readable workbook, saying how to fix it."""
    with pytest.raises(RefusedFile, match=r"not a readable Excel workbook.*save it again"):
        read_raw(_write(tmp_path, "a.xlsx", b"id,n\nr1,1\n"))


def test_ragged_csv_marks_the_long_row(tmp_path: Path) -> None:
    """It reads a CSV whose record has more fields than its header and marks that line bad."""
    from pipelines.read import READ_ERRORS

    _, frame = read_raw(_write(tmp_path, "a.csv", b"id,n\nr1,1,extra\nr2,2\n"))
    assert frame.select(LINE, READ_ERRORS).rows() == [
        (2, "row has 3 cells, the header has 2"),
        (3, None),
    ]
