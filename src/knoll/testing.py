"""Testing helpers: run assets and ops in this process, build contexts, keep outputs in memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

from knoll.defs.keys import AssetKey
from knoll.defs.metadata import normalize_metadata
from knoll.defs.op import OpDefinition
from knoll.defs.partitions import PartitionKeyRange, PartitionsDefinition
from knoll.defs.partitions.static import StaticPartitionsDefinition
from knoll.defs.resource_definition import Resources
from knoll.errors import InvalidInvocationError
from knoll.execution.context import InputContext, OutputContext, PartitionScope
from knoll.execution.direct import build_asset_context, build_op_context
from knoll.execution.hooks import build_hook_context
from knoll.execution.materialize import materialize, materialize_to_memory

__all__ = [
    "build_asset_context",
    "build_hook_context",
    "build_input_context",
    "build_op_context",
    "build_output_context",
    "materialize",
    "materialize_to_memory",
]

_TEST_RUN_ID = "test-run"
_TEST_STEP = "test-step"


class _BuiltContext:
    """What Dagster's built contexts also are: usable as ``with build_..._context() as c:``."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class BuiltOutputContext(_BuiltContext, OutputContext):
    """An ``OutputContext`` made by ``build_output_context``."""

    mapping_key: str | None = None
    version: str | None = None
    instance: object | None = None


class BuiltInputContext(_BuiltContext, InputContext):
    """An ``InputContext`` made by ``build_input_context``."""

    instance: object | None = None


def _partition_keys(
    owner: str,
    partition_key: str | None,
    key_range: PartitionKeyRange | None,
    partitions_def: PartitionsDefinition | None,
) -> tuple[tuple[str, ...] | None, PartitionsDefinition | None]:
    if partition_key is not None and key_range is not None:
        raise InvalidInvocationError(
            f"{owner}: give partition_key or asset_partition_key_range, not both."
        )
    if partition_key is not None:
        if partitions_def is not None:
            partitions_def.validate_partition_key(partition_key, owner)
        return (partition_key,), partitions_def or StaticPartitionsDefinition([partition_key])
    if key_range is not None:
        if partitions_def is None:
            raise InvalidInvocationError(
                f"{owner}: asset_partition_key_range needs asset_partitions_def, which tells "
                "the keys in the range. Pass asset_partitions_def=... as well."
            )
        return tuple(partitions_def.get_partition_keys_in_range(key_range)), partitions_def
    return None, partitions_def


def _resources(resources: Mapping[str, object] | None, owner: str) -> Resources:
    return Resources(dict(resources or {}), owner, hint="Pass it in resources=...")


def build_output_context(  # noqa: PLR0913 (Dagster's keyword arguments)
    step_key: str | None = None,
    name: str | None = None,
    definition_metadata: Mapping[str, Any] | None = None,
    run_id: str | None = None,
    mapping_key: str | None = None,
    config: Any = None,
    dagster_type: Any = None,
    version: str | None = None,
    resource_config: Mapping[str, object] | None = None,
    resources: Mapping[str, object] | None = None,
    op_def: OpDefinition | None = None,
    asset_key: AssetKey | str | Sequence[str] | None = None,
    partition_key: str | None = None,
    asset_partitions_def: PartitionsDefinition | None = None,
    asset_partition_key_range: PartitionKeyRange | None = None,
    instance: object | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> BuiltOutputContext:
    """An ``OutputContext`` for calling an IO manager's ``handle_output`` in a unit test."""
    owner = "build_output_context(...)"
    keys, parts_def = _partition_keys(
        owner, partition_key, asset_partition_key_range, asset_partitions_def
    )
    scope = None
    if keys is not None and parts_def is not None:
        scope = PartitionScope(parts_def, keys, PartitionKeyRange(keys[0], keys[-1]))
    defined = normalize_metadata(definition_metadata or metadata, owner)
    context = BuiltOutputContext(
        name=name or "result",
        step_key=step_key or _TEST_STEP,
        run_id=run_id or _TEST_RUN_ID,
        asset_key=AssetKey.from_coercible(asset_key) if asset_key is not None else None,
        partitions_def=parts_def,
        partition=scope,
        metadata=defined,
        definition_metadata=defined,
        dagster_type=dagster_type,
        op_def=op_def,
        resources=_resources(resources, "this output context"),
        resource_config=resource_config,
        config=config,
    )
    context.mapping_key = mapping_key
    context.version = version
    context.instance = instance
    return context


def build_input_context(  # noqa: PLR0913 (Dagster's keyword arguments)
    name: str | None = None,
    config: Any = None,
    definition_metadata: Mapping[str, Any] | None = None,
    upstream_output: OutputContext | None = None,
    dagster_type: Any = None,
    resource_config: Mapping[str, Any] | None = None,
    resources: Mapping[str, object] | None = None,
    op_def: OpDefinition | None = None,
    asset_key: AssetKey | str | Sequence[str] | None = None,
    partition_key: str | None = None,
    asset_partition_key_range: PartitionKeyRange | None = None,
    asset_partitions_def: PartitionsDefinition | None = None,
    instance: object | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> BuiltInputContext:
    """An ``InputContext`` for calling an IO manager's ``load_input`` in a unit test.

    Give ``upstream_output`` (from ``build_output_context``) to load what an output stored;
    without ``asset_key``, the upstream output's asset key is used.
    """
    owner = "build_input_context(...)"
    keys, parts_def = _partition_keys(
        owner, partition_key, asset_partition_key_range, asset_partitions_def
    )
    key = AssetKey.from_coercible(asset_key) if asset_key is not None else None
    if key is None and upstream_output is not None and upstream_output.has_asset_key:
        key = upstream_output.asset_key
    defined = normalize_metadata(definition_metadata or metadata, owner)
    context = BuiltInputContext(
        name=name or "input",
        step_key=_TEST_STEP,
        run_id=_TEST_RUN_ID,
        asset_key=key,
        upstream_output=upstream_output,
        partitions_def=parts_def,
        partition_keys=keys,
        metadata=defined,
        definition_metadata=defined,
        dagster_type=dagster_type,
        op_def=op_def,
        resources=_resources(resources, "this input context"),
        resource_config=resource_config,
        config=config,
    )
    context.instance = instance
    return context
