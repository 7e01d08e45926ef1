"""The stop-rule catalog (contract section 6): one small pure function per rule id, and at the
end one `Rule` entry per id that declares everything else about it (owner, what a failure pauses,
the action a report asks for and the kind of its evidence). A new rule is its function and its
entry here; reports and the verdict read the rest from the entry.

Thresholds come only from the operating model; history comes only from weeks before this one.
"""

from __future__ import annotations

import polars as pl

from checks.rules.base import (
    Finding,
    Rule,
    RuleContext,
    above,
    ids,
    partial_note,
    unknown_because,
)
from checks.rules.continuity import missing_weeks, paused, weeks_option
from checks.rules.repeats import serious_repeat_mask
from models.operating_model import ROLE_NAMES
from models.results import COVERED_SOURCES
from pipelines.intervals import more_samples_to_settle, percent, rate_with_interval

# How many weeks back cost.per_task_rise looks for a known cost per task when the previous
# week's is unknown (a source was missing that week).
RISE_LOOKBACK_WEEKS = 4


# data ---------------------------------------------------------------------------------------
def inputs_present(ctx: RuleContext) -> Finding:
    # The rows of each source in the week, as the report's inputs count them (tickets by solve
    # time, else creation time); the week's own counts when the stats lack them.
    fallback = {
        "usage": ctx.metrics.model_calls,
        "tickets": ctx.facts.height,
        "timesheets": ctx.inputs.timesheets.height,
    }
    counts = {s: ctx.input_stats.get(s, {}).get("rows_in_week", n) for s, n in fallback.items()}
    empty = [s for s, n in counts.items() if n == 0]
    if empty:
        return Finding("fail", len(empty), 0, f"no rows this week in: {', '.join(empty)}", empty)
    coverage = ctx.metrics.sources
    short = [
        f"{s}: {coverage[s].reason}"
        for s in COVERED_SOURCES
        if s in coverage and coverage[s].state == "partial"
    ]
    if short:
        return Finding(
            "warn",
            len(short),
            0,
            "partial this week, figures from these sources may be short: " + "; ".join(short),
            short,
        )
    return Finding("pass", 0, 0, "usage, tickets and timesheets all have rows this week", [])


def quarantine_ratio(ctx: RuleContext) -> Finding:
    limit = ctx.operating_model.limits.max_quarantine_ratio
    # Rows set aside as not records of the source (Langfuse spans, deleted tickets) are not bad
    # rows: the share is of the rows that are records.
    records = {s: st["rows_read"] - st.get("rows_skipped", 0) for s, st in ctx.input_stats.items()}
    ratios = {
        s: st["rows_quarantined"] / records[s] for s, st in ctx.input_stats.items() if records[s]
    }
    refused = [
        f"{s}: {r['file']}" for s, st in ctx.input_stats.items() for r in st["refused_files"]
    ]
    if not ratios and not refused:
        return Finding("unknown", None, limit, "no input rows were read for this week", [])
    worst = max(ratios.values(), default=0.0)
    over = [f"{s}: {r:.1%} quarantined" for s, r in sorted(ratios.items()) if r > limit]
    if over:
        return Finding(
            "fail",
            worst,
            limit,
            "quarantined share above the limit in " + "; ".join(over),
            over + refused,
        )
    if refused:
        return Finding(
            "warn",
            worst,
            limit,
            f"{len(refused)} file(s) refused whole; quarantine within limit",
            refused,
        )
    return Finding(
        "pass", worst, limit, f"at most {worst:.1%} of any source's rows quarantined", []
    )


def unpriced_usage(ctx: RuleContext) -> Finding:
    total = ctx.inputs.unpriced_total
    if total:
        models = ids(
            ctx.inputs.usage_summary.filter(pl.col("price_source") == "unpriced").get_column(
                "model"
            )
        )
        return Finding(
            "fail",
            total,
            0,
            f"{total} model call(s) have no price (models: {', '.join(models)}); add a price override",
            ctx.inputs.unpriced_request_ids,
        )
    return Finding("pass", 0, 0, "every model call this week has a cost", [])


# cost ---------------------------------------------------------------------------------------
def monthly_cap(ctx: RuleContext) -> Finding:
    cap = ctx.operating_model.costs.monthly_cap
    status, message = above(
        ctx.metrics.month_to_date_cost,
        cap,
        "month-to-date cost",
        " USD",
        unknown_because(ctx, "month_to_date_cost"),
    )
    message += partial_note(ctx, "month_to_date_cost")
    return Finding(status, ctx.metrics.month_to_date_cost, cap, message, [])


