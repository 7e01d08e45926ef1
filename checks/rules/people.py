"""Issue 22's rules: AI next to the manual process (`quality.vs_manual`), reviewer load at the
busy-month volume (`volume.reviewer_load`) and handoffs picked up in time
(`handoff.response_time`). Their catalog entries are in `checks.rules.catalog`."""

from __future__ import annotations

from checks.rules.base import Finding, RuleContext, partial_note, unknown_because
from models.results import GroupDifference
from pipelines.intervals import percent, rate_with_interval


def _worse(diff: GroupDifference, margin: float) -> bool:
    """AI worse by more than the margin, and the difference's interval clear of zero."""
    return (
        diff.difference is not None
        and diff.difference > margin
        and diff.difference_ci is not None
        and diff.difference_ci[0] > 0
    )


def _describe(name: str, diff: GroupDifference, fmt: str) -> str:
    value = (lambda x: percent(x)) if fmt == "pct" else (lambda x: f"{x:.{fmt}f}")
    if diff.difference is None:
        return f"{name}: not measurable (AI n={diff.ai_n}, manual n={diff.manual_n})"
    ci = diff.difference_ci
    interval = "" if ci is None else f", 95 % CI {value(ci[0])} to {value(ci[1])}"
    return (
        f"{name} AI {value(diff.ai)} vs manual {value(diff.manual)} "
        f"(difference {'+' if diff.difference >= 0 else ''}{value(diff.difference)}{interval})"
    )


def vs_manual(ctx: RuleContext) -> Finding:
    margins = ctx.operating_model.vs_manual
    comparison = ctx.metrics.vs_manual
    if comparison is None:
        because = unknown_because(ctx, "vs_manual")
        return Finding("unknown", None, None, f"AI and manual tickets unknown ({because})", [])
    need = margins.min_tickets_per_group
    if comparison.ai_tickets < need or comparison.manual_tickets < need:
        return Finding(
            "warn",
            None,
            None,
            f"too few tickets to compare AI with the manual process: {comparison.ai_tickets} AI "
            f"and {comparison.manual_tickets} manual in shared categories (at least {need} each)",
            [],
        )
    measures = [
        ("reopen rate", comparison.reopen_rate, margins.reopen_rate_margin, "pct"),
        (
            "contacts per ticket",
            comparison.contacts_per_ticket,
            margins.contacts_per_ticket_margin,
            "2",
        ),
        (
            "median resolution minutes",
            comparison.median_resolution_minutes,
            margins.resolution_minutes_margin,
            "0",
        ),
    ]
    texts = [_describe(name, diff, fmt) for name, diff, _, fmt in measures]
    worse = [
        f"{text} is worse than the margin {percent(margin) if fmt == 'pct' else f'{margin:g}'}"
        for (_, diff, margin, fmt), text in zip(measures, texts, strict=True)
        if _worse(diff, margin)
    ]
    note = partial_note(ctx, "vs_manual")
    cats = ", ".join(comparison.categories)
    if worse:
        return Finding(
            "fail",
            len(worse),
            0,
            f"AI tasks are worse than manual ones ({cats}): " + "; ".join(worse) + note,
            worse,
        )
    return Finding(
        "pass",
        0,
        0,
        f"AI tasks are not worse than manual ones beyond the margins ({cats}): "
        + "; ".join(texts)
        + note,
        [],
    )


def reviewer_load(ctx: RuleContext) -> Finding:
    loads = ctx.metrics.reviewer_load
    if loads is None:
        because = unknown_because(ctx, "reviewer_load")
        return Finding("unknown", None, None, f"review hours per reviewer unknown ({because})", [])
    if not loads:
        return Finding("pass", 0, 0, "nobody logged review time this week", [])
    over = [load for load in loads if load.over_capacity_busy_month]
    note = partial_note(ctx, "reviewer_load")
    peak = max(load.busy_month_hours_per_week for load in loads)
    if over:
        named = [
            f"{load.person}: {load.busy_month_hours_per_week:.1f} h/week in a busy month "
            f"(capacity {load.capacity_hours_per_week:g} h)"
            for load in over
        ]
        return Finding(
            "warn",
            peak,
            None,
            "a busy month would put reviewers past their capacity: " + "; ".join(named) + note,
            named,
        )
    return Finding(
        "pass",
        peak,
        None,
        f"every reviewer stays within capacity in a busy month (at most {peak:.1f} h/week)" + note,
        [],
    )


def handoff_response(ctx: RuleContext) -> Finding:
    limit = ctx.operating_model.limits.max_late_handoff_share
    handoff = ctx.operating_model.handoff
    h = ctx.metrics.handoff
    if h is None:
        because = unknown_because(ctx, "handoff")
        return Finding("unknown", None, limit, f"handoffs unknown ({because})", [])
    missed = (
        f"; {h.missed_handoffs} review(s) say the AI should have handed off "
        f"({', '.join(h.missed_tickets)})"
        if h.missed_handoffs
        else ""
    )
    if handoff is None:
        return Finding(
            "warn",
            None,
            limit,
            "the operating model names no handoff (conditions, receiver, response time): "
            f"{h.handed_off} ticket(s) were handed off this week with no response time to "
            "check" + missed,
            h.missed_tickets,
        )
    if h.handed_off == 0 and h.unknown_escalation:
        return Finding(
            "unknown",
            None,
            limit,
            f"the ticket export does not say which of {h.unknown_escalation} ticket(s) were "
            "handed off (no escalated flag)" + missed,
            h.missed_tickets,
        )
    if h.handed_off == 0:
        status = "warn" if h.missed_handoffs else "pass"
        return Finding(
            status, 0, limit, "no ticket was handed off this week" + missed, h.missed_tickets
        )
    if h.late_share is None:
        return Finding(
            "unknown",
            None,
            limit,
            f"{h.handed_off} ticket(s) handed off, but the ticket export has no handoff and "
            "first-action times (handed_off_at, first_human_action_at)" + missed,
            h.missed_tickets,
        )
    untimed = h.handed_off - h.with_times
    shown = (
        f"{h.late} of {h.with_times} handed-off ticket(s) picked up later than "
        f"{h.response_limit} ({rate_with_interval(h.late_share, h.late_share_ci, h.with_times)}; "
        f"median {h.median_response_minutes:g} min to the first human action)"
        + (f"; {untimed} without times" if untimed else "")
        + partial_note(ctx, "handoff")
    )
    if h.late_share > limit:
        return Finding(
            "fail",
            h.late_share,
            limit,
            f"{shown}: above the limit {percent(limit)}{missed}",
            [*h.late_tickets, *h.missed_tickets],
        )
    if h.missed_handoffs:
        return Finding("warn", h.late_share, limit, f"{shown}{missed}", h.missed_tickets)
    return Finding("pass", h.late_share, limit, f"{shown}: within the limit {percent(limit)}", [])
