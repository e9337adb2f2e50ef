"""Staleness: which assets (and partitions) need materializing again, and why.

An asset is stale when it was never materialized, when its ``code_version`` is not the one its
last materialization recorded, or when an upstream asset was materialized after it (by
another run). When that upstream materialization reported a data version, it makes the asset
stale only if the version differs from the one of the upstream materialization the asset
read (the latest one of the same partition before it).

A partitioned asset is judged per partition, as Dagster's stale status resolver does: the
latest materialization of each partition against the latest materialization of each upstream
partition it reads, as the dependency's partition mapping says. An unpartitioned upstream
counts for every partition; an unpartitioned asset reads every partition of a partitioned
upstream, and one that reads ``MAX_UPSTREAM_PARTITIONS`` or more partitions of an upstream
is compared with that upstream's latest materialization of any partition instead.

A virtual asset (``is_virtual=True``, a view) is computed whenever it is read, so it is
looked through, as Dagster does: it is stale only when its code version changed, it is not
"never materialized" once an asset upstream of it that is not virtual holds data, and an
asset downstream of it is stale when one of those non-virtual ancestors was materialized
after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from knoll.defs.asset_graph import AssetGraph, AssetNode
from knoll.defs.keys import AssetKey
from knoll.defs.observable import DATA_VERSION_TAG
from knoll.defs.output import AssetMaterialization, AssetObservation
from knoll.defs.partitions import PartitionsDefinition, infer_partition_mapping
from knoll.defs.partitions.dynamic import DynamicPartitionsReader
from knoll.errors import DefinitionError, PartitionKeyError
from knoll.execution.events import CODE_VERSION_TAG
from knoll.storage.base import EventLogStorage, EventRecord

NEVER_MATERIALIZED = "never materialized"
MAX_UPSTREAM_PARTITIONS = 100
"""From this many upstream partitions on (Dagster's threshold), a partition is compared with
the upstream asset's latest materialization of any partition, not partition by partition."""
SHOWN_PARTITIONS = 10
"""How many stale partitions of one asset ``get_stale_assets`` lists before summing up."""
_PAGE = 500  # materializations read per query when finding the latest of each partition


def recorded_code_version(record: EventRecord) -> str | None:
    """The code version a materialization was made with (None when the asset had none)."""
    data = record.event.data
    if isinstance(data, AssetMaterialization):
        return data.tags.get(CODE_VERSION_TAG)
    return None


def _shown(version: str | None) -> str:
    return "none" if version is None else repr(version)


def recorded_data_version(record: EventRecord) -> str | None:
    """The data version a materialization reported (None when the asset reported none)."""
    data = record.event.data
    if isinstance(data, AssetMaterialization):
        return data.data_version
    return None


def observed_data_version(record: EventRecord) -> str | None:
    """The data version an observation of a source asset reported (None without one)."""
    data = record.event.data
    if isinstance(data, AssetObservation):
        return data.tags.get(DATA_VERSION_TAG)
    return None


def stale_reasons(
    graph: AssetGraph,
    latest: Mapping[AssetKey, EventRecord],
    events: EventLogStorage,
    dynamic: DynamicPartitionsReader | None = None,
) -> dict[AssetKey, list[str]]:
    """Why each stale asset of ``graph`` is stale, given the latest materialization of each
    asset; assets that are up to date (and external assets) are left out. ``events`` answers
    which materialization of an upstream asset a downstream one read.

    A partitioned asset is stale when one of its materialized partitions is: its reasons are
    those of each such partition, led by ``partition 'key': ``. Partitions never
    materialized are missing rather than stale, and are left out unless no partition was
    ever materialized (see :func:`stale_partition_reasons`).
    """
    resolver = _Resolver(graph, latest, events, dynamic)
    out: dict[AssetKey, list[str]] = {}
    for key in graph.toposorted_keys:
        node = graph.node(key)
        if not _is_judged(node):
            continue
        if resolver.partitions_def(key) is None:
            reasons = resolver.reasons(key, None, latest.get(key))
        else:
            reasons = _partitioned_summary(resolver, key)
        if reasons:
            out[key] = reasons
    return out


def stale_partition_reasons(
    graph: AssetGraph,
    key: AssetKey,
    events: EventLogStorage,
    dynamic: DynamicPartitionsReader | None = None,
    partition_keys: Sequence[str] | None = None,
) -> dict[str, list[str]]:
    """Why each stale partition of the partitioned asset ``key`` is stale, never-materialized
    ones included; ``partition_keys`` limits the answer to those partitions."""
    node = graph.node(key)
    resolver = _Resolver(graph, {}, events, dynamic)
    partitions_def = resolver.partitions_def(key)
    if partitions_def is None:
        raise DefinitionError(
            f"asset {key.to_user_string()!r} is not partitioned: ask "
            "instance.get_stale_assets(defs) whether it is stale."
        )
    if not _is_judged(node):
        return {}
    keys = list(partitions_def.get_partition_keys(dynamic_partitions_store=dynamic))
    if partition_keys is not None:
        defined = set(keys)
        unknown = [k for k in partition_keys if k not in defined]
        if unknown:
            raise PartitionKeyError(
                f"asset {key.to_user_string()!r} has no partition {unknown[0]!r} "
                f"({partitions_def.describe()}): ask about one of its partition keys."
            )
        keys = list(partition_keys)
    records = resolver.latest_by_partition(key)
    out: dict[str, list[str]] = {}
    for partition in keys:
        reasons = resolver.reasons(key, partition, records.get(partition))
        if reasons:
            out[partition] = reasons
    return out


def _is_judged(node: AssetNode) -> bool:
    """Whether knoll materializes the asset: not an external or observed source asset."""
    return node.is_executable and not node.assets_def.is_observable


def _partitioned_summary(resolver: _Resolver, key: AssetKey) -> list[str]:
    records = resolver.latest_by_partition(key)
    if not records:
        return resolver.reasons(key, None, None)  # never materialized (or a view over data)
    defined = resolver.partition_keys(key)
    reasons: list[str] = []
    stale_count = 0
    for partition in defined:
        record = records.get(partition)
        if record is None:
            continue  # missing, not stale
        found = resolver.reasons(key, partition, record)
        if found:
            stale_count += 1
            if stale_count <= SHOWN_PARTITIONS:
                reasons.extend(f"partition {partition!r}: {reason}" for reason in found)
    if stale_count > SHOWN_PARTITIONS:
        reasons.append(f"and {stale_count - SHOWN_PARTITIONS} more stale partitions")
    return reasons


class _Resolver:
    """Answers staleness questions, reading each latest record from storage once."""

    def __init__(
        self,
        graph: AssetGraph,
        latest: Mapping[AssetKey, EventRecord],
        events: EventLogStorage,
        dynamic: DynamicPartitionsReader | None,
    ) -> None:
        self.graph = graph
        self.events = events
        self.dynamic = dynamic
        self._latest = dict(latest)
        self._fetched: set[AssetKey] = set(latest)
        self._by_partition: dict[AssetKey, dict[str, EventRecord]] = {}
        self._partition_keys: dict[AssetKey, Sequence[str]] = {}

    # ---- reading -------------------------------------------------------------------------

    def partitions_def(self, key: AssetKey) -> PartitionsDefinition | None:
        node = self.graph.node(key)
        return node.spec.partitions_def or node.assets_def.partitions_def

    def partition_keys(self, key: AssetKey) -> Sequence[str]:
        keys = self._partition_keys.get(key)
        if keys is None:
            partitions_def = self.partitions_def(key)
            assert partitions_def is not None  # asked only about partitioned assets
            keys = partitions_def.get_partition_keys(dynamic_partitions_store=self.dynamic)
            self._partition_keys[key] = keys
        return keys

    def latest(self, key: AssetKey) -> EventRecord | None:
        """The latest materialization of ``key``, of any partition."""
        if key not in self._fetched:
            self._fetched.add(key)
            found = self.events.get_materializations(key, limit=1)
            if found:
                self._latest[key] = found[0]
        return self._latest.get(key)

    def latest_by_partition(self, key: AssetKey) -> dict[str, EventRecord]:
        """The latest materialization of each partition of ``key`` that has one: newest
        first, page by page, until every partition the index knows of is found."""
        found = self._by_partition.get(key)
        if found is not None:
            return found
        found = {}
        wanted = set(self.events.get_partition_status(key))
        before: int | None = None
        while wanted:
            page = self.events.get_materializations(key, before=before, limit=_PAGE)
            for record in page:
                partition = record.event.partition
                if partition is not None and partition in wanted:
                    found[partition] = record
                    wanted.discard(partition)
            if len(page) < _PAGE:
                break
            before = page[-1].storage_id
        self._by_partition[key] = found
        return found

    # ---- reasons -------------------------------------------------------------------------

    def reasons(
        self, key: AssetKey, partition: str | None, record: EventRecord | None
    ) -> list[str]:
        """Why ``partition`` of ``key`` (None: the whole asset), last materialized as
        ``record``, is stale; empty when it is not."""
        node = self.graph.node(key)
        if record is None:
            if not node.is_virtual or not self._ancestors_hold_data(key):
                return [NEVER_MATERIALIZED]
            return []
        reasons = _code_reasons(node.spec.code_version, record)
        if node.is_virtual:  # a view reads its upstream anew each time: only its code counts
            return reasons
        for parent in self.graph.parents(key):
            reasons.extend(self._parent_reasons(key, partition, parent, record))
        reasons.extend(self._through_views(key, record))
        return reasons

    def _upstream_partitions(
        self, key: AssetKey, partition: str | None, parent: AssetKey
    ) -> Sequence[str] | None:
        """The partitions of ``parent`` that ``partition`` of ``key`` reads; None to compare
        with the parent's latest materialization of any partition."""
        upstream_def = self.partitions_def(parent)
        downstream_def = self.partitions_def(key)
        if upstream_def is None:
            return None
        explicit = self.graph.node(key).assets_def.partition_mapping_for(parent)
        mapping = infer_partition_mapping(
            explicit, downstream_def, upstream_def, f"asset {key.to_user_string()!r}"
        )
        try:
            keys = mapping.get_upstream_partition_keys(
                None if partition is None else [partition],
                downstream_def,
                upstream_def,
                dynamic_partitions_store=self.dynamic,
            )
        except PartitionKeyError:
            return []  # it reads partitions that do not exist (yet): none was rewritten
        return None if len(keys) >= MAX_UPSTREAM_PARTITIONS else keys

    def _parent_reasons(
        self, key: AssetKey, partition: str | None, parent: AssetKey, record: EventRecord
    ) -> list[str]:
        observable = self.graph.node(parent).assets_def.is_observable
        upstream_keys = self._upstream_partitions(key, partition, parent)
        if upstream_keys is None:  # the parent as a whole
            latest = None if observable else self.latest(parent)
            reason = self._parent_reason(parent, None, record, observable, latest)
            return [] if reason is None else [reason]
        records = {} if observable else self.latest_by_partition(parent)
        reasons: list[str] = []
        for upstream_partition in upstream_keys:
            latest = records.get(upstream_partition)
            reason = self._parent_reason(parent, upstream_partition, record, observable, latest)
            if reason is not None:
                reasons.append(reason)
        return reasons

    def _parent_reason(
        self,
        parent: AssetKey,
        partition: str | None,
        record: EventRecord,
        observable: bool,
        upstream: EventRecord | None,
    ) -> str | None:
        """Why (one partition of) ``parent`` makes ``record`` stale: newly observed, or
        materialized after it (``upstream``, its latest materialization); None if it does not."""
        if observable:
            return _observed_reason(parent, partition, record, self.events)
        if upstream is None:
            return None
        return _upstream_reason(parent, upstream, record, self.events, partition=partition)

    def _ancestors_hold_data(self, key: AssetKey) -> bool:
        """Whether an asset that the view ``key`` reads through views holds data: it was
        materialized, or it is a source (external or observable), which is assumed to exist
        (as in Dagster, where a source without a recorded version has the initial one)."""
        for ancestor in self.graph.get_non_virtual_ancestor_keys(key):
            node = self.graph.node(ancestor)
            if not node.is_executable or node.assets_def.is_observable:
                return True
            if self.latest(ancestor) is not None:
                return True
        return False

    def _through_views(self, key: AssetKey, record: EventRecord) -> list[str]:
        """Why the assets behind the virtual parents of ``key`` make ``record`` stale: the
        view holds no data, so a new materialization (or observation) of what it reads is new
        data for ``key``. As in Dagster, they are compared as whole assets (their latest
        materialization of any partition). Each reason names the view it was read through."""
        graph = self.graph
        reasons: list[str] = []
        parents = graph.parents(key)
        seen = set(parents)  # a direct parent's reason is given once, with the parents
        for parent in parents:
            if not graph.node(parent).is_virtual:
                continue
            for ancestor in sorted(graph.get_non_virtual_ancestor_keys(parent)):
                if ancestor in seen:
                    continue
                seen.add(ancestor)
                if graph.node(ancestor).assets_def.is_observable:
                    reason = _observed_reason(ancestor, None, record, self.events, via=parent)
                else:
                    upstream = self.latest(ancestor)
                    if upstream is None:
                        continue
                    reason = _upstream_reason(ancestor, upstream, record, self.events, via=parent)
                if reason is not None:
                    reasons.append(reason)
        return reasons


def _code_reasons(code_version: str | None, record: EventRecord) -> list[str]:
    before = recorded_code_version(record)
    if before == code_version:
        return []
    return [f"code version changed from {_shown(before)} to {_shown(code_version)}"]


def _upstream(parent: AssetKey, partition: str | None, via: AssetKey | None) -> str:
    """How a reason names the upstream asset (partition), and the view it was read through."""
    shown = f"upstream {parent.to_user_string()!r}"
    if partition is not None:
        shown = f"{shown} partition {partition!r}"
    return shown if via is None else f"{shown} (read through view {via.to_user_string()!r})"


def _upstream_reason(
    parent: AssetKey,
    upstream: EventRecord,
    record: EventRecord,
    events: EventLogStorage,
    via: AssetKey | None = None,
    partition: str | None = None,
) -> str | None:
    """Why the materialization ``upstream`` of ``parent`` makes ``record`` stale, or None when
    it does not. ``via`` is the view ``record``'s asset read ``parent`` through; ``partition``
    the upstream partition the reason is about, when it is about one."""
    if upstream.storage_id < record.storage_id or upstream.event.run_id == record.event.run_id:
        # older, or one run wrote both and read the new upstream (a multi-asset, say)
        return None
    who = _upstream(parent, partition, via)
    version = recorded_data_version(upstream)
    if version is not None:
        # the materialization of the same partition that was the latest when ``record`` ran
        partitions = [upstream.event.partition] if upstream.event.partition is not None else None
        read = events.get_materializations(
            parent, partitions=partitions, before=record.storage_id, limit=1
        )
        if read:
            was = recorded_data_version(read[0])
            if was == version:
                return None  # materialized again, but the data is the same
            return f"{who} has a new data version ({_shown(version)}, was {_shown(was)})"
    return f"{who} was materialized after it (run {upstream.event.run_id[:8]})"


def _observed_reason(
    parent: AssetKey,
    partition: str | None,
    record: EventRecord,
    events: EventLogStorage,
    via: AssetKey | None = None,
) -> str | None:
    """Why the observations of the source ``parent`` (of one partition, when given) make
    ``record`` stale: the newest observed data version differs from the one observed last
    before ``record`` was made."""
    partitions = None if partition is None else [partition]
    newest = events.get_observations(parent, partitions=partitions, limit=1)
    if not newest or newest[0].storage_id < record.storage_id:
        return None  # not observed since: the asset read the version it knows
    now = observed_data_version(newest[0])
    read = events.get_observations(parent, partitions=partitions, before=record.storage_id, limit=1)
    was = observed_data_version(read[0]) if read else None
    if read and was == now:
        return None  # observed again, but the data is the same
    who = _upstream(parent, partition, via)
    return f"{who} has a new data version ({_shown(now)}, was {_shown(was)})"
