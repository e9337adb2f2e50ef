"""Dagster's persisted SQLite instance for the storage workloads: open one, fill one in bulk.

Imported only from the Dagster venv (and by mypy, which sees ``dagster`` as ``Any``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.workloads._storage import BATCH

_DAGSTER_YAML = """\
storage:
  sqlite:
    base_dir: {base_dir}
telemetry:
  enabled: false
"""


def write_settings(home: Path) -> None:
    """Make ``home`` a ``DAGSTER_HOME`` with storage on SQLite in it and telemetry off (so that
    nothing but storage is written)."""
    settings = home / "dagster.yaml"
    if not settings.exists():
        home.mkdir(parents=True, exist_ok=True)
        settings.write_text(_DAGSTER_YAML.format(base_dir=home / "storage"))
    os.environ["DAGSTER_HOME"] = str(home)


def instance_in(home: Path) -> Any:
    """``DagsterInstance.get()`` on ``home`` (see ``write_settings``)."""
    import dagster as dg

    write_settings(home)
    return dg.DagsterInstance.get()


def runless_materialization(asset_key: Any, metadata: dict[str, int], partition: Any) -> Any:
    """The event ``instance.report_runless_asset_event(AssetMaterialization(...))`` stores."""
    import dagster as dg
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.events.log import EventLogEntry
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
    from dagster._time import get_current_timestamp

    materialization = dg.AssetMaterialization(
        asset_key=asset_key, metadata=metadata, partition=partition
    )
    return EventLogEntry(
        user_message="",
        level="INFO",
        job_name=RUNLESS_JOB_NAME,
        run_id=RUNLESS_RUN_ID,
        error_info=None,
        timestamp=get_current_timestamp(),
        step_key=None,
        dagster_event=DagsterEvent(
            event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
            event_specific_data=StepMaterializationData(materialization),
            job_name=RUNLESS_JOB_NAME,
        ),
    )


def store_in_bulk(instance: Any, entries: Sequence[Any]) -> None:
    """Store asset events as ``SqliteEventLogStorage.store_event`` does, ``BATCH`` per transaction.

    Dagster's SQLite ``store_event`` opens a new engine and commits for each event, about 8 ms
    on this machine: 100,000 events would take a quarter of an hour. This writes the same rows
    with the storage's own statements and helpers (the run shard's insert, then in the index
    shard the insert, the asset event tags and the asset row), one transaction per batch.
    """
    storage = instance.event_log_storage
    for first in range(0, len(entries), BATCH):
        batch = list(entries[first : first + BATCH])
        by_run: dict[str, list[Any]] = {}
        for entry in batch:
            by_run.setdefault(entry.run_id, []).append(entry)
        for run_id, run_entries in by_run.items():
            with storage.run_connection(run_id) as conn:
                conn.execute(storage.prepare_insert_event_batch(run_entries))
        with storage.index_transaction() as conn:
            for entry in batch:
                event_id = conn.execute(storage.prepare_insert_event(entry)).inserted_primary_key[0]
                storage._store_asset_event_tags(conn, [entry], [event_id])
                storage._store_asset_event(conn, entry, event_id)
