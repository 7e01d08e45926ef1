"""Ingest properties over generated mixes of good and bad usage and ticket rows: counts add up and
match a reference split, re-ingesting changes nothing, and arrival order never changes the facts."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from flows.ingest import ingest_inbox
from models.operating_model import OperatingModel, load_operating_model
from models.results import Week
from models.warehouse import (
    IngestedFile,
    QuarantinedRow,
    Ticket,
    UsageCall,
    UsageSummary,
    UsageTaskSummary,
)
from pipelines import usage_summary
from pipelines.warehouse.engine import dispose_engines, transaction
from pipelines.warehouse.reads import table_counts

ROOT = Path(__file__).resolve().parents[2]
PILOT = ROOT / "pilots" / "support-reply-drafts.yaml"
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
RUN_WEEK = Week.parse("2026-W47", "Europe/Berlin")
OLDER = dt.datetime(2026, 11, 10, 6, tzinfo=dt.UTC)
NEWER = dt.datetime(2026, 11, 11, 6, tzinfo=dt.UTC)
START = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)

USAGE_HEADER = "request_id,timestamp,model,input_tokens,output_tokens,cached_input_tokens,status\n"
TICKET_HEADER = "ticket_id,created_at,solved_at,status,category,ai_draft_used\n"
USAGE_FACT_COLUMNS = (
    "request_id",
    "timestamp",
    "model",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "status",
)


# GX validation costs ~0.3-0.5 s a file here: keep the whole module well under 60 s.
def _budget(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # no example store written into the work tree
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@dataclass(frozen=True)
class Row:
    """One generated input line: its key, its CSV text and why it must be quarantined (if bad)."""

    key: str
    text: str
    bad: str | None = None  # a substring of the reason the row must carry


@pytest.fixture(scope="module")
def operating_model() -> OperatingModel:
    return load_operating_model(PILOT)


# ------------------------------------------------------------------------------ generators

_keys = st.sampled_from([f"k{i}" for i in range(6)])
_minutes = st.integers(0, 7 * 24 * 60 - 1)


def _stamp(minutes: int) -> str:
    return (START + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def _usage_row(draw: st.DrawFn, kind: str, key: str) -> Row:
    inp = draw(st.integers(0, 5000))
    cells = {
        "request_id": key,
        "timestamp": _stamp(draw(_minutes)),
        "model": draw(st.sampled_from(["gpt-4o", "gpt-4o-mini"])),
        "input_tokens": str(inp),
        "output_tokens": str(draw(st.integers(0, 800))),
        "cached_input_tokens": draw(st.sampled_from(["", str(inp // 2), str(inp)])),
        "status": draw(st.sampled_from(["ok", "error", "timeout"])),
    }
    bad = None
    if kind == "negative_tokens":
        cells["input_tokens"], cells["cached_input_tokens"] = str(-draw(st.integers(1, 99))), ""
        bad = "input_tokens is negative"
    elif kind == "cached_above_input":
        cells["cached_input_tokens"] = str(inp + draw(st.integers(1, 99)))
        bad = "cached_input_tokens exceeds input_tokens"
    elif kind == "unknown_status":
        cells["status"] = draw(st.sampled_from(["OK", "failed", "done", "<b>ok</b>"]))
        bad = "status is not one of ok, error, timeout"
    elif kind == "empty_key":
        cells["request_id"] = ""
        bad = "request_id is missing"
    elif kind == "bad_timestamp":
        cells["timestamp"] = draw(
            st.sampled_from(["yesterday", "2026-02-30T10:00:00Z", "11/02/26"])
        )
        bad = "is not a timestamp"
    return Row(cells["request_id"], ",".join(cells.values()) + "\n", bad)


@st.composite
def _ticket_row(draw: st.DrawFn, kind: str, key: str) -> Row:
    created = draw(_minutes)
    solved = draw(st.one_of(st.none(), st.integers(0, 600)))
    cells = {
        "ticket_id": key,
        "created_at": _stamp(created),
        "solved_at": "" if solved is None else _stamp(created + solved),
        "status": draw(st.sampled_from(["new", "open", "pending", "hold", "solved", "closed"])),
        "category": draw(st.sampled_from(["password", "shipping", "account"])),
        "ai_draft_used": draw(st.sampled_from(["true", "false", "yes", "no", "1", "0"])),
    }
    bad = None
    if kind == "negative_tokens":  # the ticket counterpart: solved before it was created
        cells["solved_at"] = _stamp(created - draw(st.integers(1, 600)))
        bad = "solved_at is before created_at"
    elif kind == "cached_above_input":  # the ticket counterpart: a boolean that is not one
        cells["ai_draft_used"] = draw(st.sampled_from(["maybe", "2", "ja"]))
        bad = "is not a boolean"
    elif kind == "unknown_status":
        cells["status"] = draw(st.sampled_from(["Solved", "escalated", "<script>x</script>"]))
        bad = "status is not one of"
    elif kind == "empty_key":
        cells["ticket_id"] = ""
        bad = "ticket_id is missing"
    elif kind == "bad_timestamp":
        cells["created_at"] = draw(st.sampled_from(["2027-01-05T10:00:00Z", "2099-01-01"]))
        cells["solved_at"] = ""
        bad = "created_at is in the future"
    return Row(cells["ticket_id"], ",".join(cells.values()) + "\n", bad)


# Usage meaning of each bad kind; the ticket generator maps them onto ticket faults.
BAD_KINDS = (
    "negative_tokens",
    "cached_above_input",
    "unknown_status",
    "empty_key",
    "bad_timestamp",
)
_KINDS = ("good",) * 4 + BAD_KINDS + ("same_again", "same_key_other_content")


@st.composite
def rows_of(draw: st.DrawFn, source: str, max_rows: int = 10) -> list[Row]:
    """A file's rows: good rows mixed with bad ones and with repeats of earlier keys or lines."""
    make = _usage_row if source == "usage" else _ticket_row
    rows: list[Row] = []
    for _ in range(draw(st.integers(1, max_rows))):
        kind = draw(st.sampled_from(_KINDS))
        if kind == "same_again" and rows:
            rows.append(draw(st.sampled_from(rows)))
        elif kind == "same_key_other_content" and any(r.key for r in rows):
            key = draw(st.sampled_from([r.key for r in rows if r.key]))
            rows.append(draw(make("good", key)))
        else:
            rows.append(draw(make(kind if kind in BAD_KINDS else "good", draw(_keys))))
    return rows


