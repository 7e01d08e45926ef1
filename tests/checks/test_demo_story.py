"""The demo's eight weeks tell the story the product exists for (stages run without Prefect)."""

from __future__ import annotations

import shutil

from models.settings import Settings


def test_demo_weeks_go_from_pause_to_stop_to_ready(tmp_path, example_model):
    """It pauses expansion early, pauses the pilot in the bad week for the stop-now finding, and
    is ready once the streak is rebuilt."""
    from checks.verdict import store_week_verdict
    from models.db import dispose_engines
    from models.load import ingest_inbox
    from pipelines.demo_data import generate_inbox
    from pipelines.metrics import store_week_metrics
    from reports.publish import publish_and_send

    exports = generate_inbox(tmp_path / "exports", weeks=8, seed=7)
    inbox, db_url = tmp_path / "inbox", f"sqlite:///{tmp_path / 'w.db'}"
    verdicts, failing = {}, {}
    for week in exports.weeks:
        for path in exports.files_by_week[week]:
            target = inbox / path.relative_to(exports.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        ingest_inbox(db_url, example_model, inbox, week)
        store_week_metrics(db_url, example_model, week)
        verdicts[week], results = store_week_verdict(db_url, example_model, week)
        failing[week] = {r.id for r in results if r.status == "fail"}
    publish_and_send(db_url, example_model, exports.bad_week, tmp_path / "out", Settings())
    dispose_engines()

    weeks = exports.weeks
    assert exports.bad_week == weeks[4]
    assert [verdicts[w] for w in weeks] == [
        "pause_expansion",
        "pause_expansion",
        "pause_expansion",
        "pause_expansion",
        "pause_pilot",
        "pause_expansion",
        "pause_expansion",
        "ready",
    ]
    assert "review.sample_size" in failing[weeks[0]] and "expansion.streak" in failing[weeks[0]]
    assert {"quality.stop_now", "scope.excluded_category", "change.undocumented"} <= failing[
        weeks[4]
    ]
    assert failing[weeks[5]] == {"expansion.streak"} and failing[weeks[-1]] == set()
