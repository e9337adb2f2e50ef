"""The first schema: runs, events, the asset index, schedules, backfills, partitions, kv.

Revision ID: 0001
Revises: none
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Written out here, not imported: this revision must keep creating exactly these tables.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("job_name", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("partition", sa.Text),
        sa.Column("partition_range_start", sa.Text),
        sa.Column("partition_range_end", sa.Text),
        sa.Column("parent_run_id", sa.Text),
        sa.Column("root_run_id", sa.Text),
        sa.Column("create_timestamp", sa.Double, nullable=False),
        sa.Column("update_timestamp", sa.Double, nullable=False),
        sa.Column("start_time", sa.Double),
        sa.Column("end_time", sa.Double),
        sa.UniqueConstraint("run_id", name="uq_runs_run_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_runs_create_timestamp_id", "runs", ["create_timestamp", "id"])
    op.create_index("ix_runs_status_create_timestamp", "runs", ["status", "create_timestamp"])
    op.create_index("ix_runs_job_name_create_timestamp", "runs", ["job_name", "create_timestamp"])
    op.create_index("ix_runs_root_run_id", "runs", ["root_run_id"])

    op.create_table(
        "run_tags",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("ix_run_tags_key_value", "run_tags", ["key", "value"])

    op.create_table(
        "run_assets",
        sa.Column("run_id", sa.Text, primary_key=True),
        sa.Column("asset_key", sa.Text, primary_key=True),
    )
    op.create_index("ix_run_assets_asset_key", "run_assets", ["asset_key", "run_id"])

    op.create_table(
        "events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("step_key", sa.Text),
        sa.Column("asset_key", sa.Text),
        sa.Column("partition", sa.Text),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_run_id_id", "events", ["run_id", "id"])
    op.create_index(
        "ix_events_asset_key_event_type_id", "events", ["asset_key", "event_type", "id"]
    )
    op.create_index("ix_events_event_type_id", "events", ["event_type", "id"])

    op.create_table(
        "step_plans",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("step_key", sa.Text),
        sa.Column("asset_key", sa.Text, nullable=False),
        sa.Column("partition", sa.Text),
        sa.Column("partition_range_start", sa.Text),
        sa.Column("partition_range_end", sa.Text),
    )
    op.create_index("ix_step_plans_run_id_step_key", "step_plans", ["run_id", "step_key"])

    op.create_table(
        "assets",
        sa.Column("asset_key", sa.Text, primary_key=True),
        sa.Column("last_materialization_id", Id),
        sa.Column("last_run_id", sa.Text),
        sa.Column("materialization_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_observation_id", Id),
        sa.Column("update_timestamp", sa.Double, nullable=False),
    )

    op.create_table(
        "asset_partitions",
        sa.Column("asset_key", sa.Text, primary_key=True),
        sa.Column("partition", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("last_event_id", Id, nullable=False),
        sa.Column("last_run_id", sa.Text, nullable=False),
        sa.Column("last_materialization_id", Id),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "asset_checks",
        sa.Column("asset_key", sa.Text, primary_key=True),
        sa.Column("check_name", sa.Text, primary_key=True),
        sa.Column("last_evaluation_id", Id, nullable=False),
        sa.Column("last_run_id", sa.Text, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
    )

    op.create_table(
        "asset_check_partitions",
        sa.Column("asset_key", sa.Text, primary_key=True),
        sa.Column("check_name", sa.Text, primary_key=True),
        sa.Column("partition", sa.Text, primary_key=True),
        sa.Column("last_evaluation_id", Id, nullable=False),
        sa.Column("last_run_id", sa.Text, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )

    op.create_table(
        "instigators",
        sa.Column("location", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("instigator_type", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("cursor", sa.Text),
        sa.Column("update_timestamp", sa.Double, nullable=False),
    )

    op.create_table(
        "ticks",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("instigator_type", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("timestamp", sa.Double, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ticks_location_name_timestamp", "ticks", ["location", "name", "timestamp"])

    op.create_table(
        "backfills",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("backfill_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("create_timestamp", sa.Double, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("backfill_id", name="uq_backfills_backfill_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_backfills_status_id", "backfills", ["status", "id"])

    op.create_table(
        "dynamic_partitions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("partitions_def_name", sa.Text, nullable=False),
        sa.Column("partition", sa.Text, nullable=False),
        sa.UniqueConstraint(
            "partitions_def_name", "partition", name="uq_dynamic_partitions_name_partition"
        ),
    )

    op.create_table(
        "kv",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "kv",
        "dynamic_partitions",
        "backfills",
        "ticks",
        "instigators",
        "asset_check_partitions",
        "asset_checks",
        "asset_partitions",
        "assets",
        "step_plans",
        "events",
        "run_assets",
        "run_tags",
        "runs",
    ):
        op.drop_table(table)
