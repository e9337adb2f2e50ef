"""The code servers a command launches runs through, and the options that choose them:
``-w FILE [--location NAME]``, ``-m MODULE | -f FILE [-d DIR]`` (servers are started for the
command) or ``--socket PATH`` of a running one."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import click

from knoll.cli._common import fail, location_options, location_target

if TYPE_CHECKING:
    from knoll.codeloc.client import CodeServerClient


@dataclass(frozen=True)
class ServerChoice:
    """What the server options of a command said."""

    module_name: str | None = None
    python_file: str | None = None
    working_directory: str | None = None
    workspace_file: str | None = None
    location: str | None = None
    socket_path: str | None = None

    @property
    def given(self) -> bool:
        """Whether any code server was named."""
        return any((self.module_name, self.python_file, self.workspace_file, self.socket_path))


_OPTION_NAMES = tuple(f.name for f in fields(ServerChoice))


def server_options(
    *, workspace_help: str, location_help: str
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Add the server options to a command, which receives them as ``servers: ServerChoice``."""

    def add(fn: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(fn)
        def command(**kwargs: Any) -> None:
            choice = ServerChoice(**{name: kwargs.pop(name) for name in _OPTION_NAMES})
            fn(servers=choice, **kwargs)

        wrapped: Callable[..., None] = command
        wrapped = click.option(
            "--socket", "socket_path", help="Use the code server already listening here."
        )(wrapped)
        wrapped = click.option("--location", help=location_help)(wrapped)
        wrapped = click.option("-w", "--workspace", "workspace_file", help=workspace_help)(wrapped)
        return location_options(wrapped)

    return add


@dataclass(frozen=True)
class CodeServers:
    """The code servers a command launches runs through, by location name."""

    clients: dict[str, CodeServerClient]
    whole_workspace: bool
    """True when these are every location of the workspace given: a run of another location
    can start nowhere (it fails); False when one location was picked (-w --location, -m/-f,
    --socket): other locations' runs are left to other queue workers."""

    @property
    def only(self) -> CodeServerClient:
        """The client when there is one location (a new run needs the one that defines it)."""
        return next(iter(self.clients.values()))


def code_servers(
    stack: contextlib.ExitStack, choice: ServerChoice, *, every_location: bool = False
) -> CodeServers:
    """The code servers ``choice`` names, started for the command (and stopped with
    ``stack``) unless ``--socket`` names a running one. ``-w FILE`` without ``--location``
    needs a workspace of one location, unless ``every_location``: then every location of the
    workspace gets a server."""
    from knoll.codeloc.client import CodeServerClient
    from knoll.codeloc.workspace import (
        Workspace,
        load_workspace,
        start_workspace,
        workspace_from_target,
    )

    if choice.socket_path is not None:
        if choice.workspace_file or choice.module_name or choice.python_file:
            fail("--socket names a running code server: leave out -w, -m and -f.")
        client = CodeServerClient(socket_path=choice.socket_path)
        name = client.health().location_name  # also says early that nobody listens there
        return CodeServers({name: client}, whole_workspace=False)
    whole = False
    if choice.workspace_file is not None:
        if choice.module_name or choice.python_file or choice.working_directory:
            fail("give either -w/--workspace (with --location) or -m/-f, not both.")
        workspace = load_workspace(choice.workspace_file)
        if choice.location is not None:
            workspace = Workspace((workspace.get(choice.location),), workspace.path)
        elif len(workspace.locations) != 1 and not every_location:
            names = ", ".join(workspace.location_names())
            fail(
                f"{choice.workspace_file} has several locations ({names}): pick one with "
                "--location."
            )
        else:
            whole = True
    else:
        if choice.location is not None:
            fail("--location only applies with -w/--workspace.")
        target = location_target(choice.module_name, choice.python_file, choice.working_directory)
        workspace = workspace_from_target(target)
    # the servers' own lines go to stderr: a command's standard output is its result
    processes = stack.enter_context(start_workspace(workspace, stdout=sys.stderr))
    clients = {spec.name: processes.client(spec.name) for spec in workspace.locations}
    return CodeServers(clients, whole_workspace=whole)