def spend_alert(ctx: RuleContext) -> Finding:
    cap = ctx.operating_model.costs.monthly_cap
    alert = ctx.operating_model.costs.alert_ratio * cap
    mtd, projected = ctx.metrics.month_to_date_cost, ctx.metrics.projected_month_cost
    if mtd is None or projected is None:
        because = unknown_because(ctx, "month_to_date_cost")
        return Finding("unknown", None, cap, f"month-to-date cost is unknown ({because})", [])
    if mtd >= alert or projected > cap:
        return Finding(
            "warn",
            projected,
            cap,
            (
                f"month to date {mtd:.2f} USD (alert at {alert:.2f}); projected month {projected:.2f} USD vs cap {cap:.2f}"
            ),
            [],
        )
    return Finding(
        "pass",
        projected,
        cap,
        f"projected month {projected:.2f} USD is under the alert level",
        [],
    )


def known_cost_floor(ctx: RuleContext) -> float | None:
    """The least the cost per AI task can be when it is unknown only for want of timesheets:
    model cost and fees per AI task (human cost cannot be negative); None otherwise."""
    m = ctx.metrics
    if m.cost_per_task is not None or m.model_cost is None or not m.ai_tasks:
        return None
    return (m.model_cost + m.fees) / m.ai_tasks


def per_task(ctx: RuleContext) -> Finding:
    limit = ctx.operating_model.costs.max_cost_per_task
    value = ctx.metrics.cost_per_task
    because = unknown_because(ctx, "cost_per_task")
    status, message = above(value, limit, "cost per AI task", " USD", because)
    floor = known_cost_floor(ctx)
    if floor is not None and floor > limit:
        # Model and fees alone are over the limit: the unknown human part cannot save it.
        status = "fail"
        message = (
            f"cost per AI task is at least {floor:.4g} USD from model and fees alone, above "
            f"the limit {limit:.4g} USD; the human part is unknown ({because})"
        )
    message += partial_note(ctx, "cost_per_task")
    evidence: list[str] = []
    if status == "fail":
        top = ctx.facts.filter(pl.col("ai_task")).sort("model_cost_usd", descending=True).head(10)
        evidence = top.get_column("ticket_id").to_list()
    return Finding(status, value, limit, message, evidence)


def per_task_rise(ctx: RuleContext) -> Finding:
    limit = ctx.operating_model.limits.max_cost_per_task_rise
    previous_week = ctx.week.shift(-1)
    # The previous week; when its cost per task is unknown (a source missing that week, or no
    # AI tasks), the newest of the weeks before it, run without a gap, that has one.
    compared, previous = previous_week, None
    for back in range(1, RISE_LOOKBACK_WEEKS + 1):
        week = ctx.week.shift(-back)
        stored = ctx.history.metrics.get(week.label)
        if stored is None:
            break
        if stored.cost_per_task is not None:
            compared, previous = week, stored.cost_per_task
            break
    current = ctx.metrics.cost_per_task
    at_least = ""
    if current is None and previous is not None and previous > 0:
        floor = known_cost_floor(ctx)
        if floor is not None and floor / previous - 1 > limit:
            # Model and fees alone already rose above the limit.
            current, at_least = floor, "at least "
    if previous is None or previous <= 0:
        return Finding(
            "unknown", None, limit, f"no cost per task to compare with for {previous_week}", []
        )
    if current is None:
        because = unknown_because(ctx, "cost_per_task")
        return Finding(
            "unknown", None, limit, f"this week's cost per task is unknown ({because})", []
        )
    rise = current / previous - 1
    versus = "" if compared == previous_week else f" (vs {compared}; {previous_week} unknown)"
    change = f"{previous:.3f} -> {at_least}{current:.3f} USD{versus}"
    if rise <= limit:
        return Finding("pass", rise, limit, f"cost per task {change} ({rise:+.0%})", [])
    changes = _changes_in_week(ctx)
    if changes:
        return Finding(
            "warn",
            rise,
            limit,
            (f"cost per task rose {at_least}{rise:+.0%} ({change}); explained by a logged change"),
            changes,
        )
    return Finding(
        "fail",
        rise,
        limit,
        (f"cost per task rose {at_least}{rise:+.0%} ({change}) with no change logged this week"),
        [],
    )


