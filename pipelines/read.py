"""Raw input files read into polars frames, one row per input record, with its line number.

Format is decided by extension (and content for `.json`); CSV delimiter and BOM are sniffed.
Every cell stays as the file had it (text, or JSON/Parquet types); typing happens in
`pipelines/normalize.py`. A file that cannot be read raises `RefusedFile` with the reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import polars as pl

LINE = "__line__"
FORMATS = ("csv", "jsonl", "json", "parquet")
_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"


class RefusedFile(Exception):
    """A file that cannot be used at all; the message says why."""


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_format(path: Path, head: bytes) -> str:
    """File format from its extension, and from its first byte for `.json`."""
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv", ".txt"}:
        return "csv"
    if suffix in {".jsonl", ".ndjson"}:
        return "jsonl"
    if suffix == ".json":
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        return "json" if first == b"[" else "jsonl"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    raise RefusedFile(
        f"unsupported file type {suffix or '(none)'!r}; expected .csv, .jsonl, .json or .parquet"
    )


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


def _read_csv(path: Path, head: bytes, encoding: str | None) -> pl.DataFrame:
    needs_python_decode = (encoding not in (None, "utf-8", "utf8")) or head.startswith(
        (b"\xff\xfe", b"\xfe\xff")
    )
    if needs_python_decode:
        text = _decode(path.read_bytes(), encoding)
        source: Path | io.BytesIO = io.BytesIO(text.encode("utf-8"))
        sample = text[:_SNIFF_BYTES]
    else:
        if b"\x00" in head:
            raise RefusedFile("binary content (NUL bytes), not a text CSV file")
        source = path
        # The sample may end inside a multi-byte character; invalid files fail in the reader.
        sample = head.decode("utf-8-sig", errors="replace")
    if not sample.strip():
        raise RefusedFile("empty file")
    delimiter = sniff_delimiter(sample[: sample.rfind("\n") + 1] or sample)
    header = next(csv.reader(io.StringIO(sample.lstrip("\ufeff")), delimiter=delimiter), [])
    names = [name.strip().lower() for name in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        # polars would rename the repeat (`x_duplicated_0`) and a column would silently vanish.
        raise RefusedFile(f"repeated column name(s) {repeated}")
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
        raise RefusedFile(f"not a readable CSV file: {first}") from exc
    # Header is line 1; a record's line is its position after it (no multi-line cells assumed).
    return frame.with_row_index(LINE, offset=2)


def _read_json_lines(path: Path, head: bytes, encoding: str | None) -> pl.DataFrame:
    data: Path | io.BytesIO = path
    raw: bytes | None = None
    if encoding not in (None, "utf-8", "utf8") or head.startswith(
        (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
    ):
        raw = _decode(path.read_bytes(), encoding).encode("utf-8")
        data = io.BytesIO(raw)
    try:
        frame = pl.read_ndjson(data, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise RefusedFile(
            f"not valid JSON Lines: {str(exc).splitlines()[0] if str(exc) else exc}"
        ) from exc
    raw = raw if raw is not None else path.read_bytes()
    if not _BLANK_LINE.search(raw):
        return frame.with_row_index(LINE, offset=1)
    # Blank lines hold no record but still count as lines of the file.
    lines = [n for n, text in enumerate(raw.split(b"\n"), start=1) if text.strip()]
    return frame.with_columns(pl.Series(LINE, lines[: frame.height], dtype=pl.UInt32)).select(
        LINE, *frame.columns
    )


_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n|\A[ \t\r]*\n")


def _read_json_array(path: Path, encoding: str | None) -> pl.DataFrame:
    try:
        records = json.loads(_decode(path.read_bytes(), encoding))
    except json.JSONDecodeError as exc:
        raise RefusedFile(f"not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(records, list):
        raise RefusedFile(f"JSON file holds {type(records).__name__}, expected an array of records")
    if not all(isinstance(item, dict) for item in records):
        raise RefusedFile("JSON array holds items that are not records (objects)")
    if not records:
        raise RefusedFile("empty file (no records)")
    # Nested values are kept as JSON text so they reach checks as one readable cell; every other
    # scalar becomes text, typed later like a CSV cell.
    columns = list(dict.fromkeys(k for item in records for k in item))
    frame = pl.DataFrame(
        {c: [_cell_text(item.get(c)) for item in records] for c in columns},
        schema={c: pl.String for c in columns},
    )
    return frame.with_row_index(LINE, offset=1)


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _refuse_json_object(path: Path, encoding: str | None) -> None:
    """A clearer reason for a pretty-printed JSON object given where records were expected."""
    if path.stat().st_size > 64 * 2**20:
        return
    try:
        value = json.loads(_decode(path.read_bytes(), encoding))
    except (json.JSONDecodeError, RefusedFile):
        return
    if isinstance(value, dict):
        raise RefusedFile(
            f"JSON file holds one object (keys: {', '.join(list(value)[:5])}), expected an array "
            "of records or JSON Lines"
        )


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise RefusedFile(f"not a readable Parquet file: {str(exc).splitlines()[0]}") from exc
    return frame.with_row_index(LINE, offset=1)


def read_raw(path: Path, encoding: str | None = None) -> tuple[str, pl.DataFrame]:
    """Read a file into a raw frame with a `__line__` column; return (format, frame)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as exc:
        raise RefusedFile(f"cannot open: {exc.strerror or exc}") from exc
    fmt = detect_format(path, head)
    if not head.strip(b"\xef\xbb\xbf \t\r\n"):
        raise RefusedFile("empty file")
    if fmt == "csv":
        frame = _read_csv(path, head, encoding)
    elif fmt == "jsonl":
        try:
            frame = _read_json_lines(path, head, encoding)
        except RefusedFile:
            if path.suffix.lower() == ".json":
                _refuse_json_object(path, encoding)
            raise
    elif fmt == "json":
        frame = _read_json_array(path, encoding)
    else:
        frame = _read_parquet(path)
    names = [c.strip().lower() for c in frame.columns if c != LINE]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RefusedFile(f"repeated column name(s) {repeated}")
    frame = frame.rename({c: c.strip().lower() for c in frame.columns if c != LINE})
    if frame.height == 0:
        raise RefusedFile("no data rows (header only)")
    return fmt, frame
