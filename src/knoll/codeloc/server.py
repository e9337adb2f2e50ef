"""The code server: one process per code location, serving it over HTTP/JSON.

It imports the location's code once (in its main thread, as a plain script would), serves
the snapshot, health and ticks from a threaded ``http.server`` on a unix socket or a
loopback port, and never on another interface: it runs user code and has no authentication.
Routes and bodies are described in :mod:`knoll.codeloc.protocol`.

Reloading re-executes the whole process (same pid, same listening socket) rather than
purging ``sys.modules``: a fresh interpreter forgets everything the old code imported or
started, and requests that arrive meanwhile wait in the socket's backlog instead of failing.

Run workers are forked from this warm process (``POST /runs``, see
:mod:`knoll.codeloc.run_worker`): a run starts without importing the user's code again. A
reload hands the pids of the workers still running to the re-executed program, which reaps
them when they exit.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from knoll._serdes import deserialize, pack, unpack
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.location import LoadedLocation, UnknownDefinitionError
from knoll.codeloc.protocol import (
    SNAPSHOT_ID_HEADER,
    CodeServerHealth,
    LocationLoadFailure,
    ServeOptions,
    error_body,
)
from knoll.errors import CodeServerError, KnollError

_MAX_BODY = 1 << 20
_SNAPSHOT_WAIT = 60.0  # seconds a /snapshot request waits for a load in progress
_DRAIN_WAIT = 30.0  # seconds a reload or stop waits for requests in flight


class _Interrupted(BaseException):
    """SIGTERM or SIGINT while the code was importing: stop without finishing the import."""


def check_loopback(host: str) -> str:
    """``host`` if it is a loopback address (``localhost`` becomes ``127.0.0.1``), else an error."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise CodeServerError(
            f"code server host {host!r} is not a loopback address. A code server runs user code "
            "and has no authentication, so it only listens on 127.0.0.1, ::1 or a unix socket: "
            "use --host 127.0.0.1 or --socket PATH."
        )
    return host


class _State:
    """What the request handlers share with the main thread."""

    def __init__(self, location: LoadedLocation, options: ServeOptions) -> None:
        self.location = location
        self.options = options
        self.stop = threading.Event()
        self.reload_requested = False
        self.terminating = False
        self._in_flight = 0
        self._idle = threading.Condition()

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> None:
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def health(self) -> CodeServerHealth:
        return CodeServerHealth(
            location_name=self.options.location_name,
            pid=os.getpid(),
            generation=self.options.generation,
            load_status=self.location.load_status,
            snapshot_id=self.location.snapshot_id,
            knoll_version=_knoll_version(),
            loaded_at=self.location.loaded_at,
        )


