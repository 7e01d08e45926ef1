"""The week's state key: equal when nothing a week's results depend on changed, else new."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from checks.verdict import store_week_verdict
from flows.ingest import ingest_inbox
from models.operating_model import OperatingModel
from models.results import Week
from models.warehouse import WeeklyMetric
from pipelines.demo.canonical import generate_inbox
from pipelines.metrics import store_week_metrics
from pipelines.warehouse.engine import dispose_engines, transaction
from pipelines.week_state import code_digest, stage_modules, week_state

CODE = code_digest("pipelines.metrics", "checks.verdict")


@pytest.fixture
def two_weeks(tmp_path: Path, example_model: OperatingModel):
    """Two demo weeks ingested and computed; returns (db_url, weeks, inbox)."""
    exports = generate_inbox(tmp_path / "exports", weeks=2, seed=3)
    inbox = tmp_path / "inbox"
    shutil.copytree(exports.root, inbox, copy_function=shutil.copy2)
    db_url = f"sqlite:///{tmp_path / 'w.db'}"
    for label in exports.weeks:
        week = Week.parse(label, example_model.timezone)
        ingest_inbox(db_url, example_model, inbox, week)
        week_facts = store_week_metrics(db_url, example_model, week)
        store_week_verdict(db_url, example_model, week, week_facts)
    yield db_url, exports.weeks, inbox
    dispose_engines()


def _key(db_url: str, operating_model: OperatingModel, week: str, code: str = CODE) -> str:
    with transaction(db_url) as conn:
        return week_state(conn, operating_model, week, code).key


def _tamper(db_url: str, pilot: str, week: str) -> None:
    """Change a stored figure of a week, as a re-run of it with other inputs would."""
    table = WeeklyMetric.__table__
    with transaction(db_url) as conn:
        stored = conn.execute(
            select(table.c.metrics_json).where(table.c.pilot == pilot, table.c.week == week)
        ).scalar_one()
        conn.execute(
            table.update()
            .where(table.c.pilot == pilot, table.c.week == week)
            .values(metrics_json=json.dumps(json.loads(stored) | {"ai_tasks": -1}))
        )


def test_the_key_is_stable_and_says_whether_results_are_stored(two_weeks, example_model):
    """It gives the same key twice for an unchanged warehouse and sees the week's stored
    results, and sees none for a week never computed."""
    db_url, weeks, _ = two_weeks
    assert _key(db_url, example_model, weeks[-1]) == _key(db_url, example_model, weeks[-1])
    with transaction(db_url) as conn:
        assert week_state(conn, example_model, weeks[-1], CODE).results_stored
        assert not week_state(conn, example_model, "2030-W01", CODE).results_stored


def test_a_new_file_changes_the_key(two_weeks, example_model):
    """It gives a new key once a new file has been ingested."""
    db_url, weeks, inbox = two_weeks
    before = _key(db_url, example_model, weeks[-1])
    extra = inbox / "changes" / "late-change.csv"
    extra.write_text("changed_at,kind,version\n2020-01-01T00:00:00Z,policy,p-late\n")
    ingest_inbox(db_url, example_model, inbox, Week.parse(weeks[-1], example_model.timezone))
    assert _key(db_url, example_model, weeks[-1]) != before


def test_a_changed_operating_model_or_code_changes_the_key(two_weeks, example_model):
    """It gives a new key when a limit of the operating model or the stages' code changes."""
    db_url, weeks, _ = two_weeks
    stricter = example_model.model_copy(
        update={"limits": example_model.limits.model_copy(update={"max_error_rate": 0.01})}
    )
    assert _key(db_url, example_model, weeks[-1]) != _key(db_url, stricter, weeks[-1])
    assert _key(db_url, example_model, weeks[-1]) != _key(
        db_url, example_model, weeks[-1], code="other code"
    )


def test_an_earlier_weeks_results_change_the_later_key_only(two_weeks, example_model):
    """It changes a week's key when an earlier week's stored results change (rule history),
    and not the earlier week's own key."""
    db_url, weeks, _ = two_weeks
    later, earlier = _key(db_url, example_model, weeks[-1]), _key(db_url, example_model, weeks[0])
    _tamper(db_url, example_model.pilot, weeks[0])
    assert _key(db_url, example_model, weeks[-1]) != later
    assert _key(db_url, example_model, weeks[0]) == earlier


def test_the_code_digest_follows_the_stages_imports() -> None:
    """It digests the modules the stages import, at any depth, and not the report's code."""
    modules = stage_modules("pipelines.metrics", "checks.verdict")
    assert {"pipelines.facts", "pipelines.usage_summary", "models.operating_model"} <= set(modules)
    assert {"checks.rules.catalog", "pipelines.warehouse.bulk"} <= set(modules)
    assert not any(name.startswith(("reports.", "flows.")) for name in modules)
