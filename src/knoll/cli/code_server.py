"""``knoll code-server start``: serve one code location to the webserver and the daemon."""

from __future__ import annotations

import os
from dataclasses import replace

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
@click.option("--port", type=int, help="Listen on this loopback port (0 picks a free one).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address for --port.")
def code_server_start(
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
