"""Schedules: run a job, or materialize assets, at the times a cron string names.

A schedule is a declaration. The daemon decides when a tick is due (with
:meth:`ScheduleDefinition.iter_tick_times`) and calls :meth:`ScheduleDefinition.evaluate_tick`
with a context for that time; the result says which runs to launch.
"""

from __future__ import annotations

import enum
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from itertools import islice
from typing import Any

from knoll._serdes import pack, serializable
from knoll._utils import check_node_name, check_tags, did_you_mean, docstring
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
from knoll.defs.cron import CronSchedule, CronUnion, parse_cron
from knoll.defs.job import ANONYMOUS_JOB_PREFIX
from knoll.defs.metadata import MetadataValue, normalize_metadata
from knoll.defs.run_request import RunRequest, SkipReason
from knoll.errors import CronError, DefinitionError, InvalidInvocationError

_ALLOWED = (
    "a RunRequest, a SkipReason, a list or generator of RunRequests, a run config dict, or None"
)
_NOTHING_RETURNED = "the schedule function returned no run requests"


@serializable()
class DefaultScheduleStatus(enum.Enum):
    """Whether a schedule runs as soon as it is deployed, or waits to be started in the UI."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class ScheduleEvaluationContext:
    """What a schedule function gets: the tick's scheduled time, resources, instance and log.

    Build one for tests with :func:`build_schedule_context`.
    """

    __knoll_context__ = True

    def __init__(
        self,
        scheduled_execution_time: datetime,
        resources: Mapping[str, Any] | ResourcesView | None = None,
        instance: Any = None,
        log: logging.Logger | None = None,
    ) -> None:
        if not _is_aware(scheduled_execution_time):
            raise InvalidInvocationError(
                f"scheduled_execution_time {scheduled_execution_time!r} must be a "
                "timezone-aware datetime; for example datetime(2024, 5, 1, 6, tzinfo=timezone.utc)."
            )
        self._scheduled_execution_time = scheduled_execution_time
        self._resources = (
            resources if isinstance(resources, ResourcesView) else ResourcesView(resources)
        )
        self._instance = instance
        self._log = log or logging.getLogger("knoll.schedule")

    @property
    def scheduled_execution_time(self) -> datetime:
        """The time this tick was due, in the schedule's execution timezone."""
        return self._scheduled_execution_time

    @property
    def resources(self) -> ResourcesView:
        return self._resources

    @property
    def instance(self) -> Any:
        return self._instance

    @property
    def log(self) -> logging.Logger:
        return self._log

    def _in_timezone(self, tz: tzinfo, log: logging.Logger) -> ScheduleEvaluationContext:
        return ScheduleEvaluationContext(
            self._scheduled_execution_time.astimezone(tz), self._resources, self._instance, log
        )


def build_schedule_context(
    instance: Any = None,
    scheduled_execution_time: datetime | None = None,
    resources: Mapping[str, Any] | None = None,
) -> ScheduleEvaluationContext:
    """A context to call or test a schedule with; the time defaults to now (UTC).

    The parameters come in Dagster's order: the instance first.
    """
    if isinstance(instance, datetime):
        raise InvalidInvocationError(
            f"build_schedule_context: the instance is a datetime ({instance.isoformat()}); the"
            " first parameter is the instance. Pass the time as scheduled_execution_time=..."
        )
    when = scheduled_execution_time or datetime.now(UTC)
    return ScheduleEvaluationContext(when, resources, instance)


@serializable()
@dataclass(frozen=True)
class ScheduleEvaluationResult:
    """The outcome of one schedule tick: the runs to launch, or why there are none."""

    run_requests: tuple[RunRequest, ...]
    skip_message: str | None = None


