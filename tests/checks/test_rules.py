"""The stop-rule catalog: pass, fail or warn, and unknown cases for every rule id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import polars as pl
import pytest

from checks.rules.base import (
    Finding,
    Rule,
    RuleContext,
    RuleOutcome,
    Status,
    WeekHistory,
    outcome,
)
from checks.rules.catalog import RULES, STREAK, streak
from checks.verdict import evaluate_rules, verdict
from models.operating_model import SOURCES, OperatingModel, Person, Role
from models.results import Week, WeeklyMetrics
from pipelines.facts import (  # the frames WeekInputs holds
    CHANGE_SCHEMA,
    REVIEW_SCHEMA,
    WeekInputs,
    task_facts,
)
from pipelines.facts import USAGE_SUMMARY_SCHEMA as USAGE_SCHEMA
from pipelines.metrics import weekly_metrics

UTC = dt.UTC
WEEK = Week.parse("2026-W47", "Europe/Berlin")  # Monday 2026-11-16 .. Sunday 2026-11-22
IN_WEEK = dt.datetime(2026, 11, 18, 10, tzinfo=UTC)
BEFORE = dt.datetime(2026, 9, 1, 10, tzinfo=UTC)
RULE = {r.id: r for r in [*RULES, STREAK]}

FACT_SCHEMA = {
    "ticket_id": pl.String,
    "category": pl.String,
    "agent": pl.String,
    "ai_task": pl.Boolean,
    "excluded_category": pl.Boolean,
    "draft_outcome": pl.String,
    "model_calls": pl.Int64,
    "model_cost_usd": pl.Float64,
}


def reviews(*rows: tuple) -> pl.DataFrame:
    """Review rows (ticket, reviewer, reviewed_at, severity, category, note, fix)."""
    return pl.DataFrame(list(rows), schema=REVIEW_SCHEMA, orient="row")


def changes(*rows: tuple) -> pl.DataFrame:
    """Change rows (changed_at, kind, version, approved_by, description)."""
    return pl.DataFrame(list(rows), schema=CHANGE_SCHEMA, orient="row")


def facts(*rows: tuple) -> pl.DataFrame:
    """Fact rows (ticket, category, agent, ai_task, excluded, outcome, calls, model cost)."""
    return pl.DataFrame(list(rows), schema=FACT_SCHEMA, orient="row")


GREEN_FACTS = facts(
    ("T1", "password", "ag1", True, False, "edited", 2, 0.02),
    ("T2", "shipping", "ag2", True, False, "sent_as_is", 1, 0.05),
    ("T3", "password", "ag1", True, False, "rewritten", 3, 0.01),
    ("M1", "password", "ag3", False, False, None, 0, 0.0),
)


def _volume(cost: float) -> dict[str, Any]:
    return {"cost": cost, "review_hours": 10.0, "under_cap": cost <= 3000.0}


def busy_month(cost: float) -> dict[str, Any]:
    """Volumes whose busy month costs `cost` USD."""
    return {"current": _volume(1250.0), "next_team": _volume(1875.0), "busy_month": _volume(cost)}


GREEN_METRICS = WeeklyMetrics.model_validate(
    {
        "ai_tasks": 3,
        "manual_tasks": 1,
        "unknown_ai_tasks": 0,
        "model_cost": 0.5,
        "human_cost": 1.5,
        "fees": 1.0,
        "total_cost": 3.0,
        "cost_per_task": 1.0,
        "reviewed": 25,
        "error_rate": 0.05,
        "correction_rate": 0.1,
        "minutes_saved_per_employee_day": 20.0,
        "month_to_date_cost": 1000.0,
        "projected_month_cost": 2000.0,
        "volumes": busy_month(2500.0),
        "model_calls": 100,
        "failed_model_calls": 1,
        "unpriced_model_calls": 0,
        "model_cost_per_task": 0.1667,
        "human_minutes_by_activity": {
            "review": 10.0,
            "rework": 0.0,
            "escalation": 0.0,
            "maintenance": 0.0,
            "other": 0.0,
        },
        "serious_findings": 0,
        "review_distinct_days": 4,
        "review_distinct_agents": 3,
        "baselines": [],
    }
)


def metrics(**changes: Any) -> WeeklyMetrics:
    """The green week's metrics with some values changed (checked like stored metrics)."""
    return WeeklyMetrics.model_validate(GREEN_METRICS.model_dump() | changes)


def _stats(read: int, quarantined: int, refused: list[dict[str, str]] | None = None) -> dict:
    return {"rows_read": read, "rows_quarantined": quarantined, "refused_files": refused or []}


@pytest.fixture
def green(example_model: OperatingModel) -> RuleContext:
    """A week in which every rule passes (example operating model, 2026-W47)."""
    inputs = WeekInputs(
        pilot=example_model.pilot,
        week=WEEK,
        tickets=pl.DataFrame(),
        usage_summary=pl.DataFrame(
            [
                ("T1", "gpt-4o", "p1", "ok", "genai-prices", 99, 0.5),
                (None, "gpt-4o", "p1", "error", "genai-prices", 1, 0.0),
            ],
            schema=USAGE_SCHEMA,
            orient="row",
        ),
        unpriced_request_ids=[],
        unpriced_total=0,
        timesheets=pl.DataFrame({"entry_id": ["e1"], "minutes": [10.0], "activity": ["review"]}),
        reviews=reviews(
            ("T1", "Dana Levi", IN_WEEK, "none", None, None, None),
            ("T2", "Dana Levi", IN_WEEK, "low", "tone", None, None),
        ),
        earlier_findings=reviews(),
        changes=changes(
            (BEFORE, "model", "gpt-4o", "Sam Okafor", "first model"),
            (BEFORE, "prompt", "p1", "Ana Ruiz", "first prompt"),
            (IN_WEEK, "tool", "kb-2", "Sam Okafor", "knowledge base search"),
        ),
        month_model_cost=10.0,
        month_timesheets=pl.DataFrame(),
    )
    return RuleContext(
        operating_model=example_model,
        week=WEEK,
        facts=GREEN_FACTS,
        metrics=GREEN_METRICS,
        inputs=inputs,
        input_stats={
            "usage": _stats(100, 1),
            "tickets": _stats(50, 0),
            "timesheets": _stats(20, 0),
            "reviews": _stats(0, 0),
        },
        history=WeekHistory(
            metrics={
                "2026-W46": metrics(cost_per_task=1.0),
                "2026-W45": metrics(cost_per_task=1.0),
            },
            failed_rules={"2026-W46": [], "2026-W45": []},
        ),
    )


def run(rule_id: str, ctx: RuleContext) -> RuleOutcome:
    return outcome(RULE[rule_id], ctx)


def with_metrics(ctx: RuleContext, **changes: Any) -> RuleContext:
    return replace(ctx, metrics=WeeklyMetrics.model_validate(ctx.metrics.model_dump() | changes))


def with_inputs(ctx: RuleContext, **fields: Any) -> RuleContext:
    return replace(ctx, inputs=replace(ctx.inputs, **fields))


