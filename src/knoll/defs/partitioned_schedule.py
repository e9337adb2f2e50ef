"""Schedules made from partitioned jobs: each tick runs the latest complete partition.

:func:`build_schedule_from_partitioned_job` reads the cadence of the job's time partitions (or
of the time dimension of its multi-partitions) for the cron string and the timezone. A job over
static partitions needs ``cron_schedule=``, and each tick runs every partition. An asset job
whose partitions come from its assets is resolved when ``Definitions`` resolves the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, overload

from knoll.defs.job import JobDefinition, UnresolvedAssetJobDefinition
from knoll.defs.partitions import (
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from knoll.defs.partitions.partitioned_config import PartitionedConfig
from knoll.defs.run_request import RunRequest, SkipReason
from knoll.defs.schedule import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    ScheduleEvaluationContext,
)
from knoll.errors import DefinitionError

__all__ = ["UnresolvedPartitionedAssetScheduleDefinition", "build_schedule_from_partitioned_job"]

_TIME_FIELDS = ("minute_of_hour", "hour_of_day", "day_of_week", "day_of_month")


@dataclass(frozen=True)
class _Options:
    name: str
    description: str | None
    times: Mapping[str, int | None]
    default_status: DefaultScheduleStatus
    tags: Mapping[str, str] | None
    cron_schedule: str | None
    execution_timezone: str | None
    metadata: Mapping[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class UnresolvedPartitionedAssetScheduleDefinition:
    """A schedule of an asset job whose partitions come from its assets; ``Definitions``
    resolves it, with the job, into a :class:`ScheduleDefinition`."""

    job: UnresolvedAssetJobDefinition
    options: _Options

    @property
    def name(self) -> str:
        return self.options.name

    @property
    def job_name(self) -> str:
        return self.job.name

    @property
    def target(self) -> None:
        return None

    def resolve_with_job(self, job: JobDefinition) -> ScheduleDefinition:
        """The schedule of ``job``, the resolved form of this schedule's asset job."""
        return _build(job, self.options)


