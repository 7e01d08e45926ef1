"""Vendor-only tables (provider bills, ticket labels); unknown AI-draft flags; week marks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime


def _source_row() -> list[sa.Column]:
    return [
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("exported_at", UTCDateTime(), nullable=False),
        sa.Column("row_hash", AutoString(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "provider_cost",
        *_source_row(),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("bucket_id", AutoString(), nullable=False),
        sa.Column("bucket_start", UTCDateTime(), nullable=False),
        sa.Column("bucket_end", UTCDateTime(), nullable=True),
        sa.Column("provider", AutoString(), nullable=False),
        sa.Column("kind", AutoString(), nullable=False),
        sa.Column("model", AutoString(), nullable=True),
        sa.Column("line_item", AutoString(), nullable=True),
        sa.Column("project", AutoString(), nullable=True),
        sa.Column("api_key", AutoString(), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("cached_input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("currency", AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("pilot", "bucket_id"),
    )
    op.create_index("ix_provider_cost_file_id", "provider_cost", ["file_id"])
    op.create_index("ix_provider_cost_pilot_start", "provider_cost", ["pilot", "bucket_start"])
    op.create_table(
        "ticket_label",
        *_source_row(),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("label_id", AutoString(), nullable=False),
        sa.Column("ticket_id", AutoString(), nullable=False),
        sa.Column("name", AutoString(), nullable=False),
        sa.Column("value", AutoString(), nullable=True),
        sa.Column("labelled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pilot", "label_id"),
    )
    op.create_index("ix_ticket_label_file_id", "ticket_label", ["file_id"])
    op.create_index("ix_ticket_label_ticket", "ticket_label", ["pilot", "ticket_id"])
    with op.batch_alter_table("ticket") as batch:
        batch.alter_column("ai_draft_used", existing_type=sa.Boolean(), nullable=True)
    with op.batch_alter_table("task_fact") as batch:
        batch.alter_column("ai_task", existing_type=sa.Boolean(), nullable=True)
    with op.batch_alter_table("weekly_metric") as batch:
        batch.add_column(sa.Column("inputs_mark", AutoString(), nullable=True))
    with op.batch_alter_table("ingested_file") as batch:
        batch.add_column(sa.Column("adapter", AutoString(), nullable=True))
        batch.add_column(sa.Column("target", AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("weekly_metric") as batch:
        batch.drop_column("inputs_mark")
    with op.batch_alter_table("ingested_file") as batch:
        batch.drop_column("target")
        batch.drop_column("adapter")
    with op.batch_alter_table("task_fact") as batch:
        batch.alter_column("ai_task", existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("ticket") as batch:
        batch.alter_column("ai_draft_used", existing_type=sa.Boolean(), nullable=False)
    op.drop_table("ticket_label")
    op.drop_table("provider_cost")