def with_roles(ctx: RuleContext, **roles: Role | None) -> RuleContext:
    operating_model = ctx.operating_model
    return replace(
        ctx,
        operating_model=operating_model.model_copy(
            update={"roles": operating_model.roles.model_copy(update=roles)}
        ),
    )


# the catalog ---------------------------------------------------------------------------------
def test_catalog_has_the_contract_rule_ids() -> None:
    """It keeps the stable rule ids of contract section 6, each once, streak last."""
    assert [r.id for r in RULES] + [STREAK.id] == [
        "pilot.paused",
        "data.inputs_present",
        "data.quarantine_ratio",
        "data.unpriced_usage",
        "cost.monthly_cap",
        "cost.spend_alert",
        "cost.per_task",
        "cost.per_task_rise",
        "quality.stop_now",
        "quality.serious_repeat",
        "quality.error_rate",
        "quality.correction_rate",
        "scope.excluded_category",
        "review.sample_size",
        "review.sample_spread",
        "ownership.roles",
        "ownership.concentration",
        "change.undocumented",
        "change.frequency",
        "savings.per_employee_day",
        "volume.busy_month",
        "reliability.model_failures",
        "expansion.streak",
    ]


@pytest.mark.parametrize(
    ("rule_id", "on_fail"),
    [
        ("quality.stop_now", "pause_pilot"),
        ("quality.serious_repeat", "pause_pilot"),
        ("scope.excluded_category", "pause_pilot"),
        ("cost.spend_alert", "warn"),
        ("review.sample_spread", "warn"),
        ("change.frequency", "warn"),
        ("volume.busy_month", "warn"),
        ("reliability.model_failures", "warn"),
        ("cost.per_task", "pause_expansion"),
        ("expansion.streak", "pause_expansion"),
    ],
)
def test_rule_consequences_follow_the_contract(rule_id: str, on_fail: str) -> None:
    """It attaches the contract's consequence of failing to each rule."""
    assert RULE[rule_id].on_fail == on_fail


def _passes(ctx: RuleContext) -> Finding:
    return Finding("pass", 0, 0, "fine")


DECLARED = {
    "id": "test.rule",
    "evaluate": _passes,
    "owner_role": "business_owner",
    "on_fail": "warn",
    "action": "Do the thing.",
    "evidence_kind": "text",
}


@pytest.mark.parametrize("missing", ["action", "evidence_kind"])
def test_a_rule_cannot_be_declared_without_action_or_evidence_kind(missing: str) -> None:
    """It refuses a rule declared without the action a report asks for or its evidence kind."""
    with pytest.raises(TypeError, match=missing):
        Rule(**{k: v for k, v in DECLARED.items() if k != missing})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("action", "  ", "an action is required"), ("evidence_kind", "rows", "evidence kind")],
)
def test_a_rule_refuses_an_empty_action_or_unknown_evidence_kind(
    field: str, value: str, message: str
) -> None:
    """It refuses a blank action and an evidence kind reports cannot show."""
    with pytest.raises(ValueError, match=message):
        Rule(**DECLARED | {field: value})


def test_outcomes_carry_the_rules_action_and_evidence_kind(green: RuleContext) -> None:
    """It gives every outcome its rule's action and evidence kind, ticket ids for the rules whose
    evidence is tickets."""
    results = {r.id: r for r in evaluate_rules(green)}
    assert all(results[i].action == RULE[i].action != "" for i in RULE)
    tickets = {i for i, r in results.items() if r.evidence_kind == "tickets"}
    assert tickets == {
        "cost.per_task",
        "quality.stop_now",
        "quality.serious_repeat",
        "quality.error_rate",
        "quality.correction_rate",
        "scope.excluded_category",
    }
    assert "evidence_kind" not in results["cost.per_task"].as_json()


def test_green_week_passes_every_rule_and_is_ready(green: RuleContext) -> None:
    """It passes every rule, including the streak, on a clean week after two green weeks."""
    results = evaluate_rules(green)
    assert {r.id: r.status for r in results} == {rule_id: "pass" for rule_id in RULE}
    assert verdict(results) == "ready"


# data ----------------------------------------------------------------------------------------
def test_inputs_present_fails_when_a_source_is_empty(green: RuleContext) -> None:
    """It fails when usage, tickets or timesheets have no rows and names the empty sources."""
    no_sheets = with_inputs(green, timesheets=green.inputs.timesheets.head(0))
    result = run("data.inputs_present", no_sheets)
    assert (result.status, result.value, result.evidence) == ("fail", 1, ["timesheets"])
    nothing = replace(with_metrics(no_sheets, model_calls=0), facts=GREEN_FACTS.head(0))
    assert run("data.inputs_present", nothing).evidence == ["usage", "tickets", "timesheets"]


def test_quarantine_ratio(green: RuleContext) -> None:
    """It fails above the limit, passes at it, warns on refused files, and is unknown with no rows."""
    at_limit = replace(green, input_stats={**green.input_stats, "usage": _stats(100, 2)})
    assert run("data.quarantine_ratio", at_limit).status == "pass"
    over = replace(green, input_stats={**green.input_stats, "usage": _stats(100, 3)})
    result = run("data.quarantine_ratio", over)
    assert (result.status, result.value, result.threshold) == ("fail", 0.03, 0.02)
    assert result.evidence == ["usage: 3.0% quarantined"]
    refused = replace(
        green,
        input_stats={
            **green.input_stats,
            "reviews": _stats(0, 0, [{"file": "reviews/x.csv", "reason": "empty file"}]),
        },
    )
    result = run("data.quarantine_ratio", refused)
    assert (result.status, result.evidence) == ("warn", ["reviews: reviews/x.csv"])
    empty = replace(green, input_stats={s: _stats(0, 0) for s in green.input_stats})
    assert run("data.quarantine_ratio", empty).status == "unknown"


def test_quarantine_ratio_leaves_skipped_rows_out(green: RuleContext) -> None:
    """It computes the share of the rows that are records: 2 bad of 100 read with 20 Langfuse
    spans set aside is 2.5 %, not 2 % (issue 17)."""
    skipped = {**_stats(100, 2), "rows_skipped": 20}
    result = run("data.quarantine_ratio", replace(green, input_stats={"usage": skipped}))
    assert (result.status, result.value) == ("fail", 0.025)
    only_spans = {**_stats(20, 0), "rows_skipped": 20}
    assert run(
        "data.quarantine_ratio", replace(green, input_stats={"usage": only_spans})
    ).status == ("unknown")


def test_inputs_present_counts_the_rows_stored_in_the_week(green: RuleContext) -> None:
    """It counts each source's rows of the week as the report's inputs do: open tickets
    created this week count even when none was solved (issue 17, case 9)."""
    stats = {
        "usage": {**_stats(100, 0), "rows_in_week": 100},
        "tickets": {**_stats(41, 0), "rows_in_week": 41},
        "timesheets": {**_stats(20, 0), "rows_in_week": 0},
    }
    none_solved = replace(green, facts=GREEN_FACTS.head(0), input_stats=stats)
    result = run("data.inputs_present", none_solved)
    assert (result.status, result.evidence) == ("fail", ["timesheets"])


