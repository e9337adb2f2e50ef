"""A check on every response of a test's webserver: none may contain the secret CANARY."""

from __future__ import annotations

import httpx

from tests.server.conftest import CANARY, Api


def never_shows_canary(api: Api) -> Api:
    """Make every response ``api.http`` receives fail the test if it holds :data:`CANARY`."""

    def check(response: httpx.Response) -> None:
        response.read()
        assert CANARY not in response.text, f"{response.request.url} showed the secret"

    api.http.event_hooks["response"].append(check)
    return api
