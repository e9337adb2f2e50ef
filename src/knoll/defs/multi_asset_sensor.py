"""``@multi_asset_sensor``: a sensor that watches the materializations of several assets.

The function gets a :class:`MultiAssetSensorEvaluationContext` that reads each monitored
asset's materializations after that asset's own cursor. The function decides what it has
consumed: ``advance_cursor(...)`` or ``advance_all_cursors()``; an asset whose cursor is not
advanced shows the same materializations again on the next tick, as in Dagster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, Unpack, runtime_checkable

from knoll._utils import check_node_name
from knoll.defs._event_sensor import (
    EventSensorDefinition,
    SensorOptions,
    call_user_fn,
    described,
    sensor_decorator,
    with_signature,
)
from knoll.defs._multi_asset_cursor import (
    BATCH,
    AssetCursor,
    CursorAdvances,
    read_cursor,
    write_cursor,
)
from knoll.defs._tick_fn import ResourcesView, TickFunction
from knoll.defs.asset import AssetsDefinition
from knoll.defs.asset_graph import AssetGraph
from knoll.defs.asset_sensor import MaterializationReader, reader_of
from knoll.defs.event_filters import AssetRecordsFilter
from knoll.defs.keys import AssetKey
from knoll.defs.partitions import PartitionsDefinition
from knoll.defs.selection import AssetSelection
from knoll.defs.sensor import (
    SensorEvaluationContext,
    SensorEvaluationResult,
)
from knoll.errors import DefinitionError, InvalidInvocationError, SelectionError

if TYPE_CHECKING:
    from knoll.defs.definitions import Definitions


def _monitored(monitored_assets: object, owner: str) -> tuple[AssetKey, ...] | AssetSelection:
    if isinstance(monitored_assets, AssetSelection):
        return monitored_assets
    return _monitored_keys(monitored_assets, owner)


def selected_keys(selection: AssetSelection, graph: AssetGraph, owner: str) -> tuple[AssetKey, ...]:
    """The assets ``selection`` picks in ``graph``, in key order; an error when none."""
    try:
        keys = selection.resolve(graph)
    except SelectionError as exc:
        raise DefinitionError(f"monitored_assets of {owner} cannot be resolved: {exc}") from exc
    if not keys:
        raise DefinitionError(
            f"monitored_assets of {owner} is {selection!r}, which selects no asset of its "
            "definitions: fix the selection (check group names and key prefixes) or list the "
            "asset keys to watch."
        )
    return tuple(sorted(keys, key=str))


def _monitored_keys(monitored_assets: object, owner: str) -> tuple[AssetKey, ...]:
    if isinstance(monitored_assets, (str, bytes)) or not isinstance(monitored_assets, Sequence):
        raise DefinitionError(
            f"monitored_assets of {owner} must be a list of asset keys (or assets) or an "
            f"AssetSelection, got "
            f"{monitored_assets!r}."
        )
    keys: list[AssetKey] = []
    for item in monitored_assets:
        if isinstance(item, (AssetKey, str)):
            keys.append(AssetKey.from_coercible(item))
        elif isinstance(item, AssetsDefinition):
            keys.extend(sorted(item.keys, key=str))
        else:
            raise DefinitionError(
                f"monitored_assets of {owner} lists a {type(item).__name__} ({item!r}): give "
                "AssetKeys or asset definitions."
            )
    if not keys:
        raise DefinitionError(f"monitored_assets of {owner} is empty: list the assets to watch.")
    return tuple(dict.fromkeys(keys))


class MultiAssetSensorEvaluationContext(SensorEvaluationContext):
    """A sensor context that reads the materializations of the monitored assets, each after
    its own cursor, and marks them consumed.

    Reads during a tick start from the cursor the tick began with; ``advance_cursor`` and
    ``advance_all_cursors`` decide the cursor of the next tick. A partitioned event that was
    passed over (a later one was consumed, it was not) stays available: it is one of the
    asset's trailing unconsumed events until it is consumed.
    """

    def __init__(
        self,
        monitored_assets: Sequence[AssetKey | str],
        cursor: str | None = None,
        *,
        instance: Any = None,
        resources: Mapping[str, Any] | ResourcesView | None = None,
        last_tick_completion_time: float | None = None,
        last_run_key: str | None = None,
        asset_graph: AssetGraph | None = None,
    ) -> None:
        super().__init__(
            cursor,
            resources=resources,
            instance=instance,
            last_tick_completion_time=last_tick_completion_time,
            last_run_key=last_run_key,
        )
        self._keys = _monitored_keys(monitored_assets, "the multi-asset sensor context")
        self._graph = asset_graph
        self._initial = read_cursor(cursor, self._keys)
        self._advances = CursorAdvances()
        self._trailing_records: dict[int, Any] | None = None

    @property
    def asset_keys(self) -> tuple[AssetKey, ...]:
        """The monitored assets."""
        return self._keys

    @property
    def assets_defs_by_key(self) -> dict[AssetKey, AssetsDefinition | None]:
        """The definition of each monitored asset, None for one its code location lacks."""
        graph = self._graph
        return {
            k: graph.assets_def_for(k) if graph is not None and graph.has(k) else None
            for k in self._keys
        }

    def _key(self, asset_key: AssetKey | str | Sequence[str]) -> AssetKey:
        key = AssetKey.from_coercible(asset_key)
        if key not in self._keys:
            watched = ", ".join(k.to_user_string() for k in self._keys)
            raise InvalidInvocationError(
                f"asset {key} is not monitored by this multi-asset sensor (it watches "
                f"{watched}); add it to monitored_assets."
            )
        return key

    def _cursor_of(self, key: AssetKey) -> AssetCursor:
        return self._initial.get(key, AssetCursor())

    def _reader(self) -> MaterializationReader:
        return reader_of(self, "multi-asset sensor")

    def _records(self, wanted: AssetRecordsFilter, limit: int | None) -> list[Any]:
        """The records ``wanted`` picks, oldest first, at most ``limit``."""
        reader = self._reader()
        records: list[Any] = []
        cursor: str | None = None
        while limit is None or len(records) < limit:
            size = BATCH if limit is None else min(BATCH, limit - len(records))
            page = reader.fetch_materializations(wanted, limit=size, cursor=cursor, ascending=True)
            records.extend(page.records)
            if not page.has_more:
                break
            cursor = page.cursor
        return records

    def _between(self, key: AssetKey, after: int | None, before: int) -> list[Any]:
        wanted = AssetRecordsFilter(key, after_storage_id=after, before_storage_id=before)
        return self._records(wanted, None)

    def latest_materialization_records_by_key(
        self, asset_keys: Sequence[AssetKey] | None = None
    ) -> dict[AssetKey, Any]:
        """Each asset's newest materialization record after its cursor, or None."""
        reader = self._reader()
        keys = [self._key(k) for k in asset_keys] if asset_keys is not None else self._keys
        found: dict[AssetKey, Any] = {}
        for key in keys:
            after = self._cursor_of(key).latest_consumed_event_id
            page = reader.fetch_materializations(
                AssetRecordsFilter(key, after_storage_id=after), limit=1
            )
            found[key] = page.records[0] if page.records else None
        return found

    def materialization_records_for_key(
        self, asset_key: AssetKey | str, limit: int | None = None
    ) -> list[Any]:
        """The asset's materialization records after its cursor, oldest first."""
        key = self._key(asset_key)
        after = self._cursor_of(key).latest_consumed_event_id
        return self._records(AssetRecordsFilter(key, after_storage_id=after), limit)

    def get_trailing_unconsumed_events(self, asset_key: AssetKey | str) -> list[Any]:
        """The asset's events stored before its cursor that were passed over and not yet
        consumed (the newest of each partition), oldest first."""
        key = self._key(asset_key)
        if self._trailing_records is None:
            self._trailing_records = {}
            for watched in self._keys:
                ids = list(
                    self._cursor_of(watched).trailing_unconsumed_partitioned_event_ids.values()
                )
                if ids:
                    found = self._records(AssetRecordsFilter(watched, storage_ids=ids), len(ids))
                    self._trailing_records.update({int(r.storage_id): r for r in found})
        ids = list(self._cursor_of(key).trailing_unconsumed_partitioned_event_ids.values())
        return [self._trailing_records[i] for i in sorted(ids) if i in self._trailing_records]

    def _partitions_def(self, key: AssetKey, doing: str) -> PartitionsDefinition | None:
        """The asset's partitions definition; None when the context has no asset graph."""
        if self._graph is None:
            return None
        partitions_def = self._graph.node(key).spec.partitions_def if self._graph.has(key) else None
        if partitions_def is None:
            raise InvalidInvocationError(
                f"multi-asset sensor: {doing} needs a partitioned asset, and {key} is not "
                "partitioned (or not in the sensor's definitions): read it with "
                "latest_materialization_records_by_key() instead."
            )
        return partitions_def

    def _partition_keys(self, key: AssetKey, doing: str) -> list[str] | None:
        partitions_def = self._partitions_def(key, doing)
        if partitions_def is None:
            return None
        return list(partitions_def.get_partition_keys(dynamic_partitions_store=self.instance))

    def latest_materialization_records_by_partition(
        self, asset_key: AssetKey | str, after_cursor_partition: bool = False
    ) -> dict[str, Any]:
        """For each partition with an unconsumed materialization (a trailing one or one after
        the cursor), its newest record, in the order they were stored. With
        ``after_cursor_partition``, only partitions after the cursor's partition."""
        key = self._key(asset_key)
        doing = "latest_materialization_records_by_partition"
        partitions = self._partition_keys(key, doing)
        cursor = self._cursor_of(key)
        if after_cursor_partition:
            if partitions is None:
                raise _needs_graph(doing + "(after_cursor_partition=True)")
            at = cursor.latest_consumed_event_partition
            if at is not None and at in partitions:
                partitions = partitions[partitions.index(at) + 1 :]
        allowed = frozenset(partitions) if partitions is not None else None
        by_partition: dict[str, Any] = {}
        newer = self._records(
            AssetRecordsFilter(key, after_storage_id=cursor.latest_consumed_event_id), None
        )
        for record in [*self.get_trailing_unconsumed_events(key), *newer]:
            partition = record.partition_key
            if isinstance(partition, str) and (allowed is None or partition in allowed):
                by_partition.pop(partition, None)  # keeps the order events were stored in
                by_partition[partition] = record
        return by_partition

    def latest_materialization_records_by_partition_and_asset(
        self,
    ) -> dict[str, dict[AssetKey, Any]]:
        """Partition key -> monitored asset -> its newest unconsumed materialization of that
        partition. Every monitored asset must share one partitions definition."""
        doing = "latest_materialization_records_by_partition_and_asset"
        if self._graph is None:
            raise _needs_graph(doing)
        defs = [self._partitions_def(k, doing) for k in self._keys]
        if any(d != defs[0] for d in defs):
            raise InvalidInvocationError(
                f"multi-asset sensor: {doing} needs every monitored asset to share one "
                "partitions definition, and they do not; read each asset with "
                "latest_materialization_records_by_partition(key)."
            )
        found: dict[str, dict[AssetKey, Any]] = {}
        for key in self._keys:
            for partition, record in self.latest_materialization_records_by_partition(key).items():
                found.setdefault(partition, {})[key] = record
        return found

    def get_cursor_partition(self, asset_key: AssetKey | str | None = None) -> str | None:
        """The partition of the newest materialization the asset's cursor consumed."""
        if asset_key is None:
            if len(self._keys) != 1:
                raise InvalidInvocationError(
                    "multi-asset sensor: get_cursor_partition() needs an asset key when the "
                    f"sensor watches {len(self._keys)} assets; pass one of them."
                )
            asset_key = self._keys[0]
        return self._cursor_of(self._key(asset_key)).latest_consumed_event_partition

    def all_partitions_materialized(
        self, asset_key: AssetKey | str, partitions: Sequence[str] | None = None
    ) -> bool:
        """Whether each of ``partitions`` (every partition of the asset when None) has ever
        been materialized, whatever the cursor."""
        key = AssetKey.from_coercible(asset_key)
        if partitions is not None and (isinstance(partitions, str) or not partitions):
            raise InvalidInvocationError(
                f"multi-asset sensor: all_partitions_materialized({key}) takes a non-empty "
                f"list of partition keys (or None for all of them), got {partitions!r}."
            )
        if partitions is None:
            doing = "all_partitions_materialized"
            partitions = self._partition_keys(self._key(key), doing)
            if partitions is None:
                raise _needs_graph(doing + " without partitions")
        instance = self.instance
        if not isinstance(instance, PartitionStatusReader):
            self._reader()  # says how to give the context an instance
            raise _needs_graph("all_partitions_materialized")
        status = instance.get_partition_status(key)
        for partition in partitions:
            state = getattr(status.get(partition), "value", "MISSING")
            if state == "MATERIALIZED":
                continue
            if state == "MISSING":
                return False
            # failed or in progress now: materialized before?
            ever = self._reader().fetch_materializations(
                AssetRecordsFilter(key, asset_partitions=[partition]), limit=1
            )
            if not ever.records:
                return False
        return True

    def advance_cursor(self, materialization_records_by_key: Mapping[Any, Any]) -> None:
        """Mark these records (one per asset, None to leave one as is) as consumed: the next
        tick no longer reads them, nor earlier events of the same asset and partition."""
        self._advances.add({self._key(k): r for k, r in materialization_records_by_key.items()})
        self._write_cursor()

    def advance_all_cursors(self) -> None:
        """Mark every materialization of every monitored asset stored so far as consumed,
        trailing unconsumed events included."""
        self._advances.add(self.latest_materialization_records_by_key())
        self._advances.all_consumed = True
        self._write_cursor()

    def _write_cursor(self) -> None:
        moved = {
            key: self._advances.moved(
                key,
                self._cursor_of(key),
                self.get_trailing_unconsumed_events(key),
                self._between,
            )
            for key in self._keys
        }
        self.update_cursor(write_cursor(moved))


