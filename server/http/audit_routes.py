"""GET /api/audit: the audit trail for administrators (policy Action.READ_AUDIT).

Records hold ids only (principal keys such as ``staff:12``, resource ids), never names or
content, so reading them discloses who did what, not what was said. Newest first, paged by id:
``?kind=booth&before=<id>&limit=100`` (``since`` an ISO time).
"""

from __future__ import annotations

import logging
from aiohttp import web
from sqlalchemy import select

from yakuba.server.auth.policy import Action
from yakuba.server.db.models import AuditEvent
from yakuba.server.http.authorize import authorize
from yakuba.server.http_errors import json_errors
from yakuba.server.protocol.http import AuditQuery

log = logging.getLogger("yakuba.http")


async def audit_view(request: web.Request, db) -> web.Response:
    await authorize(request, Action.READ_AUDIT)
    q = AuditQuery.from_query(request.query)
    limit = q.limit
    stmt = select(AuditEvent).where(AuditEvent.id < q.before)
    if q.kind:
        stmt = stmt.where(AuditEvent.kind == q.kind)
    if q.since:
        stmt = stmt.where(AuditEvent.at >= q.since)
    async with db.session() as s:
        rows = (await s.execute(stmt.order_by(AuditEvent.id.desc()).limit(limit))).scalars().all()
    events = [{"id": r.id, "at": r.at.isoformat(), "kind": r.kind, "principal": r.principal, "action": r.action,
               "code": r.code, "resource": r.resource, "node": r.node} for r in rows]
    return web.json_response({"events": events, "next_before": events[-1]["id"] if len(events) == limit else None})


def setup_audit_routes(app: web.Application, db) -> None:
    async def view(request: web.Request) -> web.Response:
        return await audit_view(request, db)

    app.router.add_get("/api/audit", json_errors(log, "audit api")(view))


__all__ = ["setup_audit_routes"]
