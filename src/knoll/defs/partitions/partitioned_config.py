"""Partitioned config: a job's run config computed from the partition a run is for.

A ``PartitionedConfig`` pairs a partitions definition with a function from a partition key to
run config (and, optionally, to tags). Given as ``@job(config=...)`` it makes the job a
partitioned op job: a run for partition ``k`` gets the config and tags for ``k``. The
decorators (``daily_partitioned_config`` and kin) build one from a function of the partition's
time window, ``static_partitioned_config`` from a fixed key list, and
``dynamic_partitioned_config`` from a function listing the keys.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from knoll._utils import check_tags
from knoll.defs.partitions.base import PartitionsDefinition, sample_keys
from knoll.defs.partitions.static import StaticPartitionsDefinition
from knoll.defs.partitions.time_cadences import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from knoll.defs.partitions.time_window import TimeWindowPartitionsDefinition
from knoll.defs.run_config import RunConfig
from knoll.errors import DefinitionError, InvalidInvocationError, UserCodeError

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader

__all__ = [
    "Partition",
    "PartitionedConfig",
    "daily_partitioned_config",
    "dynamic_partitioned_config",
    "hourly_partitioned_config",
    "monthly_partitioned_config",
    "partitioned_config",
    "static_partitioned_config",
    "weekly_partitioned_config",
]

KeyConfigFn = Callable[[str], Any]
WindowFn = Callable[[datetime, datetime], Any]


@dataclass(frozen=True)
class Partition:
    """One partition, as ``run_config_for_partition_fn`` and ``tags_for_partition_fn`` receive
    it: ``name`` is its key, ``value`` the same key."""

    value: Any
    name: str


class PartitionedConfig:
    """Run config (and tags) for each partition of ``partitions_def``.

    Give exactly one of ``run_config_for_partition_key_fn`` (a function of the key) and
    ``run_config_for_partition_fn`` (a function of a :class:`Partition`); tags likewise.
    """

    def __init__(
        self,
        partitions_def: PartitionsDefinition,
        run_config_for_partition_fn: Callable[[Partition], Any] | None = None,
        decorated_fn: Callable[..., Any] | None = None,
        tags_for_partition_fn: Callable[[Partition], Mapping[str, str]] | None = None,
        run_config_for_partition_key_fn: KeyConfigFn | None = None,
        tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        if not isinstance(partitions_def, PartitionsDefinition):
            raise DefinitionError(
                f"PartitionedConfig needs a partitions definition, got "
                f"{type(partitions_def).__name__}; for example "
                "PartitionedConfig(DailyPartitionsDefinition('2024-01-01'), ...)."
            )
        if (run_config_for_partition_fn is None) == (run_config_for_partition_key_fn is None):
            raise DefinitionError(
                "PartitionedConfig needs exactly one of run_config_for_partition_key_fn (a "
                "function of the partition key) and run_config_for_partition_fn."
            )
        if tags_for_partition_fn is not None and tags_for_partition_key_fn is not None:
            raise DefinitionError(
                "PartitionedConfig takes tags_for_partition_key_fn or tags_for_partition_fn, "
                "not both; keep tags_for_partition_key_fn."
            )
        self._partitions_def = partitions_def
        self._config_fn: KeyConfigFn = run_config_for_partition_key_fn or _by_partition(
            run_config_for_partition_fn
        )
        self._tags_fn: Callable[[str], Mapping[str, str]] | None = tags_for_partition_key_fn
        if tags_for_partition_fn is not None:
            self._tags_fn = _by_partition(tags_for_partition_fn)
        self._decorated_fn = decorated_fn

    @property
    def partitions_def(self) -> PartitionsDefinition:
        return self._partitions_def

    @property
    def run_config_for_partition_key_fn(self) -> KeyConfigFn:
        return self._config_fn

    @property
    def tags_for_partition_key_fn(self) -> Callable[[str], Mapping[str, str]] | None:
        return self._tags_fn

    def get_partition_keys(self, current_time: datetime | None = None) -> Sequence[str]:
        """The keys this config applies to, as of ``current_time`` (default: now)."""
        return self._partitions_def.get_partition_keys(current_time)

    def get_run_config_for_partition_key(
        self, partition_key: str, owner: str = "PartitionedConfig"
    ) -> dict[str, Any]:
        """The run config document for ``partition_key`` (a ``RunConfig`` is turned into one)."""
        try:
            config = self._config_fn(partition_key)
        except Exception as exc:
            raise UserCodeError(
                f"the partitioned config of {owner} raised {type(exc).__name__} computing the "
                f"run config of partition {partition_key!r}: {exc}",
                exc,
            ) from exc
        if isinstance(config, RunConfig):
            return config.to_config_dict()
        if config is None:
            return {}
        if not isinstance(config, Mapping):
            raise DefinitionError(
                f"the partitioned config of {owner} returned {type(config).__name__} for "
                f"partition {partition_key!r}; return a run config dict or a RunConfig."
            )
        return _plain(config)

    def get_tags_for_partition_key(
        self, partition_key: str, owner: str = "PartitionedConfig"
    ) -> dict[str, str]:
        """The user tags for a run of ``partition_key`` (the partition tag is added by the run)."""
        if self._tags_fn is None:
            return {}
        try:
            tags = self._tags_fn(partition_key)
        except Exception as exc:
            raise UserCodeError(
                f"the partitioned config of {owner} raised {type(exc).__name__} computing the "
                f"tags of partition {partition_key!r}: {exc}",
                exc,
            ) from exc
        return check_tags(dict(tags) if tags else None, f"tags of partition {partition_key!r}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the decorated function directly (for tests)."""
        if self._decorated_fn is None:
            raise InvalidInvocationError(
                "only a PartitionedConfig made by a partitioned config decorator "
                "(@daily_partitioned_config, @static_partitioned_config, ...) can be called; "
                "use get_run_config_for_partition_key(key) instead."
            )
        return self._decorated_fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"PartitionedConfig({self._partitions_def.describe()})"


