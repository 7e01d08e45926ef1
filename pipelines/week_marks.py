"""Week marks: a digest of everything one week's facts and rules are computed from.

The facts and rules of a week depend on the warehouse's source rows (changed only by ingesting
files), the operating model, the code, and, for the rules, the stored results of earlier weeks.
A re-run whose mark equals the mark stored with the week's results reuses them instead of
recomputing the same numbers; any new file, setting, code change or re-run of an earlier week
changes the mark.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, func, select

from models.operating_model import OperatingModel
from models.warehouse import IngestedFile, RuleResult, WeeklyMetric

_CODE_FOLDERS = ("pipelines", "checks", "models")


@cache
def code_digest() -> str:
    """A digest of the code and check suites that compute facts and rules."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for folder in _CODE_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".py", ".json") and path.is_file():
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def week_mark(conn: Connection, operating_model: OperatingModel, week: str) -> str:
    """The mark of one pilot's week as the warehouse stands now."""
    files = IngestedFile.__table__
    metric, rule = WeeklyMetric.__table__, RuleResult.__table__
    count, last_id = conn.execute(
        select(func.count(), func.max(files.c.id)).where(files.c.pilot == operating_model.pilot)
    ).one()
    earlier_metrics = conn.execute(
        select(metric.c.week, metric.c.verdict, metric.c.metrics_json)
        .where(metric.c.pilot == operating_model.pilot, metric.c.week < week)
        .order_by(metric.c.week)
    ).all()
    earlier_rules = conn.execute(
        select(rule.c.week, rule.c.rule_id, rule.c.status)
        .where(rule.c.pilot == operating_model.pilot, rule.c.week < week)
        .order_by(rule.c.week, rule.c.rule_id)
    ).all()
    state = {
        "code": code_digest(),
        "model": operating_model.model_dump(mode="json"),
        "week": week,
        "files": [count, last_id],
        "earlier_metrics": [list(r) for r in earlier_metrics],
        "earlier_rules": [list(r) for r in earlier_rules],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def stored_mark(conn: Connection, pilot: str, week: str) -> tuple[str | None, str | None]:
    """(mark, verdict) stored with the week's results, or (None, None)."""
    metric = WeeklyMetric.__table__
    row = conn.execute(
        select(metric.c.inputs_mark, metric.c.verdict).where(
            metric.c.pilot == pilot, metric.c.week == week
        )
    ).first()
    return (row.inputs_mark, row.verdict) if row else (None, None)
