"""The API's routers, one module per area, each with its routes and its response models."""

from __future__ import annotations

from fastapi import APIRouter

from knoll.server.api import (
    audit,
    auth,
    automation,
    backfills,
    instance,
    jobs,
    locations,
    run_actions,
    runs,
    schedules,
    users,
)

ROUTERS: tuple[APIRouter, ...] = (
    instance.router,
    locations.router,
    auth.router,
    users.router,
    audit.router,
    runs.router,
    run_actions.router,
    jobs.router,
    schedules.router,
    backfills.router,
    automation.router,
)
