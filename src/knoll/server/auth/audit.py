"""The audit log: every request that could change something (any method but GET, HEAD and
OPTIONS) is recorded with who made it, the route and the path it was called on, when, from
which address, and the status of the answer, whether it succeeded or not.

It is an ASGI middleware around the whole app, so routes added later are covered without a
line of their own. Who made a request is what the role dependency found
(``request.state.principal``); a login names the user it tried (``request.state.audit_actor``).
Nothing of the request's body or headers is recorded, so no password or token can end up in
the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from knoll.server.auth.authenticator import SAFE_METHODS
from knoll.server.auth.guard import RouteTemplates
from knoll.server.auth.principal import Principal
from knoll.storage.access import AccessStorage, AuditEntry

log = logging.getLogger("knoll.server")


def _entry(scope: Scope, status: int, templates: RouteTemplates) -> AuditEntry:
    state: dict[str, Any] = scope.get("state") or {}
    principal = state.get("principal")
    actor: str | None = state.get("audit_actor")
    via = "anonymous"
    if isinstance(principal, Principal):
        actor, via = principal.name, principal.via
    elif actor is not None:
        via = "login"
    path = str(scope.get("path", ""))
    route = templates.get((scope.get("endpoint"), str(scope["method"])), path)
    client = scope.get("client")
    return AuditEntry(
        timestamp=time.time(),
        actor=actor,
        via=via,
        method=str(scope["method"]),
        route=route,
        target=path,
        status=status,
        address=None if client is None else str(client[0]),
    )


class AuditMiddleware:
    """Records each changing request in the audit log of ``storage()`` (the instance's
    storage, opened on first use) as it is answered."""

    def __init__(
        self, app: ASGIApp, storage: Callable[[], AccessStorage], templates: RouteTemplates
    ) -> None:
        self.app = app
        self.storage = storage
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        recorded = False

        async def record(status: int) -> None:
            nonlocal recorded
            recorded = True
            entry = _entry(scope, status, self.templates)
            try:
                await run_in_threadpool(lambda: self.storage().add_audit_entry(entry))
            except Exception:
                log.exception("could not record %s %s in the audit log", entry.method, entry.target)

        async def sending(message: Message) -> None:
            # recorded before the client has its answer, so that the entry of a request is
            # always there once the request was answered
            if message["type"] == "http.response.start" and not recorded:
                await record(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if not recorded:
                await record(500)  # the app raised before answering: the client gets a 500
