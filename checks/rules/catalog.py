"""The stop-rule catalog (contract section 6): one small pure function per rule id.

Thresholds come only from the operating model; history comes only from weeks before this one.
"""

from __future__ import annotations

import polars as pl

from checks.rules.base import Rule, RuleContext, Status, above, ids
from models.operating_model import ROLE_NAMES
from pipelines.weeks import shift_week, week_bounds_utc

Result = tuple[Status, float | None, float | None, str, list[str]]


# data ---------------------------------------------------------------------------------------
def inputs_present(ctx: RuleContext) -> Result:
    counts = {
        "usage": int(ctx.metrics["model_calls"]),
        "tickets": ctx.facts.height,
        "timesheets": ctx.inputs.timesheets.height,
    }
    empty = [s for s, n in counts.items() if n == 0]
    if empty:
        return "fail", len(empty), 0, f"no rows this week in: {', '.join(empty)}", empty
    return "pass", 0, 0, "usage, tickets and timesheets all have rows this week", []


def quarantine_ratio(ctx: RuleContext) -> Result:
    limit = ctx.operating_model.limits.max_quarantine_ratio
    ratios = {
        s: st["rows_quarantined"] / st["rows_read"]
        for s, st in ctx.input_stats.items()
        if st["rows_read"]
    }
    refused = [
        f"{s}: {r['file']}" for s, st in ctx.input_stats.items() for r in st["refused_files"]
    ]
    if not ratios and not refused:
        return "unknown", None, limit, "no input rows were read for this week", []
    worst = max(ratios.values(), default=0.0)
    over = [f"{s}: {r:.1%} quarantined" for s, r in sorted(ratios.items()) if r > limit]
    if over:
        return (
            "fail",
            worst,
            limit,
            "quarantined share above the limit in " + "; ".join(over),
            over + refused,
        )
    if refused:
        return (
            "warn",
            worst,
            limit,
            f"{len(refused)} file(s) refused whole; quarantine within limit",
            refused,
        )
    return "pass", worst, limit, f"at most {worst:.1%} of any source's rows quarantined", []


def unpriced_usage(ctx: RuleContext) -> Result:
    total = ctx.inputs.unpriced_total
    if total:
        models = ids(
            ctx.inputs.usage_summary.filter(pl.col("price_source") == "unpriced").get_column(
                "model"
            )
        )
        return (
            "fail",
            total,
            0,
            f"{total} model call(s) have no price (models: {', '.join(models)}); add a price override",
            ctx.inputs.unpriced_request_ids,
        )
    return "pass", 0, 0, "every model call this week has a cost", []


# cost ---------------------------------------------------------------------------------------
def monthly_cap(ctx: RuleContext) -> Result:
    cap = ctx.operating_model.costs.monthly_cap
    status, message = above(ctx.metrics["month_to_date_cost"], cap, "month-to-date cost", " USD")
    return status, ctx.metrics["month_to_date_cost"], cap, message, []


def spend_alert(ctx: RuleContext) -> Result:
    cap = ctx.operating_model.costs.monthly_cap
    alert = ctx.operating_model.costs.alert_ratio * cap
    mtd, projected = ctx.metrics["month_to_date_cost"], ctx.metrics["projected_month_cost"]
    if mtd >= alert or projected > cap:
        return (
            "warn",
            projected,
            cap,
            (
                f"month to date {mtd:.2f} USD (alert at {alert:.2f}); projected month {projected:.2f} USD vs cap {cap:.2f}"
            ),
            [],
        )
    return (
        "pass",
        projected,
        cap,
        f"projected month {projected:.2f} USD is under the alert level",
        [],
    )


def per_task(ctx: RuleContext) -> Result:
    limit = ctx.operating_model.costs.max_cost_per_task
    value = ctx.metrics["cost_per_task"]
    status, message = above(value, limit, "cost per AI task", " USD")
    evidence: list[str] = []
    if status == "fail":
        top = ctx.facts.filter(pl.col("ai_task")).sort("model_cost_usd", descending=True).head(10)
        evidence = top.get_column("ticket_id").to_list()
    return status, value, limit, message, evidence


