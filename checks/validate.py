"""Validated batches: a canonical frame split into valid rows and quarantined rows with reasons.

The checks are Great Expectations suites derived from each source's `SourceSpec`
(`suite_expectations`); each expectation's `meta.reason` is the reason written on the rows it
rejects. GX runs on a pandas copy of the batch (GX cannot read polars); failing rows come back by
their `__line__` index.

A quarantined row's reason quotes the value it rejects, after the reason's kind:
`status is not one of ok, error, timeout: 'unknown_status'` (text shortened and escaped).
Reports count reasons by kind (`reason_kind`), so rows with the same problem group together
whatever their values.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from models.results import REASONS, CheckedRows
from models.sources import SPECS, ColumnType, SourceSpec
from models.warehouse import SOURCE_TABLES
from pipelines.normalize import PARSE_ERRORS
from pipelines.read import LINE

# GX phones home and draws progress bars unless told not to.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class Expectation:
    """One Great Expectations check of a source, with the quarantine reason of the rows it
    rejects (a missing column refuses the whole file with it instead)."""

    type: str
    kwargs: dict[str, Any]
    reason: str

    @property
    def value_columns(self) -> tuple[str, ...]:
        """The columns whose values a rejected row's reason quotes (none for a missing value or
        a missing column)."""
        if self.type in ("expect_column_to_exist", "expect_column_values_to_not_be_null"):
            return ()
        kwargs = self.kwargs
        if "column_list" in kwargs:
            return tuple(kwargs["column_list"])
        if "column_A" in kwargs:
            return (kwargs["column_A"], kwargs["column_B"])
        return (kwargs["column"],)

    def reason_with(self, values: tuple[object, ...]) -> str:
        """The reason of one rejected row, quoting its values: `a exceeds b: 5 > 3` for a pair
        (in the order the reason names them), else `reason: value[, value]`."""
        if not values:
            return self.reason
        if self.type == "expect_column_pair_values_a_to_be_greater_than_b":
            a, b = (quote_value(v) for v in values)
            return (
                f"{self.reason}: {a} < {b}"
                if " is before " in self.reason
                else (f"{self.reason}: {b} > {a}")
            )
        return f"{self.reason}: {', '.join(quote_value(v) for v in values)}"

    def as_config(self) -> dict[str, Any]:
        """The expectation as Great Expectations configures it, the reason in `meta.reason`."""
        # A copy: the suite is shared by every check of the process, GX gets its own kwargs.
        kwargs = copy.deepcopy(self.kwargs)
        return {"type": self.type, "kwargs": kwargs, "meta": {"reason": self.reason}}


_TIME_TYPES = ("datetime", "date")
# A text value is quoted up to this many characters, then "…".
QUOTED_CHARS = 40


def quote_value(value: object) -> str:
    """A checked value as a reason quotes it: text shortened to `QUOTED_CHARS` characters and
    escaped like a Python literal (quotes, control characters visible: `'a\\nb'`), numbers and
    times as written (UTC times with a Z), a missing value as `empty`."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if len(text) <= QUOTED_CHARS:
        return repr(text)
    return repr(text[:QUOTED_CHARS]) + "…"


@cache
def _reason_kinds() -> tuple[str, ...]:
    """Every reason of every source's suite, longest first (a reason that begins with another
    is tried first)."""
    kinds = {e.reason for spec in SPECS.values() for e in suite_expectations(spec)}
    return tuple(sorted(kinds, key=len, reverse=True))


# Bounded: a long-running process meets reasons quoting ever new values.
@lru_cache(maxsize=1 << 16)
def reason_kind(reason: str) -> str:
    """The kind of a quarantine reason: the reason without the values it quotes
    (`status is not one of ok, error, timeout`), what reports count rows by. Any other reason
    (a cell that could not be read, an adapter's own) is its own kind."""
    for kind in _reason_kinds():
        if reason.startswith(kind) and reason[len(kind) : len(kind) + 2] in ("", ": "):
            return kind
    return reason


