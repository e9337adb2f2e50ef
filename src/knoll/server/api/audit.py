"""``/audit``: the audit log, newest first: every request that could change something, who
made it, the route and path, when, from where, and the status it got (admins only)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from knoll.server.auth import Admin
from knoll.server.context import Context
from knoll.server.pagination import Cursor, Limit, Page, cursor_value, page_of

router = APIRouter(tags=["audit"])


class AuditInfo(BaseModel):
    """``actor`` None: the request proved no identity (``via`` anonymous); ``via`` login: a
    login attempt as ``actor``."""

    entry_id: int
    timestamp: float
    actor: str | None
    via: str
    method: str
    route: str
    target: str
    status: int
    address: str | None


@router.get("/audit", response_model=Page[AuditInfo])
def audit_log(
    context: Context, principal: Admin, limit: Limit = 100, cursor: Cursor = None
) -> Page[AuditInfo]:
    before = cursor_value(cursor, "before", int)
    found = context.instance.storage.get_audit_entries(before_id=before, limit=limit + 1)
    return page_of(
        found,
        limit,
        lambda entry: AuditInfo.model_validate(entry, from_attributes=True),
        lambda entry: {"before": entry.entry_id},
    )
