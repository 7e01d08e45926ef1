"""The drill page lists what the operating model does not catch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from models.operating_model import OperatingModel
from pipelines.drill import EventResult
from reports.drill_page import gaps, write_drill_page


def _action(
    rule: str, person: str | None, backup: str | None, due: str | None, urgency: str = "fail"
) -> dict:
    return {
        "id": rule,
        "status": "warn" if urgency == "warn" else "fail",
        "urgency": urgency,
        "action": "Do it.",
        "detail": None,
        "role": "technical_owner",
        "person": person,
        "email": None,
        "backup": backup,
        "backup_email": None,
        "due": due,
        "due_text": due,
        "decides_verdict": True,
        "message": "it failed",
    }


def _result(event_id: str, new: list[str], acts: list[dict]) -> EventResult:
    return EventResult(event_id, event_id, "what", "pause_expansion", new, new, acts)


def test_gaps_name_uncaught_events_and_actions_without_backup_or_due_time(
    example_model: OperatingModel,
) -> None:
    """It lists an event with no new rule, one caught only by a warning, an action without
    backup and one without a due time, and the example's handoff receiver who is no role."""
    results = [
        _result("normal", [], []),
        _result("quiet", [], []),
        _result("soft", ["w.rule"], [_action("w.rule", "Sam", "Jo", "next", urgency="warn")]),
        _result(
            "loud",
            ["a.rule", "b.rule"],
            [
                _action("a.rule", "Sam", None, "2026-11-16T04:00:00+01:00"),
                _action("b.rule", "Sam", "Jo", None),
            ],
        ),
    ]
    found = [(g.event_id, g.what) for g in gaps(results, example_model)]
    assert found[0] == ("quiet", found[0][1]) and "does not catch" in found[0][1]
    assert ("soft", found[1][1]) == found[1] and "only as a warning (w.rule)" in found[1][1]
    assert ("loud", "a.rule: Sam (technical_owner) has no backup.") in found
    assert ("loud", "b.rule: no response time, so no due time.") in found
    assert found[-1][0] is None and "Tier 2 support lead (Li Wei)" in found[-1][1]


def test_a_handoff_receiver_who_holds_a_role_with_backup_is_no_gap(
    example_model: OperatingModel, tmp_path: Path
) -> None:
    """It accepts a role name or a role holder with a backup as the handoff receiver, and the
    page says everything was caught."""
    for receiver in ("reviewer", "Dana Levi (reviewer)"):
        handoff = example_model.handoff.model_copy(update={"receiver": receiver})
        model = example_model.model_copy(update={"handoff": handoff})
        assert gaps([_result("loud", ["a.rule"], [])], model) == []
    page = write_drill_page(
        tmp_path,
        model,
        "2026-W46",
        [_result("loud", ["a.rule"], [])],
        [],
        dt.datetime(2026, 12, 7, tzinfo=dt.UTC),
    )
    assert "Every event fired at least one rule" in page.read_text(encoding="utf-8")
