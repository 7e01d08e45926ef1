"""The stop-rule catalog: pass, fail or warn, and unknown cases for every rule id."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import polars as pl
import pytest

from checks.rules.base import RuleContext, RuleOutcome, WeekHistory, outcome
from checks.rules.catalog import RULES, STREAK
from checks.verdict import evaluate_rules, verdict
from models.operating_model import OperatingModel, Person, Role
from pipelines.facts import WeekInputs

UTC = dt.UTC
WEEK = "2026-W47"  # Monday 2026-11-16 .. Sunday 2026-11-22 (Berlin)
IN_WEEK = dt.datetime(2026, 11, 18, 10, tzinfo=UTC)
BEFORE = dt.datetime(2026, 9, 1, 10, tzinfo=UTC)
RULE = {r.id: r for r in [*RULES, STREAK]}

REVIEW_SCHEMA = {
    "ticket_id": pl.String,
    "reviewer": pl.String,
    "reviewed_at": pl.Datetime("us", "UTC"),
    "severity": pl.String,
    "category": pl.String,
    "note": pl.String,
    "fix": pl.String,
}
CHANGE_SCHEMA = {
    "changed_at": pl.Datetime("us", "UTC"),
    "kind": pl.String,
    "version": pl.String,
    "approved_by": pl.String,
    "description": pl.String,
}
USAGE_SCHEMA = {
    "task_id": pl.String,
    "model": pl.String,
    "prompt_version": pl.String,
    "status": pl.String,
    "price_source": pl.String,
    "calls": pl.Int64,
    "cost_usd": pl.Float64,
}
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
GREEN_METRICS: dict[str, Any] = {
    "model_calls": 100,
    "failed_model_calls": 1,
    "month_to_date_cost": 1000.0,
    "projected_month_cost": 2000.0,
    "cost_per_task": 1.0,
    "error_rate": 0.05,
    "correction_rate": 0.1,
    "reviewed": 25,
    "review_distinct_days": 4,
    "review_distinct_agents": 3,
    "minutes_saved_per_employee_day": 20.0,
    "volumes": {"busy_month": {"cost": 2500.0}},
}


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
        versions_seen=pl.DataFrame(),
        month_model_cost=10.0,
        month_timesheets=pl.DataFrame(),
    )
    return RuleContext(
        model=example_model,
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
            metrics={"2026-W46": {"cost_per_task": 1.0}, "2026-W45": {"cost_per_task": 1.0}},
            failed_rules={"2026-W46": [], "2026-W45": []},
        ),
    )


def run(rule_id: str, ctx: RuleContext) -> RuleOutcome:
    return outcome(RULE[rule_id], ctx)


def with_metrics(ctx: RuleContext, **metrics: Any) -> RuleContext:
    return replace(ctx, metrics={**ctx.metrics, **metrics})


def with_inputs(ctx: RuleContext, **fields: Any) -> RuleContext:
    return replace(ctx, inputs=replace(ctx.inputs, **fields))


def with_roles(ctx: RuleContext, **roles: Role | None) -> RuleContext:
    model = ctx.model
    return replace(
        ctx, model=model.model_copy(update={"roles": model.roles.model_copy(update=roles)})
    )


# the catalog ---------------------------------------------------------------------------------
def test_catalog_has_the_contract_rule_ids() -> None:
    """It keeps the stable rule ids of contract section 6, each once, streak last."""
    assert [r.id for r in RULES] + [STREAK.id] == [
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
        WeekHistory(metrics={"2026-W46": {"cost_per_task": None}}),
        WeekHistory(metrics={"2026-W46": {"cost_per_task": 0.0}}),
        WeekHistory(metrics={"2026-W45": {"cost_per_task": 1.0}}),
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
    ctx = with_metrics(green, volumes={"busy_month": {"cost": cost}})
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
    from checks.rules.catalog import streak

    ctx = replace(green, history=WeekHistory(failed_rules=failed_rules))
    result_status, value, threshold, _, _ = streak(ctx, failed_this_week)
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