def suite_expectations(spec: SourceSpec) -> list[Expectation]:
    """The row checks of a source, in the order its rows' reasons are listed: required columns
    present, then not null, the key unique, allowed values, non-negative numbers, ordered pairs
    and timestamps not in the future."""
    expectations = [
        Expectation("expect_column_to_exist", {"column": c}, f"missing required column {c}")
        for c in spec.required
    ]
    expectations += [
        Expectation("expect_column_values_to_not_be_null", {"column": c}, f"{c} is missing")
        for c in spec.required
    ]
    shared = "is not unique in the file (different rows share it)"
    if len(spec.key) == 1:
        (column,) = spec.key
        expectations.append(
            Expectation(
                "expect_column_values_to_be_unique", {"column": column}, f"{column} {shared}"
            )
        )
    else:
        expectations.append(
            Expectation(
                "expect_compound_columns_to_be_unique",
                {"column_list": list(spec.key)},
                f"key {'+'.join(spec.key)} {shared}",
            )
        )
    expectations += [
        Expectation(
            "expect_column_values_to_be_in_set",
            {"column": c, "value_set": list(values)},
            f"{c} is not one of {', '.join(values)}",
        )
        for c, values in spec.enums.items()
    ]
    expectations += [
        Expectation(
            "expect_column_values_to_be_between", {"column": c, "min_value": 0}, f"{c} is negative"
        )
        for c in spec.non_negative
    ]
    expectations += [
        Expectation(
            "expect_column_pair_values_a_to_be_greater_than_b",
            {
                "column_A": a,
                "column_B": b,
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            f"{a} is before {b}" if spec.columns[a] in _TIME_TYPES else f"{b} exceeds {a}",
        )
        for a, b in spec.ordered_pairs
    ]
    expectations += [
        Expectation(
            "expect_column_values_to_be_between",
            {"column": c, "max_value": {"$PARAMETER": "now_utc"}},
            f"{c} is in the future",
        )
        for c in spec.not_future
    ]
    return expectations


def warm_up() -> None:
    """Import Great Expectations and make its context before the first check needs it (3-4 s
    in a new process), e.g. in a thread while the first file is being read. Errors are left
    for the checks themselves to meet."""
    with contextlib.suppress(Exception):  # the first check meets it again and handles it
        _gx_context()


_CONTEXT_LOCK = threading.Lock()


def _gx_context() -> Any:
    with _CONTEXT_LOCK:  # one context, however many threads ask at once
        return _new_gx_context()


@cache
def _new_gx_context() -> Any:
    import great_expectations as gx
    from great_expectations.execution_engine import pandas_execution_engine

    # GX hashes every pandas batch under 1e9 bytes for a fingerprint we never read (half the
    # time of a 1M-row check); no setting turns it off, so the threshold goes to zero.
    pandas_execution_engine.HASH_THRESHOLD = 0
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:
        pass
    return context


# Expectations that compare rows with each other; every other expectation checks one row.
_WHOLE_FILE = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
# Files above this many rows are checked in slices of it (the row checks) plus one pass over
# the key columns (the uniqueness checks): the pandas copy GX needs stays small.
SLICE_ROWS = 1_000_000


@cache
def source_suite(source: str) -> tuple[Expectation, ...]:
    """The expectations of a source by its name."""
    return tuple(suite_expectations(SPECS[source]))


def _expectations(source: str, part: str) -> tuple[Expectation, ...]:
    """The suite's expectations: all, the row checks only, or the whole-file checks only."""
    expectations = source_suite(source)
    if part == "rows":
        return tuple(e for e in expectations if e.type not in _WHOLE_FILE)
    if part == "keys":
        return tuple(e for e in expectations if e.type in _WHOLE_FILE)
    return expectations


@cache
def _validation(source: str, part: str = "all") -> Any:
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    context = _gx_context()
    suite = gx.ExpectationSuite(
        name=f"{source}-{part}",
        expectations=[
            ExpectationConfiguration(**e.as_config()).to_domain_obj()
            for e in _expectations(source, part)
        ],
    )
    suite = context.suites.add(suite)
    data_source = context.data_sources.add_or_update_pandas(f"inbox-{source}-{part}")
    asset = data_source.add_dataframe_asset(f"{source}-{part}")
    batch = asset.add_batch_definition_whole_dataframe(f"{source}-{part}-file")
    return context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{source}-{part}-rows", data=batch, suite=suite)
    )


