"""Real exports as they come (issue 17): per-format and per-file options, date order from the
file, encodings, localized headers, rows that are not the source's records."""

from __future__ import annotations

import polars as pl

from tests.pipelines.adapters.conftest import VENDOR, Prepare

I17 = VENDOR / "i17"


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
