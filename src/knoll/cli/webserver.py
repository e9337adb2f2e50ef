"""``knoll webserver``: the REST/JSON API (and, once built, the UI) for the workspace's code
locations and the instance, on uvicorn."""

from __future__ import annotations

import contextlib
import signal
from types import FrameType

import click

from knoll.cli._common import fail, open_instance
from knoll.cli._servers import ServerChoice, server_options

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the webserver as Ctrl-C does


@click.command("webserver")
@server_options(
    workspace_help="A workspace.yaml: a code server per location, each served by the API.",
    location_help="Serve only this location of --workspace.",
)
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="The address to bind.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int, help="0: any free.")
def webserver(servers: ServerChoice, host: str, port: int) -> None:
    """Serve the API at http://HOST:PORT/api/v1 (its OpenAPI document at
    /api/v1/openapi.json) until Ctrl-C or SIGTERM. Bound to loopback it needs no login;
    bound anywhere else every request must log in or carry an API token."""
    from knoll.cli._servers import code_servers
    from knoll.server import ServerContext, create_app
    from knoll.server.auth import AuthSettings
    from knoll.server.serve import bind, is_loopback, serve_forever

    if not servers.given:
        fail("name the code to serve: -w workspace.yaml, -m MODULE or -f FILE.")
    if not is_loopback(host):
        fail(
            f"--host {host} is not a loopback address, and logins are not available in this "
            "version: bind 127.0.0.1 and put an authenticating proxy in front."
        )
    instance = open_instance()
    with contextlib.ExitStack() as stack:
        started = code_servers(stack, servers, every_location=True)
        sock = bind(host, port)
        stack.callback(sock.close)
        context = ServerContext.for_clients(instance, started.clients, AuthSettings(required=False))
        app = create_app(context)
        bound = sock.getsockname()[1]
        click.echo(
            f"knoll webserver serving http://{host}:{bound}/api/v1 "
            "(bound to loopback: no login needed); Ctrl-C to stop",
            err=True,
        )
        signal.signal(signal.SIGTERM, _stop)
        with contextlib.suppress(KeyboardInterrupt):
            serve_forever(app, sock)
