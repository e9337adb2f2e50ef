"""The API's routers, one module per area, each with its routes and its response models."""

from __future__ import annotations

from fastapi import APIRouter

from knoll.server.api import automation, backfills, instance, schedules

ROUTERS: tuple[APIRouter, ...] = (
    instance.router,
    schedules.router,
    backfills.router,
    automation.router,
)
