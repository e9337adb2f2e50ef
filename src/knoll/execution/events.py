"""Events: typed, versioned, JSON-serialisable records of everything that happens in a run.

Every event goes through one interface, :class:`EventSink`: the run's recorder (an instance
persists them in batches) and, from the command line, the terminal's reporter.
"""

from __future__ import annotations

import enum
import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from knoll._serdes import serializable
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.freshness import FreshnessStateChange
from knoll.defs.keys import AssetKey
from knoll.defs.metadata import MetadataValue
from knoll.defs.output import AssetMaterialization, AssetObservation, ExpectationResult

if TYPE_CHECKING:
    from knoll.execution.run import Run

CODE_VERSION_TAG = "knoll/code_version"
"""Tag on an asset's materialization: the asset's ``code_version`` when it was computed."""


@serializable()
class EventType(enum.Enum):
    """What an event records."""

    RUN_STARTING = "RUN_STARTING"
    RUN_START = "RUN_START"
    RUN_SUCCESS = "RUN_SUCCESS"
    RUN_FAILURE = "RUN_FAILURE"
    RUN_CANCELED = "RUN_CANCELED"
    STEP_START = "STEP_START"
    STEP_OUTPUT = "STEP_OUTPUT"
    STEP_SUCCESS = "STEP_SUCCESS"
    STEP_FAILURE = "STEP_FAILURE"
    STEP_SKIPPED = "STEP_SKIPPED"
    STEP_UP_FOR_RETRY = "STEP_UP_FOR_RETRY"
    STEP_RESTARTED = "STEP_RESTARTED"
    LOADED_INPUT = "LOADED_INPUT"
    HANDLED_OUTPUT = "HANDLED_OUTPUT"
    ASSET_MATERIALIZATION_PLANNED = "ASSET_MATERIALIZATION_PLANNED"
    ASSET_MATERIALIZATION = "ASSET_MATERIALIZATION"
    ASSET_OBSERVATION = "ASSET_OBSERVATION"
    ASSET_CHECK_EVALUATION = "ASSET_CHECK_EVALUATION"
    EXPECTATION_RESULT = "EXPECTATION_RESULT"
    LOG_MESSAGE = "LOG_MESSAGE"
    LOGS_CAPTURED = "LOGS_CAPTURED"
    HOOK_COMPLETED = "HOOK_COMPLETED"
    HOOK_ERRORED = "HOOK_ERRORED"
    HOOK_SKIPPED = "HOOK_SKIPPED"
    FRESHNESS_STATE_CHANGE = "FRESHNESS_STATE_CHANGE"  # of no run: written by the daemon


@serializable()
@dataclass(frozen=True)
class SerializableError:
    """An exception as data: class, message, formatted stack and the chain of causes."""

    class_name: str
    message: str
    stack: tuple[str, ...] = ()
    cause: SerializableError | None = None

    @staticmethod
    def from_exception(exc: BaseException, depth: int = 0) -> SerializableError:
        cause_exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        cause = (
            SerializableError.from_exception(cause_exc, depth + 1)
            if cause_exc is not None and depth < 5
            else None
        )
        return SerializableError(
            class_name=type(exc).__name__,
            message=str(exc),
            stack=tuple(traceback.format_tb(exc.__traceback__)),
            cause=cause,
        )

    def to_string(self) -> str:
        """The error with its stack and causes, like Python prints a traceback."""
        parts = [f"{self.class_name}: {self.message}", *self.stack]
        if self.cause is not None:
            parts.append("\nThe above was caused by:\n" + self.cause.to_string())
        return "\n".join(p.rstrip("\n") for p in parts)


@serializable()
@dataclass(frozen=True)
class StepFailureData:
    error: SerializableError
    user_code: bool = True  # False when knoll itself (config, types, IO) failed the step
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)


@serializable()
@dataclass(frozen=True)
class StepRetryData:
    attempt: int  # the retry about to happen (1 for the first retry)
    max_retries: int
    seconds_to_wait: float
    error: SerializableError | None = None