def _needs_graph(doing: str) -> InvalidInvocationError:
    return InvalidInvocationError(
        f"multi-asset sensor: {doing} needs the partitions definitions of the monitored "
        "assets: evaluate the sensor through its code location, or build its context with "
        "build_multi_asset_sensor_context(monitored_assets=..., instance=..., "
        "definitions=defs)."
    )


@runtime_checkable
class PartitionStatusReader(Protocol):
    """What ``all_partitions_materialized`` needs of ``context.instance``."""

    def get_partition_status(self, key: AssetKey) -> Mapping[str, Any]: ...


def build_multi_asset_sensor_context(
    monitored_assets: Sequence[AssetKey | str] | AssetSelection,
    instance: Any = None,
    cursor: str | None = None,
    resources: Mapping[str, Any] | None = None,
    last_tick_completion_time: float | None = None,
    definitions: Definitions | None = None,
) -> MultiAssetSensorEvaluationContext:
    """A context to call or test a multi-asset sensor with; an ``AssetSelection`` is resolved
    against the assets of ``definitions``."""
    owner = "build_multi_asset_sensor_context"
    if isinstance(monitored_assets, AssetSelection):
        if definitions is None:
            raise InvalidInvocationError(
                f"{owner}: monitored_assets is {monitored_assets!r}, which needs the assets "
                "to select from; pass definitions=defs (the Definitions the sensor is in)."
            )
        monitored_assets = selected_keys(monitored_assets, definitions.asset_graph, owner)
    return MultiAssetSensorEvaluationContext(
        monitored_assets,
        cursor,
        instance=instance,
        resources=resources,
        last_tick_completion_time=last_tick_completion_time,
        asset_graph=definitions.asset_graph if definitions is not None else None,
    )


