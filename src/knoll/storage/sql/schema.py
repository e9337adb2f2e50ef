"""The tables of the SQL storage, as SQLAlchemy Core metadata.

This is what the code reads and writes; the migrations in ``knoll.storage.migrations`` create
the same tables without importing this module (a test compares the two). Change both together
and add a migration.

Every id that a reader keeps as a cursor (events, runs, ticks) is an autoincrement that never
reuses a value, even after the newest rows are deleted (``sqlite_autoincrement``): a reused id
would hide the new row from a reader whose cursor had already passed it.
"""

from __future__ import annotations

import sqlalchemy as sa

# BIGINT on PostgreSQL; on SQLite only "INTEGER PRIMARY KEY" is the rowid alias.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

# ---- runs --------------------------------------------------------------------------------

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("job_name", sa.Text, nullable=False),
    # The status column is the truth; the one inside ``body`` is the status at insert.
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the serialized Run
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
    sa.Index("ix_runs_create_timestamp_id", "create_timestamp", "id"),
    sa.Index("ix_runs_status_create_timestamp", "status", "create_timestamp"),
    sa.Index("ix_runs_job_name_create_timestamp", "job_name", "create_timestamp"),
    sa.Index("ix_runs_root_run_id", "root_run_id"),
    sqlite_autoincrement=True,
)

run_tags = sa.Table(
    "run_tags",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_run_tags_key_value", "key", "value"),
)

run_assets = sa.Table(
    "run_assets",
    metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("asset_key", sa.Text, primary_key=True),
    sa.Index("ix_run_assets_asset_key", "asset_key", "run_id"),
)

# ---- events ------------------------------------------------------------------------------

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("step_key", sa.Text),
    sa.Column("asset_key", sa.Text),  # the user string a/b/c
    sa.Column("partition", sa.Text),
    sa.Column("timestamp", sa.Double, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the serialized RunEvent
    sa.Index("ix_events_run_id_id", "run_id", "id"),
    sa.Index("ix_events_asset_key_event_type_id", "asset_key", "event_type", "id"),
    sa.Index("ix_events_event_type_id", "event_type", "id"),
    sqlite_autoincrement=True,
)

# What each step of a run planned to materialize: a STEP_FAILURE marks the partitions it
# planned and did not materialize as FAILED.
step_plans = sa.Table(
    "step_plans",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("step_key", sa.Text),
    sa.Column("asset_key", sa.Text, nullable=False),
    sa.Column("partition", sa.Text),
    sa.Column("partition_range_start", sa.Text),
    sa.Column("partition_range_end", sa.Text),
    sa.Index("ix_step_plans_run_id_step_key", "run_id", "step_key"),
)

# ---- the asset index (updated in the transaction that stores the events) ----------------

assets = sa.Table(
    "assets",
    metadata,
    sa.Column("asset_key", sa.Text, primary_key=True),
    sa.Column("last_materialization_id", Id),
    sa.Column("last_run_id", sa.Text),
    sa.Column("materialization_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_observation_id", Id),
    sa.Column("update_timestamp", sa.Double, nullable=False),
)

