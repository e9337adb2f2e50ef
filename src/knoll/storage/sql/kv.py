"""Dynamic partitions and key-value pairs in SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll.errors import InvalidInvocationError
from knoll.storage.base import DynamicPartitionsStorage, KeyValueStorage
from knoll.storage.sql.common import chunks, dialect_insert
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import dynamic_partitions, kv


class SqlDynamicPartitionsStorage(DynamicPartitionsStorage):
    """Keys of dynamic partitions definitions, in the order they were added."""

    _db: Database

    def get_dynamic_partitions(self, name: str) -> Sequence[str]:
        query = (
            sa.select(dynamic_partitions.c.partition)
            .where(dynamic_partitions.c.partitions_def_name == name)
            .order_by(dynamic_partitions.c.id)
        )
        with self._db.read() as conn:
            return list(conn.execute(query).scalars())

    def has_dynamic_partition(self, name: str, key: str) -> bool:
        query = sa.select(dynamic_partitions.c.id).where(
            dynamic_partitions.c.partitions_def_name == name,
            dynamic_partitions.c.partition == key,
        )
        with self._db.read() as conn:
            return conn.execute(query).first() is not None

    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> None:
        if isinstance(keys, str):
            raise InvalidInvocationError(
                f"partition keys for dynamic partitions {name!r} must be a list of strings, got "
                f"the string {keys!r}; write [{keys!r}]."
            )
        unique = list(dict.fromkeys(keys))
        if not unique:
            return
        insert = dialect_insert(self._db, dynamic_partitions).on_conflict_do_nothing(
            index_elements=[
                dynamic_partitions.c.partitions_def_name,
                dynamic_partitions.c.partition,
            ]
        )

        def add(conn: Connection) -> None:
            # Rows go in the order given, so ids (the listing order) follow the keys.
            for part in chunks(unique):
                conn.execute(insert, [{"partitions_def_name": name, "partition": k} for k in part])

        self._db.write(add)

    def delete_dynamic_partition(self, name: str, key: str) -> None:
        statement = sa.delete(dynamic_partitions).where(
            dynamic_partitions.c.partitions_def_name == name,
            dynamic_partitions.c.partition == key,
        )
        self._db.write(lambda conn: conn.execute(statement))


class SqlKeyValueStorage(KeyValueStorage):
    """String values under string keys: small state that needs no table of its own."""

    _db: Database

    def kv_get(self, keys: Sequence[str]) -> Mapping[str, str]:
        out: dict[str, str] = {}
        with self._db.read() as conn:
            for part in chunks(list(dict.fromkeys(keys))):
                for row in conn.execute(sa.select(kv).where(kv.c.key.in_(part))):
                    out[row.key] = row.value
        return out

    def kv_set(self, pairs: Mapping[str, str]) -> None:
        if not pairs:
            return
        insert = dialect_insert(self._db, kv)
        statement = insert.on_conflict_do_update(
            index_elements=[kv.c.key], set_={"value": insert.excluded.value}
        )
        rows = [{"key": k, "value": v} for k, v in pairs.items()]
        self._db.write(lambda conn: conn.execute(statement, rows))
