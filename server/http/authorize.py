"""What every HTTP route does before acting: take the request's principal (set by the auth
middleware from the session cookie or the API token; never from the request body) and ask the
policy, turning a refusal into the JSON error (403, or 404 where the policy hides a resource)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from yakuba.server.auth.audit import AUDIT_KEY
from yakuba.server.auth.identity import IDENTITY_KEY, PRINCIPAL_KEY, principal_for_request, request_address
from yakuba.server.auth.policy import Action, PolicyDenied, require
from yakuba.server.auth.principal import Principal, resident
from yakuba.server.http_errors import ApiError

async def principal_of(request: web.Request) -> Principal:
    """The one identity path: the identity service of the app. An app without one (a route
    mounted alone in a test) knows nobody: an anonymous resident, unless a middleware of that
    test set PRINCIPAL_KEY itself."""
    if IDENTITY_KEY in request.app:
        return await principal_for_request(request)
    return request.get(PRINCIPAL_KEY) or resident(client_key=request_address(request))


async def authorize(request: web.Request, action: Action, resource: Any = None,
                    status: dict[str, int] | None = None, message: str | None = None) -> Principal:
    """``policy.require`` for this request's principal; a refusal is audited and raised as ApiError."""
    p = await principal_of(request)
    try:
        require(p, action, resource, audit=request.app.get(AUDIT_KEY))
    except PolicyDenied as e:
        code = e.code
        st = (status or {}).get(code) or (404 if code == "not_found" else 403)
        raise ApiError(st, code, message or str(e.decision.reason)) from None
    return p


__all__ = ["authorize", "principal_of"]
