"""Raw input files read into polars frames, one row per input record, with its line number.

Format is decided by extension (and content for `.json`), except that content known by its
first bytes wins: an Excel workbook is read as one whatever its name, and an archive (ZIP, gzip,
7z, ...) is refused as such. CSV delimiter and BOM are sniffed. Every cell stays as the file had
it (text, or JSON/Parquet types); typing happens in `pipelines/normalize.py`. A file that cannot
be read raises `RefusedFile` with the reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import fastexcel
import numpy as np
import polars as pl

from pipelines import csv_lines

LINE = "__line__"
REPEATED_MARK = "__"  # `labels__2`: the second column named "labels" of a CSV header
# Optional text column: why a record could not be read whole (the row is quarantined for it).
READ_ERRORS = "__read_errors__"
FORMATS = ("csv", "jsonl", "json", "parquet", "xlsx")
_SNIFF_BYTES = 64 * 1024
TOO_DEEP = "JSON nested too deeply to read (more levels than any export has)"
_DELIMITERS = ",;\t|"


class RefusedFile(Exception):
    """A file that cannot be used at all; the message says why."""


class JsonDocument(RefusedFile):
    """A JSON file that is one object (an API page), not records: only an adapter reads it."""

    def __init__(self, message: str, value: object) -> None:
        super().__init__(message)
        self.value = value


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# Containers known by their first bytes (offset, magic, what the file is). A ZIP is looked into
# for an Excel workbook before it is called an archive.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"PK\x05\x06", "a ZIP archive (empty)"),
    (0, b"\x1f\x8b", "a gzip archive"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (0, b"\xfd7zXZ\x00", "an xz archive"),
    (0, b"BZh", "a bzip2 archive"),
    (0, b"\x28\xb5\x2f\xfd", "a Zstandard archive"),
    (0, b"Rar!\x1a\x07", "a RAR archive"),
    (257, b"ustar", "a tar archive"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel workbook (.xls) or other Office file"),
    (0, b"%PDF-", "a PDF document"),
)  # fmt: skip
_WORKBOOK = "an Excel workbook (.xlsx)"
_WHAT_WAS_EXPECTED = {
    "csv": "a text CSV file",
    "jsonl": "a text JSON Lines file",
    "json": "a text JSON file",
    "parquet": "a Parquet file",
}


def container_kind(path: Path, head: bytes) -> str | None:
    """What a file is when its first bytes say it is a container, not text or Parquet: an
    Excel workbook (`_WORKBOOK`), an archive or another document (e.g. "a ZIP archive");
    None for anything else."""
    for offset, magic, kind in _MAGIC:
        if head[offset : offset + len(magic)] != magic:
            continue
        # "BZh" may begin a text header: a bzip2 stream has its block level and block magic.
        if magic == b"BZh" and not (head[3:4].isdigit() and head[4:10] == b"1AY&SY"):
            continue
        if magic == b"PK\x03\x04" and _is_workbook(path):
            return _WORKBOOK
        return kind
    return None


def _is_workbook(path: Path) -> bool:
    """Whether a ZIP file is an Office Open XML workbook (it holds `xl/workbook.xml`)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _refuse_container(kind: str, fmt: str | None) -> RefusedFile:
    """The refusal of an archive or document found where an input file was expected."""
    if fmt is None:
        return RefusedFile(
            f"{kind}, not an input file; unpack it and put its CSV, JSON or Parquet files in "
            "the inbox"
        )
    if fmt == "xlsx":
        return RefusedFile(
            f"not a readable Excel workbook (.xlsx): {kind} without a workbook in it; save it "
            "again as .xlsx or as CSV"
        )
    expected = _WHAT_WAS_EXPECTED[fmt]
    if kind.startswith("an old-style Excel"):
        return RefusedFile(
            f"{kind}, not {expected}; save it as .xlsx or as CSV and put that in the inbox"
        )
    if kind == "a PDF document":
        return RefusedFile(f"{kind}, not {expected}; export the data as CSV instead")
    what = "the CSV" if fmt == "csv" else "the file"
    return RefusedFile(f"{kind}, not {expected}; unpack it and put {what} in the inbox")


