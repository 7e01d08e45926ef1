"""Custom exports mapped by a declarative mapping (sources.<source>.format: custom)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from models.operating_model import SourceSettings
from pipelines.adapters.base import Sniff
from pipelines.adapters.custom_mapping import ADAPTERS, describe
from pipelines.prepare import PreparedFile
from pipelines.read import RefusedFile

Prepare = Callable[..., PreparedFile]
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_MAPPING = ROOT / "pilots" / "mappings" / "example-helpdesk.yaml"
# Composed fixtures (tests/fixtures/vendor/custom/ORIGIN.md).
CUSTOM = ROOT / "tests" / "fixtures" / "vendor" / "custom"
HELPDESK = CUSTOM / "helpdesk-tickets.csv"
TIMESHEET = CUSTOM / "zeiterfassung.csv"
REVIEWS = CUSTOM / "reviews.jsonl"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


TIMESHEET_MAPPING: dict[str, Any] = {
    "columns": {"person": "Mitarbeiter", "duration": "Dauer (Std.)", "activity": "Tätigkeit"},
    "combine": {"start": {"join": ["Datum", "Beginn"]}},
    "dates": {"start": "%d.%m.%Y %H:%M"},
    "patterns": {"ticket_id": {"from": "Notiz", "regex": r"\b(HD-\d+)\b"}},
    "values": {"activity": {"Prüfung": "review", "Nacharbeit": "rework", "Wartung": "maintenance"}},
    "numbers": {"decimal": ","},
}

REVIEW_MAPPING: dict[str, Any] = {
    "columns": {
        "ticket_id": "case.ref",
        "reviewed_at": "checked",
        "reviewer": "by.name",
        "severity": "rating",
    },
    "dates": {"reviewed_at": "%Y-%m-%d %H:%M %z"},
    "values": {
        "severity": {"ok": "none", "gering": "low", "mittel": "medium", "stopp": "stop_now"}
    },
}

# Enough of a tickets mapping to be valid; tests add the key they are about.
TICKETS_BASE: dict[str, Any] = {
    "columns": {"created_at": "Erstellt am", "status": "Status"},
    "patterns": {"ticket_id": {"from": "Betreff", "regex": r"\[(HD-\d+)\]"}},
    "constants": {"category": "billing"},
}


def test_example_mapping_maps_german_helpdesk_export(prepare: Prepare) -> None:
    """It maps the documented German help-desk export with the example mapping file."""
    prepared = prepare("tickets", HELPDESK, format="custom", mapping=str(EXAMPLE_MAPPING))

    assert prepared.refused is None
    assert prepared.adapter == "custom"
    assert prepared.target == "tickets"
    assert prepared.rows_read == 9
    assert prepared.rows_duplicate_in_file == 1  # line 9 repeats line 2
    assert prepared.valid.height == 5
    assert prepared.quarantined.height == 3
    valid = prepared.valid.sort("__line__")
    assert valid["ticket_id"].to_list() == ["HD-1042", "HD-1043", "HD-1044", "HD-1045", "HD-1048"]
    assert valid["status"].to_list() == ["solved", "open", "closed", "open", "pending"]
    assert valid["category"].to_list() == ["billing"] * 5
    # 02.03.2026 09:40 in Europe/Berlin (CET) is 08:40 UTC.
    assert valid["created_at"][0] == utc(2026, 3, 2, 8, 40)
    assert valid["solved_at"][0] == utc(2026, 3, 2, 10, 15)
    assert valid["solved_at"][1] is None
    assert valid["ai_draft_used"].to_list() == [True, False, True, None, True]
    assert valid["escalated"].to_list() == [False, False, False, True, False]
    assert valid["handle_minutes"].to_list() == [12.5, 4.0, 3.25, 1075.5, 9.0]
    assert valid["agent"].to_list() == [
        "Anna Weber",
        "Jonas Braun",
        "Anna Weber",
        "Jonas Braun",
        "Anna Weber",
    ]


def test_bad_rows_are_quarantined_with_their_reasons(prepare: Prepare) -> None:
    """It quarantines an impossible date, an unmapped status word and a subject without a
    ticket number, each with the reason naming the column."""
    prepared = prepare("tickets", HELPDESK, format="custom", mapping=str(EXAMPLE_MAPPING))

    bad = prepared.quarantined.sort("__line__")
    assert bad["__line__"].to_list() == [6, 7, 8]
    assert bad["reasons"].to_list() == [
        ["created_at: 31.02.2026 09:00 is not a timestamp", "created_at is missing"],
        ["status is not one of new, open, pending, hold, solved, closed: 'Gelöscht'"],
        ["ticket_id is missing"],
    ]
    assert '"status":"Gelöscht"' in bad["raw"][1]


def test_custom_is_never_detected(prepare: Prepare) -> None:
    """It leaves a file without `format: custom` to detection, which does not choose custom."""
    prepared = prepare("tickets", HELPDESK)
    columns = frozenset({"betreff", "erstellt am", "status", "ticket_id", "created_at"})

    assert [a.detect(Sniff(HELPDESK, columns=columns)) for a in ADAPTERS] == [False]
    assert prepared.adapter != "custom"
    assert prepared.refused == (
        "missing required column(s): ticket_id, created_at, category, ai_draft_used"
    )


def test_inline_mapping_combines_columns_and_reads_decimal_commas(prepare: Prepare) -> None:
    """It joins date and time columns, reads decimal-comma hours, finds ticket ids by regex and
    maps activity words, from a mapping written inline in the operating model."""
    prepared = prepare("timesheets", TIMESHEET, format="custom", mapping=TIMESHEET_MAPPING)

    assert prepared.refused is None
    assert prepared.rows_read == 5
    assert prepared.rows_duplicate_in_file == 0
    assert prepared.valid.height == 3
    assert prepared.quarantined.height == 2
    valid = prepared.valid.sort("__line__")
    assert valid["person"].to_list() == ["Anna Weber", "Jonas Braun", "Anna Weber"]
    assert valid["minutes"].to_list() == [90.0, 15.0, 120.0]
    assert valid["activity"].to_list() == ["review", "rework", "maintenance"]
    # A note naming no ticket leaves ticket_id unknown.
    assert valid["ticket_id"].to_list() == ["HD-1042", "HD-1043", None]
    # No timezone in the mapping: local times are read in the pilot's (Europe/Berlin, CET).
    assert valid["started_at"].to_list() == [
        utc(2026, 3, 2, 8, 0),
        utc(2026, 3, 2, 12, 30),
        utc(2026, 3, 3, 7, 0),
    ]
    assert valid["work_date"].to_list() == [
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 3),
    ]
    bad = prepared.quarantined.sort("__line__")
    assert bad["__line__"].to_list() == [5, 6]
    assert bad["reasons"].to_list() == [
        ["duration: eine Stunde is not a number", "minutes is missing"],
        ["activity is not one of review, rework, escalation, maintenance, other: 'Schulung'"],
    ]


def test_date_only_format_for_a_date_column(prepare: Prepare) -> None:
    """It reads a day-first date into the timesheet date column."""
    mapping = {
        "columns": {"person": "Mitarbeiter", "date": "Datum", "duration": "Dauer (Std.)"},
        "constants": {"activity": "review"},
        "dates": {"date": "%d.%m.%Y"},
        "numbers": {"decimal": ","},
    }
    prepared = prepare("timesheets", TIMESHEET, format="custom", mapping=mapping)

    assert prepared.refused is None
    assert prepared.rows_read == 5
    assert prepared.valid.height == 4
    assert prepared.quarantined.height == 1
    valid = prepared.valid.sort("__line__")
    assert valid["work_date"].to_list() == [
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 2),
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 3),
    ]
    assert valid["activity"].to_list() == ["review"] * 4
    assert valid["minutes"].to_list() == [90.0, 15.0, 120.0, 30.0]
    assert prepared.quarantined["__line__"].to_list() == [5]


def test_reads_nested_json_keys_and_offset_timestamps(prepare: Prepare) -> None:
    """It reads keys of nested JSON objects (`case.ref`) and timestamps with an offset."""
    prepared = prepare("reviews", REVIEWS, format="custom", mapping=REVIEW_MAPPING)

    assert prepared.refused is None
    assert prepared.rows_read == 3
    assert prepared.valid.height == 2
    assert prepared.quarantined.height == 1
    valid = prepared.valid.sort("__line__")
    assert valid["ticket_id"].to_list() == ["HD-1042", "HD-1043"]
    assert valid["reviewer"].to_list() == ["Lea Koch", "Lea Koch"]
    assert valid["severity"].to_list() == ["none", "medium"]
    assert valid["reviewed_at"].to_list() == [utc(2026, 3, 2, 11, 0), utc(2026, 3, 2, 15, 45)]
    bad = prepared.quarantined
    assert bad["__line__"].to_list() == [3]
    assert bad["reasons"].to_list() == [
        ["reviewed_at: gestern is not a timestamp", "reviewed_at is missing"]
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"columns": {**TICKETS_BASE["columns"], "agnet": "Bearbeiter"}},
            "columns.agnet: not a tickets column (columns: ticket_id, created_at, solved_at, "
            "status, category, agent, ai_draft_used, draft_outcome, reopened, escalated, "
            "handle_minutes, contact_count, handed_off_at, first_human_action_at)",
        ),
        (
            {"dates": {"created_at": {"format": "%d.%m.%Y %H:%M", "timezone": "Europe/Berlinn"}}},
            "dates.created_at.timezone: unknown timezone 'Europe/Berlinn' (use an IANA name)",
        ),
        (
            {"dates": {"created_at": "dd.mm.yyyy"}},
            "dates.created_at.format: 'dd.mm.yyyy' is not a date format "
            "(use strftime codes: %d.%m.%Y)",
        ),
        (
            {"dates": {"solved_at": "%d.%m.%Y %H:%M"}},
            "dates.solved_at: solved_at is not mapped; "
            "name its vendor column under columns, patterns or combine",
        ),
        (
            {"patterns": {"ticket_id": {"from": "Betreff", "regex": "[(HD-"}}},
            "patterns.ticket_id.regex: invalid regular expression '[(HD-': "
            "unclosed character class",
        ),
        (
            {"values": {"status": {"Erledigt": "done"}}},
            "values.status.Erledigt: 'done' is not one of new, open, pending, hold, solved, closed",
        ),
        (
            {"constants": {"category": "billing", "status": "open"}},
            "constants.status: status is already given under columns; "
            "give each column in one place",
        ),
        (
            {"columns": {"created_at": "Erstellt am"}},
            "status: required for tickets; map it under columns, constants, patterns or combine",
        ),
        (
            {"numbers": {"decimal": ",", "thousands": ","}},
            "numbers.thousands: the thousands separator must differ from the decimal mark",
        ),
        (
            {"target": "usage"},
            "target: 'usage' is not a table tickets files can go to (tickets, ticket_labels)",
        ),
        (
            {"datse": {}},
            "datse: unknown key (known: target, description, columns, constants, patterns, "
            "combine, dates, values, numbers)",
        ),
    ],
)
def test_invalid_mapping_refuses_the_file(
    prepare: Prepare, change: dict[str, Any], message: str
) -> None:
    """It refuses the file with the mapping's problem named by its key path."""
    prepared = prepare("tickets", HELPDESK, format="custom", mapping=TICKETS_BASE | change)

    assert prepared.refused == f"custom mapping (sources.tickets.mapping) is invalid: {message}"
    assert prepared.rows_read == 0
    assert prepared.valid.height == 0


