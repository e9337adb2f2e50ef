"""Workers that do not fork from the run's process: started by a forkserver or by spawn.

Where forking a loaded process is unsafe (macOS: system frameworks may hold threads) the
multiprocess executor starts its workers from a *forkserver*, a small process that imports the
run's code location once (``worker_preload``) and forks each worker from that state; where
there is no fork at all (Windows) each worker is a fresh interpreter (*spawn*). Either way the
worker does not inherit the run's memory: it gets the job back from the code location the
process loaded (:func:`set_code_origin`, called by the code location loader), rebuilds the
same plan, resources and partition from a :class:`WorkerRecipe`, and then serves steps exactly
like a forked worker (``worker_pool.worker_main``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from knoll._serdes import RAW, deserialize, serializable, serialize
from knoll.defs.definitions import IMPLICIT_ASSET_JOB, Definitions
from knoll.defs.job import JobDefinition
from knoll.defs.keys import AssetKey
from knoll.errors import DefinitionError, ExecutionError, KnollError
from knoll.execution.dynamic_steps import selection_keys
from knoll.execution.events import SerializableError
from knoll.execution.origin import (
    CodeOrigin,
    code_origin,
    loaded_definitions,
    resolve,
    set_code_origin,
)
from knoll.execution.prepare import ExecutionRequest, prepare_run
from knoll.execution.recorder import MemoryRecorder, RunRecorder
from knoll.execution.run import Run
from knoll.execution.run_state import EventWriter, RunState
from knoll.execution.worker_pool import INIT_FAILED, Worker, WorkerSeed, worker_main

__all__ = [
    "WorkerRecipe",
    "make_recipe",
    "preload_from_environment",
    "spawned_worker_context",
    "start_spawned_worker",
]

ORIGIN_ENV = "KNOLL_WORKER_ORIGIN"
"""Environment variable through which a forkserver learns which code location to preload."""

PRELOAD_MODULE = "knoll.execution.worker_preload"


@serializable()
@dataclass(frozen=True)
class WorkerRecipe:
    """What a worker that does not inherit the run's memory needs to rebuild it; it crosses
    to the worker as versioned JSON."""

    origin: CodeOrigin
    run: Run
    asset_selection: frozenset[AssetKey] | None
    op_selection: tuple[str, ...] | None
    step_keys: tuple[str, ...]
    # how the worker opens the run's instance: {"open": "module:function", "home": path}
    instance: Mapping[str, str] | None = field(default=None, metadata=RAW)


def make_recipe(
    state: RunState,
    step_keys: Sequence[str],
    method: str,
    *,
    asset_selection: frozenset[AssetKey] | None,
    op_selection: Sequence[str] | None,
    resource_overrides: Mapping[str, Any] | None,
) -> WorkerRecipe:
    """The recipe of the workers of ``state``'s run; raises ``ExecutionError`` when they could
    not get the job back (no code location, resources given to this call only)."""
    run_id = state.run.run_id
    origin = code_origin()
    if origin is None:
        raise ExecutionError(
            f"the multiprocess executor of run {run_id} starts its workers with {method!r}, "
            "and such workers load the job again from its code location, but "
            f"{state.job.describe()} was not loaded from one in this process. Run it with "
            "`knoll job execute -m MODULE --job NAME` (or -f FILE), launch it through a code "
            "server (`knoll run launch`), or, on a platform where fork is safe, set "
            "multiprocess_executor(start_method='fork')."
        )
    if resource_overrides:
        names = ", ".join(sorted(resource_overrides))
        raise ExecutionError(
            f"run {run_id} passes resources ({names}) to execute_job, but its multiprocess "
            f"executor starts its workers with {method!r}, and such workers load the job and "
            "its resources from the code location: resources given to one call cannot reach "
            "them. Put the resources in the location's Definitions(resources=...), or use "
            "start_method='fork' where fork is safe."
        )
    return WorkerRecipe(
        origin=origin,
        run=state.run,
        asset_selection=asset_selection,
        op_selection=tuple(op_selection) if op_selection is not None else None,
        step_keys=tuple(step_keys),
        instance=state.recorder.process_reference(),
    )


def spawned_worker_context(method: str, origin: CodeOrigin) -> Any:
    """The multiprocessing context that starts workers with ``method``; for a forkserver, one
    that preloads ``origin`` (the first time this process starts its forkserver)."""
    import multiprocessing

    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # The forkserver starts with this process's environment and preloads the location.
        os.environ[ORIGIN_ENV] = serialize(origin)
        context.set_forkserver_preload([PRELOAD_MODULE])
    return context


def start_spawned_worker(context: Any, recipe: WorkerRecipe) -> Worker:
    """Start one worker from ``recipe`` with the multiprocessing ``context``."""
    parent, child = context.Pipe(duplex=True)
    process = context.Process(
        target=spawned_worker_main, args=(child, serialize(recipe)), daemon=True
    )
    with _main_module_hidden():
        process.start()
    child.close()
    return Worker(process, parent)


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a worker without multiprocessing re-running this process's main script in it.

    The worker gets everything from the code location, so it has no use for the script; and a
    script without an ``if __name__ == "__main__":`` guard would start its run again in every
    worker."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {
        k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__
    }
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def spawned_worker_main(conn: Connection, recipe_json: str) -> None:
    """The body of a worker started by a forkserver or by spawn."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    recipe: WorkerRecipe = deserialize(recipe_json)
    try:
        seed = _seed(recipe)
    except Exception as exc:
        error = exc
        if not isinstance(exc, KnollError):
            error = ExecutionError(
                f"loading {recipe.origin.describe()} failed: {type(exc).__name__}: {exc}\n"
                f"{traceback.format_exc()}"
            )
        with contextlib.suppress(OSError):
            conn.send_bytes(
                INIT_FAILED + serialize(SerializableError.from_exception(error)).encode()
            )
        conn.close()
        return
    worker_main(conn, seed)