def unsupported_reason(path: Path) -> str:
    """Why a file whose extension no reader takes is not read: what its first bytes say it is
    (an archive to unpack) when they say it, else its extension."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        return f"cannot open: {exc.strerror or exc}"
    kind = container_kind(path, head)
    if kind == _WORKBOOK:
        return (
            f"{kind} under a {path.suffix or '(none)'!r} name; rename it to .xlsx to have it read"
        )
    if kind is not None:
        return str(_refuse_container(kind, None))
    return f"unsupported file type {path.suffix or '(none)'!r}; expected {_EXPECTED_SUFFIXES}"


_EXPECTED_SUFFIXES = ".csv, .jsonl, .json, .parquet or .xlsx"


def detect_format(path: Path, head: bytes) -> str:
    """File format from its first bytes when they name a container (an Excel workbook is read,
    an archive is refused), else from its extension, and from its first byte for `.json`."""
    suffix = path.suffix.lower()
    by_name = _format_by_name(suffix, head)
    kind = container_kind(path, head)
    if kind == _WORKBOOK:
        return "xlsx"
    if kind is not None:
        raise _refuse_container(kind, by_name)
    if by_name is None:
        raise RefusedFile(
            f"unsupported file type {suffix or '(none)'!r}; expected {_EXPECTED_SUFFIXES}"
        )
    if by_name == "xlsx":
        raise RefusedFile(
            "not a readable Excel workbook (.xlsx): not a ZIP file holding a workbook; save it "
            "again as .xlsx or as CSV"
        )
    return by_name


def _format_by_name(suffix: str, head: bytes) -> str | None:
    if suffix in {".csv", ".tsv", ".txt"}:
        return "csv"
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    if suffix == ".json":
        text = (
            head.decode("utf-16", errors="ignore")
            if head.startswith((b"\xff\xfe", b"\xfe\xff"))
            else head.decode("utf-8", errors="ignore")
        )
        first = text.lstrip("\ufeff \t\r\n")[:1]
        return "json" if first == "[" else "jsonl"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix == ".xlsx":
        return "xlsx"
    return None


def _decode(data: bytes, encoding: str | None) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode(encoding or "utf-8-sig")
    except (UnicodeDecodeError, LookupError) as exc:
        raise RefusedFile(
            f"cannot decode as {encoding or 'UTF-8'} ({exc.reason if hasattr(exc, 'reason') else exc}); "
            "declare the file's encoding in sources.<source>.encoding"
        ) from exc


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample (comma when the sample is a single column)."""
    header = sample.splitlines()[0] if sample else ""
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in _DELIMITERS}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def _read_csv(
    path: Path,
    head: bytes,
    encoding: str | None,
    number_repeated: bool = False,
    unify: bool | None = None,
) -> pl.DataFrame:
    # A lone `\r` ending a line: the text is read with its line ends unified (csv_lines). Seen
    # in the sniffed head here; one further on makes polars fail, and the file is read again.
    # (UTF-16 and declared encodings are decoded in Python, and unified there anyway.)
    if unify is None:
        unify = b"\x00" not in head and csv_lines.lone_carriage_returns(head.rstrip(b"\r")) > 0
    needs_python_decode = (
        unify
        or (encoding not in (None, "utf-8", "utf8"))
        or head.startswith((b"\xff\xfe", b"\xfe\xff"))
    )
    if needs_python_decode:
        text = csv_lines.unify_line_ends(_decode(path.read_bytes(), encoding))
        source: Path | io.BytesIO = io.BytesIO(text.encode("utf-8"))
        sample = text[:_SNIFF_BYTES]
    else:
        if b"\x00" in head:
            raise RefusedFile("binary content (NUL bytes), not a text CSV file")
        try:
            # polars reads a bad header leniently; the rows it checks strictly itself.
            head.split(b"\n", 1)[0].decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RefusedFile(
                f"cannot decode the header as UTF-8 ({exc.reason}); "
                "declare the file's encoding in sources.<source>.encoding"
            ) from exc
        source = path
        # The sample may end inside a multi-byte character; invalid files fail in the reader.
        sample = head.decode("utf-8-sig", errors="replace")
    if not sample.strip():
        raise RefusedFile("empty file")
    delimiter = sniff_delimiter(sample[: sample.rfind("\n") + 1] or sample)
    try:
        frame = pl.read_csv(
            source,
            separator=delimiter,
            infer_schema=False,
            encoding="utf8",
            raise_if_empty=True,
        )
    except pl.exceptions.NoDataError as exc:
        raise RefusedFile("empty file") from exc
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "utf-8" in first.lower() or "utf8" in first.lower():
            raise RefusedFile(
                f"cannot decode as UTF-8 ({first}); "
                "declare the file's encoding in sources.<source>.encoding"
            ) from exc
        if not unify and csv_lines.file_has_lone_carriage_return(path):
            return _read_csv(path, head, encoding, number_repeated, unify=True)
        if "more fields" not in first:
            return _read_by_record(source, delimiter, first)
        # Rows with more cells than the header: read the rest, and mark those rows bad.
        frame = pl.read_csv(
            source, separator=delimiter, infer_schema=False, encoding="utf8",
            truncate_ragged_lines=True,
        )  # fmt: skip
        try:
            lines = _csv_lines(source, delimiter, frame.height)
            ragged = _ragged_lines(source, delimiter)
        except csv.Error:
            return _read_by_record(source, delimiter, first)
        errors = pl.Series(READ_ERRORS, [ragged.get(n) for n in lines], dtype=pl.String)
        return frame.with_columns(lines, errors).select(LINE, *frame.columns, READ_ERRORS)
    # polars renames a repeated name (`x_duplicated_0`): a column would silently vanish.
    repeated = sorted(
        {
            re.sub(r"_duplicated_\d+$", "", c)
            for c in frame.columns
            if re.search(r"_duplicated_\d+$", c)
        }
    )
    if repeated and not number_repeated:
        raise RefusedFile(f"repeated column name(s) {repeated}")
    if repeated:
        # Some exports repeat a header on purpose (Jira: one "Labels" column per label).
        frame = frame.rename(
            {
                c: re.sub(
                    r"_duplicated_(\d+)$", lambda m: f"{REPEATED_MARK}{int(m.group(1)) + 2}", c
                )
                for c in frame.columns
            }
        )
    # One chunk per column as before (later steps rely on it: a filter that empties a chunk
    # has made polars panic), then the line numbers put in front without another copy.
    return frame.rechunk().insert_column(0, _csv_lines(source, delimiter, frame.height))