def test_unpriced_usage(green: RuleContext) -> None:
    """It fails when any call this week has no cost and names the model and request ids."""
    assert run("data.unpriced_usage", green).status == "pass"
    usage = pl.concat(
        [
            green.inputs.usage_summary,
            pl.DataFrame(
                [("T2", "mystery-1", "p1", "ok", "unpriced", 2, 0.0)],
                schema=USAGE_SCHEMA,
                orient="row",
            ),
        ]
    )
    ctx = with_inputs(green, usage_summary=usage, unpriced_total=2, unpriced_request_ids=["a", "b"])
    result = run("data.unpriced_usage", ctx)
    assert (result.status, result.value, result.evidence) == ("fail", 2, ["a", "b"])
    assert "mystery-1" in result.message


# cost ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mtd", "status"), [(2999.99, "pass"), (3000.0, "pass"), (3000.01, "fail")]
)
def test_monthly_cap(green: RuleContext, mtd: float, status: str) -> None:
    """It fails only when month-to-date cost is above the cap."""
    result = run("cost.monthly_cap", with_metrics(green, month_to_date_cost=mtd))
    assert (result.status, result.threshold) == (status, 3000.0)


@pytest.mark.parametrize(
    ("mtd", "projected", "status"),
    [
        (2399.0, 2999.0, "pass"),
        (2400.0, 2400.0, "warn"),  # month to date reached alert_ratio x cap
        (1000.0, 3000.01, "warn"),  # projected month above the cap
    ],
)
def test_spend_alert(green: RuleContext, mtd: float, projected: float, status: str) -> None:
    """It warns at alert_ratio x cap month to date, or when the projected month passes the cap."""
    ctx = with_metrics(green, month_to_date_cost=mtd, projected_month_cost=projected)
    assert run("cost.spend_alert", ctx).status == status


def test_cost_per_task(green: RuleContext) -> None:
    """It fails above the per-task limit with the costliest AI tasks as evidence, unknown without."""
    assert run("cost.per_task", with_metrics(green, cost_per_task=1.5)).status == "pass"
    result = run("cost.per_task", with_metrics(green, cost_per_task=1.51))
    assert result.status == "fail"
    assert result.evidence == ["T2", "T1", "T3"]
    assert run("cost.per_task", with_metrics(green, cost_per_task=None)).status == "unknown"


def test_cost_per_task_rise(green: RuleContext) -> None:
    """It fails on a rise above the limit with no change this week and passes at the limit."""
    at_limit = with_metrics(green, cost_per_task=1.25)
    assert run("cost.per_task_rise", at_limit).status == "pass"
    no_change = with_inputs(with_metrics(green, cost_per_task=1.3), changes=changes())
    result = run("cost.per_task_rise", no_change)
    assert (result.status, result.value, result.threshold) == ("fail", 0.3, 0.25)


def test_cost_per_task_rise_with_a_logged_change_only_warns(green: RuleContext) -> None:
    """It warns instead of failing when a change was logged in the week of the rise."""
    result = run("cost.per_task_rise", with_metrics(green, cost_per_task=1.3))
    assert (result.status, result.evidence) == ("warn", ["tool kb-2"])


def test_cost_per_task_rise_ignores_changes_of_other_weeks(green: RuleContext) -> None:
    """It fails when the only change was logged in an earlier week."""
    ctx = with_inputs(
        with_metrics(green, cost_per_task=1.3),
        changes=changes((dt.datetime(2026, 11, 15, 22, 59, tzinfo=UTC), "tool", "x", "Ana", "")),
    )
    assert run("cost.per_task_rise", ctx).status == "fail"


@pytest.mark.parametrize(
    "history",
    [
        WeekHistory(),
        WeekHistory(metrics={"2026-W46": metrics(cost_per_task=None)}),
        WeekHistory(metrics={"2026-W46": metrics(cost_per_task=0.0)}),
        WeekHistory(metrics={"2026-W45": metrics(cost_per_task=1.0)}),
    ],
)
def test_cost_per_task_rise_is_unknown_without_a_previous_week(
    green: RuleContext, history: WeekHistory
) -> None:
    """It is unknown when the previous week has no cost per task to compare with."""
    assert run("cost.per_task_rise", replace(green, history=history)).status == "unknown"


# quality -------------------------------------------------------------------------------------
def test_stop_now(green: RuleContext) -> None:
    """It fails on any stop-now finding of the week and lists its tickets."""
    ctx = with_inputs(
        green,
        reviews=reviews(
            ("T1", "Dana Levi", IN_WEEK, "stop_now", "privacy", None, None),
            ("T2", "Dana Levi", IN_WEEK, "medium", "tone", None, None),
        ),
    )
    result = run("quality.stop_now", ctx)
    assert (result.status, result.value, result.evidence) == ("fail", 1, ["T1"])
    assert RULE["quality.stop_now"].on_fail == "pause_pilot"


def _serious_repeat(green: RuleContext, earlier_fix: str | None, later_change: bool) -> str:
    earlier_at = dt.datetime(2026, 10, 1, tzinfo=UTC)
    change_rows = [(dt.datetime(2026, 10, 5, tzinfo=UTC), "prompt", "p2", "Ana Ruiz", "fix")]
    ctx = with_inputs(
        green,
        reviews=reviews(("T9", "Dana Levi", IN_WEEK, "medium", "wrong_facts", None, None)),
        earlier_findings=reviews(
            ("T0", "Dana Levi", earlier_at, "medium", "wrong_facts", None, earlier_fix)
        ),
        changes=changes(*change_rows) if later_change else changes(),
    )
    return run("quality.serious_repeat", ctx).status


@pytest.mark.parametrize(
    ("earlier_fix", "later_change", "status"),
    [
        (None, False, "pass"),  # seen before, never fixed: not a repeat after a fix
        ("   ", False, "pass"),
        ("added order lookup to the prompt", False, "fail"),
        (None, True, "fail"),  # a change entry after the earlier finding counts as a fix
    ],
)
def test_serious_repeat(
    green: RuleContext, earlier_fix: str | None, later_change: bool, status: str
) -> None:
    """It fails when a serious finding repeats a category that was fixed after an earlier one."""
    assert _serious_repeat(green, earlier_fix, later_change) == status


def test_serious_repeat_ignores_changes_before_the_earlier_finding(green: RuleContext) -> None:
    """It does not treat a change made before the earlier finding as its fix."""
    ctx = with_inputs(
        green,
        reviews=reviews(("T9", "Dana Levi", IN_WEEK, "medium", "tone", None, None)),
        earlier_findings=reviews(
            ("T0", "Dana Levi", dt.datetime(2026, 10, 1, tzinfo=UTC), "medium", "tone", None, None)
        ),
        changes=changes((BEFORE, "prompt", "p1", "Ana Ruiz", "first prompt")),
    )
    assert run("quality.serious_repeat", ctx).status == "pass"


def test_serious_repeat_needs_the_same_category(green: RuleContext) -> None:
    """It passes when the fixed earlier finding was in another category."""
    ctx = with_inputs(
        green,
        reviews=reviews(("T9", "Dana Levi", IN_WEEK, "stop_now", "privacy", None, None)),
        earlier_findings=reviews(("T0", "Dana Levi", BEFORE, "medium", "tone", None, "fixed")),
    )
    assert run("quality.serious_repeat", ctx).status == "pass"


