"""Duty leases and daemon heartbeats in SQL.

Each lease change is one statement: an ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` whose
``RETURNING`` says whether this owner got the lease, a conditional ``UPDATE`` or a
conditional ``DELETE``. The database decides between racing processes (SQLite's write lock,
PostgreSQL's row lock on the conflicting row), so there is no read-then-write window.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa

from knoll._serdes import deserialize, serialize
from knoll.errors import SerializationError
from knoll.storage.base import (
    DaemonHeartbeat,
    DaemonStorage,
    Lease,
    check_daemon_heartbeat,
    check_lease_arguments,
    check_lease_name,
)
from knoll.storage.sql.common import dialect_insert
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import daemon_heartbeats, leases


class SqlDaemonStorage(DaemonStorage):
    """``DaemonStorage`` on a SQL database (a part of ``SqlStorage``)."""

    _db: Database

    def acquire_lease(
        self, name: str, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        check_lease_arguments(name, owner, ttl_seconds)
        at = time.time() if now is None else now
        insert = dialect_insert(self._db, leases)
        still_mine = sa.and_(leases.c.owner == owner, leases.c.expires_at > at)
        # Take the row when it is free, expired or ours already; otherwise leave it. RETURNING
        # gives a row only when this statement inserted or updated it.
        statement = (
            insert.values(
                name=name,
                owner=owner,
                acquired_at=at,
                renewed_at=at,
                expires_at=at + ttl_seconds,
            )
            .on_conflict_do_update(
                index_elements=[leases.c.name],
                set_={
                    "owner": insert.excluded.owner,
                    "acquired_at": sa.case(
                        (still_mine, leases.c.acquired_at), else_=insert.excluded.acquired_at
                    ),
                    "renewed_at": insert.excluded.renewed_at,
                    "expires_at": insert.excluded.expires_at,
                },
                where=sa.or_(leases.c.owner == owner, leases.c.expires_at <= at),
            )
            .returning(leases.c.owner)
        )
        return bool(self._db.write(lambda conn: conn.execute(statement).first() is not None))

    def renew_lease(
        self, name: str, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        check_lease_arguments(name, owner, ttl_seconds)
        at = time.time() if now is None else now
        statement = (
            sa.update(leases)
            .where(leases.c.name == name, leases.c.owner == owner, leases.c.expires_at > at)
            .values(renewed_at=at, expires_at=at + ttl_seconds)
        )
        return bool(self._db.write(lambda conn: conn.execute(statement).rowcount == 1))

    def release_lease(self, name: str, owner: str) -> bool:
        check_lease_name(name)
        statement = sa.delete(leases).where(leases.c.name == name, leases.c.owner == owner)
        return bool(self._db.write(lambda conn: conn.execute(statement).rowcount == 1))

    def get_lease(self, name: str) -> Lease | None:
        check_lease_name(name)
        with self._db.read() as conn:
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).one_or_none()
        if row is None:
            return None
        return Lease(row.name, row.owner, row.acquired_at, row.renewed_at, row.expires_at)

    def record_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        check_daemon_heartbeat(heartbeat)
        insert = dialect_insert(self._db, daemon_heartbeats)
        statement = insert.values(
            daemon_id=heartbeat.daemon_id,
            duty=heartbeat.duty,
            timestamp=heartbeat.timestamp,
            body=serialize(heartbeat),
        ).on_conflict_do_update(
            index_elements=[daemon_heartbeats.c.daemon_id, daemon_heartbeats.c.duty],
            set_={"timestamp": insert.excluded.timestamp, "body": insert.excluded.body},
            where=insert.excluded.timestamp >= daemon_heartbeats.c.timestamp,
        )
        self._db.write(lambda conn: conn.execute(statement))

    def get_daemon_heartbeats(self) -> Sequence[DaemonHeartbeat]:
        query = sa.select(daemon_heartbeats.c.body).order_by(
            daemon_heartbeats.c.duty, daemon_heartbeats.c.daemon_id
        )
        with self._db.read() as conn:
            bodies = list(conn.execute(query).scalars())
        out: list[DaemonHeartbeat] = []
        for body in bodies:
            try:
                out.append(deserialize(body, DaemonHeartbeat))
            except SerializationError:
                continue  # written by a newer knoll: as if that loop had not beaten
        return out
