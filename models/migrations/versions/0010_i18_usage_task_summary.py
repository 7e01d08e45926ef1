"""The usage summary splits in two (issue 18: calls in random time order): the 15-minute bucket
summary loses the task, and a task summary sums each task's calls, each row within one local
week, so neither grows with calls spread over many buckets once files are stored whole. Both
are refilled here from the calls held, the task rows per bucket (SQL does not know the pilot's
weeks; a bucket lies in one week in every quarter-hour timezone).

Revision ID: 0010_i18
Revises: 0009_i22
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010_i18"
down_revision: str | Sequence[str] | None = "0009_i22"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString
UTCDateTime = sqlmodel.sql.sqltypes.UTCDateTime

# The summaries of the rows already held, frozen here as they are at this revision (a migration
# must not depend on code that may change later): `pipelines/warehouse/usage_summary_sql.py`.
_BUCKET = {
    "sqlite": 'substr("timestamp", 1, 14) || printf(\'%02d\', CAST(substr("timestamp", 15, 2) '
    "AS INTEGER) / 15 * 15) || ':00.000000'",
    "postgresql": 'date_trunc(\'hour\', "timestamp") + floor(extract(minute FROM "timestamp") '
    "/ 15) * interval '15 minutes'",
}
_BUCKET_GROUPS = "model, prompt_version, status, price_source"
_TASK_GROUPS = f"task_id, {_BUCKET_GROUPS}"


def _summary_columns(task: bool) -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pilot", AutoString(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        *([] if task else [sa.Column("bucket_start", UTCDateTime(), nullable=False)]),
        *([sa.Column("task_id", AutoString(), nullable=True)] if task else []),
        sa.Column("model", AutoString(), nullable=False),
        sa.Column("prompt_version", AutoString(), nullable=True),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("price_source", AutoString(), nullable=False),
        *(
            [
                sa.Column("first_bucket", UTCDateTime(), nullable=False),
                sa.Column("last_bucket", UTCDateTime(), nullable=False),
            ]
            if task
            else []
        ),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    bucket = _BUCKET[bind.dialect.name]
    op.drop_table("usage_summary")
    op.create_table("usage_summary", *_summary_columns(task=False))
    op.create_index("ix_usage_summary_file_id", "usage_summary", ["file_id"])
    op.create_index("ix_usage_summary_pilot_bucket", "usage_summary", ["pilot", "bucket_start"])
    op.create_table("usage_task_summary", *_summary_columns(task=True))
    op.create_index("ix_usage_task_summary_file_id", "usage_task_summary", ["file_id"])
    op.create_index(
        "ix_usage_task_summary_pilot_first",
        "usage_task_summary",
        ["pilot", "first_bucket", "last_bucket"],
    )
    bind.exec_driver_sql(
        f"INSERT INTO usage_summary (pilot, file_id, bucket_start, {_BUCKET_GROUPS}, calls, "
        f"cost_usd) SELECT pilot, file_id, {bucket}, {_BUCKET_GROUPS}, count(*), "
        f"coalesce(sum(model_cost_usd), 0.0) FROM usage_call "
        f"GROUP BY pilot, file_id, {bucket}, {_BUCKET_GROUPS}"
    )
    bind.exec_driver_sql(
        f"INSERT INTO usage_task_summary (pilot, file_id, {_TASK_GROUPS}, first_bucket, "
        f"last_bucket, calls, cost_usd) SELECT pilot, file_id, {_TASK_GROUPS}, {bucket}, "
        f"{bucket}, count(*), coalesce(sum(model_cost_usd), 0.0) FROM usage_call "
        f"GROUP BY pilot, file_id, {bucket}, {_TASK_GROUPS}"
    )


def downgrade() -> None:
    bind = op.get_bind()
    bucket = _BUCKET[bind.dialect.name]
    op.drop_table("usage_task_summary")
    op.drop_table("usage_summary")
    columns = _summary_columns(task=False)
    columns.insert(4, sa.Column("task_id", AutoString(), nullable=True))
    op.create_table("usage_summary", *columns)
    op.create_index("ix_usage_summary_file_id", "usage_summary", ["file_id"])
    op.create_index("ix_usage_summary_pilot_bucket", "usage_summary", ["pilot", "bucket_start"])
    bind.exec_driver_sql(
        f"INSERT INTO usage_summary (pilot, file_id, bucket_start, {_TASK_GROUPS}, calls, "
        f"cost_usd) SELECT pilot, file_id, {bucket}, {_TASK_GROUPS}, count(*), "
        f"coalesce(sum(model_cost_usd), 0.0) FROM usage_call "
        f"GROUP BY pilot, file_id, {bucket}, {_TASK_GROUPS}"
    )
