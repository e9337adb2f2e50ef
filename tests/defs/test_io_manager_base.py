"""IO manager base classes: IOManager, ConfigurableIOManager, @io_manager."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from knoll.defs.io_manager import (
    InputContextLike,
    IOManager,
    IOManagerDefinition,
    OutputContextLike,
    io_manager,
    is_io_manager,
)
from knoll.defs.keys import AssetKey
from knoll.defs.resource import ConfigurableIOManager, ConfigurableResource
from knoll.defs.resource_definition import (
    InitResourceContext,
    LoggerLike,
    ResourceDefinition,
    build_init_resource_context,
)

TEST_LOG: LoggerLike = logging.getLogger("knoll.tests")


@dataclass
class FakeOutputContext:
    """A stand-in for the execution core's output context; mypy checks it fits the protocol."""

    asset_key: AssetKey
    name: str = "result"
    step_key: str = "orders"
    run_id: str = "run-1"
    metadata: Mapping[str, object] = field(default_factory=dict)
    has_partition_key: bool = False
    partition_key: str = ""
    asset_partition_keys: Sequence[str] = ()
    has_asset_partitions: bool = False
    log: LoggerLike = TEST_LOG
    has_asset_key: bool = True
    added: dict[str, object] = field(default_factory=dict)

    def add_output_metadata(self, metadata: Mapping[str, object], /) -> None:
        self.added.update(metadata)


@dataclass
class FakeInputContext:
    asset_key: AssetKey
    upstream_output: OutputContextLike | None
    name: str = "orders"
    step_key: str = "summary"
    run_id: str = "run-1"
    metadata: Mapping[str, object] = field(default_factory=dict)
    has_partition_key: bool = False
    partition_key: str = ""
    asset_partition_keys: Sequence[str] = ()
    has_asset_partitions: bool = False
    log: LoggerLike = TEST_LOG
    has_asset_key: bool = True


class MemoryIOManager(IOManager):
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def handle_output(self, context: OutputContextLike, obj: Any) -> None:
        self.values[context.asset_key.to_user_string()] = obj
        context.add_output_metadata({"stored": True})

    def load_input(self, context: InputContextLike) -> Any:
        return self.values[context.asset_key.to_user_string()]


def test_io_manager_round_trip_through_the_protocols() -> None:
    manager = MemoryIOManager()
    out = FakeOutputContext(asset_key=AssetKey(["raw", "orders"]))
    manager.handle_output(out, [1, 2])
    assert out.added == {"stored": True}
    loaded = manager.load_input(FakeInputContext(asset_key=out.asset_key, upstream_output=out))
    assert loaded == [1, 2]


def test_io_manager_is_abstract() -> None:
    class Half(IOManager):
        def handle_output(self, context: OutputContextLike, obj: Any) -> None:
            return None

    with pytest.raises(TypeError, match="load_input"):
        Half()  # type: ignore[abstract]


def test_is_io_manager_accepts_duck_types() -> None:
    class Duck:
        def handle_output(self, context: object, obj: object) -> None:
            return None

        def load_input(self, context: object) -> None:
            return None

    assert is_io_manager(MemoryIOManager())
    assert is_io_manager(Duck())
    assert not is_io_manager("text")


def test_io_manager_decorator() -> None:
    @io_manager
    def memory() -> MemoryIOManager:
        return MemoryIOManager()

    @io_manager(config_schema={"prefix": str}, description="files")
    def files(context: InitResourceContext) -> MemoryIOManager:
        return MemoryIOManager()

    assert isinstance(memory, IOManagerDefinition)
    assert isinstance(memory, ResourceDefinition)
    assert isinstance(memory(), MemoryIOManager)
    assert files.description == "files"
    assert isinstance(files(build_init_resource_context(config={"prefix": "p"})), MemoryIOManager)


def test_hardcoded_io_manager() -> None:
    manager = MemoryIOManager()
    definition = IOManagerDefinition.hardcoded_io_manager(manager)
    assert isinstance(definition, IOManagerDefinition)
    assert definition() is manager


class PrefixIOManager(ConfigurableIOManager):
    prefix: str

    def handle_output(self, context: OutputContextLike, obj: Any) -> None:
        context.add_output_metadata({"path": f"{self.prefix}/{context.asset_key}"})

    def load_input(self, context: InputContextLike) -> Any:
        return f"{self.prefix}/{context.asset_key}"


def test_configurable_io_manager_is_both_a_resource_and_an_io_manager() -> None:
    manager = PrefixIOManager(prefix="/data")
    assert isinstance(manager, ConfigurableResource)
    assert isinstance(manager, IOManager)
    out = FakeOutputContext(asset_key=AssetKey(["a", "b"]))
    manager.handle_output(out, None)
    assert out.added == {"path": "/data/a/b"}
    assert manager.load_input(FakeInputContext(asset_key=out.asset_key, upstream_output=None)) == (
        "/data/a/b"
    )


def test_configurable_io_manager_must_implement_both_methods() -> None:
    class Incomplete(ConfigurableIOManager):
        prefix: str

        def handle_output(self, context: OutputContextLike, obj: Any) -> None:
            return None

    with pytest.raises(TypeError, match="load_input"):
        Incomplete(prefix="x")  # type: ignore[abstract]
