"""Duty leases and daemon heartbeats: ``leases`` gains ``acquired_at`` and ``renewed_at``,
and ``daemon_heartbeats`` keeps the latest heartbeat of each daemon's loop per duty.

The leases table is rebuilt (so that its definition is the one a new database gets) with
its rows kept: a lease taken before this revision counts as taken and renewed at the time
of the upgrade, or at its expiry if that is earlier.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _now(bind: sa.Connection) -> float:
    if bind.dialect.name == "postgresql":
        query = "SELECT EXTRACT(EPOCH FROM clock_timestamp())"
    else:
        query = "SELECT (julianday('now') - 2440587.5) * 86400.0"
    return float(bind.exec_driver_sql(query).scalar_one())


def upgrade() -> None:
    bind = op.get_bind()
    now = _now(bind)
    kept = bind.execute(sa.text("SELECT name, owner, expires_at FROM leases")).all()
    op.drop_table("leases")
    leases = op.create_table(
        "leases",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("acquired_at", sa.Double, nullable=False),
        sa.Column("renewed_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
    )
    if kept:
        op.bulk_insert(
            leases,
            [
                {
                    "name": name,
                    "owner": owner,
                    "acquired_at": min(now, expires_at),
                    "renewed_at": min(now, expires_at),
                    "expires_at": expires_at,
                }
                for name, owner, expires_at in kept
            ],
        )
    op.create_table(
        "daemon_heartbeats",
        sa.Column("daemon_id", sa.Text, primary_key=True),
        sa.Column("duty", sa.Text, primary_key=True),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("daemon_heartbeats")
    op.drop_column("leases", "renewed_at")
    op.drop_column("leases", "acquired_at")