asset_partitions = sa.Table(
    "asset_partitions",
    metadata,
    sa.Column("asset_key", sa.Text, primary_key=True),
    sa.Column("partition", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("last_event_id", Id, nullable=False),
    sa.Column("last_run_id", sa.Text, nullable=False),
    sa.Column("last_materialization_id", Id),
    # One contiguous range per asset: the partition status of 100,000 partitions is one
    # range scan of the primary key, without a lookup per row.
    sqlite_with_rowid=False,
)

asset_checks = sa.Table(
    "asset_checks",
    metadata,
    sa.Column("asset_key", sa.Text, primary_key=True),
    sa.Column("check_name", sa.Text, primary_key=True),
    sa.Column("last_evaluation_id", Id, nullable=False),
    sa.Column("last_run_id", sa.Text, nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
)

asset_check_partitions = sa.Table(
    "asset_check_partitions",
    metadata,
    sa.Column("asset_key", sa.Text, primary_key=True),
    sa.Column("check_name", sa.Text, primary_key=True),
    sa.Column("partition", sa.Text, primary_key=True),
    sa.Column("last_evaluation_id", Id, nullable=False),
    sa.Column("last_run_id", sa.Text, nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sqlite_with_rowid=False,
)

# ---- schedules, sensors and ticks ---------------------------------------------------------

instigators = sa.Table(
    "instigators",
    metadata,
    sa.Column("location", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("instigator_type", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("cursor", sa.Text),
    sa.Column("update_timestamp", sa.Double, nullable=False),
)

ticks = sa.Table(
    "ticks",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("instigator_type", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("timestamp", sa.Double, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # run ids, run keys, skip reason, error, cursor
    sa.Column("tick_key", sa.Text),  # a schedule's scheduled time, a sensor's tick number
    sa.Column("evaluation", sa.Text),  # what the evaluation decided, recorded once
    sa.Index("ix_ticks_location_name_timestamp", "location", "name", "timestamp"),
    sa.Index("uq_ticks_location_name_tick_key", "location", "name", "tick_key", unique=True),
    sqlite_autoincrement=True,
)

# ---- backfills ---------------------------------------------------------------------------

backfills = sa.Table(
    "backfills",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),  # the order they were added in
    sa.Column("backfill_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("create_timestamp", sa.Double, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the request, as JSON
    sa.UniqueConstraint("backfill_id", name="uq_backfills_backfill_id"),
    sa.Index("ix_backfills_status_id", "status", "id"),
    sqlite_autoincrement=True,
)

# ---- dynamic partitions and key-value ----------------------------------------------------

dynamic_partitions = sa.Table(
    "dynamic_partitions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("partitions_def_name", sa.Text, nullable=False),
    sa.Column("partition", sa.Text, nullable=False),
    sa.UniqueConstraint(
        "partitions_def_name", "partition", name="uq_dynamic_partitions_name_partition"
    ),
)

kv = sa.Table(
    "kv",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# ---- the run queue and concurrency pools (revision 0002) --------------------------------

concurrency_pools = sa.Table(
    "concurrency_pools",
    metadata,
    sa.Column("pool", sa.Text, primary_key=True),
    sa.Column("slot_limit", sa.Integer, nullable=False),
)

# One row per slot a step holds; a row whose lease expired is free again.
concurrency_slots = sa.Table(
    "concurrency_slots",
    metadata,
    sa.Column("pool", sa.Text, primary_key=True),
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("step_key", sa.Text, primary_key=True),
    sa.Column("claimed_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
    sa.Index("ix_concurrency_slots_run_id", "run_id"),
)

# ---- duty leases and daemon heartbeats (revision 0003) ------------------------------------

# Named leases (the run queue's dequeue lease, the daemon's duties): one owner at a time
# until ``expires_at``. Created in revision 0002; 0003 added ``acquired_at`` and ``renewed_at``.
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("owner", sa.Text, nullable=False),
    sa.Column("acquired_at", sa.Double, nullable=False),
    sa.Column("renewed_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False),
)

# The latest heartbeat of each daemon's loop for each duty: a DaemonHeartbeat as JSON.
daemon_heartbeats = sa.Table(
    "daemon_heartbeats",
    metadata,
    sa.Column("daemon_id", sa.Text, primary_key=True),
    sa.Column("duty", sa.Text, primary_key=True),
    sa.Column("timestamp", sa.Double, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)

# ---- automation evaluations (revision 0005) ---------------------------------------------

# One row per code location: its latest finished evaluation and the one pending after it (an
# AutomationTick as JSON, whose runs may not all be stored yet).
automation_cursors = sa.Table(
    "automation_cursors",
    metadata,
    sa.Column("location", sa.Text, primary_key=True),
    sa.Column("evaluation_id", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.Double),
    sa.Column("state", sa.Text),
    sa.Column("pending", sa.Text),
)

# One row per asset and evaluation: an AutomationEvaluationRecord as JSON.
automation_evaluations = sa.Table(
    "automation_evaluations",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("evaluation_id", sa.BigInteger, nullable=False),
    sa.Column("asset_key", sa.Text, nullable=False),
    sa.Column("timestamp", sa.Double, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.UniqueConstraint(
        "location", "evaluation_id", "asset_key", name="uq_automation_evaluations_asset"
    ),
    sa.Index("ix_automation_evaluations_asset_key_id", "asset_key", "id"),
    sqlite_autoincrement=True,
)

# ---- users, API tokens, sessions, failed logins and the audit log (revision 0006) --------

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("grants", sa.Text, nullable=False),  # JSON: location -> role
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("expires", sa.Double),
    sa.Column("last_used", sa.Double),
    sa.Column("revoked", sa.Double),
    sa.Index("ix_api_tokens_user_name_token_id", "user_name", "token_id"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.Text, primary_key=True),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("created", sa.Double, nullable=False),
    sa.Column("expires", sa.Double, nullable=False),
    sa.Column("csrf_token", sa.Text, nullable=False),
    sa.Index("ix_sessions_user_name", "user_name"),
    sa.Index("ix_sessions_expires", "expires"),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("timestamp", sa.Double, nullable=False),
    sa.Index("ix_login_failures_user_name_timestamp", "user_name", "timestamp"),
    sa.Index("ix_login_failures_address_timestamp", "address", "timestamp"),
    sa.Index("ix_login_failures_timestamp", "timestamp"),
    sqlite_autoincrement=True,
)

# Read newest first by id: the audit list's cursor is an id.
audit_log = sa.Table(
    "audit_log",
    metadata,
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

ALL_TABLES = tuple(metadata.sorted_tables)
