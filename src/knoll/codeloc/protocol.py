"""What a code server and its clients exchange: the server's options and the records it sends.

Routes (JSON bodies; records are versioned JSON from :mod:`knoll._serdes`):

- ``GET /health``: a :class:`CodeServerHealth`.
- ``GET /snapshot``: ``{"status": "loaded", "location", "snapshot_id", "snapshot": {...}}``
  with the id also in the ``ETag`` header (``If-None-Match`` gets a 304), or
  ``{"status": "error", "location", "error": LocationLoadFailure}`` when the import failed.
  Both are HTTP 200: the server works, the location's code is what failed.
- ``POST /reload``: 202 ``{"status": "reloading", "generation": n}``; the process re-executes
  itself and comes back with generation ``n + 1``.
- ``POST /schedules/{name}/tick`` and ``POST /sensors/{name}/tick``: ``{"status": "ok",
  "result": ...EvaluationResult}`` or ``{"status": "error", "error": LocationLoadFailure}``
  when the evaluation raised. An unknown name is a 404, a malformed body a 400.
- ``POST /automation/tick`` with ``{"instance_home", "evaluation_id", "evaluation_time",
  "state", "pause_seconds"}``: evaluates every automation condition of the location against
  the instance (``evaluation_time`` ISO 8601 with an offset, default now; ``state`` the
  previous tick's, null at first): ``{"status": "ok", "result": AutomationTick}`` with the
  records and the QUEUED runs requested, or ``{"status": "error", "error":
  LocationLoadFailure}`` when a condition raised.
- ``POST /runs/prepare`` with ``{"request": LaunchRequest, "instance_home": path | null}``:
  ``{"status": "ok", "run": Run}``, the STARTING run to store, validated against the
  location's definitions; ``{"status": "invalid", "error": LocationLoadFailure}`` when the
  request does not fit them. An unknown job is a 404.
- ``POST /runs`` with ``{"run_id", "instance_home", "heartbeat_interval", "resume"}``: forks
  the worker of that stored run from the server's process; 202 ``{"status": "started",
  "run_id", "pid"}``. ``heartbeat_interval`` (seconds, default 5) and ``resume`` (default
  false) may be left out; with ``"resume": true`` the worker takes over a STARTED run whose
  worker died and executes only the steps that have not succeeded. A location whose code did
  not load answers 409 with its load error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from knoll._serdes import serializable, serialize

SNAPSHOT_ID_HEADER = "X-Knoll-Snapshot-Id"


@serializable()
@dataclass(frozen=True)
class ServeOptions:
    """How to start a code server: the location's code and where to listen.

    Exactly one of ``socket_path`` and ``port`` (with ``host``); ``listen_fd`` and
    ``run_worker_pids`` are set only when the server re-executes itself (a reload): it keeps
    its listening socket, and reaps the run workers it had forked that are still running.
    With ``parent_pid`` (a workspace started it) the server stops when that process has ended,
    so that a command or daemon killed with SIGKILL leaves no server behind.
    """

    location_name: str
    module_name: str | None = None
    python_file: str | None = None
    working_directory: str | None = None
    attribute: str | None = None
    socket_path: str | None = None
    host: str = "127.0.0.1"
    port: int | None = None
    listen_fd: int | None = None
    generation: int = 1
    run_worker_pids: tuple[int, ...] = ()
    parent_pid: int | None = None

    def command_args(self) -> list[str]:
        """The arguments after the Python executable that start a server with these options."""
        return ["-m", "knoll.codeloc", serialize(self)]

    def address(self) -> str:
        """Where the server listens, for messages: ``unix:/path`` or ``http://host:port``."""
        if self.socket_path is not None:
            return f"unix:{self.socket_path}"
        return f"http://{self.host}:{self.port}"


@serializable()
@dataclass(frozen=True)
class CodeServerHealth:
    """What ``GET /health`` answers: who the server is and how loading its code went.

    ``load_status`` is ``loading``, ``loaded`` or ``error``; ``loaded_at`` is when loading
    finished (seconds since the epoch), None while loading.
    """

    location_name: str
    pid: int
    generation: int
    load_status: str
    snapshot_id: str | None = None
    knoll_version: str | None = None
    loaded_at: float | None = None


@serializable()
@dataclass(frozen=True)
class LocationLoadFailure:
    """An error that happened in the code server: its headline and the formatted traceback."""

    message: str
    error_type: str
    traceback: str


def error_body(message: str) -> bytes:
    """The JSON body of a 4xx/5xx answer."""
    return json.dumps({"status": "error", "message": message}).encode()
