"""Talking to a code server: health, the snapshot (cached by its id), reload, ticks and runs.

Only the standard library's ``http.client``: the webserver and the daemon use this client, and
it must work against a unix socket as well as a loopback port.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from knoll._serdes import pack, unpack
from knoll.codeloc.protocol import CodeServerHealth, LocationLoadFailure
from knoll.defs.keys import AssetKey
from knoll.defs.schedule import ScheduleEvaluationResult
from knoll.defs.sensor import SensorEvaluationResult
from knoll.errors import CodeServerError, RequestRefusedError

if TYPE_CHECKING:
    from knoll.execution.run import Run
    from knoll.instance.launcher import LaunchRequest, ReexecutionRequest
    from knoll.storage.base import AutomationTick


@dataclass(frozen=True)
class LocationSnapshot:
    """What a code server serves as its snapshot: the definitions, or why they did not load."""

    location_name: str
    snapshot_id: str | None
    snapshot: dict[str, Any] | None
    error: LocationLoadFailure | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class CodeServerClient:
    """A client of one code server, on a unix socket (``socket_path``) or ``host``/``port``.

    ``location_name`` is only used in messages until the server has told its own name.
    """

    def __init__(
        self,
        socket_path: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        location_name: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        if (socket_path is None) == (port is None):
            raise CodeServerError("CodeServerClient needs exactly one of socket_path or port.")
        self.socket_path = socket_path
        self.host = host
        self.port = port
        self.location_name = location_name
        self.timeout = timeout
        self._cached: LocationSnapshot | None = None

    @property
    def address(self) -> str:
        if self.socket_path is not None:
            return f"unix:{self.socket_path}"
        return f"http://{self.host}:{self.port}"

    def describe(self) -> str:
        name = f"location {self.location_name!r}" if self.location_name else "a location"
        return f"code server for {name} at {self.address}"

    # --- API ----------------------------------------------------------------------------

    def health(self, timeout: float | None = None) -> CodeServerHealth:
        """Who the server is and whether its code has loaded."""
        _, data = self._request("GET", "/health", timeout=timeout)
        health = unpack(data)
        if not isinstance(health, CodeServerHealth):
            raise CodeServerError(f"{self.describe()} answered /health with {data!r}.")
        self.location_name = health.location_name
        return health

    def snapshot(self) -> LocationSnapshot:
        """The location's snapshot, or its load error; unchanged snapshots are not resent."""
        headers = {}
        if self._cached is not None and self._cached.snapshot_id:
            headers["If-None-Match"] = f'"{self._cached.snapshot_id}"'
        status, data = self._request("GET", "/snapshot", headers=headers)
        if status == http.client.NOT_MODIFIED and self._cached is not None:
            return self._cached
        if data.get("status") == "error":
            failure = unpack(data["error"])
            return LocationSnapshot(data["location"], None, None, failure)
        from knoll.codeloc.snapshot import read_definitions_snapshot

        body = read_definitions_snapshot(json.dumps(data["snapshot"]))
        result = LocationSnapshot(data["location"], data["snapshot_id"], body)
        self._cached = result
        return result

    def reload(self, timeout: float = 120.0) -> CodeServerHealth:
        """Re-import the location's code; return once the new code has loaded (or failed)."""
        _, data = self._request("POST", "/reload")
        before = int(data["generation"])
        deadline = time.monotonic() + timeout
        while True:
            try:
                health = self.health(timeout=max(1.0, deadline - time.monotonic()))
            except CodeServerError:
                health = None  # between two processes: the socket queues, but may refuse once
            if (
                health is not None
                and health.generation > before
                and health.load_status != "loading"
            ):
                return health
            if time.monotonic() > deadline:
                raise CodeServerError(
                    f"{self.describe()} did not finish reloading within {timeout:g}s."
                )
            time.sleep(0.02)

    def evaluate_schedule(
        self, name: str, scheduled_execution_time: datetime | None = None
    ) -> ScheduleEvaluationResult:
        """Evaluate one tick of schedule ``name`` (at ``scheduled_execution_time``, default now)."""
        body: dict[str, Any] = {}
        if scheduled_execution_time is not None:
            if scheduled_execution_time.tzinfo is None:
                raise CodeServerError(
                    f"evaluate_schedule({name!r}): scheduled_execution_time must be "
                    "timezone-aware, e.g. datetime(2024, 5, 1, 6, tzinfo=timezone.utc)."
                )
            body["scheduled_execution_time"] = scheduled_execution_time.isoformat()
        result = self._tick(f"/schedules/{name}/tick", body, f"schedule {name!r}")
        if not isinstance(result, ScheduleEvaluationResult):
            raise CodeServerError(f"{self.describe()} answered a schedule tick with {result!r}.")
        return result

    def evaluate_sensor(
        self,
        name: str,
        cursor: str | None = None,
        last_tick_completion_time: float | None = None,
        last_run_key: str | None = None,
        instance_home: str | None = None,
    ) -> SensorEvaluationResult:
        """Evaluate one tick of sensor ``name`` from ``cursor``; the result holds the new cursor.
        With ``instance_home`` the sensor's ``context.instance`` is the instance kept there."""
        body = {
            "cursor": cursor,
            "last_tick_completion_time": last_tick_completion_time,
            "last_run_key": last_run_key,
            "instance_home": instance_home,
        }
        result = self._tick(f"/sensors/{name}/tick", body, f"sensor {name!r}")
        if not isinstance(result, SensorEvaluationResult):
            raise CodeServerError(f"{self.describe()} answered a sensor tick with {result!r}.")
        return result

    def automation_tick(
        self,
        instance_home: str,
        evaluation_id: int,
        evaluation_time: datetime,
        previous_state: str | None = None,
        pause_seconds: float | None = None,
    ) -> AutomationTick:
        """Evaluate the location's automation conditions against the instance at
        ``instance_home``: the records, the QUEUED runs requested and the next state."""
        from knoll.storage.base import AutomationTick

        if evaluation_time.tzinfo is None:
            raise CodeServerError(
                "automation_tick(): evaluation_time must be timezone-aware, e.g. "
                "datetime.now(timezone.utc)."
            )
        body = {
            "instance_home": instance_home,
            "evaluation_id": evaluation_id,
            "evaluation_time": evaluation_time.isoformat(),
            "state": previous_state,
            "pause_seconds": pause_seconds,
        }
        result = self._tick("/automation/tick", body, "automation")
        if not isinstance(result, AutomationTick):
            raise CodeServerError(f"{self.describe()} answered an automation tick with {result!r}.")
        return result

    def build_run(self, request: LaunchRequest, instance_home: str | None = None) -> Run:
        """The STARTING run that ``request`` asks for, validated by the server against its
        definitions; a request that does not fit them (a job it lacks, config that does not
        match, ...) raises ``RequestRefusedError`` saying why."""
        from knoll.execution.run import Run

        body = {"request": pack(request), "instance_home": instance_home}
        try:
            _, data = self._request("POST", "/runs/prepare", body=body)
        except _UnknownDefinition as exc:
            raise RequestRefusedError(
                f"cannot launch {request.describe()} of {self._where}: {exc.detail}", exc.error_type
            ) from None
        if data.get("status") == "invalid":
            failure = unpack(data["error"])
            raise RequestRefusedError(
                f"cannot launch {request.describe()} of {self._where}: {failure.message}",
                failure.error_type,
                failure.traceback,
            )
        run = unpack(data.get("run"))
        if not isinstance(run, Run):
            raise CodeServerError(f"{self.describe()} answered /runs/prepare with {data!r}.")
        return run

    def resolve_selection(self, selection: str) -> list[AssetKey]:
        """The assets that the asset selection string ``selection`` names in the location's
        definitions; one that does not fit them raises ``RequestRefusedError`` saying why."""
        _, data = self._request("POST", "/selection", body={"selection": selection})
        if data.get("status") == "invalid":
            failure = unpack(data["error"])
            raise RequestRefusedError(
                f"cannot resolve asset selection {selection!r} in {self._where}: {failure.message}",
                failure.error_type,
                failure.traceback,
            )
        return [AssetKey(path) for path in data.get("keys", ())]

    def build_reexecution(self, request: ReexecutionRequest, instance_home: str) -> Run:
        """The STARTING re-execution that ``request`` asks for, built by the server from the
        parent run stored in the instance at ``instance_home``; one that cannot be built (the
        job is gone, an output cannot be loaded) raises ``RequestRefusedError`` saying why."""
        from knoll.execution.run import Run

        body = {"request": pack(request), "instance_home": instance_home}
        try:
            _, data = self._request("POST", "/runs/prepare-reexecution", body=body)
        except _UnknownDefinition as exc:
            raise RequestRefusedError(
                f"cannot re-execute run {request.parent_run_id} in {self._where}: {exc.detail}",
                exc.error_type,
            ) from None
        if data.get("status") == "invalid":
            failure = unpack(data["error"])
            raise RequestRefusedError(
                f"cannot re-execute run {request.parent_run_id} in {self._where}: "
                f"{failure.message}",
                failure.error_type,
                failure.traceback,
            )
        run = unpack(data.get("run"))
        if not isinstance(run, Run):
            raise CodeServerError(
                f"{self.describe()} answered /runs/prepare-reexecution with {data!r}."
            )
        return run

    def start_run(
        self,
        run_id: str,
        instance_home: str,
        heartbeat_interval: float = 5.0,
        *,
        resume: bool = False,
    ) -> int:
        """Have the server fork the worker of stored run ``run_id``; return the worker's pid.
        With ``resume``, the worker takes over a STARTED run whose worker died and runs only
        the steps that have not succeeded."""
        body: dict[str, Any] = {
            "run_id": run_id,
            "instance_home": instance_home,
            "heartbeat_interval": heartbeat_interval,
        }
        if resume:
            body["resume"] = True
        _, data = self._request("POST", "/runs", body=body)
        pid = data.get("pid")
        if not isinstance(pid, int):
            raise CodeServerError(f"{self.describe()} answered POST /runs with {data!r}.")
        return pid

    @property
    def _where(self) -> str:
        return f"location {self.location_name!r}" if self.location_name else self.address

    # --- transport ----------------------------------------------------------------------

    def _tick(self, path: str, body: dict[str, Any], what: str) -> Any:
        _, data = self._request("POST", path, body=body)
        if data.get("status") == "error":
            failure = unpack(data["error"])
            raise RequestRefusedError(
                f"{what} tick failed in {self.describe()}: {failure.message}",
                failure.error_type,
                failure.traceback,
            )
        return unpack(data["result"])

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, dict[str, Any]]:
        wait = self.timeout if timeout is None else timeout
        connection: http.client.HTTPConnection
        if self.socket_path is not None:
            connection = _UnixConnection(self.socket_path, wait)
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=wait)
        payload = json.dumps(body).encode() if body is not None else None
        sent = dict(headers or {})
        if payload is not None:
            sent["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            reason = str(exc) or type(exc).__name__
            raise CodeServerError(
                f"{self.describe()} is not answering: {reason}. Check that it is running "
                "(knoll code-server start ...) and look at its output."
            ) from None
        finally:
            connection.close()
        if status == http.client.NOT_MODIFIED:
            return status, {}
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise CodeServerError(
                f"{self.describe()} answered {method} {path} with HTTP {status} and a body that "
                "is not a JSON object: is something else listening there?"
            )
        if status >= 400:
            detail = data.get("message") or data.get("error", {}).get("message") or raw.decode()
            traceback = data.get("error", {}).get("traceback")
            if status == http.client.NOT_FOUND and isinstance(data.get("message"), str):
                raise _UnknownDefinition(self.describe(), method, path, detail)
            raise CodeServerError(
                f"{self.describe()} refused {method} {path} (HTTP {status}): {detail}", traceback
            )
        return status, data


class _UnknownDefinition(RequestRefusedError):
    """The server has no definition (a job, a schedule...) of the name a request gave."""

    def __init__(self, server: str, method: str, path: str, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"{server} refused {method} {path} (HTTP 404): {detail}", "UnknownDefinitionError"
        )