@serializable()
@dataclass(frozen=True)
class StepSkippedData:
    reason: str


@serializable()
@dataclass(frozen=True)
class StepOutputData:
    output_name: str
    type_name: str
    asset_key: AssetKey | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    mapping_key: str | None = None  # one value of a dynamic output


@serializable()
@dataclass(frozen=True)
class IOData:
    """Payload of LOADED_INPUT / HANDLED_OUTPUT."""

    name: str  # the input or output name
    io_manager_key: str
    asset_key: AssetKey | None = None
    upstream_step_key: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)


@serializable()
@dataclass(frozen=True)
class AssetPlannedData:
    asset_key: AssetKey
    partition: str | None = None
    partition_range_start: str | None = None
    partition_range_end: str | None = None


@serializable()
@dataclass(frozen=True)
class RunFailureData:
    error: SerializableError | None = None
    failed_steps: tuple[str, ...] = ()


@serializable()
@dataclass(frozen=True)
class ComputeLogsData:
    """Payload of LOGS_CAPTURED: the files a step's stdout and stderr are captured to."""

    stdout_path: str
    stderr_path: str


@serializable()
@dataclass(frozen=True)
class HookData:
    """Payload of HOOK_COMPLETED / HOOK_ERRORED / HOOK_SKIPPED."""

    hook_name: str
    error: SerializableError | None = None


EventData = (
    AssetMaterialization
    | AssetObservation
    | AssetCheckEvaluation
    | ExpectationResult
    | StepFailureData
    | StepRetryData
    | StepSkippedData
    | StepOutputData
    | IOData
    | AssetPlannedData
    | RunFailureData
    | ComputeLogsData
    | HookData
    | FreshnessStateChange
    | None
)


@serializable(version=1)
@dataclass(frozen=True, slots=True)
class RunEvent:
    """One event of one run."""

    event_type: EventType
    run_id: str
    job_name: str
    timestamp: float
    step_key: str | None = None
    message: str = ""
    level: int = logging.DEBUG
    data: EventData = None

    # ---- convenience (the names Dagster users know) ------------------------------------
    @property
    def event_type_value(self) -> str:
        return self.event_type.value

    @property
    def is_step_failure(self) -> bool:
        return self.event_type is EventType.STEP_FAILURE

    @property
    def is_step_success(self) -> bool:
        return self.event_type is EventType.STEP_SUCCESS

    @property
    def is_failure(self) -> bool:
        return self.event_type in (EventType.STEP_FAILURE, EventType.RUN_FAILURE)

    @property
    def materialization(self) -> AssetMaterialization:
        if not isinstance(self.data, AssetMaterialization):
            raise AttributeError(f"a {self.event_type.value} event has no materialization")
        return self.data

    @property
    def asset_observation(self) -> AssetObservation:
        if not isinstance(self.data, AssetObservation):
            raise AttributeError(f"a {self.event_type.value} event has no observation")
        return self.data

    @property
    def asset_key(self) -> AssetKey | None:
        return getattr(self.data, "asset_key", None)

    @property
    def partition(self) -> str | None:
        return getattr(self.data, "partition", None)


class EventSink(Protocol):
    """Receives a run's events in order, in batches."""

    def write_events(self, events: Sequence[RunEvent]) -> None: ...


def run_event(
    run: Run,
    event_type: EventType,
    message: str,
    *,
    error: BaseException | None = None,
    level: int = logging.ERROR,
) -> RunEvent:
    """An event about ``run`` as a whole, written from outside its execution (a launcher, the
    queue, the run monitor, a run worker settling its run); a RUN_FAILURE carries ``error``."""
    data: EventData = None
    if event_type is EventType.RUN_FAILURE:
        data = RunFailureData(SerializableError.from_exception(error) if error else None)
    return RunEvent(
        event_type, run.run_id, run.job_name, time.time(), message=message, level=level, data=data
    )
