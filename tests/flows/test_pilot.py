"""Loading a pilot for a run or a check: the options under `sources.<source>` are refused unless
an export format of that source declares them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.pilot import load_pilot
from models.operating_model import OperatingModelError
from tests.conftest import EXAMPLE_PILOT, ROOT

PILOT_FILES = sorted((ROOT / "pilots").glob("*.yaml"))


def _example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE_PILOT.read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "pilot.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(OperatingModelError) as caught:
        load_pilot(path)
    assert caught.value.path == path
    return caught.value.problems


@pytest.mark.parametrize("path", PILOT_FILES, ids=lambda p: p.name)
def test_every_pilot_file_of_the_repository_loads(path: Path) -> None:
    """It accepts every option the repository's pilot files use."""
    written = yaml.safe_load(path.read_text(encoding="utf-8")).get("sources") or {}
    sources = load_pilot(path).sources
    assert set(sources) == set(written)
    for name, settings in sources.items():
        assert set(settings.model_extra or {}) | settings.model_fields_set == set(written[name])


def test_a_misspelt_option_is_refused_with_its_key_path_and_the_nearest_option(
    tmp_path: Path,
) -> None:
    """It refuses a misspelt option instead of loading it silently, suggesting the known one."""
    raw = _example()
    raw["sources"]["tickets"]["ai_draft_tagz"] = raw["sources"]["tickets"].pop("ai_draft_tags")
    problems = _problems(_write(tmp_path, raw))
    assert problems == [
        "sources.tickets.ai_draft_tagz: unknown option; did you mean ai_draft_tags?"
    ]


def test_an_option_no_format_of_the_source_reads_is_refused_without_a_guess(
    tmp_path: Path,
) -> None:
    """It refuses a timesheet option under tickets, where no format reads it."""
    raw = _example()
    raw["sources"]["tickets"]["activity_map"] = {"review": "review"}
    raw["sources"]["reviews"] = {"format": "auto", "colour": "blue"}
    assert _problems(_write(tmp_path, raw)) == [
        "sources.tickets.activity_map: unknown option",
        "sources.reviews.colour: unknown option",
    ]


def test_options_of_another_format_are_refused_when_the_format_is_named(tmp_path: Path) -> None:
    """It refuses Zendesk API options once the tickets format is Freshdesk, naming their owner."""
    raw = _example()
    tickets = raw["sources"]["tickets"]
    tickets |= tickets.pop("formats")["zendesk_api"]
    tickets["format"] = "freshdesk_csv"
    problems = _problems(_write(tmp_path, raw))
    assert problems == [
        "sources.tickets.ticket_id_field: an option of zendesk_api, not of freshdesk_csv",
        "sources.tickets.agent_field: an option of zendesk_api, not of freshdesk_csv",
        "sources.tickets.handle_seconds_field: an option of zendesk_api, not of freshdesk_csv",
    ]


def test_the_options_of_the_named_format_and_the_common_settings_load(tmp_path: Path) -> None:
    """It accepts, for a named format, its own options and the settings every source has."""
    raw = _example()
    raw["sources"]["timesheets"] = {
        "format": "harvest_detailed_csv",
        "encoding": "latin-1",
        "keep_extra_columns": True,
        "activity_map": {"review": "review"},
        "date_order": "day_first",
    }
    settings = load_pilot(_write(tmp_path, raw)).source("timesheets")
    assert settings.encoding == "latin-1"
    assert settings.model_extra == {"activity_map": {"review": "review"}, "date_order": "day_first"}


def test_adapter_options_are_refused_for_canonical_files(tmp_path: Path) -> None:
    """It refuses an adapter option when the folder holds canonical files, which read none."""
    raw = _example()
    raw["sources"]["timesheets"] = {"format": "canonical", "person_column": "user"}
    assert _problems(_write(tmp_path, raw)) == [
        "sources.timesheets.person_column: an option of toggl_detailed_csv, not of canonical"
    ]


def test_an_unknown_format_is_refused_with_the_nearest_format(tmp_path: Path) -> None:
    """It refuses a misspelt format name, suggesting the format of that source it resembles."""
    raw = _example()
    raw["sources"]["tickets"]["format"] = "zendesk_apii"
    assert _problems(_write(tmp_path, raw)) == [
        "sources.tickets.format: unknown format 'zendesk_apii' for tickets files; "
        "did you mean zendesk_api?"
    ]


