"""The report's "Changes and their effect" section (issue 20): each change's before and after
windows as rows of words and numbers, unknown figures saying why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from pipelines.intervals import percent

KIND_WORDS = {
    "prompt": "Prompt",
    "model": "Model",
    "tool": "Tool",
    "data_source": "Data source",
    "policy": "Policy",
}


def _money(value: float) -> str:
    return f"{value:,.2f} USD"


def _money_small(value: float) -> str:
    return f"{value:,.4f} USD"


def _minutes(value: float) -> str:
    return f"{value:,.2f} min"


def _pct(value: float) -> str:
    return percent(value)


def _ci_line(ci: list[float], n: int) -> Markup:
    """The interval under a rate, as the rest of the report writes it."""
    return Markup('<br><span class="muted">95 % CI {}-{} %, n={}</span>').format(
        f"{ci[0] * 100:.1f}", f"{ci[1] * 100:.1f}", n
    )


# Figure key, label, how its value is written, and whether it is a share with an interval.
FIGURES: tuple[tuple[str, str, Callable[[float], str], bool], ...] = (
    ("cost_per_task", "Cost per AI task", _money, False),
    ("model_cost_per_call", "Model cost per call", _money_small, False),
    ("review_minutes_per_task", "Review minutes per AI task", _minutes, False),
    ("rework_minutes_per_task", "Rework minutes per AI task", _minutes, False),
    ("error_rate", "Error rate (serious findings / reviews)", _pct, True),
    ("correction_rate", "Correction rate (drafts rewritten or discarded)", _pct, True),
    ("minutes_saved_per_employee_day", "Minutes saved per employee per day", _minutes, False),
)
SAMPLE = {"error_rate": "reviewed", "correction_rate": "draft_outcomes"}


def _unknown(because: str | None) -> Markup:
    text = f"unknown ({because})" if because else "unknown"
    return Markup('<span class="unknown">{}</span>').format(text)


def _value(window: dict[str, Any], key: str, fmt: Callable[[float], str], share: bool) -> Any:
    value = window[key]
    if value is None:
        return _unknown(window["unknown_because"].get(key))
    text = Markup("{}").format(fmt(value))
    if share and window[f"{key}_ci"] is not None:
        text += _ci_line(window[f"{key}_ci"], window[SAMPLE[key]])
    if key in window["partial"]:
        text += Markup('<br><span class="muted">partial: {}</span>').format(window["partial"][key])
    return text


def _change(before: dict[str, Any], after: dict[str, Any], key: str, share: bool) -> Any:
    """After against before: percentage points for a share (saying whether the 95 % intervals
    are apart), else the relative change."""
    old, new = before[key], after[key]
    if old is None or new is None:
        return ""
    if share:
        text = f"{(new - old) * 100:+.1f} pp"
        low_old, high_old = before[f"{key}_ci"] or (old, old)
        low_new, high_new = after[f"{key}_ci"] or (new, new)
        apart = high_new < low_old or high_old < low_new
        words = "intervals apart" if apart else "within the intervals"
        return Markup('{}<br><span class="muted">{}</span>').format(text, words)
    if old == 0:
        return "" if new == 0 else "new"
    return f"{(new - old) / abs(old):+.1%}"


def _weeks(window: dict[str, Any]) -> str:
    weeks = window["weeks"]
    if not weeks:
        return "no week"
    short = [w.split("-")[1] for w in weeks]
    return short[0] if len(short) == 1 else f"{short[0]}-{short[-1]}"


def change_rows(effects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each change of readiness.json's `change_effects` (newest first) as the report shows it."""
    out = []
    for effect in effects:
        before, after = effect["before"], effect["after"]
        ended = len(after["weeks"])
        status = {
            "measured": "measured",
            "no_weeks_before": "nothing to compare against",
            "too_early": f"too early to tell ({ended} of {effect['weeks_after']} week(s) after "
            "it so far)",
        }[effect["status"]]
        out.append(
            {
                "title": f"{KIND_WORDS.get(effect['kind'], effect['kind'])} {effect['version']}",
                "when": effect["changed_at"][:16].replace("T", " "),
                "week": effect["change_week"],
                "approved_by": effect["approved_by"],
                "description": effect["description"],
                "too_early": effect["status"] == "too_early",
                "status": status,
                "comparable": bool(before["weeks"]),
                "before_weeks": _weeks(before),
                "after_weeks": _weeks(after),
                "missing_before": ", ".join(before["missing_weeks"]),
                "figures": [
                    {
                        "label": label,
                        "before": _value(before, key, fmt, share),
                        "after": _value(after, key, fmt, share),
                        "change": _change(before, after, key, share),
                    }
                    for key, label, fmt, share in FIGURES
                ],
                "versions": [_version(v) for v in effect["side_by_side"]],
                "side_by_side_week": effect["side_by_side_week"],
                "other_changes": effect.get("other_changes", []),
                "paused_weeks": effect.get("paused_weeks", []),
            }
        )
    return out


def _version(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": v["prompt_version"],
        "calls": v["calls"],
        "cost_per_call": "n/a"
        if v["model_cost_per_call"] is None
        else _money_small(v["model_cost_per_call"]),
        "tasks": v["tasks"],
        "correction": _ci_text(v["correction_rate"], v["correction_rate_ci"], v["draft_outcomes"]),
        "error": _ci_text(v["error_rate"], v["error_rate_ci"], v["reviewed_tasks"]),
    }


def _ci_text(value: float | None, ci: list[float] | None, n: int) -> Any:
    if value is None:
        return _unknown("no sample")
    text = Markup("{}").format(percent(value))
    return text + _ci_line(ci, n) if ci else text
