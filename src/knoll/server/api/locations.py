"""The workspace's code locations: ``/locations`` (each one's status, its load error with the
fix, where its code server listens and when it loaded), reloading one, and its definitions
snapshot as its code server serves it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from knoll.codeloc.protocol import CodeServerHealth
from knoll.errors import CodeServerError
from knoll.server.api._locations import unknown_location
from knoll.server.auth import Editor, Viewer
from knoll.server.auth.principal import Role, ensure_role
from knoll.server.context import Context, ServerContext
from knoll.server.problems import Problem

router = APIRouter(tags=["locations"])


class LoadErrorModel(BaseModel):
    """Why a location's code did not load: the headline, the exception's type, the formatted
    traceback and what to do about it."""

    message: str
    error_type: str
    traceback: str
    fix: str


class LocationModel(BaseModel):
    """One code location: ``status`` is ``loaded``, ``loading``, ``error`` (its code did not
    load: see ``error``) or ``unavailable`` (its code server does not answer: see ``error``).
    ``loaded_at`` is when its code server finished loading (seconds since the epoch, UTC)."""

    name: str
    status: Literal["loaded", "loading", "error", "unavailable"]
    address: str
    pid: int | None
    generation: int | None
    snapshot_id: str | None
    loaded_at: float | None
    knoll_version: str | None
    error: LoadErrorModel | None


class LocationsModel(BaseModel):
    """Every code location of the workspace, by name."""

    items: list[LocationModel]


class DefinitionsModel(BaseModel):
    """A location's definitions snapshot (``docs/snapshot.md`` lists its fields) and its id,
    which changes whenever the snapshot does."""

    name: str
    snapshot_id: str
    snapshot: dict[str, Any]


def _fix(name: str) -> str:
    return (
        f"Fix the error in the code of location {name!r}, then reload it: POST "
        f"/api/v1/locations/{name}/reload."
    )


def _unavailable(context: ServerContext, name: str, exc: CodeServerError) -> LocationModel:
    client = context.locations.clients[name]
    return LocationModel(
        name=name,
        status="unavailable",
        address=client.address,
        pid=None,
        generation=None,
        snapshot_id=None,
        loaded_at=None,
        knoll_version=None,
        error=LoadErrorModel(
            message=str(exc),
            error_type=type(exc).__name__,
            traceback="",
            fix=f"Start the code server of location {name!r} again (knoll code-server start) "
            "or check its address in workspace.yaml.",
        ),
    )


def _location(context: ServerContext, name: str) -> LocationModel:
    client = context.locations.clients[name]
    try:
        with context.locations.lock(name):
            health = client.health()
            failure = client.snapshot().error if health.load_status == "error" else None
    except CodeServerError as exc:
        return _unavailable(context, name, exc)
    error = None
    if failure is not None:
        error = LoadErrorModel(
            message=failure.message,
            error_type=failure.error_type,
            traceback=failure.traceback,
            fix=_fix(name),
        )
    return _of_health(name, client.address, health, error)


_STATUSES: dict[str, Literal["loaded", "loading", "error"]] = {
    "loaded": "loaded",
    "loading": "loading",
    "error": "error",
}


def _of_health(
    name: str, address: str, health: CodeServerHealth, error: LoadErrorModel | None
) -> LocationModel:
    return LocationModel(
        name=name,
        status=_STATUSES.get(health.load_status, "error"),
        address=address,
        pid=health.pid,
        generation=health.generation,
        snapshot_id=health.snapshot_id,
        loaded_at=health.loaded_at,
        knoll_version=health.knoll_version,
        error=error,
    )


def _known(context: ServerContext, name: str) -> None:
    if name not in context.locations.clients:
        raise unknown_location(context, name)


@router.get("/locations", response_model=LocationsModel)
def list_locations(context: Context, principal: Viewer) -> LocationsModel:
    """Every code location of the workspace with its status; a location whose code did not
    load shows its error and the fix, and the others serve on."""
    return LocationsModel(items=[_location(context, name) for name in context.locations.names])


@router.get("/locations/{name}", response_model=LocationModel)
def get_location(context: Context, principal: Viewer, name: str) -> LocationModel:
    """One code location with its status."""
    _known(context, name)
    return _location(context, name)


@router.post("/locations/{name}/reload", response_model=LocationModel)
def reload_location(context: Context, principal: Editor, name: str) -> LocationModel:
    """Re-import the location's code in its code server and answer once the new code has
    loaded or failed to (its status says which); the next reads see the new definitions."""
    _known(context, name)
    ensure_role(principal, Role.EDITOR, name)
    client = context.locations.clients[name]
    try:
        with context.locations.lock(name):
            client.reload()
    except CodeServerError as exc:
        raise Problem(
            503,
            "Code server unavailable",
            f"code location {name!r} did not reload: {exc}",
            object=name,
            fix=f"Check that the code server of location {name!r} runs (GET "
            f"/api/v1/locations/{name}), then reload again.",
        ) from None
    return _location(context, name)


@router.get("/locations/{name}/definitions", response_model=DefinitionsModel)
def get_definitions(context: Context, principal: Viewer, name: str) -> DefinitionsModel:
    """The location's definitions snapshot, as its code server serves it (and this server
    caches it, by snapshot id)."""
    _known(context, name)
    snapshot = context.locations.snapshot(name)
    if snapshot.error is not None or snapshot.snapshot is None or snapshot.snapshot_id is None:
        detail = snapshot.error.message if snapshot.error is not None else "no snapshot"
        raise Problem(
            409,
            "Code location did not load",
            f"code location {name!r} did not load, so it has no definitions: {detail}",
            object=name,
            fix=_fix(name),
        )
    return DefinitionsModel(name=name, snapshot_id=snapshot.snapshot_id, snapshot=snapshot.snapshot)
