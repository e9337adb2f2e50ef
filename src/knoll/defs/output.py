"""What user code returns or yields: outputs, materialize results, materializations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from knoll._serdes import serializable
from knoll._utils import check_tags
from knoll.defs.data_version import DataVersion, check_data_version
from knoll.defs.keys import AssetKey
from knoll.defs.metadata import MetadataValue, normalize_metadata

if TYPE_CHECKING:
    from knoll.defs.check import AssetCheckResult

T = TypeVar("T")

DEFAULT_OUTPUT = "result"


class Output(Generic[T]):
    """A value an op or asset produces, with the output it belongs to and metadata about it.

    For an asset's output, ``data_version`` and ``tags`` are recorded on its materialization
    (they are checked when the step records it, so that a bad one names the asset).
    """

    __slots__ = ("data_version", "metadata", "output_name", "tags", "value")

    def __init__(
        self,
        value: T,
        output_name: str = DEFAULT_OUTPUT,
        metadata: Mapping[str, Any] | None = None,
        data_version: DataVersion | str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.value = value
        self.output_name = output_name
        self.metadata: dict[str, MetadataValue] = normalize_metadata(
            metadata, f"output {output_name!r}"
        )
        self.data_version = data_version
        self.tags: Mapping[str, str] = tags if tags is not None else {}

    def __repr__(self) -> str:
        return f"Output(value={self.value!r}, output_name={self.output_name!r})"


class MaterializeResult:
    """Returned by an asset that writes its data itself: metadata and check results, no value.

    The IO manager is not called for an asset that returns a MaterializeResult. Its
    ``data_version`` and ``tags`` are recorded on the materialization, like an Output's. The
    parameters may be given by position in this order, as in Dagster: ``MaterializeResult("a")``.
    """

    __slots__ = ("asset_key", "check_results", "data_version", "metadata", "tags")

    def __init__(
        self,
        asset_key: AssetKey | str | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        check_results: Sequence[AssetCheckResult] | None = None,
        data_version: DataVersion | str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.asset_key = AssetKey.from_coercible(asset_key) if asset_key is not None else None
        self.metadata: dict[str, MetadataValue] = normalize_metadata(metadata, "MaterializeResult")
        self.check_results = tuple(check_results or ())
        self.data_version = data_version
        self.tags: Mapping[str, str] = tags if tags is not None else {}

    def __repr__(self) -> str:
        return f"MaterializeResult(asset_key={self.asset_key!r}, metadata={self.metadata!r})"


@serializable()
@dataclass(frozen=True)
class AssetMaterialization:
    """An asset (partition) was written. Yield one from an op to record an asset it wrote.

    ``data_version`` is the version of the data written, when the asset reports one (records
    written before knoll kept data versions read back without one).
    """

    asset_key: AssetKey
    description: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    partition: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    data_version: str | None = None

    def __init__(
        self,
        asset_key: AssetKey | str | Sequence[str],
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
        tags: Mapping[str, str] | None = None,
        data_version: DataVersion | str | None = None,
    ) -> None:
        key = AssetKey.from_coercible(asset_key)
        owner = f"materialization of {key}"
        object.__setattr__(self, "asset_key", key)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "metadata", normalize_metadata(metadata, owner))
        object.__setattr__(self, "partition", partition)
        object.__setattr__(self, "tags", check_tags(dict(tags) if tags else None, owner))
        object.__setattr__(self, "data_version", check_data_version(data_version, owner))


@serializable()
@dataclass(frozen=True)
class AssetObservation:
    """An asset (partition) was seen, without being written: e.g. a source table's row count."""

    asset_key: AssetKey
    description: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    partition: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def __init__(
        self,
        asset_key: AssetKey | str | Sequence[str],
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partition: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        key = AssetKey.from_coercible(asset_key)
        object.__setattr__(self, "asset_key", key)
        object.__setattr__(self, "description", description)
        object.__setattr__(self, "metadata", normalize_metadata(metadata, f"observation of {key}"))
        object.__setattr__(self, "partition", partition)
        object.__setattr__(
            self, "tags", check_tags(dict(tags) if tags else None, f"observation of {key}")
        )


@serializable()
@dataclass(frozen=True)
class ExpectationResult:
    """A data-quality expectation evaluated inside an op (kept for ops; assets use checks)."""

    success: bool
    label: str | None = None
    description: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
