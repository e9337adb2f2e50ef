"""``@run_status_sensor`` and ``@run_failure_sensor``: code that runs when runs of the
monitored jobs reach a status (succeed, fail, are canceled...).

Each tick reads, from ``context.instance``, the run status events stored after the cursor
and calls the function once per matching run with a :class:`RunStatusSensorContext`. On its
first tick a sensor starts from the time it was first evaluated: earlier runs are not
reported.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol, overload, runtime_checkable

from knoll._utils import check_node_name
from knoll.defs._event_sensor import (
    EventSensorDefinition,
    instance_reader,
    sensor_decorator,
    with_signature,
)
from knoll.defs._tick_fn import ResourcesView, TickFunction, is_job_like
from knoll.defs.run_request import RunRequest, SensorResult, SkipReason
from knoll.defs.sensor import (
    DEFAULT_MINIMUM_INTERVAL_SECONDS,
    DefaultSensorStatus,
    SensorEvaluationContext,
)
from knoll.errors import DefinitionError, InvalidInvocationError, UserCodeError

# run status value -> the event that records a run reaching it
_EVENT_OF_STATUS = {
    "STARTING": "RUN_STARTING",
    "STARTED": "RUN_START",
    "SUCCESS": "RUN_SUCCESS",
    "FAILURE": "RUN_FAILURE",
    "CANCELED": "RUN_CANCELED",
}
_BATCH = 100  # run status events read per tick
PROCESS_LIMIT = 5  # runs a tick hands to the function at most, as Dagster's default


@runtime_checkable
class RunStatusReader(Protocol):
    """What a run status sensor needs of ``context.instance`` (knoll's ``Instance`` is one)."""

    def fetch_run_status_changes(
        self, records_filter: Any, limit: int, cursor: str | None = None, ascending: bool = False
    ) -> Any: ...

    def find_run(self, run_id: str) -> Any: ...

    def recent_event_cursor(self) -> str: ...


class RunStatusSensorContext:
    """What a run status sensor function gets: the run that changed status (``dagster_run``,
    also ``run``), the event that recorded it (``dagster_event``, also ``event``), the
    instance, resources and a log."""

    __knoll_context__ = True

    def __init__(
        self,
        sensor_name: str,
        dagster_run: Any,
        dagster_event: Any,
        instance: Any,
        *,
        resources: Mapping[str, Any] | ResourcesView | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._sensor_name = sensor_name
        self._run = dagster_run
        self._event = dagster_event
        self._instance = instance
        self._resources = (
            resources if isinstance(resources, ResourcesView) else ResourcesView(resources)
        )
        self._log = log or logging.getLogger("knoll.sensor")

    @property
    def sensor_name(self) -> str:
        return self._sensor_name

    @property
    def dagster_run(self) -> Any:
        """The run (knoll's ``Run``) whose status changed."""
        return self._run

    run = dagster_run

    @property
    def dagster_event(self) -> Any:
        """The run status event (knoll's ``RunEvent``) that recorded the change."""
        return self._event

    event = dagster_event

    @property
    def instance(self) -> Any:
        return self._instance

    @property
    def resources(self) -> ResourcesView:
        return self._resources

    @property
    def log(self) -> logging.Logger:
        return self._log

    @property
    def partition_key(self) -> str | None:
        return getattr(self._run, "partition_key", None)

    def for_run_failure(self) -> RunFailureSensorContext:
        """The same context as a :class:`RunFailureSensorContext` (for tests)."""
        return RunFailureSensorContext(
            self._sensor_name, self._run, self._event, self._instance, resources=self._resources
        )


class RunFailureSensorContext(RunStatusSensorContext):
    """The context of a run failure sensor: ``failure_event`` is the RUN_FAILURE event, and
    ``get_step_failure_events()`` the failures of the run's steps."""

    @property
    def failure_event(self) -> Any:
        return self._event

    @property
    def error_message(self) -> str:
        """The run failure's error message, or the event's message when it carries none."""
        error = getattr(self._event.data, "error", None)
        return str(error.message) if error is not None else str(self._event.message)

    def get_step_failure_events(self) -> list[Any]:
        """The STEP_FAILURE events of the failed run, in order."""
        return list(self._instance.step_failure_events(self._run.run_id))


def build_run_status_sensor_context(
    sensor_name: str,
    dagster_event: Any,
    dagster_instance: Any,
    dagster_run: Any,
    resources: Mapping[str, Any] | None = None,
) -> RunStatusSensorContext:
    """A context to call a run status sensor function with, in tests; use
    ``.for_run_failure()`` on it for a run failure sensor."""
    return RunStatusSensorContext(
        sensor_name, dagster_run, dagster_event, dagster_instance, resources=resources
    )


def _event_type_of(run_status: object, owner: str) -> str:
    value = run_status.value if isinstance(run_status, enum.Enum) else run_status
    if isinstance(value, str) and value.upper() in _EVENT_OF_STATUS:
        return _EVENT_OF_STATUS[value.upper()]
    raise DefinitionError(
        f"{owner}: run_status must be a RunStatus that a run reaches (SUCCESS, FAILURE, "
        f"CANCELED, STARTED or STARTING), got {run_status!r}."
    )


def _job_names(jobs: Sequence[Any] | None, owner: str, what: str) -> frozenset[str] | None:
    if jobs is None:
        return None
    if isinstance(jobs, (str, bytes)) or not isinstance(jobs, Sequence):
        raise DefinitionError(f"{what} of {owner} must be a list of jobs, got {jobs!r}.")
    names: set[str] = set()
    for job in jobs:
        if isinstance(job, str):
            names.add(job)
        elif is_job_like(job):
            names.add(job.name)
        else:
            raise DefinitionError(
                f"{what} of {owner} lists a {type(job).__name__} ({job!r}): give job "
                "definitions or job names."
            )
    return frozenset(names)


@dataclass(frozen=True, eq=False, init=False)
class RunStatusSensorDefinition(EventSensorDefinition):
    """A sensor that calls its function for each run of the monitored jobs that reaches
    ``run_status``."""

    reader = RunStatusReader
    reads = "run status events"

    run_status: Any
    monitored_job_names: frozenset[str] | None
    _user: TickFunction

    def __init__(  # noqa: PLR0913 (Dagster's keyword arguments)
        self,
        name: str | None,
        run_status: Any,
        run_status_sensor_fn: Callable[..., Any],
        *,
        monitored_jobs: Sequence[Any] | None = None,
        monitor_all_code_locations: bool = False,
        request_job: Any = None,
        request_jobs: Sequence[Any] | None = None,
        minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_SECONDS,
        description: str | None = None,
        default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
        tags: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        context_type: type[RunStatusSensorContext] = RunStatusSensorContext,
    ) -> None:
        name = check_node_name(name, "run status sensor")
        owner = f"run status sensor {name!r}"
        event_type = _event_type_of(run_status, owner)
        watched = _job_names(monitored_jobs, owner, "monitored_jobs")
        if watched is not None and monitor_all_code_locations:
            raise DefinitionError(
                f"{owner} got monitored_jobs and monitor_all_code_locations=True: give one."
            )
        user = TickFunction.read(run_status_sensor_fn, "run_status_sensor", name)
        tick = _RunStatusTick(name, owner, event_type, watched, user, context_type)
        super().__init__(
            name,
            evaluation_fn=tick.evaluation_fn(),
            job=request_job,
            jobs=request_jobs,
            minimum_interval_seconds=minimum_interval_seconds,
            description=description,
            default_status=default_status,
            tags=tags,
            metadata=metadata,
        )
        object.__setattr__(self, "run_status", run_status)
        object.__setattr__(self, "monitored_job_names", watched)
        object.__setattr__(self, "_user", user)

    @property
    def owner(self) -> str:
        return f"run status sensor {self.name!r}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function with a :class:`RunStatusSensorContext` (for tests)."""

        def missing() -> Any:
            raise InvalidInvocationError(
                f"run status sensor {self.name!r} is called with a context: "
                f"{self.name}(build_run_status_sensor_context(...))."
            )

        return self._user.invoke(args, kwargs, RunStatusSensorContext, missing)


def _reader(instance: object, owner: str) -> RunStatusReader:
    found: RunStatusReader = instance_reader(instance, RunStatusReader, owner, "run status events")
    return found


@dataclass(frozen=True)
class _RunStatusTick:
    name: str
    owner: str
    event_type: str
    watched: frozenset[str] | None
    user: TickFunction
    context_type: type[RunStatusSensorContext]

    def evaluation_fn(self) -> Callable[..., Any]:
        def evaluate(context: SensorEvaluationContext, **kwargs: Any) -> Any:
            return self.tick(context)

        return with_signature(evaluate, self.name, self.user, self.user.resource_params)

    def tick(self, context: SensorEvaluationContext) -> Any:
        reader = _reader(context.instance, self.owner)
        after, since = _read_cursor(context.cursor)
        if after is None:  # the first tick: start near the end of the log, not at its start
            after = reader.recent_event_cursor()
        found = reader.fetch_run_status_changes(
            self.event_type, limit=_BATCH, cursor=after, ascending=True
        )
        position, processed = after, 0
        for record in found.records:
            event = record.event
            run = None
            if event.timestamp >= since and (
                self.watched is None or event.job_name in self.watched
            ):
                run = reader.find_run(event.run_id)  # None: deleted since
            if run is not None:
                # as Dagster: at most PROCESS_LIMIT runs a tick, and the first run the function
                # returns something for ends the tick (the next runs wait for the next tick)
                if processed >= PROCESS_LIMIT:
                    break
                processed += 1
                returned = self._call(context, run, event)
                if returned is not None:
                    context.update_cursor(self._cursor(str(record.storage_id), since))
                    return returned
            position = str(record.storage_id)
        else:
            position = found.cursor
        context.update_cursor(self._cursor(position, since))
        if processed:
            return None
        return SkipReason(f"No new runs reached {self.event_type.removeprefix('RUN_')}.")

    @staticmethod
    def _cursor(after: str, since: float) -> str:
        return json.dumps({"after": after, "since": since})

    def _call(
        self, context: SensorEvaluationContext, run: Any, event: Any
    ) -> list[RunRequest] | SkipReason | None:
        """What the function returned for ``run``: run requests, a skip, or None."""
        run_context = self.context_type(
            self.name, run, event, context.instance, resources=context.resources, log=context.log
        )
        try:
            raw = self.user.evaluate(run_context)
        except UserCodeError as exc:
            # the sensor's own tick wraps it once, naming the sensor
            raise (exc.__cause__ or exc) from None
        if raw is None or isinstance(raw, SkipReason):
            return raw
        if isinstance(raw, RunRequest):
            return [raw]
        if isinstance(raw, SensorResult):
            return list(raw.run_requests or ())
        if isinstance(raw, (list, tuple)) and all(isinstance(r, RunRequest) for r in raw):
            return list(raw)
        raise DefinitionError(
            f"{self.owner} returned {type(raw).__name__} {raw!r} for run {run.run_id}: return "
            "a RunRequest, a list of RunRequests, a SkipReason or None."
        )


def _read_cursor(cursor: str | None) -> tuple[str | None, float]:
    """The event log cursor and the time of the first tick; a new sensor starts now (events
    before ``since`` are not reported even when they sit after the cursor)."""
    if cursor:
        try:
            data = json.loads(cursor)
            return str(data["after"]), float(data["since"])
        except (ValueError, KeyError, TypeError):
            pass
    return None, time.time()


def run_status_sensor(  # noqa: PLR0913 (Dagster's arguments)
    run_status: Any,
    name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    monitor_all_code_locations: bool = False,
    request_job: Any = None,
    request_jobs: Sequence[Any] | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], RunStatusSensorDefinition]:
    """Make a sensor that calls the function with a :class:`RunStatusSensorContext` for each
    run of ``monitored_jobs`` (every job when None) that reaches ``run_status``.

    The function may return RunRequests for ``request_job`` / ``request_jobs``.
    """
    options = _RunStatusOptions.of(locals())  # first: the arguments, nothing else
    return options.decorator("run_status_sensor", run_status, name, description)


@dataclass(frozen=True)
class _RunStatusOptions:
    """The arguments both run status decorators pass on as they are."""

    minimum_interval_seconds: int
    monitored_jobs: Sequence[Any] | None
    monitor_all_code_locations: bool
    request_job: Any
    request_jobs: Sequence[Any] | None
    default_status: DefaultSensorStatus
    tags: Mapping[str, str] | None
    metadata: Mapping[str, Any] | None

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> _RunStatusOptions:
        """The options among a decorator's arguments (its ``locals()`` on entry)."""
        return cls(**{f.name: arguments[f.name] for f in fields(cls)})

    def decorator(
        self,
        kind: str,
        run_status: Any,
        name: str | None,
        description: str | None,
        context_type: type[RunStatusSensorContext] = RunStatusSensorContext,
    ) -> Callable[[Callable[..., Any]], RunStatusSensorDefinition]:
        def build(
            name: str, fn: Callable[..., Any], description: str | None
        ) -> RunStatusSensorDefinition:
            return RunStatusSensorDefinition(
                name,
                run_status,
                fn,
                description=description,
                context_type=context_type,
                **{f.name: getattr(self, f.name) for f in fields(self)},
            )

        return sensor_decorator(kind, name, description, build)


@overload
def run_failure_sensor(name: Callable[..., Any], /) -> RunStatusSensorDefinition: ...


@overload
def run_failure_sensor(
    name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    monitor_all_code_locations: bool = False,
    request_job: Any = None,
    request_jobs: Sequence[Any] | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], RunStatusSensorDefinition]: ...


def run_failure_sensor(  # noqa: PLR0913 (Dagster's arguments)
    name: Callable[..., Any] | str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_SECONDS,
    description: str | None = None,
    monitored_jobs: Sequence[Any] | None = None,
    monitor_all_code_locations: bool = False,
    request_job: Any = None,
    request_jobs: Sequence[Any] | None = None,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> RunStatusSensorDefinition | Callable[[Callable[..., Any]], RunStatusSensorDefinition]:
    """Make a sensor that calls the function with a :class:`RunFailureSensorContext` for each
    failed run of ``monitored_jobs`` (every job when None). Works with or without arguments."""
    options = _RunStatusOptions.of(locals())  # first: the arguments, nothing else
    decorate = options.decorator(
        "run_failure_sensor",
        "FAILURE",
        name if isinstance(name, str) else None,
        description,
        RunFailureSensorContext,
    )
    return decorate(name) if callable(name) else decorate