def _seed(recipe: WorkerRecipe) -> WorkerSeed:
    defs = _definitions(recipe.origin)
    run = recipe.run
    job = job_named(defs, run.job_name, recipe.origin, asset_selection=run.asset_selection)
    recorder = _open_recorder(recipe.instance)
    # the same preparation as the run's, from what it recorded: plan, config, resources, partition
    request = ExecutionRequest(
        run_config=run.run_config or None,
        tags=run.tags,
        run_id=run.run_id,
        asset_selection=recipe.asset_selection,
        op_selection=recipe.op_selection,
        use_executor=True,
        step_keys=recipe.step_keys,
    )
    prepared = prepare_run(job, request, recorder)
    steps = selection_keys(prepared.plan)
    if steps != list(recipe.step_keys):
        raise ExecutionError(
            f"{job.describe()} in {recipe.origin.describe()} is not the job run {run.run_id} "
            f"started with: its steps are {', '.join(steps)}, the run's are "
            f"{', '.join(recipe.step_keys)}. The code changed while the run started its "
            "workers: run it again."
        )
    state = prepared.state(run, EventWriter(run, []), recorder)
    return WorkerSeed(
        state,
        prepared.plan,
        prepared.resource_defs,
        prepared.resolved.resource_config,
        frozenset(prepared.needed_resources),
    )


def _open_recorder(reference: Mapping[str, str] | None) -> RunRecorder:
    """The run's recorder, opened again in this worker from its reference (a memory recorder
    when the run's cannot be shared: the worker's events go to the coordinator in any case)."""
    if reference is None:
        return MemoryRecorder()
    opened = resolve(reference["open"])(reference["home"])
    if not isinstance(opened, RunRecorder):
        raise ExecutionError(
            f"{reference['open']} opened {type(opened).__name__}, which cannot record runs."
        )
    return opened


def _definitions(origin: CodeOrigin) -> Definitions:
    """The location's definitions: preloaded by the forkserver this worker was forked from,
    or loaded now."""
    return loaded_definitions(origin) or origin.load()


def job_named(
    defs: Definitions,
    job_name: str | None,
    origin: CodeOrigin | None = None,
    *,
    asset_selection: Any = None,
) -> JobDefinition:
    """The job that runs of ``job_name`` execute (every asset's implicit job for ``None`` or
    the implicit asset job's name); ``origin`` names the location in the error for a job that
    is not there. When the assets have several partitions definitions, so that no job holds
    them all, the implicit job of a run is the one over its ``asset_selection``."""
    if job_name is None or job_name == IMPLICIT_ASSET_JOB:
        if asset_selection is None:
            return defs.get_implicit_asset_job()
        try:
            return defs.get_implicit_asset_job()
        except DefinitionError:  # assets of several partitions definitions
            return defs.get_implicit_asset_job(asset_selection)
    try:
        return defs.get_job_def(job_name)
    except DefinitionError as exc:
        if origin is None:
            raise
        raise DefinitionError(f"{origin.describe()}: {exc}") from exc


def preload_from_environment() -> None:
    """Load the code location named by ``$KNOLL_WORKER_ORIGIN`` into this process (the
    forkserver), so that the workers forked from it start with it loaded.

    Never raises: a forkserver that failed to start would fail every worker with an obscure
    error; a location that fails here fails again, with its own message, in the worker.
    """
    encoded = os.environ.get(ORIGIN_ENV)
    if not encoded:
        return
    try:
        origin: CodeOrigin = deserialize(encoded)
        for module in origin.warm_modules:
            with contextlib.suppress(ImportError):
                importlib.import_module(module)
        set_code_origin(origin, origin.load())
    except Exception:
        set_code_origin(None)