# ------------------------------------------------------------------------------ reference


@dataclass(frozen=True)
class Split:
    """Where every line of a file must end up when it is loaded into an empty warehouse."""

    valid: dict[str, str]  # key -> line text
    quarantined: dict[int, list[str]]  # line -> reason substrings
    duplicate: int


def reference_split(rows: list[Row]) -> Split:
    """An exact repeat of a line is a duplicate; a key with two contents quarantines all of them."""
    seen: set[str] = set()
    firsts: list[tuple[int, Row]] = []
    duplicate = 0
    for line, row in enumerate(rows, start=2):
        if row.text in seen:
            duplicate += 1
            continue
        seen.add(row.text)
        firsts.append((line, row))
    contents = Counter(row.key for _, row in firsts if row.key)
    valid: dict[str, str] = {}
    quarantined: dict[int, list[str]] = {}
    for line, row in firsts:
        reasons = [row.bad] if row.bad else []
        if row.key and contents[row.key] > 1:
            reasons.append("is not unique in the file")
        if reasons:
            quarantined[line] = reasons
        else:
            valid[row.key] = row.text
    return Split(valid, quarantined, duplicate)


# ------------------------------------------------------------------------------ warehouse helpers


@contextmanager
def fresh_warehouse() -> Iterator[tuple[Path, str]]:
    """An empty inbox folder and a new SQLite warehouse, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ingest-prop-") as folder:
        root = Path(folder)
        try:
            yield root / "inbox", f"sqlite:///{(root / 'w.db').as_posix()}"
        finally:
            dispose_engines()


def put_file(
    inbox: Path, source: str, name: str, header: str, rows: list[Row], when: dt.datetime
) -> Path:
    folder = inbox / source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(header + "".join(row.text for row in rows), encoding="utf-8")
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def file_records(url: str) -> dict[str, Any]:
    with transaction(url) as conn:
        return {r.path: r for r in conn.execute(select(IngestedFile.__table__)).fetchall()}


def quarantine_by_line(url: str, path: str) -> dict[int, list[str]]:
    table = QuarantinedRow.__table__
    with transaction(url) as conn:
        rows = conn.execute(
            select(table.c.line, table.c.reasons).where(table.c.path == path)
        ).fetchall()
    return {line: json.loads(reasons) for line, reasons in rows}


def usage_facts(url: str) -> list[tuple[Any, ...]]:
    table = UsageCall.__table__
    with transaction(url) as conn:
        rows = conn.execute(
            select(*(table.c[c] for c in USAGE_FACT_COLUMNS)).order_by(table.c.request_id)
        ).fetchall()
    return [tuple(r) for r in rows]


def usage_texts(url: str) -> dict[str, str]:
    """The usage table as CSV lines like the generator's (to compare with a reference)."""
    out: dict[str, str] = {}
    for rid, stamp, model_name, inp, outp, cached, status in usage_facts(url):
        stamp_text = stamp.strftime("%Y-%m-%dT%H:%M:%SZ") if stamp else ""
        cells = [
            rid,
            stamp_text,
            model_name,
            str(inp),
            str(outp),
            "" if cached is None else str(cached),
            status,
        ]
        out[rid] = ",".join(cells) + "\n"
    return out


