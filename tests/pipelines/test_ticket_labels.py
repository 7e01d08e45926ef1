"""Tickets completed from labels exported apart from the ticket row (tags, field changes)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from models.operating_model import SourceSettings
from pipelines.facts import TICKET_SCHEMA
from pipelines.ticket_labels import LABEL_SCHEMA, complete_tickets

UTC = dt.UTC
T0 = dt.datetime(2026, 9, 29, 9, tzinfo=UTC)


def _tickets(*ids: str, ai: bool | None = None, solved: dt.datetime | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "ticket_id": i,
                "created_at": T0,
                "solved_at": solved,
                "status": "solved",
                "category": "billing",
                "agent": None,
                "ai_draft_used": ai,
                "draft_outcome": None,
                "reopened": None,
                "escalated": None,
                "handle_minutes": None,
            }
            for i in ids
        ],
        schema=TICKET_SCHEMA,
    )


def _labels(*rows: tuple[str, str, str, dt.datetime | None]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LABEL_SCHEMA, orient="row")


def test_solved_at_is_the_last_time_the_status_became_solved() -> None:
    """It takes the last solved/closed status change as the solve time of a ticket without one."""
    labels = _labels(
        ("1", "status", "open", T0),
        ("1", "status", "solved", T0 + dt.timedelta(hours=1)),
        ("1", "status", "open", T0 + dt.timedelta(hours=2)),
        ("1", "status", "Solved", T0 + dt.timedelta(hours=3)),
        ("2", "status", "pending", T0),
    )
    out = complete_tickets(_tickets("1", "2"), labels, SourceSettings())
    assert out.get_column("solved_at").to_list() == [T0 + dt.timedelta(hours=3), None]


def test_ai_draft_flag_stays_unknown_without_configured_tags() -> None:
    """It never turns a missing AI-draft flag into false when no tag is configured."""
    labels = _labels(("1", "tag", "vip", None))
    out = complete_tickets(_tickets("1"), labels, SourceSettings())
    assert out.get_column("ai_draft_used").to_list() == [None]


def test_configured_tags_decide_the_ai_draft_flag_and_outcome() -> None:
    """It sets the flag true for a configured tag, false for tagged tickets without it, and
    leaves tickets without any tag unknown; outcome tags give the draft outcome."""
    settings = SourceSettings.model_validate(
        {"ai_draft_tags": ["AI_Draft"], "draft_outcome_tags": {"ai_edited": "edited"}}
    )
    labels = _labels(
        ("1", "tag", "ai_draft", None),
        ("1", "tag", "ai_edited", None),
        ("2", "tag", "vip", None),
    )
    out = complete_tickets(_tickets("1", "2", "3"), labels, settings)
    assert out.get_column("ai_draft_used").to_list() == [True, False, None]
    assert out.get_column("draft_outcome").to_list() == ["edited", None, None]


def test_a_ticket_row_flag_wins_over_labels() -> None:
    """It keeps the ticket row's own AI-draft flag and solve time when present."""
    settings = SourceSettings.model_validate({"ai_draft_tags": ["ai_draft"]})
    labels = _labels(("1", "tag", "ai_draft", None), ("1", "status", "solved", T0))
    solved = T0 + dt.timedelta(days=1)
    out = complete_tickets(_tickets("1", ai=False, solved=solved), labels, settings)
    assert out.row(0, named=True)["ai_draft_used"] is False
    assert out.row(0, named=True)["solved_at"] == solved


def test_the_latest_value_of_a_configured_field_sets_the_flag() -> None:
    """It reads the configured AI-draft field's latest value as the flag."""
    settings = SourceSettings.model_validate({"ai_draft_field": "custom_ai"})
    labels = _labels(
        ("1", "custom_ai", "no", T0),
        ("1", "custom_ai", "yes", T0 + dt.timedelta(hours=1)),
        ("2", "custom_ai", "maybe", T0),
    )
    out = complete_tickets(_tickets("1", "2"), labels, settings)
    assert out.get_column("ai_draft_used").to_list() == [True, None]


def test_real_zendesk_tables_give_a_solve_time_from_the_field_history(
    tmp_path, sqlite_url: str, example_model
) -> None:
    """It counts a real Zendesk ticket without a solve time as solved in the week its status
    history last turned solved or closed, and keeps its AI-draft flag unknown."""
    import os
    import shutil
    from pathlib import Path

    from flows.ingest import ingest_inbox
    from models.operating_model import OperatingModel
    from models.results import Week
    from pipelines.facts import read_week_inputs
    from pipelines.warehouse.engine import transaction

    real = Path(__file__).resolve().parents[1] / "fixtures" / "vendor" / "real"
    inbox = tmp_path / "inbox" / "tickets"
    inbox.mkdir(parents=True)
    for name in (
        "zendesk__fivetran-dbt_zendesk__ticket_data.csv",
        "zendesk__fivetran-dbt_zendesk__ticket_field_history_data.csv",
        "zendesk__fivetran-dbt_zendesk__ticket_tag_data.csv",
    ):
        shutil.copyfile(real / name, inbox / name)
        os.utime(inbox / name, (1_700_000_000, 1_700_000_000))
    operating_model = OperatingModel.model_validate(
        example_model.model_dump(mode="json")
        | {"sources": {"tickets": {"category_field": "via_channel"}}}
    )
    now = dt.datetime(2026, 11, 1, tzinfo=UTC)
    w46 = Week.parse("2020-W46", operating_model.timezone)
    files = ingest_inbox(sqlite_url, operating_model, tmp_path / "inbox", w46, now)
    assert sorted(
        (f.adapter, f.rows_loaded, f.rows_quarantined, f.rows_duplicate, f.rows_skipped)
        for f in files
    ) == [
        ("zendesk_fivetran_field_history", 35, 0, 3, 0),
        ("zendesk_fivetran_tags", 7, 0, 3, 0),
        ("zendesk_fivetran_tickets", 8, 0, 0, 2),  # two deleted tickets set aside
    ]
    with transaction(sqlite_url) as conn:
        week = read_week_inputs(conn, operating_model, w46).tickets
        before = read_week_inputs(conn, operating_model, w46.shift(-1)).tickets
    assert week.get_column("ticket_id").to_list() == ["11071"]
    row = week.row(0, named=True)
    assert row["solved_at"] == dt.datetime(2020, 11, 15, 11, 1, 27, tzinfo=UTC)
    assert row["ai_draft_used"] is None
    assert "11071" not in before.get_column("ticket_id").to_list()
