"""`pilot-readiness drill`: walk the pilot's operating model through a normal and a bad week.

The demo generator writes three normal weeks; the first two are ingested once into a scratch
SQLite warehouse (so rules that need history have it); the last one is the drill week. Each
scenario (the normal week, each event alone, all events together) gets its own copy of that
warehouse and runs the same stages as a weekly run (ingest, facts, rules) without Prefect.
Nothing touches the pilot's real warehouse and nothing is sent.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from checks.actions import with_actions
from checks.verdict import store_week_verdict
from flows.ingest import ingest_inbox
from models.operating_model import OperatingModel
from models.results import Week
from pipelines.demo.canonical import generate_inbox
from pipelines.drill import EVENTS, EventResult, WeekFiles, stage_all, stage_event
from pipelines.metrics import store_week_metrics
from pipelines.warehouse.engine import dispose_engines
from reports.drill_page import Gap, gaps, write_drill_page
from reports.render import actions

HISTORY_WEEKS = 2
DRILL_SEED = 7


def _copy_week(files: list[Path], source_root: Path, inbox: Path) -> None:
    for path in files:
        target = inbox / path.relative_to(source_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def _run_week(db_url: str, model: OperatingModel, inbox: Path, week: Week):
    ingest_inbox(db_url, model, inbox, week)
    store_week_metrics(db_url, model, week)
    verdict, outcomes = store_week_verdict(db_url, model, week)
    return verdict, with_actions(outcomes, model, week)


def _scenario(
    name: str,
    base: Path,
    model: OperatingModel,
    week: Week,
    drill_files: list[Path],
    exports_root: Path,
    stage,
) -> tuple[str | None, list, str | None]:
    folder = base.parent / name
    shutil.copytree(base / "inbox", folder / "inbox")
    shutil.copy2(base / "w.db", folder / "w.db")
    # The drill week's files go into a side folder first, are changed there, then delivered.
    staged = folder / "staged"
    _copy_week(drill_files, exports_root, staged)
    not_staged = stage(WeekFiles(staged, week.label))
    shutil.copytree(staged, folder / "inbox", dirs_exist_ok=True)
    db_url = f"sqlite:///{folder / 'w.db'}"
    try:
        verdict, outcomes = _run_week(db_url, model, folder / "inbox", week)
    finally:
        dispose_engines()
    return verdict, outcomes, not_staged


@dataclass(frozen=True)
class DrillRun:
    """What a drill wrote and found: the page, each scenario's result, the gaps."""

    page: Path
    results: list[EventResult]
    gaps: list[Gap]


def run_drill(model: OperatingModel, out_dir: Path, work_dir: Path | None = None) -> DrillRun:
    """Run the normal week, each event and all events on scratch warehouses (in a temporary
    folder under `work_dir`, removed afterwards); write drill.html under `out_dir`."""
    with tempfile.TemporaryDirectory(prefix="pilot-drill-", dir=work_dir) as tmp:
        scratch = Path(tmp)
        exports = generate_inbox(scratch / "exports", weeks=HISTORY_WEEKS + 1, seed=DRILL_SEED)
        base = scratch / "base"
        db_url = f"sqlite:///{base / 'w.db'}"
        base.mkdir()
        for label in exports.weeks[:HISTORY_WEEKS]:
            _copy_week(exports.files_by_week[label], exports.root, base / "inbox")
            _run_week(db_url, model, base / "inbox", Week.parse(label, model.timezone))
        dispose_engines()
        label = exports.weeks[-1]
        week = Week.parse(label, model.timezone)
        # The unreadable spreadsheet the demo drops into this week is demo mess, not the drill.
        drill_files = [p for p in exports.files_by_week[label] if "helpdesk-export" not in p.name]

        def run(name: str, stage) -> tuple[str | None, list, str | None]:
            return _scenario(name, base, model, week, drill_files, exports.root, stage)

        normal_verdict, normal, _ = run("normal", lambda w: None)
        normal_fired = {o.id for o in normal if o.status != "pass"}
        results = [
            _result(
                "normal",
                "A normal week",
                "The week as the generator writes it.",
                normal_verdict,
                normal,
                normal_fired,
                model,
            )
        ]
        for event in EVENTS:
            verdict, outcomes, why = run(event.id, lambda w, e=event: stage_event(e, w, model))
            results.append(
                _result(
                    event.id, event.title, event.what, verdict, outcomes, normal_fired, model, why
                )
            )
        verdict, outcomes, whys = run("all", lambda w: "; ".join(stage_all(w, model)) or None)
        results.append(
            _result(
                "all",
                "The whole bad day",
                "Every event above in the same week.",
                verdict,
                outcomes,
                normal_fired,
                model,
                whys,
            )
        )
    found: list[Gap] = gaps(results, model)
    page = write_drill_page(Path(out_dir), model, label, results, found, dt.datetime.now(dt.UTC))
    return DrillRun(page, results, found)


def _result(
    event_id: str,
    title: str,
    what: str,
    verdict: str | None,
    outcomes: list,
    normal_fired: set[str],
    model: OperatingModel,
    not_staged: str | None = None,
) -> EventResult:
    fired = [o.id for o in outcomes if o.status != "pass"]
    return EventResult(
        event_id=event_id,
        title=title,
        what=what,
        verdict=verdict,
        fired=fired,
        new_fired=[i for i in fired if i not in normal_fired],
        actions=actions(outcomes, model),
        not_staged=not_staged,
    )
