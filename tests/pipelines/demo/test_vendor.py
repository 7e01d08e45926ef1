"""The demo in vendor formats (issue 5): LiteLLM, Zendesk and Toggl files give the same facts
as the same data in canonical form."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flows.ingest import ingest_inbox, prepare_file
from models.operating_model import OperatingModel
from models.results import Week, WeeklyMetrics
from pipelines.demo.canonical import GeneratedInbox, generate_inbox
from pipelines.demo.vendor import TOGGL_HEADER, write_vendor_inbox
from pipelines.facts import read_week_inputs, task_facts
from pipelines.metrics import weekly_metrics
from pipelines.warehouse.engine import dispose_engines, make_engine, transaction

# After the last export (Monday 2026-11-16 06:00 UTC), so no row lies in the future.
NOW_UTC = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
WEEKS = ["2026-W43", "2026-W44", "2026-W45", "2026-W46"]
BAD_WEEK = "2026-W45"
# Columns that are not data: ids and checksums of the warehouse.
BOOKKEEPING = ["id", "file_id", "row_hash"]


@dataclass(frozen=True)
class Run:
    """One inbox run week by week into its own warehouse."""

    inbox: GeneratedInbox
    db_url: str
    facts: dict[str, pl.DataFrame]
    metrics: dict[str, WeeklyMetrics]


def _run(inbox: GeneratedInbox, folder: Path, operating_model: OperatingModel) -> Run:
    db_url = f"sqlite:///{(folder / 'warehouse.db').as_posix()}"
    delivered = folder / "inbox"
    facts: dict[str, pl.DataFrame] = {}
    metrics: dict[str, WeeklyMetrics] = {}
    for label in inbox.weeks:
        for path in inbox.files_by_week[label]:
            target = delivered / path.relative_to(inbox.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        week = Week.parse(label, operating_model.timezone)
        ingest_inbox(db_url, operating_model, delivered, week, NOW_UTC)
        with transaction(db_url) as conn:
            inputs = read_week_inputs(conn, operating_model, week)
            facts[label] = task_facts(inputs, operating_model)
            metrics[label] = weekly_metrics(facts[label], inputs, operating_model)
    return Run(inbox, db_url, facts, metrics)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, example_model: OperatingModel) -> dict[str, Run]:
    root = tmp_path_factory.mktemp("demo-vendor")
    canonical = generate_inbox(root / "exports", weeks=4)
    vendor = write_vendor_inbox(
        canonical, root / "vendor-exports", example_model, prepare_file, NOW_UTC
    )
    (root / "canonical").mkdir()
    (root / "vendor").mkdir()
    result = {
        "canonical": _run(canonical, root / "canonical", example_model),
        "vendor": _run(vendor, root / "vendor", example_model),
    }
    yield result
    dispose_engines()


def _table(run: Run, name: str, order: list[str]) -> pl.DataFrame:
    frame = pl.read_database(
        f"SELECT * FROM {name}", make_engine(run.db_url), infer_schema_length=None
    )
    return frame.drop(BOOKKEEPING, strict=False).sort(order)


def test_the_vendor_inbox_has_the_same_weeks_and_bad_week(runs: dict[str, Run]) -> None:
    """It converts every week of the canonical inbox, the bad week included."""
    vendor = runs["vendor"].inbox
    assert vendor.weeks == runs["canonical"].inbox.weeks == WEEKS
    assert vendor.bad_week == BAD_WEEK
    assert vendor.rows == {
        "usage": 10989,
        "tickets": 2378,
        "timesheets": 240,
        "reviews": 80,
        "changes": 17,  # the restart the week after the bad week included
    }


def test_vendor_files_give_the_same_task_facts_every_week(runs: dict[str, Run]) -> None:
    """It computes the same task facts, row for row, from the vendor files as from the
    canonical ones."""
    for week in WEEKS:
        canonical, vendor = runs["canonical"].facts[week], runs["vendor"].facts[week]
        assert canonical.height > 500
        assert canonical["ai_task"].sum() > 350
        assert_frame_equal(vendor, canonical)


def test_vendor_files_give_the_same_weekly_metrics(runs: dict[str, Run]) -> None:
    """It computes the same weekly metrics, the bad week's retries and timeouts included."""
    for week in WEEKS:
        assert runs["vendor"].metrics[week] == runs["canonical"].metrics[week]
    bad = runs["vendor"].metrics[BAD_WEEK]
    assert bad.failed_model_calls > 400
    # No timesheet export that week: its minutes are unknown, not zero.
    assert bad.human_minutes_by_activity is None
    assert bad.unknown_because["human_minutes_by_activity"] == "no timesheets this week"


