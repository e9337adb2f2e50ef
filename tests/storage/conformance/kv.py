"""The ``KeyValueStorage`` conformance suite."""

from __future__ import annotations

from knoll.storage.base import Storage


class KeyValueStorageSuite:
    """Small string values by key, for bookkeeping such as daemon cursors. Subclasses provide
    the ``storage`` fixture."""

    def test_set_and_get(self, storage: Storage) -> None:
        assert storage.kv_get(["a"]) == {}
        storage.kv_set({"a": "1", "b": '{"json": true}'})
        assert storage.kv_get(["a", "b", "c"]) == {"a": "1", "b": '{"json": true}'}
        assert storage.kv_get([]) == {}

    def test_set_overwrites_only_the_given_keys(self, storage: Storage) -> None:
        storage.kv_set({"a": "1", "b": "2"})
        storage.kv_set({"b": "two", "c": ""})
        assert storage.kv_get(["a", "b", "c"]) == {"a": "1", "b": "two", "c": ""}

    def test_long_values(self, storage: Storage) -> None:
        value = "x" * 100_000
        storage.kv_set({"big": value})
        assert storage.kv_get(["big"]) == {"big": value}
