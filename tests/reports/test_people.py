"""The issue 22 report rows on hand-made metrics: the comparison with the manual process and the
per-task table now and in a busy month."""

from __future__ import annotations

from typing import Any

from models.operating_model import OperatingModel
from reports.people import comparison_rows, per_task_rows


def _diff(ai: float, manual: float, ci: list[float], interval: str) -> dict[str, Any]:
    return {
        "ai": ai,
        "manual": manual,
        "ai_n": 40,
        "manual_n": 30,
        "difference": round(ai - manual, 4),
        "difference_ci": ci,
        "interval": interval,
    }


METRICS: dict[str, Any] = {
    "ai_tasks": 100,
    "model_cost": 10.0,
    "human_cost": 40.0,
    "fees": 30.0,
    "cost_per_task": 0.8,
    "error_rate": 0.05,
    "human_minutes_by_activity": {"review": 60.0, "rework": 30.0, "escalation": 10.0},
    "vs_manual": {
        "categories": ["password"],
        "ai_tickets": 40,
        "manual_tickets": 30,
        "reopen_rate": _diff(0.2, 0.1, [0.06, 0.3], "newcombe_wilson"),
        "contacts_per_ticket": _diff(1.2, 1.1, [-0.1, 0.3], "bootstrap"),
        "median_resolution_minutes": _diff(90.0, 60.0, [10.0, 50.0], "bootstrap"),
    },
}


def test_comparison_rows_mark_worse_only_beyond_the_margin_with_the_interval_clear(
    example_model: OperatingModel,
) -> None:
    """It marks reopen rate worse (+10 points, interval 6 to 30, margin 5) and leaves contacts
    (interval reaches below zero) and resolution (+30 min under the 240 margin) not worse."""
    rows = comparison_rows(METRICS, example_model)
    assert [(r["measure"], r["verdict"]) for r in rows] == [
        ("Reopen rate", "worse"),
        ("Contacts per ticket", "not worse"),
        ("Median resolution time (minutes)", "not worse"),
    ]
    assert rows[0]["difference"] == "+10.0 %" and rows[0]["interval"] == "+6.0 % to +30.0 %"
    assert rows[0]["ai"] == "20.0 % (n=40)" and rows[0]["method"] == "Wilson (Newcombe)"
    assert comparison_rows({"vs_manual": None}, example_model) == []


def test_per_task_rows_spread_only_the_fees_over_a_busy_month(
    example_model: OperatingModel,
) -> None:
    """It gives cost per AI task now (0.80) and in a busy month at 2x: (10 + 40) / 100 plus
    30 / 200 = 0.65 USD; one minute of oversight per task both times."""
    rows = {r["measure"]: r for r in per_task_rows(METRICS, example_model)}
    assert rows["Cost per AI task"]["now"] == "0.800 USD"
    assert rows["Cost per AI task"]["busy"] == "0.650 USD"
    oversight = rows["Review, rework and escalation time per AI task"]
    assert oversight["now"] == oversight["busy"] == "1.0 min"
    assert rows["Median resolution time of AI tickets"]["now"] == "90.0 min"
    unknown = per_task_rows(METRICS | {"human_cost": None, "cost_per_task": None}, example_model)
    assert unknown[0]["now"] == unknown[0]["busy"] == "unknown"
