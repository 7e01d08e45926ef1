"""Real exports as they come (issue 17): per-format and per-file options, date order from the
file, encodings, localized headers, rows that are not the source's records."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from pipelines.adapters.timesheets_common import TYPICAL_ACTIVITY_MAP
from pipelines.read import LINE
from tests.pipelines.adapters.conftest import VENDOR, Prepare

I17 = VENDOR / "i17"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


def test_a_cp1252_jira_file_and_a_utf8_freshdesk_file_share_one_folder(prepare: Prepare) -> None:
    """It reads each file of tickets/ with its own encoding and its own format's options."""
    options = {
        "formats": {"zendesk_api": {"category_field": 27642}},
        "files": [{"match": "jira-*.csv", "encoding": "cp1252"}],
    }
    jira = prepare("tickets", I17 / "jira-cp1252.csv", **options)
    freshdesk = prepare("tickets", VENDOR / "freshdesk" / "tickets-export.csv", **options)
    assert (jira.refused, jira.adapter, jira.rows_read) == (None, "jira_csv", 5)
    assert jira.valid.sort("ticket_id").select("ticket_id", "agent").rows() == [
        ("SUP-1042", "Jörg Müller"),
        ("SUP-1043", "Zoë Ñúñez"),
        ("SUP-1044", None),
    ]
    # As the UTF-8 original: an unknown status (Declined) and a dotted date are quarantined.
    assert sorted(jira.quarantined.get_column("__line__").to_list()) == [5, 6]
    assert (freshdesk.refused, freshdesk.adapter) == (None, "freshdesk_csv")
    assert freshdesk.rows_read == freshdesk.valid.height + freshdesk.quarantined.height
    assert freshdesk.valid.filter(pl.col("ticket_id") == "1001").get_column("category").item() == (
        "Refund"
    )


def test_case_1_day_first_clockify_dates_load_in_the_order_the_file_proves(
    prepare: Prepare,
) -> None:
    """It reads every date of a day-first export day first, with no date_order set (case 1)."""
    prepared = prepare(
        "timesheets", I17 / "clockify-dayfirst-2026.csv", activity_map=TYPICAL_ACTIVITY_MAP
    )
    assert prepared.choices["date_order"] == {
        "value": "day_first",
        "chosen_by": "proven by the file: line 2 (start date '21/01/2026') has a first field "
        "above 12",
    }
    assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (6, 5, 1)
    rows = prepared.valid.sort(LINE).select(
        LINE, "person", "work_date", "started_at", "minutes", "activity", "ticket_id"
    )
    assert rows.rows() == [
        (2, "lena@example.de", dt.date(2026, 1, 21), utc(2026, 1, 21, 8), 30.0, "review", "1001"),
        (3, "lena@example.de", dt.date(2026, 2, 1), utc(2026, 2, 1, 9), 45.0, "review", "1002"),
        (4, "lena@example.de", dt.date(2026, 2, 5), utc(2026, 2, 5, 13), 20.0, "rework", "1003"),
        (5, "jonas@example.de", dt.date(2026, 2, 12), utc(2026, 2, 12, 7, 15), 15.0, "escalation", "1004"),
        (6, "jonas@example.de", dt.date(2026, 2, 13), utc(2026, 2, 13, 15), 60.0, "review", "1005"),
    ]  # fmt: skip
    assert prepared.quarantined.select(LINE, "reasons").rows() == [(7, ["activity is missing"])]


def test_a_cp1252_file_without_a_configured_encoding_is_detected(prepare: Prepare) -> None:
    """It detects Windows-1252 with charset-normalizer and says so with its confidence."""
    prepared = prepare("tickets", I17 / "jira-cp1252.csv")
    assert prepared.refused is None
    assert prepared.choices["encoding"]["value"] == "cp1252"
    assert prepared.choices["encoding"]["chosen_by"].startswith(
        "detected by charset-normalizer (confidence 0.98)"
    )
    assert sorted(prepared.valid.get_column("agent").drop_nulls().to_list()) == [
        "Jörg Müller",
        "Zoë Ñúñez",
    ]
    utf8 = prepare("tickets", VENDOR / "jira" / "jsm-export.csv")
    assert utf8.choices["encoding"] == {
        "value": "utf-8",
        "chosen_by": "default (the file reads as UTF-8)",
    }


