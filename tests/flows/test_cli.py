"""The command line as a user types it (in-process, against the session's Prefect server)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import EXAMPLE_PILOT, ROOT, run_process

runner = CliRunner()

BAD_USAGE = (
    "request_id,timestamp,model,input_tokens,output_tokens,cached_input_tokens,status\n"
    "r1,2026-10-05T10:00:00Z,gpt-4o,100,20,0,ok\n"
    "r2,2026-10-05T10:00:00Z,gpt-4o,-5,20,0,ok\n"
    "r3,2026-10-05T10:00:00Z,gpt-4o,100,20,500,maybe\n"
    "r1,2026-10-05T10:00:00Z,gpt-4o,100,20,0,ok\n"
)


def test_check_lists_each_bad_row_with_line_and_reasons(tmp_path: Path):
    """It prints every quarantined line with its reasons and the values they reject, and exits
    0 when the file is usable."""
    path = tmp_path / "usage.csv"
    path.write_text(BAD_USAGE)
    result = runner.invoke(app, ["check", "--source", "usage", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 rows read, 1 valid, 2 quarantined, 1 duplicate" in result.stdout
    assert (
        "line 3: input_tokens is negative: -5; cached_input_tokens exceeds input_tokens: 0 > -5\n"
    ) in result.stdout
    # Each reason quotes the value it rejects.
    assert (
        "line 4: status is not one of ok, error, timeout: 'maybe'; "
        "cached_input_tokens exceeds input_tokens: 500 > 100\n"
    ) in result.stdout


def test_check_json_output_has_the_contract_shape(tmp_path: Path):
    """It prints the contract's JSON document with one entry per quarantined line."""
    path = tmp_path / "usage.csv"
    path.write_text(BAD_USAGE)
    result = runner.invoke(app, ["check", "--source", "usage", str(path), "--json"])
    doc = json.loads(result.stdout)
    assert set(doc) == {
        "source", "format", "adapter", "chosen_by", "target", "mapping", "rows_read",
        "rows_valid", "rows_quarantined", "rows_duplicate", "refused", "quarantined",
        "encoding", "date_order", "weeks", "preview", "rows_skipped", "skipped", "problem",
    }  # fmt: skip
    assert (doc["adapter"], doc["chosen_by"], doc["target"]) == ("canonical", "detected", "usage")
    assert doc["mapping"]["input_tokens"] == "input_tokens"
    assert (doc["format"], doc["rows_read"], doc["rows_valid"], doc["refused"]) == (
        "csv",
        4,
        1,
        None,
    )
    assert [q["line"] for q in doc["quarantined"]] == [3, 4]


def test_check_names_the_detected_vendor_format_and_its_mapping(tmp_path: Path) -> None:
    """It names the export format it detected in a real Zendesk table and the mapping applied."""
    import yaml

    raw = yaml.safe_load(EXAMPLE_PILOT.read_text())
    raw["sources"] = {}  # the example pilot's options are set for its Zendesk API pages
    pilot = tmp_path / "pilot.yaml"
    pilot.write_text(yaml.safe_dump(raw))
    path = ROOT / "tests/fixtures/vendor/real/zendesk__fivetran-dbt_zendesk__ticket_data.csv"
    result = runner.invoke(app, ["check", "--source", "tickets", str(path), "--pilot", str(pilot)])
    assert result.exit_code == 0, result.output
    assert "export format zendesk_fivetran_tickets (detected), csv file" in result.stdout
    assert "  ticket_id <- id" in result.stdout
    assert "10 rows read, 0 valid, 8 quarantined, 0 duplicate, 2 skipped" in result.stdout
    assert "  skipped 2: deleted ticket" in result.stdout


def test_check_refuses_a_pilot_with_a_misspelt_option(tmp_path: Path) -> None:
    """It exits 1 naming a misspelt option of the pilot, and the option meant, before reading."""
    import yaml

    raw = yaml.safe_load(EXAMPLE_PILOT.read_text())
    raw["sources"]["tickets"]["ai_draft_tagz"] = raw["sources"]["tickets"].pop("ai_draft_tags")
    pilot = tmp_path / "pilot.yaml"
    pilot.write_text(yaml.safe_dump(raw))
    path = ROOT / "tests/fixtures/vendor/real/zendesk__fivetran-dbt_zendesk__ticket_data.csv"
    result = runner.invoke(app, ["check", "--source", "tickets", str(path), "--pilot", str(pilot)])
    assert result.exit_code == 1
    assert "sources.tickets.ai_draft_tagz: unknown option; did you mean ai_draft_tags?" in (
        result.stderr
    )
    assert "export format" not in result.stdout


