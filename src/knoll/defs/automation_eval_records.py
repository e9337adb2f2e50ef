"""What evaluating automation conditions reads and records.

:class:`AutomationFacts` is what the evaluator asks of an instance's history (the instance
layer answers it from storage); :class:`AutomationEvaluationRecord` is what one evaluation of
one asset's condition found, node by node, as it is stored and shown by ``knoll asset
automation KEY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from knoll._serdes import serializable
from knoll.defs.keys import AssetCheckKey, AssetKey

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader

Partition = str | None
"""A partition key; ``None`` is the one slice of an unpartitioned asset."""


class AutomationFacts(Protocol):
    """What the evaluator reads of the instance: the latest materializations, the runs in
    progress and the latest check results. Implementations read storage lazily and in bulk."""

    @property
    def dynamic_partitions(self) -> DynamicPartitionsReader | None:
        """Where dynamic partition keys are read from."""
        ...

    def latest_materialization_id(self, key: AssetKey) -> int | None:
        """The storage id of the asset's latest materialization (of any partition)."""
        ...

    def latest_run_id(self, key: AssetKey) -> str | None:
        """The run of the asset's latest materialization."""
        ...

    def data_version(self, key: AssetKey) -> str | None:
        """The data version the latest materialization reported."""
        ...

    def materialized_partitions(self, key: AssetKey) -> frozenset[str]:
        """The partitions of a partitioned asset that have been materialized."""
        ...

    def updated_partitions(self, key: AssetKey, after: int | None) -> Mapping[str, str]:
        """The partitions materialized after storage id ``after``, with the run of the latest
        such materialization of each."""
        ...

    def in_progress_partitions(self, key: AssetKey) -> frozenset[Partition]:
        """The partitions that a queued or in-progress run targets (``None``: a run of the
        whole asset)."""
        ...

    def failed_partitions(self, key: AssetKey) -> frozenset[Partition]:
        """The partitions whose latest execution failed."""
        ...

    def run_asset_keys(self, run_id: str) -> frozenset[AssetKey]:
        """The assets a run selected."""
        ...

    def check_results(self, key: AssetCheckKey) -> Mapping[Partition, bool]:
        """Whether the latest evaluation of the check passed, by partition."""
        ...


@serializable()
@dataclass(frozen=True)
class ConditionNodeEvaluation:
    """One node of a condition tree as evaluated: its label, the partitions it was true for
    (out of how many candidates) and its operands' evaluations. ``target`` names the
    dependency or check a node was evaluated for, when it is not the asset itself."""

    label: str
    true_partitions: tuple[Partition, ...]
    candidates: int
    children: tuple[ConditionNodeEvaluation, ...] = ()
    target: str | None = None

    @property
    def is_true(self) -> bool:
        return bool(self.true_partitions)


@serializable()
@dataclass(frozen=True)
class AutomationEvaluationRecord:
    """One evaluation of one asset's automation condition: the tree as evaluated, the
    partitions it requested and the runs it requested them in. ``catch_up`` says how a tick
    after a pause bounded what it requested."""

    location: str
    evaluation_id: int
    asset_key: AssetKey
    timestamp: float
    condition: ConditionNodeEvaluation
    requested_partitions: tuple[Partition, ...] = ()
    run_ids: tuple[str, ...] = ()
    catch_up: str | None = None

    @property
    def num_requested(self) -> int:
        return len(self.requested_partitions)


@serializable()
@dataclass(frozen=True)
class AutomationRunRequest:
    """A run an evaluation asks for: these assets, at this partition (None: unpartitioned)."""

    asset_keys: tuple[AssetKey, ...]
    partition_key: str | None = None


def shown_partitions(partitions: tuple[Partition, ...], limit: int = 5) -> str:
    """``2024-05-01, 2024-05-02 and 3 more`` (``<unpartitioned>`` for the one slice)."""
    names = ["<unpartitioned>" if p is None else p for p in partitions]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"
