"""CSV text the fast reader cannot take: line ends of every kind, and records read one at a time.

polars reads `\\n` and `\\r\\n` line ends, not a lone `\\r` (old Mac exports, or a file pasted
together from several tools): such a file is read as one line, or its records run together.
`unify_line_ends` makes every line end `\\n` first, inside quoted cells too.

A record polars cannot parse at all (an unterminated quote, text after a closing quote) stops
its whole read. `read_by_record` then reads the file with the csv module one record at a time:
each record that still cannot be parsed is kept as a row of empty cells whose read error names
its line, so it is quarantined alone and the good records around it load.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

# Names shared with pipelines.read (declared here too, so read.py may import this module).
LINE = "__line__"
READ_ERRORS = "__read_errors__"
# A quoted cell spanning more lines than this is taken as an unterminated quote.
MAX_LINES_PER_RECORD = 1000
_CHUNK_BYTES = 16 << 20


def lone_carriage_returns(data: bytes) -> int:
    """How many `\\r` of the bytes end a line alone (not followed by `\\n`)."""
    return data.count(b"\r") - data.count(b"\r\n")


def file_has_lone_carriage_return(path: Path) -> bool:
    """Whether a file has a line ended by a lone `\r`, read in chunks."""
    after_cr = False  # the previous chunk ended with `\r`
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            if after_cr and not chunk.startswith(b"\n"):
                return True
            after_cr = chunk.endswith(b"\r")
            if lone_carriage_returns(chunk[:-1] if after_cr else chunk):
                return True
    return after_cr


def unify_line_ends(text: str) -> str:
    """The text with every `\\r\\n` and lone `\\r` made `\\n` (inside quoted cells too)."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_by_record(text: str, delimiter: str) -> pl.DataFrame:
    """The CSV text (line ends unified) read one record at a time: a `__line__` column (the
    line where each record starts, the header being line 1), every header column as text, and
    `__read_errors__` naming the records that could not be parsed or have too many cells."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise ValueError("empty file")
    header = _parse(lines[0].lstrip("\ufeff"), delimiter)
    if header is None:
        raise ValueError("line 1 (the header) is not a readable CSV record")
    if len(set(header)) != len(header):
        raise ValueError(
            f"repeated column name(s) {sorted({h for h in header if header.count(h) > 1})}"
        )
    width = len(header)
    numbers: list[int] = []
    rows: list[list[str | None]] = []
    errors: list[str | None] = []
    index = 1
    while index < len(lines):
        start, record = index, lines[index]
        index += 1
        if not record.strip():
            continue
        # A quoted cell may span lines: take lines while a quote is left open.
        while record.count('"') % 2 and index < len(lines) and index - start < MAX_LINES_PER_RECORD:
            record += "\n" + lines[index]
            index += 1
        cells = _parse(record, delimiter)
        if cells is None and index - start > 1:
            index = start + 1  # not a multi-line record after all: this line alone is bad
            cells = _parse(lines[start], delimiter)
        numbers.append(start + 1)
        if cells is None:
            # Quarantined with the cells a lenient reading finds, so its raw row shows them.
            cells = next(csv.reader([lines[start]], delimiter=delimiter), [])
            errors.append(
                f"line {start + 1} is not a readable CSV record (unbalanced or misplaced quotes)"
            )
        else:
            errors.append(
                f"row has {len(cells)} cells, the header has {width}"
                if len(cells) > width
                else None
            )
        cells = (cells + [""] * width)[:width]
        rows.append([cell if cell != "" else None for cell in cells])
    frame = pl.DataFrame(rows, schema=dict.fromkeys(header, pl.String), orient="row")
    return frame.select(
        pl.Series(LINE, numbers, dtype=pl.UInt32), *frame.columns, pl.Series(READ_ERRORS, errors)
    )


def _parse(record: str, delimiter: str) -> list[str] | None:
    """The cells of one record, or None when the csv module refuses it (strict quoting)."""
    try:
        return next(csv.reader([record], delimiter=delimiter, strict=True), [])
    except csv.Error:
        return None
