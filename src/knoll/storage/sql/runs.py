"""Runs in SQL: one row per run, tags and selected assets in their own indexed tables.

The ``status`` column is the truth about a run's status; it moves only through the state
machine, with a conditional update (``WHERE status = :expected``) so that two writers racing
cannot both win. The ``body`` column holds the rest of the run as versioned JSON.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll._serdes import deserialize, serialize
from knoll._utils import check_tags
from knoll.errors import RunAlreadyStoredError, StorageError
from knoll.execution.run import (
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    Run,
    RunStatus,
    check_transition,
)
from knoll.storage.base import RunRecord, RunsFilter, RunsPage, RunStorage
from knoll.storage.sql.common import chunks, dialect_insert
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import run_assets, run_tags, runs
from knoll.storage.sql.schema import runs as runs_table

_MAX_ID = 2**63 - 1  # the largest id a BIGINT column holds

_RECORD_COLUMNS = (
    runs.c.id,
    runs.c.run_id,
    runs.c.status,
    runs.c.body,
    runs.c.create_timestamp,
    runs.c.update_timestamp,
    runs.c.start_time,
    runs.c.end_time,
)


class SqlRunStorage(RunStorage):
    """``RunStorage`` on a SQL database (a part of ``SqlStorage``)."""

    _db: Database

    def add_run(self, run: Run) -> RunRecord:
        now = time.time()
        body = serialize(run)
        row = _run_row(run, body, now)

        def insert(conn: Connection) -> int:
            storage_id = conn.execute(sa.insert(runs).returning(runs.c.id), row).scalar_one()
            if run.tags:
                conn.execute(
                    sa.insert(run_tags),
                    [{"run_id": run.run_id, "key": k, "value": v} for k, v in run.tags.items()],
                )
            if run.asset_selection:
                conn.execute(
                    sa.insert(run_assets),
                    [
                        {"run_id": run.run_id, "asset_key": key.to_user_string()}
                        for key in sorted(run.asset_selection)
                    ],
                )
            return int(storage_id)

        try:
            storage_id = self._db.write(insert)
        except sa.exc.IntegrityError:
            raise RunAlreadyStoredError(
                f"run {run.run_id} is stored already: a run id names one run. Give the new "
                "run a new id (knoll.execution.run.new_run_id() makes one)."
            ) from None
        return RunRecord(
            storage_id=storage_id,
            run=deserialize(body, Run),
            create_timestamp=now,
            update_timestamp=now,
        )

    def add_runs(self, runs: Sequence[Run]) -> Sequence[RunRecord]:
        if not runs:
            return []
        now = time.time()
        bodies = [serialize(run) for run in runs]
        rows = [_run_row(run, body, now) for run, body in zip(runs, bodies, strict=True)]
        tag_rows = [
            {"run_id": run.run_id, "key": k, "value": v}
            for run in runs
            for k, v in run.tags.items()
        ]
        asset_rows = [
            {"run_id": run.run_id, "asset_key": key.to_user_string()}
            for run in runs
            for key in sorted(run.asset_selection or ())
        ]
        ids = [run.run_id for run in runs]

        def insert(conn: Connection) -> dict[str, int]:
            for part in chunks(rows):
                conn.execute(sa.insert(runs_table), list(part))
            for part in chunks(tag_rows):
                conn.execute(sa.insert(run_tags), list(part))
            for part in chunks(asset_rows):
                conn.execute(sa.insert(run_assets), list(part))
            found: dict[str, int] = {}
            for some_ids in chunks(ids):
                query = sa.select(runs_table.c.run_id, runs_table.c.id).where(
                    runs_table.c.run_id.in_(some_ids)
                )
                found.update((row.run_id, int(row.id)) for row in conn.execute(query))
            return found

        try:
            storage_ids = self._db.write(insert)
        except sa.exc.IntegrityError:
            raise RunAlreadyStoredError(
                f"one of the {len(runs)} runs (the first is {runs[0].run_id}) is stored already, "
                "or given twice: a run id names one run, so none of them was stored. Give each "
                "new run a new id (knoll.execution.run.new_run_id() makes one)."
            ) from None
        return [
            RunRecord(
                storage_id=storage_ids[run.run_id],
                run=deserialize(body, Run),
                create_timestamp=now,
                update_timestamp=now,
            )
            for run, body in zip(runs, bodies, strict=True)
        ]

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(*_RECORD_COLUMNS).where(runs.c.run_id == run_id)
            ).one_or_none()
        return _record(row) if row is not None else None

    def get_runs(
        self, filters: RunsFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> RunsPage:
        with self._db.read() as conn:
            return self._runs_page(conn, filters, limit, cursor)

    def _runs_page(
        self, conn: Connection, filters: RunsFilter | None, limit: int, cursor: str | None
    ) -> RunsPage:
        query = sa.select(*_RECORD_COLUMNS).where(
            *_conditions(filters, lambda member: _page_membership(conn, member, limit))
        )
        if cursor is not None:
            created, storage_id = _parse_cursor(cursor)
            # Keyset: strictly after the last row of the previous page, newest first.
            query = query.where(
                runs.c.create_timestamp <= created,
                sa.or_(runs.c.create_timestamp < created, runs.c.id < storage_id),
            )
        query = query.order_by(runs.c.create_timestamp.desc(), runs.c.id.desc()).limit(
            max(limit, 0) + 1
        )
        rows = conn.execute(query).all()
        more = len(rows) > limit
        records = [_record(row) for row in rows[: max(limit, 0)]]
        next_cursor = None
        if more and records:
            last = records[-1]
            next_cursor = f"{last.create_timestamp!r}:{last.storage_id}"
        return RunsPage(records=records, cursor=next_cursor)

    def count_runs(self, filters: RunsFilter | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(runs).where(*_conditions(filters))
        with self._db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def update_run_status(self, run_id: str, status: RunStatus) -> RunRecord:
        def move(conn: Connection) -> RunRecord:
            row = _locked_run(conn, run_id, f"move it to {status.value}")
            current = RunStatus(row.status)
            check_transition(run_id, current, status)
            values = moved_values(status, time.time(), row.update_timestamp)
            updated = conn.execute(
                sa.update(runs)
                .where(runs.c.run_id == run_id, runs.c.status == current.value)
                .values(**values)
            )
            if updated.rowcount != 1:
                # The row lock makes this unreachable; the condition is the last line of
                # defence against two contradicting moves both succeeding.
                raise StorageError(
                    f"run {run_id} changed status while it was being moved to {status.value}: "
                    "read it again and retry."
                )
            return _record(_locked_run(conn, run_id, "read it back"))

        return self._db.write(move)

    def add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        checked = check_tags(dict(tags), f"run {run_id}")

        def add(conn: Connection) -> None:
            row = _locked_run(conn, run_id, "tag it")
            run = deserialize(row.body, Run)
            run = replace(run, tags={**run.tags, **checked})
            conn.execute(
                sa.update(runs)
                .where(runs.c.run_id == run_id)
                .values(
                    body=serialize(run), update_timestamp=max(time.time(), row.update_timestamp)
                )
            )
            if checked:
                insert = dialect_insert(self._db, run_tags)
                conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=[run_tags.c.run_id, run_tags.c.key],
                        set_={"value": insert.excluded.value},
                    ),
                    [{"run_id": run_id, "key": k, "value": v} for k, v in checked.items()],
                )

        self._db.write(add)

    # delete_run lives in events.py: the run's events and the asset index go with it.


def moved_values(status: RunStatus, when: float, update_timestamp: float) -> dict[str, Any]:
    """The columns to write when a run moves to ``status`` at ``when`` (already checked)."""
    values: dict[str, Any] = {
        "status": status.value,
        "update_timestamp": max(when, update_timestamp),
    }
    if status is RunStatus.STARTED:
        values["start_time"] = when
    if status.is_finished:
        values["end_time"] = when
    return values


def _locked_run(conn: Connection, run_id: str, doing: str) -> Any:
    """The run's row, locked until the transaction ends (PostgreSQL; SQLite's write
    transaction holds the whole database already)."""
    row = conn.execute(
        sa.select(*_RECORD_COLUMNS).where(runs.c.run_id == run_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise StorageError(
            f"cannot {doing}: run {run_id} is not in storage. Check the run id, or store "
            "the run first with add_run()."
        )
    return row


def _record(row: Any) -> RunRecord:
    run = deserialize(row.body, Run)
    status = RunStatus(row.status)
    if run.status is not status:
        run = replace(run, status=status)
    return RunRecord(
        storage_id=int(row.id),
        run=run,
        create_timestamp=row.create_timestamp,
        update_timestamp=row.update_timestamp,
        start_time=row.start_time,
        end_time=row.end_time,
    )


@dataclass(frozen=True)
class _Member:
    """A run's membership in a side table keyed by run id (its tags, its selected assets):
    the table and what its row must hold."""

    table: sa.Table
    where: tuple[sa.ColumnElement[bool], ...]

    def in_(self) -> sa.ColumnElement[bool]:
        """The runs whose id the side table's index lists: cheap when few runs match."""
        return runs.c.run_id.in_(sa.select(self.table.c.run_id).where(*self.where))

    def exists(self) -> sa.ColumnElement[bool]:
        """A lookup per run, read in the order of the page: cheap when many runs match."""
        return sa.exists().where(self.table.c.run_id == runs.c.run_id, *self.where)


