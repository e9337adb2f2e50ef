"""A code location loaded in this process: its definitions or its load error, and its ticks.

The code server holds one :class:`LoadedLocation`. Loading never raises: a failed import is
kept as a :class:`LocationLoadFailure` and served, so a broken location stays visible.
"""

from __future__ import annotations

import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from knoll._processes import reap_in_background, running_child
from knoll.codeloc.loader import CodeLocationLoadError, CodeLocationTarget, load_definitions
from knoll.codeloc.protocol import LocationLoadFailure
from knoll.errors import CodeServerError, DefinitionError

if TYPE_CHECKING:
    from knoll.defs.definitions import Definitions
    from knoll.defs.keys import AssetKey
    from knoll.defs.resource_definition import Resources
    from knoll.defs.schedule import ScheduleEvaluationResult
    from knoll.defs.sensor import SensorEvaluationResult
    from knoll.execution.run import Run
    from knoll.instance import Instance
    from knoll.instance.launcher import LaunchRequest, ReexecutionRequest
    from knoll.storage.base import AutomationTick

T = TypeVar("T")


class UnknownDefinitionError(CodeServerError):
    """A tick was asked of a schedule or sensor the location does not define."""


class LoadedLocation:
    """One code location's definitions in this process, loaded once by :meth:`load`."""

    def __init__(self, name: str, target: CodeLocationTarget) -> None:
        self.name = name
        self.target = target
        self.definitions: Definitions | None = None
        self.failure: LocationLoadFailure | None = None
        self.snapshot_json: str | None = None
        self.snapshot_id: str | None = None
        self.loaded_at: float | None = None  # when loading finished (seconds since the epoch)
        self._done = threading.Event()
        self._instances: dict[str, Instance] = {}
        self._instances_lock = threading.Lock()
        self._workers: set[int] = set()  # pids of the run workers forked from this process
        self._workers_lock = threading.Lock()

    @property
    def load_status(self) -> str:
        """``loading``, ``loaded`` or ``error``."""
        if not self._done.is_set():
            return "loading"
        return "error" if self.failure is not None else "loaded"

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Wait until loading has finished (either way); False if ``timeout`` passed first."""
        return self._done.wait(timeout)

    def load(self, then: Callable[[], None] | None = None) -> None:
        """Import the code and build its snapshot once; an error is kept, not raised. ``then``
        runs after a load that worked, before the location counts as loaded (the server
        imports there what run workers need, so that a loaded location launches at full
        speed from its first run)."""
        from knoll.codeloc.snapshot import definitions_snapshot_json, snapshot_id

        try:
            defs = load_definitions(self.target)
            text = definitions_snapshot_json(defs)
            self.definitions, self.snapshot_json, self.snapshot_id = defs, text, snapshot_id(defs)
            if then is not None:
                then()
        except CodeLocationLoadError as exc:
            self.failure = LocationLoadFailure(
                f"code location {self.name!r}: {exc}",
                type(exc.__cause__ or exc).__name__,
                exc.formatted_traceback,
            )
        except Exception as exc:
            # a definition error (or a bug of ours): served like an import error
            self.failure = LocationLoadFailure(
                f"code location {self.name!r}: {exc}", type(exc).__name__, traceback.format_exc()
            )
        finally:
            self.loaded_at = time.time()
            self._done.set()

    def evaluate_schedule(
        self, name: str, scheduled_execution_time: datetime
    ) -> ScheduleEvaluationResult:
        """Evaluate one tick of schedule ``name``, with the resources it asks for."""
        from knoll.defs.schedule import ScheduleEvaluationContext
        from knoll.execution.resources import build_resources

        defs = self._loaded()
        schedule = self._find(lambda: defs.get_schedule_def(name))
        with build_resources(defs.resources, only=schedule.required_resource_keys) as resources:
            context = ScheduleEvaluationContext(
                scheduled_execution_time, resources=_as_dict(resources)
            )
            return schedule.evaluate_tick(context)

    def evaluate_sensor(
        self,
        name: str,
        cursor: str | None = None,
        last_tick_completion_time: float | None = None,
        last_run_key: str | None = None,
        instance_home: str | None = None,
    ) -> SensorEvaluationResult:
        """Evaluate one tick of sensor ``name`` from ``cursor``, with the resources it asks for
        (``context.instance`` is the instance at ``instance_home``, None without one)."""
        from knoll.defs.multi_asset_sensor import MultiAssetSensorDefinition
        from knoll.defs.sensor import SensorEvaluationContext
        from knoll.execution.resources import build_resources

        defs = self._loaded()
        sensor = self._find(lambda: defs.get_sensor_def(name))
        instance = self._instance(instance_home) if instance_home is not None else None
        with build_resources(defs.resources, only=sensor.required_resource_keys) as resources:
            context = SensorEvaluationContext(
                cursor,
                resources=_as_dict(resources),
                last_tick_completion_time=last_tick_completion_time,
                last_run_key=last_run_key,
                instance=instance,
            )
            if isinstance(sensor, MultiAssetSensorDefinition):  # resolves an AssetSelection
                context = sensor.context_for(context, defs.asset_graph)
            return sensor.evaluate_tick(context)

    def automation_tick(
        self,
        instance_home: str,
        evaluation_id: int,
        evaluation_time: datetime,
        previous_state: str | None,
        pause_seconds: float | None = None,
    ) -> AutomationTick:
        """Evaluate the location's automation conditions against the instance at
        ``instance_home`` (see ``knoll.codeloc.automation``)."""
        from knoll.codeloc.automation import automation_tick
        from knoll.defs.automation_eval import DEFAULT_PAUSE_SECONDS

        return automation_tick(
            self._loaded(),
            self.name,
            self._instance(instance_home),
            evaluation_id=evaluation_id,
            evaluation_time=evaluation_time,
            previous_state=previous_state,
            pause_seconds=DEFAULT_PAUSE_SECONDS if pause_seconds is None else pause_seconds,
        )

    def build_run(self, request: LaunchRequest, instance_home: str | None = None) -> Run:
        """The STARTING run that ``request`` asks for, validated against these definitions
        (dynamic partitions are read from the instance at ``instance_home``)."""
        from knoll.codeloc.run_worker import prepare_launch

        defs = self._loaded()
        instance = self._instance(instance_home) if instance_home is not None else None
        try:
            return prepare_launch(defs, self.name, request, instance)
        except DefinitionError as exc:
            if request.job_name is not None and request.job_name not in defs.job_defs:
                raise UnknownDefinitionError(str(exc)) from None
            raise

    def resolve_selection(self, selection: str) -> list[AssetKey]:
        """The assets an asset selection string (``"orders+"``) names in these definitions,
        sorted; a selection that names nothing known raises ``SelectionError``."""
        from knoll.defs.selection import AssetSelection

        graph = self._loaded().asset_graph
        return sorted(AssetSelection.from_coercible(selection).resolve(graph), key=_key_path)

    def build_reexecution(self, request: ReexecutionRequest, instance_home: str) -> Run:
        """The STARTING re-execution that ``request`` asks for, of a run stored in the
        instance at ``instance_home``, validated against these definitions."""
        from knoll.codeloc.run_worker import prepare_reexecution

        instance = self._instance(instance_home)
        return prepare_reexecution(self._loaded(), self.name, request, instance)

    def start_run_worker(
        self,
        run_id: str,
        instance_home: str,
        heartbeat_interval: float,
        close: Sequence[socket.socket] = (),
        *,
        resume: bool = False,
    ) -> int:
        """Fork the worker of stored run ``run_id`` from this warm process: its pid (with
        ``resume``, a worker that finishes a run whose first worker died)."""
        from knoll.codeloc.run_worker import fork_run_worker

        defs = self._loaded()
        self.live_run_workers()  # forget the ones that have ended
        pid = fork_run_worker(defs, run_id, instance_home, heartbeat_interval, close, resume=resume)
        with self._workers_lock:
            self._workers.add(pid)
        return pid

    def live_run_workers(self) -> list[int]:
        """The pids of the run workers forked from this process that are still running; the
        ones that have exited are reaped now if nothing has reaped them yet."""
        with self._workers_lock:
            live = [pid for pid in sorted(self._workers) if running_child(pid)]
            self._workers = set(live)
        return live

    def adopt_run_workers(self, pids: Iterable[int]) -> None:
        """Reap, when they exit, run workers that this process forked before it re-executed
        itself (a reload): the threads that waited for them were lost with the old program,
        and a child nobody waits for stays a zombie until the server exits."""
        for pid in pids:
            with self._workers_lock:
                self._workers.add(pid)
            reap_in_background(pid)

    def _instance(self, home: str) -> Instance:
        # One per home, storage opened on first use. A forked worker never touches these: it
        # opens its own connections.
        from knoll.instance import Instance

        with self._instances_lock:
            if home not in self._instances:
                self._instances[home] = Instance.get(home)
            return self._instances[home]

    def _loaded(self) -> Definitions:
        self._done.wait()
        if self.definitions is None:
            message = self.failure.message if self.failure else "it did not load"
            raise CodeServerError(
                f"{message}\nFix the code and reload the location (POST /reload)."
            )
        return self.definitions

    @staticmethod
    def _find(get: Callable[[], T]) -> T:
        try:
            return get()
        except DefinitionError as exc:
            raise UnknownDefinitionError(str(exc)) from None


def _key_path(key: AssetKey) -> tuple[str, ...]:
    return tuple(key.path)


def _as_dict(resources: Resources) -> dict[str, object]:
    return {key: resources.get(key) for key in resources}
