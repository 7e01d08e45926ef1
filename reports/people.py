"""Issue 22's report figures: AI next to the manual process and the per-task table at the
current and the busy-month volume (the reviewer-load table reads the metrics directly)."""

from __future__ import annotations

from typing import Any

from models.operating_model import OperatingModel

# The measures of the comparison with the manual process, in report order: key, words, format.
COMPARISON_ROWS = (
    ("reopen_rate", "Reopen rate", "pct"),
    ("contacts_per_ticket", "Contacts per ticket", "2"),
    ("median_resolution_minutes", "Median resolution time (minutes)", "0"),
)


def _fmt(value: float | None, fmt: str, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    sign = "+" if signed and value > 0 else ""
    if fmt == "pct":
        return f"{sign}{value * 100:.1f} %"
    return f"{sign}{value:,.{int(fmt)}f}"


def comparison_rows(
    metrics: dict[str, Any], operating_model: OperatingModel
) -> list[dict[str, str]]:
    """One row per measure: AI and manual values with their group sizes, the difference (AI
    minus manual, positive is worse for AI), its 95 % interval, the margin and whether the AI
    group is worse beyond it with the interval clear of zero."""
    comparison = metrics.get("vs_manual")
    if not comparison:
        return []
    margins = operating_model.vs_manual
    margin_of = {
        "reopen_rate": margins.reopen_rate_margin,
        "contacts_per_ticket": margins.contacts_per_ticket_margin,
        "median_resolution_minutes": margins.resolution_minutes_margin,
    }
    rows = []
    for key, words, fmt in COMPARISON_ROWS:
        diff = comparison[key]
        ci = diff["difference_ci"]
        margin = margin_of[key]
        worse = (
            diff["difference"] is not None
            and diff["difference"] > margin
            and ci is not None
            and ci[0] > 0
        )
        rows.append(
            {
                "measure": words,
                "ai": f"{_fmt(diff['ai'], fmt)} (n={diff['ai_n']})",
                "manual": f"{_fmt(diff['manual'], fmt)} (n={diff['manual_n']})",
                "difference": _fmt(diff["difference"], fmt, signed=True),
                "interval": "n/a"
                if ci is None
                else f"{_fmt(ci[0], fmt, True)} to {_fmt(ci[1], fmt, True)}",
                "method": "Wilson (Newcombe)"
                if diff["interval"] == "newcombe_wilson"
                else "bootstrap",
                "margin": _fmt(margin, fmt),
                "verdict": "worse" if worse else "not worse",
            }
        )
    return rows


def per_task_rows(metrics: dict[str, Any], operating_model: OperatingModel) -> list[dict[str, str]]:
    """The article's table: per AI task, cost, oversight (review, rework, escalation) minutes,
    error rate and median resolution time, now and at the busy-month volume. A busy month
    multiplies tasks, model cost and oversight by its factor; only the fixed fees are spread over
    more tasks. Error rate and resolution time are assumed to stay as measured."""
    tasks = metrics.get("ai_tasks") or 0
    factor = operating_model.volumes.busy_month_factor
    model, human, fees = metrics.get("model_cost"), metrics.get("human_cost"), metrics["fees"]
    cost_now = metrics.get("cost_per_task")
    cost_busy = (
        (model + human) / tasks + fees / (tasks * factor)
        if tasks and model is not None and human is not None
        else None
    )
    activity = metrics.get("human_minutes_by_activity")
    oversight = (
        (activity["review"] + activity["rework"] + activity["escalation"]) / tasks
        if activity and tasks
        else None
    )
    comparison = metrics.get("vs_manual") or {}
    resolution = (comparison.get("median_resolution_minutes") or {}).get("ai")
    error = metrics.get("error_rate")

    def money(value: float | None) -> str:
        return "unknown" if value is None else f"{value:,.3f} USD"

    def minutes(value: float | None) -> str:
        return "unknown" if value is None else f"{value:,.1f} min"

    def pct(value: float | None) -> str:
        return "unknown" if value is None else f"{value * 100:.1f} %"

    return [
        {"measure": "Cost per AI task", "now": money(cost_now), "busy": money(cost_busy)},
        {
            "measure": "Review, rework and escalation time per AI task",
            "now": minutes(oversight),
            "busy": minutes(oversight),
        },
        {"measure": "Error rate (review sample)", "now": pct(error), "busy": pct(error)},
        {
            "measure": "Median resolution time of AI tickets",
            "now": minutes(resolution),
            "busy": minutes(resolution),
        },
    ]
