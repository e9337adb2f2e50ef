"""``@asset_sensor``: a sensor that runs code for the latest new materialization of one asset.

Each tick reads, from ``context.instance``, the newest materialization of the asset stored
after the cursor, calls the function with ``(context, asset_event)`` and moves the cursor to
that record's storage id. Older materializations committed since the previous tick are
passed over, as in Dagster: the function sees the latest one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Unpack, runtime_checkable

from knoll._utils import check_node_name
from knoll.defs._event_sensor import (
    EventSensorDefinition,
    SensorOptions,
    call_user_fn,
    described,
    instance_reader,
    sensor_decorator,
    with_signature,
)
from knoll.defs._tick_fn import TickFunction
from knoll.defs.event_filters import AssetRecordsFilter
from knoll.defs.keys import AssetKey
from knoll.defs.run_request import SkipReason
from knoll.defs.sensor import SensorEvaluationContext
from knoll.errors import DefinitionError


@runtime_checkable
class MaterializationReader(Protocol):
    """What an asset sensor needs of ``context.instance`` (knoll's ``Instance`` is one)."""

    def fetch_materializations(
        self,
        records_filter: AssetRecordsFilter,
        limit: int,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> Any: ...


def reader_of(context: SensorEvaluationContext, owner: str) -> MaterializationReader:
    """The context's instance, or an error saying how to give the sensor one."""
    found: MaterializationReader = instance_reader(
        context.instance, MaterializationReader, owner, "materializations"
    )
    return found


def storage_id_cursor(cursor: str | None) -> int | None:
    """The storage id a cursor holds; a cursor that is not one starts over, as in Dagster."""
    if cursor is None:
        return None
    try:
        return int(cursor)
    except ValueError:
        return None


@dataclass(frozen=True, eq=False, init=False)
class AssetSensorDefinition(EventSensorDefinition):
    """A sensor that calls its function for the latest new materialization of ``asset_key``."""

    reader = MaterializationReader
    reads = "materializations"
    asset_key: AssetKey

    def __init__(
        self,
        name: str | None,
        asset_key: AssetKey | str | Sequence[str],
        *,
        asset_materialization_fn: Callable[..., Any],
        **options: Unpack[SensorOptions],
    ) -> None:
        name = check_node_name(name, "asset sensor")
        if not isinstance(asset_key, (AssetKey, str, list, tuple)):
            raise DefinitionError(
                f"asset sensor {name!r}: asset_key must be an AssetKey (or a string or list of "
                f"strings), got {type(asset_key).__name__} {asset_key!r}."
            )
        key = AssetKey.from_coercible(asset_key)
        super().__init__(
            name, evaluation_fn=_tick_of(name, key, asset_materialization_fn), **options
        )
        object.__setattr__(self, "asset_key", key)

    @property
    def owner(self) -> str:
        return f"asset sensor {self.name!r} (of asset {self.asset_key})"

    def to_snapshot(self) -> dict[str, Any]:
        return {**super().to_snapshot(), "asset_key": list(self.asset_key.path)}


def _tick_of(name: str, key: AssetKey, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The sensor's evaluation function: read the latest new materialization, call ``fn``
    with it, move the cursor. Its signature is the context plus ``fn``'s resources."""
    user = TickFunction.read(fn, "asset sensor", name)
    event_param = user.resource_params[0] if user.resource_params else None
    resources = [p for p in user.resource_params if p != event_param]
    owner = f"asset sensor {name!r} (of asset {key})"

    def evaluate(context: SensorEvaluationContext, **kwargs: Any) -> Any:
        reader = reader_of(context, owner)
        after = storage_id_cursor(context.cursor)
        found = reader.fetch_materializations(
            AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=1
        )
        if not found.records:
            return SkipReason(f"No new materialization events found for asset key {key}.")
        record = found.records[0]
        if event_param is not None:
            kwargs[event_param] = record.event_log_entry
        result = call_user_fn(
            user,
            context,
            kwargs,
            owner,
            "an asset sensor keeps its own cursor (the storage id of the last materialization "
            "it saw); use @sensor to manage a cursor yourself.",
        )
        context.update_cursor(str(record.storage_id))
        return result

    return with_signature(evaluate, name, user, resources)


def asset_sensor(
    asset_key: AssetKey | str | Sequence[str],
    *,
    name: str | None = None,
    **options: Unpack[SensorOptions],
) -> Callable[[Callable[..., Any]], AssetSensorDefinition]:
    """Make a sensor that calls the function with ``(context, asset_event)`` for the latest
    materialization of ``asset_key`` stored since its previous tick, and skips otherwise.

    The parameter after the context receives the :class:`EventLogEntry`; further parameters
    are resources, by name. The function returns what a ``@sensor`` function returns. The
    other keyword arguments are those of ``@sensor``: ``job``, ``job_name``, ``jobs``,
    ``target``, ``minimum_interval_seconds``, ``description``, ``default_status``, ``tags``
    and ``metadata``.
    """

    def build(name: str, fn: Callable[..., Any], description: str | None) -> AssetSensorDefinition:
        return AssetSensorDefinition(
            name,
            asset_key,
            asset_materialization_fn=fn,
            **described(options, description),
        )

    return sensor_decorator("asset_sensor", name, options.get("description"), build)
