"""Who a request is and what it may do: principals, roles and the route dependencies that
check them (``Viewer``, ``Launcher``, ``Editor``, ``Admin``)."""

from __future__ import annotations

from knoll.server.auth.authenticator import StoredAuthenticator, logins_required
from knoll.server.auth.principal import (
    Admin,
    Authenticator,
    AuthSettings,
    Editor,
    Launcher,
    Principal,
    Role,
    Viewer,
    ensure_role,
    open_to_anyone,
    requires,
)

__all__ = [
    "Admin",
    "AuthSettings",
    "Authenticator",
    "Editor",
    "Launcher",
    "Principal",
    "Role",
    "StoredAuthenticator",
    "Viewer",
    "ensure_role",
    "logins_required",
    "open_to_anyone",
    "requires",
]
