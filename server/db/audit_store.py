"""Audit rows: writes in batches (from ``auth.audit.AuditLog``'s background task) and queries
for administrators and tests. Rows hold ids only (Principal.key, zone/job/dataset ids)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yakuba.server.db.models import AuditEvent

# Column widths (models.AuditEvent): longer values are cut, an audit write never fails on length.
_WIDTH = {"kind": 40, "principal": 80, "action": 60, "code": 60, "resource": 120, "node": 80}


def _fit(row: dict) -> dict:
    out = dict(row)
    for k, w in _WIDTH.items():
        v = out.get(k)
        if v is not None:
            out[k] = str(v)[:w]
    return out


async def insert_events(s: AsyncSession, rows: Iterable[dict]) -> int:
    """``rows``: dicts with kind, principal, and optionally at, action, code, resource, node."""
    objs = [AuditEvent(**_fit(r)) for r in rows]
    s.add_all(objs)
    await s.flush()
    return len(objs)


async def list_events(s: AsyncSession, principal: str | None = None, kind: str | None = None,
                      since: datetime | None = None, limit: int = 100) -> list[AuditEvent]:
    """Newest first."""
    q = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if principal is not None:
        q = q.where(AuditEvent.principal == principal)
    if kind is not None:
        q = q.where(AuditEvent.kind == kind)
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    return list((await s.scalars(q)).all())


__all__ = ["insert_events", "list_events"]