@pytest.mark.parametrize(
    ("source", "options", "problem"),
    [
        (
            "usage",
            {"cost_unit": "euros"},
            "sources.usage.cost_unit: Input should be 'cents' or 'usd', not 'euros'",
        ),
        (
            "usage",
            {"task_id_from_session": "maybe"},
            "sources.usage.task_id_from_session: Input should be a valid boolean, "
            "unable to interpret input, not 'maybe'",
        ),
        (
            "timesheets",
            {"person_timezones": {"sam@example.com": "Mars/Olympus"}},
            "sources.timesheets.person_timezones: unknown IANA timezone 'Mars/Olympus'",
        ),
        (
            "tickets",
            {"status_map": ["solved"]},
            "sources.tickets.status_map: must map words to words ({word: word}), not ['solved']",
        ),
    ],
)
def test_a_value_the_format_cannot_use_is_refused_with_its_key_path(
    tmp_path: Path, source: str, options: dict[str, Any], problem: str
) -> None:
    """It refuses an option value of the wrong type or meaning before any file is read."""
    raw = _example()
    raw["sources"][source] = {"format": "auto", **options}
    assert _problems(_write(tmp_path, raw)) == [problem]


def test_option_problems_are_listed_with_the_other_problems_of_the_file(tmp_path: Path) -> None:
    """It lists a misspelt option together with the file's other problems in one refusal."""
    raw = _example()
    raw["timezone"] = "Mars/Olympus"
    raw["sources"]["usage"]["task_id_tag_prefixes"] = ["ticket:"]
    problems = _problems(_write(tmp_path, raw))
    assert [p.split(":", 1)[0] for p in problems] == [
        "timezone",
        "sources.usage.task_id_tag_prefixes",
    ]
    assert problems[1].endswith("unknown option; did you mean task_id_tag_prefix?")


def test_a_custom_format_keeps_its_mapping_option(tmp_path: Path) -> None:
    """It accepts `mapping` with `format: custom`, found next to the pilot file, and refuses it
    when the format is detected."""
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "reviews.yaml").write_text("columns: {ticket_id: Ticket}\n")
    raw = _example()
    raw["sources"]["reviews"] = {"format": "custom", "mapping": "mappings/reviews.yaml"}
    reviews = load_pilot(_write(tmp_path, raw)).source("reviews")
    assert reviews.model_extra == {"mapping": str(tmp_path / "mappings" / "reviews.yaml")}

    raw["sources"]["reviews"]["format"] = "auto"
    assert _problems(_write(tmp_path, raw)) == [
        "sources.reviews.mapping: an option of custom, not of auto"
    ]


def test_an_alias_bomb_under_an_unknown_source_option_is_refused_within_a_second(
    tmp_path: Path,
) -> None:
    """It refuses a nine-level "billion laughs" under an unknown key of `sources.usage` before
    validating or listing the options, and says why."""
    raw = _example()
    raw.pop("sources", None)
    bomb = ["      l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    bomb += [f"      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "pilot.yaml"
    path.write_text(
        yaml.safe_dump(raw, sort_keys=False) + "sources:\n  usage:\n    lols:\n" + "\n".join(bomb),
        encoding="utf-8",
    )
    started = time.monotonic()
    problems = _problems(path)
    assert time.monotonic() - started < 1.0
    assert len(problems) == 1 and "aliases are expanded" in problems[0]


def test_options_per_format_and_per_file_are_checked_under_their_key_paths(
    tmp_path: Path,
) -> None:
    """It checks each `formats.<format>` and `files[i]` entry against the format it applies to."""
    raw = _example()
    raw["sources"]["tickets"]["formats"]["freshdesk_csv"] = {"handle_seconds_field": "x"}
    raw["sources"]["tickets"]["formats"]["zendesk_apx"] = {}
    raw["sources"]["tickets"]["files"] = [
        {
            "match": "jira-*.csv",
            "format": "jira_csv",
            "encoding": "cp1252",
            "date_format": "%d/%m/%Y %H:%M",
        },
        {"format": "jira_csv"},
        {"match": "*.csv", "colour": "blue"},
    ]
    assert _problems(_write(tmp_path, raw)) == [
        "sources.tickets.formats.freshdesk_csv.handle_seconds_field: an option of zendesk_api, "
        "not of freshdesk_csv",
        "sources.tickets.formats.zendesk_apx: unknown format for tickets files; "
        "did you mean zendesk_api?",
        'sources.tickets.files[1]: needs match: "<glob>" (a file name pattern)',
        "sources.tickets.files[2].colour: unknown option",
    ]


def test_the_example_pilot_keeps_its_zendesk_account_settings_under_zendesk_api() -> None:
    """It holds the Zendesk field ids under `formats.zendesk_api`, not folder-wide."""
    tickets = load_pilot(EXAMPLE_PILOT).source("tickets")
    assert "category_field" not in (tickets.model_extra or {})
    assert tickets.formats["zendesk_api"]["category_field"] == 27642
