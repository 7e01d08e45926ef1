"""What a pilot's operating model still leaves undocumented or weak, before the pilot scales.

The file may be valid and still incomplete: a role without a backup, a backup who is the role
holder, nothing the AI must never do, no budget cap. Each gap is one typed finding naming the
key to fill in. The same findings appear on the operating-model page, at the end of
`pilot-readiness init` and in the weekly report's ownership section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.operating_model import ROLE_NAMES, SOURCES, OperatingModel, Person, Role

MIN_REVIEW_SAMPLE = 20  # below it a week's error rate is too uncertain to act on
FAILURE_LEVELS = ("low", "medium", "stop_now")

Gap = Literal["missing", "weak"]


@dataclass(frozen=True)
class CompletenessFinding:
    """One gap in the operating model: what kind, where (key path) and what to do."""

    id: str
    key: str
    gap: Gap
    message: str


def _same_person(a: Person, b: Person) -> bool:
    if a.name.strip().casefold() == b.name.strip().casefold():
        return True
    return bool(a.email and b.email and a.email.casefold() == b.email.casefold())


def _words(role: str) -> str:
    return role.replace("_", " ")


def _role_findings(name: str, role: Role | None) -> list[CompletenessFinding]:
    key = f"roles.{name}"
    if role is None:
        if name == "stop_authority":
            return [
                CompletenessFinding(
                    "restart.no_authority",
                    key,
                    "missing",
                    "Nobody may pause or restart the pilot: name a stop authority and a backup.",
                )
            ]
        return [CompletenessFinding("role.missing", key, "missing", f"No {_words(name)} is named.")]
    if role.backup is None:
        return [
            CompletenessFinding(
                "role.no_backup",
                f"{key}.backup",
                "missing",
                f"The {_words(name)} ({role.name}) has no backup for when they are away.",
            )
        ]
    if _same_person(role, role.backup):
        return [
            CompletenessFinding(
                "role.backup_is_owner",
                f"{key}.backup",
                "weak",
                f"The {_words(name)}'s backup is {role.name} again: name someone else.",
            )
        ]
    return []


def completeness(model: OperatingModel) -> list[CompletenessFinding]:
    """Every gap of the operating model, in the order of the page: workflow, roles, review,
    failure levels, costs, change control, sources. An empty list means complete."""
    found: list[CompletenessFinding] = []
    if not model.workflow.never:
        found.append(
            CompletenessFinding(
                "workflow.never_empty",
                "workflow.never",
                "missing",
                "Nothing is listed that the AI must never do.",
            )
        )
    if not model.workflow.excluded_categories:
        found.append(
            CompletenessFinding(
                "workflow.no_excluded_categories",
                "workflow.excluded_categories",
                "missing",
                "No ticket categories are excluded from AI drafts.",
            )
        )
    for name in ROLE_NAMES:
        found += _role_findings(name, getattr(model.roles, name))
    if model.review.min_sample < MIN_REVIEW_SAMPLE:
        found.append(
            CompletenessFinding(
                "review.small_sample",
                "review.min_sample",
                "weak",
                f"The weekly review sample is {model.review.min_sample}; under "
                f"{MIN_REVIEW_SAMPLE} an error rate cannot be told from chance.",
            )
        )
    for level in FAILURE_LEVELS:
        if getattr(model.failure_levels, level) is None:
            found.append(
                CompletenessFinding(
                    "failure_level.undocumented",
                    f"failure_levels.{level}",
                    "missing",
                    f'Failure level "{_words(level)}" has no example and no response.',
                )
            )
    if model.costs.monthly_cap <= 0:
        found.append(
            CompletenessFinding(
                "costs.no_cap",
                "costs.monthly_cap",
                "missing",
                "There is no monthly cost cap.",
            )
        )
    if not model.change_approvers:
        found.append(
            CompletenessFinding(
                "change.no_approvers",
                "change_approvers",
                "missing",
                "Nobody is named to approve prompt and model changes.",
            )
        )
    unknown = [s for s in SOURCES if not model.source(s).origin]
    if unknown:
        found.append(
            CompletenessFinding(
                "sources.origin_unknown",
                "sources",
                "missing",
                f"Where these exports come from is not written down: {', '.join(unknown)}.",
            )
        )
    return found
