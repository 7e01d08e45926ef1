"""Tickets completed from their labels: what a help desk exports apart from the ticket row.

Some exports (the Zendesk tables) carry tags and field changes in their own files. A ticket row
that lacks a solve time, an AI-draft flag or a draft outcome gets it from those labels, and only
as the operating model says (`sources.tickets`): `ai_draft_tags` (tags meaning an AI draft was
used), `ai_draft_field` (a field whose latest value says so), `draft_outcome_tags` (tag ->
outcome). Without such a setting the flag stays unknown; it is never guessed false.
"""

from __future__ import annotations

import polars as pl

from models.operating_model import SourceSettings
from models.sources import DRAFT_OUTCOMES
from pipelines.normalize import boolean_text

SOLVED_WORDS = ("solved", "closed")
LABEL_SCHEMA = {
    "ticket_id": pl.String,
    "name": pl.String,
    "value": pl.String,
    "labelled_at": pl.Datetime("us", "UTC"),
}


def _options(settings: SourceSettings) -> tuple[list[str], str | None, dict[str, str]]:
    extra = settings.model_extra or {}
    tags = [str(t).lower() for t in extra.get("ai_draft_tags") or []]
    field = extra.get("ai_draft_field")
    outcomes = {
        str(k).lower(): str(v)
        for k, v in (extra.get("draft_outcome_tags") or {}).items()
        if str(v) in DRAFT_OUTCOMES
    }
    return tags, (str(field).lower() if field else None), outcomes


def complete_tickets(
    tickets: pl.DataFrame, labels: pl.DataFrame, settings: SourceSettings
) -> pl.DataFrame:
    """Tickets with solved_at, ai_draft_used and draft_outcome filled from labels where null.

    `solved_at` becomes the last time the status field turned solved or closed.
    """
    if labels.height == 0 or tickets.height == 0:
        return tickets
    tags, field, outcomes = _options(settings)
    lowered = labels.with_columns(
        pl.col("name").str.to_lowercase(), pl.col("value").str.to_lowercase().alias("low")
    )
    solved = (
        lowered.filter((pl.col("name") == "status") & pl.col("low").is_in(SOLVED_WORDS))
        .group_by("ticket_id")
        .agg(pl.col("labelled_at").max().alias("__solved"))
    )
    tag_rows = lowered.filter(pl.col("name") == "tag")
    per_ticket = tag_rows.group_by("ticket_id").agg(
        pl.col("low").is_in(tags).any().alias("__tag_ai")
        if tags
        else pl.lit(None).alias("__tag_ai"),
        pl.col("low")
        .filter(pl.col("low").is_in(list(outcomes)))
        .sort()
        .first()
        .replace_strict(outcomes, default=None, return_dtype=pl.String)
        .alias("__tag_outcome")
        if outcomes
        else pl.lit(None, dtype=pl.String).alias("__tag_outcome"),
    )
    field_ai = (
        lowered.filter(pl.col("name") == field)
        .sort("labelled_at", nulls_last=False)
        .group_by("ticket_id")
        .agg(pl.col("low").last().alias("__field_value"))
        .with_columns(boolean_text(pl.col("__field_value")).alias("__field_ai"))
        .select("ticket_id", "__field_ai")
        if field
        else pl.DataFrame(schema={"ticket_id": pl.String, "__field_ai": pl.Boolean})
    )
    return (
        tickets.join(solved, on="ticket_id", how="left")
        .join(per_ticket, on="ticket_id", how="left")
        .join(field_ai, on="ticket_id", how="left")
        .with_columns(
            pl.coalesce("solved_at", "__solved").alias("solved_at"),
            pl.coalesce(
                "ai_draft_used", pl.col("__field_ai"), pl.col("__tag_ai").cast(pl.Boolean)
            ).alias("ai_draft_used"),
            pl.coalesce("draft_outcome", "__tag_outcome").alias("draft_outcome"),
        )
        .drop("__solved", "__tag_ai", "__tag_outcome", "__field_ai")
    )
