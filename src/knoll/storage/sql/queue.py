"""The run queue in SQL: queued runs in dequeue order, in-progress counts, the claim of a run.

The dequeue lease is the duty lease ``QUEUE_LEASE`` (see ``knoll.storage.sql.daemon``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll.execution.run import RunStatus
from knoll.storage.base import (
    IN_PROGRESS_STATUSES,
    RunQueueStorage,
    RunRecord,
    run_priority,
)
from knoll.storage.sql.common import chunks
from knoll.storage.sql.engine import Database
from knoll.storage.sql.runs import _RECORD_COLUMNS, _record, moved_values
from knoll.storage.sql.schema import run_tags, runs

_IN_PROGRESS = sorted(s.value for s in IN_PROGRESS_STATUSES)


class SqlRunQueueStorage(RunQueueStorage):
    """``RunQueueStorage`` on a SQL database (a part of ``SqlStorage``)."""

    _db: Database

    def get_queued_runs(self, *, limit: int | None = None) -> Sequence[RunRecord]:
        query = (
            sa.select(*_RECORD_COLUMNS)
            .where(runs.c.status == RunStatus.QUEUED.value)
            .order_by(runs.c.create_timestamp, runs.c.id)
        )
        with self._db.read() as conn:
            records = [_record(row) for row in conn.execute(query)]
        # The priority is a tag (text); sorting here keeps a bad value from failing the query.
        records.sort(key=lambda r: -run_priority(r.run))  # stable: FIFO within a priority
        return records if limit is None else records[: max(limit, 0)]

    def count_in_progress_runs(self) -> int:
        query = sa.select(sa.func.count()).select_from(runs).where(runs.c.status.in_(_IN_PROGRESS))
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def count_in_progress_runs_by_tag(self, keys: Sequence[str]) -> Mapping[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        unique = list(dict.fromkeys(keys))
        with self._db.read() as conn:
            for part in chunks(unique):
                query = (
                    sa.select(run_tags.c.key, run_tags.c.value, sa.func.count())
                    .join(runs, runs.c.run_id == run_tags.c.run_id)
                    .where(run_tags.c.key.in_(part), runs.c.status.in_(_IN_PROGRESS))
                    .group_by(run_tags.c.key, run_tags.c.value)
                )
                for key, value, count in conn.execute(query):
                    out[(key, value)] = int(count)
        return out

    def claim_queued_run(self, run_id: str) -> RunRecord | None:
        def claim(conn: Connection) -> RunRecord | None:
            row = conn.execute(
                sa.select(runs.c.update_timestamp).where(runs.c.run_id == run_id)
            ).one_or_none()
            if row is None:
                return None
            values = moved_values(RunStatus.STARTING, time.time(), row.update_timestamp)
            # The condition on the status is what makes this safe: of two racing claims,
            # only one UPDATE finds the row still QUEUED.
            updated = conn.execute(
                sa.update(runs)
                .where(runs.c.run_id == run_id, runs.c.status == RunStatus.QUEUED.value)
                .values(**values)
            )
            if updated.rowcount != 1:
                return None
            moved = conn.execute(sa.select(*_RECORD_COLUMNS).where(runs.c.run_id == run_id))
            return _record(moved.one())

        return self._db.write(claim)
