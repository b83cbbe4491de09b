"""The tenant API (issue #20), under ``/api/salon``:

- ``GET|POST /municipalities``, ``POST /municipalities/{code}/suspend|resume``,
  ``POST /municipalities/{code}/invitations``: administrators only (policy MANAGE_TENANTS);
- ``POST /invitations/accept``: anyone holding an invitation to a municipality without an
  identity provider makes a password account (then logs in at /api/auth/login);
- ``GET /me``: the server-issued identity card of whoever asks (``Principal.card``).

Suspending a municipality ends its staff's sessions at once: every request re-reads the state
(identity.account_state), and the hub's revoke drops their sockets on every node through the
store's control channel. Audit lines carry the municipality code and principal keys, never names.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from yakuba.server.auth import passwords
from yakuba.server.auth.audit import AUDIT_KEY
from yakuba.server.auth.identity import IDENTITY_KEY, request_address
from yakuba.server.auth.policy import Action
from yakuba.server.auth.principal import resident
from yakuba.server.auth.routes import REVOKE_KEY
from yakuba.server.db import accounts, tenants
from yakuba.server.db.errors import Duplicate, InvalidRecord, InvitationRefused, RecordError, UnknownMunicipality
from yakuba.server.db.models import Municipality
from yakuba.server.http.authorize import authorize, principal_of
from yakuba.server.http.body import read_json
from yakuba.server.http_errors import ApiError, json_errors
from yakuba.server.protocol.salon_http import AcceptIn, InvitationIn, InvitationOut, MunicipalityIn, MunicipalityOut
from yakuba.server.salon.refusals import REFUSALS_KEY

log = logging.getLogger("yakuba.salon")
TTL_KEY = web.AppKey("invitation_ttl_s", float)

_ERRORS: dict[type[Exception], tuple[int, str] | Any] = {
    UnknownMunicipality: (404, UnknownMunicipality.code),
    Duplicate: lambda e: (409, e.code),
    InvalidRecord: (400, "invalid_request"),
    RecordError: lambda e: (400, e.code),
}
errors = json_errors(log, "salon", _ERRORS)


def _out(m: Municipality) -> dict:
    return MunicipalityOut(code=m.code, name=m.name, state=m.state, email_domains=list(m.email_domains or []),
                           oidc_issuer=m.oidc_issuer, oidc_client_id=m.oidc_client_id).model_dump()


def _db(request: web.Request):
    return request.app[IDENTITY_KEY].db


@errors
async def list_municipalities(request: web.Request) -> web.Response:
    await authorize(request, Action.MANAGE_TENANTS)
    async with _db(request).session() as s:
        return web.json_response({"municipalities": [_out(m) for m in await tenants.list_all(s)]})


@errors
async def register(request: web.Request) -> web.Response:
    p = await authorize(request, Action.MANAGE_TENANTS)
    body = MunicipalityIn.from_body(await read_json(request, 8192))
    async with _db(request).session() as s:
        m = await tenants.register(s, body.code, body.name, body.email_domains, body.oidc_issuer, body.oidc_client_id)
        out = _out(m)
    request.app[AUDIT_KEY].record("municipality_registered", p, action="manage_tenants", resource=body.code)
    log.info("municipality registered code=%s by=%s oidc=%s", body.code, p.key, "yes" if body.oidc_issuer else "no")
    return web.json_response(out, status=201)


async def _set_state(request: web.Request, state: str) -> web.Response:
    p = await authorize(request, Action.MANAGE_TENANTS)
    code = request.match_info["code"]
    if state == "suspended" and p.municipality == code:
        raise ApiError(400, "invalid_request", "an administrator cannot suspend their own municipality")
    async with _db(request).session() as s:
        m = await tenants.set_state(s, code, state)
        out = _out(m)
    request.app[AUDIT_KEY].record(f"municipality_{state}", p, action="manage_tenants", resource=code)
    ended = 0
    revoke = request.app.get(REVOKE_KEY)
    if state == "suspended" and revoke is not None:
        # this node's sockets now, every other node's through the control channel; the database
        # state already refuses their next request on any node, bus or not
        try:
            ended = await revoke(municipality=code)
        except Exception:
            log.exception("suspend: revoke failed municipality=%s", code)
    log.info("municipality %s code=%s by=%s sockets_ended_here=%s", state, code, p.key, ended)
    return web.json_response(out)


@errors
async def suspend(request: web.Request) -> web.Response:
    return await _set_state(request, "suspended")


@errors
async def resume(request: web.Request) -> web.Response:
    return await _set_state(request, "active")


@errors
async def invite(request: web.Request) -> web.Response:
    p = await authorize(request, Action.MANAGE_TENANTS)
    code = request.match_info["code"]
    body = InvitationIn.from_body(await read_json(request, 4096))
    async with _db(request).session() as s:
        token, inv = await tenants.create_invitation(s, code, p.key, body.ttl_s or request.app[TTL_KEY], body.department)
        m = await tenants.require(s, code)
        # The token travels in the query of a provider login, or in a fragment (never sent to a
        # server, so it stays out of access logs and Referer headers) for the join page.
        link = f"/auth/oidc/{code}/login?invite={token}" if m.oidc_issuer else f"/salon/join#invite={token}"
        out = InvitationOut(id=inv.id, municipality=code, token=token, expires=inv.expires_at.isoformat(), link=link)
    request.app[AUDIT_KEY].record("invitation_created", p, action="manage_tenants", resource=f"invitation:{inv.id}")
    return web.json_response(out.model_dump(), status=201)


@errors
async def accept(request: web.Request) -> web.Response:
    body = AcceptIn.from_body(await read_json(request, 4096))
    anon = resident(request_address(request))
    hashed = await passwords.hash_password(body.password)  # argon2 before the transaction, off the loop
    try:
        async with _db(request).session() as s:
            inv = await tenants.use_invitation(s, body.token)
            m = await tenants.require(s, inv.municipality_code)
            if m.oidc_issuer:  # its staff sign in through their provider: no password accounts
                raise InvitationRefused("invitation_needs_oidc")
            a = await accounts.add_staff(s, body.username, m.code, hashed)
            a.display_name, a.department, a.joined_via = body.display_name.strip(), body.department or inv.department, "invitation"
            inv.used_by = a.id
            staff_id, inv_id = a.id, inv.id
    except InvitationRefused as e:
        request.app[REFUSALS_KEY].refuse(anon, "accept_invitation", e.code)
        log.info("invitation refused reason=%s", e.code)
        raise ApiError(403, "not_invited", "this invitation cannot be used (used, expired, or for a provider login)") from None
    request.app[AUDIT_KEY].record("invitation_used", f"staff:{staff_id}", action="accept_invitation",
                                  resource=f"invitation:{inv_id}")
    return web.json_response({"staff": staff_id, "municipality": m.code}, status=201)


async def me(request: web.Request) -> web.Response:
    p = await principal_of(request)
    return web.json_response(p.card(), headers={"Cache-Control": "no-store"})


def setup_tenant_routes(app: web.Application, invitation_ttl_s: float) -> None:
    app[TTL_KEY] = invitation_ttl_s
    r = app.router
    r.add_get("/api/salon/municipalities", list_municipalities)
    r.add_post("/api/salon/municipalities", register)
    r.add_post("/api/salon/municipalities/{code}/suspend", suspend)
    r.add_post("/api/salon/municipalities/{code}/resume", resume)
    r.add_post("/api/salon/municipalities/{code}/invitations", invite)
    r.add_post("/api/salon/invitations/accept", accept)
    r.add_get("/api/salon/me", me)


__all__ = ["setup_tenant_routes"]
