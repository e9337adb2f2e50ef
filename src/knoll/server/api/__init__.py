"""The API's routers, one module per area, each with its routes and its response models."""

from __future__ import annotations

from fastapi import APIRouter

from knoll.server.api import audit, auth, instance, users

ROUTERS: tuple[APIRouter, ...] = (instance.router, auth.router, users.router, audit.router)