@overload
def build_schedule_from_partitioned_job(
    job: JobDefinition,
    description: str | None = None,
    name: str | None = None,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    cron_schedule: str | None = None,
    execution_timezone: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ScheduleDefinition: ...


@overload
def build_schedule_from_partitioned_job(
    job: UnresolvedAssetJobDefinition,
    description: str | None = None,
    name: str | None = None,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    cron_schedule: str | None = None,
    execution_timezone: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition: ...


def build_schedule_from_partitioned_job(  # noqa: PLR0913 (Dagster's keyword arguments)
    job: JobDefinition | UnresolvedAssetJobDefinition,
    description: str | None = None,
    name: str | None = None,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    default_status: DefaultScheduleStatus = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    cron_schedule: str | None = None,
    execution_timezone: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ScheduleDefinition | UnresolvedPartitionedAssetScheduleDefinition:
    """A schedule that runs ``job`` for its latest complete partition at the partitions' cadence.

    ``minute_of_hour``, ``hour_of_day``, ``day_of_week`` and ``day_of_month`` move the tick
    within each period (run a daily job at 02:00 instead of midnight).
    """
    if not isinstance(job, (JobDefinition, UnresolvedAssetJobDefinition)):
        raise DefinitionError(
            f"build_schedule_from_partitioned_job takes a job (from @job, to_job() or "
            f"define_asset_job), got {type(job).__name__}."
        )
    owner = f"the schedule of job {job.name!r}"
    times = dict(
        zip(_TIME_FIELDS, (minute_of_hour, hour_of_day, day_of_week, day_of_month), strict=True)
    )
    if day_of_week is not None and day_of_month is not None:
        raise DefinitionError(
            f"{owner} was given both day_of_week and day_of_month; give one of them."
        )
    if (cron_schedule or execution_timezone) and any(v is not None for v in times.values()):
        raise DefinitionError(
            f"{owner} was given cron_schedule/execution_timezone and minute_of_hour/hour_of_day/"
            "day_of_week/day_of_month; give either a cron schedule or the times within the "
            "partitions' cadence."
        )
    options = _Options(
        name=name or f"{job.name}_schedule",
        description=description,
        times=times,
        default_status=default_status,
        tags=tags,
        cron_schedule=cron_schedule,
        execution_timezone=execution_timezone,
        metadata=metadata,
    )
    if isinstance(job, UnresolvedAssetJobDefinition) and job.partitions_def is None:
        if cron_schedule or execution_timezone:
            raise DefinitionError(
                f"{owner}: a time-partitioned job's schedule follows its partitions; leave "
                "cron_schedule and execution_timezone out."
            )
        return UnresolvedPartitionedAssetScheduleDefinition(job, options)
    return _build(job, options)


def _build(
    job: JobDefinition | UnresolvedAssetJobDefinition, options: _Options
) -> ScheduleDefinition:
    owner = f"schedule {options.name!r} of job {job.name!r}"
    pdef = job.partitions_def
    if pdef is None:
        raise DefinitionError(
            f"{owner}: job {job.name!r} is not partitioned. Give it partitions_def= or a "
            "PartitionedConfig, or use ScheduleDefinition(cron_schedule=...) instead."
        )
    time_def = _time_partitions(pdef)
    if isinstance(pdef, StaticPartitionsDefinition):
        if options.cron_schedule is None:
            raise DefinitionError(
                f"{owner}: job {job.name!r} has static partitions, which have no cadence; pass "
                "cron_schedule='0 0 * * *' (each tick runs every partition)."
            )
        cron, timezone = options.cron_schedule, options.execution_timezone
    elif time_def is not None:
        if options.cron_schedule or options.execution_timezone:
            raise DefinitionError(
                f"{owner}: a time-partitioned job's schedule follows its partitions; leave "
                "cron_schedule and execution_timezone out."
            )
        cron, timezone = _cron_for(time_def, options.times, owner), time_def.timezone
    else:
        raise DefinitionError(
            f"{owner}: job {job.name!r} has {pdef.describe()}; a schedule can be built for time "
            "partitions, multi-partitions with one time dimension, or static partitions."
        )

    def run_latest_partition(context: ScheduleEvaluationContext) -> Any:
        return _requests(job, pdef, context, options.tags)

    return ScheduleDefinition(
        options.name,
        cron_schedule=cron,
        job=job,
        execution_timezone=timezone,
        description=options.description,
        default_status=options.default_status,
        execution_fn=run_latest_partition,
        metadata=options.metadata,
    )


def _time_partitions(pdef: PartitionsDefinition) -> TimeWindowPartitionsDefinition | None:
    if isinstance(pdef, TimeWindowPartitionsDefinition):
        return pdef
    if isinstance(pdef, MultiPartitionsDefinition) and pdef.time_window_dimension is not None:
        inner = pdef.time_window_dimension.partitions_def
        return inner if isinstance(inner, TimeWindowPartitionsDefinition) else None
    return None


def _cron_for(
    pdef: TimeWindowPartitionsDefinition, times: Mapping[str, int | None], owner: str
) -> str:
    """The partitions' cron string, with the tick moved within each period as ``times`` say."""
    if all(value is None for value in times.values()):
        return pdef.cron_schedule
    kind = pdef.schedule_type
    if kind is None:
        raise DefinitionError(
            f"{owner}: its partitions tick on {pdef.cron_schedule!r}, which minute_of_hour/"
            "hour_of_day/day_of_week/day_of_month cannot move; leave them out."
        )
    not_allowed = {
        "hourly": ("hour_of_day", "day_of_week", "day_of_month"),
        "daily": ("day_of_week", "day_of_month"),
        "weekly": ("day_of_month",),
        "monthly": ("day_of_week",),
    }[kind]
    for name in not_allowed:
        if times[name] is not None:
            raise DefinitionError(
                f"{owner}: {name} does not apply to {kind} partitions; leave it out."
            )
    minute = _pick(times, "minute_of_hour", pdef.minute_offset, 0, 59, owner)
    if kind == "hourly":
        return f"{minute} * * * *"
    hour = _pick(times, "hour_of_day", pdef.hour_offset, 0, 23, owner)
    if kind == "daily":
        return f"{minute} {hour} * * *"
    if kind == "weekly":
        return f"{minute} {hour} * * {_pick(times, 'day_of_week', pdef.day_offset, 0, 6, owner)}"
    return f"{minute} {hour} {_pick(times, 'day_of_month', pdef.day_offset, 1, 31, owner)} * *"


def _pick(
    times: Mapping[str, int | None], name: str, default: int, low: int, high: int, owner: str
) -> int:
    value: object = times[name]  # the user's argument, whatever its type
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DefinitionError(
            f"{owner}: {name} must be a whole number from {low} to {high}, got {value!r}."
        )
    return int(value)


def _requests(
    job: JobDefinition | UnresolvedAssetJobDefinition,
    pdef: PartitionsDefinition,
    context: ScheduleEvaluationContext,
    tags: Mapping[str, str] | None,
) -> list[RunRequest] | SkipReason:
    now = context.scheduled_execution_time
    if isinstance(pdef, StaticPartitionsDefinition):
        keys = list(pdef.get_partition_keys())
    else:
        time_def = _time_partitions(pdef)
        assert time_def is not None  # _build refused every other definition
        last = time_def.get_last_partition_key(current_time=now)
        if last is None:
            return SkipReason(f"job {job.name!r} has no complete partition yet at {now}.")
        if isinstance(pdef, MultiPartitionsDefinition):
            dimension = pdef.time_window_dimension
            assert dimension is not None
            keys = [
                str(k)
                for k in pdef.get_multipartition_keys_with_dimension_value(
                    dimension.name, last, current_time=now
                )
            ]
        else:
            keys = [last]
    return [_request(job, key, tags) for key in keys]


def _request(
    job: JobDefinition | UnresolvedAssetJobDefinition, key: str, tags: Mapping[str, str] | None
) -> RunRequest:
    config = job.config
    owner = f"job {job.name!r}"
    if isinstance(config, PartitionedConfig):
        return RunRequest(
            run_key=key,
            partition_key=key,
            run_config=config.get_run_config_for_partition_key(key, owner),
            tags={**config.get_tags_for_partition_key(key, owner), **(tags or {})},
        )
    return RunRequest(run_key=key, partition_key=key, tags=dict(tags or {}))
