"""Acting on runs (the launcher role): launch one, re-execute one, cancel one, delete one.

A launch is validated by the code server of its location before anything is stored: a job,
selection, partition or config that does not fit the definitions is a 422 naming what is
wrong, and no run exists afterwards. A valid run starts at once in a worker forked from the
code server, or waits in the run queue when a dequeuer (the daemon's run queue duty or a
``knoll run queue-worker``) is running, so that the queue's limits hold for it as they hold
for scheduled runs; ``queue`` in the body decides instead when given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from knoll._utils import did_you_mean
from knoll.daemon import QUEUE_DUTY, is_fresh
from knoll.errors import RequestRefusedError
from knoll.execution.run import RunStatus
from knoll.instance import Instance
from knoll.instance.launcher import LOCATION_TAG, LaunchRequest, ReexecutionRequest, RunLauncher
from knoll.instance.loop_heartbeats import Loop, live_loop_heartbeat
from knoll.server.api.runs import RunModel, run_record
from knoll.server.auth import Launcher
from knoll.server.auth.principal import Role, ensure_role
from knoll.server.context import Context, ServerContext
from knoll.server.problems import Problem
from knoll.storage.base import RunRecord

router = APIRouter(tags=["runs"])

# the title of a refused request, by the class of the error the code server raised
_REFUSED_TITLE = {
    "InvalidConfigError": "Invalid config",
    "ConfigFileError": "Invalid config",
    "PartitionKeyError": "Unknown partition",
    "SelectionError": "Invalid selection",
    "UnknownDefinitionError": "Unknown definition",
}


class LaunchBody(BaseModel):
    """What to run: a job, an asset selection (such as ``"orders+"``, within the job when both
    are given), its run config, tags and partition (one key, or a range). ``location`` names
    the code location that defines it (needed when the webserver serves several); ``queue``
    puts the run in the run queue (true) or starts it now (false)."""

    model_config = ConfigDict(extra="forbid")

    location: str | None = None
    job_name: str | None = None
    asset_selection: str | None = None
    run_config: dict[str, object] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    partition_key: str | None = None
    partition_range_start: str | None = None
    partition_range_end: str | None = None
    queue: bool | None = None


class ReexecuteBody(BaseModel):
    """How to run a finished run again, as a new run whose parent it is: ``ALL_STEPS`` (all
    of them, or only ``step_selection``), or ``FROM_FAILURE`` (the steps that did not
    succeed, and what depends on them). ``tags`` are added to the parent's."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["ALL_STEPS", "FROM_FAILURE"] = "ALL_STEPS"
    step_selection: list[str] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    queue: bool | None = None


def _launcher(context: ServerContext) -> RunLauncher:
    if context.launcher is None:
        raise Problem(
            503,
            "No code locations",
            "This webserver serves no code locations, so it cannot launch runs.",
            fix="Start the webserver with the code to serve: knoll webserver -w workspace.yaml "
            "(or -m MODULE / -f FILE).",
        )
    return context.launcher


def _location(
    context: ServerContext,
    name: str | None,
    doing: str,
    *,
    unnamed: str = "the request names none",
    fix: str = "Give 'location' in the body: the code location that defines the job.",
) -> str:
    """The location called ``name``, or the only one when ``name`` is None."""
    names = context.locations.names
    if name is None:
        if len(names) == 1:
            return names[0]
        raise Problem(
            422,
            "Which code location?",
            f"cannot {doing}: this webserver serves several code locations "
            f"({', '.join(names) or 'none'}), and {unnamed}.",
            object="location",
            fix=fix,
        )
    if name not in names:
        raise Problem(
            422,
            "Unknown code location",
            f"cannot {doing}: there is no code location {name!r}.{did_you_mean(name, names)} "
            f"Locations: {', '.join(names) or 'none'}.",
            object=name,
            fix="Give one of the locations of GET /api/v1/jobs in 'location'.",
        )
    return name


def dequeuer_running(instance: Instance) -> bool:
    """Whether a daemon's run queue duty or a ``knoll run queue-worker`` is alive, so that a
    queued run will start."""
    beats = instance.storage.get_daemon_heartbeats()
    if any(b.duty == QUEUE_DUTY and is_fresh(b) for b in beats):
        return True
    return live_loop_heartbeat(instance.storage, Loop.QUEUE_WORKER) is not None


def _refused(exc: RequestRefusedError, what: str) -> Problem:
    title = _REFUSED_TITLE.get(exc.error_type, "Request refused")
    return Problem(422, title, str(exc), object=what)


@contextlib.contextmanager
def _talking_to(context: ServerContext, location: str, what: str) -> Iterator[None]:
    """Hold the location's client, and answer a refusal of its code server with a 422."""
    try:
        with context.locations.lock(location):
            yield
    except RequestRefusedError as exc:
        raise _refused(exc, what) from None


