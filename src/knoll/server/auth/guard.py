"""Secure by default: every route that changes something declares who may call it, and that
check runs before anything else of the route.

``guard_routes`` runs when the app is built, on the routers before they are mounted. A
route answering a method other than GET, HEAD or OPTIONS without a role dependency
(``Viewer``, ``Launcher``, ``Editor``, ``Admin``) or ``open_to_anyone`` makes the app refuse
to start. On every route the role check is moved to
the front of the route's dependencies, so that a request without credentials gets its 401
(and one without the role its 403) before any other dependency looks something up, and
before the body is validated (FastAPI validates parameters and the body only after it has
solved the dependencies). A body that is not JSON at all is refused before that, so
``guard_invalid_requests`` checks the role of such a request first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from knoll.server.auth.authenticator import SAFE_METHODS
from knoll.server.problems import Problem


def _is_guard(call: object) -> bool:
    return hasattr(call, "knoll_role")


Handler = Callable[[Request, Exception], Awaitable[Response]]

RouteTemplates = dict[tuple[object, str], str]
"""The path template of each route (``/api/v1/users/{name}``) by endpoint and method."""


def guard_routes(routers: Sequence[APIRouter], prefix: str) -> RouteTemplates:
    """Check and order the role dependencies of every route of ``routers`` (see the module),
    before they are mounted under ``prefix``; the path templates of the routes, for the
    audit log."""
    templates: RouteTemplates = {}
    for route in (route for router in routers for route in router.routes):
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods or ():
            templates[(route.endpoint, method)] = prefix + route.path
        dependencies = route.dependant.dependencies
        guards = [d for d in dependencies if _is_guard(d.call)]
        if not guards:
            changing = sorted(set(route.methods or ()) - SAFE_METHODS)
            if changing:
                raise TypeError(
                    f"route {'/'.join(changing)} {prefix}{route.path} changes something but "
                    "declares no role: annotate a parameter with Viewer, Launcher, Editor or Admin "
                    "(knoll.server.auth), or add dependencies=[Depends(open_to_anyone)] if "
                    "anyone may call it."
                )
            continue
        rest = [d for d in dependencies if not _is_guard(d.call)]
        dependencies[:] = [*guards, *rest]
    return templates


def guard_invalid_requests(app: FastAPI) -> None:
    """Check the role of a request whose body FastAPI refuses before it solves the route's
    dependencies (a body that is not JSON at all), so that such a request without
    credentials still gets its 401, and one without the role its 403, rather than a 422."""
    answer_invalid = cast(Handler, app.exception_handlers[RequestValidationError])
    answer_problem = cast(Handler, app.exception_handlers[Problem])

    async def on_invalid_request(request: Request, exc: Exception) -> Response:
        dependant = getattr(request.scope.get("route"), "dependant", None)
        for dependency in dependant.dependencies if dependant is not None else ():
            if getattr(dependency.call, "knoll_role", None) is not None:
                try:
                    await run_in_threadpool(dependency.call, request)
                except Problem as problem:
                    return await answer_problem(request, problem)
        return await answer_invalid(request, exc)

    app.add_exception_handler(RequestValidationError, on_invalid_request)
