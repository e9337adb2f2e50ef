"""``/users`` and ``/tokens``: the admin's users (role, grants per code location, disabled)
and API tokens. A user may also list, create and revoke its own tokens. A token's secret is
in the answer that creates it, and never again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from knoll.instance.retention import parse_duration
from knoll.server.auth import Admin
from knoll.server.auth import accounts as acc
from knoll.server.auth.principal import Principal, Role, requires
from knoll.server.context import Context
from knoll.server.pagination import Cursor, Limit, Page, cursor_value, page_of
from knoll.server.problems import Problem, not_found
from knoll.storage.access import ApiToken, User

router = APIRouter(tags=["users"])

_ROLES = "viewer, launcher, editor or admin"


class UserInfo(BaseModel):
    name: str
    role: str
    grants: dict[str, str] = Field(description="A role per code location, where it differs.")
    created: float
    disabled: bool
    has_password: bool


class NewUser(BaseModel):
    name: str
    role: str = Field(description=_ROLES)
    password: str | None = Field(None, description="None: the user uses API tokens only.")
    grants: dict[str, str] = Field(default_factory=dict)


class UserChange(BaseModel):
    """What to change; fields left out stay as they are (``grants`` is replaced whole)."""

    role: str | None = Field(None, description=_ROLES)
    grants: dict[str, str] | None = None
    disabled: bool | None = None
    password: str | None = None


class TokenInfo(BaseModel):
    token_id: str
    name: str
    user: str
    created: float
    expires: float | None
    last_used: float | None
    revoked: float | None


class NewToken(BaseModel):
    name: str | None = None
    expires_in: str | None = Field(
        None, description="How long it is valid: 30d, 12h, 90m, 2w; none: until revoked."
    )


class CreatedToken(TokenInfo):
    """A new token; ``token`` is its secret, shown this once: send it as
    ``Authorization: Bearer TOKEN``."""

    token: str


def user_info(user: User) -> UserInfo:
    return UserInfo(
        name=user.name,
        role=user.role,
        grants=dict(user.grants),
        created=user.created,
        disabled=user.disabled,
        has_password=user.password_hash is not None,
    )


def token_info(token: ApiToken) -> TokenInfo:
    return TokenInfo(
        token_id=token.token_id,
        name=token.name,
        user=token.user,
        created=token.created,
        expires=token.expires,
        last_used=token.last_used,
        revoked=token.revoked,
    )


def _ensure_own_or_admin(principal: Principal, user: str) -> None:
    if principal.via != "local" and principal.name == user:
        return
    if not principal.may(Role.ADMIN):
        raise Problem(
            403,
            "Forbidden",
            f"{principal.name!r} is a {principal.role.label}; the tokens of user {user!r} "
            "need the admin role (a user may manage only its own tokens).",
            fix=f"Use /api/v1/users/{principal.name}/tokens, or ask an admin.",
        )


def own_or_admin(request: Request) -> Principal:
    """The request's principal, which must be the user of the path's ``{name}`` or an admin
    (a role dependency, so it runs before anything else of the route)."""
    principal = requires(Role.VIEWER)(request)
    _ensure_own_or_admin(principal, str(request.path_params.get("name", "")))
    return principal


own_or_admin.knoll_role = Role.VIEWER  # type: ignore[attr-defined]
OwnOrAdmin = Annotated[Principal, Depends(own_or_admin)]


@router.get("/users", response_model=Page[UserInfo])
def list_users(
    context: Context, principal: Admin, limit: Limit = 100, cursor: Cursor = None
) -> Page[UserInfo]:
    """Users by name."""
    after = cursor_value(cursor, "after", str)
    found = context.instance.storage.get_users(after=after, limit=limit + 1)
    return page_of(found, limit, user_info, lambda user: {"after": user.name})


@router.post("/users", response_model=UserInfo, status_code=201)
def create_user(body: NewUser, context: Context, principal: Admin) -> UserInfo:
    """Add a user; its name must be new."""
    storage = context.instance.storage
    return user_info(acc.add_user(storage, body.name, body.role, body.password, body.grants))


@router.get("/users/{name}", response_model=UserInfo)
def get_user(name: str, context: Context, principal: Admin) -> UserInfo:
    return user_info(acc.get_user(context.instance.storage, name))


@router.patch("/users/{name}", response_model=UserInfo)
def change_user(name: str, body: UserChange, context: Context, principal: Admin) -> UserInfo:
    """Change a user's role, grants, password or whether it is disabled (a disabled user's
    sessions end and its tokens stop working; a new password ends its sessions)."""
    storage = context.instance.storage
    user = acc.change_user(
        storage, name, role=body.role, grants=body.grants, disabled=body.disabled
    )
    if body.password is not None:
        user = acc.set_password(storage, name, body.password)
    return user_info(user)


@router.delete("/users/{name}", status_code=204)
def delete_user(name: str, context: Context, principal: Admin) -> None:
    """Delete a user with its tokens and sessions (never the only enabled admin)."""
    acc.remove_user(context.instance.storage, name)


def _token_page(found: Sequence[ApiToken], limit: int) -> Page[TokenInfo]:
    return page_of(found, limit, token_info, lambda token: {"after": token.token_id})


@router.get("/tokens", response_model=Page[TokenInfo])
def list_tokens(
    context: Context, principal: Admin, limit: Limit = 100, cursor: Cursor = None
) -> Page[TokenInfo]:
    """Every user's API tokens, by id."""
    after = cursor_value(cursor, "after", str)
    return _token_page(context.instance.storage.get_tokens(after=after, limit=limit + 1), limit)


@router.get("/users/{name}/tokens", response_model=Page[TokenInfo])
def list_user_tokens(
    name: str, context: Context, principal: OwnOrAdmin, limit: Limit = 100, cursor: Cursor = None
) -> Page[TokenInfo]:
    """A user's API tokens (an admin's, or the user's own)."""
    storage = context.instance.storage
    acc.get_user(storage, name)
    after = cursor_value(cursor, "after", str)
    return _token_page(storage.get_tokens(user=name, after=after, limit=limit + 1), limit)


@router.post("/users/{name}/tokens", response_model=CreatedToken, status_code=201)
def create_token(
    name: str, body: NewToken, context: Context, principal: OwnOrAdmin
) -> CreatedToken:
    """A new API token of the user; the answer holds its secret, shown this once."""
    expires_in = None
    if body.expires_in is not None:
        expires_in = parse_duration(body.expires_in, what="expires_in").total_seconds()
    token, secret = acc.create_token(context.instance.storage, name, body.name, expires_in)
    return CreatedToken(**token_info(token).model_dump(), token=secret)


@router.delete("/users/{name}/tokens/{token_id}", response_model=TokenInfo)
def revoke_token(name: str, token_id: str, context: Context, principal: OwnOrAdmin) -> TokenInfo:
    """Revoke one of the user's API tokens at once."""
    storage = context.instance.storage
    token = storage.get_token(token_id)
    if token is None or token.user != name:
        raise not_found(
            "API token", token_id, f"List the tokens of {name!r}: GET /api/v1/users/{name}/tokens."
        )
    return token_info(acc.revoke_token(storage, token_id))
