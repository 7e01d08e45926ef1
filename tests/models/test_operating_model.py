"""The operating model file: the example loads, and bad files are refused with every problem."""

from __future__ import annotations

import time
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


def test_a_misspelt_key_at_any_level_names_the_closest_known_key(tmp_path: Path) -> None:
    """It suggests the nearest valid key for a misspelt key at the top level, in a section, in
    a nested role, and for a misspelt source; a key like none lists the known ones."""
    raw = _example_dict()
    raw["costs"]["max_cost_per_taks"] = raw["costs"].pop("max_cost_per_task")
    raw["limitz"] = {}
    raw["roles"]["business_owner"]["backup"] = {"name": "Kim", "emial": "kim@example.com"}
    raw["expansion"]["colour"] = "green"
    raw["sources"]["usgae"] = {}
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(_write(tmp_path, raw))
    problems = caught.value.problems
    assert "costs.max_cost_per_taks: unknown key; did you mean max_cost_per_task?" in problems
    assert "limitz: unknown key; did you mean limits?" in problems
    assert "roles.business_owner.backup.emial: unknown key; did you mean email?" in problems
    assert "expansion.colour: unknown key (known: green_weeks_required)" in problems
    assert any(p.endswith("did you mean usage for 'usgae'?") for p in problems)


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


@pytest.mark.parametrize(
    ("section", "key", "value", "says"),
    [
        ("costs", "monthly_cap", ".inf", "finite"),
        ("costs", "max_cost_per_task", "1e300", "less than or equal"),
        ("costs", "fixed_monthly_fees", "1.7e308", "less than or equal"),
        ("volumes", "busy_month_factor", ".inf", "finite"),
        ("volumes", "next_team_factor", ".nan", "finite"),
        ("limits", "min_minutes_saved_per_employee_day", ".nan", "finite"),
        ("limits", "min_minutes_saved_per_employee_day", "-1e308", "greater than or equal"),
        ("limits", "max_error_rate", ".nan", "finite"),
    ],
)
def test_a_number_that_is_not_finite_or_out_of_range_is_refused_with_its_key_path(
    tmp_path: Path, section: str, key: str, value: str, says: str
) -> None:
    """It refuses an infinite, NaN or absurdly large number (a NaN threshold would switch its
    rule off, an infinite cost would make readiness.json invalid JSON), naming the key path."""
    raw = _example_dict()
    raw[section][key] = "__NUMBER__"
    text = yaml.safe_dump(raw, sort_keys=False).replace("__NUMBER__", value)
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(_write(tmp_path, text))
    assert [p.split(":", 1)[0] for p in caught.value.problems] == [f"{section}.{key}"]
    assert says in caught.value.problems[0].lower()


def test_an_infinite_hourly_rate_is_refused_with_its_key_path(tmp_path: Path) -> None:
    """It refuses `.inf` as an hourly rate and names the person's rate."""
    text = EXAMPLE_PILOT.read_text(encoding="utf-8").replace(
        "hourly_rates: {default: 40.0", "hourly_rates: {default: .inf"
    )
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(_write(tmp_path, text))
    assert [p.split(":", 1)[0] for p in caught.value.problems] == ["costs.hourly_rates.default"]


def _alias_bomb(levels: int) -> str:
    """A "billion laughs": each level lists the level below nine times, through aliases."""
    lines = ["      lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [
        f"      lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels + 1)
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [7, 9])
def test_a_yaml_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path, levels: int) -> None:
    """It refuses a "billion laughs" under an unknown key of `sources.usage` within a second,
    before validation, and says why."""
    raw = _example_dict()
    raw.pop("sources", None)
    text = yaml.safe_dump(raw, sort_keys=False) + "sources:\n  usage:\n    bomb:\n"
    path = _write(tmp_path, text + _alias_bomb(levels))
    started = time.monotonic()
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(path)
    assert time.monotonic() - started < 1.0
    assert len(caught.value.problems) == 1
    assert "refused before reading" in caught.value.problems[0]
    assert "YAML" in caught.value.problems[0]


def test_a_few_honest_aliases_still_load(tmp_path: Path) -> None:
    """It keeps reading a file that shares a value through an anchor and an alias."""
    raw = _example_dict()
    text = yaml.safe_dump(raw, sort_keys=False)
    text = text.replace("max_error_rate: 0.1", "max_error_rate: &rate 0.1").replace(
        "max_correction_rate: 0.3", "max_correction_rate: *rate"
    )
    assert "*rate" in text
    model = load_operating_model(_write(tmp_path, text))
    assert model.limits.max_correction_rate == 0.1


def test_deeply_nested_yaml_is_refused_not_crashed(tmp_path: Path) -> None:
    """It refuses a document nested thousands of levels deep with a reason, not a RecursionError."""
    with pytest.raises(OperatingModelError) as caught:
        load_operating_model(_write(tmp_path, "pilot: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert "nested" in caught.value.problems[0]
