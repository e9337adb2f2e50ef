"""``knoll code-server start``: serve one code location to the commands that launch, queue
and resume runs through it (``--socket PATH``)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import click

from knoll.cli._common import fail, location_options


@click.group("code-server")
def code_server() -> None:
    """Serve a code location over a local socket."""


@code_server.command("start")
@location_options
@click.option(
    "-w", "--workspace", "workspace_file", help="A workspace.yaml to take the location from."
)
@click.option("--location", "location", help="The location of --workspace to serve.")
@click.option("--location-name", help="The location's name (default: the module or file name).")
@click.option("-a", "--attribute", help="The module-level Definitions to load, if it has several.")
@click.option("--socket", "socket_path", help="Listen on this unix socket.")
@click.option(
    "--port", type=int, help="Listen on this loopback port, 1 to 65535 (0 picks a free one)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address for --port.")
def code_server_start(  # noqa: PLR0913 (one parameter per command-line option)
    module_name: str | None,
    python_file: str | None,
    working_directory: str | None,
    workspace_file: str | None,
    location: str | None,
    location_name: str | None,
    attribute: str | None,
    socket_path: str | None,
    port: int | None,
    host: str,
) -> None:
    """Import a code location once and serve its snapshot, health, reloads and ticks.

    Give the code with -m MODULE or -f FILE, or with --workspace FILE --location NAME. The
    server listens on a unix socket (--socket) or a loopback port (--port) only, and stops
    on SIGTERM or Ctrl-C.
    """
    from knoll.codeloc.loader import CodeLocationTarget
    from knoll.codeloc.server import check_loopback, serve
    from knoll.codeloc.workspace import load_workspace, workspace_from_target
    from knoll.errors import KnollError

    if (socket_path is None) == (port is None):
        fail("give exactly one of --socket PATH or --port N.")
    if port is not None:
        _check_port(port)
    if socket_path is not None:
        _check_socket_path(socket_path)
    try:
        check_loopback(host)
        if workspace_file is not None:
            if module_name or python_file or working_directory or attribute:
                fail("give either --workspace with --location, or -m/-f, not both.")
            workspace = load_workspace(workspace_file)
            if location is None:
                names = ", ".join(workspace.location_names())
                fail(f"--workspace needs --location NAME; {workspace_file} has: {names}.")
            spec = workspace.get(location)
            if location_name:
                fail("--location-name only applies to -m/-f; rename it in the workspace file.")
        else:
            if location is not None:
                fail("--location only applies with --workspace; use --location-name with -m/-f.")
            if bool(module_name) == bool(python_file):
                fail("give exactly one of -m MODULE, -f FILE or --workspace FILE --location NAME.")
            target = CodeLocationTarget(module_name, python_file, working_directory, attribute)
            spec = workspace_from_target(target, location_name).locations[0]
        options = replace(spec.serve_options(socket_path=socket_path, port=port), host=host)
        if spec.executable_path is not None:
            # the location's own environment: become its Python, serving the same options
            os.execvp(spec.executable_path, [spec.executable_path, *options.command_args()])
        serve(options)
    except KnollError as exc:
        fail(str(exc))


# the longest unix socket path the kernel takes (sun_path less its final NUL byte)
_MAX_SOCKET_PATH = 103 if sys.platform == "darwin" else 107


def _check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        fail(
            f"--port {port} is not a TCP port: give a port from 1 to 65535 that no other "
            "process listens on, or --port 0 to let the system pick a free one."
        )


def _check_socket_path(socket_path: str) -> None:
    """Refuse a socket path the server could not bind, before any code is imported."""
    folder = Path(socket_path).parent
    if folder.exists() and not folder.is_dir():
        fail(
            f"--socket {socket_path}: {folder} is a file, not a folder. Give a socket path "
            "in a folder."
        )
    if not folder.is_dir():
        fail(
            f"--socket {socket_path}: its folder {folder} does not exist. Create the folder "
            f"first (mkdir -p {folder}), or give a socket path in a folder that exists."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        fail(
            f"--socket {socket_path}: this user may not create files in {folder}. Give a "
            "socket path in a folder you can write to."
        )
    if len(os.fsencode(socket_path)) > _MAX_SOCKET_PATH:
        fail(
            f"--socket {socket_path} is {len(os.fsencode(socket_path))} bytes long, more than "
            f"the {_MAX_SOCKET_PATH} a unix socket path may have. Give a shorter path."
        )