def assert_counts_add_up(url: str) -> None:
    for path, record in file_records(url).items():
        assert record.rows_read == (
            record.rows_loaded + record.rows_quarantined + record.rows_duplicate
        ), path


def _stored(conn: Any, model: type, columns: list[str]) -> pl.DataFrame:
    table = model.__table__  # type: ignore[attr-defined]
    return pl.DataFrame(
        [tuple(r) for r in conn.execute(select(*(table.c[c] for c in columns)))],
        schema=columns,
        orient="row",
        infer_schema_length=None,
    )


def assert_usage_summary_matches(url: str) -> None:
    """Both usage summaries equal the usage calls each file holds: summed per 15-minute bucket,
    and per task group, each task row within one week of the run's timezone."""
    groups = ["task_id", "model", "prompt_version", "status", "price_source"]
    bucket_key = ["file_id", "bucket_start", *groups[1:]]
    task_key = ["file_id", *groups]
    with transaction(url) as conn:
        calls = _stored(conn, UsageCall, ["file_id", "timestamp", *groups, "model_cost_usd"])
        buckets = _stored(conn, UsageSummary, [*bucket_key, "calls", "cost_usd"])
        tasks = _stored(
            conn, UsageTaskSummary, [*task_key, "first_bucket", "last_bucket", "calls", "cost_usd"]
        )
    if calls.height == 0:
        assert buckets.height == tasks.height == 0
        return
    fine = pl.concat(
        usage_summary.summarize(part).with_columns(pl.lit(file_id).alias("file_id"))
        for (file_id,), part in calls.cast({"model_cost_usd": pl.Float64})
        .with_columns(pl.col("timestamp").dt.replace_time_zone("UTC"))
        .group_by("file_id")
    )
    bucket = pl.col("bucket_start")
    expected_buckets = fine.group_by(bucket_key).agg(
        pl.col("calls").sum(), pl.col("cost_usd").sum()
    )
    expected_tasks = fine.group_by(task_key).agg(
        bucket.min().alias("first_bucket"),
        bucket.max().alias("last_bucket"),
        pl.col("calls").sum(),
        pl.col("cost_usd").sum(),
    )
    task_sums = tasks.group_by(task_key).agg(
        pl.col("first_bucket").min(),
        pl.col("last_bucket").max(),
        pl.col("calls").sum(),
        pl.col("cost_usd").sum(),
    )
    times = ("bucket_start", "first_bucket", "last_bucket")

    def rows(frame: pl.DataFrame, key: list[str]) -> list[tuple[Any, ...]]:
        frame = frame.with_columns(
            *(
                pl.col(c).dt.replace_time_zone(None).cast(pl.Datetime("us"))
                for c in times
                if c in frame.columns
            ),
            pl.col("cost_usd").round(12),
            pl.col("calls").cast(pl.Int64),
            pl.col("file_id").cast(pl.Int64),
        )
        return sorted(frame.select(*key, "calls", "cost_usd").rows(), key=str)

    assert rows(buckets, bucket_key) == rows(expected_buckets, bucket_key)
    spans = [*task_key, "first_bucket", "last_bucket"]
    assert rows(task_sums, spans) == rows(expected_tasks, spans)
    local = [
        pl.col(c)
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(RUN_WEEK.timezone)
        .dt.truncate("1w")
        for c in ("first_bucket", "last_bucket")
    ]
    assert tasks.filter(local[0] != local[1]).height == 0  # no task row crosses a week bound


