"""Choosing the partition mapping between two assets when the user gives none."""

from __future__ import annotations

from knoll.defs.partitions.base import PartitionsDefinition
from knoll.defs.partitions.mapping import (
    AllPartitionMapping,
    IdentityPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
)
from knoll.defs.partitions.multi import MultiPartitionsDefinition
from knoll.defs.partitions.time_mapping import TimeWindowPartitionMapping
from knoll.defs.partitions.time_window import TimeWindowPartitionsDefinition
from knoll.errors import DefinitionError


def infer_partition_mapping(
    explicit: PartitionMapping | None,
    downstream_def: PartitionsDefinition | None,
    upstream_def: PartitionsDefinition | None,
    owner: str,
) -> PartitionMapping:
    """The mapping a dependency uses: ``explicit`` (checked) if given, else a default.

    Defaults: identity between equal definitions or from an unpartitioned upstream (there is
    nothing to map), all partitions into an unpartitioned downstream, time windows between
    time definitions, and one dimension between a multi definition and a definition equal
    to one of its dimensions. Any other pairing raises DefinitionError naming ``owner``.
    """
    if explicit is not None:
        if not isinstance(explicit, PartitionMapping):
            raise DefinitionError(
                f"partition_mapping of {owner} must be a PartitionMapping such as "
                f"TimeWindowPartitionMapping(), got {type(explicit).__name__} {explicit!r}."
            )
        if upstream_def is not None:
            explicit.validate(downstream_def, upstream_def, owner)
        return explicit
    if upstream_def is None:
        return IdentityPartitionMapping()
    if downstream_def is None:
        return AllPartitionMapping()
    if downstream_def == upstream_def:
        return IdentityPartitionMapping()
    if isinstance(downstream_def, TimeWindowPartitionsDefinition) and isinstance(
        upstream_def, TimeWindowPartitionsDefinition
    ):
        return TimeWindowPartitionMapping()
    dimension = _shared_dimension(downstream_def, upstream_def)
    if dimension is not None:
        return MultiToSingleDimensionPartitionMapping(dimension)
    raise DefinitionError(
        f"{owner} has {downstream_def.describe()}, but its upstream has "
        f"{upstream_def.describe()}, and there is no default way to tell which upstream "
        "partitions each partition reads. Give a partition mapping, for example "
        "AssetIn(partition_mapping=StaticPartitionMapping({...})) or "
        "AssetDep(upstream, partition_mapping=AllPartitionMapping())."
    )


def _shared_dimension(
    downstream_def: PartitionsDefinition, upstream_def: PartitionsDefinition
) -> str | None:
    """The dimension of the multi side that equals the other side, if exactly one does."""
    if isinstance(downstream_def, MultiPartitionsDefinition) == isinstance(
        upstream_def, MultiPartitionsDefinition
    ):
        return None
    multi, single = (
        (downstream_def, upstream_def)
        if isinstance(downstream_def, MultiPartitionsDefinition)
        else (upstream_def, downstream_def)
    )
    assert isinstance(multi, MultiPartitionsDefinition)
    matching = [d.name for d in multi.partitions_defs if d.partitions_def == single]
    return matching[0] if len(matching) == 1 else None
