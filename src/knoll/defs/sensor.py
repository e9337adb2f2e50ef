"""Sensors: functions the daemon calls every so often to turn an observed change into runs.

A sensor keeps a cursor (a string it owns) between ticks, so that each tick only looks at
what is new. The daemon calls :meth:`SensorDefinition.evaluate_tick` with a context carrying
the stored cursor and stores the cursor that comes back.
"""

from __future__ import annotations

import enum
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from knoll._serdes import pack, serializable
from knoll._utils import check_node_name, check_tags, docstring
from knoll.defs._tick_fn import (
    ResourcesView,
    TickFunction,
    check_asset_target,
    describe_target,
    finish_requests,
    is_job_like,
    split_outputs,
    wrong_output,
)
from knoll.defs.job import ANONYMOUS_JOB_PREFIX
from knoll.defs.metadata import MetadataValue, normalize_metadata
from knoll.defs.run_request import (
    DynamicPartitionsRequest,
    RunRequest,
    SensorResult,
    SkipReason,
)
from knoll.errors import DefinitionError, InvalidInvocationError

DEFAULT_MINIMUM_INTERVAL_SECONDS = 30
_ALLOWED = "a RunRequest, a SkipReason, a SensorResult, a list or generator of RunRequests, or None"


@serializable()
class DefaultSensorStatus(enum.Enum):
    """Whether a sensor runs as soon as it is deployed, or waits to be started in the UI."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class SensorEvaluationContext:
    """What a sensor function gets: its cursor, the last tick's details, resources and log.

    Build one for tests with :func:`build_sensor_context`.
    """

    __knoll_context__ = True

    def __init__(
        self,
        cursor: str | None = None,
        *,
        resources: Mapping[str, Any] | ResourcesView | None = None,
        instance: Any = None,
        last_tick_completion_time: float | None = None,
        last_run_key: str | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._cursor = _check_cursor(cursor, "SensorEvaluationContext")
        self._cursor_updated = False
        self._resources = (
            resources if isinstance(resources, ResourcesView) else ResourcesView(resources)
        )
        self._instance = instance
        if last_tick_completion_time is not None and (
            isinstance(last_tick_completion_time, bool)
            or not isinstance(last_tick_completion_time, (int, float))
        ):
            raise InvalidInvocationError(
                "last_tick_completion_time must be a POSIX timestamp (seconds, a float) or None, "
                f"got {type(last_tick_completion_time).__name__} {last_tick_completion_time!r}."
            )
        self._last_tick_completion_time = last_tick_completion_time
        if last_run_key is not None and not isinstance(last_run_key, str):
            raise InvalidInvocationError(
                f"last_run_key must be a string or None, got {type(last_run_key).__name__}."
            )
        self._last_run_key = last_run_key
        self._log = log or logging.getLogger("knoll.sensor")

    @property
    def cursor(self) -> str | None:
        """The state the sensor kept from its previous tick (None on the first tick)."""
        return self._cursor

    def update_cursor(self, cursor: str | None) -> None:
        """Set the cursor that the next tick will see."""
        self._cursor = _check_cursor(cursor, "update_cursor")
        self._cursor_updated = True

    @property
    def last_tick_completion_time(self) -> float | None:
        """When the previous tick finished, as a POSIX timestamp, or None."""
        return self._last_tick_completion_time

    @property
    def last_run_key(self) -> str | None:
        """The run key of the last run this sensor requested, or None."""
        return self._last_run_key

    @property
    def resources(self) -> ResourcesView:
        return self._resources

    @property
    def instance(self) -> Any:
        """The instance the tick is evaluated against (knoll's ``Instance``), or None: a
        code server passes the one at the ``instance_home`` it is given; in tests pass one to
        ``build_sensor_context(instance=...)``."""
        return self._instance

    @property
    def log(self) -> logging.Logger:
        return self._log


def _is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and bool(value)


def _is_whole_number(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _check_cursor(cursor: object, where: str) -> str | None:
    if cursor is None or isinstance(cursor, str):
        return cursor
    raise InvalidInvocationError(
        f"{where}: a sensor cursor must be a string or None, got {type(cursor).__name__} "
        f"{cursor!r}; serialise it, for example with json.dumps(...) or str(...)."
    )


def build_sensor_context(
    instance: Any = None,
    cursor: str | None = None,
    *,
    resources: Mapping[str, Any] | None = None,
    last_tick_completion_time: float | None = None,
    last_run_key: str | None = None,
) -> SensorEvaluationContext:
    """A context to call or test a sensor with.

    The first two parameters come in Dagster's order (the instance, then the cursor); the
    others are keyword-only.
    """
    if isinstance(instance, str):
        raise InvalidInvocationError(
            f"build_sensor_context: the instance is a string ({instance!r}); the first"
            " parameter is the instance. Pass a cursor as cursor=..."
        )
    return SensorEvaluationContext(
        cursor=cursor,
        resources=resources,
        instance=instance,
        last_tick_completion_time=last_tick_completion_time,
        last_run_key=last_run_key,
    )


@serializable()
@dataclass(frozen=True)
class SensorEvaluationResult:
    """The outcome of one sensor tick, as the daemon stores it."""

    run_requests: tuple[RunRequest, ...]
    skip_message: str | None = None
    cursor: str | None = None
    dynamic_partitions_requests: tuple[DynamicPartitionsRequest, ...] = ()


@dataclass(frozen=True, eq=False, init=False)
class SensorDefinition:
    """Polls for changes every ``minimum_interval_seconds`` and requests runs for them.

    A sensor targets one job (``job=`` / ``job_name=``), several (``jobs=``), assets
    (``target=``), or nothing (a sensor that only keeps a cursor or records partitions).
    """

    name: str
    job_names: tuple[str, ...]
    jobs: tuple[Any, ...]
    target: Any
    minimum_interval_seconds: int
    description: str | None
    default_status: DefaultSensorStatus
    tags: Mapping[str, str]
    metadata: Mapping[str, MetadataValue]
    _fn: TickFunction = field(repr=False)

    def __init__(  # noqa: PLR0913 (Dagster's keyword arguments)
        self,
        name: str | None = None,
        *,
        evaluation_fn: Callable[..., Any],
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
        if name is None:
            name = getattr(evaluation_fn, "__name__", None)
        name = check_node_name(name, "sensor")
        owner = f"sensor {name!r}"
        fn = TickFunction.read(evaluation_fn, "sensor", name)
        job_list, names, asset_target = _sensor_targets(owner, name, job, job_name, jobs, target)
        _check_sensor_options(owner, minimum_interval_seconds, default_status)
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "job_names", tuple(names))
        set_(self, "jobs", tuple(job_list))
        set_(self, "target", asset_target)
        set_(self, "minimum_interval_seconds", minimum_interval_seconds)
        set_(self, "description", description)
        set_(self, "default_status", default_status)
        set_(self, "tags", check_tags(dict(tags) if tags is not None else None, owner))
        set_(self, "metadata", normalize_metadata(metadata, owner))
        set_(self, "_fn", fn)

    @property
    def job_name(self) -> str | None:
        """The job this sensor targets; None when it targets none or several (see job_names)."""
        return self.job_names[0] if len(self.job_names) == 1 else None

    @property
    def job(self) -> Any:
        """The job object this sensor targets; None unless it targets exactly one job object."""
        return self.jobs[0] if len(self.jobs) == 1 else None

    @property
    def required_resource_keys(self) -> frozenset[str]:
        """Resources the evaluation function takes as parameters (without a default)."""
        return self._fn.required_resource_keys

    def evaluate_tick(self, context: SensorEvaluationContext) -> SensorEvaluationResult:
        """Evaluate one tick: call the function and normalise what it returned.

        The cursor in the result is the one to store for the next tick. Exceptions the
        function raises come back as ``UserCodeError`` naming the sensor.
        """
        if not isinstance(context, SensorEvaluationContext):
            raise InvalidInvocationError(
                f"evaluate_tick of sensor {self.name!r} takes a SensorEvaluationContext, got "
                f"{type(context).__name__}; build one with build_sensor_context()."
            )
        context._cursor_updated = False
        raw = self._fn.evaluate(context)
        cursor = context.cursor
        dynamic: tuple[DynamicPartitionsRequest, ...] = ()
        skip: SkipReason | None = None
        if isinstance(raw, SensorResult):
            if raw.cursor is not None:
                if context._cursor_updated:
                    raise DefinitionError(
                        f"sensor {self.name!r} both called context.update_cursor(...) and "
                        "returned SensorResult(cursor=...): set the cursor one way only."
                    )
                cursor = raw.cursor
            requests = list(raw.run_requests or ())
            skip = raw.skip_reason
            dynamic = raw.dynamic_partitions_requests or ()
        elif raw is None:
            requests = []
        elif isinstance(raw, RunRequest):
            requests = [raw]
        elif isinstance(raw, SkipReason):
            requests, skip = [], raw
        elif isinstance(raw, (list, tuple)):
            if any(isinstance(item, SensorResult) for item in raw):
                raise DefinitionError(
                    f"sensor {self.name!r} evaluation function returned a SensorResult inside a "
                    "list or generator: return (not yield) one SensorResult holding all the "
                    "run requests."
                )
            requests, skip = split_outputs(raw, "sensor", self.name, _ALLOWED)
        else:
            raise wrong_output(raw, "sensor", self.name, _ALLOWED)
        finished = finish_requests(
            requests, kind="sensor", name=self.name, tags=self.tags, job_names=self.job_names
        )
        return SensorEvaluationResult(
            run_requests=finished,
            skip_message=skip.skip_message if skip is not None else None,
            cursor=cursor,
            dynamic_partitions_requests=tuple(dynamic),
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the evaluation function directly (for tests) and return what it returns."""
        return self._fn.invoke(args, kwargs, SensorEvaluationContext, build_sensor_context)

    def to_snapshot(self) -> dict[str, Any]:
        """Plain JSON data describing the sensor, for the code server's snapshot."""
        return {
            "name": self.name,
            "job_names": list(self.job_names),
            "target": describe_target(self.target),
            "minimum_interval_seconds": self.minimum_interval_seconds,
            "description": self.description,
            "default_status": self.default_status.value,
            "tags": dict(self.tags),
            "metadata": pack(dict(self.metadata)),
            "required_resource_keys": sorted(self.required_resource_keys),
        }


def _sensor_targets(
    owner: str, name: str, job: Any, job_name: str | None, jobs: Sequence[Any] | None, target: Any
) -> tuple[list[Any], list[str], Any]:
    """The sensor's jobs, the names of the jobs it runs and its asset target, from at most one
    of job=, job_name=, jobs= and target=."""
    choices = (("job", job), ("job_name", job_name), ("jobs", jobs), ("target", target))
    given = [key for key, value in choices if value is not None]
    if len(given) > 1:
        raise DefinitionError(
            f"{owner} got {' and '.join(given)}: give only one of job=, job_name=, jobs= "
            "or target=."
        )
    if job is not None:
        return [job], _job_names(owner, [job]), None
    if jobs is not None:
        if not _is_list(jobs):
            raise DefinitionError(
                f"jobs of {owner} must be a non-empty list of jobs, got {jobs!r}; for one "
                "job use job=."
            )
        return list(jobs), _job_names(owner, jobs), None
    if target is not None and is_job_like(target):
        return [target], _job_names(owner, [target]), None
    if target is not None:
        check_asset_target(target, owner)
        return [], [f"{ANONYMOUS_JOB_PREFIX}{name}"], target
    if job_name is not None:
        if not isinstance(job_name, str):
            raise DefinitionError(
                f"job_name of {owner} must be a string, got {type(job_name).__name__}."
            )
        return [], [check_node_name(job_name, "job")], None
    return [], [], None


def _job_names(owner: str, jobs: Sequence[Any]) -> list[str]:
    names: list[str] = []
    for item in jobs:
        if not is_job_like(item):
            raise DefinitionError(
                f"{owner} targets a {type(item).__name__} ({item!r}) as a job: give job "
                "definitions, or use target= for assets."
            )
        if item.name in names:
            raise DefinitionError(f"{owner} lists job {item.name!r} twice in jobs=.")
        names.append(item.name)
    return names


def _check_sensor_options(
    owner: str, minimum_interval_seconds: object, default_status: object
) -> None:
    if not _is_whole_number(minimum_interval_seconds, minimum=1):
        raise DefinitionError(
            f"minimum_interval_seconds of {owner} must be a whole number of seconds, 1 or "
            f"more, got {minimum_interval_seconds!r}."
        )
    if not isinstance(default_status, DefaultSensorStatus):
        raise DefinitionError(
            f"default_status of {owner} must be DefaultSensorStatus.RUNNING or .STOPPED, "
            f"got {default_status!r}."
        )


@overload
def sensor(job: Callable[..., Any], /) -> SensorDefinition: ...


@overload
def sensor(
    job: Any = None,
    *,
    job_name: str | None = None,
    target: Any = None,
    jobs: Sequence[Any] | None = None,
    name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], SensorDefinition]: ...


def sensor(  # noqa: PLR0913 (Dagster's keyword arguments)
    job: Any = None,
    *,
    job_name: str | None = None,
    target: Any = None,
    jobs: Sequence[Any] | None = None,
    name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> SensorDefinition | Callable[[Callable[..., Any]], SensorDefinition]:
    """Make a sensor from a function that looks for changes and requests runs for them.

    The function takes an optional ``context`` (a :class:`SensorEvaluationContext`) and
    resources by parameter name, and returns a RunRequest, a SkipReason, a SensorResult, a
    list or generator of RunRequests, or None. ``@sensor`` works with or without arguments.
    """

    def decorate(fn: Callable[..., Any]) -> SensorDefinition:
        if not callable(fn):
            raise DefinitionError(f"@sensor must decorate a function, got {type(fn).__name__}.")
        return SensorDefinition(
            name=name or getattr(fn, "__name__", None),
            evaluation_fn=fn,
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

    # Bare ``@sensor``: the decorated function arrives where a job would.
    if inspect.isfunction(job):
        fn, job = job, None
        return decorate(fn)
    return decorate