@pytest.mark.parametrize(
    ("rule_id", "metric", "passing", "failing"),
    [
        ("quality.error_rate", "error_rate", 0.10, 0.11),
        ("quality.correction_rate", "correction_rate", 0.30, 0.31),
    ],
)
def test_rate_rules(
    green: RuleContext, rule_id: str, metric: str, passing: float, failing: float
) -> None:
    """It passes at the limit, fails above it, and is unknown when the rate cannot be measured."""
    assert run(rule_id, with_metrics(green, **{metric: passing})).status == "pass"
    assert run(rule_id, with_metrics(green, **{metric: failing})).status == "fail"
    assert run(rule_id, with_metrics(green, **{metric: None})).status == "unknown"


def test_rate_rules_give_the_tickets_behind_a_failure(green: RuleContext) -> None:
    """It lists the seriously flagged and the corrected AI tickets as evidence."""
    ctx = with_inputs(
        with_metrics(green, error_rate=0.5, correction_rate=0.5),
        reviews=reviews(
            ("T1", "Dana Levi", IN_WEEK, "medium", "tone", None, None),
            ("T2", "Dana Levi", IN_WEEK, "low", "tone", None, None),
        ),
    )
    assert run("quality.error_rate", ctx).evidence == ["T1"]
    assert run("quality.correction_rate", ctx).evidence == ["T3"]


# scope ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ai_task", "calls", "status"),
    [(True, 0, "fail"), (False, 2, "fail"), (False, 0, "pass")],
)
def test_excluded_category(green: RuleContext, ai_task: bool, calls: int, status: str) -> None:
    """It fails on an AI task or AI calls on an excluded category, not on manual handling."""
    ctx = replace(
        green,
        facts=pl.concat(
            [green.facts, facts(("L1", "legal", "ag1", ai_task, True, None, calls, 0.0))]
        ),
    )
    result = run("scope.excluded_category", ctx)
    assert result.status == status
    assert result.evidence == (["L1"] if status == "fail" else [])


# review --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("reviewed", "status"), [(19, "fail"), (20, "pass"), (21, "pass")])
def test_sample_size(green: RuleContext, reviewed: int, status: str) -> None:
    """It fails when fewer outputs were reviewed than review.min_sample."""
    result = run("review.sample_size", with_metrics(green, reviewed=reviewed))
    assert (result.status, result.threshold) == (status, 20.0)


@pytest.mark.parametrize(
    ("reviewed", "days", "agents", "status"),
    [
        (25, 3, 2, "pass"),
        (25, 2, 3, "warn"),
        (25, 5, 1, "warn"),
        (0, 0, 0, "unknown"),
    ],
)
def test_sample_spread(
    green: RuleContext, reviewed: int, days: int, agents: int, status: str
) -> None:
    """It warns when reviews cover too few days or a single agent, unknown without reviews."""
    ctx = with_metrics(
        green, reviewed=reviewed, review_distinct_days=days, review_distinct_agents=agents
    )
    assert run("review.sample_spread", ctx).status == status


# ownership -----------------------------------------------------------------------------------
def test_roles_fail_without_a_distinct_backup(green: RuleContext) -> None:
    """It fails for a role without a person, without a backup, or backed up by the same person."""
    no_backup = Role(name="Dana Levi", email="dana@example.com")
    self_backup = Role(name="Sam Okafor", backup=Person(name=" sam okafor "))
    ctx = with_roles(green, reviewer=no_backup, technical_owner=self_backup, business_owner=None)
    result = run("ownership.roles", ctx)
    assert result.status == "fail"
    assert result.value == 3
    assert sorted(result.evidence) == [
        "business_owner: nobody named",
        "reviewer: no backup",
        "technical_owner: backup is the same person",
    ]


def test_concentration_fails_when_one_person_holds_three_roles(green: RuleContext) -> None:
    """It fails when technical owner, reviewer and stop authority are the same person."""
    backup = Person(name="Li Wei")
    ctx = with_roles(
        green,
        technical_owner=Role(name="Sam Okafor", backup=backup),
        reviewer=Role(name="sam okafor", backup=backup),
        stop_authority=Role(name="Sam Okafor ", backup=backup),
    )
    assert run("ownership.concentration", ctx).status == "fail"
    two_of_three = with_roles(ctx, reviewer=Role(name="Dana Levi", backup=backup))
    assert run("ownership.concentration", two_of_three).status == "pass"


# change --------------------------------------------------------------------------------------
def test_undocumented_versions_fail(green: RuleContext) -> None:
    """It fails for a model or prompt in use without an entry approved by a change approver."""
    usage = green.inputs.usage_summary.with_columns(
        pl.when(pl.col("task_id") == "T1")
        .then(pl.lit("p2"))
        .otherwise(pl.col("prompt_version"))
        .alias("prompt_version")
    )
    ctx = with_inputs(
        green,
        usage_summary=usage,
        changes=pl.concat(
            [green.inputs.changes, changes((BEFORE, "prompt", "p2", "Dana Levi", "self-approved"))]
        ),
    )
    result = run("change.undocumented", ctx)
    assert (result.status, result.evidence) == ("fail", ["prompt p2"])
    approved = with_inputs(
        ctx,
        changes=pl.concat(
            [green.inputs.changes, changes((BEFORE, "prompt", "p2", " ana ruiz ", "approved"))]
        ),
    )
    assert run("change.undocumented", approved).status == "pass"


@pytest.mark.parametrize(("in_week", "status"), [(1, "pass"), (2, "warn")])
def test_change_frequency(green: RuleContext, in_week: int, status: str) -> None:
    """It warns when more changes than limits.max_changes_per_week land in the week."""
    rows = [(IN_WEEK, "tool", f"v{i}", "Sam Okafor", "") for i in range(in_week)]
    rows.append((BEFORE, "tool", "old", "Sam Okafor", ""))
    result = run("change.frequency", with_inputs(green, changes=changes(*rows)))
    assert (result.status, result.value) == (status, in_week)


# savings, volume, reliability ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("minutes", "status"), [(15.0, "pass"), (14.9, "fail"), (-3.0, "fail"), (None, "unknown")]
)
def test_minutes_saved_per_employee_day(
    green: RuleContext, minutes: float | None, status: str
) -> None:
    """It fails below the minimum minutes saved and is unknown when they cannot be measured."""
    result = run(
        "savings.per_employee_day", with_metrics(green, minutes_saved_per_employee_day=minutes)
    )
    assert result.status == status


@pytest.mark.parametrize(("cost", "status"), [(3000.0, "pass"), (3000.5, "warn")])
def test_busy_month(green: RuleContext, cost: float, status: str) -> None:
    """It warns when a busy month's projected cost is above the monthly cap."""
    ctx = with_metrics(green, volumes=busy_month(cost))
    assert run("volume.busy_month", ctx).status == status


@pytest.mark.parametrize(
    ("calls", "failed", "status"), [(100, 5, "pass"), (100, 6, "warn"), (0, 0, "unknown")]
)
def test_model_failures(green: RuleContext, calls: int, failed: int, status: str) -> None:
    """It warns when errors and timeouts exceed the failure limit, unknown without calls."""
    ctx = with_metrics(green, model_calls=calls, failed_model_calls=failed)
    assert run("reliability.model_failures", ctx).status == status