def per_task_rise(ctx: RuleContext) -> Result:
    limit = ctx.operating_model.limits.max_cost_per_task_rise
    previous_week = shift_week(ctx.week, -1)
    previous = ctx.history.metrics.get(previous_week, {}).get("cost_per_task")
    current = ctx.metrics["cost_per_task"]
    if previous is None or current is None or previous <= 0:
        return "unknown", None, limit, f"no cost per task to compare with for {previous_week}", []
    rise = current / previous - 1
    if rise <= limit:
        return (
            "pass",
            rise,
            limit,
            f"cost per task {previous:.3f} -> {current:.3f} USD ({rise:+.0%})",
            [],
        )
    changes = _changes_in_week(ctx)
    if changes:
        return (
            "warn",
            rise,
            limit,
            (
                f"cost per task rose {rise:+.0%} ({previous:.3f} -> {current:.3f} USD); explained by a logged change"
            ),
            changes,
        )
    return (
        "fail",
        rise,
        limit,
        (
            f"cost per task rose {rise:+.0%} ({previous:.3f} -> {current:.3f} USD) with no change logged this week"
        ),
        [],
    )


# quality ------------------------------------------------------------------------------------
def stop_now(ctx: RuleContext) -> Result:
    hits = ctx.inputs.reviews.filter(pl.col("severity") == "stop_now")
    if hits.height:
        return (
            "fail",
            hits.height,
            0,
            f"{hits.height} stop-now finding(s) this week",
            ids(hits["ticket_id"]),
        )
    return "pass", 0, 0, "no stop-now findings this week", []


def serious_repeat(ctx: RuleContext) -> Result:
    serious = ctx.inputs.reviews.filter(pl.col("severity").is_in(("medium", "stop_now")))
    earlier = ctx.inputs.earlier_findings
    changes = ctx.inputs.changes
    repeats: list[str] = []
    categories: list[str] = []
    for category in ids(serious["category"]):
        before = earlier.filter(pl.col("category") == category)
        if before.height == 0:
            continue
        first_seen = before["reviewed_at"].min()
        fixed = (
            before.filter(
                pl.col("fix").is_not_null() & (pl.col("fix").str.strip_chars() != "")
            ).height
            > 0
        )
        # A logged change counts as the fix when it came between the two findings.
        seen_again = serious.filter(pl.col("category") == category)["reviewed_at"].max()
        between = (pl.col("changed_at") > first_seen) & (pl.col("changed_at") < seen_again)
        fixed = fixed or changes.filter(between).height > 0
        if fixed:
            categories.append(category)
            repeats += serious.filter(pl.col("category") == category)["ticket_id"].to_list()
    if repeats:
        return (
            "fail",
            len(categories),
            0,
            (f"serious finding(s) repeated after a fix in: {', '.join(categories)}"),
            ids(repeats),
        )
    return "pass", 0, 0, "no serious finding repeats one that was already fixed", []


def error_rate(ctx: RuleContext) -> Result:
    limit = ctx.operating_model.limits.max_error_rate
    status, message = above(ctx.metrics["error_rate"], limit, "error rate")
    serious = ctx.inputs.reviews.filter(pl.col("severity").is_in(("medium", "stop_now")))
    return (
        status,
        ctx.metrics["error_rate"],
        limit,
        message,
        ids(serious["ticket_id"]) if status == "fail" else [],
    )


def correction_rate(ctx: RuleContext) -> Result:
    limit = ctx.operating_model.limits.max_correction_rate
    status, message = above(ctx.metrics["correction_rate"], limit, "correction rate")
    corrected = ctx.facts.filter(
        pl.col("ai_task") & pl.col("draft_outcome").is_in(("rewritten", "discarded"))
    )
    return (
        status,
        ctx.metrics["correction_rate"],
        limit,
        message,
        ids(corrected["ticket_id"]) if status == "fail" else [],
    )