def _check_launch(body: LaunchBody) -> None:
    if not body.job_name and not body.asset_selection:
        raise Problem(
            422,
            "Nothing to run",
            "the launch names neither a job nor an asset selection.",
            fix="Give 'job_name', 'asset_selection' (such as \"orders+\"), or both.",
        )
    ranged = (body.partition_range_start, body.partition_range_end)
    if (ranged[0] is None) != (ranged[1] is None):
        raise Problem(
            422,
            "Invalid partition range",
            "a partition range needs both 'partition_range_start' and 'partition_range_end'.",
            object="partition_range_start" if ranged[0] is None else "partition_range_end",
            fix="Give both ends of the range, or 'partition_key' for one partition.",
        )
    if body.partition_key is not None and ranged[0] is not None:
        raise Problem(
            422,
            "Invalid partition",
            "the launch gives both 'partition_key' and a partition range.",
            object="partition_key",
            fix="Give 'partition_key' for one partition or the range, not both.",
        )


@router.post("/runs", response_model=RunModel, status_code=201)
def launch_run(context: Context, principal: Launcher, body: LaunchBody) -> RunModel:
    """Launch a run of a job or asset selection, validated before it is stored."""
    _check_launch(body)
    launcher = _launcher(context)
    location = _location(context, body.location, "launch a run")
    ensure_role(principal, Role.LAUNCHER, location)
    request = LaunchRequest(
        job_name=body.job_name,
        asset_selection=body.asset_selection,
        run_config=body.run_config,
        tags=body.tags,
        partition_key=body.partition_key,
        partition_range_start=body.partition_range_start,
        partition_range_end=body.partition_range_end,
    )
    queue = dequeuer_running(context.instance) if body.queue is None else body.queue
    with _talking_to(context, location, request.describe()):
        record = launcher.launch_run(request, queue=queue, location=location)
    return RunModel.of(record)


@router.post("/runs/{run_id}/reexecute", response_model=RunModel, status_code=201)
def reexecute_run(
    context: Context, principal: Launcher, run_id: str, body: ReexecuteBody
) -> RunModel:
    """Run a finished run again as a new run (its child): all steps or from failure."""
    parent = run_record(context, run_id).run
    launcher = _launcher(context)
    location = _location(
        context,
        parent.tags.get(LOCATION_TAG),
        f"re-execute run {run_id}",
        unnamed=f"the run has no {LOCATION_TAG} tag to say which it belongs to",
        fix=f"Re-execute it from the command line with the code it ran: knoll run reexecute "
        f"{run_id} -m MODULE.",
    )
    ensure_role(principal, Role.LAUNCHER, location)
    from_failure = body.strategy == "FROM_FAILURE"
    if not parent.is_finished:
        raise Problem(
            409,
            "Conflict",
            f"run {run_id} is {parent.status.value}: only a finished run can be re-executed.",
            object=run_id,
            fix=f"Wait for it to finish, or cancel it first: POST /api/v1/runs/{run_id}/cancel.",
        )
    if from_failure and body.step_selection:
        raise Problem(
            422,
            "Invalid re-execution",
            "strategy FROM_FAILURE chooses its own steps, so it takes no 'step_selection'.",
            object="step_selection",
            fix="Leave 'step_selection' out, or use strategy ALL_STEPS with it.",
        )
    if from_failure and parent.is_success:
        raise Problem(
            409,
            "Conflict",
            f"run {run_id} succeeded: there is no failure to re-execute from.",
            object=run_id,
            fix="Use strategy ALL_STEPS to run all of its steps again.",
        )
    request = ReexecutionRequest(
        run_id,
        from_failure=from_failure,
        tags=body.tags,
        step_selection=tuple(body.step_selection or ()),
    )
    queue = dequeuer_running(context.instance) if body.queue is None else body.queue
    with _talking_to(context, location, run_id):
        built = launcher.build_reexecution(parent, request)
        record: RunRecord
        if queue:
            record = context.instance.submit_run(replace(built, status=RunStatus.QUEUED))
        else:
            record = context.instance.create_run(built)
            launcher.start_run(record)
    return RunModel.of(record)


@router.post("/runs/{run_id}/cancel", response_model=RunModel)
def cancel_run(context: Context, principal: Launcher, run_id: str) -> RunModel:
    """Cancel a queued or running run: its worker is stopped (SIGTERM, then SIGKILL after a
    grace period); the answer is its final record."""
    record = run_record(context, run_id)
    ensure_role(principal, Role.LAUNCHER, record.run.tags.get(LOCATION_TAG))
    if record.run.is_finished:
        raise Problem(
            409,
            "Conflict",
            f"run {run_id} has already finished ({record.run.status.value}): there is nothing "
            "to cancel.",
            object=run_id,
            fix=f"See what it did: GET /api/v1/runs/{run_id}/events.",
        )
    return RunModel.of(context.instance.cancel_run(run_id))


@router.delete("/runs/{run_id}", status_code=204, response_class=Response)
def delete_run(context: Context, principal: Launcher, run_id: str) -> Response:
    """Delete a finished run, its events and its compute logs."""
    record = run_record(context, run_id)
    ensure_role(principal, Role.LAUNCHER, record.run.tags.get(LOCATION_TAG))
    status = record.run.status
    if not status.is_finished:
        raise Problem(
            409,
            "Conflict",
            f"run {run_id} is {status.value}: only a finished run can be deleted.",
            object=run_id,
            fix=f"Cancel it first (POST /api/v1/runs/{run_id}/cancel), then delete it.",
        )
    context.instance.delete_run(run_id)
    return Response(status_code=204)
