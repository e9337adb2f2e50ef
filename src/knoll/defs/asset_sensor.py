"""``@asset_sensor``: a sensor that runs code for the latest new materialization of one asset.

Each tick reads, from ``context.instance``, the newest materialization of the asset stored
after the cursor, calls the function with ``(context, asset_event)`` and moves the cursor to
that record's storage id. Older materializations committed since the previous tick are
passed over, as in Dagster: the function sees the latest one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from knoll._utils import check_node_name, docstring
from knoll.defs._tick_fn import TickFunction
from knoll.defs.event_filters import AssetRecordsFilter
from knoll.defs.keys import AssetKey
from knoll.defs.run_request import SensorResult, SkipReason
from knoll.defs.sensor import (
    DEFAULT_MINIMUM_INTERVAL_SECONDS,
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorEvaluationResult,
)
from knoll.errors import DefinitionError, InvalidInvocationError


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
    instance = context.instance
    if isinstance(instance, MaterializationReader):
        return instance
    got = "no instance" if instance is None else f"a {type(instance).__name__} as its instance"
    raise InvalidInvocationError(
        f"{owner} reads materializations from context.instance, but its context has {got}. "
        "Evaluate it against an instance: in tests, "
        "build_sensor_context(instance=Instance.ephemeral()) (or an Instance.get(home))."
    )


def storage_id_cursor(cursor: str | None) -> int | None:
    """The storage id a cursor holds; a cursor that is not one starts over, as in Dagster."""
    if cursor is None:
        return None
    try:
        return int(cursor)
    except ValueError:
        return None


@dataclass(frozen=True, eq=False, init=False)
class AssetSensorDefinition(SensorDefinition):
    """A sensor that calls its function for the latest new materialization of ``asset_key``."""

    asset_key: AssetKey

    def __init__(  # noqa: PLR0913 (Dagster's keyword arguments)
        self,
        name: str | None,
        asset_key: AssetKey | str | Sequence[str],
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
        name = check_node_name(name, "asset sensor")
        if not isinstance(asset_key, (AssetKey, str, list, tuple)):
            raise DefinitionError(
                f"asset sensor {name!r}: asset_key must be an AssetKey (or a string or list of "
                f"strings), got {type(asset_key).__name__} {asset_key!r}."
            )
        key = AssetKey.from_coercible(asset_key)
        super().__init__(
            name,
            evaluation_fn=_tick_of(name, key, asset_materialization_fn),
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
        object.__setattr__(self, "asset_key", key)

    def evaluate_tick(self, context: SensorEvaluationContext) -> SensorEvaluationResult:
        if isinstance(context, SensorEvaluationContext):
            reader_of(context, f"asset sensor {self.name!r} (of asset {self.asset_key})")
        return super().evaluate_tick(context)

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
        result = fn(context, **kwargs) if user.context_param is not None else fn(**kwargs)
        if isinstance(result, Iterator):
            result = list(result)
        if isinstance(result, SensorResult) and result.cursor is not None:
            raise DefinitionError(
                f"{owner} returned SensorResult(cursor=...): an asset sensor keeps its own "
                "cursor (the storage id of the last materialization it saw); use @sensor to "
                "manage a cursor yourself."
            )
        context.update_cursor(str(record.storage_id))
        return result

    params = [inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    signature = inspect.signature(fn).parameters
    params += [
        inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, default=signature[p].default)
        for p in resources
    ]
    evaluate.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    evaluate.__name__ = name
    return evaluate


def asset_sensor(  # noqa: PLR0913 (Dagster's keyword arguments)
    asset_key: AssetKey | str | Sequence[str],
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
) -> Callable[[Callable[..., Any]], AssetSensorDefinition]:
    """Make a sensor that calls the function with ``(context, asset_event)`` for the latest
    materialization of ``asset_key`` stored since its previous tick, and skips otherwise.

    The parameter after the context receives the :class:`EventLogEntry`; further parameters
    are resources, by name. The function returns what a ``@sensor`` function returns.
    """

    def decorate(fn: Callable[..., Any]) -> AssetSensorDefinition:
        if not callable(fn):
            raise DefinitionError(
                f"@asset_sensor must decorate a function, got {type(fn).__name__}."
            )
        return AssetSensorDefinition(
            name or getattr(fn, "__name__", ""),
            asset_key,
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
