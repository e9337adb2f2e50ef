"""Who may use the webserver: ``users``, ``api_tokens`` and ``sessions`` (hashes only, never a
secret), ``login_failures`` for rate limiting logins and ``audit_log``, one row per request
that could change something.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("grants", sa.Text, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("expires", sa.Double),
        sa.Column("last_used", sa.Double),
        sa.Column("revoked", sa.Double),
    )
    op.create_index("ix_api_tokens_user_name_token_id", "api_tokens", ["user_name", "token_id"])
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.Text, primary_key=True),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("expires", sa.Double, nullable=False),
        sa.Column("csrf_token", sa.Text, nullable=False),
    )
    op.create_index("ix_sessions_user_name", "sessions", ["user_name"])
    op.create_index("ix_sessions_expires", "sessions", ["expires"])
    op.create_table(
        "login_failures",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("user_name", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_login_failures_user_name_timestamp", "login_failures", ["user_name", "timestamp"]
    )
    op.create_index(
        "ix_login_failures_address_timestamp", "login_failures", ["address", "timestamp"]
    )
    op.create_index("ix_login_failures_timestamp", "login_failures", ["timestamp"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("actor", sa.Text),
        sa.Column("via", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("route", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("address", sa.Text),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_index("ix_login_failures_timestamp", "login_failures")
    op.drop_index("ix_login_failures_address_timestamp", "login_failures")
    op.drop_index("ix_login_failures_user_name_timestamp", "login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_sessions_expires", "sessions")
    op.drop_index("ix_sessions_user_name", "sessions")
    op.drop_table("sessions")
    op.drop_index("ix_api_tokens_user_name_token_id", "api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