# quality ------------------------------------------------------------------------------------
def stop_now(ctx: RuleContext) -> Finding:
    hits = ctx.inputs.reviews.filter(pl.col("severity") == "stop_now")
    if hits.height:
        return Finding(
            "fail",
            hits.height,
            0,
            f"{hits.height} stop-now finding(s) this week",
            ids(hits["ticket_id"]),
        )
    return Finding("pass", 0, 0, "no stop-now findings this week", [])


def serious_repeat(ctx: RuleContext) -> Finding:
    reviews = ctx.inputs.reviews
    mask = serious_repeat_mask(reviews, ctx.inputs.earlier_findings, ctx.inputs.changes)
    repeats = reviews.filter(mask)
    if repeats.height:
        categories = ids(repeats["category"])
        return Finding(
            "fail",
            len(categories),
            0,
            f"serious finding(s) repeated after a fix in: {', '.join(categories)}",
            ids(repeats["ticket_id"]),
        )
    return Finding("pass", 0, 0, "no serious finding repeats one that was already fixed", [])


SAMPLE_TOO_SMALL = "sample too small to be sure"


def sample_rate(
    ctx: RuleContext,
    metric: str,
    what: str,
    limit: float,
    ci: list[float] | None,
    successes: int,
    n: int,
    sample: str,
) -> tuple[str, str]:
    """Status and message of a rate measured on a sample: fail above the limit; warn ("sample
    too small to be sure") when the rate passes but its 95 % interval reaches above the limit,
    with how many more samples at the same rate would settle it; unknown without a sample."""
    value = getattr(ctx.metrics, metric)
    status, message = above(value, limit, what, "", unknown_because(ctx, metric))
    if value is None or ci is None:
        return status, message
    shown = f"{what} {rate_with_interval(value, ci, n)}"
    if status == "fail":
        return status, f"{shown}: above the limit {percent(limit)}"
    if ci[1] > limit:
        more = more_samples_to_settle(successes, n, limit)
        settle = (
            f"about {more} more {sample} at the same rate would settle it"
            if more is not None
            else "no realistic sample at this rate would settle it"
        )
        return (
            "warn",
            f"{SAMPLE_TOO_SMALL}: {shown} passes the limit {percent(limit)} but the "
            f"interval reaches {percent(ci[1])}; {settle}",
        )
    return status, f"{shown}: within the limit {percent(limit)}"


def error_rate(ctx: RuleContext) -> Finding:
    limit = ctx.operating_model.limits.max_error_rate
    m = ctx.metrics
    status, message = sample_rate(
        ctx,
        "error_rate",
        "error rate",
        limit,
        m.error_rate_ci,
        m.serious_findings,
        m.reviewed,
        "reviews",
    )
    serious = ctx.inputs.reviews.filter(pl.col("severity").is_in(("medium", "stop_now")))
    return Finding(
        status,  # type: ignore[arg-type]
        m.error_rate,
        limit,
        message,
        ids(serious["ticket_id"]) if status == "fail" else [],
    )


def correction_rate(ctx: RuleContext) -> Finding:
    limit = ctx.operating_model.limits.max_correction_rate
    m = ctx.metrics
    corrected = ctx.facts.filter(
        pl.col("ai_task") & pl.col("draft_outcome").is_in(("rewritten", "discarded"))
    )
    status, message = sample_rate(
        ctx,
        "correction_rate",
        "correction rate",
        limit,
        m.correction_rate_ci,
        corrected.height,
        m.draft_outcomes,
        "drafts with a recorded outcome",
    )
    return Finding(
        status,  # type: ignore[arg-type]
        m.correction_rate,
        limit,
        message,
        ids(corrected["ticket_id"]) if status == "fail" else [],
    )


# scope --------------------------------------------------------------------------------------
def excluded_category(ctx: RuleContext) -> Finding:
    hits = ctx.facts.filter(
        pl.col("excluded_category") & (pl.col("ai_task") | (pl.col("model_calls") > 0))
    )
    if hits.height:
        cats = ids(hits["category"])
        return Finding(
            "fail",
            hits.height,
            0,
            f"AI drafts on excluded categories: {', '.join(cats)}",
            ids(hits["ticket_id"]),
        )
    return Finding("pass", 0, 0, "no AI draft on an excluded category", [])