def constant_partitioned_config(
    partitions_def: PartitionsDefinition, config: Mapping[str, Any] | None
) -> PartitionedConfig:
    """The same run config for every partition (a job given both a dict and partitions_def)."""
    fixed = _plain(config or {})
    return PartitionedConfig(partitions_def, run_config_for_partition_key_fn=lambda _: fixed)


def _plain(config: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(config))


def _by_partition(fn: Callable[[Partition], Any] | None) -> Callable[[str], Any]:
    assert fn is not None  # callers pass a function when the key variant is missing
    return lambda key: fn(Partition(value=key, name=key))


def partitioned_config(
    partitions_def: PartitionsDefinition,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[KeyConfigFn], PartitionedConfig]:
    """Decorate a function of the partition key that returns its run config."""

    def decorate(fn: KeyConfigFn) -> PartitionedConfig:
        return PartitionedConfig(
            partitions_def,
            run_config_for_partition_key_fn=fn,
            decorated_fn=fn,
            tags_for_partition_key_fn=tags_for_partition_key_fn,
        )

    return decorate


def static_partitioned_config(
    partition_keys: Sequence[str],
    tags_for_partition_fn: Callable[[str], Mapping[str, str]] | None = None,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[KeyConfigFn], PartitionedConfig]:
    """Decorate a function of the partition key, over a fixed list of keys."""
    return partitioned_config(
        StaticPartitionsDefinition(partition_keys),
        tags_for_partition_key_fn=tags_for_partition_key_fn or tags_for_partition_fn,
    )


class FunctionPartitionsDefinition(PartitionsDefinition):
    """Partitions whose keys a function lists, given the current time (or None)."""

    def __init__(self, partition_fn: Callable[[datetime | None], Sequence[str]]) -> None:
        if not callable(partition_fn):
            raise DefinitionError(
                f"dynamic_partitioned_config needs partition_fn, a function of the current time "
                f"returning the keys; got {type(partition_fn).__name__}."
            )
        self._fn = partition_fn
        self._where = getattr(partition_fn, "__qualname__", repr(partition_fn))

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        try:
            keys = self._fn(current_time)
        except Exception as exc:
            raise UserCodeError(
                f"partition_fn {self._where} raised {type(exc).__name__}: {exc}", exc
            ) from exc
        if isinstance(keys, str) or not isinstance(keys, Sequence):
            raise DefinitionError(
                f"partition_fn {self._where} returned {type(keys).__name__}; return a list of "
                "partition key strings."
            )
        return list(keys)

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> bool:
        return partition_key in self.get_partition_keys(current_time)

    def _key_hint(
        self,
        partition_key: str,
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsReader | None,
    ) -> str:
        keys = self.get_partition_keys(current_time)
        return f"{self._where} lists {sample_keys(keys) if keys else 'no keys'}."

    def describe(self) -> str:
        return f"partitions listed by {self._where}"

    def to_snapshot(self) -> dict[str, Any]:
        # A function cannot cross processes: snapshot the keys it lists now.
        return StaticPartitionsDefinition(self.get_partition_keys()).to_snapshot()

    def _identity(self) -> tuple[Any, ...]:
        return ("function", id(self._fn))


