"""The built-in IO managers: files on disk (the default for assets) and memory.

This module imports pydantic (through ``ConfigurableIOManager``), so it is loaded only when a
run needs a default IO manager or a user imports one of these classes.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import PrivateAttr

from knoll.defs.config_schema import Field
from knoll.defs.io_manager import IOManagerDefinition, io_manager
from knoll.defs.metadata import MetadataValue
from knoll.defs.resource import ConfigurableIOManager
from knoll.defs.resource_definition import InitResourceContext
from knoll.errors import ExecutionError, MissingStoredValueError

_SAFE = "-_.:=+ "


def default_storage_dir() -> str:
    """``$KNOLL_HOME/storage`` when KNOLL_HOME is set, else a temporary folder for this process."""
    home = os.environ.get("KNOLL_HOME")
    if home:
        return str(Path(home) / "storage")
    global _TEMP_DIR
    if _TEMP_DIR is None:
        _TEMP_DIR = tempfile.mkdtemp(prefix="knoll-storage-")
    return _TEMP_DIR


_TEMP_DIR: str | None = None


def _partition_part(key: str) -> str:
    return quote(str(key), safe=_SAFE)


class FilesystemIOManager(ConfigurableIOManager):
    """Pickles each output to a file under ``base_dir``: ``<base_dir>/<asset/key/path>`` for
    assets (``/<partition>`` added for partitioned assets), ``<base_dir>/<run id>/<step>/<output>``
    for op outputs. Writes are atomic: a crash never leaves a half-written file behind."""

    base_dir: str | None = None

    def _root(self) -> Path:
        return Path(self.base_dir) if self.base_dir else Path(default_storage_dir())

    def _path(self, context: Any, partition: str | None) -> Path:
        root = self._root()
        if context.has_asset_key:
            path = root.joinpath(*context.asset_key.path)
        else:
            path = root.joinpath(context.run_id, context.step_key, context.name)
            if getattr(context, "mapping_key", None):
                path = path / context.mapping_key
        if partition is not None:
            path = path / _partition_part(partition)
        return path

    def handle_output(self, context: Any, obj: Any) -> None:
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else [None]
        if len(keys) > 1:
            # one value for a range of partitions: a dict keyed by partition is split up,
            # anything else is stored under every partition of the range
            values = (
                obj if isinstance(obj, dict) and set(obj) == set(keys) else dict.fromkeys(keys, obj)
            )
        else:
            values = {keys[0]: obj}
        for partition, value in values.items():
            path = self._path(context, partition)
            _atomic_pickle(path, value)
        if len(keys) == 1:
            context.add_output_metadata({"path": MetadataValue.path(self._path(context, keys[0]))})

    def load_input(self, context: Any) -> Any:
        upstream = context.upstream_output
        target = upstream if upstream is not None else context
        if context.has_asset_partitions:
            keys = list(context.asset_partition_keys)
            # several upstream partitions load as a dict keyed by partition; one as its value;
            # none (an offset before the first partition) as None, as in Dagster
            if not keys:
                return None
            if len(keys) == 1:
                return self._read(self._path(target, keys[0]), context, keys[0])
            return {key: self._read(self._path(target, key), context, key) for key in keys}
        return self._read(self._path(target, None), context, None)

    def _read(self, path: Path, context: Any, partition: str | None) -> Any:
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            what = (
                f"asset {context.asset_key.to_user_string()!r}"
                if context.has_asset_key
                else f"input {context.name!r}"
            )
            if partition is not None:
                what += f" (partition {partition!r})"
            raise MissingStoredValueError(
                f"{what} has no stored value at {path}: it has not been materialized with this "
                "IO manager. Materialize it first, or add it to the selection."
            ) from None


def _atomic_pickle(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


class InMemoryIOManager(ConfigurableIOManager):
    """Keeps outputs in memory, for tests and ``materialize_to_memory``."""

    _values: dict[tuple[Any, ...], Any] = PrivateAttr(default_factory=dict)

    @property
    def values(self) -> dict[tuple[Any, ...], Any]:
        return self._values

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Each run works on a fresh copy of a resource; share the instance's storage so that
        # runs given the same InMemoryIOManager see each other's outputs.
        given = context.resource_def
        if isinstance(given, InMemoryIOManager) and given is not self:
            self._values = given._values

    def _key(self, context: Any, partition: str | None) -> tuple[Any, ...]:
        if context.has_asset_key:
            return (context.asset_key, partition)
        mapping_key = getattr(context, "mapping_key", None)
        return (context.run_id, context.step_key, context.name, mapping_key, partition)

    def handle_output(self, context: Any, obj: Any) -> None:
        keys = list(context.asset_partition_keys) if context.has_asset_partitions else [None]
        for partition in keys:
            self.values[self._key(context, partition)] = obj

    def load_input(self, context: Any) -> Any:
        target = context.upstream_output if context.upstream_output is not None else context
        if context.has_asset_partitions:
            keys = list(context.asset_partition_keys)
            if len(keys) == 1:
                return self._get(self._key(target, keys[0]), context)
            return {k: self._get(self._key(target, k), context) for k in keys}
        return self._get(self._key(target, None), context)

    def _get(self, key: tuple[Any, ...], context: Any) -> Any:
        try:
            return self.values[key]
        except KeyError:
            what = (
                f"asset {context.asset_key.to_user_string()!r}"
                if context.has_asset_key
                else f"input {context.name!r}"
            )
            if key[-1] is not None:
                what += f" (partition {key[-1]!r})"
            raise ExecutionError(
                f"{what} has no value in this in-memory IO manager: it was not computed by a run "
                "that used the same InMemoryIOManager. Add it to the selection."
            ) from None


@io_manager(
    config_schema={
        "base_dir": Field(
            str,
            is_required=False,
            description="Where outputs are pickled; $KNOLL_HOME/storage when left out.",
        )
    },
    description="Pickles outputs to files under base_dir (a FilesystemIOManager).",
)
def fs_io_manager(context: InitResourceContext) -> FilesystemIOManager:
    """The function-style door to ``FilesystemIOManager``: ``base_dir`` comes from resource
    config (``resources: {io_manager: {config: {base_dir: ...}}}``) or ``.configured(...)``."""
    config = context.resource_config or {}
    return FilesystemIOManager(base_dir=config.get("base_dir"))


@io_manager(description="Keeps outputs in the memory of the run (an InMemoryIOManager).")
def mem_io_manager() -> InMemoryIOManager:
    """The function-style door to ``InMemoryIOManager``: each run gets a fresh, empty store."""
    return InMemoryIOManager()


assert isinstance(fs_io_manager, IOManagerDefinition)
assert isinstance(mem_io_manager, IOManagerDefinition)