def test_check_and_run_suggest_the_key_meant_for_a_misspelt_threshold(tmp_path: Path) -> None:
    """They exit 1 naming a misspelt operating-model key and the key it resembles."""
    text = EXAMPLE_PILOT.read_text().replace("max_cost_per_task:", "max_cost_per_taks:", 1)
    pilot = tmp_path / "pilot.yaml"
    pilot.write_text(text)
    (tmp_path / "inbox").mkdir()
    path = tmp_path / "usage.csv"
    path.write_text(BAD_USAGE)
    checked = runner.invoke(app, ["check", "--source", "usage", str(path), "--pilot", str(pilot)])
    ran = runner.invoke(app, ["run", "--pilot", str(pilot), "--inbox", str(tmp_path / "inbox")])
    for result in (checked, ran):
        assert result.exit_code == 1
        assert (
            "costs.max_cost_per_taks: unknown key; did you mean max_cost_per_task?" in result.stderr
        )


def test_check_exits_1_on_a_refused_file(tmp_path: Path):
    """It names the reason and exits 1 when the file lacks required columns."""
    path = tmp_path / "usage.csv"
    path.write_text("request_id,timestamp\nr1,2026-10-05T10:00:00Z\n")
    result = runner.invoke(app, ["check", "--source", "usage", str(path)])
    assert result.exit_code == 1
    assert (
        "refused: missing required column(s): model, input_tokens, output_tokens, status"
        in result.stdout
    )


def test_run_refuses_an_invalid_operating_model_listing_every_problem(tmp_path: Path):
    """It exits 1 and lists each problem of a broken operating model with its key path."""
    broken = tmp_path / "pilot.yaml"
    text = EXAMPLE_PILOT.read_text().replace("timezone: Europe/Berlin", "timezone: Mars/Olympus")
    broken.write_text(text.replace("max_error_rate: 0.10", "max_error_rate: 3"))
    (tmp_path / "inbox").mkdir()
    result = runner.invoke(app, ["run", "--pilot", str(broken), "--inbox", str(tmp_path / "inbox")])
    assert result.exit_code == 1
    assert "timezone" in result.stderr and "limits.max_error_rate" in result.stderr


_UNUSUAL_FILES = {
    "nested.json": "[" * 100_000 + "]" * 100_000,
    "nested.jsonl": '{"request_id": ' + "[" * 100_000 + "]" * 100_000 + "}\n",
    "cr_only.csv": BAD_USAGE.replace("\n", "\r"),
    "mixed.csv": BAD_USAGE.replace("\n", "\r", 2),
    "open_quote.csv": BAD_USAGE.replace("r2,", 'r2,"', 1),
}


@pytest.mark.parametrize("name", sorted(_UNUSUAL_FILES))
def test_check_reads_or_refuses_every_file_run_would_without_a_traceback(
    tmp_path: Path, name: str
) -> None:
    """It answers for deeply nested JSON, CR-only and mixed line ends and an unclosed quote as
    `run` would (read or refused with a reason), in its own process, with no traceback."""
    path = tmp_path / name
    path.write_text(_UNUSUAL_FILES[name], encoding="utf-8", newline="")
    result = run_process(
        [sys.executable, "-m", "flows.cli", "check", "--source", "usage", str(path), "--json"],
        cwd=ROOT,
        timeout=120,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-2000:]
    report = json.loads(result.stdout)
    if name.startswith("nested"):
        assert result.returncode == 1
        assert "JSON nested too deeply" in report["refused"]
    else:
        assert result.returncode == 0, report
        assert report["rows_read"] == 4
        assert {q["line"] for q in report["quarantined"]} >= {3}


REAL_SAMPLES = sorted((ROOT / "tests/fixtures/vendor/real").glob("*.csv"))


def _sample_source(path: Path) -> str:
    if path.name.startswith(("openai", "anthropic")):
        return "usage"
    return "timesheets" if path.name.startswith("toggl") else "tickets"


@pytest.mark.parametrize("path", REAL_SAMPLES, ids=lambda p: p.name.split("__")[-1])
def test_every_real_sample_loads_through_check_without_a_pilot(path: Path) -> None:
    """It reads every real sample with neutral options: no file is refused, every row counted."""
    result = runner.invoke(app, ["check", "--source", _sample_source(path), str(path), "--json"])
    doc = json.loads(result.stdout)
    assert doc["refused"] is None
    assert doc["rows_read"] > 0
    assert doc["rows_read"] == (
        doc["rows_valid"]
        + doc["rows_quarantined"]
        + doc["rows_duplicate"]
        + doc.get("rows_skipped", 0)
    )


