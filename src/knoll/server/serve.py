"""Running the app on uvicorn: :func:`serving` in a thread on a socket bound before it starts
(port 0 picks a free port), and :func:`serve_forever` in the foreground."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from knoll.errors import InvalidInvocationError

_START_SECONDS = 30.0


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or the error saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    # that say they are TCP, and without that every response whose head and body are written
    # apart waits for the client's delayed ACK (40 ms on Linux).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InvalidInvocationError(
            f"The webserver cannot listen on {host}:{port}: {exc.strerror or exc}. Pick another "
            "--port (or stop what listens there), or another --host."
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _config(app: FastAPI, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")


@dataclass(frozen=True)
class Serving:
    """A running server: its base URL (``http://host:port``)."""

    url: str
    host: str
    port: int


@contextlib.contextmanager
def serving(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> Iterator[Serving]:
    """Serve ``app`` on uvicorn in a thread while the block runs; stop it after."""
    sock = bind(host, port)
    server = uvicorn.Server(_config(app, log_level))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="knoll-webserver", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise InvalidInvocationError(f"The webserver did not start on {host}:{port}.")
        time.sleep(0.01)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    try:
        yield Serving(f"http://{shown}:{bound}", host, bound)
    finally:
        server.should_exit = True
        thread.join(timeout=_START_SECONDS)
        sock.close()


def serve_forever(app: FastAPI, sock: socket.socket, *, log_level: str = "warning") -> None:
    """Serve ``app`` on ``sock`` in this thread until SIGINT or SIGTERM."""
    uvicorn.Server(_config(app, log_level)).run(sockets=[sock])
