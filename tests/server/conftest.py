"""Fixtures of the webserver's tests: a real code server for the ``shop`` project, a real
instance on SQLite or PostgreSQL, and the app on real uvicorn on a loopback port, reached with
a real HTTP client (httpx).

``SHOP_API_KEY`` (the project's EnvVar) is set to :data:`CANARY` in the code server's
environment: no response may ever contain it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from knoll.codeloc.client import CodeServerClient
from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import start_workspace, workspace_from_target
from knoll.instance import Instance
from knoll.server import ServerContext, create_app, serving
from knoll.server.auth import AuthSettings
from tests.instance.conftest import (
    MakeInstance,
    make_instance,  # noqa: F401 (a fixture)
)

SHOP = Path(__file__).parent / "projects" / "shop"
LOCATION = "shop"
CANARY = "canary-7f3a9c-never-shown"
WAIT = 60.0  # seconds: only to avoid a hang, never an assertion about speed


@pytest.fixture(scope="module")
def shop_client() -> Iterator[CodeServerClient]:
    """A code server serving the ``shop`` project as location ``shop``."""
    target = CodeLocationTarget(module_name="shop", working_directory=str(SHOP))
    env = {**os.environ, "SHOP_API_KEY": CANARY}
    with start_workspace(workspace_from_target(target, LOCATION), env=env, timeout=WAIT) as ws:
        yield ws.client(LOCATION)


@dataclass
class Api:
    """A running webserver: its instance, its base URL and an HTTP client for it."""

    instance: Instance
    url: str
    http: httpx.Client
    context: ServerContext


StartApi = Callable[..., Api]


@pytest.fixture
def start_api(
    make_instance: MakeInstance,  # noqa: F811 (the fixture imported above)
    shop_client: CodeServerClient,
) -> Iterator[StartApi]:
    """``start_api(backend="sqlite", auth=None, extra_yaml="")``: a webserver for ``shop`` on
    a new instance, stopped after the test."""
    stack = contextlib.ExitStack()

    def start(
        backend: str = "sqlite", auth: AuthSettings | None = None, extra_yaml: str = ""
    ) -> Api:
        instance = make_instance(backend, extra_yaml)
        context = ServerContext.for_clients(instance, {LOCATION: shop_client}, auth)
        running = stack.enter_context(serving(create_app(context)))
        http = stack.enter_context(httpx.Client(base_url=running.url, timeout=WAIT))
        return Api(instance, running.url, http, context)

    with stack:
        yield start


@pytest.fixture
def api(start_api: StartApi) -> Api:
    """A webserver for ``shop`` on SQLite, without login."""
    return start_api("sqlite")


@pytest.fixture(params=["sqlite", "postgres"])
def any_api(request: pytest.FixtureRequest, start_api: StartApi) -> Api:
    """A webserver for ``shop`` on SQLite, then on PostgreSQL (``KNOLL_TEST_POSTGRES_URL``)."""
    return start_api(request.param)