# review -------------------------------------------------------------------------------------
def sample_size(ctx: RuleContext) -> Finding:
    need = ctx.operating_model.review.min_sample
    have = ctx.metrics.reviewed
    if have < need:
        return Finding(
            "fail",
            have,
            need,
            f"{have} outputs reviewed; the operating model asks for {need}",
            [],
        )
    return Finding("pass", have, need, f"{have} outputs reviewed (at least {need})", [])


def sample_spread(ctx: RuleContext) -> Finding:
    need = ctx.operating_model.review.min_distinct_days
    days, agents = ctx.metrics.review_distinct_days, ctx.metrics.review_distinct_agents
    if ctx.metrics.reviewed == 0:
        return Finding("unknown", None, need, "no reviews this week", [])
    if days < need or agents <= 1:
        return Finding("warn", days, need, f"reviews cover {days} day(s) and {agents} agent(s)", [])
    return Finding("pass", days, need, f"reviews cover {days} days and {agents} agents", [])


# ownership ----------------------------------------------------------------------------------
def roles(ctx: RuleContext) -> Finding:
    problems: list[str] = []
    for name in ROLE_NAMES:
        role = getattr(ctx.operating_model.roles, name)
        if role is None:
            problems.append(f"{name}: nobody named")
        elif role.backup is None:
            problems.append(f"{name}: no backup")
        elif role.backup.name.strip().lower() == role.name.strip().lower():
            problems.append(f"{name}: backup is the same person")
    if problems:
        return Finding("fail", len(problems), 0, "; ".join(problems), problems)
    return Finding("pass", 0, 0, "every role has a person and a different backup", [])


def concentration(ctx: RuleContext) -> Finding:
    r = ctx.operating_model.roles
    holders = [
        x.name.strip().lower() if x else None
        for x in (r.technical_owner, r.reviewer, r.stop_authority)
    ]
    if holders[0] and holders.count(holders[0]) == 3:
        return Finding(
            "fail",
            1,
            0,
            f"{r.technical_owner.name} holds technical owner, reviewer and stop authority",
            [],
        )
    return Finding(
        "pass", 0, 0, "technical owner, reviewer and stop authority are not one person", []
    )


# change -------------------------------------------------------------------------------------
def _changes_in_week(ctx: RuleContext) -> list[str]:
    at = pl.col("changed_at")
    # A restart is the stop authority's decision, not a change to the system.
    in_week = ctx.inputs.changes.filter(
        (at >= ctx.week.start) & (at < ctx.week.end) & (pl.col("kind") != "restart")
    )
    return [f"{k} {v}" for k, v in in_week.select("kind", "version").iter_rows()]


def undocumented(ctx: RuleContext) -> Finding:
    approvers = {a.strip().lower() for a in ctx.operating_model.change_approvers}
    approved = ctx.inputs.changes.filter(
        pl.col("approved_by").str.strip_chars().str.to_lowercase().is_in(list(approvers))
    )
    documented = {(k, v) for k, v in approved.select("kind", "version").iter_rows()}
    usage = ctx.inputs.usage_summary
    seen = [("model", m) for m in ids(usage["model"])] + [
        ("prompt", p) for p in ids(usage["prompt_version"])
    ]
    missing = [f"{kind} {version}" for kind, version in seen if (kind, version) not in documented]
    if missing:
        return Finding(
            "fail",
            len(missing),
            0,
            (f"in use without an approved change entry: {', '.join(missing)}"),
            missing,
        )
    return Finding(
        "pass", 0, 0, "every model and prompt version in use has an approved change entry", []
    )


def frequency(ctx: RuleContext) -> Finding:
    limit = ctx.operating_model.limits.max_changes_per_week
    changes = _changes_in_week(ctx)
    if len(changes) > limit:
        return Finding(
            "warn",
            len(changes),
            limit,
            f"{len(changes)} changes this week; one at a time keeps causes clear",
            changes,
        )
    return Finding("pass", len(changes), limit, f"{len(changes)} change(s) this week", changes)


# savings, volume, reliability -----------------------------------------------------------------
def per_employee_day(ctx: RuleContext) -> Finding:
    limit = ctx.operating_model.limits.min_minutes_saved_per_employee_day
    value = ctx.metrics.minutes_saved_per_employee_day
    if value is None:
        because = unknown_because(ctx, "minutes_saved_per_employee_day")
        return Finding(
            "unknown",
            None,
            limit,
            f"minutes saved per employee per day are unknown ({because})",
            [],
        )
    if value < limit:
        return Finding(
            "fail",
            value,
            limit,
            (
                f"{value:.1f} minutes saved per employee per day after review, below {limit:g}: keep to low-risk tasks"
            ),
            [],
        )
    return Finding(
        "pass", value, limit, f"{value:.1f} minutes saved per employee per day after review", []
    )


