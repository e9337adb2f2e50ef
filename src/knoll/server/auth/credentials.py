"""The secrets of logins, made and checked without ever keeping them: argon2 hashes of
passwords, SHA-256 hashes of API tokens and session ids, and CSRF tokens.

An API token reads ``knoll_<id>_<secret>``: the id finds the stored token (it is shown in
lists and the audit log), the secret proves it. Session ids and token secrets are 256 random
bits, so a fast hash suffices to store them; passwords are people's, so they get argon2.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "knoll_"


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, with its salt and parameters."""
    return _hasher().hash(password)


@functools.cache
def _decoy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``. Without a hash (an unknown user, a user
    without a password) a decoy hash is checked all the same, so that the time an answer takes
    does not tell whether the user exists."""
    try:
        _hasher().verify(password_hash or _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def hash_secret(secret: str) -> str:
    """The SHA-256 hex digest of a token secret or session id: what storage keeps."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(stored_hash: str, secret: str) -> bool:
    """Whether ``secret`` hashes to ``stored_hash`` (in constant time)."""
    return hmac.compare_digest(stored_hash, hash_secret(secret))


def new_token() -> tuple[str, str]:
    """A new API token: its id and the whole token (prefix, id and secret)."""
    token_id = secrets.token_hex(6)
    return token_id, f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


def split_token(token: str) -> tuple[str, str] | None:
    """The id and secret of a token as :func:`new_token` makes them, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if not token_id or not secret:
        return None
    return token_id, secret


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)