def _read_by_record(source: Path | io.BytesIO, delimiter: str, first: str) -> pl.DataFrame:
    """A CSV file polars cannot read, read one record at a time: a record that still cannot be
    parsed is quarantined alone with its line (`csv_lines.read_by_record`)."""
    try:
        return csv_lines.read_by_record(csv_lines.unify_line_ends(_csv_text(source)), delimiter)
    except ValueError as exc:
        raise RefusedFile(f"not a readable CSV file: {first} ({exc})") from exc


def _csv_text(source: Path | io.BytesIO) -> str:
    data = source.getvalue() if isinstance(source, io.BytesIO) else source.read_bytes()
    return data.decode("utf-8-sig", errors="replace")


def _csv_lines(source: Path | io.BytesIO, delimiter: str, records: int) -> pl.Series:
    """The physical line where each record starts (header is line 1).

    Counted fast when no cell spans lines; else by walking the records with the csv module.
    """
    simple = pl.Series(LINE, range(2, records + 2), dtype=pl.UInt32)
    # Cheapest checks first: without a quote no cell spans lines, and when every line is one
    # record there is nothing to count. Only else are the blank lines (no record) counted.
    quoted, newlines = _quotes_and_lines(source)
    if not quoted or newlines == records + 1:
        return simple
    data = source.getvalue() if isinstance(source, io.BytesIO) else source.read_bytes()
    blank = len(re.findall(rb"\n[ \t\r]*(?=\n)", data))
    del data
    if newlines - blank == records + 1:
        return simple
    reader = csv.reader(io.StringIO(_csv_text(source)), delimiter=delimiter)
    starts: list[int] = []
    try:
        next(reader, None)
        line = reader.line_num + 1
        for row in reader:
            if row:
                starts.append(line)
            line = reader.line_num + 1
    except csv.Error:  # a record the csv module cannot read: count the plain way
        return simple
    if len(starts) != records:
        return simple
    return pl.Series(LINE, starts, dtype=pl.UInt32)


def _quotes_and_lines(source: Path | io.BytesIO) -> tuple[bool, int]:
    """Whether the file holds a quote character, and its number of lines.

    Read in chunks: a large file is never held whole in memory for this.
    """
    if isinstance(source, io.BytesIO):
        data = source.getvalue()
        return b'"' in data, data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    quoted, newlines, last = False, 0, b""
    with source.open("rb") as handle:
        for chunk in iter(lambda: handle.read(16 << 20), b""):
            quoted = quoted or b'"' in chunk
            # numpy counts twice as fast as bytes.count.
            newlines += int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == ord("\n")))
            last = chunk[-1:]
    return quoted, newlines + (0 if last == b"\n" else 1)


