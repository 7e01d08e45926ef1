"""A week's total cost may be unknown (a source missing for the week): `weekly_metric.total_cost`
becomes nullable, like `cost_per_task`.

Revision ID: 0007_i16u
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_i16u"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("weekly_metric") as batch:
        batch.alter_column("total_cost", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    # An unknown total has no number to fall back to: those weeks must be re-run after a
    # downgrade; they are stored as 0 only so the column can be NOT NULL again.
    op.execute("UPDATE weekly_metric SET total_cost = 0 WHERE total_cost IS NULL")
    with op.batch_alter_table("weekly_metric") as batch:
        batch.alter_column("total_cost", existing_type=sa.Float(), nullable=False)
