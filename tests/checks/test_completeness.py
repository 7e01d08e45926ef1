"""The completeness check: each gap of an operating model found on a small model of its own."""

from __future__ import annotations

from typing import Any

import pytest

from checks.completeness import completeness
from models.operating_model import OperatingModel


def _person(name: str) -> dict[str, str]:
    return {"name": name, "email": f"{name.lower().replace(' ', '.')}@example.com"}


def complete_raw() -> dict[str, Any]:
    """A small operating model with nothing left undocumented."""
    return {
        "pilot": "small",
        "title": "Small pilot",
        "timezone": "UTC",
        "workflow": {
            "trigger": "New ticket",
            "output": "Draft reply",
            "never": ["approve refunds"],
            "excluded_categories": ["legal"],
        },
        "roles": {
            role: {**_person(f"{role} holder"), "backup": _person(f"{role} backup")}
            for role in ("business_owner", "technical_owner", "reviewer", "stop_authority")
        },
        "change_approvers": ["technical_owner holder"],
        "review": {"min_sample": 20, "min_distinct_days": 3},
        "costs": {
            "monthly_cap": 1000,
            "alert_ratio": 0.8,
            "max_cost_per_task": 1,
            "hourly_rates": {"default": 40},
            "baseline_manual_minutes": 5,
        },
        "limits": {
            "max_error_rate": 0.1,
            "max_correction_rate": 0.3,
            "min_minutes_saved_per_employee_day": 10,
            "max_cost_per_task_rise": 0.25,
            "max_changes_per_week": 1,
            "max_quarantine_ratio": 0.02,
            "max_model_failure_rate": 0.05,
        },
        "expansion": {"green_weeks_required": 3},
        "volumes": {"next_team_factor": 1.5, "busy_month_factor": 2},
        "failure_levels": {
            level: {"example": f"a {level} failure", "response": f"the {level} response"}
            for level in ("low", "medium", "stop_now")
        },
        "sources": {
            source: {"origin": f"{source} export"}
            for source in ("usage", "tickets", "timesheets", "reviews", "changes")
        },
    }


def ids(raw: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.id, f.key) for f in completeness(OperatingModel.model_validate(raw))]


def test_complete_model_has_no_findings() -> None:
    """It finds nothing in a model where every part is written down."""
    assert ids(complete_raw()) == []


def test_example_pilot_is_complete(example_model) -> None:
    """It finds nothing in the example pilot's operating model."""
    assert completeness(example_model) == []


def test_role_without_backup() -> None:
    """It names a role that has no backup."""
    raw = complete_raw()
    del raw["roles"]["reviewer"]["backup"]
    [finding] = completeness(OperatingModel.model_validate(raw))
    assert (finding.id, finding.key, finding.gap) == (
        "role.no_backup",
        "roles.reviewer.backup",
        "missing",
    )
    assert "reviewer holder" in finding.message


@pytest.mark.parametrize(
    "backup",
    [
        {"name": " Technical_Owner HOLDER "},  # same name, other spelling
        {"name": "Someone", "email": "technical_owner.holder@example.com"},  # same email
    ],
)
def test_backup_equal_to_owner(backup: dict[str, str]) -> None:
    """It calls a backup weak when it is the role holder again (by name or by email)."""
    raw = complete_raw()
    raw["roles"]["technical_owner"]["backup"] = backup
    assert ids(raw) == [("role.backup_is_owner", "roles.technical_owner.backup")]
    assert completeness(OperatingModel.model_validate(raw))[0].gap == "weak"


def test_missing_role() -> None:
    """It names a role nobody holds."""
    raw = complete_raw()
    del raw["roles"]["business_owner"]
    assert ids(raw) == [("role.missing", "roles.business_owner")]


def test_no_restart_authority() -> None:
    """It says nobody may restart the pilot when there is no stop authority."""
    raw = complete_raw()
    del raw["roles"]["stop_authority"]
    assert ids(raw) == [("restart.no_authority", "roles.stop_authority")]


def test_empty_never_list() -> None:
    """It finds an empty list of what the AI must never do."""
    raw = complete_raw()
    raw["workflow"]["never"] = []
    assert ids(raw) == [("workflow.never_empty", "workflow.never")]


def test_no_excluded_categories() -> None:
    """It finds a workflow that excludes no ticket category."""
    raw = complete_raw()
    del raw["workflow"]["excluded_categories"]
    assert ids(raw) == [("workflow.no_excluded_categories", "workflow.excluded_categories")]


def test_no_cap() -> None:
    """It finds a monthly cap of zero (no cap)."""
    raw = complete_raw()
    raw["costs"]["monthly_cap"] = 0
    assert ids(raw) == [("costs.no_cap", "costs.monthly_cap")]


@pytest.mark.parametrize(("sample", "found"), [(19, True), (20, False), (1, True)])
def test_review_sample_under_20(sample: int, found: bool) -> None:
    """It calls a weekly review sample under 20 weak, and 20 enough."""
    raw = complete_raw()
    raw["review"]["min_sample"] = sample
    assert ids(raw) == ([("review.small_sample", "review.min_sample")] if found else [])


def test_undocumented_failure_level() -> None:
    """It names each failure level without an example and a response."""
    raw = complete_raw()
    del raw["failure_levels"]["medium"]
    assert ids(raw) == [("failure_level.undocumented", "failure_levels.medium")]


def test_no_change_approvers() -> None:
    """It finds change control with nobody to approve changes."""
    raw = complete_raw()
    raw["change_approvers"] = []
    assert ids(raw) == [("change.no_approvers", "change_approvers")]


def test_unknown_export_origin() -> None:
    """It lists, in one finding, the sources whose origin is not written down."""
    raw = complete_raw()
    del raw["sources"]["reviews"]
    raw["sources"]["changes"] = {"format": "auto"}
    [finding] = completeness(OperatingModel.model_validate(raw))
    assert finding.id == "sources.origin_unknown"
    assert finding.message.endswith("reviews, changes.")


def test_many_gaps_in_page_order() -> None:
    """It lists several gaps at once in the page's order."""
    raw = complete_raw()
    raw["workflow"]["never"] = []
    raw["review"]["min_sample"] = 5
    del raw["roles"]["reviewer"]["backup"]
    raw["costs"]["monthly_cap"] = 0
    assert [i for i, _ in ids(raw)] == [
        "workflow.never_empty",
        "role.no_backup",
        "review.small_sample",
        "costs.no_cap",
    ]
