"""Week marks: a re-run with nothing changed reuses the stored results; any change recomputes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from checks.verdict import store_week_verdict
from flows.ingest import ingest_inbox
from models.operating_model import OperatingModel
from models.warehouse import WeeklyMetric
from pipelines.demo.canonical import generate_inbox
from pipelines.metrics import store_week_metrics
from pipelines.warehouse.engine import dispose_engines, transaction
from pipelines.week_marks import week_mark


@pytest.fixture
def two_weeks(tmp_path: Path, example_model: OperatingModel):
    """Two demo weeks ingested and computed; returns (db_url, weeks, inbox)."""
    exports = generate_inbox(tmp_path / "exports", weeks=2, seed=3)
    inbox = tmp_path / "inbox"
    shutil.copytree(exports.root, inbox, copy_function=shutil.copy2)
    db_url = f"sqlite:///{tmp_path / 'w.db'}"
    for week in exports.weeks:
        ingest_inbox(db_url, example_model, inbox, week)
        store_week_metrics(db_url, example_model, week)
        store_week_verdict(db_url, example_model, week)
    yield db_url, exports.weeks, inbox
    dispose_engines()


def _tamper(db_url: str, pilot: str, week: str) -> None:
    """Change a stored figure behind the code's back, to see whether a re-run recomputes."""
    table = WeeklyMetric.__table__
    with transaction(db_url) as conn:
        stored = conn.execute(
            select(table.c.metrics_json).where(table.c.pilot == pilot, table.c.week == week)
        ).scalar_one()
        metrics = json.loads(stored) | {"ai_tasks": -1}
        conn.execute(
            table.update()
            .where(table.c.pilot == pilot, table.c.week == week)
            .values(metrics_json=json.dumps(metrics))
        )


def test_a_rerun_with_nothing_changed_reuses_the_stored_results(two_weeks, example_model):
    """It returns the stored metrics and verdict when the week's mark is unchanged."""
    db_url, weeks, _ = two_weeks
    verdict, outcomes = store_week_verdict(db_url, example_model, weeks[-1])
    _tamper(db_url, example_model.pilot, weeks[-1])
    assert store_week_metrics(db_url, example_model, weeks[-1])["ai_tasks"] == -1
    again, again_outcomes = store_week_verdict(db_url, example_model, weeks[-1])
    assert again == verdict
    assert [o.as_json() for o in again_outcomes] == [o.as_json() for o in outcomes]


def test_a_new_file_changes_the_mark_and_recomputes(two_weeks, example_model, tmp_path):
    """It recomputes the week once a new file has been ingested."""
    db_url, weeks, inbox = two_weeks
    _tamper(db_url, example_model.pilot, weeks[-1])
    extra = inbox / "changes" / "late-change.csv"
    extra.write_text("changed_at,kind,version\n2020-01-01T00:00:00Z,policy,p-late\n")
    ingest_inbox(db_url, example_model, inbox, weeks[-1])
    assert store_week_metrics(db_url, example_model, weeks[-1])["ai_tasks"] >= 0


def test_a_changed_operating_model_changes_the_mark(two_weeks, example_model):
    """It gives a different mark when a limit of the operating model changes."""
    db_url, weeks, _ = two_weeks
    stricter = OperatingModel.model_validate(
        example_model.model_dump(mode="json")
        | {"limits": example_model.limits.model_dump(mode="json") | {"max_error_rate": 0.01}}
    )
    with transaction(db_url) as conn:
        assert week_mark(conn, example_model, weeks[-1]) != week_mark(conn, stricter, weeks[-1])
        assert week_mark(conn, example_model, weeks[-1]) == week_mark(
            conn, example_model, weeks[-1]
        )


def test_rerunning_an_earlier_week_changes_the_later_weeks_mark(two_weeks, example_model):
    """It changes a week's mark when an earlier week's stored results change (rule history)."""
    db_url, weeks, _ = two_weeks
    with transaction(db_url) as conn:
        before = week_mark(conn, example_model, weeks[-1])
        first = week_mark(conn, example_model, weeks[0])
    _tamper(db_url, example_model.pilot, weeks[0])
    with transaction(db_url) as conn:
        assert week_mark(conn, example_model, weeks[-1]) != before
        assert week_mark(conn, example_model, weeks[0]) == first  # later weeks do not count