def test_vendor_files_are_read_by_the_vendor_adapters(runs: dict[str, Run]) -> None:
    """It reads usage, tickets and timesheets with the LiteLLM, Zendesk and Toggl adapters and
    loads every row the canonical run loads, with nothing quarantined."""
    files = _table(runs["vendor"], "ingested_file", ["path"])
    loaded = files.filter(pl.col("status") == "loaded")
    adapters = dict(loaded.group_by("source").agg(pl.col("adapter").unique().sort()).iter_rows())
    assert adapters == {
        "usage": ["litellm_spendlogs"],
        "tickets": ["zendesk_api"],
        "timesheets": ["toggl_detailed_csv"],
        "reviews": ["canonical"],
        "changes": ["canonical"],
    }
    refused = files.filter(pl.col("status") == "refused")
    assert refused["path"].to_list() == ["tickets/tickets-2026-W46-helpdesk-export.csv"]
    assert loaded["rows_quarantined"].sum() == 0

    canonical = _table(runs["canonical"], "ingested_file", ["path"])
    loaded_rows = {
        name: dict(frame.group_by("source").agg(pl.col("rows_loaded").sum()).iter_rows())
        for name, frame in (("canonical", canonical), ("vendor", files))
    }
    assert loaded_rows["vendor"] == loaded_rows["canonical"]
    assert canonical["rows_quarantined"].sum() > 0  # the canonical run's malformed rows


def test_the_warehouse_rows_differ_only_where_the_vendor_records_otherwise(
    runs: dict[str, Run],
) -> None:
    """It loads the same usage, ticket and timesheet rows, except what LiteLLM, Zendesk and
    Toggl record differently: the provider, escalation and contact count, entry ids and
    start times."""
    canonical, vendor = runs["canonical"], runs["vendor"]

    usage_c = _table(canonical, "usage_call", ["request_id"])
    usage_v = _table(vendor, "usage_call", ["request_id"])
    assert usage_c.height == usage_v.height == 10989
    assert usage_c["provider"].null_count() == usage_c.height
    assert usage_v["provider"].unique().to_list() == ["openai"]  # LiteLLM's custom_llm_provider
    assert_frame_equal(usage_v.drop("provider"), usage_c.drop("provider"))
    assert usage_v.filter(pl.col("status") == "timeout").height > 50

    tickets_c = _table(canonical, "ticket", ["ticket_id"])
    tickets_v = _table(vendor, "ticket", ["ticket_id"])
    unrecorded = ["escalated", "contact_count"]  # no standard Zendesk field holds them
    assert tickets_v.select(unrecorded).null_count().row(0) == (2224, 2224)
    assert_frame_equal(tickets_v.drop(unrecorded), tickets_c.drop(unrecorded))

    order = ["person", "work_date", "activity", "ticket_id", "minutes"]
    derived = ["entry_id", "started_at"]  # Toggl has start times; its entry ids are derived
    sheets_c = _table(canonical, "timesheet_entry", order)
    sheets_v = _table(vendor, "timesheet_entry", order)
    assert sheets_v["started_at"].null_count() == 0
    assert_frame_equal(sheets_v.drop(derived), sheets_c.drop(derived))


def test_vendor_files_hold_only_vendor_columns(runs: dict[str, Run]) -> None:
    """It writes LiteLLM spend-log keys, Zendesk ticket objects and Toggl's CSV header, never
    the canonical column names."""
    files = [p for week in WEEKS for p in runs["vendor"].inbox.files_by_week[week]]
    names = sorted(p.relative_to(runs["vendor"].inbox.root).as_posix() for p in files)
    assert [n for n in names if n.startswith("usage/")] == [f"usage/usage-{w}.jsonl" for w in WEEKS]

    usage = next(p for p in files if p.name == "usage-2026-W45.jsonl")
    records = [json.loads(line) for line in usage.read_text(encoding="utf-8").splitlines()]
    keys = set().union(*records)
    assert {"request_id", "startTime", "endTime", "prompt_tokens", "spend", "metadata"} <= keys
    assert not keys & {"input_tokens", "output_tokens", "timestamp", "task_id", "cost_usd"}
    assert {r["status"] for r in records} == {"success", "failure"}
    tagged = next(r for r in records if r["request_tags"])
    assert tagged["request_tags"][0].startswith("ticket:T-")
    assert set(tagged["metadata"]) >= {"usage_object", "requester_metadata"}

    page = json.loads(
        next(p for p in files if p.name == "tickets-2026-W45.json").read_text(encoding="utf-8")
    )
    assert set(page) >= {"tickets", "metric_sets", "users"}
    ticket = page["tickets"][0]
    assert isinstance(ticket["id"], int) and ticket["external_id"].startswith("T-")
    assert not set(ticket) & {"ticket_id", "category", "agent", "solved_at", "handle_minutes"}

    sheet = next(p for p in files if p.name == "timesheets-2026-W46.csv")
    with sheet.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == TOGGL_HEADER


def test_vendor_files_keep_the_export_times(runs: dict[str, Run]) -> None:
    """It gives each vendor file its original's export time (mtime)."""
    for week in WEEKS:
        times = {
            name: sorted(round(p.stat().st_mtime) for p in runs[name].inbox.files_by_week[week])
            for name in ("canonical", "vendor")
        }
        assert times["vendor"] == times["canonical"]