def busy_month(ctx: RuleContext) -> Finding:
    cap = ctx.operating_model.costs.monthly_cap
    cost = ctx.metrics.volumes.busy_month.cost
    if cost is None:
        because = unknown_because(ctx, "volumes")
        return Finding("unknown", None, cap, f"busy-month cost is unknown ({because})", [])
    if cost > cap:
        return Finding(
            "warn",
            cost,
            cap,
            f"a busy month would cost about {cost:.0f} USD, above the cap {cap:.0f}",
            [],
        )
    return Finding(
        "pass", cost, cap, f"a busy month would cost about {cost:.0f} USD, under the cap", []
    )


def model_failures(ctx: RuleContext) -> Finding:
    limit = ctx.operating_model.limits.max_model_failure_rate
    calls, failed = ctx.metrics.model_calls, ctx.metrics.failed_model_calls
    if not calls:
        return Finding("unknown", None, limit, "no model calls this week", [])
    rate = failed / calls
    if rate > limit:
        return Finding(
            "warn", rate, limit, f"{rate:.1%} of model calls ended in error or timeout", []
        )
    return Finding("pass", rate, limit, f"{rate:.1%} of model calls ended in error or timeout", [])


# expansion ----------------------------------------------------------------------------------
def streak(ctx: RuleContext, failed_this_week: bool) -> Finding:
    need = ctx.operating_model.expansion.green_weeks_required
    count = 0 if failed_this_week else 1
    week = ctx.week
    while count and count < need:
        week = week.shift(-1)
        # A week with a failed or unknown rule (other than the streak) is not green.
        failed = ctx.history.failed_rules.get(week.label)
        if failed is None or [r for r in failed if r != "expansion.streak"]:
            break
        count += 1
    if count >= need:
        return Finding("pass", count, need, f"{count} green week(s) in a row", [])
    message = f"{count} green week(s) in a row; {need} needed before expanding"
    # Weeks never run inside the streak's window would have to be run before it can be trusted.
    window = {ctx.week.shift(-n).label for n in range(1, need)}
    gaps = [w for w in history_gaps(ctx) if w in window]
    if gaps:
        message += (
            f"; {', '.join(gaps)} never run: run {'it' if len(gaps) == 1 else 'them'} first "
            f"(pilot-readiness run {weeks_option(gaps)} with the same --pilot and --inbox)"
        )
    return Finding("fail", count, need, message, gaps)


def history_gaps(ctx: RuleContext) -> list[str]:
    """Weeks since the pilot started, before this one, whose rules were never evaluated."""
    known = [w for w in (ctx.history.first_usage_week, *ctx.history.failed_rules) if w]
    return missing_weeks(
        ctx.week,
        set(ctx.history.failed_rules),
        ctx.operating_model.started_on,
        min(known, default=None),
    )


