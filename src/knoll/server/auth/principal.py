"""Principals and roles, and the dependencies a route declares to say which role it needs.

Roles are ordered: ``viewer`` reads; ``launcher`` also launches, re-executes and cancels runs
and starts and stops schedules and sensors; ``editor`` also launches and cancels backfills,
reloads code locations and wipes assets; ``admin`` also manages users, tokens and the
instance. A principal may hold a different role on some code locations (a grant).

When auth is not required (``knoll dev``, a loopback bind), every request is the local
``admin``; otherwise the :class:`Authenticator` says who a request is, or nobody (401).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Literal, Protocol

from fastapi import Depends, Request

from knoll.server.problems import Problem


class Role(enum.IntEnum):
    """What a principal may do; each role may do everything the roles below it may."""

    VIEWER = 1
    LAUNCHER = 2
    EDITOR = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @staticmethod
    def parse(text: str) -> Role:
        """The role named ``text`` (``viewer``, ``launcher``, ``editor`` or ``admin``)."""
        try:
            return Role[text.strip().upper()]
        except KeyError:
            names = ", ".join(role.label for role in Role)
            raise ValueError(f"{text!r} is not a role: use one of {names}.") from None


@dataclass(frozen=True)
class Principal:
    """Who made a request: a user (by session or API token), or the local user when auth is
    off. ``grants`` gives the role on particular code locations where it differs."""

    name: str
    role: Role
    via: Literal["local", "session", "token"]
    grants: Mapping[str, Role] = field(default_factory=dict)

    def role_on(self, location: str | None) -> Role:
        """The role this principal holds on ``location`` (its own role for none)."""
        if location is None:
            return self.role
        return self.grants.get(location, self.role)

    def may(self, role: Role, location: str | None = None) -> bool:
        return self.role_on(location) >= role


LOCAL = Principal("local", Role.ADMIN, "local")
"""The principal of every request when auth is not required."""


class Authenticator(Protocol):
    """Says who a request is from its session cookie or API token, or None."""

    def authenticate(self, request: Request) -> Principal | None: ...


@dataclass(frozen=True)
class AuthSettings:
    """``required`` False: no login, every request is the local admin (``knoll dev``, a
    loopback bind). True: each request must prove who it is to ``authenticator``.

    A login lasts ``session_seconds``; ``max_login_failures`` failed logins as one user name,
    or from one client address, within ``login_window_seconds`` refuse further logins until
    the oldest of them leaves the window.
    """

    required: bool = False
    authenticator: Authenticator | None = None
    session_seconds: float = 12 * 3600.0
    max_login_failures: int = 5
    login_window_seconds: float = 300.0

    def principal_of(self, request: Request) -> Principal | None:
        if not self.required:
            return LOCAL
        if self.authenticator is None:
            return None
        return self.authenticator.authenticate(request)


def ensure_role(principal: Principal, role: Role, location: str | None = None) -> None:
    """Raise the 403 problem unless ``principal`` holds ``role`` (on ``location``)."""
    if principal.may(role, location):
        return
    where = f" on code location {location!r}" if location is not None else ""
    raise Problem(
        403,
        "Forbidden",
        f"{principal.name!r} is a {principal.role_on(location).label}{where}; this needs the "
        f"{role.label} role.",
        fix=f"Ask an admin to give {principal.name!r} the {role.label} role: PATCH "
        f'/api/v1/users/{principal.name} with {{"role": "{role.label}"}} (or '
        f'{{"grants": {{"LOCATION": "{role.label}"}}}} for one code location).',
    )


def requires(role: Role) -> Callable[[Request], Principal]:
    """A dependency: the request's principal, which must hold ``role`` (401 without
    credentials, 403 without the role)."""

    def dependency(request: Request) -> Principal:
        settings: AuthSettings = request.app.state.context.auth
        principal = settings.principal_of(request)
        request.state.principal = principal
        if principal is None:
            raise Problem(
                401,
                "Unauthorized",
                "This request carries no valid session or API token.",
                fix="Log in (POST /api/v1/auth/login) or send an API token as "
                "'Authorization: Bearer TOKEN' (create one with: knoll token create).",
            )
        ensure_role(principal, role)
        return principal

    dependency.__name__ = f"requires_{role.label}"
    dependency.knoll_role = role  # type: ignore[attr-defined]  # what guard_routes looks for
    return dependency


def open_to_anyone() -> None:
    """The dependency of a route that changes something yet needs no credentials (logging
    in): it says so on purpose, where ``guard_routes`` would refuse a route that forgot its
    role."""


open_to_anyone.knoll_role = None  # type: ignore[attr-defined]


Viewer = Annotated[Principal, Depends(requires(Role.VIEWER))]
Launcher = Annotated[Principal, Depends(requires(Role.LAUNCHER))]
Editor = Annotated[Principal, Depends(requires(Role.EDITOR))]
Admin = Annotated[Principal, Depends(requires(Role.ADMIN))]