# expansion -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("failed_rules", "failed_this_week", "status", "count"),
    [
        ({"2026-W46": [], "2026-W45": []}, False, "pass", 3),
        ({"2026-W46": [], "2026-W45": []}, True, "fail", 0),
        ({"2026-W46": []}, False, "fail", 2),  # W45 was never run
        ({"2026-W46": [], "2026-W45": ["cost.per_task"]}, False, "fail", 2),
        ({"2026-W46": ["expansion.streak"], "2026-W45": []}, False, "pass", 3),
        ({"2026-W45": [], "2026-W44": []}, False, "fail", 1),  # a gap breaks the streak
    ],
)
def test_streak(
    green: RuleContext,
    failed_rules: dict[str, list[str]],
    failed_this_week: bool,
    status: str,
    count: int,
) -> None:
    """It passes after green_weeks_required consecutive weeks without a failed rule."""
    ctx = replace(green, history=WeekHistory(failed_rules=failed_rules))
    found = streak(ctx, failed_this_week)
    result_status, value, threshold = found.status, found.value, found.threshold
    assert (result_status, value, threshold) == (status, count, 3)


def test_streak_counts_this_week_only_when_no_other_rule_failed(green: RuleContext) -> None:
    """It fails the streak in evaluate_rules when another rule fails this week."""
    results = {r.id: r for r in evaluate_rules(with_metrics(green, reviewed=3))}
    assert results["review.sample_size"].status == "fail"
    assert results["expansion.streak"].status == "fail"
    assert results["expansion.streak"].value == 0


def test_evidence_is_capped_but_counted(green: RuleContext) -> None:
    """It keeps at most 25 evidence ids and the true total."""
    ids = [f"r{i:03d}" for i in range(40)]
    ctx = with_inputs(green, unpriced_total=40, unpriced_request_ids=ids)
    result = run("data.unpriced_usage", ctx)
    assert result.evidence == ids[:25]
    assert result.evidence_total == 40


# every rule id: a pass case, a fail (or warn) case and an unknown case --------------------------
Build = Callable[[RuleContext], RuleContext]


@dataclass(frozen=True)
class Case:
    """A change to the green week that gives one rule a known status."""

    rule_id: str
    status: Status
    build: Build
    note: str


def _unchanged(ctx: RuleContext) -> RuleContext:
    return ctx


def _with_stats(**by_source: dict[str, Any]) -> Build:
    return lambda ctx: replace(ctx, input_stats={**ctx.input_stats, **by_source})


def _with_usage(*rows: tuple) -> Build:
    def build(ctx: RuleContext) -> RuleContext:
        extra = pl.DataFrame(list(rows), schema=USAGE_SCHEMA, orient="row")
        return with_inputs(ctx, usage_summary=pl.concat([ctx.inputs.usage_summary, extra]))

    return build


def _unpriced(ctx: RuleContext) -> RuleContext:
    ctx = _with_usage(("T2", "mystery-1", "p1", "ok", "unpriced", 2, 0.0))(ctx)
    return with_inputs(ctx, unpriced_total=2, unpriced_request_ids=["u1", "u2"])


def _metrics(**metrics: Any) -> Build:
    return lambda ctx: with_metrics(ctx, **metrics)


def _inputs(**fields: Any) -> Build:
    return lambda ctx: with_inputs(ctx, **fields)


def _history(**fields: Any) -> Build:
    return lambda ctx: replace(ctx, history=WeekHistory(**fields))


def _excluded_ai_task(ctx: RuleContext) -> RuleContext:
    legal = facts(("L1", "legal", "ag1", True, True, "edited", 1, 0.01))
    return replace(ctx, facts=pl.concat([ctx.facts, legal]))


def _one_person_holds_three_roles(ctx: RuleContext) -> RuleContext:
    backup = Person(name="Li Wei")
    sam = Role(name="Sam Okafor", backup=backup)
    return with_roles(ctx, technical_owner=sam, reviewer=sam, stop_authority=sam)


OCT_1 = dt.datetime(2026, 10, 1, 10, tzinfo=UTC)
REPEAT_AFTER_FIX = {
    "reviews": reviews(("T9", "Dana Levi", IN_WEEK, "medium", "wrong_facts", None, None)),
    "earlier_findings": reviews(
        ("T0", "Dana Levi", OCT_1, "medium", "wrong_facts", None, "order lookup added")
    ),
}

