"""``/auth``: logging in with a user name and password (a session cookie and its CSRF token),
logging out, and who the request is."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from knoll.server.api.users import UserInfo, user_info
from knoll.server.auth import Viewer
from knoll.server.auth.accounts import principal_of
from knoll.server.auth.authenticator import SESSION_COOKIE, request_session
from knoll.server.auth.credentials import (
    hash_secret,
    new_csrf_token,
    new_session_id,
    verify_password,
)
from knoll.server.auth.principal import open_to_anyone
from knoll.server.auth.ratelimit import check_login_allowed, record_login_failure
from knoll.server.context import Context
from knoll.server.problems import Problem
from knoll.storage.access import Session

router = APIRouter(tags=["auth"])


class LoginRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class LoginAnswer(BaseModel):
    """The user logged in, and the CSRF token to send as ``X-CSRF-Token`` with every request
    that changes something (the session itself is in the ``knoll_session`` cookie)."""

    user: UserInfo
    csrf_token: str
    expires: float


class Me(BaseModel):
    """Who the request is: ``via`` local (no login needed), session or token;
    ``csrf_token`` is the session's, for a request authenticated by its cookie."""

    name: str
    role: str
    via: Literal["local", "session", "token"]
    grants: dict[str, str]
    csrf_token: str | None = None


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.post("/auth/login", response_model=LoginAnswer, dependencies=[Depends(open_to_anyone)])
def login(
    body: LoginRequest, request: Request, response: Response, context: Context
) -> LoginAnswer:
    """Log in: sets the ``knoll_session`` cookie (HttpOnly, SameSite=Lax, Secure over
    https). An unknown user and a wrong password get the same answer; too many failures as
    one user or from one address get a 429 saying when to try again."""
    storage = context.instance.storage
    settings = context.auth
    address = _address(request)
    request.state.audit_actor = body.name
    now = time.time()
    check_login_allowed(storage, settings, body.name, address, now)
    user = storage.get_user(body.name)
    if user is None or not verify_password(user.password_hash, body.password):
        record_login_failure(storage, settings, body.name, address, now)
        raise Problem(
            401,
            "Login failed",
            "Wrong user name or password.",
            fix="Check both and try again; an admin can set a new password with: "
            "knoll user passwd NAME.",
        )
    if user.disabled:
        raise Problem(
            403,
            "User disabled",
            f"User {user.name!r} is disabled.",
            object=user.name,
            fix="Ask an admin to enable it (PATCH /api/v1/users/NAME with disabled false).",
        )
    storage.clear_login_failures(user.name)
    storage.delete_sessions(expired_before=now)
    session_id = new_session_id()
    csrf_token = new_csrf_token()
    expires = now + settings.session_seconds
    storage.add_session(Session(hash_secret(session_id), user.name, now, expires, csrf_token))
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_seconds),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    request.state.principal = principal_of(user, "session")
    return LoginAnswer(user=user_info(user), csrf_token=csrf_token, expires=expires)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, context: Context, principal: Viewer) -> None:
    """End the session of the request's cookie (a request with an API token has none: the
    token stays valid until revoked)."""
    session = request_session(request)
    if session is not None:
        context.instance.storage.delete_session(session.id_hash)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


@router.get("/auth/me", response_model=Me)
def me(request: Request, principal: Viewer) -> Me:
    """Who the request is, its role and its grants per code location."""
    session = request_session(request) if principal.via == "session" else None
    return Me(
        name=principal.name,
        role=principal.role.label,
        via=principal.via,
        grants={location: role.label for location, role in principal.grants.items()},
        csrf_token=None if session is None else session.csrf_token,
    )
