"""Email deliveries (a week's email is sent once) and the fixed input files of each week.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "email_delivery",
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("week", AutoString(), nullable=False),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("error", AutoString(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("message_id", AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("pilot", "week"),
    )
    op.create_table(
        "week_input_file",
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("week", AutoString(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("pilot", "week", "file_id"),
    )


def downgrade() -> None:
    op.drop_table("week_input_file")
    op.drop_table("email_delivery")