Membership = Callable[[_Member], sa.ColumnElement[bool]]


def _page_membership(conn: Connection, member: _Member, limit: int) -> sa.ColumnElement[bool]:
    """The cheaper form of ``member`` for one page of ``limit`` runs, newest first.

    Read through the side table's index, every matching run is fetched and sorted by time:
    the cost grows with the matches. Read as a lookup per run while walking the runs by
    time, the cost is about ``limit * runs / matches`` lookups. So: count the matches in the
    index up to the point where the walk is cheaper, sqrt(runs * limit), and pick.
    """
    stored = conn.execute(sa.select(sa.func.max(runs.c.id))).scalar_one_or_none() or 0
    enough = max(int(math.sqrt(stored * (max(limit, 0) + 1))), 1)
    some = sa.select(sa.literal(1)).select_from(member.table).where(*member.where).limit(enough)
    found = conn.execute(sa.select(sa.func.count()).select_from(some.subquery())).scalar_one()
    return member.exists() if found >= enough else member.in_()


def _every_match(member: _Member) -> sa.ColumnElement[bool]:
    return member.in_()


def _conditions(
    filters: RunsFilter | None, membership: Membership = _every_match
) -> list[sa.ColumnElement[bool]]:
    if filters is None:
        return []
    out: list[sa.ColumnElement[bool]] = []
    if filters.run_ids is not None:
        ids = list(filters.run_ids)
        out.append(sa.or_(sa.false(), *(runs.c.run_id.in_(part) for part in chunks(ids))))
    if filters.job_name is not None:
        out.append(runs.c.job_name == filters.job_name)
    if filters.statuses is not None:
        out.append(runs.c.status.in_([s.value for s in filters.statuses]))
    for key, value in (filters.tags or {}).items():
        out.append(
            membership(_Member(run_tags, (run_tags.c.key == key, run_tags.c.value == value)))
        )
    if filters.asset_key is not None:
        asset = filters.asset_key.to_user_string()
        out.append(membership(_Member(run_assets, (run_assets.c.asset_key == asset,))))
    if filters.created_after is not None:
        out.append(runs.c.create_timestamp > filters.created_after)
    if filters.created_before is not None:
        out.append(runs.c.create_timestamp < filters.created_before)
    return out


def _parse_cursor(cursor: str) -> tuple[float, int]:
    created, _, storage_id = cursor.partition(":")
    try:
        position = float(created), int(storage_id)
        if not math.isfinite(position[0]) or not 0 <= position[1] <= _MAX_ID:
            raise ValueError(cursor)  # no row is there: a cursor made up, not returned
        return position
    except ValueError:
        raise StorageError(
            f"runs cursor {cursor!r} is not one this storage returned: pass the cursor of the "
            "previous page unchanged, or None for the first page."
        ) from None


def _run_row(run: Run, body: str, now: float) -> dict[str, Any]:
    """The ``runs`` row of a new run."""
    return {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "status": run.status.value,
        "body": body,
        "partition": run.tags.get(PARTITION_TAG),
        "partition_range_start": run.tags.get(PARTITION_RANGE_START_TAG),
        "partition_range_end": run.tags.get(PARTITION_RANGE_END_TAG),
        "parent_run_id": run.parent_run_id,
        "root_run_id": run.root_run_id,
        "create_timestamp": now,
        "update_timestamp": now,
    }
