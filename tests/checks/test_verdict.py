"""The verdict of a week from its rule outcomes (contract section 6)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from checks.rules.base import RuleContext, RuleOutcome
from checks.rules.catalog import streak
from checks.verdict import read_history, store_week_verdict, stored_outcomes, verdict
from models.operating_model import OperatingModel
from models.results import Week, WeeklyMetrics
from models.warehouse import RuleResult, WeeklyMetric
from pipelines.warehouse.engine import transaction
from tests.checks.test_rules import GREEN_METRICS


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
        action="",
        evidence_kind="text",
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
            [("review.sample_spread", "unknown", "warn")],
            "pause_expansion",
            id="unknown-on-warn-rule-pauses-expansion-too",
        ),
        pytest.param([("volume.busy_month", "warn", "warn")], "ready", id="warn-on-warn-rule"),
        pytest.param(
            [
                ("cost.spend_alert", "warn", "warn"),
                ("reliability.model_failures", "unknown", "warn"),
                ("change.frequency", "warn", "warn"),
            ],
            "pause_expansion",
            id="several-warn-only-outcomes-one-unknown",
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
    or any rule unknown (never taken as a pass), and is otherwise ready."""
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


# history read from the warehouse -------------------------------------------------------------
PILOT = "support-reply-drafts"
METRICS = GREEN_METRICS  # a week where every metric rule passes


def week(label: str) -> Week:
    return Week.parse(label, "Europe/Berlin")


def _store(url: str, week: str, rules: dict[str, str] | None = None, **metrics: Any) -> None:
    """Store a week's metrics and, when given, its rule statuses, as earlier runs would."""
    stored = WeeklyMetrics.model_validate(METRICS.model_dump() | metrics)
    with transaction(url) as conn:
        conn.execute(
            WeeklyMetric.__table__.insert().values(
                pilot=PILOT,
                week=week,
                ai_tasks=10,
                total_cost=10.0,
                cost_per_task=stored.cost_per_task,
                metrics_json=stored.to_json(),
                inputs_json="{}",
            )
        )
        if rules:
            conn.execute(
                RuleResult.__table__.insert(),
                [
                    {
                        "pilot": PILOT,
                        "week": week,
                        "rule_id": rule_id,
                        "status": status,
                        "message": "",
                        "evidence_json": "[]",
                        "owner_role": "business_owner",
                        "on_fail": "pause_expansion",
                    }
                    for rule_id, status in rules.items()
                ],
            )


GREEN_RULES = {"cost.per_task": "pass", "expansion.streak": "fail"}


def test_read_history_keeps_only_weeks_before_this_one(sqlite_url: str) -> None:
    """It returns the stored metrics and failed rule ids of earlier weeks, never of later ones."""
    _store(sqlite_url, "2026-W45", GREEN_RULES, cost_per_task=0.9)
    _store(sqlite_url, "2026-W46", {"cost.per_task": "fail", "quality.stop_now": "pass"})
    _store(sqlite_url, "2026-W47", GREEN_RULES)
    _store(sqlite_url, "2026-W48", {"quality.stop_now": "fail"}, cost_per_task=9.0)
    with transaction(sqlite_url) as conn:
        history = read_history(conn, PILOT, week("2026-W47"))
    assert history.metrics["2026-W45"].cost_per_task == 0.9
    assert set(history.metrics) == {"2026-W45", "2026-W46"}
    assert history.failed_rules == {
        "2026-W45": ["expansion.streak"],
        "2026-W46": ["cost.per_task"],
    }


def test_rerunning_a_week_after_a_later_week_gives_the_same_outcomes(
    sqlite_url: str, example_model: OperatingModel
) -> None:
    """It gives an earlier week the same rule outcomes and verdict after a later week is stored."""
    _store(sqlite_url, "2026-W46", GREEN_RULES, cost_per_task=1.0)
    _store(sqlite_url, "2026-W47", cost_per_task=1.2)
    first = store_week_verdict(sqlite_url, example_model, week("2026-W47"))
    _store(sqlite_url, "2026-W48", cost_per_task=0.1)
    store_week_verdict(sqlite_url, example_model, week("2026-W48"))
    again = store_week_verdict(sqlite_url, example_model, week("2026-W47"))
    assert again == first
    rise = {r.id: r for r in first[1]}["cost.per_task_rise"]
    assert (rise.status, rise.value) == ("pass", 0.2)


def test_a_week_whose_rules_never_ran_does_not_count_as_green(
    sqlite_url: str, example_model: OperatingModel
) -> None:
    """It breaks the streak at a week whose facts were stored but whose rules were never run."""
    _store(sqlite_url, "2026-W45", GREEN_RULES)
    _store(sqlite_url, "2026-W46")  # facts stage only: no rule results stored
    with transaction(sqlite_url) as conn:
        history = read_history(conn, PILOT, week("2026-W47"))
    ctx = RuleContext(
        operating_model=example_model,
        week=week("2026-W47"),
        facts=pl.DataFrame(),
        metrics=METRICS,
        inputs=None,  # type: ignore[arg-type]
        input_stats={},
        history=history,
    )
    found = streak(ctx, False)
    assert "2026-W46" not in history.failed_rules
    assert (found.status, found.value) == ("fail", 1)


def test_stored_outcomes_take_action_and_evidence_kind_from_the_catalog(
    sqlite_url: str, example_model: OperatingModel
) -> None:
    """It reads a week's outcomes back in catalog order with each rule's action and evidence
    kind, and a rule id no longer in the catalog with its message as action and text evidence."""
    _store(sqlite_url, "2026-W47")
    _, evaluated = store_week_verdict(sqlite_url, example_model, week("2026-W47"))
    with transaction(sqlite_url) as conn:
        conn.execute(
            RuleResult.__table__.insert().values(
                pilot=PILOT,
                week="2026-W47",
                rule_id="retired.rule",
                status="pass",
                message="an old rule",
                evidence_json="[]",
                owner_role="reviewer",
                on_fail="warn",
            )
        )
        stored = stored_outcomes(conn, PILOT, week("2026-W47"))
    assert stored[:-1] == evaluated
    assert (stored[-1].id, stored[-1].action, stored[-1].evidence_kind) == (
        "retired.rule",
        "an old rule",
        "text",
    )
