"""``/health`` (no credentials: for load balancers) and ``/instance``: where the instance keeps
everything and the daemon's duties with their last heartbeat and errors."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from knoll import __version__
from knoll.server.auth import Viewer
from knoll.server.context import Context

router = APIRouter(tags=["instance"])


class Health(BaseModel):
    status: str
    version: str


class DutyHeartbeat(BaseModel):
    """The last heartbeat of one duty's loop of one daemon."""

    daemon_id: str
    duty: str
    timestamp: float
    errors: list[str]
    info: dict[str, str]


class InstanceInfo(BaseModel):
    version: str
    info: dict[str, str]
    daemon_heartbeats: list[DutyHeartbeat]


@router.get("/health", response_model=Health)
def health() -> Health:
    """Whether the webserver answers; needs no credentials."""
    return Health(status="ok", version=__version__)


@router.get("/instance", response_model=InstanceInfo)
def instance_info(context: Context, principal: Viewer) -> InstanceInfo:
    """Where the instance keeps everything, and the last heartbeat of each daemon duty."""
    instance = context.instance
    beats = [
        DutyHeartbeat(
            daemon_id=beat.daemon_id,
            duty=beat.duty,
            timestamp=beat.timestamp,
            errors=list(beat.errors),
            info=dict(beat.info),
        )
        for beat in instance.get_daemon_heartbeats()
    ]
    return InstanceInfo(version=__version__, info=dict(instance.info()), daemon_heartbeats=beats)
