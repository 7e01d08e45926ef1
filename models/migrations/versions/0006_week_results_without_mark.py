"""Weekly metrics lose their `inputs_mark`: whether a week's results can be reused is decided by
the flow's task cache, keyed by the week's state (`pipelines/week_state.py`), not by a digest
stored beside the results.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("weekly_metric") as batch:
        batch.drop_column("inputs_mark")


def downgrade() -> None:
    with op.batch_alter_table("weekly_metric") as batch:
        batch.add_column(sa.Column("inputs_mark", AutoString(), nullable=True))