def test_invalid_mapping_file_refuses_with_its_path(prepare: Prepare, tmp_path: Path) -> None:
    """It names the mapping file and the key of a bad mapping file."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE_MAPPING.read_text(encoding="utf-8") + "\nconstant:\n  agent: x\n")
    prepared = prepare("tickets", HELPDESK, format="custom", mapping=str(bad))

    assert prepared.refused == (
        f"custom mapping {bad} is invalid: constant: unknown key (known: target, description, "
        "columns, constants, patterns, combine, dates, values, numbers)"
    )


def test_missing_mapping_refuses_the_file(prepare: Prepare, tmp_path: Path) -> None:
    """It refuses the file when the mapping is not configured or its file does not exist."""
    unset = prepare("tickets", HELPDESK, format="custom")
    absent = prepare("tickets", HELPDESK, format="custom", mapping=str(tmp_path / "none.yaml"))

    assert unset.refused == (
        "format custom needs sources.tickets.mapping: a mapping file (YAML) or the mapping inline"
    )
    assert absent.refused == (
        f"custom mapping file {tmp_path / 'none.yaml'} (sources.tickets.mapping) not found"
    )


def test_mapped_column_missing_from_file_refuses_it(prepare: Prepare) -> None:
    """It refuses a file that lacks a column the mapping names, listing the file's columns."""
    mapping = TICKETS_BASE | {"columns": {**TICKETS_BASE["columns"], "agent": "Agent"}}
    prepared = prepare("tickets", HELPDESK, format="custom", mapping=mapping)

    assert prepared.refused == (
        "custom mapping columns.agent: column 'Agent' is not in the file (columns: bearbeiter, "
        "bearbeitungszeit (min.), betreff, erstellt am, eskaliert, gelöst am, ki-entwurf, status)"
    )


