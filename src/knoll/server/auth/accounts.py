"""Making and changing users and API tokens, the same way for the API's routes and the
``knoll user`` and ``knoll token`` commands: names, roles and passwords are checked here, the
last enabled admin is never removed, and a token's secret is returned once and never kept.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

from knoll.errors import AccountError, UnknownAccountError
from knoll.server.auth.credentials import hash_password, hash_secret, new_token
from knoll.server.auth.principal import Principal, Role
from knoll.storage.access import AccessStorage, ApiToken, User

MIN_PASSWORD_LENGTH = 8
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}\Z")


def parse_role(text: str) -> Role:
    """The role named ``text``, or the ``AccountError`` naming the roles."""
    try:
        return Role.parse(text)
    except ValueError as exc:
        raise AccountError(str(exc)) from None


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise AccountError(
            f"{name!r} is not a valid user name: use 1 to 64 letters, digits, '.', '_', '@' "
            "or '-', starting with a letter or a digit."
        )


def check_password(name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"the password of user {name!r} is too short ({len(password)} characters): use at "
            f"least {MIN_PASSWORD_LENGTH}."
        )


def get_user(storage: AccessStorage, name: str) -> User:
    """The user ``name``, or ``UnknownAccountError`` saying how to list them."""
    user = storage.get_user(name)
    if user is None:
        raise UnknownAccountError(
            f"there is no user {name!r}; list the users with: knoll user list "
            "(or GET /api/v1/users)."
        )
    return user


def _grants(grants: Mapping[str, str] | None) -> dict[str, str]:
    return {location: parse_role(role).label for location, role in (grants or {}).items()}


def add_user(
    storage: AccessStorage,
    name: str,
    role: str,
    password: str | None = None,
    grants: Mapping[str, str] | None = None,
) -> User:
    """Store a new user (``password`` None: it logs in with API tokens only)."""
    check_name(name)
    label = parse_role(role).label
    if password is not None:
        check_password(name, password)
    user = User(
        name=name,
        role=label,
        created=time.time(),
        password_hash=None if password is None else hash_password(password),
        grants=_grants(grants),
    )
    storage.add_user(user)
    return user


def set_password(storage: AccessStorage, name: str, password: str) -> User:
    """Give ``name`` a new password; its sessions end (it logs in again)."""
    user = get_user(storage, name)
    check_password(name, password)
    changed = replace(user, password_hash=hash_password(password))
    storage.update_user(changed)
    storage.delete_sessions(user=name)
    return changed


def _enabled_admins(storage: AccessStorage) -> set[str]:
    return {u.name for u in storage.get_users() if u.role == "admin" and not u.disabled}


def _keep_an_admin(storage: AccessStorage, user: User, doing: str) -> None:
    if user.role == "admin" and not user.disabled and _enabled_admins(storage) == {user.name}:
        raise AccountError(
            f"cannot {doing} user {user.name!r}: it is the only enabled admin, and without "
            f"one nobody could manage users. Make another user an admin first "
            f"(knoll user add NAME --role admin)."
        )


def change_user(
    storage: AccessStorage,
    name: str,
    *,
    role: str | None = None,
    grants: Mapping[str, str] | None = None,
    disabled: bool | None = None,
) -> User:
    """Change the role, the grants (replaced as a whole) or whether ``name`` is disabled; a
    disabled user's sessions end and its tokens stop working."""
    user = get_user(storage, name)
    changed = replace(
        user,
        role=user.role if role is None else parse_role(role).label,
        grants=user.grants if grants is None else _grants(grants),
        disabled=user.disabled if disabled is None else disabled,
    )
    if changed.role != "admin" or changed.disabled:
        _keep_an_admin(storage, user, "disable" if changed.disabled else "demote")
    storage.update_user(changed)
    if changed.disabled:
        storage.delete_sessions(user=name)
    return changed


def remove_user(storage: AccessStorage, name: str) -> None:
    """Delete ``name`` with its tokens and sessions."""
    _keep_an_admin(storage, get_user(storage, name), "remove")
    storage.delete_user(name)


def has_admin(storage: AccessStorage) -> bool:
    """Whether some enabled user is an admin."""
    return bool(_enabled_admins(storage))


def create_token(
    storage: AccessStorage,
    user: str,
    name: str | None = None,
    expires_in: float | None = None,
) -> tuple[ApiToken, str]:
    """A new API token of ``user``, valid for ``expires_in`` seconds (None: until revoked),
    and its secret: the only time the secret is known."""
    get_user(storage, user)
    if expires_in is not None and expires_in <= 0:
        raise AccountError(f"an API token must expire in the future, not in {expires_in}s.")
    token_id, secret = new_token()
    now = time.time()
    token = ApiToken(
        token_id=token_id,
        name=name or f"{user}-{token_id}",
        user=user,
        secret_hash=hash_secret(secret),
        created=now,
        expires=None if expires_in is None else now + expires_in,
    )
    storage.add_token(token)
    return token, secret


def get_token(storage: AccessStorage, token_id: str) -> ApiToken:
    token = storage.get_token(token_id)
    if token is None:
        raise UnknownAccountError(
            f"there is no API token {token_id!r}; list the tokens with: knoll token list."
        )
    return token


def revoke_token(storage: AccessStorage, token_id: str) -> ApiToken:
    """Revoke ``token_id`` at once (revoking it again changes nothing)."""
    token = storage.revoke_token(token_id, time.time())
    return token if token is not None else get_token(storage, token_id)


def principal_of(user: User, via: Literal["session", "token"]) -> Principal:
    """The principal a request of ``user`` is, by session or API token."""
    return Principal(
        user.name,
        Role.parse(user.role),
        via,
        {location: Role.parse(role) for location, role in user.grants.items()},
    )
