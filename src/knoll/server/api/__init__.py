"""The API's routers, one module per area, each with its routes and its response models."""

from __future__ import annotations

from fastapi import APIRouter

from knoll.server.api import instance, jobs, run_actions, runs

ROUTERS: tuple[APIRouter, ...] = (
    instance.router,
    runs.router,
    run_actions.router,
    jobs.router,
)
