"""Deleting old ticks and daemon heartbeats in SQL (the daemon's ``retention`` duty)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll.storage.base import RetentionStorage
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import daemon_heartbeats, ticks


class SqlRetentionStorage(RetentionStorage):
    """``RetentionStorage`` on a SQL database (a part of ``SqlStorage``)."""

    _db: Database

    def delete_ticks(self, before: float, *, keep_last: int = 0) -> int:
        old = ticks.c.timestamp < before
        if keep_last > 0:
            # the newest ``keep_last`` of each schedule and sensor, as get_ticks orders them
            rank = (
                sa.func.row_number()
                .over(
                    partition_by=(ticks.c.location, ticks.c.name),
                    order_by=(ticks.c.timestamp.desc(), ticks.c.id.desc()),
                )
                .label("rank")
            )
            ranked = sa.select(ticks.c.id, rank).subquery()
            kept = sa.select(ranked.c.id).where(ranked.c.rank <= keep_last)
            old = sa.and_(old, ticks.c.id.not_in(kept))
        statement = sa.delete(ticks).where(old)

        def delete(conn: Connection) -> int:
            return int(conn.execute(statement).rowcount)

        return int(self._db.write(delete))

    def delete_daemon_heartbeats(self, before: float) -> int:
        statement = sa.delete(daemon_heartbeats).where(daemon_heartbeats.c.timestamp < before)

        def delete(conn: Connection) -> int:
            return int(conn.execute(statement).rowcount)

        return int(self._db.write(delete))
