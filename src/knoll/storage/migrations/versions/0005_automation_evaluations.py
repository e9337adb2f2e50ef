"""Automation evaluations: ``automation_cursors`` keeps each code location's latest finished
evaluation and the one pending after it, ``automation_evaluations`` a record per asset and
evaluation.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "automation_cursors",
        sa.Column("location", sa.Text, primary_key=True),
        sa.Column("evaluation_id", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.Double),
        sa.Column("state", sa.Text),
        sa.Column("pending", sa.Text),
    )
    op.create_table(
        "automation_evaluations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("evaluation_id", sa.BigInteger, nullable=False),
        sa.Column("asset_key", sa.Text, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "location", "evaluation_id", "asset_key", name="uq_automation_evaluations_asset"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_automation_evaluations_asset_key_id", "automation_evaluations", ["asset_key", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_automation_evaluations_asset_key_id", "automation_evaluations")
    op.drop_table("automation_evaluations")
    op.drop_table("automation_cursors")