@cache
def suite_columns(source: str) -> frozenset[str]:
    """The columns a source's suite refers to."""
    names: set[str] = set()
    for expectation in source_suite(source):
        kwargs = expectation.kwargs
        names.update(v for k, v in kwargs.items() if k in ("column", "column_A", "column_B"))
        names.update(kwargs.get("column_list", []))
    return frozenset(names)


def run_suite(
    source: str,
    frame: pl.DataFrame,
    now_utc: dt.datetime,
    on_rows_checked: Callable[[int], None] | None = None,
) -> tuple[dict[int, list[str]], list[str]]:
    """Run the source's suite on a canonical frame.

    Returns (reasons by line, table-level failures). Table-level failures (a missing column)
    refuse the whole file. A large frame is checked in slices (row checks) plus one pass over
    its key columns (uniqueness), with the same outcome as one pass. `on_rows_checked` hears
    the rows checked so far after each slice.
    """
    checked = on_rows_checked or (lambda _rows: None)
    if frame.height <= SLICE_ROWS:
        by_line, table_failures = _run_part(source, "all", frame, now_utc)
        checked(frame.height)
        return _in_suite_order(source, by_line), table_failures
    keys = {
        c
        for e in _expectations(source, "keys")
        for c in (e.kwargs.get("column_list") or [e.kwargs["column"]])
    }
    # Key text goes to pandas as dense ranks: equal values get equal numbers, so uniqueness is
    # the same, at 4 bytes a row instead of one Python string.
    by_line, table_failures = _run_part(
        source,
        "keys",
        frame.select(
            LINE,
            *(
                pl.col(c).rank("dense") if frame.schema[c] == pl.String else pl.col(c)
                for c in frame.columns
                if c in keys
            ),
        ),
        now_utc,
    )
    for start in range(0, frame.height, SLICE_ROWS):
        lines, failures = _run_part(source, "rows", frame.slice(start, SLICE_ROWS), now_utc)
        for line, reasons in lines.items():
            by_line.setdefault(line, []).extend(reasons)
        table_failures += [f for f in failures if f not in table_failures]
        checked(min(start + SLICE_ROWS, frame.height))
    return _in_suite_order(source, by_line), table_failures


def _in_suite_order(source: str, by_line: dict[int, list[str]]) -> dict[int, list[str]]:
    """Each row's reasons in the order of the suite, however GX ordered its results."""
    order = {e.reason: i for i, e in enumerate(source_suite(source))}
    return {
        line: sorted(reasons, key=lambda r: order.get(r, len(order)))
        for line, reasons in by_line.items()
    }


def _run_part(
    source: str, part: str, frame: pl.DataFrame, now_utc: dt.datetime
) -> tuple[dict[int, list[str]], list[str]]:
    # Only the columns the suite checks go to pandas: text columns cost the most to convert.
    checked = [c for c in frame.columns if c in suite_columns(source) or c == LINE]
    # Text columns that are not the key become pandas categoricals: a large file's model and
    # status words then cost one small code per row instead of one Python string per row.
    key = set(SPECS[source].key)
    pdf = frame.select(
        pl.col(c).cast(pl.Categorical)
        if frame.schema[c] == pl.String and c not in key
        else pl.col(c)
        for c in checked
    ).to_pandas(use_pyarrow_extension_array=False)
    validation = _validation(source, part)
    try:
        result = validation.run(
            batch_parameters={"dataframe": pdf},
            expectation_parameters={"now_utc": now_utc},
            # Only the failing rows' `__line__` is read: GX neither copies their values nor
            # writes a query (half the time of a check with many failing rows).
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": [LINE],
                "exclude_unexpected_values": True,
                "return_unexpected_index_query": False,
            },
        )
    finally:
        # GX keeps the last batch it checked (a pandas copy of up to 1M rows, 0.1-0.2 GB) for
        # as long as the context lives, through every later file and run: let it go now.
        engine = validation.data.data_asset.datasource.get_execution_engine()
        engine.batch_manager.reset_batch_cache()
    by_line: dict[int, list[str]] = {}
    table_failures: list[str] = []
    for outcome in result.results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        reason = (config.meta or {}).get("reason") or config.type
        raised = (outcome.exception_info or {}).get("raised_exception")
        indexes = (outcome.result or {}).get("unexpected_index_list")
        if raised or indexes is None:
            table_failures.append(reason)
            continue
        for item in indexes:
            # One dict per row, or (`exclude_unexpected_values`) one dict of all the rows' lines.
            lines = item[LINE] if isinstance(item[LINE], list) else [item[LINE]]
            for line in lines:
                by_line.setdefault(int(line), []).append(reason)
    return by_line, table_failures


