"""Every error the API answers is a JSON problem document (RFC 9457,
``application/problem+json``): ``title`` and ``status``, ``detail`` naming the object and what
is wrong, and knoll's extensions ``object`` (what it is about), ``fix`` (what to do) and
``errors`` (each invalid field of a request).

Bad input is a 4xx, never a 500: knoll's own errors about what a request asked for map to
400/404/409/422; anything else unexpected is a 500 whose body says only that (the traceback
goes to the server's log, never to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from knoll import errors

log = logging.getLogger("knoll.server")

PROBLEM_TYPE = "application/problem+json"


class ProblemDocument(BaseModel):
    """The body of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    object: str | None = None
    fix: str | None = None
    errors: list[dict[str, Any]] | None = None


class Problem(Exception):
    """Raise in a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        object: str | None = None,
        fix: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.document = ProblemDocument(
            title=title,
            status=status,
            detail=detail,
            object=object,
            fix=fix,
            errors=list(errors) if errors is not None else None,
        )
        self.headers = headers


def not_found(what: str, name: str, fix: str) -> Problem:
    """The 404 problem for the ``what`` called ``name``."""
    return Problem(404, "Not Found", f"There is no {what} {name!r}.", object=name, fix=fix)


# knoll's errors about what a request asked for, by the status that says so
_STATUS_OF: tuple[tuple[type[errors.KnollError], int, str], ...] = (
    (errors.InvalidConfigError, 422, "Invalid config"),
    (errors.PartitionKeyError, 422, "Unknown partition"),
    (errors.SelectionError, 422, "Invalid selection"),
    (errors.CronError, 422, "Invalid cron"),
    (errors.RunStatusError, 409, "Conflict"),
    (errors.InvalidInvocationError, 400, "Bad Request"),
    (errors.DefinitionError, 422, "Invalid definitions"),
    (errors.RequestRefusedError, 422, "Refused by the code location"),
    (errors.CodeServerError, 503, "Code server unavailable"),
    (errors.UnknownAccountError, 404, "Not Found"),
    (errors.AccountExistsError, 409, "Conflict"),
    (errors.AccountError, 422, "Invalid account"),
)


def problem_of(exc: errors.KnollError) -> Problem:
    """The problem document for one of knoll's errors raised while serving a request."""
    for kind, status, title in _STATUS_OF:
        if isinstance(exc, kind):
            return Problem(status, title, str(exc))
    return Problem(400, "Bad Request", str(exc))


def _respond(problem: Problem) -> JSONResponse:
    return JSONResponse(
        problem.document.model_dump(exclude_none=True),
        status_code=problem.document.status,
        media_type=PROBLEM_TYPE,
        headers=problem.headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
        for error in exc.errors()
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` a problem document."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return _respond(exc)

    async def on_knoll_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.KnollError)
        return _respond(problem_of(exc))

    async def on_invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        found = _validation_errors(exc)
        fields = ", ".join(error["field"] for error in found)
        return _respond(
            Problem(
                422,
                "Invalid request",
                f"{request.method} {request.url.path}: invalid {fields}.",
                fix="Correct the fields listed in 'errors'; the OpenAPI document at "
                "/api/v1/openapi.json describes each route's parameters and body.",
                errors=found,
            )
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = str(exc.detail)
        fix = None
        if exc.status_code == 404:
            detail = f"There is no route {request.url.path}."
            fix = "The routes are listed in the OpenAPI document at /api/v1/openapi.json."
        elif exc.status_code == 405:
            detail = f"{request.url.path} does not answer {request.method}."
            fix = "The methods of each route are in the OpenAPI document at /api/v1/openapi.json."
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        headers = dict(exc.headers) if exc.headers is not None else None
        return _respond(Problem(exc.status_code, title, detail, fix=fix, headers=headers))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _respond(
            Problem(
                500,
                "Internal Server Error",
                f"{request.method} {request.url.path} failed inside the server.",
                fix="The server's log has the traceback; please report it.",
            )
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(errors.KnollError, on_knoll_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