# scope --------------------------------------------------------------------------------------
def excluded_category(ctx: RuleContext) -> Result:
    hits = ctx.facts.filter(
        pl.col("excluded_category") & (pl.col("ai_task") | (pl.col("model_calls") > 0))
    )
    if hits.height:
        cats = ids(hits["category"])
        return (
            "fail",
            hits.height,
            0,
            f"AI drafts on excluded categories: {', '.join(cats)}",
            ids(hits["ticket_id"]),
        )
    return "pass", 0, 0, "no AI draft on an excluded category", []


# review -------------------------------------------------------------------------------------
def sample_size(ctx: RuleContext) -> Result:
    need = ctx.operating_model.review.min_sample
    have = ctx.metrics["reviewed"]
    if have < need:
        return (
            "fail",
            have,
            need,
            f"{have} outputs reviewed; the operating model asks for {need}",
            [],
        )
    return "pass", have, need, f"{have} outputs reviewed (at least {need})", []


def sample_spread(ctx: RuleContext) -> Result:
    need = ctx.operating_model.review.min_distinct_days
    days, agents = ctx.metrics["review_distinct_days"], ctx.metrics["review_distinct_agents"]
    if ctx.metrics["reviewed"] == 0:
        return "unknown", None, need, "no reviews this week", []
    if days < need or agents <= 1:
        return "warn", days, need, f"reviews cover {days} day(s) and {agents} agent(s)", []
    return "pass", days, need, f"reviews cover {days} days and {agents} agents", []


# ownership ----------------------------------------------------------------------------------
def roles(ctx: RuleContext) -> Result:
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
        return "fail", len(problems), 0, "; ".join(problems), problems
    return "pass", 0, 0, "every role has a person and a different backup", []


def concentration(ctx: RuleContext) -> Result:
    r = ctx.operating_model.roles
    holders = [
        x.name.strip().lower() if x else None
        for x in (r.technical_owner, r.reviewer, r.stop_authority)
    ]
    if holders[0] and holders.count(holders[0]) == 3:
        return (
            "fail",
            1,
            0,
            f"{r.technical_owner.name} holds technical owner, reviewer and stop authority",
            [],
        )
    return "pass", 0, 0, "technical owner, reviewer and stop authority are not one person", []


# change -------------------------------------------------------------------------------------
def _changes_in_week(ctx: RuleContext) -> list[str]:
    start, end = week_bounds_utc(ctx.week, ctx.operating_model.timezone)
    at = pl.col("changed_at")
    in_week = ctx.inputs.changes.filter((at >= start) & (at < end))
    return [f"{k} {v}" for k, v in in_week.select("kind", "version").iter_rows()]


def undocumented(ctx: RuleContext) -> Result:
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
        return (
            "fail",
            len(missing),
            0,
            (f"in use without an approved change entry: {', '.join(missing)}"),
            missing,
        )
    return "pass", 0, 0, "every model and prompt version in use has an approved change entry", []


def frequency(ctx: RuleContext) -> Result:
    limit = ctx.operating_model.limits.max_changes_per_week
    changes = _changes_in_week(ctx)
    if len(changes) > limit:
        return (
            "warn",
            len(changes),
            limit,
            f"{len(changes)} changes this week; one at a time keeps causes clear",
            changes,
        )
    return "pass", len(changes), limit, f"{len(changes)} change(s) this week", changes


# savings, volume, reliability -----------------------------------------------------------------
def per_employee_day(ctx: RuleContext) -> Result:
    limit = ctx.operating_model.limits.min_minutes_saved_per_employee_day
    value = ctx.metrics["minutes_saved_per_employee_day"]
    if value is None:
        return "unknown", None, limit, "no AI tasks with agents this week", []
    if value < limit:
        return (
            "fail",
            value,
            limit,
            (
                f"{value:.1f} minutes saved per employee per day after review, below {limit:g}: keep to low-risk tasks"
            ),
            [],
        )
    return "pass", value, limit, f"{value:.1f} minutes saved per employee per day after review", []


