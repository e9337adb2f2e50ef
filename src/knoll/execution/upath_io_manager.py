"""``UPathIOManager``: a base class for IO managers that store each output as one file (or
folder) at a path, locally or on any filesystem universal-pathlib and fsspec reach.

Subclasses implement ``dump_to_path`` and ``load_from_path``; the base class picks the path:
``<base_path>/<asset/key/path><extension>`` for an asset, one file per partition under
``<base_path>/<asset/key/path>/`` for a partitioned asset, and
``<base_path>/<run id>/<step>/<output>`` for an op output. This module imports universal-pathlib,
so ``knoll`` loads it only when ``knoll.UPathIOManager`` is first used.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from knoll.defs.io_manager import IOManager
from knoll.defs.metadata import MetadataValue
from knoll.errors import ExecutionError, InvalidInvocationError, MissingStoredValueError
from knoll.execution.io_managers import default_storage_dir

try:
    from upath import UPath
except ImportError as missing:  # pragma: no cover - the extra is part of the dev install
    raise ImportError(
        "knoll.UPathIOManager needs universal-pathlib, which is not installed: install it with "
        "pip install 'knoll[upath]' (or pip install universal-pathlib)."
    ) from missing

_SAFE = "-_.:=+ "


class UPathIOManager(IOManager):
    """Stores outputs as files under ``base_path`` (a ``UPath``: local, ``memory://``, ``s3://``...).

    Implement ``dump_to_path(context, obj, path)`` and ``load_from_path(context, path)``; set
    ``extension`` (for example ``".json"``) to add it to every file name. Loading several
    partitions of an upstream asset gives a dict from partition key to value; an input with
    ``allow_missing_partitions=True`` in its metadata leaves out partitions with no file.
    """

    extension: str | None = None

    def __init__(self, base_path: UPath | None = None) -> None:
        if self.extension and not self.extension.startswith("."):
            raise InvalidInvocationError(
                f"{type(self).__name__}.extension is {self.extension!r}: an extension starts "
                f"with a dot. Write extension = {'.' + self.extension!r}."
            )
        self._base_path = base_path if base_path is not None else UPath(default_storage_dir())

    @property
    def base_path(self) -> UPath:
        return self._base_path

    @property
    def fs(self) -> Any:
        """The fsspec filesystem ``base_path`` is on."""
        return self._base_path.fs

    @property
    def storage_options(self) -> dict[str, Any]:
        """The fsspec options ``base_path`` was made with (credentials, endpoints...)."""
        return dict(self._base_path.storage_options)

    # ---- what a subclass implements -------------------------------------------------------
    @abstractmethod
    def dump_to_path(self, context: Any, obj: Any, path: UPath) -> None:
        """Write ``obj`` to ``path`` (its folder exists)."""

    @abstractmethod
    def load_from_path(self, context: Any, path: UPath) -> Any:
        """Read and return the value stored at ``path``."""

    # ---- what a subclass may override -----------------------------------------------------
    def get_metadata(self, context: Any, obj: Any) -> Mapping[str, Any]:
        """Metadata to record with each stored output (beyond its path)."""
        return {}

    def path_exists(self, path: UPath) -> bool:
        return path.exists()

    def unlink(self, path: UPath) -> None:
        if path.is_file():
            path.unlink()

    def make_directory(self, path: UPath) -> None:
        path.mkdir(parents=True, exist_ok=True)

    def get_asset_relative_path(self, context: Any) -> UPath:
        return UPath(*context.asset_key.path)

    def get_op_output_relative_path(self, context: Any) -> UPath:
        return UPath(context.run_id, context.step_key, context.name)

    def get_path_for_partition(self, context: Any, path: UPath, partition: str) -> UPath:
        """The path of one partition, given the asset's path (without the extension)."""
        return path / quote(partition, safe=_SAFE)

    # ---- paths ----------------------------------------------------------------------------
    def _with_extension(self, path: UPath) -> UPath:
        return path.with_name(path.name + self.extension) if self.extension else path

    def _path_without_extension(self, context: Any) -> UPath:
        target = context
        if not context.has_asset_key and getattr(context, "upstream_output", None) is not None:
            target = context.upstream_output
        if target.has_asset_key:
            return self._base_path / self.get_asset_relative_path(target)
        return self._base_path / self.get_op_output_relative_path(target)

    def _get_path(self, context: Any) -> UPath:
        return self._with_extension(self._path_without_extension(context))

    def _partition_paths(self, context: Any) -> dict[str, UPath]:
        base = self._path_without_extension(context)
        return {
            key: self._with_extension(self.get_path_for_partition(context, base, key))
            for key in context.asset_partition_keys
        }

    def has_output(self, context: Any) -> bool:
        if context.has_asset_partitions:
            return all(self.path_exists(p) for p in self._partition_paths(context).values())
        return self.path_exists(self._get_path(context))

    # ---- the IO manager -------------------------------------------------------------------
    def handle_output(self, context: Any, obj: Any) -> None:
        if context.has_asset_partitions:
            paths = self._partition_paths(context)
            if len(paths) != 1:
                raise ExecutionError(
                    f"{type(self).__name__} stores one partition per file, but output "
                    f"{context.name!r} of step {context.step_key!r} covers {len(paths)} "
                    "partitions. Run one partition per run, or give the asset a "
                    "single-run backfill policy with an IO manager that stores ranges."
                )
            (path,) = paths.values()
        else:
            path = self._get_path(context)
        self.make_directory(path.parent)
        context.log.debug(f"writing output {context.name!r} to {path}")
        self.dump_to_path(context, obj, path)
        metadata: dict[str, Any] = {"path": MetadataValue.path(str(path))}
        metadata.update(self.get_metadata(context, obj))
        context.add_output_metadata(metadata)

    def load_input(self, context: Any) -> Any:
        if not context.has_asset_key or not context.has_asset_partitions:
            return self._load_one(context, self._get_path(context), None)
        paths = self._partition_paths(context)
        if not paths:
            return None
        if len(paths) == 1:
            ((key, path),) = paths.items()
            return self._load_one(context, path, key)
        allow_missing = bool(_metadata_value(context, "allow_missing_partitions"))
        values: dict[str, Any] = {}
        for key, path in paths.items():
            if allow_missing and not self.path_exists(path):
                context.log.debug(
                    f"partition {key!r} of {context.asset_key.to_user_string()!r} has no file "
                    f"at {path}; left out since the input allows missing partitions"
                )
                continue
            values[key] = self._load_one(context, path, key)
        return values

    def _load_one(self, context: Any, path: UPath, partition: str | None) -> Any:
        context.log.debug(f"loading input {context.name!r} from {path}")
        try:
            return self.load_from_path(context, path)
        except FileNotFoundError:
            what = (
                f"asset {context.asset_key.to_user_string()!r}"
                if context.has_asset_key
                else f"input {context.name!r}"
            )
            if partition is not None:
                what += f" (partition {partition!r})"
            raise MissingStoredValueError(
                f"{what} has no stored value at {path}: it has not been materialized with "
                f"{type(self).__name__}. Materialize it first, or add it to the selection."
            ) from None


def _metadata_value(context: Any, name: str) -> Any:
    metadata = getattr(context, "definition_metadata", None) or context.metadata
    value = metadata.get(name)
    return getattr(value, "value", value)
