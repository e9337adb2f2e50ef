"""What schedules and sensors return: run requests, skip reasons and sensor results.

All three are immutable records with a versioned JSON form, because a code server evaluates
ticks and hands their results to the daemon in another process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

from knoll._serdes import RAW, serializable
from knoll._utils import check_tags
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.partitions.dynamic import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
)
from knoll.errors import DefinitionError

DynamicPartitionsRequest: TypeAlias = AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest


class RunConfigLike(Protocol):
    """A typed run config (``RunConfig``) that can turn itself into the plain mapping."""

    def to_config_dict(self) -> dict[str, Any]: ...


def _optional_str(value: object, what: str, owner: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise DefinitionError(
        f"{what} of {owner} must be a string or None, got {type(value).__name__} {value!r}; "
        f"for example {what}={str(value)!r}."
    )


def _run_config(value: object) -> Mapping[str, Any] | None:
    if value is None:
        return None
    # A typed run config object (RunConfig) turns itself into the plain mapping.
    to_dict = getattr(value, "to_config_dict", None)
    if callable(to_dict):
        value = to_dict()
    if not isinstance(value, Mapping):
        raise DefinitionError(
            f"run_config of RunRequest must be a dict, got {type(value).__name__}; for example "
            "run_config={'ops': {'my_op': {'config': {'limit': 10}}}}."
        )
    for key in value:
        if not isinstance(key, str):
            raise DefinitionError(
                f"run_config of RunRequest has the {type(key).__name__} key {key!r}: "
                "config keys must be strings."
            )
    return dict(value)


def _is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _sequence(value: object, what: str, example: str) -> Sequence[object]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise DefinitionError(
            f"{what} of RunRequest must be a list, got {type(value).__name__} {value!r}; "
            f"for example {what}={example}."
        )
    return value


def _asset_keys(value: object) -> tuple[AssetKey, ...] | None:
    if value is None:
        return None
    items = _sequence(value, "asset_selection", "[AssetKey('orders')]")
    return tuple(AssetKey.from_coercible(item) for item in items)


def _check_keys(value: object) -> tuple[AssetCheckKey, ...] | None:
    if value is None:
        return None
    items = _sequence(value, "asset_check_keys", "[AssetCheckKey(AssetKey('orders'), 'not_empty')]")
    for item in items:
        if not isinstance(item, AssetCheckKey):
            raise DefinitionError(
                f"asset_check_keys of RunRequest must hold AssetCheckKey objects, got "
                f"{type(item).__name__} {item!r}."
            )
    return tuple(items)  # type: ignore[arg-type]  # checked item by item just above


@serializable()
@dataclass(frozen=True)
class RunRequest:
    """A request, from a schedule or a sensor, to launch one run.

    ``run_key`` makes the request idempotent: a sensor launches at most one run per run key,
    however many ticks return it. ``asset_selection`` narrows the run to some of the target's
    assets; ``partition_key`` runs one partition.
    """

    run_key: str | None = None
    run_config: Mapping[str, Any] | None = field(default=None, metadata=RAW)
    tags: Mapping[str, str] = field(default_factory=dict)
    job_name: str | None = None
    asset_selection: tuple[AssetKey, ...] | None = None
    partition_key: str | None = None
    asset_check_keys: tuple[AssetCheckKey, ...] | None = None

    def __init__(
        self,
        run_key: str | None = None,
        run_config: Mapping[str, Any] | RunConfigLike | None = None,
        *,
        tags: Mapping[str, str] | None = None,
        job_name: str | None = None,
        asset_selection: Sequence[AssetKey] | None = None,
        partition_key: str | None = None,
        asset_check_keys: Sequence[AssetCheckKey] | None = None,
    ) -> None:
        owner = "RunRequest" if run_key is None else f"RunRequest(run_key={run_key!r})"
        setattr_ = object.__setattr__
        setattr_(self, "run_key", _optional_str(run_key, "run_key", "RunRequest"))
        setattr_(self, "run_config", _run_config(run_config))
        setattr_(self, "tags", check_tags(dict(tags) if tags is not None else None, owner))
        setattr_(self, "job_name", _optional_str(job_name, "job_name", owner))
        setattr_(self, "asset_selection", _asset_keys(asset_selection))
        setattr_(self, "partition_key", _optional_str(partition_key, "partition_key", owner))
        setattr_(self, "asset_check_keys", _check_keys(asset_check_keys))


@serializable()
@dataclass(frozen=True)
class SkipReason:
    """Returned by a schedule or sensor to say why this tick requests no run."""

    skip_message: str | None = None

    def __post_init__(self) -> None:
        _optional_str(self.skip_message, "skip_message", "SkipReason")


@serializable()
@dataclass(frozen=True)
class SensorResult:
    """Everything one sensor tick decided: runs to launch (or why not), the new cursor, and
    dynamic partitions to add or delete."""

    run_requests: tuple[RunRequest, ...] | None = None
    skip_reason: SkipReason | None = None
    cursor: str | None = None
    dynamic_partitions_requests: tuple[DynamicPartitionsRequest, ...] | None = None

    def __init__(
        self,
        run_requests: Sequence[RunRequest] | None = None,
        skip_reason: SkipReason | str | None = None,
        cursor: str | None = None,
        dynamic_partitions_requests: Sequence[DynamicPartitionsRequest] | None = None,
    ) -> None:
        requests: tuple[RunRequest, ...] | None = None
        if run_requests is not None:
            if not _is_list(run_requests):
                raise DefinitionError(
                    f"run_requests of SensorResult must be a list of RunRequest, got "
                    f"{type(run_requests).__name__}."
                )
            for item in run_requests:
                if not isinstance(item, RunRequest):
                    raise DefinitionError(
                        f"run_requests of SensorResult must hold RunRequest objects, got "
                        f"{type(item).__name__} {item!r}."
                    )
            requests = tuple(run_requests)
        if isinstance(skip_reason, str):
            skip_reason = SkipReason(skip_reason)
        elif skip_reason is not None and not isinstance(skip_reason, SkipReason):
            raise DefinitionError(
                f"skip_reason of SensorResult must be a SkipReason or a string, got "
                f"{type(skip_reason).__name__}."
            )
        if requests and skip_reason is not None:
            raise DefinitionError(
                "SensorResult got both run_requests and skip_reason: a tick either requests "
                "runs or says why it skipped, so keep one of them."
            )
        dynamic: tuple[DynamicPartitionsRequest, ...] | None = None
        if dynamic_partitions_requests is not None:
            if not _is_list(dynamic_partitions_requests) or not all(
                isinstance(item, (AddDynamicPartitionsRequest, DeleteDynamicPartitionsRequest))
                for item in dynamic_partitions_requests
            ):
                raise DefinitionError(
                    "dynamic_partitions_requests of SensorResult must be a list of "
                    "AddDynamicPartitionsRequest / DeleteDynamicPartitionsRequest, got "
                    f"{dynamic_partitions_requests!r}; for example "
                    "[customers.build_add_request(['acme'])]."
                )
            dynamic = tuple(dynamic_partitions_requests)
        object.__setattr__(self, "run_requests", requests)
        object.__setattr__(self, "skip_reason", skip_reason)
        object.__setattr__(self, "cursor", _optional_str(cursor, "cursor", "SensorResult"))
        object.__setattr__(self, "dynamic_partitions_requests", dynamic)