def test_check_shows_the_weeks_the_first_rows_and_how_dates_and_encoding_were_chosen() -> None:
    """It prints the rows per ISO week, the first mapped rows and the date order's proof."""
    path = ROOT / "tests/fixtures/vendor/i17/clockify-dayfirst-2026.csv"
    result = runner.invoke(app, ["check", "--source", "timesheets", str(path), "--json"])
    doc = json.loads(result.stdout)
    assert doc["weeks"] == {"2026-W04": 1, "2026-W05": 1, "2026-W06": 1, "2026-W07": 2}
    assert doc["date_order"] == {
        "value": "day_first",
        "chosen_by": "proven by the file: line 2 (start date '21/01/2026') has a first field "
        "above 12",
    }
    assert doc["encoding"] == {"value": "utf-8", "chosen_by": "default (the file reads as UTF-8)"}
    assert len(doc["preview"]) == 5
    assert doc["preview"][1] == {
        "entry_id": "6971a0000000000000000002",
        "person": "lena@example.de",
        "work_date": "2026-02-01",
        "started_at": "2026-02-01T09:00:00+00:00",
        "minutes": 45.0,
        "activity": "review",
        "ticket_id": "1002",
    }
    human = runner.invoke(app, ["check", "--source", "timesheets", str(path)]).stdout
    assert "date_order: day_first (proven by the file: line 2" in human
    assert "rows per week: 2026-W04 1, 2026-W05 1, 2026-W06 1, 2026-W07 2" in human
    assert "work_date=2026-02-01" in human


def test_check_exits_1_when_no_timesheet_row_has_an_activity(tmp_path: Path) -> None:
    """It exits 1 naming the options to set when every row would be quarantined for a missing
    activity, and 0 when some rows are fine (issue 17, case 4)."""
    path = ROOT / "tests/fixtures/vendor/real/toggl__7pairs-toggl2html__test_execute_01_ja.csv"
    result = runner.invoke(app, ["check", "--source", "timesheets", str(path)])
    assert result.exit_code == 1
    assert "2 of 2 rows have no activity: set activity_map or default_activity" in result.stdout
    doc = json.loads(
        runner.invoke(app, ["check", "--source", "timesheets", str(path), "--json"]).stdout
    )
    assert doc["refused"] is None and doc["problem"].startswith("2 of 2 rows")
    some = ROOT / "tests/fixtures/vendor/i17/clockify-dayfirst-2026.csv"
    partly = runner.invoke(app, ["check", "--source", "timesheets", str(some)])
    assert partly.exit_code == 0 and "have no activity" not in partly.stdout


def test_the_example_pilot_s_zendesk_settings_no_longer_refuse_other_vendors() -> None:
    """It reads a Freshdesk export with the example pilot (its Zendesk field ids apply to
    Zendesk pages only) and a Zendesk page without a pilot (issue 17, case 2)."""
    freshdesk = ROOT / "tests/fixtures/vendor/freshdesk/tickets-export.csv"
    page = ROOT / "tests/fixtures/vendor/zendesk/incremental-tickets-page.json"
    for args in (
        [str(freshdesk), "--pilot", str(EXAMPLE_PILOT)],
        [str(freshdesk)],
        [str(page)],
    ):
        result = runner.invoke(app, ["check", "--source", "tickets", *args, "--json"])
        doc = json.loads(result.stdout)
        assert doc["refused"] is None, args
        assert doc["rows_valid"] > 0, args


def test_history_without_a_warehouse_names_the_demo_one_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """It exits 1 naming the missing warehouse and the demo's `--db`, and creates no file."""
    from pipelines.warehouse.engine import transaction

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PILOT_DB_URL", raising=False)
    with transaction("sqlite:///var/demo/warehouse.db") as conn:  # a real, empty demo warehouse
        conn.exec_driver_sql("SELECT 1")
    result = runner.invoke(app, ["history", "--pilot", str(EXAMPLE_PILOT)])
    assert result.exit_code == 1
    assert (
        "no warehouse at var/warehouse.db; the demo's is var/demo/warehouse.db: "
        "add --db sqlite:///var/demo/warehouse.db"
    ) in result.stderr
    assert not (tmp_path / "var" / "warehouse.db").exists()
    # The suggested option reads the demo's warehouse.
    fixed = runner.invoke(
        app, ["history", "--pilot", str(EXAMPLE_PILOT), "--db", "sqlite:///var/demo/warehouse.db"]
    )
    assert fixed.exit_code == 0, fixed.output
    assert "no stored weeks for support-reply-drafts" in fixed.stdout


def test_history_without_any_warehouse_says_how_to_fill_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """It exits 1 when the --db file does not exist and no demo ran, creating neither file nor folder."""
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nowhere" / "w.db"
    result = runner.invoke(
        app, ["history", "--pilot", str(EXAMPLE_PILOT), "--db", f"sqlite:///{missing}"]
    )
    assert result.exit_code == 1
    assert f"no warehouse at {missing}: run a week first" in result.stderr
    assert not missing.parent.exists()
