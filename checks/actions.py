"""What a week's rule outcomes ask people to do, how urgently, and by when (contract section 6).

Every failing, warning or needed-but-unknown rule is an action. Actions fall into three groups,
most urgent first: rules that pause the pilot, rules that block expansion, warnings. Each group
has a response time in the operating model (`response_times`), counted from the end of the
week; the group that sets the week's verdict is marked as deciding it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from models.operating_model import OperatingModel, ResponseTime
from models.results import RuleOutcome, Week

Urgency = Literal["stop_now", "fail", "warn"]
URGENCY_ORDER: tuple[Urgency, ...] = ("stop_now", "fail", "warn")


def urgency(outcome: RuleOutcome) -> Urgency | None:
    """The outcome's action group, or None when it asks for nothing."""
    if outcome.status == "fail":
        if outcome.on_fail == "pause_pilot":
            return "stop_now"
        return "warn" if outcome.on_fail == "warn" else "fail"
    if outcome.status == "unknown":
        return "fail"  # an unknown is never a pass: it blocks expansion until it is measured
    if outcome.status == "warn":
        return "warn"
    return None


def response_time(operating_model: OperatingModel, group: Urgency) -> ResponseTime:
    return getattr(operating_model.response_times, group)


def with_actions(
    outcomes: list[RuleOutcome], operating_model: OperatingModel, week: Week
) -> list[RuleOutcome]:
    """The outcomes (same order) with each action's due time in the pilot's timezone and the
    verdict-deciding ones marked."""
    groups = [urgency(o) for o in outcomes]
    # The most urgent group present sets the verdict; warnings never do.
    deciding = min((g for g in groups if g and g != "warn"), key=URGENCY_ORDER.index, default=None)
    zone = operating_model.zone
    return [
        replace(
            o,
            due=response_time(operating_model, group).due(week.end, zone) if group else None,
            decides_verdict=group is not None and group == deciding,
        )
        for o, group in zip(outcomes, groups, strict=True)
    ]


def action_order(outcomes: list[RuleOutcome]) -> list[RuleOutcome]:
    """The outcomes that ask for an action, most urgent group first, then in catalog order."""
    ranked = [(URGENCY_ORDER.index(g), i, o) for i, o in enumerate(outcomes) if (g := urgency(o))]
    return [o for _, _, o in sorted(ranked, key=lambda t: t[:2])]