def _ragged_lines(source: Path | io.BytesIO, delimiter: str) -> dict[int, str]:
    """Line -> reason, for records with more cells than the header."""
    reader = csv.reader(io.StringIO(_csv_text(source)), delimiter=delimiter)
    header = next(reader, [])
    start, found = reader.line_num + 1, {}
    for row in reader:
        if len(row) > len(header):
            found[start] = f"row has {len(row)} cells, the header has {len(header)}"
        start = reader.line_num + 1
    return found


def _read_json_lines(path: Path, head: bytes, encoding: str | None) -> pl.DataFrame:
    data: Path | io.BytesIO = path
    raw: bytes | None = None
    if encoding not in (None, "utf-8", "utf8") or head.startswith(
        (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
    ):
        raw = _decode(path.read_bytes(), encoding).encode("utf-8")
        data = io.BytesIO(raw)
    raw = raw if raw is not None else None
    try:
        frame = pl.read_ndjson(data, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError, ValueError):
        # One value of another type (a `true` among numbers) must not refuse the file: read the
        # records one by one as text, like a JSON array.
        frame = _json_lines_as_text(raw if raw is not None else path.read_bytes())
        return frame
    raw = raw if raw is not None else path.read_bytes()
    if not _has_blank_line(raw):
        return frame.with_row_index(LINE, offset=1)
    # Blank lines hold no record but still count as lines of the file.
    lines = [n for n, text in enumerate(raw.split(b"\n"), start=1) if text.strip()]
    return frame.with_columns(pl.Series(LINE, lines[: frame.height], dtype=pl.UInt32)).select(
        LINE, *frame.columns
    )


def _json_lines_as_text(data: bytes) -> pl.DataFrame:
    """JSON Lines parsed record by record, every cell as text, with true line numbers."""
    lines, records = [], []
    for number, text in enumerate(data.decode("utf-8-sig", errors="strict").split("\n"), start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RefusedFile(f"not valid JSON Lines: line {number}: {exc.msg}") from exc
        except RecursionError as exc:
            raise RefusedFile(f"line {number}: {TOO_DEEP}") from exc
        if not isinstance(record, dict):
            raise RefusedFile(f"not valid JSON Lines: line {number} is not a record (object)")
        lines.append(number)
        records.append(record)
    if not records:
        raise RefusedFile("empty file (no records)")
    frame = _records_as_text(records)
    return frame.with_columns(pl.Series(LINE, lines, dtype=pl.UInt32)).select(LINE, *frame.columns)


# Two patterns, not one alternation: with `\A|` in it the search is 25x slower on large files.
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")
_BLANK_FIRST_LINE = re.compile(rb"[ \t\r]*\n")


def _has_blank_line(raw: bytes) -> bool:
    return bool(_BLANK_FIRST_LINE.match(raw) or _BLANK_LINE.search(raw))


def _read_json_array(path: Path, encoding: str | None) -> pl.DataFrame:
    try:
        records = json.loads(_decode(path.read_bytes(), encoding))
    except json.JSONDecodeError as exc:
        raise RefusedFile(f"not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    except RecursionError as exc:
        raise RefusedFile(TOO_DEEP) from exc
    if not isinstance(records, list):
        raise RefusedFile(f"JSON file holds {type(records).__name__}, expected an array of records")
    if not all(isinstance(item, dict) for item in records):
        raise RefusedFile("JSON array holds items that are not records (objects)")
    if not records:
        raise RefusedFile("empty file (no records)")
    frame = _records_as_text(records)
    return frame.with_row_index(LINE, offset=1)


def _records_as_text(records: list[dict]) -> pl.DataFrame:
    """JSON records as a frame of text cells (columns in order of first appearance).

    Nested values are kept as JSON text so they reach checks as one readable cell; every other
    scalar becomes text, typed later like a CSV cell.
    """
    columns = list(dict.fromkeys(k for item in records for k in item))
    return pl.DataFrame(
        {c: [cell_text(item.get(c)) for item in records] for c in columns},
        schema={c: pl.String for c in columns},
    )


def cell_text(value: object) -> str | None:
    """A JSON value as raw cell text: nested values as JSON text, booleans as true/false."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _refuse_json_object(path: Path, encoding: str | None) -> None:
    """Refuse a JSON document that is one object (a wrapper or a pretty-printed record)."""
    if path.stat().st_size > 64 * 2**20:
        return
    try:
        text = _decode(path.read_bytes(), encoding)
        value = json.loads(text)
    except RecursionError as exc:
        raise RefusedFile(TOO_DEEP) from exc
    except (json.JSONDecodeError, RefusedFile):
        return
    wrapper = isinstance(value, dict) and any(isinstance(v, (list, dict)) for v in value.values())
    # A single flat one-line record is a one-record JSON Lines file; anything else is a document.
    if isinstance(value, dict) and (wrapper or "\n" in text.strip()):
        raise JsonDocument(
            f"JSON file holds one object (keys: {', '.join(list(value)[:5])}), expected an array "
            "of records or JSON Lines",
            value,
        )


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise RefusedFile(f"not a readable Parquet file: {str(exc).splitlines()[0]}") from exc
    return frame.with_row_index(LINE, offset=1)


def _read_xlsx(path: Path, number_repeated: bool) -> pl.DataFrame:
    """The first sheet of an Excel workbook, every cell as text, like a CSV file: the first row
    is the header, `__line__` is the sheet's row number (the header being row 1), empty rows are
    left out (their numbers are not reused).

    Numbers read as their shortest text (`3`, `2.5`), dates and times as `YYYY-MM-DD HH:MM:SS`
    (the workbook's clock, no zone: the source's timezone applies as for a CSV), a column of
    dates only as `YYYY-MM-DD`, booleans as true/false, and a duration or a time of day as
    `HH:MM:SS` (hours may exceed 24).
    """
    try:
        workbook = fastexcel.read_excel(path)
        if not workbook.sheet_names:
            raise RefusedFile("the Excel workbook holds no sheet")
        # No header row: the header cells are taken as written (fastexcel renames repeats).
        sheet = workbook.load_sheet(0, header_row=None, dtypes="string").to_polars()
    except fastexcel.FastExcelError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RefusedFile(f"not a readable Excel workbook: {first}") from exc
    if sheet.height == 0:
        raise RefusedFile(f"empty file (the first sheet, {workbook.sheet_names[0]!r}, is empty)")
    header = ["" if cell is None else cell for cell in sheet.row(0)]
    names = _unique_header(header, number_repeated)
    body = sheet.slice(1).rename(dict(zip(sheet.columns, names, strict=True)))
    body = body.with_columns(_durations_as_text(pl.col(c)) for c in body.columns)
    body = body.with_columns(_dates_as_text(body, c) for c in body.columns)
    body = body.with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.UInt32))
    # A row without any cell is an empty line of the sheet: no record, like a blank CSV line.
    return body.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in names))


def _unique_header(header: list[str], number_repeated: bool) -> list[str]:
    """The header's names; a repeated one refuses the file unless `number_repeated`, then the
    repeats are named `<name>__2`, `<name>__3`, ... as in a CSV file."""
    seen: dict[str, int] = {}
    names = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}{REPEATED_MARK}{seen[name]}")
    repeated = sorted(n for n, count in seen.items() if count > 1)
    if repeated and not number_repeated:
        raise RefusedFile(f"repeated column name(s) {repeated}")
    return names


# Excel keeps a duration ("[h]:mm:ss") as a number of days, which calamine shows as a moment
# counted from its day zero (1899-12-31): a moment before 1900-03-01 is such a duration.
_DAY_ZERO = dt.datetime(1899, 12, 31)
_LAST_DURATION = dt.datetime(1900, 3, 1)


_MOMENT_TEXT = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
_MIDNIGHT = r"^\d{4}-\d{2}-\d{2} 00:00:00$"


def _dates_as_text(sheet: pl.DataFrame, column: str) -> pl.Expr:
    """A column of dates as `YYYY-MM-DD`: calamine gives a date cell a midnight time, which a
    date column's reader (a timesheet's "Start date") would not take. Only a column whose every
    date-time cell is a midnight is read so (its text cells are left as they are); a single
    other time keeps the column as it is."""
    cells = sheet.get_column(column).drop_nulls()
    moments = cells.filter(cells.str.contains(_MOMENT_TEXT))
    if moments.is_empty() or not moments.str.contains(_MIDNIGHT).all():
        return pl.col(column)
    return (
        pl.when(pl.col(column).str.contains(_MIDNIGHT))
        .then(pl.col(column).str.slice(0, 10))
        .otherwise(pl.col(column))
    )


def _durations_as_text(cell: pl.Expr) -> pl.Expr:
    moment = cell.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    seconds = (moment - pl.lit(_DAY_ZERO)).dt.total_seconds()
    text = pl.format(
        "{}:{}:{}",
        (seconds // 3600).cast(pl.String).str.zfill(2),
        (seconds % 3600 // 60).cast(pl.String).str.zfill(2),
        (seconds % 60).cast(pl.String).str.zfill(2),
    )
    return (
        pl.when(moment.is_not_null() & (moment < pl.lit(_LAST_DURATION)))
        .then(text)
        .otherwise(cell)
        .name.keep()
    )


def _nested_as_json_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists and records inside a cell become JSON text (keys kept), one readable cell."""
    nested = [c for c, t in frame.schema.items() if isinstance(t, (pl.List, pl.Struct, pl.Array))]
    if not nested:
        return frame
    return frame.with_columns(
        pl.col(c).map_elements(
            lambda v: json.dumps(
                v.to_list() if isinstance(v, pl.Series) else v, ensure_ascii=False, default=str
            ),
            return_dtype=pl.String,
            skip_nulls=True,
        )
        for c in nested
    )


def read_raw(
    path: Path, encoding: str | None = None, number_repeated: bool = False
) -> tuple[str, pl.DataFrame]:
    """Read a file into a raw frame with a `__line__` column; return (format, frame).

    A repeated CSV header name refuses the file, unless `number_repeated`: then the repeats are
    named `<name>__2`, `<name>__3`, ... (for adapters of exports that repeat columns).
    A JSON file holding one object raises `JsonDocument` with the parsed value.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise RefusedFile(f"cannot open: {exc.strerror or exc}") from exc
    fmt = detect_format(path, head)
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise RefusedFile("empty file")
    if fmt == "csv":
        frame = _read_csv(path, head, encoding, number_repeated)
    elif fmt == "jsonl":
        if path.suffix.lower() == ".json":
            # A .json file starting with "{" holding one object (not records) says so plainly.
            _refuse_json_object(path, encoding)
        frame = _read_json_lines(path, head, encoding)
    elif fmt == "json":
        frame = _read_json_array(path, encoding)
    elif fmt == "xlsx":
        frame = _read_xlsx(path, number_repeated)
    else:
        frame = _read_parquet(path)
    frame = _nested_as_json_text(frame)
    names = [c.strip().lower() for c in frame.columns if c != LINE]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RefusedFile(f"repeated column name(s) {repeated}")
    frame = frame.rename({c: c.strip().lower() for c in frame.columns if c != LINE})
    if frame.height == 0:
        raise RefusedFile("no data rows (header only)")
    return fmt, frame


def read_csv_slice(data: bytes, delimiter: str, line_offset: int) -> pl.DataFrame:
    """One slice of a large UTF-8 CSV file read like `read_raw` reads the whole file: `data` is
    the header record followed by whole records of the slice; the slice's `__line__` numbers
    are the physical lines in the file (`line_offset` added to the lines within `data`).

    Raises polars' errors for text the fast reader cannot take: the caller then reads the file
    whole (`pipelines.slices`), so every fallback of `read_raw` still applies."""
    source = io.BytesIO(data)
    frame = pl.read_csv(
        source, separator=delimiter, infer_schema=False, encoding="utf8", raise_if_empty=True
    )
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    lines = _csv_lines(source, delimiter, frame.height)
    return frame.rechunk().insert_column(0, (lines + line_offset).cast(pl.UInt32).alias(LINE))


def read_json_lines_slice(data: bytes, schema: pl.Schema, first_line: int) -> pl.DataFrame:
    """One slice of a large UTF-8 JSON Lines file read like `read_raw` reads the whole file:
    `data` is whole lines of the file, one record each (no blank line), read with the types
    polars infers from the whole file (`schema`: a slice alone could infer others); the
    slice's `__line__` numbers are the file's lines, from `first_line`.

    Raises polars' errors for a record the schema does not fit: the caller then reads the file
    whole (`pipelines.slices`), so every fallback of `read_raw` still applies."""
    frame = pl.read_ndjson(io.BytesIO(data), schema=schema)
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    return frame.with_row_index(LINE, offset=first_line)