# The table the coverage test reads: adding a rule without its cases fails that test.
CASES: list[Case] = [
    Case("pilot.paused", "pass", _unchanged, "never-paused"),
    Case(
        "pilot.paused",
        "fail",
        lambda ctx: replace(
            ctx, history=replace(ctx.history, verdicts={"2026-W46": "pause_pilot"})
        ),
        "paused-last-week-no-restart",
    ),
    Case("data.inputs_present", "pass", _unchanged, "all-sources"),
    Case(
        "data.inputs_present",
        "fail",
        lambda ctx: with_inputs(ctx, timesheets=ctx.inputs.timesheets.head(0)),
        "no-timesheets",
    ),
    Case("data.quarantine_ratio", "pass", _unchanged, "1pct"),
    Case("data.quarantine_ratio", "fail", _with_stats(usage=_stats(100, 3)), "3pct"),
    Case(
        "data.quarantine_ratio",
        "warn",
        _with_stats(reviews=_stats(0, 0, [{"file": "r.csv", "reason": "empty"}])),
        "refused-file",
    ),
    Case(
        "data.quarantine_ratio",
        "unknown",
        lambda ctx: replace(ctx, input_stats={s: _stats(0, 0) for s in ctx.input_stats}),
        "nothing-read",
    ),
    Case("data.unpriced_usage", "pass", _unchanged, "all-priced"),
    Case("data.unpriced_usage", "fail", _unpriced, "unpriced-model"),
    Case("cost.monthly_cap", "pass", _unchanged, "under-cap"),
    Case("cost.monthly_cap", "fail", _metrics(month_to_date_cost=3000.01), "over-cap"),
    Case("cost.monthly_cap", "unknown", _metrics(month_to_date_cost=None), "no-timesheets"),
    Case("cost.spend_alert", "pass", _unchanged, "under-alert"),
    Case("cost.spend_alert", "warn", _metrics(month_to_date_cost=2400.0), "at-alert"),
    Case(
        "cost.spend_alert",
        "unknown",
        _metrics(month_to_date_cost=None, projected_month_cost=None),
        "no-timesheets",
    ),
    Case("cost.per_task", "pass", _unchanged, "under-limit"),
    Case("cost.per_task", "fail", _metrics(cost_per_task=1.51), "over-limit"),
    Case("cost.per_task", "unknown", _metrics(cost_per_task=None), "no-ai-tasks"),
    Case("cost.per_task_rise", "pass", _unchanged, "flat"),
    Case(
        "cost.per_task_rise",
        "fail",
        lambda ctx: with_inputs(with_metrics(ctx, cost_per_task=1.3), changes=changes()),
        "rise-no-change",
    ),
    Case("cost.per_task_rise", "warn", _metrics(cost_per_task=1.3), "rise-with-change"),
    Case("cost.per_task_rise", "unknown", _history(), "first-week"),
    Case("quality.stop_now", "pass", _unchanged, "no-stop-now"),
    Case(
        "quality.stop_now",
        "fail",
        _inputs(reviews=reviews(("T1", "Dana Levi", IN_WEEK, "stop_now", "privacy", None, None))),
        "stop-now",
    ),
    Case("quality.serious_repeat", "pass", _unchanged, "no-repeat"),
    Case("quality.serious_repeat", "fail", _inputs(**REPEAT_AFTER_FIX), "repeat-after-fix"),
    Case("quality.error_rate", "pass", _unchanged, "under-limit"),
    Case("quality.error_rate", "fail", _metrics(error_rate=0.11), "over-limit"),
    Case(
        "quality.error_rate",
        "warn",
        _metrics(error_rate=0.04, error_rate_ci=[0.0071, 0.1954], serious_findings=1),
        "small-sample",
    ),
    Case("quality.error_rate", "unknown", _metrics(error_rate=None), "no-reviews"),
    Case("quality.correction_rate", "pass", _unchanged, "under-limit"),
    Case("quality.correction_rate", "fail", _metrics(correction_rate=0.31), "over-limit"),
    Case("quality.correction_rate", "unknown", _metrics(correction_rate=None), "no-outcomes"),
    Case("scope.excluded_category", "pass", _unchanged, "in-scope"),
    Case("scope.excluded_category", "fail", _excluded_ai_task, "legal-draft"),
    Case("review.sample_size", "pass", _unchanged, "25-reviewed"),
    Case("review.sample_size", "fail", _metrics(reviewed=19), "19-reviewed"),
    Case("review.sample_spread", "pass", _unchanged, "4-days-3-agents"),
    Case("review.sample_spread", "warn", _metrics(review_distinct_days=2), "2-days"),
    Case(
        "review.sample_spread",
        "unknown",
        _metrics(reviewed=0, review_distinct_days=0, review_distinct_agents=0),
        "no-reviews",
    ),
    Case("ownership.roles", "pass", _unchanged, "example-roles"),
    Case(
        "ownership.roles",
        "fail",
        lambda ctx: with_roles(ctx, reviewer=Role(name="Dana Levi")),
        "no-backup",
    ),
    Case("ownership.concentration", "pass", _unchanged, "example-roles"),
    Case("ownership.concentration", "fail", _one_person_holds_three_roles, "one-person"),
    Case("change.undocumented", "pass", _unchanged, "all-approved"),
    Case(
        "change.undocumented",
        "fail",
        _with_usage(("T2", "gpt-4o", "p9", "ok", "genai-prices", 1, 0.01)),
        "unlogged-prompt",
    ),
    Case("change.frequency", "pass", _unchanged, "one-change"),
    Case(
        "change.frequency",
        "warn",
        _inputs(changes=changes(*[(IN_WEEK, "tool", f"v{i}", "Sam Okafor", "") for i in (1, 2)])),
        "two-changes",
    ),
    Case("savings.per_employee_day", "pass", _unchanged, "20-minutes"),
    Case("savings.per_employee_day", "fail", _metrics(minutes_saved_per_employee_day=2.0), "2-min"),
    Case(
        "savings.per_employee_day",
        "unknown",
        _metrics(minutes_saved_per_employee_day=None),
        "no-agents",
    ),
    Case("volume.busy_month", "pass", _unchanged, "under-cap"),
    Case("volume.busy_month", "warn", _metrics(volumes=busy_month(3001.0)), "over"),
    Case(
        "volume.busy_month",
        "unknown",
        _metrics(
            volumes={
                v: {"cost": None, "review_hours": None, "under_cap": None}
                for v in ("current", "next_team", "busy_month")
            }
        ),
        "no-timesheets",
    ),
    Case("reliability.model_failures", "pass", _unchanged, "1pct"),
    Case("reliability.model_failures", "warn", _metrics(failed_model_calls=6), "6pct"),
    Case(
        "reliability.model_failures",
        "unknown",
        _metrics(model_calls=0, failed_model_calls=0),
        "no-calls",
    ),
    Case("expansion.streak", "pass", _unchanged, "three-green"),
    Case(
        "expansion.streak",
        "fail",
        _history(failed_rules={"2026-W46": [], "2026-W45": ["cost.per_task"]}),
        "red-w45",
    ),
]

# Rules whose function has no `unknown` branch, with their status on an empty first week.
NEVER_UNKNOWN: dict[str, Status] = {
    # A pause is read from stored verdicts and the change log, both always known.
    "pilot.paused": "pass",
    "data.inputs_present": "fail",
    "data.unpriced_usage": "pass",
    "quality.stop_now": "pass",
    "quality.serious_repeat": "pass",
    "scope.excluded_category": "pass",
    "review.sample_size": "fail",
    "ownership.roles": "pass",
    "ownership.concentration": "pass",
    "change.undocumented": "pass",
    "change.frequency": "pass",
    "expansion.streak": "fail",
}


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=f"{c.rule_id}-{c.status}-{c.note}") for c in CASES]
)
def test_rule_case(green: RuleContext, case: Case) -> None:
    """It gives the rule the status its case in the table expects."""
    assert run(case.rule_id, case.build(green)).status == case.status


def test_every_rule_id_has_pass_fail_and_unknown_cases() -> None:
    """It finds a pass case, a fail (warn for warn-only rules) case and an unknown case, or a
    documented reason it cannot be unknown, for every rule id in the catalog."""
    covered: dict[str, set[str]] = {}
    for case in CASES:
        covered.setdefault(case.rule_id, set()).add(case.status)
    assert set(covered) <= set(RULE), "cases for rule ids that are not in the catalog"
    assert set(NEVER_UNKNOWN) <= set(RULE)
    missing = []
    for rule_id, rule in RULE.items():
        statuses = covered.get(rule_id, set())
        bad = "warn" if rule.on_fail == "warn" else "fail"
        needed = {"pass", bad} | (set() if rule_id in NEVER_UNKNOWN else {"unknown"})
        if not needed <= statuses:
            missing.append(f"{rule_id}: {sorted(needed - statuses)}")
        if rule_id in NEVER_UNKNOWN and "unknown" in statuses:
            missing.append(f"{rule_id}: listed as never unknown but has an unknown case")
    assert missing == []


# an empty first week: rules that cannot be unknown still decide ---------------------------------
EMPTY_SCHEMAS: dict[str, dict[str, Any]] = {
    "tickets": {
        "ticket_id": pl.String,
        "created_at": pl.Datetime("us", "UTC"),
        "solved_at": pl.Datetime("us", "UTC"),
        "status": pl.String,
        "category": pl.String,
        "agent": pl.String,
        "ai_draft_used": pl.Boolean,
        "draft_outcome": pl.String,
        "reopened": pl.Int64,
        "escalated": pl.Boolean,
        "handle_minutes": pl.Float64,
    },
    "timesheets": {
        "entry_id": pl.String,
        "person": pl.String,
        "work_date": pl.Date,
        "minutes": pl.Float64,
        "activity": pl.String,
        "ticket_id": pl.String,
    },
    "month_timesheets": {"person": pl.String, "activity": pl.String, "minutes": pl.Float64},
}