def test_bytes_no_encoding_fits_refuse_the_file(prepare: Prepare, tmp_path: Path) -> None:
    """It refuses a file charset-normalizer cannot place, asking for the encoding."""
    path = tmp_path / "noise.csv"
    path.write_bytes(b"request_id,model\n" + bytes(range(128, 256)) * 40 + b",x\n")
    prepared = prepare("usage", path)
    assert prepared.refused is not None
    assert "declare the file's encoding in sources.<source>.encoding" in prepared.refused


def test_case_4_the_typical_activity_map_classifies_a_support_team_s_entries(
    prepare: Prepare,
) -> None:
    """It classifies review, QA, fix, escalated and maintenance entries by keyword and leaves
    only the meeting unclassified (the example pilot's old map classified 2 of 6)."""
    prepared = prepare(
        "timesheets", I17 / "toggl-support-team.csv", activity_map=TYPICAL_ACTIVITY_MAP
    )
    assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (6, 5, 1)
    assert prepared.valid.sort(LINE).select(LINE, "activity", "ticket_id", "minutes").rows() == [
        (2, "review", "48213", 40.0),
        (3, "review", None, 30.0),
        (4, "rework", "48220", 25.0),
        (5, "escalation", "48231", 10.0),
        (6, "maintenance", None, 60.0),
    ]
    assert prepared.quarantined.select(LINE, "reasons").rows() == [(7, ["activity is missing"])]


def test_case_5_a_spanish_jira_export_is_read_as_jira(prepare: Prepare) -> None:
    """It reads translated headers, repeated Etiquetas/Comentario, `ene`..`dic` months with
    `a. m.`/`p. m.` and Spanish status words; an unknown status is quarantined."""
    prepared = prepare("tickets", I17 / "jira-es.csv", ai_draft_tags=["ai_draft"])
    assert (prepared.refused, prepared.adapter) == (None, "jira_csv")
    assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (5, 4, 1)
    rows = prepared.valid.sort(LINE).select(
        LINE, "ticket_id", "created_at", "solved_at", "status", "category", "agent", "ai_draft_used"
    )
    assert rows.rows() == [
        (2, "SOP-201", utc(2026, 1, 12, 8, 5), utc(2026, 1, 12, 10, 40), "solved", "Obtener ayuda de TI", "Lucía Gómez", True),
        (3, "SOP-202", utc(2026, 2, 3, 15, 15), None, "pending", "Consulta de facturación", "Pedro Ruiz", False),
        (4, "SOP-203", utc(2025, 12, 28, 9), utc(2025, 12, 30, 12), "closed", "Incidente", None, False),
        (5, "SOP-204", utc(2026, 4, 15, 6, 30), None, "open", "Obtener ayuda de TI", "Lucía Gómez", False),
    ]  # fmt: skip
    assert prepared.quarantined.select(LINE, "reasons").rows() == [
        (6, ["status is not one of new, open, pending, hold, solved, closed: 'Rechazada'"])
    ]


def test_case_5_a_german_cp1252_jira_export_with_day_first_dates(prepare: Prepare) -> None:
    """It detects cp1252, reads German headers and `DD/MM/YYYY HH:mm` dates day first (proven
    by `21/01/2026`)."""
    prepared = prepare("tickets", I17 / "jira-de-cp1252.csv", ai_draft_tags=["ai_draft"])
    assert (prepared.refused, prepared.adapter) == (None, "jira_csv")
    assert prepared.choices["encoding"]["value"] == "cp1252"
    assert prepared.choices["date_order"]["value"] == "day_first"
    assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (4, 4, 0)
    rows = prepared.valid.sort(LINE).select(
        LINE, "ticket_id", "created_at", "solved_at", "status", "category", "agent"
    )
    assert rows.rows() == [
        (2, "KD-11", utc(2026, 1, 21, 8, 5), utc(2026, 1, 21, 9, 40), "solved", "Serviceanfrage", "Jürgen Weiß"),
        (3, "KD-12", utc(2026, 2, 2, 13), None, "pending", "Serviceanfrage", "Özlem Yildiz"),
        (4, "KD-13", utc(2026, 2, 5, 7, 15), utc(2026, 2, 6, 15, 30), "closed", "Vorfall", "Jürgen Weiß"),
        (5, "KD-14", utc(2026, 2, 13, 10, 20), None, "open", "Serviceanfrage", None),
    ]  # fmt: skip


