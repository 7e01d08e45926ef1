"""Help-desk ticket adapters: Zendesk (API page, Fivetran tables), Freshdesk, Jira, Intercom."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from pipelines.prepare import PreparedFile
from tests.pipelines.adapters.conftest import VENDOR, sample

Prepare = Callable[..., PreparedFile]

# Composed fixtures (ORIGIN.md in each folder); the real samples come from sample().
FRESHDESK = VENDOR / "freshdesk" / "tickets-export.csv"
JIRA = VENDOR / "jira" / "jsm-export.csv"
ZENDESK_PAGE = VENDOR / "zendesk" / "incremental-tickets-page.json"
INTERCOM_PAGE = VENDOR / "intercom" / "conversations-page.json"

ZENDESK_TICKETS = "zendesk__fivetran-dbt_zendesk__ticket_data.csv"
ZENDESK_TAGS = "zendesk__fivetran-dbt_zendesk__ticket_tag_data.csv"
ZENDESK_HISTORY = "zendesk__fivetran-dbt_zendesk__ticket_field_history_data.csv"
ZENDESK_COMMENTS = "zendesk__fivetran-dbt_zendesk__ticket_comment_data.csv"
INTERCOM_HISTORY = "intercom__fivetran-dbt_intercom__conversation_history_data.csv"

BAD_STATUS = "status is not one of new, open, pending, hold, solved, closed"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


def reasons(prepared: PreparedFile) -> dict[int, list[str]]:
    return {
        row["__line__"]: row["reasons"]
        for row in prepared.quarantined.select("__line__", "reasons").to_dicts()
    }


def counts(prepared: PreparedFile) -> tuple[int, int, int, int]:
    """(rows_read, valid, quarantined, duplicates)."""
    return (
        prepared.rows_read,
        prepared.valid.height,
        prepared.quarantined.height,
        prepared.rows_duplicate_in_file,
    )


# --- Zendesk via Fivetran (real samples) -------------------------------------------------------


def test_zendesk_fivetran_tickets_skip_deleted_and_quarantine_untyped_tickets(
    prepare: Prepare,
) -> None:
    """It reads the real Fivetran ticket table, setting deleted tickets aside as skipped and
    quarantining tickets without a type (the default category)."""
    prepared = prepare("tickets", sample(ZENDESK_TICKETS))

    assert prepared.refused is None
    assert prepared.adapter == "zendesk_fivetran_tickets"
    assert prepared.target == "tickets"
    assert counts(prepared) == (10, 0, 8, 0)
    assert prepared.skipped == {"deleted ticket": 2}  # lines 2 (1595) and 7 (11013)
    assert reasons(prepared) == {n: ["category is missing"] for n in (3, 4, 5, 6, 8, 9, 10, 11)}
    raw = json.loads(prepared.quarantined.sort("__line__")["raw"][0])
    assert raw["status"] == "solved"
    assert "description" not in raw and "subject" not in raw  # free text is never kept


def test_zendesk_fivetran_tickets_with_category_field(prepare: Prepare) -> None:
    """It takes the category from the configured column and reads naive times as UTC, leaving
    unknown draft use null."""
    prepared = prepare("tickets", sample(ZENDESK_TICKETS), category_field="via_channel")

    assert counts(prepared) == (10, 8, 0, 0)
    assert prepared.skipped == {"deleted ticket": 2}
    valid = prepared.valid.sort("__line__")
    assert valid["ticket_id"].to_list() == [
        "16988", "14173", "11071", "1966", "1404", "4721", "6171", "6605",
    ]  # fmt: skip
    assert valid["status"].to_list() == ["solved"] + ["closed"] * 7
    assert valid["category"].to_list() == ["email"] * 8
    assert valid["agent"][0] == "418284131934"
    assert valid["created_at"][0] == utc(2020, 12, 22, 0, 19, 23)  # naive UTC, not Berlin
    assert valid["ai_draft_used"].null_count() == 8
    assert valid["solved_at"].null_count() == 8  # solve times come from the field history


def test_zendesk_fivetran_tickets_refuse_an_unknown_category_column(prepare: Prepare) -> None:
    """It refuses the file when the configured category column does not exist."""
    prepared = prepare("tickets", sample(ZENDESK_TICKETS), category_field="Ticket Category")

    assert prepared.refused == "option category_field: the file has no column 'Ticket Category'"


def test_zendesk_fivetran_tags_become_tag_labels(prepare: Prepare) -> None:
    """It turns the real tag table into tag labels, counting the repeated lines as duplicates."""
    prepared = prepare("tickets", sample(ZENDESK_TAGS))

    assert prepared.refused is None
    assert prepared.adapter == "zendesk_fivetran_tags"
    assert prepared.target == "ticket_labels"
    assert counts(prepared) == (10, 7, 0, 3)  # lines 3, 4 and 7 repeat lines 2 and 6
    valid = prepared.valid.sort("__line__")
    assert valid.select("ticket_id", "value").rows() == [
        ("123", "customer"),
        ("123", "prospect"),
        ("455", "customer"),
        ("455", "prospect"),
        ("789", "connector"),
        ("1011", "prospect"),
        ("1012", "customer"),
    ]
    assert valid["name"].to_list() == ["tag"] * 7
    assert valid["labelled_at"].null_count() == 7
    assert valid["label_id"][0] == "zendesk|123|tag|customer"


def test_zendesk_fivetran_tags_supersede_an_older_sync(prepare: Prepare, tmp_path: Path) -> None:
    """It keeps the latest sync of a tag listed twice with different sync times."""
    path = tmp_path / "ticket_tag.csv"
    path.write_text(
        "tag,ticket_id,_fivetran_synced\n"
        "ai_draft_used,7,2026-10-05 04:00:00.000\n"
        "ai_draft_used,7,2026-10-06 04:00:00.000\n"
        "refund,7,2026-10-05 04:00:00.000\n"
    )
    prepared = prepare("tickets", path)

    assert counts(prepared) == (3, 2, 0, 1)
    assert prepared.valid.sort("__line__")["__line__"].to_list() == [3, 4]


def test_zendesk_fivetran_field_history_becomes_field_labels(prepare: Prepare) -> None:
    """It turns the real field history into one label per value set, with its UTC time."""
    prepared = prepare("tickets", sample(ZENDESK_HISTORY))

    assert prepared.refused is None
    assert prepared.adapter == "zendesk_fivetran_field_history"
    assert prepared.target == "ticket_labels"
    assert counts(prepared) == (38, 35, 0, 3)  # ticket 102's solve is listed four times
    valid = prepared.valid.sort("__line__")
    solved = valid.filter((pl.col("name") == "status") & (pl.col("value") == "solved"))
    assert solved.height == 15
    ticket = solved.filter(pl.col("ticket_id") == "11071")
    assert ticket["labelled_at"].to_list() == [utc(2020, 11, 14, 11, 1, 27)]
    assert sorted(valid["name"].unique().to_list()) == [
        "assignee_id", "priority", "requester_id", "status",
    ]  # fmt: skip
    # Vendor values stay as recorded (Fivetran writes on-hold for hold).
    assert "on-hold" in valid.filter(pl.col("ticket_id") == "11071")["value"].to_list()


def test_zendesk_fivetran_comments_keep_ids_not_bodies(prepare: Prepare) -> None:
    """It turns the real comment table into public comment labels holding the comment id only."""
    prepared = prepare("tickets", sample(ZENDESK_COMMENTS))

    assert prepared.refused is None
    assert prepared.adapter == "zendesk_fivetran_comments"
    assert prepared.target == "ticket_labels"
    assert counts(prepared) == (20, 20, 0, 0)
    valid = prepared.valid.sort("__line__")
    assert valid["name"].to_list() == ["public_comment"] * 20
    assert valid["value"][0] == "1030820361033"
    assert valid["ticket_id"][0] == "1077"
    assert valid["labelled_at"][0] == utc(2020, 2, 11, 7, 49, 14)
    assert not any(v.startswith("body") for v in valid["value"].to_list())


# --- Zendesk API page (composed) ---------------------------------------------------------------


def test_zendesk_api_page_reads_metrics_and_custom_fields(prepare: Prepare) -> None:
    """It reads a ticket page with side-loaded metric sets, takes category and draft use from
    custom fields, keeps the newer version of a ticket listed twice and skips a deleted
    ticket."""
    prepared = prepare("tickets", ZENDESK_PAGE, category_field=27642, ai_draft_field=27643)

    assert prepared.refused is None
    assert prepared.adapter == "zendesk_api"
    assert counts(prepared) == (4, 2, 0, 1)  # record 2 is replaced by record 4
    assert prepared.skipped == {"deleted ticket": 1}  # record 3
    valid = prepared.valid.sort("__line__")
    assert valid.select("__line__", "ticket_id", "status", "category", "agent").rows() == [
        (1, "48213", "solved", "billing", "7001"),
        (4, "48214", "solved", "shipping", "7002"),
    ]
    assert valid["ai_draft_used"].to_list() == [True, False]
    assert valid["created_at"][0] == utc(2026, 10, 5, 9, 12)
    assert valid["solved_at"].to_list() == [utc(2026, 10, 5, 16, 40), utc(2026, 10, 7, 12)]
    assert valid["reopened"].to_list() == [1, 0]
    assert valid["handle_minutes"].null_count() == 2  # resolution time is no handle time


def test_zendesk_api_page_derives_draft_use_from_tags(prepare: Prepare) -> None:
    """It sets draft use and outcome from configured tags and the category from the ticket
    type by default."""
    prepared = prepare(
        "tickets",
        ZENDESK_PAGE,
        ai_draft_tags=["ai_draft_used"],
        draft_outcome_tags={"ai_draft_edited": "edited", "ai_draft_sent": "sent_as_is"},
    )

    assert counts(prepared) == (4, 2, 0, 1)
    valid = prepared.valid.sort("__line__")
    assert valid["category"].to_list() == ["incident", "question"]
    assert valid["ai_draft_used"].to_list() == [True, False]
    assert valid["draft_outcome"].to_list() == ["edited", None]


# --- Freshdesk (composed) ----------------------------------------------------------------------


def test_freshdesk_export_maps_labels_times_and_tags(prepare: Prepare) -> None:
    """It maps the Freshdesk export: status labels, local times, HH:MM:SS tracked time and
    comma-separated tags."""
    prepared = prepare(
        "tickets",
        FRESHDESK,
        ai_draft_tags=["ai_draft_used"],
        draft_outcome_tags={"ai_draft_edited": "edited"},
    )

    assert prepared.refused is None
    assert prepared.adapter == "freshdesk_csv"
    assert counts(prepared) == (6, 3, 3, 0)
    assert reasons(prepared) == {
        5: ["category is missing"],  # 1004: no Type
        6: [f"{BAD_STATUS}: 'Spam'"],  # 1005
        7: ["handle_minutes: about 5 min is not a number"],  # 1006
    }
    valid = prepared.valid.sort("__line__")
    assert valid.select("ticket_id", "status", "category", "agent").rows() == [
        ("1001", "solved", "Refund", "Sam Agent"),
        ("1002", "hold", "Shipping", "Ana Lee"),
        ("1003", "closed", "Account", "Sam Agent"),
    ]
    # 2026-10-05 09:12 in Europe/Berlin (CEST) is 07:12 UTC.
    assert valid["created_at"][0] == utc(2026, 10, 5, 7, 12)
    assert valid["solved_at"].to_list() == [utc(2026, 10, 5, 9, 40), None, utc(2026, 10, 6, 13, 10)]
    assert valid["ai_draft_used"].to_list() == [True, False, True]
    assert valid["draft_outcome"].to_list() == [None, None, "edited"]
    assert valid["handle_minutes"].to_list() == [18.5, None, 62.05]
    assert valid["contact_count"].to_list() == [1, 2, 3]
    raw = json.loads(prepared.quarantined.sort("__line__")["raw"][0])
    assert "description" not in raw and "subject" not in raw


def test_freshdesk_export_without_draft_options_leaves_draft_use_unknown(
    prepare: Prepare,
) -> None:
    """It leaves draft use unknown when no tag or field is configured."""
    prepared = prepare("tickets", FRESHDESK)

    assert counts(prepared) == (6, 3, 3, 0)
    assert prepared.valid["ai_draft_used"].null_count() == 3


def test_freshdesk_status_map_adds_vendor_words(prepare: Prepare) -> None:
    """It maps an extra status word through option status_map."""
    prepared = prepare("tickets", FRESHDESK, status_map={"Spam": "closed"})

    assert counts(prepared) == (6, 4, 2, 0)
    assert sorted(reasons(prepared)) == [5, 7]


# --- Jira Service Management (composed) ---------------------------------------------------------


def test_jira_export_combines_repeated_labels_and_reads_jira_dates(prepare: Prepare) -> None:
    """It reads dd/MMM/yy h:mm a dates, combines every Labels column and ignores SLA columns,
    negative ones included."""
    prepared = prepare("tickets", JIRA, ai_draft_tags=["ai_draft_used"])

    assert prepared.refused is None
    assert prepared.adapter == "jira_csv"
    assert counts(prepared) == (5, 3, 2, 0)
    assert reasons(prepared) == {
        5: [f"{BAD_STATUS}: 'Declined'"],  # SUP-1045
        6: ["created_at: 15.10.2026 08:00 is not a timestamp", "created_at is missing"],
    }
    valid = prepared.valid.sort("__line__")
    assert valid.select("ticket_id", "status", "category", "agent").rows() == [
        ("SUP-1042", "solved", "Get IT help", "Sam Agent"),
        ("SUP-1043", "pending", "Billing question", "Ana Lee"),  # SLA -0:15 (breached)
        ("SUP-1044", "solved", "Incident", None),  # no request type: the issue type
    ]
    # 12/Oct/26 3:05 PM in Europe/Berlin (CEST) is 13:05 UTC.
    assert valid["created_at"][2] == utc(2026, 10, 12, 13, 5)
    assert valid["solved_at"].to_list() == [utc(2026, 10, 2, 9, 3), None, utc(2026, 10, 13, 8)]
    # SUP-1044 has its tag in the third Labels column.
    assert valid["ai_draft_used"].to_list() == [True, False, True]


def test_jira_date_format_option_reads_other_locales(prepare: Prepare) -> None:
    """It reads dates in the format given by option date_format (Java style)."""
    prepared = prepare("tickets", JIRA, date_format="dd.MM.yyyy HH:mm")

    assert counts(prepared) == (5, 4, 1, 0)
    assert reasons(prepared) == {5: [f"{BAD_STATUS}: 'Declined'"]}
    valid = prepared.valid.sort("__line__")
    assert valid["created_at"][3] == utc(2026, 10, 15, 6)
    assert valid["created_at"][0] == utc(2026, 10, 2, 7, 12)  # the default still applies


# --- Intercom ------------------------------------------------------------------------------------


def test_intercom_fivetran_history_keeps_latest_version_without_category(
    prepare: Prepare,
) -> None:
    """It keeps the latest version of each real conversation and quarantines it when no
    category is configured."""
    prepared = prepare("tickets", sample(INTERCOM_HISTORY))

    assert prepared.refused is None
    assert prepared.adapter == "intercom_fivetran_history"
    assert counts(prepared) == (9, 0, 2, 7)
    assert reasons(prepared) == {4: ["category is missing"], 7: ["category is missing"]}


def test_intercom_fivetran_history_with_category_and_solve_time(prepare: Prepare) -> None:
    """It maps the latest versions with the configured category column and, when asked, takes
    the solve time from the version that closed the conversation."""
    prepared = prepare(
        "tickets", sample(INTERCOM_HISTORY), category_field="priority", solved_at_from_history=True
    )

    assert counts(prepared) == (9, 2, 0, 7)
    valid = prepared.valid.sort("__line__")
    assert valid.select("__line__", "ticket_id", "status", "category", "agent").rows() == [
        (4, "156643300001311", "closed", "not_priority", "4077639"),
        (7, "156643300001372", "closed", "not_priority", "4077639"),
    ]
    assert valid["created_at"].to_list() == [
        utc(2020, 10, 28, 23, 59, 37),
        utc(2020, 11, 4, 3, 12, 3),
    ]
    assert valid["solved_at"].to_list() == [
        utc(2020, 11, 2, 14, 17, 59),
        utc(2020, 11, 6, 13, 55, 1),
    ]
    assert valid["ai_draft_used"].null_count() == 2


def test_intercom_fivetran_history_leaves_solve_time_unknown_by_default(
    prepare: Prepare,
) -> None:
    """It leaves the solve time null unless solved_at_from_history is set."""
    prepared = prepare("tickets", sample(INTERCOM_HISTORY), category_field="priority")

    assert counts(prepared) == (9, 2, 0, 7)
    assert prepared.valid["solved_at"].null_count() == 2


def test_intercom_api_page_maps_conversations(prepare: Prepare) -> None:
    """It maps API conversations: unix times, snoozed as pending, a custom attribute as category
    and tags as draft use."""
    prepared = prepare(
        "tickets", INTERCOM_PAGE, category_field="Category", ai_draft_tags="ai_draft_used"
    )

    assert prepared.refused is None
    assert prepared.adapter == "intercom_api"
    assert counts(prepared) == (3, 2, 1, 0)
    assert reasons(prepared) == {3: ["category is missing"]}
    valid = prepared.valid.sort("__line__")
    assert valid.select("ticket_id", "status", "category", "agent").rows() == [
        ("1911149811", "closed", "Billing", "814860"),
        ("1911149812", "pending", "Shipping", None),
    ]
    assert valid["created_at"].to_list() == [utc(2026, 10, 5, 9, 30), utc(2026, 10, 5, 10, 30)]
    assert valid["solved_at"].to_list() == [utc(2026, 10, 5, 14), None]
    assert valid["ai_draft_used"].to_list() == [True, False]
    assert valid["reopened"].to_list() == [1, 0]
    assert valid["handle_minutes"].null_count() == 2


def test_intercom_api_page_reads_draft_use_from_a_custom_attribute(prepare: Prepare) -> None:
    """It reads draft use from the custom attribute named by ai_draft_field."""
    prepared = prepare(
        "tickets", INTERCOM_PAGE, category_field="Category", ai_draft_field="Copilot used"
    )

    assert counts(prepared) == (3, 2, 1, 0)
    assert prepared.valid.sort("__line__")["ai_draft_used"].to_list() == [True, False]


# --- Zendesk API page: ticket id, agent and handle time options ---------------------------------


def _zendesk_page(path: Path, users: bool) -> Path:
    """A Tickets API page (export-formats.md B1) with a Time Tracking "total time spent (sec)"
    custom field and, optionally, the assignees side-loaded with `include=users`."""

    def ticket(number: int, external: str | None, assignee: int | None, seconds: str | None):
        return {
            "id": number,
            "external_id": external,
            "created_at": "2026-10-05T09:00:00Z",
            "updated_at": "2026-10-05T10:00:00Z",
            "type": "question",
            "status": "open",
            "assignee_id": assignee,
            "tags": [],
            "custom_fields": [{"id": 27650, "value": seconds}],
        }

    page: dict = {
        "tickets": [
            ticket(501, "T-1", 7001, "222"),
            ticket(502, "T-2", 7002, "abc"),
            ticket(503, None, None, None),
        ]
    }
    if users:
        page["users"] = [{"id": 7001, "name": "Mia Hoffmann", "email": "mia@example.com"}]
    path.write_text(json.dumps(page), encoding="utf-8")
    return path


def test_zendesk_api_page_ticket_id_agent_and_handle_time_options(
    prepare: Prepare, tmp_path: Path
) -> None:
    """It takes the ticket id from external_id, the agent's name from the side-loaded users and
    the handle time from a seconds field when configured, and keeps id, assignee_id and an
    unknown handle time otherwise."""
    path = _zendesk_page(tmp_path / "tickets-page.json", users=True)

    default = prepare("tickets", path)
    assert counts(default) == (3, 3, 0, 0)
    assert default.valid.sort("__line__").select("ticket_id", "agent", "handle_minutes").rows() == [
        ("501", "7001", None),
        ("502", "7002", None),
        ("503", None, None),
    ]

    configured = prepare(
        "tickets",
        path,
        ticket_id_field="external_id",
        agent_field="assignee_name",
        handle_seconds_field=27650,
    )
    assert counts(configured) == (3, 1, 2, 0)
    assert reasons(configured) == {
        2: ["handle_minutes: abc is not a number"],
        3: ["ticket_id is missing"],
    }
    assert configured.valid.select("ticket_id", "agent", "handle_minutes").rows() == [
        ("T-1", "Mia Hoffmann", 3.7)
    ]


def test_zendesk_api_page_without_side_loaded_users_refuses_agent_names(
    prepare: Prepare, tmp_path: Path
) -> None:
    """It refuses a page without side-loaded users when the agent is to be the assignee's name."""
    path = _zendesk_page(tmp_path / "tickets-page.json", users=False)
    prepared = prepare("tickets", path, agent_field="assignee_name")
    assert prepared.refused == "option agent_field: no ticket has the field 'assignee_name'"
