"""The run queue's dequeue lease and concurrency pools: leases, pools and their slots.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_table(
        "concurrency_pools",
        sa.Column("pool", sa.Text, primary_key=True),
        sa.Column("slot_limit", sa.Integer, nullable=False),
    )
    op.create_table(
        "concurrency_slots",
        sa.Column("pool", sa.Text, primary_key=True),
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("step_key", sa.Text, primary_key=True),
        sa.Column("claimed_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    op.create_index("ix_concurrency_slots_run_id", "concurrency_slots", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_concurrency_slots_run_id", table_name="concurrency_slots")
    for table in ("concurrency_slots", "concurrency_pools", "leases"):
        op.drop_table(table)