@pytest.fixture
def empty_week(example_model: OperatingModel) -> RuleContext:
    """A pilot's first week with no rows in any source, through the real facts and metrics."""
    inputs = WeekInputs(
        pilot=example_model.pilot,
        week=WEEK,
        tickets=pl.DataFrame(schema=EMPTY_SCHEMAS["tickets"]),
        usage_summary=pl.DataFrame(schema=USAGE_SCHEMA),
        unpriced_request_ids=[],
        unpriced_total=0,
        timesheets=pl.DataFrame(schema=EMPTY_SCHEMAS["timesheets"]),
        reviews=reviews(),
        earlier_findings=reviews(),
        changes=changes(),
        month_model_cost=0.0,
        month_timesheets=pl.DataFrame(schema=EMPTY_SCHEMAS["month_timesheets"]),
    )
    week_facts = task_facts(inputs, example_model)
    return RuleContext(
        operating_model=example_model,
        week=WEEK,
        facts=week_facts,
        metrics=weekly_metrics(week_facts, inputs, example_model),
        inputs=inputs,
        input_stats={s: _stats(0, 0) for s in SOURCES},
        history=WeekHistory(),
    )


@pytest.mark.parametrize(("rule_id", "status"), NEVER_UNKNOWN.items())
def test_rules_that_cannot_be_unknown_decide_an_empty_week(
    empty_week: RuleContext, rule_id: str, status: str
) -> None:
    """It gives a rule without an unknown outcome a pass, fail or warn on an empty first week."""
    result = run(rule_id, empty_week)
    bad = "warn" if RULE[rule_id].on_fail == "warn" else "fail"
    assert result.status in {"pass", bad}
    assert result.status == status


def test_empty_week_outcomes_and_verdict(empty_week: RuleContext) -> None:
    """It reports unknown exactly where nothing could be measured and pauses expansion."""
    results = evaluate_rules(empty_week)
    by_id = {r.id: r for r in results}
    unknown = {r.id for r in results if r.status == "unknown"}
    # No usage and no timesheets: the month-to-date cost is unknown, not the fees alone.
    assert unknown == set(RULE) - set(NEVER_UNKNOWN)
    assert (by_id["cost.monthly_cap"].status, by_id["cost.monthly_cap"].value) == ("unknown", None)
    assert "no model usage this week" in by_id["cost.monthly_cap"].message
    assert {r.id: r.status for r in results if r.id in NEVER_UNKNOWN} == NEVER_UNKNOWN
    assert verdict(results) == "pause_expansion"


def test_ownership_rules_decide_with_no_role_named(green: RuleContext) -> None:
    """It fails the roles rule and passes the concentration rule when no role names anyone."""
    nobody = with_roles(
        green, business_owner=None, technical_owner=None, reviewer=None, stop_authority=None
    )
    roles = run("ownership.roles", nobody)
    assert (roles.status, roles.value) == ("fail", 4)
    assert run("ownership.concentration", nobody).status == "pass"


# history: only weeks before this one count -----------------------------------------------------
LATER_METRICS = {"2026-W48": metrics(cost_per_task=9.0), "2026-W49": metrics(cost_per_task=0.1)}


@pytest.mark.parametrize(
    ("cost", "keep_changes", "status"),
    [(1.0, True, "pass"), (1.3, True, "warn"), (1.3, False, "fail"), (None, True, "unknown")],
)
def test_cost_per_task_rise_ignores_later_weeks(
    green: RuleContext, cost: float | None, keep_changes: bool, status: str
) -> None:
    """It gives an earlier week the same outcome whatever later weeks have stored."""
    ctx = with_metrics(green, cost_per_task=cost)
    if not keep_changes:
        ctx = with_inputs(ctx, changes=changes())
    later = replace(
        ctx, history=replace(ctx.history, metrics={**ctx.history.metrics, **LATER_METRICS})
    )
    before, after = run("cost.per_task_rise", ctx), run("cost.per_task_rise", later)
    assert before.status == status
    assert after == before


def test_cost_per_task_rise_is_unknown_when_only_later_weeks_are_stored(
    green: RuleContext,
) -> None:
    """It does not compare with the next week when the previous week was never stored."""
    ctx = replace(green, history=WeekHistory(metrics=LATER_METRICS))
    assert run("cost.per_task_rise", ctx).status == "unknown"


@pytest.mark.parametrize("failed_this_week", [False, True])
def test_streak_ignores_later_weeks(green: RuleContext, failed_this_week: bool) -> None:
    """It gives an earlier week the same streak whatever later weeks have stored."""
    later = {"2026-W48": ["quality.stop_now"], "2026-W49": [], "2026-W50": []}
    with_later = replace(
        green,
        history=replace(green.history, failed_rules={**green.history.failed_rules, **later}),
    )
    assert streak(with_later, failed_this_week) == streak(green, failed_this_week)


def test_streak_does_not_count_later_green_weeks(green: RuleContext) -> None:
    """It counts only this week when the green weeks stored come after it."""
    later_only = {"2026-W48": [], "2026-W49": [], "2026-W50": []}
    ctx = replace(green, history=WeekHistory(failed_rules=later_only))
    result = run("expansion.streak", ctx)
    assert (result.status, result.value) == ("fail", 1)


# serious repeats: earlier finding, then a fix, then this week's finding -------------------------
@pytest.mark.parametrize(
    ("changed_at", "status"),
    [
        pytest.param(dt.datetime(2026, 10, 5, tzinfo=UTC), "fail", id="between-weeks"),
        pytest.param(IN_WEEK - dt.timedelta(minutes=1), "fail", id="just-before-this-finding"),
        pytest.param(IN_WEEK, "pass", id="same-time-as-this-finding"),
        pytest.param(IN_WEEK + dt.timedelta(days=1), "pass", id="after-this-finding"),
        pytest.param(OCT_1, "pass", id="same-time-as-earlier-finding"),
    ],
)
def test_serious_repeat_needs_the_change_between_the_two_findings(
    green: RuleContext, changed_at: dt.datetime, status: str
) -> None:
    """It counts a change as a fix only when it was logged after the earlier finding and before
    this week's finding."""
    ctx = with_inputs(
        green,
        reviews=reviews(("T9", "Dana Levi", IN_WEEK, "medium", "wrong_facts", None, None)),
        earlier_findings=reviews(("T0", "Dana Levi", OCT_1, "medium", "wrong_facts", None, None)),
        changes=changes((changed_at, "prompt", "p2", "Ana Ruiz", "fix wrong facts")),
    )
    result = run("quality.serious_repeat", ctx)
    assert (result.status, result.evidence) == (status, ["T9"] if status == "fail" else [])


def test_serious_repeat_with_a_fix_text_lists_this_weeks_tickets(green: RuleContext) -> None:
    """It fails on a medium finding in a category whose earlier finding has a recorded fix."""
    result = run("quality.serious_repeat", with_inputs(green, **REPEAT_AFTER_FIX))
    assert (result.status, result.value, result.evidence) == ("fail", 1, ["T9"])
    assert "wrong_facts" in result.message