class _Handler(BaseHTTPRequestHandler):
    """Routes one request (HTTP/1.0: one request per connection, nothing held open)."""

    server: _Server
    timeout = 60  # a client that stops sending does not hold a thread forever
    ROUTES = ("GET /health", "GET /snapshot", "POST /reload", "POST /schedules/{name}/tick",
              "POST /sensors/{name}/tick", "POST /automation/tick", "POST /runs/prepare",
              "POST /runs/prepare-reexecution", "POST /runs", "POST /selection")  # fmt: skip

    def do_GET(self) -> None:
        with self.server.state.request():
            self._dispatch("GET")

    def do_POST(self) -> None:
        with self.server.state.request():
            self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        parts = path.strip("/").split("/")
        handlers: dict[tuple[str, str], Callable[[], None]] = {
            ("GET", "/health"): lambda: self._json(HTTPStatus.OK, pack(self.server.state.health())),
            ("GET", "/snapshot"): self._snapshot,
            ("POST", "/reload"): self._reload,
            ("POST", "/automation/tick"): self._automation_tick,
            ("POST", "/runs/prepare"): self._prepare_run,
            ("POST", "/runs"): self._start_run,
            ("POST", "/selection"): self._selection,
            ("POST", "/runs/prepare-reexecution"): self._prepare_reexecution,
        }
        try:
            handler = handlers.get((method, path))
            if handler is not None:
                handler()
            elif method == "POST" and len(parts) == 3 and parts[2] == "tick":
                self._tick(parts[0], parts[1])
            else:
                self._send(
                    HTTPStatus.NOT_FOUND,
                    error_body(f"no route {method} {path}; routes: {', '.join(self.ROUTES)}."),
                )
        except ConnectionError:
            return  # the client went away (it timed out or was stopped): nobody to answer
        except _BadRequest as exc:
            self._send(HTTPStatus.BAD_REQUEST, error_body(str(exc)))
        except UnknownDefinitionError as exc:
            self._send(HTTPStatus.NOT_FOUND, error_body(str(exc)))
        except Exception as exc:  # a bug of ours: answer it rather than drop the connection
            failure = _failure(exc, f"code server error: {type(exc).__name__}: {exc}")
            self._json(
                HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "error": pack(failure)}
            )

    def _snapshot(self) -> None:
        location = self.server.state.location
        name = json.dumps(location.name)
        if not location.wait_loaded(_SNAPSHOT_WAIT):
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE,
                error_body(f"code location {location.name!r} is still loading; ask again."),
            )
            return
        if location.failure is not None:
            body = {"status": "error", "location": location.name, "error": pack(location.failure)}
            self._json(HTTPStatus.OK, body)
            return
        snapshot_id = location.snapshot_id or ""
        headers = {"ETag": f'"{snapshot_id}"', SNAPSHOT_ID_HEADER: snapshot_id}
        if self.headers.get("If-None-Match") == f'"{snapshot_id}"':
            self._send(HTTPStatus.NOT_MODIFIED, b"", headers)
            return
        # spliced as text: parsing and dumping a large snapshot again would cost seconds
        text = (
            f'{{"status":"loaded","location":{name},"snapshot_id":"{snapshot_id}",'
            f'"snapshot":{location.snapshot_json}}}'
        )
        self._send(HTTPStatus.OK, text.encode(), headers)

    def _reload(self) -> None:
        state = self.server.state
        state.reload_requested = True
        self._json(
            HTTPStatus.ACCEPTED, {"status": "reloading", "generation": state.options.generation}
        )
        state.stop.set()

    def _tick(self, kind: str, name: str) -> None:
        if kind not in ("schedules", "sensors"):
            raise UnknownDefinitionError(
                f"no route POST /{kind}/{name}/tick; use /schedules or /sensors."
            )
        body = self._body()
        location = self.server.state.location
        try:
            if kind == "schedules":
                when = _when(body.get("scheduled_execution_time"))
                result: Any = location.evaluate_schedule(name, when)
            else:
                result = location.evaluate_sensor(
                    name,
                    cursor=_optional(body, "cursor", str),
                    last_tick_completion_time=_optional(body, "last_tick_completion_time", float),
                    last_run_key=_optional(body, "last_run_key", str),
                    instance_home=_optional(body, "instance_home", str),
                )
        except (UnknownDefinitionError, _BadRequest):
            raise
        except Exception as exc:
            # the user's code raised (or the location did not load): an outcome of the tick
            failure = _failure(exc, str(exc))
            if location.failure is not None:  # the import's traceback, not ours
                failure = replace(failure, traceback=location.failure.traceback)
            self._json(HTTPStatus.OK, {"status": "error", "error": pack(failure)})
            return
        self._json(HTTPStatus.OK, {"status": "ok", "result": pack(result)})

    def _automation_tick(self) -> None:
        body = self._body()
        home = body.get("instance_home")
        if not isinstance(home, str) or not home:
            raise _BadRequest(f"'instance_home' must be a folder path, got {home!r}.")
        evaluation_id = body.get("evaluation_id")
        if isinstance(evaluation_id, bool) or not isinstance(evaluation_id, int):
            raise _BadRequest(f"'evaluation_id' must be an integer, got {evaluation_id!r}.")
        when = _when(body.get("evaluation_time"), "evaluation_time")
        state = _optional(body, "state", str)
        pause = _optional(body, "pause_seconds", float)
        location = self.server.state.location
        try:
            tick = location.automation_tick(home, evaluation_id, when, state, pause)
        except Exception as exc:
            # a condition raised, or the location did not load: an outcome of the tick
            failure = _failure(exc, str(exc))
            if location.failure is not None:
                failure = replace(failure, traceback=location.failure.traceback)
            self._json(HTTPStatus.OK, {"status": "error", "error": pack(failure)})
            return
        self._json(HTTPStatus.OK, {"status": "ok", "result": pack(tick)})

    def _prepare_run(self) -> None:
        from knoll.instance.launcher import LaunchRequest

        body = self._body()
        try:
            request = unpack(body.get("request"))
        except KnollError as exc:
            raise _BadRequest(f"'request' is not a LaunchRequest record: {exc}") from None
        if not isinstance(request, LaunchRequest):
            raise _BadRequest(f"'request' must be a LaunchRequest record, got {request!r}.")
        home = _optional(body, "instance_home", str)
        location = self.server.state.location
        try:
            run = location.build_run(request, home)
        except UnknownDefinitionError:
            raise
        except Exception as exc:
            # the request does not fit the definitions (or the location did not load)
            self._json(HTTPStatus.OK, {"status": "invalid", "error": pack(_failure(exc, str(exc)))})
            return
        self._json(HTTPStatus.OK, {"status": "ok", "run": pack(run)})

    def _selection(self) -> None:
        selection = _optional(self._body(), "selection", str)
        if selection is None:
            raise _BadRequest("'selection' must be an asset selection string such as 'orders+'.")
        try:
            keys = self.server.state.location.resolve_selection(selection)
        except Exception as exc:  # a selection these definitions do not have (or no definitions)
            self._json(HTTPStatus.OK, {"status": "invalid", "error": pack(_failure(exc, str(exc)))})
            return
        self._json(HTTPStatus.OK, {"status": "ok", "keys": [list(key.path) for key in keys]})

    def _prepare_reexecution(self) -> None:
        from knoll.instance.launcher import ReexecutionRequest

        body = self._body()
        try:
            request = unpack(body.get("request"))
        except KnollError as exc:
            raise _BadRequest(f"'request' is not a ReexecutionRequest record: {exc}") from None
        if not isinstance(request, ReexecutionRequest):
            raise _BadRequest(f"'request' must be a ReexecutionRequest record, got {request!r}.")
        home = body.get("instance_home")
        if not isinstance(home, str) or not home:
            raise _BadRequest(f"'instance_home' must be a folder path, got {home!r}.")
        try:
            run = self.server.state.location.build_reexecution(request, home)
        except Exception as exc:
            # the parent cannot be re-executed with these definitions (or they did not load)
            self._json(HTTPStatus.OK, {"status": "invalid", "error": pack(_failure(exc, str(exc)))})
            return
        self._json(HTTPStatus.OK, {"status": "ok", "run": pack(run)})

    def _start_run(self) -> None:
        body = self._body()
        run_id = body.get("run_id")
        home = body.get("instance_home")
        if not isinstance(run_id, str) or not run_id:
            raise _BadRequest(f"'run_id' must be a run id string, got {run_id!r}.")
        if not isinstance(home, str) or not home:
            raise _BadRequest(f"'instance_home' must be a folder path, got {home!r}.")
        interval = _optional(body, "heartbeat_interval", float)
        if interval is not None and interval <= 0:
            raise _BadRequest(f"'heartbeat_interval' must be positive, got {interval!r}.")
        resume = _optional(body, "resume", bool)
        from knoll.instance.heartbeats import DEFAULT_HEARTBEAT_INTERVAL

        location = self.server.state.location
        location.wait_loaded()
        if location.failure is not None:
            self._send(
                HTTPStatus.CONFLICT,
                error_body(
                    f"{location.failure.message}\nThe location's code did not load, so it "
                    f"cannot start run {run_id}: fix the code and reload the location "
                    "(POST /reload)."
                ),
            )
            return
        pid = location.start_run_worker(
            run_id,
            home,
            interval or DEFAULT_HEARTBEAT_INTERVAL,
            close=[self.server.socket, self.connection],
            resume=bool(resume),
        )
        self._json(HTTPStatus.ACCEPTED, {"status": "started", "run_id": run_id, "pid": pid})

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise _BadRequest(f"request body of {length} bytes is over the {_MAX_BODY} limit.")
        raw = self.rfile.read(length) if length else b"{}"
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise _BadRequest(f"request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise _BadRequest("request body must be a JSON object.")
        return data

    def _json(self, status: HTTPStatus, data: object) -> None:
        self._send(status, json.dumps(data).encode())

    def _send(self, status: HTTPStatus, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log: clients poll /health often

    def address_string(self) -> str:
        address: Any = self.client_address  # a unix socket's peer is an empty string
        return str(address[0]) if address else "unix"


class _BadRequest(Exception):
    """The request body is malformed (a 400)."""


def _failure(exc: BaseException, message: str) -> LocationLoadFailure:
    import traceback

    original = getattr(exc, "original", None) or exc
    text = "".join(traceback.format_exception(type(original), original, original.__traceback__))
    return LocationLoadFailure(message, type(original).__name__, text)


def _optional(body: dict[str, Any], key: str, kind: type[Any]) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind):
        raise _BadRequest(f"'{key}' must be a {kind.__name__} or null, got {value!r}.")
    return value


def _when(value: object, key: str = "scheduled_execution_time") -> datetime:
    if value is None:
        return datetime.now(UTC)
    if not isinstance(value, str):
        raise _BadRequest(f"'{key}' must be an ISO 8601 string, got {value!r}.")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _BadRequest(f"'{key}' {value!r} is not ISO 8601.") from None
    if when.tzinfo is None:
        raise _BadRequest(
            f"'{key}' {value!r} needs a UTC offset, for example 2024-05-01T06:00:00+00:00."
        )
    return when


class _Quiet:
    """Clients that hang up (a health probe that timed out) are normal, not errors to print."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            socketserver.BaseServer.handle_error(self, request, client_address)  # type: ignore[arg-type]


class _Server(_Quiet, socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    state: _State


class _Server6(_Server):
    address_family = socket.AF_INET6


class _UnixServer(_Quiet, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    state: _State


def _knoll_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("knoll")
    except PackageNotFoundError:
        return None


def _make_server(options: ServeOptions) -> Any:
    if options.listen_fd is not None:
        sock = socket.socket(fileno=options.listen_fd)
        sock.set_inheritable(False)
        cls: Any = _UnixServer if sock.family == socket.AF_UNIX else _Server
        server = cls(sock.getsockname(), _Handler, bind_and_activate=False)
        server.socket.close()
        server.socket = sock
        return server
    if options.socket_path is not None:
        _clear_stale_socket(options.socket_path)
        return _UnixServer(options.socket_path, _Handler)
    if options.port is None:
        raise CodeServerError(
            f"code server for location {options.location_name!r} needs --socket PATH or --port N."
        )
    host = check_loopback(options.host)
    cls = _Server6 if ":" in host else _Server
    try:
        return cls((host, options.port), _Handler)
    except OSError as exc:
        raise CodeServerError(
            f"code server for location {options.location_name!r} cannot listen on "
            f"{host}:{options.port}: {exc.strerror}. Pick another --port (0 picks a free one)."
        ) from None


def _clear_stale_socket(path: str) -> None:
    file = Path(path)
    if not file.exists():
        return
    if not file.is_socket():
        raise CodeServerError(
            f"{path!r} exists and is not a socket; give --socket a path that is free."
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        file.unlink()  # left by a server that died: nobody answers
        return
    finally:
        probe.close()
    raise CodeServerError(
        f"another process is serving on socket {path!r}; stop it or give --socket another path."
    )


def _address(server: Any) -> str:
    name = server.socket.getsockname()
    if isinstance(name, str | bytes):
        return f"unix:{os.fsdecode(name)}"
    host = name[0]
    return f"http://[{host}]:{name[1]}" if ":" in host else f"http://{host}:{name[1]}"


def serve(options: ServeOptions, announce: Callable[[str], None] | None = None) -> None:
    """Run a code server until SIGTERM or SIGINT; reloading re-executes this process.

    Errors in the options (a non-loopback host, a socket in use) raise ``CodeServerError``
    before anything is imported.
    """
    target = CodeLocationTarget(
        options.module_name, options.python_file, options.working_directory, options.attribute
    )
    if bool(target.module_name) == bool(target.python_file):
        raise CodeServerError(
            f"code server for location {options.location_name!r} needs exactly one of a module "
            "(-m) or a file (-f)."
        )
    location = LoadedLocation(options.location_name, target)
    location.adopt_run_workers(options.run_worker_pids)
    server = _make_server(options)
    state = _State(location, options)
    server.state = state
    unix_path = server.socket.getsockname() if server.socket.family == socket.AF_UNIX else None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        state.terminating = True
        state.stop.set()
        if location.load_status == "loading":
            raise _Interrupted

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="knoll-code-server"
    )
    thread.start()
    say = announce or _print
    say(
        f"knoll code server for location {options.location_name!r} listening on "
        f"{_address(server)} (pid {os.getpid()}, generation {options.generation})"
    )
    try:
        from knoll.codeloc.run_worker import warm_up

        location.load(then=warm_up)
        if location.failure is not None:
            print(location.failure.traceback, file=sys.stderr, flush=True)
            say(f"{location.failure.message}\n(serving this error until reloaded)")
        while not state.stop.wait(0.5):
            if options.parent_pid is not None and os.getppid() != options.parent_pid:
                say(f"the process that started this code server ({options.parent_pid}) ended")
                break
    except _Interrupted:
        pass
    finally:
        server.shutdown()
        thread.join()
        state.wait_idle(_DRAIN_WAIT)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if state.reload_requested and not state.terminating:
        _reexec(server, options, location.live_run_workers())
    server.server_close()
    if unix_path:
        # only the path we bound: a re-executed server owns it from its first generation
        with contextlib.suppress(OSError):
            Path(unix_path).unlink()


def _reexec(server: Any, options: ServeOptions, run_workers: list[int]) -> None:
    fd = server.socket.fileno()
    os.set_inheritable(fd, True)
    # The run workers stay this process's children across the exec; the new program reaps them.
    following = replace(
        options,
        listen_fd=fd,
        generation=options.generation + 1,
        run_worker_pids=tuple(run_workers),
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *following.command_args()])


def _print(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str]) -> int:
    """``python -m knoll.codeloc OPTIONS_JSON``: how workspaces and reloads start a server."""
    if len(argv) != 1:
        print("usage: python -m knoll.codeloc '<ServeOptions JSON>'", file=sys.stderr)
        return 2
    try:
        serve(deserialize(argv[0], ServeOptions))
    except KnollError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
