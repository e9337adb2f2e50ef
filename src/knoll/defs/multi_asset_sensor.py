"""``@multi_asset_sensor``: a sensor that watches the materializations of several assets.

The function gets a :class:`MultiAssetSensorEvaluationContext` that reads each monitored
asset's materializations after that asset's own cursor. The function decides what it has
consumed: ``advance_cursor(...)`` or ``advance_all_cursors()``; an asset whose cursor is not
advanced shows the same materializations again on the next tick, as in Dagster.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from knoll._utils import check_node_name, docstring
from knoll.defs._tick_fn import ResourcesView, TickFunction
from knoll.defs.asset import AssetsDefinition
from knoll.defs.asset_graph import AssetGraph
from knoll.defs.asset_sensor import reader_of
from knoll.defs.event_filters import AssetRecordsFilter
from knoll.defs.keys import AssetKey
from knoll.defs.run_request import SensorResult
from knoll.defs.selection import AssetSelection
from knoll.defs.sensor import (
    DEFAULT_MINIMUM_INTERVAL_SECONDS,
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorEvaluationResult,
)
from knoll.errors import DefinitionError, InvalidInvocationError, SelectionError

if TYPE_CHECKING:
    from knoll.defs.definitions import Definitions

_PAGE = 500


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
    its own cursor, and advances those cursors."""

    def __init__(
        self,
        monitored_assets: Sequence[AssetKey | str],
        cursor: str | None = None,
        *,
        instance: Any = None,
        resources: Mapping[str, Any] | ResourcesView | None = None,
        last_tick_completion_time: float | None = None,
        last_run_key: str | None = None,
    ) -> None:
        super().__init__(
            cursor,
            resources=resources,
            instance=instance,
            last_tick_completion_time=last_tick_completion_time,
            last_run_key=last_run_key,
        )
        self._keys = _monitored_keys(monitored_assets, "the multi-asset sensor context")
        self._after: dict[AssetKey, int] = _read_cursor(cursor, self._keys)
        self._advanced = False

    @property
    def asset_keys(self) -> tuple[AssetKey, ...]:
        """The monitored assets."""
        return self._keys

    def _key(self, asset_key: AssetKey | str | Sequence[str]) -> AssetKey:
        key = AssetKey.from_coercible(asset_key)
        if key not in self._keys:
            watched = ", ".join(k.to_user_string() for k in self._keys)
            raise InvalidInvocationError(
                f"asset {key} is not monitored by this multi-asset sensor (it watches "
                f"{watched}); add it to monitored_assets."
            )
        return key

    def _filter(self, key: AssetKey) -> AssetRecordsFilter:
        return AssetRecordsFilter(asset_key=key, after_storage_id=self._after.get(key))

    def latest_materialization_records_by_key(
        self, asset_keys: Sequence[AssetKey] | None = None
    ) -> dict[AssetKey, Any]:
        """Each asset's newest materialization record after its cursor, or None."""
        reader = reader_of(self, "multi-asset sensor")
        keys = [self._key(k) for k in asset_keys] if asset_keys is not None else self._keys
        found: dict[AssetKey, Any] = {}
        for key in keys:
            page = reader.fetch_materializations(self._filter(key), limit=1)
            found[key] = page.records[0] if page.records else None
        return found

    def materialization_records_for_key(
        self, asset_key: AssetKey | str, limit: int | None = None
    ) -> list[Any]:
        """The asset's materialization records after its cursor, oldest first."""
        reader = reader_of(self, "multi-asset sensor")
        key = self._key(asset_key)
        records: list[Any] = []
        cursor: str | None = None
        while limit is None or len(records) < limit:
            size = _PAGE if limit is None else min(_PAGE, limit - len(records))
            page = reader.fetch_materializations(
                self._filter(key), limit=size, cursor=cursor, ascending=True
            )
            records.extend(page.records)
            if not page.has_more:
                break
            cursor = page.cursor
        return records

    def latest_materialization_records_by_partition(
        self, asset_key: AssetKey | str
    ) -> dict[str, Any]:
        """For each partition materialized after the asset's cursor, its newest record."""
        by_partition: dict[str, Any] = {}
        for record in self.materialization_records_for_key(asset_key):
            if record.partition_key is not None:
                by_partition[record.partition_key] = record
        return by_partition

    def advance_cursor(self, materialization_records_by_key: Mapping[Any, Any]) -> None:
        """Mark these records (one per asset, None to leave one as is) as consumed."""
        for raw_key, record in materialization_records_by_key.items():
            key = self._key(raw_key)
            if record is not None:
                self._after[key] = max(self._after.get(key, 0), int(record.storage_id))
        self._advanced = True
        self.update_cursor(json.dumps({k.to_user_string(): v for k, v in self._after.items()}))

    def advance_all_cursors(self) -> None:
        """Mark every materialization of every monitored asset stored so far as consumed."""
        self.advance_cursor(self.latest_materialization_records_by_key())