@dataclass(frozen=True, eq=False, init=False)
class ScheduleDefinition:
    """Launches runs of one job (or of an asset selection) at the times of a cron schedule.

    ``cron_schedule`` is a cron string or a list of them, read in ``execution_timezone``
    (UTC by default). Without an ``execution_fn`` every tick launches one run with
    ``run_config`` and ``tags``.
    """

    name: str
    cron_schedule: str | tuple[str, ...]
    job_name: str
    job: Any
    target: Any
    run_config: Mapping[str, Any] | None
    tags: Mapping[str, str]
    execution_timezone: str | None
    description: str | None
    default_status: DefaultScheduleStatus
    metadata: Mapping[str, MetadataValue]
    _cron: CronSchedule | CronUnion = field(repr=False)
    _tz: tzinfo = field(repr=False)
    _fn: TickFunction | None = field(repr=False)

    def __init__(  # noqa: PLR0913 (Dagster's keyword arguments)
        self,
        name: str | None = None,
        *,
        cron_schedule: str | Sequence[str],
        job: Any = None,
        job_name: str | None = None,
        target: Any = None,
        run_config: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        execution_timezone: str | None = None,
        description: str | None = None,
        default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
        execution_fn: Callable[..., Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        owner = f"schedule {name!r}" if name else f"ScheduleDefinition({cron_schedule!r})"
        job, resolved_job, asset_target = _schedule_target(owner, job, job_name, target)
        if name is None:
            if resolved_job is None:
                raise DefinitionError(
                    f"{owner} targets assets, so it needs a name: "
                    "ScheduleDefinition(name='daily_assets', cron_schedule=..., target=...)."
                )
            name = f"{resolved_job}_schedule"
        name = check_node_name(name, "schedule")
        owner = f"schedule {name!r}"
        if resolved_job is None:
            resolved_job = f"{ANONYMOUS_JOB_PREFIX}{name}"

        try:
            cron = parse_cron(cron_schedule)
        except CronError as exc:
            raise CronError(f"cron_schedule of {owner}: {exc}") from None
        _check_schedule_options(owner, default_status, execution_fn, run_config)
        cron_text = cron_schedule if isinstance(cron_schedule, str) else tuple(cron_schedule)
        set_ = object.__setattr__
        set_(self, "name", name)
        set_(self, "cron_schedule", cron_text)
        set_(self, "job_name", resolved_job)
        set_(self, "job", job)
        set_(self, "target", asset_target)
        set_(self, "run_config", dict(run_config) if run_config is not None else None)
        set_(self, "tags", check_tags(dict(tags) if tags is not None else None, owner))
        set_(self, "execution_timezone", execution_timezone)
        set_(self, "description", description)
        set_(self, "default_status", default_status)
        set_(self, "metadata", normalize_metadata(metadata, owner))
        set_(self, "_cron", cron)
        set_(self, "_tz", _resolve_timezone(execution_timezone, owner))
        fn = TickFunction.read(execution_fn, "schedule", name) if execution_fn else None
        set_(self, "_fn", fn)

    @property
    def timezone(self) -> tzinfo:
        """The timezone the cron schedule is read in."""
        return self._tz

    @property
    def required_resource_keys(self) -> frozenset[str]:
        """Resources the evaluation function takes as parameters (without a default)."""
        return self._fn.required_resource_keys if self._fn else frozenset()

    # -- time ------------------------------------------------------------------------------

    def iter_tick_times(self, after: datetime) -> Iterator[datetime]:
        """The schedule's fire times strictly after ``after``, in its timezone, without end."""
        return self._cron.iter_after(self._localize(after, "iter_tick_times"))

    def next_tick_times(self, after: datetime, limit: int) -> list[datetime]:
        """The next ``limit`` fire times strictly after ``after``, in the schedule's timezone."""
        if not _is_whole_number(limit):
            raise InvalidInvocationError(
                f"next_tick_times of schedule {self.name!r}: limit must be a whole number of 0 "
                f"or more, got {limit!r}."
            )
        return list(islice(self.iter_tick_times(after), limit))

    def previous_tick_time(self, before: datetime) -> datetime:
        """The last fire time strictly before ``before``, in the schedule's timezone."""
        return self._cron.previous_before(self._localize(before, "previous_tick_time"))

    def _localize(self, dt: datetime, method: str) -> datetime:
        if not _is_aware(dt):
            raise InvalidInvocationError(
                f"{method} of schedule {self.name!r} needs a timezone-aware datetime, got "
                f"{dt!r}; for example datetime.now(timezone.utc)."
            )
        return dt.astimezone(self._tz)

    # -- evaluation ------------------------------------------------------------------------

    def evaluate_tick(self, context: ScheduleEvaluationContext) -> ScheduleEvaluationResult:
        """Evaluate one tick: call the function and normalise what it returned.

        Exceptions the function raises come back as ``UserCodeError`` naming the schedule.
        """
        if not isinstance(context, ScheduleEvaluationContext):
            raise InvalidInvocationError(
                f"evaluate_tick of schedule {self.name!r} takes a ScheduleEvaluationContext, got "
                f"{type(context).__name__}; build one with build_schedule_context()."
            )
        context = context._in_timezone(self._tz, logging.getLogger(f"knoll.schedule.{self.name}"))
        skip: str | None = None
        if self._fn is None:
            requests = [RunRequest(run_config=self.run_config)]
        else:
            requests, skip = self._outputs(self._fn.evaluate(context))
        finished = finish_requests(
            requests, kind="schedule", name=self.name, tags=self.tags, job_names=(self.job_name,)
        )
        return ScheduleEvaluationResult(finished, skip)

    def _outputs(self, raw: object) -> tuple[list[RunRequest], str | None]:
        if raw is None:
            return [], _NOTHING_RETURNED
        if isinstance(raw, RunRequest):
            return [raw], None
        if isinstance(raw, SkipReason):
            return [], raw.skip_message
        if isinstance(raw, Mapping):
            return [RunRequest(run_config=raw)], None
        if isinstance(raw, (list, tuple)):
            requests, skip = split_outputs(raw, "schedule", self.name, _ALLOWED)
            if skip is not None:
                return [], skip.skip_message
            return requests, (None if requests else _NOTHING_RETURNED)
        raise wrong_output(raw, "schedule", self.name, _ALLOWED)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the evaluation function directly (for tests) and return what it returns."""
        if self._fn is None:
            raise InvalidInvocationError(
                f"schedule {self.name!r} has no evaluation function to call (it was built "
                "without @schedule or execution_fn); to see its run requests, use "
                f"{self.name}.evaluate_tick(build_schedule_context())."
            )
        return self._fn.invoke(args, kwargs, ScheduleEvaluationContext, build_schedule_context)

    def to_snapshot(self) -> dict[str, Any]:
        """Plain JSON data describing the schedule, for the code server's snapshot."""
        cron = self.cron_schedule
        return {
            "name": self.name,
            "cron_schedule": cron if isinstance(cron, str) else list(cron),
            "execution_timezone": self.execution_timezone or "UTC",
            "job_name": self.job_name,
            "target": describe_target(self.target),
            "description": self.description,
            "default_status": self.default_status.value,
            "tags": dict(self.tags),
            "metadata": pack(dict(self.metadata)),
            "required_resource_keys": sorted(self.required_resource_keys),
        }


def _schedule_target(
    owner: str, job: Any, job_name: str | None, target: Any
) -> tuple[Any, str | None, Any]:
    """The schedule's job, the name of the job it runs (None for an asset target) and its asset
    target, from exactly one of job=, job_name= and target=."""
    targets = (("job", job), ("job_name", job_name), ("target", target))
    given = [key for key, value in targets if value is not None]
    if len(given) != 1:
        got = f"got {', '.join(given)}" if given else "got none"
        raise DefinitionError(
            f"{owner} needs exactly one of job=, job_name= or target= ({got}); for example "
            f"ScheduleDefinition(name='daily_refresh', cron_schedule='0 0 * * *', job=my_job)."
        )
    if job is not None:
        if not is_job_like(job):
            raise DefinitionError(
                f"job of {owner} must be a job (an object with a name), got "
                f"{type(job).__name__}; to run assets, use target= instead."
            )
        return job, job.name, None
    if target is not None and is_job_like(target):
        return target, target.name, None
    if target is not None:
        check_asset_target(target, owner)
        return None, None, target
    if not isinstance(job_name, str):
        raise DefinitionError(
            f"job_name of {owner} must be a string, got {type(job_name).__name__}."
        )
    return None, check_node_name(job_name, "job"), None


def _check_schedule_options(
    owner: str,
    default_status: object,
    execution_fn: Callable[..., Any] | None,
    run_config: object,
) -> None:
    if not isinstance(default_status, DefaultScheduleStatus):
        raise DefinitionError(
            f"default_status of {owner} must be DefaultScheduleStatus.RUNNING or .STOPPED, "
            f"got {default_status!r}."
        )
    if execution_fn is not None and run_config is not None:
        raise DefinitionError(
            f"{owner} has both execution_fn and run_config: return the run config from the "
            "function (or a RunRequest with run_config=...), or drop the function."
        )
    if run_config is not None and not isinstance(run_config, Mapping):
        raise DefinitionError(
            f"run_config of {owner} must be a dict, got {type(run_config).__name__}."
        )


def schedule(  # noqa: PLR0913 (Dagster's keyword arguments)
    cron_schedule: str | Sequence[str],
    *,
    job: Any = None,
    job_name: str | None = None,
    target: Any = None,
    name: str | None = None,
    execution_timezone: str | None = None,
    description: str | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], ScheduleDefinition]:
    """Make a schedule from a function that decides, at each tick, which runs to request.

    The function takes an optional ``context`` (a :class:`ScheduleEvaluationContext`) and
    resources by parameter name, and returns a RunRequest, a SkipReason, a list or generator
    of RunRequests, a run config dict, or None.
    """
    if _is_function(cron_schedule):
        raise DefinitionError(
            f"@schedule on {getattr(cron_schedule, '__name__', cron_schedule)!r} needs a cron "
            "string: write @schedule('0 0 * * *', job=my_job)."
        )

    def decorate(fn: Callable[..., Any]) -> ScheduleDefinition:
        if not callable(fn):
            raise DefinitionError(f"@schedule must decorate a function, got {type(fn).__name__}.")
        return ScheduleDefinition(
            name=name or getattr(fn, "__name__", None),
            cron_schedule=cron_schedule,
            job=job,
            job_name=job_name,
            target=target,
            tags=tags,
            execution_timezone=execution_timezone,
            description=description or docstring(fn),
            default_status=default_status,
            execution_fn=fn,
            metadata=metadata,
        )

    return decorate


def _is_aware(value: object) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def _is_whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_function(value: object) -> bool:
    return inspect.isfunction(value)


def _resolve_timezone(name: str | None, owner: str) -> tzinfo:
    if name is None:
        return UTC
    if not isinstance(name, str):
        raise DefinitionError(
            f"execution_timezone of {owner} must be a timezone name such as 'Europe/Berlin', "
            f"got {type(name).__name__} {name!r}."
        )
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    # Listing every zone is slow, so only do it to explain an error.
    known = zoneinfo.available_timezones()
    by_lower = {zone.lower(): zone for zone in known}
    exact = by_lower.get(name.lower())
    hint = f" Did you mean {exact!r}?" if exact else did_you_mean(name, known)
    raise DefinitionError(
        f"execution_timezone {name!r} of {owner} is not a known timezone: use an IANA name such "
        f"as 'America/New_York' or 'UTC'.{hint}"
    )
