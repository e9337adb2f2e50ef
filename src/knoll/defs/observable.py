"""``@observable_source_asset``: a source asset whose function observes its data version.

Knoll does not compute a source asset. Its function looks at the data (a file's modification
time, a table's row count or newest timestamp) and returns a ``DataVersion``. Running it (in
``materialize([...])``, a job, or ``knoll asset materialize``) records an ASSET_OBSERVATION
event carrying that version under ``DATA_VERSION_TAG``; downstream assets become stale only
when a later observation reports a different version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from knoll.defs.asset import AssetsDefinition, asset
from knoll.defs.asset_spec import AssetSpec
from knoll.defs.data_version import DataVersion
from knoll.defs.keys import AssetKey
from knoll.defs.policies import AutomationCondition
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.partitions import PartitionsDefinition

#: The tag of an observation that holds the data version the source reported.
DATA_VERSION_TAG = "knoll/data_version"


@overload
def observable_source_asset(fn: Callable[..., Any], /) -> AssetsDefinition: ...


@overload
def observable_source_asset(
    *,
    key: AssetKey | str | Sequence[str] | None = None,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    io_manager_key: str | None = None,
    description: str | None = None,
    group_name: str | None = None,
    required_resource_keys: Collection[str] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    automation_condition: AutomationCondition | None = None,
    op_tags: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def observable_source_asset(  # noqa: PLR0913 (Dagster's keyword arguments)
    fn: Callable[..., Any] | None = None,
    /,
    *,
    key: AssetKey | str | Sequence[str] | None = None,
    name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    io_manager_key: str | None = None,
    description: str | None = None,
    group_name: str | None = None,
    required_resource_keys: Collection[str] | None = None,
    partitions_def: PartitionsDefinition | None = None,
    automation_condition: AutomationCondition | None = None,
    op_tags: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare a source asset observed by the decorated function, which returns a
    ``DataVersion``. It takes a context and resources, never upstream assets."""

    def decorate(f: Callable[..., Any]) -> AssetsDefinition:
        made = asset(
            name=name,
            key=key,
            key_prefix=key_prefix,
            metadata=metadata,
            io_manager_key=io_manager_key,
            description=description,
            group_name=group_name,
            required_resource_keys=required_resource_keys,
            partitions_def=partitions_def,
            automation_condition=automation_condition,
            op_tags=op_tags,
            tags=tags,
            dagster_type=DataVersion,
        )(f)
        assert made.op is not None  # made by @asset from a function
        if made.op.input_defs:
            first = next(iter(made.op.input_defs))
            raise DefinitionError(
                f"observable source asset {made.key.to_user_string()!r} ({made.source}) takes "
                f"parameter {first!r}; an observation function reads no upstream assets, only "
                "a context and resources. Drop the parameter (or make it a resource)."
            )
        return dataclasses.replace(made, is_observable=True)

    return decorate(fn) if fn is not None else decorate


def is_observable(item: AssetsDefinition | AssetSpec) -> bool:
    return isinstance(item, AssetsDefinition) and item.is_observable
