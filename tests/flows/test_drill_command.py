"""`pilot-readiness drill` walks the example pilot through a normal and a bad week."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.drill import run_drill
from models.operating_model import OperatingModel
from pipelines.drill import EVENTS

EXAMPLE = Path(__file__).parents[2] / "pilots" / "support-reply-drafts.yaml"


@pytest.mark.parametrize("real_exists", [False, True])
def test_drill_writes_its_page_and_leaves_the_real_warehouse_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_exists: bool
) -> None:
    """It writes drill.html with every bad-day event, self-contained, and neither creates nor
    changes the warehouse PILOT_DB_URL names."""
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    real = real_dir / "warehouse.db"
    if real_exists:
        with sqlite3.connect(real) as conn:
            conn.execute("CREATE TABLE t (x INTEGER)")
            conn.execute("INSERT INTO t VALUES (1)")
        conn.close()
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in real_dir.iterdir()}
    monkeypatch.setenv("PILOT_DB_URL", f"sqlite:///{real}")
    monkeypatch.setenv("PILOT_OUT_DIR", str(tmp_path / "out"))
    result = CliRunner().invoke(app, ["drill", "--pilot", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    page = tmp_path / "out" / "support-reply-drafts" / "drill.html"
    assert result.stdout.strip().endswith(str(page))
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in real_dir.iterdir()}
    assert after == before
    html = page.read_text(encoding="utf-8")
    for event in EVENTS:
        assert f'id="{event.id}"' in html, event.id
    assert "<script" not in html and "http" not in html.split("<body>")[1]


def test_each_event_fires_its_own_rule(tmp_path: Path, example_model: OperatingModel) -> None:
    """It names, per event, the rules that fired only because of it, the verdict and the person
    and due time of each action; only the handoff receiver without backup is left uncaught."""
    run = run_drill(example_model, tmp_path / "out", work_dir=tmp_path)
    by_id = {r.event_id: r for r in run.results}
    assert list(by_id) == ["normal", *(e.id for e in EVENTS), "all"]
    assert by_id["normal"].verdict == "pause_expansion"
    assert by_id["normal"].new_fired == [] and "expansion.streak" in by_id["normal"].fired
    expected = {
        "source_missing": "data.inputs_present",
        "stop_now_finding": "quality.stop_now",
        "excluded_category": "scope.excluded_category",
        "timeout_burst": "reliability.model_failures",
        "cost_spike": "cost.per_task",
        "undocumented_prompt_change": "change.undocumented",
    }
    for event_id, rule in expected.items():
        assert rule in by_id[event_id].new_fired, event_id
        assert by_id[event_id].not_staged is None
    assert set(expected.values()) <= set(by_id["all"].new_fired)
    assert by_id["stop_now_finding"].verdict == by_id["all"].verdict == "pause_pilot"
    stop = next(a for a in by_id["all"].actions if a["id"] == "quality.stop_now")
    assert (stop["person"], stop["backup"]) == ("Ana Ruiz", "Sam Okafor")
    assert stop["due_text"] == "Mon 2026-11-16 04:00 CET" and stop["decides_verdict"]
    # A quarter of the calls timing out only warns; the handoff receiver has no backup.
    assert [g.event_id for g in run.gaps] == ["timeout_burst", None]
    assert "only as a warning (reliability.model_failures)" in run.gaps[0].what
    assert "handoff receiver" in run.gaps[1].what
    assert not list(tmp_path.glob("pilot-drill-*"))  # the scratch warehouses are gone


def test_a_model_without_handoff_or_excluded_categories_shows_the_gaps(
    tmp_path: Path, example_model: OperatingModel
) -> None:
    """It reports the excluded-category event as not staged and the missing handoff section
    when the operating model has neither."""
    model = example_model.model_copy(
        update={
            "handoff": None,
            "workflow": example_model.workflow.model_copy(update={"excluded_categories": []}),
        }
    )
    run = run_drill(model, tmp_path / "out", work_dir=tmp_path)
    texts = [(g.event_id, g.what) for g in run.gaps]
    assert any(e == "excluded_category" and "excludes no category" in w for e, w in texts)
    assert any(e is None and "no handoff section" in w for e, w in texts)
    html = run.page.read_text(encoding="utf-8")
    assert "no handoff section" in html
