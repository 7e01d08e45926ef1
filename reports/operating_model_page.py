"""The operating model as one printable page (`operating-model.html`): what the pilot does, who
owns it, how it is reviewed, the limits that stop it and when it may expand, with the gaps the
completeness check finds. Written beside every weekly report, and by `init` and `model`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from checks.completeness import CompletenessFinding, completeness
from models.operating_model import ROLE_NAMES, SOURCES, OperatingModel
from reports.render import _env, _money, _pct, write_atomic

PAGE_NAME = "operating-model.html"

ROLE_DUTIES = {
    "business_owner": "Owns the result and the budget; decides on expansion.",
    "technical_owner": "Keeps prompts, models and exports working; fixes failures.",
    "reviewer": "Reviews the weekly sample and logs every finding.",
    "stop_authority": "May pause the pilot at once, and restart it.",
}

LEVEL_EFFECTS = {
    "low": "Noted in the review log; not counted as an error.",
    "medium": "Counts as an error; a repeat after a fix pauses the pilot.",
    "stop_now": "Pauses the pilot in the week it is found.",
}


@dataclass(frozen=True)
class LimitRow:
    """One threshold in plain words: what it limits, its value, and what crossing it does."""

    label: str
    value: str
    effect: str


def _minutes(value: float) -> str:
    return f"{value:g} min"


def cost_limits(model: OperatingModel) -> list[LimitRow]:
    """The budget and per-task limits."""
    c, lim = model.costs, model.limits
    return [
        LimitRow(
            "Monthly cap (model + review + fees)",
            _money(c.monthly_cap) if c.monthly_cap > 0 else "no cap",
            "month to date over it pauses expansion",
        ),
        LimitRow(
            "Spend alert",
            f"{_pct(c.alert_ratio)} of the cap ({_money(c.monthly_cap * c.alert_ratio)})",
            "month to date at it, or the projected month over the cap, warns",
        ),
        LimitRow(
            "Cost per AI task", f"at most {_money(c.max_cost_per_task)}", "over it pauses expansion"
        ),
        LimitRow(
            "Rise of cost per task",
            f"at most {_pct(lim.max_cost_per_task_rise)} week over week",
            "a rise with no logged change pauses expansion",
        ),
        LimitRow("Fixed fees", f"{_money(c.fixed_monthly_fees)} a month", "spread over the days"),
    ]


def quality_limits(model: OperatingModel) -> list[LimitRow]:
    """The stop rules' quality and operations thresholds."""
    lim = model.limits
    return [
        LimitRow(
            "Error rate (medium or stop-now findings)",
            f"at most {_pct(lim.max_error_rate)}",
            "over it pauses expansion",
        ),
        LimitRow(
            "Correction rate (drafts rewritten or discarded)",
            f"at most {_pct(lim.max_correction_rate)}",
            "over it pauses expansion",
        ),
        LimitRow(
            "Failed model calls", f"at most {_pct(lim.max_model_failure_rate)}", "over it warns"
        ),
        LimitRow(
            "Quarantined input rows",
            f"at most {_pct(lim.max_quarantine_ratio)}",
            "over it pauses expansion",
        ),
    ]


def render_operating_model_page(
    model: OperatingModel, findings: list[CompletenessFinding] | None = None
) -> str:
    """The page's HTML (self-contained: styles inline, no scripts)."""
    findings = completeness(model) if findings is None else findings
    roles = {name: getattr(model.roles, name) for name in ROLE_NAMES}
    return (
        _env()
        .get_template("operating-model.html.j2")
        .render(
            m=model,
            findings=findings,
            roles=roles,
            role_duties=ROLE_DUTIES,
            levels=[(name, getattr(model.failure_levels, name)) for name in LEVEL_EFFECTS],
            level_effects=LEVEL_EFFECTS,
            cost_limits=cost_limits(model),
            quality_limits=quality_limits(model),
            rates=sorted(
                model.costs.hourly_rates.items(), key=lambda kv: (kv[0] != "default", kv[0])
            ),
            sources=[(name, model.source(name)) for name in SOURCES],
            response_times=getattr(model, "response_times", None),
            minutes=_minutes,
        )
    )


def write_operating_model_page(folder: Path, model: OperatingModel) -> Path:
    """Write `<folder>/operating-model.html` and return its path."""
    path = folder / PAGE_NAME
    write_atomic(path, render_operating_model_page(model))
    return path