def _text(rows: list[Row]) -> str:
    return "".join(row.text for row in rows)


def _reasons_named(expected: list[str], actual: list[str]) -> bool:
    return all(any(sub in reason for reason in actual) for sub in expected)


# ------------------------------------------------------------------------------ properties


@_budget(10)
@given(usage=rows_of("usage"), tickets=rows_of("tickets"))
def test_every_file_counts_add_up_and_match_the_reference_split(
    operating_model: OperatingModel, usage: list[Row], tickets: list[Row]
) -> None:
    """It records rows_read = loaded + quarantined + duplicate, splitting lines as the reference does."""
    with fresh_warehouse() as (inbox, url):
        put_file(inbox, "usage", "u.csv", USAGE_HEADER, usage, OLDER)
        put_file(inbox, "tickets", "t.csv", TICKET_HEADER, tickets, OLDER)
        ingest_inbox(url, operating_model, inbox, RUN_WEEK, NOW)
        records = file_records(url)
        assert sorted(records) == ["tickets/t.csv", "usage/u.csv"]
        assert_counts_add_up(url)
        for path, rows in (("usage/u.csv", usage), ("tickets/t.csv", tickets)):
            expected, record = reference_split(rows), records[path]
            assert record.status == "loaded", record.reason
            assert record.rows_read == len(rows)
            assert record.rows_loaded == len(expected.valid)
            assert record.rows_duplicate == expected.duplicate
            actual = quarantine_by_line(url, path)
            assert sorted(actual) == sorted(expected.quarantined)
            for line, reasons in expected.quarantined.items():
                assert _reasons_named(reasons, actual[line]), (line, reasons, actual[line])
        assert usage_texts(url) == reference_split(usage).valid
        assert_usage_summary_matches(url)


@_budget(6)
@given(usage=rows_of("usage"), tickets=rows_of("tickets"))
def test_re_ingesting_the_same_inbox_changes_nothing(
    operating_model: OperatingModel, usage: list[Row], tickets: list[Row]
) -> None:
    """It skips known files on a second run, even re-touched ones: no table gains or loses a row."""
    with fresh_warehouse() as (inbox, url):
        put_file(inbox, "usage", "u.csv", USAGE_HEADER, usage, OLDER)
        ticket_path = put_file(inbox, "tickets", "t.csv", TICKET_HEADER, tickets, OLDER)
        assert len(ingest_inbox(url, operating_model, inbox, RUN_WEEK, NOW)) == 2
        counts, facts, records = table_counts(url), usage_facts(url), file_records(url)
        assert ingest_inbox(url, operating_model, inbox, RUN_WEEK, NOW + dt.timedelta(days=7)) == []
        os.utime(ticket_path, (NEWER.timestamp(), NEWER.timestamp()))  # same bytes, newer time
        assert ingest_inbox(url, operating_model, inbox, RUN_WEEK, NOW + dt.timedelta(days=7)) == []
        assert table_counts(url) == counts
        assert usage_facts(url) == facts
        assert file_records(url) == records


