"""Usage calls lose their time index: the calls of a time span are read through the files whose
summary has calls in it (`usage_file_id`, `pipelines/usage_summary.py`).

Why: vendor request ids come in no order while an export comes in time order, so one of the
table's two indexes took every new call at a random place. Random inserts into the time index
cost 15-20 s of a 5M-call load here (about 3 us a call); the key index, fed in key order,
stays cheap.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_usage_pilot_time", table_name="usage_call")


def downgrade() -> None:
    op.create_index("ix_usage_pilot_time", "usage_call", ["pilot", "timestamp"])