def validate_batch(
    source: str,
    frame: pl.DataFrame,
    now_utc: dt.datetime | None = None,
    unknown_allowed: tuple[str, ...] = (),
    on_rows_checked: Callable[[int], None] | None = None,
) -> CheckedRows:
    """Check a canonical frame; every failing row is quarantined with every reason it broke.

    `unknown_allowed` names required columns that may be null (unknown) in this file: vendor
    exports do not record everything the canonical form requires. `on_rows_checked` hears the
    rows checked so far as the checks move through a large frame.
    """
    now_utc = now_utc or dt.datetime.now(dt.UTC)
    by_line, table_failures = run_suite(source, frame, now_utc, on_rows_checked)
    return _checked(source, frame, by_line, table_failures, unknown_allowed)


def validate_slice(
    source: str, frame: pl.DataFrame, now_utc: dt.datetime, not_unique_lines: pl.Series
) -> CheckedRows:
    """Check one slice of a large file as `validate_batch` checks the whole file: the row
    checks run on the slice, and the key check, which compares rows across the whole file, is
    given as the lines whose key another row of the file shares (`pipelines.slices` finds them
    over the whole file before the first slice is checked)."""
    by_line: dict[int, list[str]] = {}
    table_failures: list[str] = []
    for start in range(0, frame.height, SLICE_ROWS):
        lines, failures = _run_part(source, "rows", frame.slice(start, SLICE_ROWS), now_utc)
        for line, reasons in lines.items():
            by_line.setdefault(line, []).extend(reasons)
        table_failures += [f for f in failures if f not in table_failures]
    (key_check,) = _expectations(source, "keys")
    shared = frame.get_column(LINE).filter(frame.get_column(LINE).is_in(not_unique_lines.implode()))
    for line in shared.to_list():
        by_line.setdefault(int(line), []).append(key_check.reason)
    return _checked(source, frame, _in_suite_order(source, by_line), table_failures, ())


def _checked(
    source: str,
    frame: pl.DataFrame,
    by_line: dict[int, list[str]],
    table_failures: list[str],
    unknown_allowed: tuple[str, ...],
) -> CheckedRows:
    """The frame split by the suite's outcome: valid rows, and each failing row's reasons
    (its parse errors first); a table-level failure refuses the whole frame."""
    if unknown_allowed:
        allowed = {f"{column} is missing" for column in unknown_allowed}
        by_line = {
            line: kept
            for line, reasons in by_line.items()
            if (kept := [r for r in reasons if r not in allowed])
        }
    if table_failures:
        empty = frame.head(0)
        return CheckedRows(empty, _reasons_frame({}), refused="; ".join(table_failures))
    by_line = _with_values(source, frame, by_line)
    parse_errors = frame.filter(pl.col(PARSE_ERRORS).list.len() > 0).select(LINE, PARSE_ERRORS)
    for line, errors in parse_errors.iter_rows():
        by_line[int(line)] = list(errors) + by_line.get(int(line), [])
    reasons = _reasons_frame(by_line)
    bad_rows = frame.get_column(LINE).is_in(reasons.get_column(LINE).implode())
    assert bad_rows.sum() == reasons.height  # every reason points at one row of this file
    return CheckedRows(valid=_without(frame, bad_rows).drop(PARSE_ERRORS), quarantined=reasons)


