"""Every route, whoever wrote it: each one that changes something answers 401 without
credentials and 403 to a viewer before it looks at anything else, and no GET route ever
answers a password, a token secret, a session id or an EnvVar's value.

The routes are read from the app's own OpenAPI document, so routes added later are covered
without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute

from knoll.server.auth import Viewer
from knoll.server.auth.guard import guard_routes
from knoll.server.problems import Problem
from tests.server.auth_helpers import PASSWORDS, AuthApi, start_auth_api
from tests.server.conftest import CANARY, StartApi

SAFE = {"get", "head", "options"}
OPEN = {("post", "/api/v1/auth/login")}  # anyone may try to log in
VIEWER_MAY = {("post", "/api/v1/auth/logout")}  # everyone may log out
PLACEHOLDER = "placeholder-0"
JSON = {"content-type": "application/json"}


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for path, item in document["paths"].items():
        for method in item:
            if method in {"get", "put", "post", "patch", "delete", "head", "options", "trace"}:
                yield method, path


def _filled(path: str, values: dict[str, str] | None = None) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: (values or {}).get(m.group(1), PLACEHOLDER), path)


@pytest.fixture
def auth(start_api: StartApi) -> AuthApi:
    return start_auth_api(start_api)


def test_every_changing_route_needs_credentials_then_the_role(auth: AuthApi) -> None:
    http = auth.api.http
    document = http.get("/api/v1/openapi.json").json()
    changing = [(m, p) for m, p in _operations(document) if m not in SAFE]
    assert ("post", "/api/v1/users") in changing  # the walk sees the routes
    checked = 0
    for method, path in changing:
        if (method, path) in OPEN:
            continue
        url = _filled(path)
        # an empty JSON body: the role check must answer before the body is validated
        anonymous = http.request(method.upper(), url, json={})
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.json()["title"] == "Unauthorized"
        # a body that is not even JSON: FastAPI refuses it before any dependency runs
        garbled = http.request(method.upper(), url, content=b"{not json", headers=JSON)
        assert garbled.status_code == 401, (method, path, garbled.text)
        if (method, path) in VIEWER_MAY:
            continue
        viewer = http.request(method.upper(), url, json={}, headers=auth.as_user("vic"))
        assert viewer.status_code == 403, (method, path, viewer.text)
        assert viewer.json()["detail"].startswith("'vic' is a viewer")
        garbled = http.request(
            method.upper(), url, content=b"{not json", headers={**JSON, **auth.as_user("vic")}
        )
        assert garbled.status_code == 403, (method, path, garbled.text)
        checked += 1
    # with the role, such a body is the usual 422
    admin = {**JSON, **auth.as_user("ada")}
    garbled = http.post("/api/v1/users", content=b"{not json", headers=admin)
    assert garbled.status_code == 422
    assert garbled.json()["errors"][0]["message"] == "JSON decode error"
    assert checked >= 5


def test_no_get_route_answers_a_secret(auth: AuthApi) -> None:
    http = auth.api.http
    admin = auth.as_user("ada")
    # make every kind of secret exist: a login session, a new token, the EnvVar of the project
    with auth.client() as browser:
        login = browser.post(
            "/api/v1/auth/login", json={"name": "lin", "password": PASSWORDS["lin"]}
        )
        session_id = browser.cookies["knoll_session"]
    assert login.status_code == 200
    made = http.post("/api/v1/users/ada/tokens", json={"name": "fresh"}, headers=admin).json()
    secrets = [*PASSWORDS.values(), *auth.tokens.values(), made["token"], session_id, CANARY]
    document = http.get("/api/v1/openapi.json").json()
    values = {"name": "lin", "token_id": made["token_id"]}
    answered = []
    for method, path in _operations(document):
        if method != "get":
            continue
        for url in {_filled(path), _filled(path, values)}:
            for headers in (admin, auth.as_user("vic"), {}):
                response = http.get(url, headers=headers)
                text = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
                for secret in secrets:
                    assert secret not in text, (url, response.status_code)
                answered.append(response.status_code)
    assert 200 in answered
    assert len(answered) >= 30


# ---- the guard itself --------------------------------------------------------------------


def test_a_changing_route_without_a_role_is_refused_when_the_app_is_built() -> None:
    router = APIRouter()

    @router.post("/forgot")
    def forgot() -> None:
        """A route without a role."""

    with pytest.raises(TypeError, match=r"route POST /api/v1/forgot changes something but"):
        guard_routes([router], "/api/v1")


def _lookup(name: str) -> str:
    raise Problem(404, "Not Found", f"There is no thing {name!r}.")


Thing = Annotated[str, Depends(_lookup)]


def test_the_role_check_is_moved_before_the_route_s_own_lookups() -> None:
    router = APIRouter()

    @router.delete("/things/{name}")
    def delete_thing(thing: Thing, principal: Viewer) -> None:
        """A lookup declared before the principal."""

    route = router.routes[0]
    assert isinstance(route, APIRoute)

    def names() -> list[str]:
        return [getattr(d.call, "__name__", "") for d in route.dependant.dependencies]

    assert names() == ["_lookup", "requires_viewer"]
    templates = guard_routes([router], "/api/v1")
    assert names() == ["requires_viewer", "_lookup"]
    assert templates[(delete_thing, "DELETE")] == "/api/v1/things/{name}"
