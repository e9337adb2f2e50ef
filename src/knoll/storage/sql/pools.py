"""Concurrency pools in SQL: a limit per pool, and the slots steps hold as expiring leases."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll.storage.base import (
    ConcurrencyStorage,
    SlotLease,
    check_lease_seconds,
    check_pool_limit,
)
from knoll.storage.sql.common import dialect_insert
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import concurrency_pools, concurrency_slots

_slot_key = (concurrency_slots.c.pool, concurrency_slots.c.run_id, concurrency_slots.c.step_key)


class SqlConcurrencyStorage(ConcurrencyStorage):
    """``ConcurrencyStorage`` on a SQL database (a part of ``SqlStorage``)."""

    _db: Database

    def set_pool_limit(self, pool: str, limit: int) -> None:
        check_pool_limit(pool, limit)
        insert = dialect_insert(self._db, concurrency_pools)
        statement = insert.values(pool=pool, slot_limit=limit).on_conflict_do_update(
            index_elements=[concurrency_pools.c.pool],
            set_={"slot_limit": insert.excluded.slot_limit},
        )
        self._db.write(lambda conn: conn.execute(statement))

    def delete_pool_limit(self, pool: str) -> None:
        statement = sa.delete(concurrency_pools).where(concurrency_pools.c.pool == pool)
        self._db.write(lambda conn: conn.execute(statement))

    def get_pool_limits(self) -> Mapping[str, int]:
        query = sa.select(concurrency_pools).order_by(concurrency_pools.c.pool)
        with self._db.read() as conn:
            return {row.pool: int(row.slot_limit) for row in conn.execute(query)}

    def claim_slot(
        self,
        pool: str,
        run_id: str,
        step_key: str,
        lease_seconds: float,
        *,
        now: float | None = None,
    ) -> bool:
        check_lease_seconds(f"a slot of pool {pool!r}", lease_seconds)
        at = time.time() if now is None else now
        mine = _this_slot(pool, run_id, step_key)
        insert = dialect_insert(self._db, concurrency_slots)
        take = insert.values(
            pool=pool,
            run_id=run_id,
            step_key=step_key,
            claimed_at=at,
            expires_at=at + lease_seconds,
        ).on_conflict_do_update(
            index_elements=list(_slot_key),
            set_={
                "claimed_at": insert.excluded.claimed_at,
                "expires_at": insert.excluded.expires_at,
            },
        )

        def claim(conn: Connection) -> bool:
            # The pool's row lock (PostgreSQL) or the write lock (SQLite) makes the count and
            # the insert below one step: two claimers never both see the last free slot.
            limit = conn.execute(
                sa.select(concurrency_pools.c.slot_limit)
                .where(concurrency_pools.c.pool == pool)
                .with_for_update()
            ).scalar_one_or_none()
            held = conn.execute(
                sa.update(concurrency_slots)
                .where(mine, concurrency_slots.c.expires_at > at)
                .values(expires_at=at + lease_seconds)
            )
            if held.rowcount == 1:
                return True
            if limit is not None:
                conn.execute(
                    sa.delete(concurrency_slots).where(
                        concurrency_slots.c.pool == pool, concurrency_slots.c.expires_at <= at
                    )
                )
                taken = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(concurrency_slots)
                    .where(concurrency_slots.c.pool == pool)
                ).scalar_one()
                if int(taken) >= int(limit):
                    return False
            conn.execute(take)
            return True

        return bool(self._db.write(claim))

    def renew_slot(
        self,
        pool: str,
        run_id: str,
        step_key: str,
        lease_seconds: float,
        *,
        now: float | None = None,
    ) -> bool:
        check_lease_seconds(f"a slot of pool {pool!r}", lease_seconds)
        at = time.time() if now is None else now
        statement = (
            sa.update(concurrency_slots)
            .where(_this_slot(pool, run_id, step_key), concurrency_slots.c.expires_at > at)
            .values(expires_at=at + lease_seconds)
        )
        return bool(self._db.write(lambda conn: conn.execute(statement).rowcount == 1))

    def release_slot(self, pool: str, run_id: str, step_key: str) -> None:
        statement = sa.delete(concurrency_slots).where(_this_slot(pool, run_id, step_key))
        self._db.write(lambda conn: conn.execute(statement))

    def free_slots_of_run(self, run_id: str) -> int:
        statement = sa.delete(concurrency_slots).where(concurrency_slots.c.run_id == run_id)
        return int(self._db.write(lambda conn: conn.execute(statement).rowcount))

    def get_pool_slots(self, pool: str, *, now: float | None = None) -> Sequence[SlotLease]:
        at = time.time() if now is None else now
        query = (
            sa.select(concurrency_slots)
            .where(concurrency_slots.c.pool == pool, concurrency_slots.c.expires_at > at)
            .order_by(concurrency_slots.c.claimed_at, concurrency_slots.c.run_id)
        )
        with self._db.read() as conn:
            return [
                SlotLease(row.pool, row.run_id, row.step_key, row.claimed_at, row.expires_at)
                for row in conn.execute(query)
            ]


def _this_slot(pool: str, run_id: str, step_key: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        concurrency_slots.c.pool == pool,
        concurrency_slots.c.run_id == run_id,
        concurrency_slots.c.step_key == step_key,
    )