def test_case_8_a_file_no_format_matches_names_the_closest_format(
    prepare: Prepare, tmp_path: Path
) -> None:
    """It names the closest format and its missing columns instead of only the repeated
    header, and leaves a canonical file that is merely incomplete as it was."""
    odd = tmp_path / "jira-odd.csv"
    odd.write_text(
        "Clave,ID de la incidencia,Creada,Comentario,Comentario\nX-1,1,12/ene/26 9:05,a,b\n",
        encoding="utf-8",
    )
    assert prepare("tickets", odd).refused == (
        "no known export format; closest: jira_csv (missing: issue key); read as canonical "
        "columns: repeated column name(s) ['comentario']"
    )
    plain = tmp_path / "tickets.csv"
    plain.write_text("ticket_id,created,status\nX-1,2026-01-01,open\n", encoding="utf-8")
    assert prepare("tickets", plain).refused == (
        "missing required column(s): created_at, category, ai_draft_used"
    )


def test_case_5_one_litellm_spendlogs_object_is_one_call(prepare: Prepare) -> None:
    """It reads a file holding one pretty-printed SpendLogs object (GCS/Pub/Sub logger)."""
    prepared = prepare("usage", I17 / "litellm-spendlog-object.json")
    assert (prepared.refused, prepared.adapter) == (None, "litellm_spendlogs")
    assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (1, 1, 0)
    row = prepared.valid.row(0, named=True)
    assert (row["request_id"], row["timestamp"], row["model"]) == (
        "chatcmpl-gcs-1",
        dt.datetime(2026, 10, 5, 9, 14, 7, 120000, tzinfo=dt.UTC),
        "gpt-4o-mini",
    )
    assert (row["input_tokens"], row["output_tokens"], row["cached_input_tokens"]) == (
        1834,
        212,
        1024,
    )
    assert (row["cost_usd"], row["latency_ms"], row["status"]) == (0.00045, 2360.0, "ok")


def test_case_5_a_cloudwatch_logs_insights_dump_of_bedrock_logs(prepare: Prepare) -> None:
    """It reads each result's `@message` as a Bedrock invocation log and quarantines a result
    whose message is no log record."""
    prepared = prepare("usage", I17 / "bedrock-logs-insights.json")
    assert (prepared.refused, prepared.adapter) == (None, "bedrock_invocation_logs")
    assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (4, 3, 1)
    rows = prepared.valid.sort(LINE).select(
        LINE, "request_id", "timestamp", "task_id", "model", "input_tokens", "output_tokens"
    )
    assert rows.rows() == [
        (1, "5d1c0f7e-1a2b-4c3d-8e9f-000000000001", utc(2026, 10, 5, 9, 14, 7), "48213", "anthropic.claude-3-haiku-20240307-v1:0", 1834, 212),
        (2, "5d1c0f7e-1a2b-4c3d-8e9f-000000000002", utc(2026, 10, 5, 10, 2, 11), "48214", "eu.anthropic.claude-3-5-sonnet-20240620-v1:0", 2100, 300),
        (3, "5d1c0f7e-1a2b-4c3d-8e9f-000000000003", utc(2026, 10, 5, 11, 30), None, "amazon.nova-lite-v1:0", 640, 95),
    ]  # fmt: skip
    (reasons,) = prepared.quarantined.get_column("reasons").to_list()
    assert reasons[0] == "@message is not a JSON log record"


def test_case_5_a_clockify_export_without_duration_columns(prepare: Prepare) -> None:
    """It detects a Clockify export of start and end only and takes end - start as the
    duration; an entry without an end is quarantined."""
    prepared = prepare(
        "timesheets",
        I17 / "clockify-no-duration.csv",
        timezone="America/New_York",
        activity_map=TYPICAL_ACTIVITY_MAP,
    )
    assert (prepared.refused, prepared.adapter) == (None, "clockify_detailed_csv")
    assert prepared.choices["date_order"]["value"] == "month_first"
    assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (4, 3, 1)
    rows = prepared.valid.sort(LINE).select(LINE, "work_date", "started_at", "minutes", "activity")
    assert rows.rows() == [
        (2, dt.date(2026, 10, 5), utc(2026, 10, 5, 13), 45.0, "review"),
        (3, dt.date(2026, 10, 5), utc(2026, 10, 6, 3, 50), 30.0, "rework"),
        (4, dt.date(2026, 10, 13), utc(2026, 10, 13, 18), 30.0, "review"),
    ]
    assert prepared.quarantined.select(LINE, "reasons").rows() == [(5, ["minutes is missing"])]
