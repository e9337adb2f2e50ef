"""The ``DynamicPartitionsStorage`` conformance suite."""

from __future__ import annotations

from knoll import DynamicPartitionsDefinition, DynamicPartitionsStore
from knoll.storage.base import Storage


class DynamicPartitionsStorageSuite:
    """Keys of dynamic partitions: order kept, duplicates ignored, deletion; the storage
    serves as the ``DynamicPartitionsStore`` partitions definitions read. Subclasses provide
    the ``storage`` fixture."""

    def test_keys_keep_their_order_and_duplicates_are_ignored(self, storage: Storage) -> None:
        assert list(storage.get_dynamic_partitions("customers")) == []
        storage.add_dynamic_partitions("customers", ["zeta", "alpha", "mid"])
        storage.add_dynamic_partitions("customers", ["alpha", "beta", "beta", "zeta"])
        assert list(storage.get_dynamic_partitions("customers")) == [
            "zeta",
            "alpha",
            "mid",
            "beta",
        ]
        assert storage.has_dynamic_partition("customers", "beta")
        assert not storage.has_dynamic_partition("customers", "gamma")

    def test_names_are_separate(self, storage: Storage) -> None:
        storage.add_dynamic_partitions("customers", ["a"])
        storage.add_dynamic_partitions("files", ["b"])
        assert list(storage.get_dynamic_partitions("customers")) == ["a"]
        assert not storage.has_dynamic_partition("files", "a")
        assert list(storage.get_dynamic_partitions("unknown")) == []

    def test_delete(self, storage: Storage) -> None:
        storage.add_dynamic_partitions("customers", ["a", "b", "c"])
        storage.delete_dynamic_partition("customers", "b")
        storage.delete_dynamic_partition("customers", "not-there")
        storage.delete_dynamic_partition("unknown", "a")
        assert list(storage.get_dynamic_partitions("customers")) == ["a", "c"]
        assert not storage.has_dynamic_partition("customers", "b")
        # a deleted key added again goes to the end
        storage.add_dynamic_partitions("customers", ["b"])
        assert list(storage.get_dynamic_partitions("customers")) == ["a", "c", "b"]

    def test_an_empty_list_adds_nothing(self, storage: Storage) -> None:
        storage.add_dynamic_partitions("customers", [])
        assert list(storage.get_dynamic_partitions("customers")) == []

    def test_partitions_definitions_read_their_keys_from_it(self, storage: Storage) -> None:
        store: DynamicPartitionsStore = storage
        assert isinstance(store, DynamicPartitionsStore)
        customers = DynamicPartitionsDefinition(name="customers")
        storage.add_dynamic_partitions("customers", ["acme", "globex", "initech"])
        assert list(customers.get_partition_keys(dynamic_partitions_store=storage)) == [
            "acme",
            "globex",
            "initech",
        ]
        assert customers.has_partition_key("globex", dynamic_partitions_store=storage)
        assert not customers.has_partition_key("umbrella", dynamic_partitions_store=storage)
