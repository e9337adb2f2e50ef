"""Automation ticks in the code server: evaluate a location's automation conditions against
an instance and prepare the runs they request.

The evaluation happens where the definitions are (custom conditions are user code, and the
asset graph is built there once), and reads the instance's storage directly. The server
answers an :class:`~knoll.storage.base.AutomationTick`: the records, the QUEUED runs named
``derived_run_id(location, "automation", evaluation id, index)`` and the next state; the
daemon stores them (see ``knoll.daemon.automation``).
"""

from __future__ import annotations

import datetime
from dataclasses import replace
from typing import TYPE_CHECKING

from knoll.defs.automation_eval import DEFAULT_PAUSE_SECONDS, evaluate_automation
from knoll.defs.automation_eval_records import AutomationRunRequest
from knoll.defs.selection import AssetSelection
from knoll.execution.prepare import ExecutionRequest, prepare_run
from knoll.execution.run import Run, RunStatus, derived_run_id
from knoll.instance.automation_facts import StorageAutomationFacts
from knoll.storage.base import AutomationTick

if TYPE_CHECKING:
    from knoll.defs.definitions import Definitions
    from knoll.instance import Instance

__all__ = ["AUTOMATION_TAG", "automation_run_id", "automation_tick"]

AUTOMATION_TAG = "knoll/automation_evaluation"
"""Run tag of a run that automation requested: ``LOCATION:EVALUATION_ID``."""


def automation_run_id(location: str, evaluation_id: int, index: int) -> str:
    """The run id of the ``index``-th run that evaluation ``evaluation_id`` requested."""
    return derived_run_id(location, "automation", str(evaluation_id), str(index))


def automation_tick(
    defs: Definitions,
    location: str,
    instance: Instance,
    *,
    evaluation_id: int,
    evaluation_time: datetime.datetime,
    previous_state: str | None,
    pause_seconds: float = DEFAULT_PAUSE_SECONDS,
) -> AutomationTick:
    """Evaluate every automation condition of ``defs`` and prepare the runs requested."""
    from knoll.instance.launcher import LOCATION_TAG

    graph = defs.asset_graph
    facts = StorageAutomationFacts(instance.storage, graph.toposorted_keys)
    evaluation = evaluate_automation(
        graph,
        facts,
        evaluation_time=evaluation_time,
        previous_state=previous_state,
        location=location,
        evaluation_id=evaluation_id,
        pause_seconds=pause_seconds,
    )
    tags = {AUTOMATION_TAG: f"{location}:{evaluation_id}", LOCATION_TAG: location}
    runs = tuple(
        _prepared(defs, instance, request, automation_run_id(location, evaluation_id, i), tags)
        for i, request in enumerate(evaluation.run_requests)
    )
    run_ids_by_key: dict[str, list[str]] = {}
    for request, run in zip(evaluation.run_requests, runs, strict=True):
        for key in request.asset_keys:
            run_ids_by_key.setdefault(key.to_user_string(), []).append(run.run_id)
    records = tuple(
        replace(record, run_ids=tuple(run_ids_by_key.get(record.asset_key.to_user_string(), ())))
        for record in evaluation.records
    )
    return AutomationTick(
        location, evaluation_id, evaluation_time.timestamp(), evaluation.state, records, runs
    )


def _prepared(
    defs: Definitions,
    instance: Instance,
    request: AutomationRunRequest,
    run_id: str,
    tags: dict[str, str],
) -> Run:
    wanted = ExecutionRequest(
        partition_key=request.partition_key,
        tags=tags,
        run_id=run_id,
        asset_selection=AssetSelection.keys(*request.asset_keys),
        use_executor=True,
    )
    job = defs.get_implicit_asset_job(AssetSelection.keys(*request.asset_keys))
    run = prepare_run(job, wanted, instance).run
    return replace(run, status=RunStatus.QUEUED)
