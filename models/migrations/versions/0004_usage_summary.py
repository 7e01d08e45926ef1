"""Per-file usage summary (calls and cost per 15-minute bucket, task, model, prompt, status and
price source), filled from the usage calls already held.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime


# The summary of the rows already held, frozen here as it was at this revision (a migration
# must not depend on code that may change later).
_BUCKET = {
    "sqlite": 'substr("timestamp", 1, 14) || printf(\'%02d\', CAST(substr("timestamp", 15, 2) '
    "AS INTEGER) / 15 * 15) || ':00.000000'",
    "postgresql": 'date_trunc(\'hour\', "timestamp") + floor(extract(minute FROM "timestamp") '
    "/ 15) * interval '15 minutes'",
}
_GROUPS = "task_id, model, prompt_version, status, price_source"


def upgrade() -> None:
    op.create_table(
        "usage_summary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("bucket_start", UTCDateTime(), nullable=False),
        sa.Column("task_id", AutoString(), nullable=True),
        sa.Column("model", AutoString(), nullable=False),
        sa.Column("prompt_version", AutoString(), nullable=True),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("price_source", AutoString(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_usage_summary_file_id", "usage_summary", ["file_id"])
    op.create_index("ix_usage_summary_pilot_bucket", "usage_summary", ["pilot", "bucket_start"])
    # Usage loaded before this revision: summed once here, from the rows each file holds.
    bind = op.get_bind()
    bucket = _BUCKET[bind.dialect.name]
    bind.exec_driver_sql(
        f"INSERT INTO usage_summary (pilot, file_id, bucket_start, {_GROUPS}, calls, cost_usd) "
        f"SELECT pilot, file_id, {bucket}, {_GROUPS}, count(*), coalesce(sum(model_cost_usd), "
        f"0.0) FROM usage_call GROUP BY pilot, file_id, {bucket}, {_GROUPS}"
    )


def downgrade() -> None:
    op.drop_table("usage_summary")