def _with_values(
    source: str, frame: pl.DataFrame, by_line: dict[int, list[str]]
) -> dict[int, list[str]]:
    """Each row's reasons quoting the values they reject (`Expectation.reason_with`)."""
    quoting = {e.reason: e for e in source_suite(source) if e.value_columns}
    lines = [line for line, reasons in by_line.items() if any(r in quoting for r in reasons)]
    if not lines:
        return by_line
    found = {r for line in lines for r in by_line[line] if r in quoting}
    columns = sorted({c for r in found for c in quoting[r].value_columns})
    rows = frame.filter(pl.col(LINE).is_in(pl.Series(lines, dtype=frame.schema[LINE]).implode()))
    values = {
        int(row[0]): dict(zip(columns, row[1:], strict=True))
        for row in rows.select(LINE, *columns).iter_rows()
    }
    # Many rows share a bad value (a status word): each text is made once.
    texts: dict[tuple[str, tuple[object, ...]], str] = {}

    def text(reason: str, cells: dict[str, object]) -> str:
        key = (reason, tuple(cells[c] for c in quoting[reason].value_columns))
        made = texts.get(key)
        if made is None:
            made = texts[key] = quoting[reason].reason_with(key[1])
        return made

    quoted: dict[int, list[str]] = {}
    for line, reasons in by_line.items():
        cells = values.get(line)
        quoted[line] = [
            text(r, cells) if cells is not None and r in quoting else r for r in reasons
        ]
    return quoted


# Up to this many quarantined rows, the valid rows are the runs between them, as slices that
# share the checked frame's memory; more are filtered out (a copy). A large file with a few bad
# rows then holds its rows once, not twice, while it is checked (0.5 GiB at 5M usage rows).
FEW_BAD_ROWS = 256


def _without(frame: pl.DataFrame, bad_rows: pl.Series) -> pl.DataFrame:
    """The frame without the rows marked in `bad_rows`, in order."""
    positions = bad_rows.arg_true().to_list()
    if not positions:
        return frame
    if len(positions) > FEW_BAD_ROWS:
        return frame.filter(~bad_rows)
    starts, ends = [0, *(p + 1 for p in positions)], [*positions, frame.height]
    runs = [
        frame.slice(start, end - start)
        for start, end in zip(starts, ends, strict=True)
        if end > start
    ]
    return pl.concat(runs, rechunk=False) if runs else frame.head(0)


