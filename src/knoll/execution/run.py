"""Runs: the record of one execution, and the one state machine of its status."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from knoll._serdes import RAW, serializable
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.errors import RunStatusError


@serializable()
class RunStatus(enum.Enum):
    """Where a run is in its life. Moves only along ``RUN_STATUS_TRANSITIONS``."""

    QUEUED = "QUEUED"
    STARTING = "STARTING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELED})

RUN_STATUS_TRANSITIONS: Mapping[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.STARTING, RunStatus.CANCELING, RunStatus.CANCELED}),
    RunStatus.STARTING: frozenset(
        {RunStatus.STARTED, RunStatus.FAILURE, RunStatus.CANCELING, RunStatus.CANCELED}
    ),
    RunStatus.STARTED: frozenset(
        {RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELING, RunStatus.CANCELED}
    ),
    RunStatus.CANCELING: frozenset({RunStatus.CANCELED, RunStatus.FAILURE}),
    RunStatus.SUCCESS: frozenset(),
    RunStatus.FAILURE: frozenset(),
    RunStatus.CANCELED: frozenset(),
}


def check_transition(run_id: str, current: RunStatus, new: RunStatus) -> None:
    """Raise ``RunStatusError`` unless ``current -> new`` is a legal move."""
    if new not in RUN_STATUS_TRANSITIONS[current]:
        allowed = ", ".join(s.value for s in sorted(RUN_STATUS_TRANSITIONS[current], key=str))
        raise RunStatusError(
            f"run {run_id} cannot go from {current.value} to {new.value}: "
            f"from {current.value} it can only go to {allowed or 'nothing (it has finished)'}."
        )


PARTITION_TAG = "knoll/partition"
PARTITION_RANGE_START_TAG = "knoll/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "knoll/asset_partition_range_end"
_RUN_ID_NAMESPACE = "6c1c1a8e-8c2b-4c55-9d36-0b8f6a6c3e2d"  # uuid5 namespace of derived run ids
OP_SELECTION_TAG = "knoll/op_selection"
"""Run tag: the ops a run of an op job was limited to (comma-separated), for re-executing it."""


def derived_run_id(*parts: str) -> str:
    """A run id that is the same every time for the same ``parts`` (a uuid5 of them): a
    daemon that names the run of a tick, a backfill's chunk or a retry this way cannot store
    it twice, because ``add_run`` of a stored id raises ``RunAlreadyStoredError``."""
    import uuid

    return str(uuid.uuid5(uuid.UUID(_RUN_ID_NAMESPACE), "\x1f".join(parts)))


def new_run_id() -> str:
    # uuid4's text form, without importing the uuid module (it costs more than this file)
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@serializable()
@dataclass(frozen=True)
class Run:
    """One execution of a job or asset selection: id, status, tags, config and lineage."""

    run_id: str
    job_name: str
    status: RunStatus = RunStatus.QUEUED
    tags: Mapping[str, str] = field(default_factory=dict)
    run_config: Mapping[str, Any] = field(default_factory=dict, metadata=RAW)
    asset_selection: frozenset[AssetKey] | None = None
    asset_check_selection: frozenset[AssetCheckKey] | None = None
    parent_run_id: str | None = None
    root_run_id: str | None = None

    def __post_init__(self) -> None:
        # JSON has no sets: records read back carry tuples.
        for name in ("asset_selection", "asset_check_selection"):
            value: Any = getattr(self, name)
            if value is not None and not isinstance(value, frozenset):
                object.__setattr__(self, name, frozenset(value))

    def with_status(self, status: RunStatus) -> Run:
        check_transition(self.run_id, self.status, status)
        return replace(self, status=status)

    @property
    def partition_key(self) -> str | None:
        return self.tags.get(PARTITION_TAG)

    @property
    def is_success(self) -> bool:
        return self.status is RunStatus.SUCCESS

    @property
    def is_finished(self) -> bool:
        return self.status.is_finished
