"""The drill's events each change one thing in a normal week's exports."""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from models.operating_model import OperatingModel
from pipelines.demo.canonical import generate_inbox
from pipelines.drill import (
    EVENTS,
    TIMEOUT_BURST_SHARE,
    UNDOCUMENTED_PROMPT_VERSION,
    WeekFiles,
    stage_all,
    stage_event,
)

EVENT = {e.id: e for e in EVENTS}


@pytest.fixture(scope="module")
def normal(tmp_path_factory: pytest.TempPathFactory) -> WeekFiles:
    """The demo's last week of three, without the unreadable spreadsheet it adds."""
    root = tmp_path_factory.mktemp("drill-normal")
    exports = generate_inbox(root / "exports", weeks=3, seed=7)
    label = exports.weeks[-1]
    for path in exports.files_by_week[label]:
        if "helpdesk-export" not in path.name:
            target = root / "week" / path.relative_to(exports.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return WeekFiles(root / "week", label)


def _copy(week: WeekFiles, tmp_path: Path) -> WeekFiles:
    shutil.copytree(week.root, tmp_path / "week")
    return WeekFiles(tmp_path / "week", week.label)


def _changed(before: WeekFiles, after: WeekFiles) -> set[str]:
    names = {p.relative_to(before.root).as_posix() for p in before.root.rglob("*") if p.is_file()}
    return {
        n
        for n in names
        if not (after.root / n).exists() or not filecmp.cmp(before.root / n, after.root / n, False)
    }


@pytest.mark.parametrize(
    ("event_id", "source"),
    [
        ("source_missing", "timesheets"),
        ("stop_now_finding", "reviews"),
        ("excluded_category", "tickets"),
        ("timeout_burst", "usage"),
        ("cost_spike", "usage"),
        ("undocumented_prompt_change", "usage"),
    ],
)
def test_each_event_changes_only_its_own_source(
    normal: WeekFiles, tmp_path: Path, example_model: OperatingModel, event_id: str, source: str
) -> None:
    """It edits only the export of the source the event is about."""
    week = _copy(normal, tmp_path)
    assert stage_event(EVENT[event_id], week, example_model) is None
    changed = _changed(normal, week)
    assert changed and {c.split("/")[0] for c in changed} == {source}


def test_the_events_write_what_they_say(
    normal: WeekFiles, tmp_path: Path, example_model: OperatingModel
) -> None:
    """It adds one stop-now review by the pilot's reviewer, moves one AI ticket into the first
    excluded category, times out a quarter of the calls and gives half of them an unlogged
    prompt version, all in one week."""
    week = _copy(normal, tmp_path)
    assert stage_all(week, example_model) == []
    assert week.of("timesheets") == []
    reviews = json.loads(week.of("reviews")[0].read_text(encoding="utf-8"))
    stop = [r for r in reviews if r["severity"] == "stop_now"]
    assert len(stop) == 1 and stop[0]["reviewer"] == "Dana Levi"
    tickets = [json.loads(line) for line in week.of("tickets")[0].read_text().splitlines()]
    excluded = [t for t in tickets if t["ai_draft_used"] and t["category"] == "billing_dispute"]
    assert len(excluded) == 1
    usage = pl.read_csv(week.of("usage")[0], infer_schema_length=0)
    before = pl.read_csv(normal.of("usage")[0], infer_schema_length=0)
    timeouts = (usage["status"] == "timeout").sum() - (before["status"] == "timeout").sum()
    assert timeouts >= int(usage.height * TIMEOUT_BURST_SHARE) * 0.9
    assert (
        usage["prompt_version"] == UNDOCUMENTED_PROMPT_VERSION
    ).sum() == usage.height - usage.height // 2
    ratio = usage["cost_usd"].cast(pl.Float64).sum() / before["cost_usd"].cast(pl.Float64).sum()
    assert ratio > 2


def test_a_model_without_excluded_categories_cannot_stage_that_event(
    normal: WeekFiles, tmp_path: Path, example_model: OperatingModel
) -> None:
    """It says why the excluded-category event cannot be staged and leaves the files alone."""
    week = _copy(normal, tmp_path)
    model = example_model.model_copy(
        update={"workflow": example_model.workflow.model_copy(update={"excluded_categories": []})}
    )
    why = stage_event(EVENT["excluded_category"], week, model)
    assert why is not None and "excludes no category" in why
    assert _changed(normal, week) == set()