def test_serious_repeat_sees_a_repeat_after_a_fix_made_mid_week(green: RuleContext) -> None:
    """It fails when a change logged after the earlier finding is followed by a finding later
    this week, even if another finding in the category came before the change."""
    monday = dt.datetime(2026, 11, 16, 10, tzinfo=UTC)
    friday = dt.datetime(2026, 11, 20, 10, tzinfo=UTC)
    ctx = with_inputs(
        green,
        reviews=reviews(
            ("T8", "Dana Levi", monday, "medium", "wrong_facts", None, None),
            ("T9", "Dana Levi", friday, "medium", "wrong_facts", None, None),
        ),
        earlier_findings=reviews(("T0", "Dana Levi", OCT_1, "medium", "wrong_facts", None, None)),
        changes=changes((IN_WEEK, "prompt", "p2", "Ana Ruiz", "fix wrong facts")),
    )
    result = run("quality.serious_repeat", ctx)
    assert result.status == "fail"
    assert "T9" in result.evidence


# unknown, partial and sample intervals ------------------------------------------------------------
NO_TIMESHEETS = "no timesheets this week"


def without_timesheets(ctx: RuleContext) -> RuleContext:
    """The green week as the metrics give it when no timesheet export arrived."""
    unknown = dict.fromkeys(
        (
            "human_cost",
            "total_cost",
            "cost_per_task",
            "minutes_saved_per_employee_day",
            "month_to_date_cost",
            "projected_month_cost",
            "volumes",
        ),
        NO_TIMESHEETS,
    )
    volume = {"cost": None, "review_hours": None, "under_cap": None}
    return with_metrics(
        ctx,
        human_cost=None,
        total_cost=None,
        cost_per_task=None,
        minutes_saved_per_employee_day=None,
        month_to_date_cost=None,
        projected_month_cost=None,
        volumes=dict.fromkeys(("current", "next_team", "busy_month"), volume),
        unknown_because=unknown,
    )


def test_rules_needing_timesheets_are_unknown_and_say_why(green: RuleContext) -> None:
    """It gives every rule whose figure needs the missing timesheets an unknown that names them,
    and the week pauses expansion."""
    results = {r.id: r for r in evaluate_rules(without_timesheets(green))}
    for rule_id in (
        "cost.monthly_cap",
        "cost.spend_alert",
        "cost.per_task",
        "cost.per_task_rise",
        "savings.per_employee_day",
        "volume.busy_month",
    ):
        assert results[rule_id].status == "unknown", rule_id
        assert NO_TIMESHEETS in results[rule_id].message, rule_id
    assert results["expansion.streak"].status == "fail"
    assert verdict(list(results.values())) == "pause_expansion"


def test_cost_per_task_fails_when_model_and_fees_alone_exceed_the_limit(
    green: RuleContext,
) -> None:
    """It fails cost.per_task without a number when model cost and fees per AI task are
    already above the limit, whatever the unknown human cost."""
    ctx = with_metrics(without_timesheets(green), model_cost=4.0)  # (4 + 1) / 3 = 1.67 > 1.5
    result = run("cost.per_task", ctx)
    assert (result.status, result.value) == ("fail", None)
    assert "at least 1.667 USD" in result.message and NO_TIMESHEETS in result.message


def test_cost_per_task_rise_compares_with_the_newest_known_week(green: RuleContext) -> None:
    """It compares with the week before last when last week's cost per task is unknown."""
    unknown_week = metrics(cost_per_task=None, unknown_because={"cost_per_task": NO_TIMESHEETS})
    history = WeekHistory(
        metrics={"2026-W46": unknown_week, "2026-W45": metrics(cost_per_task=0.9)},
        failed_rules=green.history.failed_rules,
    )
    result = run("cost.per_task_rise", replace(green, history=history))
    assert result.status == "pass"
    assert "vs 2026-W45; 2026-W46 unknown" in result.message


def test_a_week_with_an_unknown_rule_is_not_green(green: RuleContext) -> None:
    """It breaks the streak at an earlier week whose only non-pass was an unknown rule, as
    read_history reports it."""
    history = WeekHistory(failed_rules={"2026-W46": ["savings.per_employee_day"], "2026-W45": []})
    found = streak(replace(green, history=history), False)
    assert (found.status, found.value) == ("fail", 1)


def test_a_partial_source_warns_in_inputs_present(green: RuleContext) -> None:
    """It warns, naming the source and its missing days, when a source is partial."""
    from pipelines.coverage import source_coverage

    coverage = source_coverage(
        {"usage": 100, "tickets": 50, "timesheets": 20, "reviews": 2},
        {
            "usage": [20, 20, 20, 20, 20, 0, 0],
            "tickets": [10, 10, 10, 10, 10, 0, 0],
            "timesheets": [5, 5, 5, 5, 0, 0, 0],
            "reviews": [1, 1, 0, 0, 0, 0, 0],
        },
    )
    result = run("data.inputs_present", with_metrics(green, sources=coverage))
    assert result.status == "warn"
    assert result.evidence == ["timesheets: timesheets cover 4 of the usual 5 days (none on Fri)"]


@pytest.mark.parametrize(
    ("serious", "reviewed", "status", "words"),
    [
        (2, 29, "warn", "sample too small to be sure"),
        (0, 60, "pass", "within the limit"),
        (4, 29, "fail", "above the limit"),
    ],
)
def test_error_rate_weighs_its_interval(
    green: RuleContext, serious: int, reviewed: int, status: str, words: str
) -> None:
    """It warns when the error rate passes but its 95 % interval reaches above the limit, and
    says how many more reviews at that rate would settle it."""
    from pipelines.intervals import wilson

    low, high = wilson(serious, reviewed) or (0.0, 0.0)
    ctx = with_metrics(
        green,
        reviewed=reviewed,
        serious_findings=serious,
        error_rate=round(serious / reviewed, 4),
        error_rate_ci=[round(low, 4), round(high, 4)],
    )
    result = run("quality.error_rate", ctx)
    assert result.status == status and words in result.message
    if status == "warn":
        assert "error rate 6.9 %, 95 % CI 1.9-22.0 %, n=29" in result.message
        assert "about 330 more reviews at the same rate would settle it" in result.message


def test_rules_need_declared_metrics() -> None:
    """It declares every metric a rule needs as a weekly metric with declared sources."""
    from models.results import METRIC_SOURCES

    for rule in RULE.values():
        for name in rule.needs:
            assert name in WeeklyMetrics.model_fields and name in METRIC_SOURCES, (rule.id, name)


def test_an_unknown_rule_says_why_in_its_json(green: RuleContext) -> None:
    """It gives an unknown rule's JSON the reason its metrics are unknown, and others none."""
    from checks.rules.base import unknown_reason

    ctx = without_timesheets(green)
    for rule_id, reason in (("savings.per_employee_day", NO_TIMESHEETS), ("ownership.roles", None)):
        result = run(rule_id, ctx)
        because = unknown_reason(RULE[rule_id], result.status, result.message, ctx.metrics)
        assert result.as_json(because)["unknown_because"] == reason
