"""The readiness of one pilot and week: everything `readiness.json` and the HTML report show,
read from what the facts and rules stages stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from checks.actions import with_actions
from checks.rules.base import unknown_reason
from checks.rules.catalog import CATALOG
from checks.verdict import Verdict, stored_outcomes
from models.operating_model import ROLE_NAMES, OperatingModel
from models.results import RuleOutcome, Week, WeeklyMetrics
from models.warehouse import WeeklyMetric
from pipelines.input_stats import week_input_stats
from pipelines.weeks import pilot_week

TREND_WEEKS = 8


@dataclass(frozen=True)
class WeekReadiness:
    """One pilot's week as stored: the verdict (None until the rules ran), the rule outcomes in
    catalog order, the metrics and the per-source input counts."""

    pilot: str
    week: Week
    verdict: Verdict | None
    outcomes: list[RuleOutcome]
    metrics: WeeklyMetrics
    inputs: dict[str, dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        """readiness.json without `email` and `generated_at` (added when the run ends)."""
        return {
            "pilot": self.pilot,
            "week": self.week.label,
            "verdict": self.verdict,
            "rules": [
                o.as_json(unknown_reason(CATALOG.get(o.id), o.status, o.message, self.metrics))
                for o in self.outcomes
            ],
            "metrics": self.metrics.as_json(),
            "inputs": self.inputs,
            "paused_since": self.paused_since,
            "history_gaps": self.history_gaps,
        }

    @property
    def paused_since(self) -> str | None:
        """The first week of the pause in force, when `pilot.paused` failed (its value is the
        number of weeks since then)."""
        for o in self.outcomes:
            if o.id == "pilot.paused" and o.status == "fail" and o.value is not None:
                return self.week.shift(-int(o.value)).label
        return None

    @property
    def history_gaps(self) -> list[str]:
        """Earlier weeks the green streak needed that were never run."""
        for o in self.outcomes:
            if o.id == "expansion.streak" and o.status == "fail":
                return list(o.evidence)
        return []


def stored_readiness(
    conn: Connection, operating_model: OperatingModel, week: Week
) -> WeekReadiness:
    """The week's stored verdict, outcomes, metrics and inputs; LookupError before its facts."""
    pilot, week = operating_model.pilot, pilot_week(operating_model, week)
    table = WeeklyMetric.__table__
    row = conn.execute(
        select(table.c.verdict, table.c.metrics_json).where(
            table.c.pilot == pilot, table.c.week == week.label
        )
    ).first()
    if row is None:
        raise LookupError(f"no stored metrics for {pilot} {week}: run the facts stage first")
    return WeekReadiness(
        pilot=pilot,
        week=week,
        verdict=row.verdict,
        outcomes=with_actions(stored_outcomes(conn, pilot, week), operating_model, week),
        metrics=WeeklyMetrics.from_json(row.metrics_json),
        inputs=week_input_stats(conn, pilot, week.label, week.timezone),
    )


def readiness_document(
    conn: Connection, operating_model: OperatingModel, week: Week
) -> dict[str, Any]:
    """readiness.json without `email` and `generated_at` (added when the run ends)."""
    return stored_readiness(conn, operating_model, week).as_json()


def trend(conn: Connection, pilot: str, week: Week) -> list[dict[str, Any]]:
    """Up to 8 weeks ending with this one: cost per task split into model, human and fees."""
    weeks = [week.shift(-i).label for i in range(TREND_WEEKS - 1, -1, -1)]
    table = WeeklyMetric.__table__
    rows = conn.execute(
        select(table.c.week, table.c.metrics_json, table.c.verdict).where(
            table.c.pilot == pilot, table.c.week.in_(weeks)
        )
    )
    by_week = {r.week: r for r in rows}
    points = []
    for label in weeks:
        if label not in by_week:
            continue
        m = WeeklyMetrics.from_json(by_week[label].metrics_json)
        tasks = m.ai_tasks
        points.append(
            {
                "week": label,
                "verdict": by_week[label].verdict,
                "ai_tasks": tasks,
                "model": m.model_cost / tasks if tasks and m.model_cost is not None else None,
                "human": m.human_cost / tasks if tasks and m.human_cost is not None else None,
                "fees": m.fees / tasks if tasks else None,
                "unknown_because": m.unknown_because.get("cost_per_task"),
                "partial": m.partial.get("cost_per_task"),
                "cost_per_task": m.cost_per_task,
                "error_rate": m.error_rate,
                "correction_rate": m.correction_rate,
                "minutes_saved_per_employee_day": m.minutes_saved_per_employee_day,
            }
        )
    return points


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
