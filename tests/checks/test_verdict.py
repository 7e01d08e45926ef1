"""The verdict of a week from its rule outcomes (contract section 6)."""

from __future__ import annotations

import pytest

from checks.rules.base import RuleOutcome
from checks.verdict import verdict


def _rule(rule_id: str, status: str, on_fail: str) -> RuleOutcome:
    return RuleOutcome(
        id=rule_id,
        status=status,  # type: ignore[arg-type]
        value=None,
        threshold=None,
        message="",
        evidence=[],
        evidence_total=0,
        owner_role="business_owner",
        on_fail=on_fail,  # type: ignore[arg-type]
    )


PASSING = [
    _rule("quality.stop_now", "pass", "pause_pilot"),
    _rule("cost.per_task", "pass", "pause_expansion"),
    _rule("volume.busy_month", "pass", "warn"),
]


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        pytest.param([], "ready", id="no-rules"),
        pytest.param([("cost.per_task", "pass", "pause_expansion")], "ready", id="all-pass"),
        pytest.param(
            [("quality.stop_now", "fail", "pause_pilot")], "pause_pilot", id="pilot-rule-fails"
        ),
        pytest.param(
            [
                ("cost.per_task", "fail", "pause_expansion"),
                ("scope.excluded_category", "fail", "pause_pilot"),
            ],
            "pause_pilot",
            id="pilot-rule-fails-with-others",
        ),
        pytest.param(
            [("cost.per_task", "fail", "pause_expansion")], "pause_expansion", id="other-fails"
        ),
        pytest.param(
            [("cost.per_task", "unknown", "pause_expansion")],
            "pause_expansion",
            id="unknown-on-expansion-rule",
        ),
        pytest.param(
            [("quality.stop_now", "unknown", "pause_pilot")],
            "pause_expansion",
            id="unknown-on-pilot-rule-pauses-expansion-only",
        ),
        pytest.param(
            [("review.sample_spread", "unknown", "warn")], "ready", id="unknown-on-warn-rule"
        ),
        pytest.param([("volume.busy_month", "warn", "warn")], "ready", id="warn-on-warn-rule"),
        pytest.param(
            [
                ("cost.spend_alert", "warn", "warn"),
                ("reliability.model_failures", "unknown", "warn"),
                ("change.frequency", "warn", "warn"),
            ],
            "ready",
            id="several-warn-only-outcomes",
        ),
        pytest.param(
            [("cost.per_task_rise", "warn", "pause_expansion")],
            "ready",
            id="warn-on-expansion-rule",
        ),
        pytest.param(
            [
                ("data.quarantine_ratio", "unknown", "pause_expansion"),
                ("volume.busy_month", "warn", "warn"),
            ],
            "pause_expansion",
            id="unknown-beats-warn",
        ),
    ],
)
def test_verdict_table(outcomes: list[tuple[str, str, str]], expected: str) -> None:
    """It pauses the pilot on a failed pause_pilot rule, pauses expansion on any other failure
    or a needed rule unknown, and is otherwise ready."""
    results = PASSING + [_rule(*o) for o in outcomes]
    assert verdict(results) == expected


def test_verdict_does_not_depend_on_rule_order() -> None:
    """It gives the same verdict whatever order the outcomes come in."""
    results = [
        _rule("cost.per_task", "fail", "pause_expansion"),
        _rule("quality.stop_now", "fail", "pause_pilot"),
        _rule("review.sample_spread", "unknown", "warn"),
    ]
    assert verdict(results) == verdict(list(reversed(results))) == "pause_pilot"
