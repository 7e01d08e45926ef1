"""Ingested files count the rows they set aside as not records of their source (`rows_skipped`:
Langfuse spans and events, deleted tickets), so rows_read = rows_loaded + rows_quarantined +
rows_duplicate + rows_skipped holds for every file; and each file's loaded rows per week
(`file_week.rows`), which a week's report counts as the source's rows in the week.

Revision ID: 0008
Revises: 0007_i16u
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007_i16u"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingested_file") as batch:
        batch.add_column(
            sa.Column("rows_skipped", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("file_week") as batch:
        batch.add_column(sa.Column("rows", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("file_week") as batch:
        batch.drop_column("rows")
    with op.batch_alter_table("ingested_file") as batch:
        batch.drop_column("rows_skipped")
