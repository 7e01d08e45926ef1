"""The state of one pilot's week: a digest of everything its facts, metrics and rules are computed
from, and the key under which the flow's task cache keeps the result (`flows/weekly_readiness.py`).

A week's results depend on the warehouse's rows of the pilot (changed only by ingesting files),
the operating model, the code of every stage that computes them, and, for the rules, the stored
results of the weeks before it. Equal keys mean equal results; any new file, setting, code change
or re-run of an earlier week gives a new key.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, func, select

from models.operating_model import OperatingModel
from models.warehouse import IngestedFile, RuleResult, WeeklyMetric

# The project's own top-level packages: the code digest follows imports into these only.
PROJECT_PACKAGES = ("flows", "reports", "checks", "pipelines", "models")


@dataclass(frozen=True)
class WeekState:
    """One week as the warehouse holds it now: `key` digests every input of its results;
    `results_stored` says whether its metrics and verdict are in the warehouse."""

    key: str
    results_stored: bool


def _module_file(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:  # a name inside a module (`from a.b import c`), not a module
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _project_imports(name: str, path: Path) -> set[str]:
    """The project modules a module's source imports (at any depth of its code)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in PROJECT_PACKAGES}


def stage_modules(*roots: str) -> dict[str, Path]:
    """The named modules and every project module they import, directly or through others:
    module name -> source file."""
    seen: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:  # a name imported from a module, not a module itself
            continue
        seen[name] = path
        todo.extend(_project_imports(name, path) - seen.keys())
    return seen


@cache
def code_digest(*roots: str) -> str:
    """A digest of the source of `stage_modules(*roots)`: the code of the stages that compute
    a result."""
    modules = stage_modules(*roots)
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(name.encode() + b"\0" + modules[name].read_bytes() + b"\0")
    return digest.hexdigest()


def week_state(
    conn: Connection, operating_model: OperatingModel, week: str, code: str
) -> WeekState:
    """The week's state in this warehouse; `code` is the `code_digest` of the stages run."""
    files = IngestedFile.__table__
    metric, rule = WeeklyMetric.__table__, RuleResult.__table__
    pilot = operating_model.pilot
    # The pilot's files: how many, the newest, and when the newest was stored (a warehouse
    # rebuilt from the same files stores them at another time).
    count, last_id, last_stored = conn.execute(
        select(func.count(), func.max(files.c.id), func.max(files.c.ingested_at)).where(
            files.c.pilot == pilot
        )
    ).one()
    earlier_metrics = conn.execute(
        select(metric.c.week, metric.c.verdict, metric.c.metrics_json)
        .where(metric.c.pilot == pilot, metric.c.week < week)
        .order_by(metric.c.week)
    ).all()
    earlier_rules = conn.execute(
        select(rule.c.week, rule.c.rule_id, rule.c.status)
        .where(rule.c.pilot == pilot, rule.c.week < week)
        .order_by(rule.c.week, rule.c.rule_id)
    ).all()
    stored_verdict = conn.execute(
        select(metric.c.verdict).where(metric.c.pilot == pilot, metric.c.week == week)
    ).scalar_one_or_none()
    state = {
        "code": code,
        "operating_model": operating_model.model_dump(mode="json"),
        "week": week,
        "files": [count, last_id, str(last_stored)],
        "earlier_metrics": [list(r) for r in earlier_metrics],
        "earlier_rules": [list(r) for r in earlier_rules],
    }
    key = hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()
    return WeekState(key=key, results_stored=stored_verdict is not None)