def test_describe_says_where_each_column_comes_from() -> None:
    """It describes, for `check`, where every output column of the mapping comes from."""
    settings = SourceSettings.model_validate({"format": "custom", "mapping": str(EXAMPLE_MAPPING)})

    described = describe(settings, "tickets")

    assert list(described) == [
        "ticket_id",
        "created_at",
        "solved_at",
        "status",
        "category",
        "agent",
        "ai_draft_used",
        "escalated",
        "handle_minutes",
    ]
    assert described["ticket_id"] == r"regex '\[(HD-\d+)\]' in column 'Betreff' (first group)"
    assert described["created_at"] == (
        "column 'Erstellt am'; read as %d.%m.%Y %H:%M in Europe/Berlin"
    )
    assert described["category"] == "constant 'billing'"
    assert described["ai_draft_used"] == (
        "column 'KI-Entwurf'; words: ja -> true, nein -> false (others as written)"
    )
    assert described["handle_minutes"] == (
        "column 'Bearbeitungszeit (Min.)' (decimal comma, thousands separator '.' removed "
        "when a number)"
    )


def test_describe_refuses_an_invalid_mapping() -> None:
    """It raises the same refusal for `check` as the run gives the file."""
    settings = SourceSettings.model_validate({"format": "custom", "mapping": {"columns": 5}})

    with pytest.raises(RefusedFile, match=r"^custom mapping \(sources.usage.mapping\) is invalid"):
        describe(settings, "usage")


def test_a_date_format_reads_month_names_of_the_mapping_s_locale(prepare: Prepare) -> None:
    """It reads German month names with `locale: de` and quarantines a word that is no month
    (issue 17, case 8)."""
    mapping = {
        "columns": {"ticket_id": "Ref", "created_at": "Erstellt am", "status": "Status"},
        "constants": {"category": "billing"},
        "dates": {"created_at": {"format": "%d. %b %Y %H:%M", "locale": "de"}},
        "values": {"status": {"offen": "open"}},
    }
    path = ROOT / "tests" / "fixtures" / "vendor" / "i17" / "helpdesk-de-months.csv"
    prepared = prepare("tickets", path, format="custom", mapping=mapping)
    assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (4, 3, 1)
    assert prepared.valid.sort("__line__").select("ticket_id", "created_at").rows() == [
        ("HD-1", utc(2026, 3, 5, 8, 15)),
        ("HD-2", utc(2025, 12, 12, 13)),
        ("HD-3", utc(2026, 5, 3, 6)),
    ]
    assert prepared.quarantined.select("__line__", "reasons").rows() == [
        (5, ["created_at: 31. Foo 2026 08:00 is not a timestamp", "created_at is missing"])
    ]
