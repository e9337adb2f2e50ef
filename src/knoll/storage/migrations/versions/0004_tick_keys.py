"""Tick keys: ``ticks`` gains ``tick_key`` (unique per instigator: a schedule's scheduled
time, a sensor's tick number) and ``evaluation`` (what the tick's evaluation decided,
recorded once), so that no tick is ever made twice and a tick taken up again after a crash
creates the runs its first evaluation decided. Ticks stored before keep no key.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


_COLUMNS = "id, location, name, instigator_type, status, timestamp, body"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # rebuilt, so that its definition is the one a new database gets: the rows are
        # copied by SQL, keeping their ids and AUTOINCREMENT's highest id ever given
        op.drop_index("ix_ticks_location_name_timestamp", table_name="ticks")
        op.rename_table("ticks", "ticks_0003")
        op.create_table(
            "ticks",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("location", sa.Text, nullable=False),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("instigator_type", sa.Text, nullable=False),
            sa.Column("status", sa.Text, nullable=False),
            sa.Column("timestamp", sa.Double, nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("tick_key", sa.Text),
            sa.Column("evaluation", sa.Text),
            sqlite_autoincrement=True,
        )
        op.execute(f"INSERT INTO ticks ({_COLUMNS}) SELECT {_COLUMNS} FROM ticks_0003")
        op.execute("DELETE FROM sqlite_sequence WHERE name = 'ticks'")
        op.execute("UPDATE sqlite_sequence SET name = 'ticks' WHERE name = 'ticks_0003'")
        op.drop_table("ticks_0003")
        op.create_index(
            "ix_ticks_location_name_timestamp", "ticks", ["location", "name", "timestamp"]
        )
    else:
        op.add_column("ticks", sa.Column("tick_key", sa.Text))
        op.add_column("ticks", sa.Column("evaluation", sa.Text))
    op.create_index(
        "uq_ticks_location_name_tick_key", "ticks", ["location", "name", "tick_key"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_ticks_location_name_tick_key", table_name="ticks")
    with op.batch_alter_table("ticks") as batch:
        batch.drop_column("evaluation")
        batch.drop_column("tick_key")
