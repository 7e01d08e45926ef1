"""The readiness document of one pilot and week: everything `readiness.json` and the HTML
report show, read from what the facts and rules stages stored."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from checks.rules.catalog import RULES, STREAK
from models.operating_model import ROLE_NAMES, OperatingModel
from models.warehouse import RuleResult, WeeklyMetric
from pipelines.input_stats import week_input_stats
from pipelines.weeks import shift_week

TREND_WEEKS = 8


def stored_rules(conn: Connection, pilot: str, week: str) -> list[dict[str, Any]]:
    table = RuleResult.__table__
    rows = conn.execute(
        select(table).where(table.c.pilot == pilot, table.c.week == week).order_by(table.c.rule_id)
    ).mappings()
    order = {rid: i for i, rid in enumerate(_rule_order())}
    results = [
        {
            "id": r["rule_id"],
            "status": r["status"],
            "value": r["value"],
            "threshold": r["threshold"],
            "message": r["message"],
            "evidence": json.loads(r["evidence_json"]),
            "evidence_total": r["evidence_total"],
            "owner_role": r["owner_role"],
            "on_fail": r["on_fail"],
        }
        for r in rows
    ]
    return sorted(results, key=lambda r: order.get(r["id"], len(order)))


def _rule_order() -> list[str]:
    return [r.id for r in [*RULES, STREAK]]


def stored_week(conn: Connection, pilot: str, week: str) -> dict[str, Any] | None:
    table = WeeklyMetric.__table__
    row = (
        conn.execute(select(table).where(table.c.pilot == pilot, table.c.week == week))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def trend(conn: Connection, pilot: str, week: str) -> list[dict[str, Any]]:
    """Up to 8 weeks ending with this one: cost per task split into model, human and fees."""
    weeks = [shift_week(week, -i) for i in range(TREND_WEEKS - 1, -1, -1)]
    table = WeeklyMetric.__table__
    rows = conn.execute(
        select(table.c.week, table.c.metrics_json, table.c.verdict).where(
            table.c.pilot == pilot, table.c.week.in_(weeks)
        )
    ).mappings()
    by_week = {r["week"]: r for r in rows}
    points = []
    for w in weeks:
        if w not in by_week:
            continue
        m = json.loads(by_week[w]["metrics_json"])
        tasks = m["ai_tasks"]
        points.append(
            {
                "week": w,
                "verdict": by_week[w]["verdict"],
                "ai_tasks": tasks,
                "model": m["model_cost"] / tasks if tasks else None,
                "human": m["human_cost"] / tasks if tasks else None,
                "fees": m["fees"] / tasks if tasks else None,
                "cost_per_task": m["cost_per_task"],
                "error_rate": m["error_rate"],
                "correction_rate": m["correction_rate"],
                "minutes_saved_per_employee_day": m["minutes_saved_per_employee_day"],
            }
        )
    return points


def readiness_document(
    conn: Connection, operating_model: OperatingModel, week: str
) -> dict[str, Any]:
    """readiness.json without `email` and `generated_at` (added when the run ends)."""
    stored = stored_week(conn, operating_model.pilot, week)
    if stored is None:
        raise LookupError(
            f"no stored metrics for {operating_model.pilot} {week}: run the facts stage first"
        )
    inputs = week_input_stats(conn, operating_model.pilot, week)
    return {
        "pilot": operating_model.pilot,
        "week": week,
        "verdict": stored["verdict"],
        "rules": [
            {
                k: r[k]
                for k in ("id", "status", "value", "threshold", "message", "evidence", "owner_role")
            }
            | {"evidence_total": r["evidence_total"], "on_fail": r["on_fail"]}
            for r in stored_rules(conn, operating_model.pilot, week)
        ],
        "metrics": json.loads(stored["metrics_json"]),
        "inputs": inputs,
    }


def owners(operating_model: OperatingModel) -> dict[str, dict[str, str | None]]:
    """Role -> person and backup, for the report's "who" column."""
    table: dict[str, dict[str, str | None]] = {}
    for name in ROLE_NAMES:
        role = getattr(operating_model.roles, name)
        table[name] = {
            "name": role.name if role else None,
            "email": role.email if role else None,
            "backup": role.backup.name if role and role.backup else None,
            "backup_email": role.backup.email if role and role.backup else None,
        }
    return table
