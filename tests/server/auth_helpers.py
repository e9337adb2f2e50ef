"""What the auth tests share: a webserver that requires logins, with an admin, a launcher
and a viewer (passwords known) and an API token for each."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from knoll.server.auth import logins_required
from knoll.server.auth.accounts import add_user, create_token
from tests.server.conftest import Api, StartApi

PASSWORDS = {"ada": "ada-password-1", "lin": "lin-password-2", "vic": "vic-password-3"}
ROLES = {"ada": "admin", "lin": "launcher", "vic": "viewer"}


@dataclass
class AuthApi:
    """A webserver requiring logins, and an API token per user (``tokens[name]``)."""

    api: Api
    tokens: dict[str, str]

    def as_user(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def client(self) -> httpx.Client:
        """A new client of the same server without cookies."""
        return httpx.Client(base_url=self.api.url, timeout=60.0)


def start_auth_api(
    start_api: StartApi, backend: str = "sqlite", *, failures: int = 5, window: float = 300.0
) -> AuthApi:
    auth = logins_required(max_login_failures=failures, login_window_seconds=window)
    api = start_api(backend, auth=auth)
    storage = api.instance.storage
    tokens = {}
    for name, role in ROLES.items():
        add_user(storage, name, role, PASSWORDS[name])
        tokens[name] = create_token(storage, name, f"{name}-ci")[1]
    return AuthApi(api, tokens)
