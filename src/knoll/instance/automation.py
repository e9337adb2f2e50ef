"""``evaluate_automation_conditions``: one evaluation of a Definitions' automation conditions
against an instance, in this process, as Dagster's function of that name does (for tests and
notebooks; the daemon evaluates in the code server)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knoll.defs.automation_eval import evaluate_automation
from knoll.defs.automation_eval_records import (
    AutomationEvaluationRecord,
    AutomationRunRequest,
    Partition,
)
from knoll.defs.keys import AssetKey
from knoll.instance.automation_facts import StorageAutomationFacts

if TYPE_CHECKING:
    from knoll.defs.definitions import Definitions
    from knoll.instance import Instance

__all__ = ["EvaluateAutomationConditionsResult", "evaluate_automation_conditions"]


@dataclass(frozen=True)
class EvaluateAutomationConditionsResult:
    """What one evaluation found: a record per asset with a condition, the runs it would
    request, and the ``cursor`` to pass to the next evaluation."""

    records: Sequence[AutomationEvaluationRecord]
    run_requests: Sequence[AutomationRunRequest]
    cursor: str

    @property
    def total_requested(self) -> int:
        """How many asset partitions were requested (an unpartitioned asset counts one)."""
        return sum(record.num_requested for record in self.records)

    def get_requested_partitions(self, asset_key: object) -> frozenset[Partition]:
        """The partitions of ``asset_key`` requested (``{None}`` for an unpartitioned asset)."""
        key = AssetKey.from_coercible(asset_key)
        for record in self.records:
            if record.asset_key == key:
                return frozenset(record.requested_partitions)
        return frozenset()

    def get_num_requested(self, asset_key: object) -> int:
        return len(self.get_requested_partitions(asset_key))


def evaluate_automation_conditions(
    defs: Definitions,
    instance: Instance,
    *,
    cursor: str | None = None,
    evaluation_time: datetime.datetime | None = None,
) -> EvaluateAutomationConditionsResult:
    """Evaluate every automation condition of ``defs`` against ``instance`` once, from the
    ``cursor`` of the previous result (None: a first evaluation). Nothing is stored and no
    run is started."""
    graph = defs.asset_graph
    when = evaluation_time or datetime.datetime.now(datetime.UTC)
    facts = StorageAutomationFacts(instance.storage, graph.toposorted_keys)
    evaluation = evaluate_automation(graph, facts, evaluation_time=when, previous_state=cursor)
    return EvaluateAutomationConditionsResult(
        evaluation.records, evaluation.run_requests, evaluation.state
    )
