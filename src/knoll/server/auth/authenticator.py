"""The webserver's own logins: who a request is, from an API token (``Authorization: Bearer
knoll_...``) or from the ``knoll_session`` cookie of a login, checked against the instance's
users, tokens and sessions.

A request authenticated by its cookie that changes something (any method but GET, HEAD and
OPTIONS) must also send the session's CSRF token in the ``X-CSRF-Token`` header (the
double-submit pattern): another site can make a browser send the cookie, but cannot read the
token. A request with an API token needs no CSRF token, since no browser sends one on its own.
"""

from __future__ import annotations

import hmac
import time

from fastapi import Request

from knoll.server.auth.accounts import principal_of
from knoll.server.auth.credentials import hash_secret, same_secret, split_token
from knoll.server.auth.principal import AuthSettings, Principal
from knoll.server.problems import Problem
from knoll.storage.access import AccessStorage, Session

SESSION_COOKIE = "knoll_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOUCH_SECONDS = 60.0  # a token's last use is recorded at most once a minute


def storage_of(request: Request) -> AccessStorage:
    storage: AccessStorage = request.app.state.context.instance.storage
    return storage


def request_session(request: Request) -> Session | None:
    """The live session the request's cookie names, or None."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    session = storage_of(request).get_session(hash_secret(session_id))
    if session is None or session.expires <= time.time():
        return None
    return session


class StoredAuthenticator:
    """Authenticates requests against the users, tokens and sessions of the instance the
    webserver serves."""

    def authenticate(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "bearer":
                return None
            return self._by_token(request, credentials.strip())
        return self._by_session(request)

    def _by_token(self, request: Request, token: str) -> Principal | None:
        parts = split_token(token)
        if parts is None:
            return None
        storage = storage_of(request)
        stored = storage.get_token(parts[0])
        now = time.time()
        if stored is None or not stored.usable(now) or not same_secret(stored.secret_hash, token):
            return None
        user = storage.get_user(stored.user)
        if user is None or user.disabled:
            return None
        if stored.last_used is None or now - stored.last_used >= _TOUCH_SECONDS:
            storage.touch_token(stored.token_id, now)
        return principal_of(user, "token")

    def _by_session(self, request: Request) -> Principal | None:
        session = request_session(request)
        if session is None:
            return None
        user = storage_of(request).get_user(session.user)
        if user is None or user.disabled:
            return None
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
                raise Problem(
                    403,
                    "CSRF token missing",
                    f"{request.method} {request.url.path} is authenticated by the "
                    f"{SESSION_COOKIE} cookie but its {CSRF_HEADER} header is "
                    f"{'wrong' if sent else 'missing'}.",
                    fix=f"Send the csrf_token that POST /api/v1/auth/login (or GET "
                    f"/api/v1/auth/me) returned in the {CSRF_HEADER} header, or authenticate "
                    "with an API token instead.",
                )
        return principal_of(user, "session")


def logins_required(
    *,
    session_seconds: float = AuthSettings.session_seconds,
    max_login_failures: int = AuthSettings.max_login_failures,
    login_window_seconds: float = AuthSettings.login_window_seconds,
) -> AuthSettings:
    """Auth settings that make every request log in or carry an API token, checked against
    the instance's users."""
    return AuthSettings(
        required=True,
        authenticator=StoredAuthenticator(),
        session_seconds=session_seconds,
        max_login_failures=max_login_failures,
        login_window_seconds=login_window_seconds,
    )
