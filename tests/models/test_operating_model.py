"""The operating model file: the example loads, and bad files are refused with every problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from models.operating_model import OperatingModel, OperatingModelError, load_operating_model

EXAMPLE_PILOT = Path(__file__).resolve().parents[2] / "pilots" / "support-reply-drafts.yaml"


def _example_dict() -> dict:
    return yaml.safe_load(EXAMPLE_PILOT.read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: object | str) -> Path:
    path = tmp_path / "pilot.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_loads(example_model: OperatingModel) -> None:
    """It loads the example operating model with its thresholds and roles."""
    assert example_model.pilot == "support-reply-drafts"
    assert example_model.timezone == "Europe/Berlin"
    assert example_model.costs.monthly_cap == 3000
    assert example_model.costs.rate_per_hour("Dana Levi") == 55.0
    assert example_model.costs.rate_per_hour("Someone Else") == 40.0
    assert example_model.limits.max_error_rate == 0.10
    assert example_model.roles.reviewer is not None
    assert example_model.roles.reviewer.backup is not None
    assert example_model.roles.reviewer.backup.name == "Max Roth"
    assert "legal" in example_model.workflow.excluded_categories
    assert example_model.source("usage").format == "auto"  # detected from the header


def test_invalid_file_lists_every_problem_with_its_key_path(tmp_path: Path) -> None:
    """It refuses a file with several problems and lists each one under its key path."""
    raw = _example_dict()
    raw["pilot"] = "Bad_ID"
    raw["timezone"] = "Mars/Olympus"
    raw["costs"]["monthly_cap"] = -5
    del raw["limits"]["max_error_rate"]
    raw["sources"] = {"usage": {"format": "canonical"}, "invoices": {}}
    path = _write(tmp_path, raw)

    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(path)

    problems = caught.value.problems
    assert len(problems) == 5
    by_key = {p.split(":", 1)[0]: p for p in problems}
    assert set(by_key) == {
        "pilot",
        "timezone",
        "costs.monthly_cap",
        "limits.max_error_rate",
        "sources",
    }
    assert "Mars/Olympus" in by_key["timezone"]
    assert "greater than or equal to 0" in by_key["costs.monthly_cap"]
    assert "required" in by_key["limits.max_error_rate"].lower()
    assert "invoices" in by_key["sources"]
    message = str(caught.value)
    assert str(path) in message
    assert "5 problem(s)" in message
    assert all(p in message for p in problems)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    """It refuses a misspelt key instead of silently ignoring the threshold it meant to set."""
    raw = _example_dict()
    raw["limits"]["max_eror_rate"] = 0.5
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(_write(tmp_path, raw))
    assert any(p.startswith("limits.max_eror_rate:") for p in caught.value.problems)


def test_hourly_rates_need_a_default(tmp_path: Path) -> None:
    """It refuses hourly rates without a default rate for people not listed."""
    raw = _example_dict()
    raw["costs"]["hourly_rates"] = {"Dana Levi": 55.0}
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(_write(tmp_path, raw))
    assert any(p.startswith("costs.hourly_rates:") for p in caught.value.problems)


def test_non_yaml_file_is_refused(tmp_path: Path) -> None:
    """It refuses a file that is not valid YAML and says so."""
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(_write(tmp_path, "pilot: [unclosed\n"))
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("not valid YAML")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just some text\n", ""])
def test_non_mapping_file_is_refused(tmp_path: Path, text: str) -> None:
    """It refuses a YAML file whose top level is not a mapping of keys."""
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(_write(tmp_path, text))
    assert caught.value.problems == ["(root): expected a mapping of keys"]


def test_missing_file_is_refused(tmp_path: Path) -> None:
    """It refuses a path that does not exist with a readable reason, not an OSError."""
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(tmp_path / "nope.yaml")
    assert caught.value.problems[0].startswith("cannot read file")