@_budget(8)
@given(older=rows_of("usage", max_rows=8), newer=rows_of("usage", max_rows=8))
def test_arrival_order_does_not_change_the_facts_the_newest_export_wins(
    operating_model: OperatingModel, older: list[Row], newer: list[Row]
) -> None:
    """It keeps each key's row from the newest export that has it valid, whichever file came first."""
    results = []
    for first, second in (("older", "newer"), ("newer", "older")):
        with fresh_warehouse() as (inbox, url):
            files = {"older": (older, OLDER), "newer": (newer, NEWER)}
            for name in (first, second):
                rows, when = files[name]
                put_file(inbox, "usage", f"{name}.csv", USAGE_HEADER, rows, when)
                ingest_inbox(url, operating_model, inbox, RUN_WEEK, NOW)
                assert_usage_summary_matches(url)
            # The same bytes twice are one file to the inbox: the second is known and skipped.
            assert len(file_records(url)) == len({_text(older), _text(newer)})
            assert_counts_add_up(url)
            results.append((usage_facts(url), usage_texts(url)))
    assert results[0][0] == results[1][0]
    expected = reference_split(older).valid | reference_split(newer).valid
    assert results[0][1] == expected


def test_three_exports_newest_content_wins_whatever_the_arrival_order(
    operating_model: OperatingModel,
) -> None:
    """It keeps the newest export's row even when an older export with other content arrives last."""
    x = "k1,2026-11-02T10:00:00Z,gpt-4o,100,20,,ok\n"
    y = "k1,2026-11-02T10:00:00Z,gpt-4o,999,20,,ok\n"
    exports = {  # name: (content, export time); the first and the newest say x, the middle y
        "first.csv": (x, OLDER),
        "middle.csv": (y, OLDER + dt.timedelta(hours=6)),
        "newest.csv": (x, NEWER),
    }
    with fresh_warehouse() as (inbox, url):
        for name in ("first.csv", "newest.csv", "middle.csv"):  # arrival order
            text, when = exports[name]
            put_file(inbox, "usage", name, USAGE_HEADER, [Row("k1", text)], when)
            ingest_inbox(url, operating_model, inbox, RUN_WEEK, NOW)
            assert_usage_summary_matches(url)
        assert usage_texts(url) == {"k1": x}


def test_reference_split_names_repeats_conflicts_and_bad_rows() -> None:
    """It marks exact repeats as duplicates and quarantines every content of a shared key."""
    a, a2, b = Row("k1", "a\n"), Row("k1", "a2\n"), Row("k2", "b\n", bad="is negative")
    split = reference_split([a, a, a2, b, Row("", "c\n", bad="request_id is missing")])
    assert split.duplicate == 1
    assert split.valid == {}
    assert split.quarantined == {
        2: ["is not unique in the file"],
        4: ["is not unique in the file"],
        5: ["is negative"],
        6: ["request_id is missing"],
    }


def test_ticket_table_is_filled_by_the_generated_files(operating_model: OperatingModel) -> None:
    """It loads a plain good ticket row, so the ticket properties test real loads."""
    with fresh_warehouse() as (inbox, url):
        row = Row("t1", "t1,2026-11-02T10:00:00Z,,open,password,yes\n")
        put_file(inbox, "tickets", "t.csv", TICKET_HEADER, [row], OLDER)
        ingest_inbox(url, operating_model, inbox, RUN_WEEK, NOW)
        with transaction(url) as conn:
            assert conn.execute(select(Ticket.__table__.c.ticket_id)).scalars().all() == ["t1"]
