"""The FastAPI app: the routers of ``api/``, problem documents for every error, and the
OpenAPI document at ``/api/v1/openapi.json``."""

from __future__ import annotations

from fastapi import FastAPI

from knoll import __version__
from knoll.server.api import ROUTERS
from knoll.server.auth.audit import AuditMiddleware
from knoll.server.auth.guard import guard_invalid_requests, guard_routes
from knoll.server.context import ServerContext
from knoll.server.problems import install_problem_handlers

API_PREFIX = "/api/v1"


def create_app(context: ServerContext) -> FastAPI:
    """The webserver's app serving ``context``: every route that changes something checks
    its role first (``guard_routes``) and is recorded in the audit log."""
    app = FastAPI(
        title="knoll",
        version=__version__,
        summary="The knoll webserver's REST/JSON API.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.context = context
    install_problem_handlers(app)
    guard_invalid_requests(app)
    templates = guard_routes(ROUTERS, API_PREFIX)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.add_middleware(
        AuditMiddleware, storage=lambda: context.instance.storage, templates=templates
    )
    return app