def _read_cursor(cursor: str | None, keys: Sequence[AssetKey]) -> dict[AssetKey, int]:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise InvalidInvocationError(
            f"multi-asset sensor cursor {cursor!r} is not one this sensor wrote (a JSON object "
            "of asset key to storage id); reset it with cursor=None."
        )
    by_name = {k.to_user_string(): k for k in keys}
    return {by_name[name]: int(v) for name, v in data.items() if name in by_name}


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
    )


@dataclass(frozen=True, eq=False, init=False)
class MultiAssetSensorDefinition(SensorDefinition):
    """A sensor whose function reads the materializations of ``monitored_assets``: asset
    keys, or an ``AssetSelection`` resolved against its code location's assets at each tick
    (``monitored_asset_keys`` is empty then)."""

    monitored_asset_keys: tuple[AssetKey, ...]
    monitored_selection: AssetSelection | None

    def __init__(  # noqa: PLR0913 (Dagster's keyword arguments)
        self,
        name: str | None,
        monitored_assets: Sequence[Any] | AssetSelection,
        *,
        asset_materialization_fn: Callable[..., Any],
        job: Any = None,
        job_name: str | None = None,
        jobs: Sequence[Any] | None = None,
        target: Any = None,
        minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_SECONDS,
        description: str | None = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        name = check_node_name(name, "multi-asset sensor")
        monitored = _monitored(monitored_assets, f"multi-asset sensor {name!r}")
        super().__init__(
            name,
            evaluation_fn=_tick_of(name, monitored, asset_materialization_fn),
            job=job,
            job_name=job_name,
            jobs=jobs,
            target=target,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description,
            default_status=default_status,
            tags=tags,
            metadata=metadata,
        )
        selection = monitored if isinstance(monitored, AssetSelection) else None
        object.__setattr__(self, "monitored_asset_keys", () if selection else monitored)
        object.__setattr__(self, "monitored_selection", selection)

    def context_for(
        self, context: SensorEvaluationContext, graph: AssetGraph
    ) -> SensorEvaluationContext:
        """The tick context over this sensor's assets in ``graph`` (its code location's asset
        graph), which resolves a monitored ``AssetSelection``."""
        if self.monitored_selection is None:
            return context
        reader_of(context, f"multi-asset sensor {self.name!r}")
        keys = selected_keys(self.monitored_selection, graph, f"multi-asset sensor {self.name!r}")
        return MultiAssetSensorEvaluationContext(
            keys,
            context.cursor,
            instance=context.instance,
            resources=context.resources,
            last_tick_completion_time=context.last_tick_completion_time,
            last_run_key=context.last_run_key,
        )

    def evaluate_tick(self, context: SensorEvaluationContext) -> SensorEvaluationResult:
        owner = f"multi-asset sensor {self.name!r}"
        if isinstance(context, SensorEvaluationContext):
            reader_of(context, owner)
        selection = self.monitored_selection
        if selection is not None and not isinstance(context, MultiAssetSensorEvaluationContext):
            raise _needs_definitions(owner, selection)
        return super().evaluate_tick(context)

    def to_snapshot(self) -> dict[str, Any]:
        monitored = [list(k.path) for k in self.monitored_asset_keys]
        selection = self.monitored_selection
        described = {"monitored_selection": selection.describe()} if selection else {}
        return {**super().to_snapshot(), "monitored_assets": monitored, **described}


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
            multi = MultiAssetSensorEvaluationContext(
                monitored,
                context.cursor,
                instance=context.instance,
                resources=context.resources,
                last_tick_completion_time=context.last_tick_completion_time,
                last_run_key=context.last_run_key,
            )
        result = fn(multi, **kwargs) if user.context_param is not None else fn(**kwargs)
        if isinstance(result, Iterator):
            result = list(result)
        if isinstance(result, SensorResult) and result.cursor is not None:
            raise DefinitionError(
                f"{owner} returned SensorResult(cursor=...): a multi-asset sensor keeps one "
                "cursor per asset; move them with context.advance_cursor(...) or "
                "context.advance_all_cursors()."
            )
        if multi is not context and multi.cursor != context.cursor:
            context.update_cursor(multi.cursor)
        return result

    signature = inspect.signature(fn).parameters
    params = [inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [
        inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, default=signature[p].default)
        for p in user.resource_params
    ]
    evaluate.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    evaluate.__name__ = name
    return evaluate


def multi_asset_sensor(  # noqa: PLR0913 (Dagster's keyword arguments)
    monitored_assets: Sequence[Any] | AssetSelection,
    *,
    job: Any = None,
    job_name: str | None = None,
    jobs: Sequence[Any] | None = None,
    target: Any = None,
    name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], MultiAssetSensorDefinition]:
    """Make a sensor whose function gets a :class:`MultiAssetSensorEvaluationContext` over the
    materializations of ``monitored_assets`` and returns what a ``@sensor`` function returns."""

    def decorate(fn: Callable[..., Any]) -> MultiAssetSensorDefinition:
        return MultiAssetSensorDefinition(
            name or getattr(fn, "__name__", None),
            monitored_assets,
            asset_materialization_fn=fn,
            job=job,
            job_name=job_name,
            jobs=jobs,
            target=target,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description or docstring(fn),
            default_status=default_status,
            tags=tags,
            metadata=metadata,
        )

    return decorate
