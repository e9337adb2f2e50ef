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
@click.option(
    "--auth",
    "require_auth",
    is_flag=True,
    help="Require a login or an API token on loopback too (always required elsewhere).",
)
def webserver(servers: ServerChoice, host: str, port: int, require_auth: bool) -> None:
    """Serve the API at http://HOST:PORT/api/v1 (its OpenAPI document at
    /api/v1/openapi.json) until Ctrl-C or SIGTERM. Bound to loopback it needs no login
    (unless --auth); bound anywhere else every request must log in or carry an API token,
    and at least one admin user must exist."""
    from knoll.cli._servers import code_servers
    from knoll.server import ServerContext, create_app
    from knoll.server.auth import AuthSettings, logins_required
    from knoll.server.auth.accounts import has_admin
    from knoll.server.serve import bind, is_loopback, serve_forever

    if not servers.given:
        fail("name the code to serve: -w workspace.yaml, -m MODULE or -f FILE.")
    loopback = is_loopback(host)
    required = require_auth or not loopback
    instance = open_instance()
    if required and not has_admin(instance.storage):
        why = "--auth was given" if loopback else f"--host {host} is not a loopback address"
        fail(
            f"{why}, so every request must log in, but the instance has no enabled admin "
            "user to log in as. Create one first: knoll user add admin --role admin"
        )
    auth = logins_required() if required else AuthSettings(required=False)
    with contextlib.ExitStack() as stack:
        started = code_servers(stack, servers, every_location=True)
        sock = bind(host, port)
        stack.callback(sock.close)
        context = ServerContext.for_clients(instance, started.clients, auth)
        app = create_app(context)
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        login = (
            "login required: POST /api/v1/auth/login or an API token"
            if required
            else "bound to loopback: no login needed"
        )
        click.echo(
            f"knoll webserver serving http://{shown}:{bound}/api/v1 ({login}); Ctrl-C to stop",
            err=True,
        )
        signal.signal(signal.SIGTERM, _stop)
        with contextlib.suppress(KeyboardInterrupt):
            serve_forever(app, sock)