def dynamic_partitioned_config(
    partition_fn: Callable[[datetime | None], Sequence[str]],
    tags_for_partition_fn: Callable[[str], Mapping[str, str]] | None = None,
    tags_for_partition_key_fn: Callable[[str], Mapping[str, str]] | None = None,
) -> Callable[[KeyConfigFn], PartitionedConfig]:
    """Decorate a function of the partition key, over the keys ``partition_fn`` lists."""
    return partitioned_config(
        FunctionPartitionsDefinition(partition_fn),
        tags_for_partition_key_fn=tags_for_partition_key_fn or tags_for_partition_fn,
    )


def _time_window_config(
    partitions_def: TimeWindowPartitionsDefinition,
    tags_for_partition_fn: Callable[[datetime, datetime], Mapping[str, str]] | None,
) -> Callable[[WindowFn], PartitionedConfig]:
    def window_tags(key: str) -> Mapping[str, str]:
        assert tags_for_partition_fn is not None
        window = partitions_def.time_window_for_partition_key(key)
        return tags_for_partition_fn(window.start, window.end)

    def decorate(fn: WindowFn) -> PartitionedConfig:
        if not callable(fn):
            raise DefinitionError(
                f"a time-partitioned config decorator decorates a function of (start, end), got "
                f"{type(fn).__name__}."
            )

        def window_config(key: str) -> Any:
            window = partitions_def.time_window_for_partition_key(key)
            return fn(window.start, window.end)

        return PartitionedConfig(
            partitions_def,
            run_config_for_partition_key_fn=window_config,
            decorated_fn=fn,
            tags_for_partition_key_fn=window_tags if tags_for_partition_fn else None,
        )

    return decorate


def hourly_partitioned_config(
    start_date: datetime | str,
    minute_offset: int = 0,
    timezone: str | None = None,
    fmt: str | None = None,
    end_offset: int = 0,
    tags_for_partition_fn: Callable[[datetime, datetime], Mapping[str, str]] | None = None,
) -> Callable[[WindowFn], PartitionedConfig]:
    """Run config per hour: the decorated function gets each hour's (start, end)."""
    pdef = HourlyPartitionsDefinition(
        start_date, minute_offset=minute_offset, timezone=timezone, fmt=fmt, end_offset=end_offset
    )
    return _time_window_config(pdef, tags_for_partition_fn)


def daily_partitioned_config(
    start_date: datetime | str,
    minute_offset: int = 0,
    hour_offset: int = 0,
    timezone: str | None = None,
    fmt: str | None = None,
    end_offset: int = 0,
    tags_for_partition_fn: Callable[[datetime, datetime], Mapping[str, str]] | None = None,
) -> Callable[[WindowFn], PartitionedConfig]:
    """Run config per day: the decorated function gets each day's (start, end)."""
    pdef = DailyPartitionsDefinition(
        start_date,
        minute_offset=minute_offset,
        hour_offset=hour_offset,
        timezone=timezone,
        fmt=fmt,
        end_offset=end_offset,
    )
    return _time_window_config(pdef, tags_for_partition_fn)


def weekly_partitioned_config(
    start_date: datetime | str,
    minute_offset: int = 0,
    hour_offset: int = 0,
    day_offset: int = 0,
    timezone: str | None = None,
    fmt: str | None = None,
    end_offset: int = 0,
    tags_for_partition_fn: Callable[[datetime, datetime], Mapping[str, str]] | None = None,
) -> Callable[[WindowFn], PartitionedConfig]:
    """Run config per week: the decorated function gets each week's (start, end)."""
    pdef = WeeklyPartitionsDefinition(
        start_date,
        minute_offset=minute_offset,
        hour_offset=hour_offset,
        day_offset=day_offset,
        timezone=timezone,
        fmt=fmt,
        end_offset=end_offset,
    )
    return _time_window_config(pdef, tags_for_partition_fn)


def monthly_partitioned_config(
    start_date: datetime | str,
    minute_offset: int = 0,
    hour_offset: int = 0,
    day_offset: int = 1,
    timezone: str | None = None,
    fmt: str | None = None,
    end_offset: int = 0,
    tags_for_partition_fn: Callable[[datetime, datetime], Mapping[str, str]] | None = None,
) -> Callable[[WindowFn], PartitionedConfig]:
    """Run config per month: the decorated function gets each month's (start, end)."""
    pdef = MonthlyPartitionsDefinition(
        start_date,
        minute_offset=minute_offset,
        hour_offset=hour_offset,
        day_offset=day_offset,
        timezone=timezone,
        fmt=fmt,
        end_offset=end_offset,
    )
    return _time_window_config(pdef, tags_for_partition_fn)