# the catalog: one entry per rule id, in report order ----------------------------------------
# Evidence kind "tickets": the evidence items are ticket ids (linked to the help desk).
RULES: list[Rule] = [
    Rule(
        id="pilot.paused",
        evaluate=paused,
        owner_role="stop_authority",
        on_fail="pause_pilot",
        evidence_kind="text",
        action=(
            "Keep the pilot paused until its causes are fixed; then the stop authority or the "
            "backup restarts it by adding the restart row shown to the change log."
        ),
    ),
    Rule(
        id="data.inputs_present",
        evaluate=inputs_present,
        owner_role="technical_owner",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Deliver the missing export(s) to the inbox and re-run the week.",
    ),
    Rule(
        id="data.quarantine_ratio",
        evaluate=quarantine_ratio,
        owner_role="technical_owner",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Fix the rejected rows or refused files at the source export and re-send them.",
    ),
    Rule(
        id="data.unpriced_usage",
        evaluate=unpriced_usage,
        owner_role="technical_owner",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Add a price override for the unpriced model(s) in the operating model.",
    ),
    Rule(
        id="cost.monthly_cap",
        evaluate=monthly_cap,
        owner_role="business_owner",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Decide whether to raise the cap or cut volume; no expansion until then.",
        needs=("month_to_date_cost",),
    ),
    Rule(
        id="cost.spend_alert",
        evaluate=spend_alert,
        owner_role="business_owner",
        on_fail="warn",
        evidence_kind="text",
        action="Watch spend: the month is heading for the cap.",
        needs=("month_to_date_cost", "projected_month_cost"),
    ),
    Rule(
        id="cost.per_task",
        evaluate=per_task,
        owner_role="business_owner",
        on_fail="pause_expansion",
        evidence_kind="tickets",
        action="Find what drives cost per task (model calls, review or rework time) and bring it under the limit.",
        needs=("cost_per_task",),
    ),
    Rule(
        id="cost.per_task_rise",
        evaluate=per_task_rise,
        owner_role="business_owner",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Explain the rise in cost per task and log the change that caused it.",
        needs=("cost_per_task",),
    ),
    Rule(
        id="quality.stop_now",
        evaluate=stop_now,
        owner_role="stop_authority",
        on_fail="pause_pilot",
        evidence_kind="tickets",
        action="Pause the pilot now, hand open drafts to people and review the stop-now cases.",
    ),
    Rule(
        id="quality.serious_repeat",
        evaluate=serious_repeat,
        owner_role="stop_authority",
        on_fail="pause_pilot",
        evidence_kind="tickets",
        action="Pause the pilot: a fixed serious error came back. Review whether the task fits AI.",
    ),
    Rule(
        id="quality.error_rate",
        evaluate=error_rate,
        owner_role="technical_owner",
        on_fail="pause_expansion",
        evidence_kind="tickets",
        action="Review the medium findings and change the prompt or narrow the task.",
        needs=("error_rate",),
    ),
    Rule(
        id="quality.correction_rate",
        evaluate=correction_rate,
        owner_role="technical_owner",
        on_fail="pause_expansion",
        evidence_kind="tickets",
        action="Find why agents rewrite drafts and improve the prompt or sources.",
        needs=("correction_rate",),
    ),
    Rule(
        id="scope.excluded_category",
        evaluate=excluded_category,
        owner_role="stop_authority",
        on_fail="pause_pilot",
        evidence_kind="tickets",
        action="Pause the pilot and block AI drafts for excluded categories.",
    ),
    Rule(
        id="review.sample_size",
        evaluate=sample_size,
        owner_role="reviewer",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Review the full weekly sample the operating model asks for.",
    ),
    Rule(
        id="review.sample_spread",
        evaluate=sample_spread,
        owner_role="reviewer",
        on_fail="warn",
        evidence_kind="text",
        action="Spread the review sample over more days and agents.",
    ),
    Rule(
        id="ownership.roles",
        evaluate=roles,
        owner_role="business_owner",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Name the missing person or backup in the operating model.",
    ),
    Rule(
        id="ownership.concentration",
        evaluate=concentration,
        owner_role="business_owner",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Give technical owner, reviewer and stop authority to different people.",
    ),
    Rule(
        id="change.undocumented",
        evaluate=undocumented,
        owner_role="technical_owner",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Log the change (prompt or model) with an approver, or roll it back.",
    ),
    Rule(
        id="change.frequency",
        evaluate=frequency,
        owner_role="technical_owner",
        on_fail="warn",
        evidence_kind="text",
        action="Test one change at a time so results can be explained.",
    ),
    Rule(
        id="savings.per_employee_day",
        evaluate=per_employee_day,
        owner_role="business_owner",
        on_fail="pause_expansion",
        evidence_kind="text",
        action="Keep the pilot to low-risk tasks: savings do not cover the oversight.",
        needs=("minutes_saved_per_employee_day",),
    ),
    Rule(
        id="volume.busy_month",
        evaluate=busy_month,
        owner_role="business_owner",
        on_fail="warn",
        evidence_kind="text",
        action="Plan budget for busy months before adding teams.",
        needs=("volumes",),
    ),
    Rule(
        id="reliability.model_failures",
        evaluate=model_failures,
        owner_role="technical_owner",
        on_fail="warn",
        evidence_kind="text",
        action="Check the model provider's errors and timeouts and the retry settings.",
    ),
]
# Evaluated after the others: this week counts as green only when no other rule failed
# (`checks.verdict.evaluate_rules` gives it that).
STREAK = Rule(
    id="expansion.streak",
    evaluate=lambda ctx: streak(ctx, False),
    owner_role="business_owner",
    on_fail="pause_expansion",
    evidence_kind="text",
    action="Keep running: more consecutive green weeks are needed before expanding.",
)
CATALOG: dict[str, Rule] = {rule.id: rule for rule in [*RULES, STREAK]}