def busy_month(ctx: RuleContext) -> Result:
    cap = ctx.operating_model.costs.monthly_cap
    cost = ctx.metrics["volumes"]["busy_month"]["cost"]
    if cost > cap:
        return (
            "warn",
            cost,
            cap,
            f"a busy month would cost about {cost:.0f} USD, above the cap {cap:.0f}",
            [],
        )
    return "pass", cost, cap, f"a busy month would cost about {cost:.0f} USD, under the cap", []


def model_failures(ctx: RuleContext) -> Result:
    limit = ctx.operating_model.limits.max_model_failure_rate
    calls, failed = ctx.metrics["model_calls"], ctx.metrics["failed_model_calls"]
    if not calls:
        return "unknown", None, limit, "no model calls this week", []
    rate = failed / calls
    if rate > limit:
        return "warn", rate, limit, f"{rate:.1%} of model calls ended in error or timeout", []
    return "pass", rate, limit, f"{rate:.1%} of model calls ended in error or timeout", []


# expansion ----------------------------------------------------------------------------------
def streak(ctx: RuleContext, failed_this_week: bool) -> Result:
    need = ctx.operating_model.expansion.green_weeks_required
    count = 0 if failed_this_week else 1
    week = ctx.week
    while count and count < need:
        week = shift_week(week, -1)
        failed = ctx.history.failed_rules.get(week)
        if failed is None or [r for r in failed if r != "expansion.streak"]:
            break
        count += 1
    if count >= need:
        return "pass", count, need, f"{count} green week(s) in a row", []
    return (
        "fail",
        count,
        need,
        f"{count} green week(s) in a row; {need} needed before expanding",
        [],
    )


RULES: list[Rule] = [
    Rule("data.inputs_present", "technical_owner", "pause_expansion", inputs_present),
    Rule("data.quarantine_ratio", "technical_owner", "pause_expansion", quarantine_ratio),
    Rule("data.unpriced_usage", "technical_owner", "pause_expansion", unpriced_usage),
    Rule("cost.monthly_cap", "business_owner", "pause_expansion", monthly_cap),
    Rule("cost.spend_alert", "business_owner", "warn", spend_alert),
    Rule("cost.per_task", "business_owner", "pause_expansion", per_task),
    Rule("cost.per_task_rise", "business_owner", "pause_expansion", per_task_rise),
    Rule("quality.stop_now", "stop_authority", "pause_pilot", stop_now),
    Rule("quality.serious_repeat", "stop_authority", "pause_pilot", serious_repeat),
    Rule("quality.error_rate", "technical_owner", "pause_expansion", error_rate),
    Rule("quality.correction_rate", "technical_owner", "pause_expansion", correction_rate),
    Rule("scope.excluded_category", "stop_authority", "pause_pilot", excluded_category),
    Rule("review.sample_size", "reviewer", "pause_expansion", sample_size),
    Rule("review.sample_spread", "reviewer", "warn", sample_spread),
    Rule("ownership.roles", "business_owner", "pause_expansion", roles),
    Rule("ownership.concentration", "business_owner", "pause_expansion", concentration),
    Rule("change.undocumented", "technical_owner", "pause_expansion", undocumented),
    Rule("change.frequency", "technical_owner", "warn", frequency),
    Rule("savings.per_employee_day", "business_owner", "pause_expansion", per_employee_day),
    Rule("volume.busy_month", "business_owner", "warn", busy_month),
    Rule("reliability.model_failures", "technical_owner", "warn", model_failures),
]
STREAK = Rule(
    "expansion.streak", "business_owner", "pause_expansion", lambda ctx: streak(ctx, False)
)
