"""Tickets keep when the AI handed them to a person and that person's first action (issue 22:
the `handoff.response_time` rule), where the help desk export has the times.

Revision ID: 0009_i22
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009_i22"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("handed_off_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("first_human_action_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("first_human_action_at")
        batch.drop_column("handed_off_at")
