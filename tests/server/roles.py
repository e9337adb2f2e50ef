"""Requests that say who they are in a header, for the tests of which role a route needs:
an :class:`~knoll.server.auth.principal.Authenticator` that reads ``X-Role`` (no header: no
principal, a 401)."""

from __future__ import annotations

from fastapi import Request

from knoll.server.auth import AuthSettings, Principal, Role


class RoleHeader:
    """The principal ``<role>-user`` holding the role named in the ``X-Role`` header."""

    def authenticate(self, request: Request) -> Principal | None:
        text = request.headers.get("X-Role")
        if text is None:
            return None
        role = Role.parse(text)
        return Principal(f"{role.label}-user", role, "token")


ROLE_AUTH = AuthSettings(required=True, authenticator=RoleHeader())


def as_role(role: str) -> dict[str, str]:
    """The headers of a request made by a principal holding ``role``."""
    return {"X-Role": role}
