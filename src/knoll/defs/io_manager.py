"""IO managers: the resources that store an asset's output and load it as a downstream input.

An IO manager is two methods, ``handle_output`` and ``load_input``. The contexts they receive
are built by the execution core; here they are described by the protocols
``OutputContextLike`` and ``InputContextLike`` so that this module stays a pure declaration.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol, Self, overload

from knoll.defs.keys import AssetKey
from knoll.defs.resource_definition import (
    LoggerLike,
    ResourceDefinition,
    ResourceFunction,
    make_resource_decorator,
)


class _IOContextLike(Protocol):
    """What both IO manager contexts offer."""

    @property
    def asset_key(self) -> AssetKey: ...
    @property
    def has_asset_key(self) -> bool: ...
    @property
    def name(self) -> str: ...
    @property
    def step_key(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def metadata(self) -> Mapping[str, object]: ...
    @property
    def has_partition_key(self) -> bool: ...
    @property
    def partition_key(self) -> str: ...
    @property
    def asset_partition_keys(self) -> Sequence[str]: ...
    @property
    def has_asset_partitions(self) -> bool: ...
    @property
    def log(self) -> LoggerLike: ...


class OutputContextLike(_IOContextLike, Protocol):
    """What an IO manager can read while it stores an output."""

    def add_output_metadata(self, metadata: Mapping[str, object], /) -> None: ...


class InputContextLike(_IOContextLike, Protocol):
    """What an IO manager can read while it loads an input."""

    @property
    def upstream_output(self) -> OutputContextLike | None: ...


class IOManager(ABC):
    """Stores the value an asset or op returns and loads it where it is used as an input.

    Subclass it and implement ``handle_output`` and ``load_input``; give an instance (or an
    ``@io_manager`` function) as the ``io_manager`` resource.
    """

    @abstractmethod
    def handle_output(self, context: OutputContextLike, obj: Any) -> None:
        """Store ``obj``, the output described by ``context``."""

    @abstractmethod
    def load_input(self, context: InputContextLike) -> Any:
        """Load and return the value of the input described by ``context``."""


def is_io_manager(value: object) -> bool:
    """True for an ``IOManager`` or any object with both IO manager methods."""
    if isinstance(value, IOManager):
        return True
    return callable(getattr(value, "handle_output", None)) and callable(
        getattr(value, "load_input", None)
    )


class IOManagerDefinition(ResourceDefinition):
    """A resource definition whose value is an ``IOManager``: ``@io_manager`` builds one."""

    @classmethod
    def hardcoded_io_manager(cls, value: IOManager, description: str | None = None) -> Self:
        """An IO manager definition that is always ``value``."""
        return cls.hardcoded_resource(value, description)


@overload
def io_manager(  # type: ignore[overload-overlap]
    config_schema: ResourceFunction,
) -> IOManagerDefinition: ...


@overload
def io_manager(
    config_schema: object | None = None,
    *,
    description: str | None = None,
    required_resource_keys: Collection[str] | None = None,
    version: str | None = None,
) -> Callable[[ResourceFunction], IOManagerDefinition]: ...


def io_manager(
    config_schema: object | None = None,
    *,
    description: str | None = None,
    required_resource_keys: Collection[str] | None = None,
    version: str | None = None,
) -> IOManagerDefinition | Callable[[ResourceFunction], IOManagerDefinition]:
    """Declare a function-style IO manager: the function returns (or yields) an ``IOManager``."""
    return make_resource_decorator(
        IOManagerDefinition, config_schema, description, required_resource_keys, version
    )