def _reasons_frame(by_line: dict[int, list[str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {LINE: list(by_line), REASONS: [sorted(set(r), key=r.index) for r in by_line.values()]},
        schema={LINE: pl.UInt32, REASONS: pl.List(pl.String)},
    ).sort(LINE)


# The reference of the sources' columns, rendered from the declarations by `sources_reference`.
SOURCES_DOC = Path(__file__).resolve().parents[1] / "docs" / "sources.md"
_TYPE_WORDS: dict[ColumnType, str] = {
    "str": "text",
    "int": "integer",
    "float": "number",
    "bool": "true/false",
    "datetime": "timestamp (UTC)",
    "date": "date",
}


def _bounds(spec: SourceSpec, column: str) -> list[str]:
    """The limits the suite puts on one column's values, in words."""
    bounds = ["0 or more"] if column in spec.non_negative else []
    for a, b in spec.ordered_pairs:
        if spec.columns[a] in _TIME_TYPES and column == a:
            bounds.append(f"not before `{b}`")
        elif spec.columns[a] not in _TIME_TYPES and column == b:
            bounds.append(f"at most `{a}`")
    if column in spec.not_future:
        bounds.append("not in the future")
    return bounds


def _source_section(spec: SourceSpec) -> list[str]:
    table = SOURCE_TABLES[spec.name].__tablename__  # type: ignore[attr-defined]
    key = " + ".join(f"`{c}`" for c in spec.key)
    weeks = " and ".join(f"`{c}`" for c in spec.week_columns)
    lines = [
        f"## {spec.name}",
        "",
        f"Stored in `{table}`, one row per pilot and {key}. A file holds rows of each ISO week "
        f"(pilot's time zone) its {weeks} values fall in.",
        "",
        "| Column | Type | Required | Key | Allowed values | Bounds |",
        "|---|---|---|---|---|---|",
    ]
    for column, column_type in spec.columns.items():
        allowed = ", ".join(f"`{v}`" for v in spec.enums.get(column, ()))
        cells = [
            f"`{column}`",
            _TYPE_WORDS[column_type],
            "yes" if column in spec.required else "",
            "yes" if column in spec.key else "",
            allowed,
            "; ".join(_bounds(spec, column)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    suite = suite_expectations(spec)
    refusals = [e.reason for e in suite if e.type == "expect_column_to_exist"]
    quarantines = [e.reason for e in suite if e.type != "expect_column_to_exist"]
    lines += ["", "A file that lacks a required column is refused whole, with the reason:", ""]
    lines += [f"- {reason}" for reason in refusals]
    lines += ["", "A row is quarantined with each of these it breaks, in this order:", ""]
    lines += [f"{i}. {reason}" for i, reason in enumerate(quarantines, start=1)]
    return lines


def sources_reference() -> str:
    """docs/sources.md: each source's columns, key, allowed values, bounds and quarantine
    reasons, as `models/sources.py` declares them and the checks derive them."""
    lines = [
        "# The sources, column by column",
        "",
        "What each input holds once read into its canonical columns, and why a file or a row is",
        "turned away. Generated from `models/sources.py` by `checks/validate.py`; do not edit by",
        "hand, write it again with `uv run python -m checks.validate --write-docs`.",
        "",
        "A cell that cannot be read as its column's type (`timestamp: someday is not a",
        "timestamp`) quarantines its row before these checks, its reason listed first. Bounds",
        "between two columns hold whenever both are present.",
        "",
        "A quarantined row's reason ends with the value it rejects: `status is not one of ok,",
        "error, timeout: 'unknown_status'`. Text is quoted as a literal, cut after "
        f"{QUOTED_CHARS} characters",
        "(`…`), with control and invisible characters escaped (`'a\\tb'`); numbers and times",
        "are written as they are (times in UTC with a `Z`), and a pair of columns gives both",
        "values in the order the reason reads (`cached_input_tokens exceeds input_tokens: 150 >",
        "100`). The report counts reasons without their values, so rows with the same problem",
        "are one line there; the quarantine CSV files and `check` show each row's values.",
        "",
        "## File types",
        "",
        "Each file is read by its extension: `.csv`, `.tsv` or `.txt` (delimiter and encoding",
        "sniffed), `.jsonl` or `.ndjson` (JSON Lines), `.json` (an array of records, or JSON",
        "Lines), `.parquet` or `.pq`, and `.xlsx` (Excel workbooks, as help desks and time",
        "trackers export them). What the first bytes say wins over the name:",
        "",
        "- An `.xlsx` workbook is read from its first sheet, whatever the file is called. The",
        "  first row is the header; every cell is read as text as a CSV cell would be (numbers",
        "  as `3` or `2.5`, date-times as `YYYY-MM-DD HH:MM:SS` on the workbook's clock, the",
        "  source's timezone applying as for a CSV, a column of dates as `YYYY-MM-DD`, times",
        "  of day and durations such as `[h]:mm:ss` as `HH:MM:SS`), then the same export",
        "  formats, typing and checks apply. Line numbers are",
        "  the sheet's row numbers (header = row 1) when the table starts in the first row;",
        "  empty rows hold no record. Other sheets are not read; a formula cell gives the value",
        "  the workbook saved with it, and an error cell (`#DIV/0!`) reads as empty.",
        "- An archive (ZIP, gzip, 7z, bzip2, xz, Zstandard, RAR, tar) is refused and named as",
        "  such, whatever its name (`a ZIP archive, not a text CSV file; unpack it and put the",
        "  CSV in the inbox`); so are an old `.xls` workbook and a PDF, with what to do instead.",
        "- Any other extension is refused, naming the ones that are read.",
    ]
    for spec in SPECS.values():
        lines += ["", *_source_section(spec)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The row checks of the canonical sources.")
    parser.add_argument(
        "--write-docs", action="store_true", help=f"write {SOURCES_DOC.name} from the sources"
    )
    if parser.parse_args().write_docs:
        SOURCES_DOC.write_text(sources_reference(), encoding="utf-8")