@dataclass(frozen=True, eq=False, init=False)
class MultiAssetSensorDefinition(EventSensorDefinition):
    """A sensor whose function reads the materializations of ``monitored_assets``: asset
    keys, or an ``AssetSelection`` resolved against its code location's assets at each tick
    (``monitored_asset_keys`` is empty then)."""

    reader = MaterializationReader
    reads = "materializations"
    monitored_asset_keys: tuple[AssetKey, ...]
    monitored_selection: AssetSelection | None

    def __init__(
        self,
        name: str | None,
        monitored_assets: Sequence[Any] | AssetSelection,
        *,
        asset_materialization_fn: Callable[..., Any],
        **options: Unpack[SensorOptions],
    ) -> None:
        name = check_node_name(name, "multi-asset sensor")
        monitored = _monitored(monitored_assets, f"multi-asset sensor {name!r}")
        evaluation_fn = _tick_of(name, monitored, asset_materialization_fn)
        super().__init__(name, evaluation_fn=evaluation_fn, **options)
        selection = monitored if isinstance(monitored, AssetSelection) else None
        object.__setattr__(self, "monitored_asset_keys", () if selection else monitored)
        object.__setattr__(self, "monitored_selection", selection)

    @property
    def owner(self) -> str:
        return f"multi-asset sensor {self.name!r}"

    def context_for(
        self, context: SensorEvaluationContext, graph: AssetGraph
    ) -> SensorEvaluationContext:
        """The tick context over this sensor's assets in ``graph`` (its code location's asset
        graph), which resolves a monitored ``AssetSelection``."""
        reader_of(context, self.owner)
        selection = self.monitored_selection
        keys = self.monitored_asset_keys
        if selection is not None:
            keys = selected_keys(selection, graph, self.owner)
        return _over(keys, context, graph)

    def evaluate_tick(self, context: SensorEvaluationContext) -> SensorEvaluationResult:
        selection = self.monitored_selection
        if selection is not None and not isinstance(context, MultiAssetSensorEvaluationContext):
            reader_of(context, self.owner)  # no instance: say that first
            raise _needs_definitions(self.owner, selection)
        return super().evaluate_tick(context)

    def to_snapshot(self) -> dict[str, Any]:
        monitored = [list(k.path) for k in self.monitored_asset_keys]
        selection = self.monitored_selection
        described = {"monitored_selection": selection.describe()} if selection else {}
        return {**super().to_snapshot(), "monitored_assets": monitored, **described}


