"""What the routes work with: the instance, the code locations and the auth settings."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from knoll.server.auth.principal import AuthSettings

if TYPE_CHECKING:
    from knoll.codeloc.client import CodeServerClient, LocationSnapshot
    from knoll.instance import Instance
    from knoll.instance.launcher import RunLauncher


@dataclass
class Locations:
    """The code servers of the workspace by location name, each used by one request at a
    time (a client holds one connection), with their snapshots cached by snapshot id by the
    client itself."""

    clients: Mapping[str, CodeServerClient]
    _locks: dict[str, threading.Lock] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._locks = {name: threading.Lock() for name in self.clients}

    @property
    def names(self) -> list[str]:
        return sorted(self.clients)

    def lock(self, name: str) -> threading.Lock:
        """The lock to hold while talking to the code server of ``name``."""
        return self._locks[name]

    def snapshot(self, name: str) -> LocationSnapshot:
        """The definitions snapshot of location ``name`` (or its load error)."""
        with self._locks[name]:
            return self.clients[name].snapshot()


@dataclass
class ServerContext:
    """Everything a route needs. ``launcher`` launches runs through the code servers;
    ``auth`` says whether requests must prove who they are."""

    instance: Instance
    locations: Locations
    launcher: RunLauncher | None = None
    auth: AuthSettings = field(default_factory=AuthSettings)

    @staticmethod
    def for_clients(
        instance: Instance,
        clients: Mapping[str, CodeServerClient],
        auth: AuthSettings | None = None,
    ) -> ServerContext:
        """A context for ``clients`` (every location of the workspace), launching through
        them."""
        from knoll.instance.launcher import RunLauncher

        launcher = RunLauncher(instance, dict(clients)) if clients else None
        return ServerContext(instance, Locations(clients), launcher, auth or AuthSettings())


def get_context(request: Request) -> ServerContext:
    """The context of the app serving ``request`` (a dependency)."""
    context: ServerContext = request.app.state.context
    return context


Context = Annotated[ServerContext, Depends(get_context)]
"""A route parameter annotated ``Context`` receives the server's context."""