def _over(
    keys: Sequence[AssetKey], context: SensorEvaluationContext, graph: AssetGraph | None
) -> MultiAssetSensorEvaluationContext:
    """A multi-asset context over ``keys`` with what ``context`` carries."""
    return MultiAssetSensorEvaluationContext(
        keys,
        context.cursor,
        instance=context.instance,
        resources=context.resources,
        last_tick_completion_time=context.last_tick_completion_time,
        last_run_key=context.last_run_key,
        asset_graph=graph,
    )


def _needs_definitions(owner: str, selection: AssetSelection) -> InvalidInvocationError:
    return InvalidInvocationError(
        f"{owner} monitors {selection!r}, which is resolved against the assets of the "
        "Definitions it is in: evaluate it through its code location, or build its context "
        "with build_multi_asset_sensor_context(monitored_assets=..., instance=..., "
        "definitions=defs)."
    )


def _tick_of(
    name: str, monitored: tuple[AssetKey, ...] | AssetSelection, fn: Callable[..., Any]
) -> Callable[..., Any]:
    user = TickFunction.read(fn, "multi-asset sensor", name)
    owner = f"multi-asset sensor {name!r}"

    def evaluate(context: SensorEvaluationContext, **kwargs: Any) -> Any:
        multi = context
        if not isinstance(context, MultiAssetSensorEvaluationContext):
            reader_of(context, owner)
            if isinstance(monitored, AssetSelection):
                raise _needs_definitions(owner, monitored)
            multi = _over(monitored, context, None)
        result = call_user_fn(
            user,
            multi,
            kwargs,
            owner,
            "a multi-asset sensor keeps one cursor per asset; move them with "
            "context.advance_cursor(...) or context.advance_all_cursors().",
        )
        if multi is not context and multi.cursor != context.cursor:
            context.update_cursor(multi.cursor)
        return result

    return with_signature(evaluate, name, user, user.resource_params)


def multi_asset_sensor(
    monitored_assets: Sequence[Any] | AssetSelection,
    *,
    name: str | None = None,
    **options: Unpack[SensorOptions],
) -> Callable[[Callable[..., Any]], MultiAssetSensorDefinition]:
    """Make a sensor whose function gets a :class:`MultiAssetSensorEvaluationContext` over the
    materializations of ``monitored_assets`` and returns what a ``@sensor`` function returns.
    The other keyword arguments are those of ``@sensor`` (``job``, ``jobs``, ``target``,
    ``minimum_interval_seconds``, ``default_status``, ...)."""

    def build(
        name: str, fn: Callable[..., Any], description: str | None
    ) -> MultiAssetSensorDefinition:
        return MultiAssetSensorDefinition(
            name, monitored_assets, asset_materialization_fn=fn, **described(options, description)
        )

    return sensor_decorator("multi_asset_sensor", name, options.get("description"), build)
