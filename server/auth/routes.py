"""``POST /api/auth/login``, ``POST /api/auth/logout``, ``GET /api/auth/me``.

Login answers the same 401 ``login_failed`` for an unknown user, a wrong password and a disabled
account, after the same argon2 work (a dummy verify for unknown users), so neither the answer nor
its timing tells which accounts exist. Each login gets a new session id. Audit lines carry the
staff id (or the anonymous client key), never the username.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from yakuba.server.auth import passwords
from yakuba.server.auth.identity import IDENTITY_KEY, SESSION_KEY, Identity, identity_of, principal_for_request, request_address
from yakuba.server.auth.principal import Kind, resident
from yakuba.server.auth.sessions import clear_cookie, set_cookie
from yakuba.server.salon.refusals import REFUSALS_KEY
from yakuba.server.protocol.errors import ErrorCode, ProtocolError
from yakuba.server.http.body import read_json
from yakuba.server.protocol.http import LoginIn

LOGIN_MAX_BYTES = 4096

log = logging.getLogger("yakuba.auth")

# revoke(session_id=None, staff_id=None): drop matching sockets on every node (the gateway's).
Revoke = Callable[..., Awaitable[None]]
REVOKE_KEY = web.AppKey("auth_revoke", object)


def _error(e: ProtocolError) -> web.Response:
    return web.json_response(e.body(), status=e.status)


async def _body(request: web.Request) -> LoginIn:
    if request.content_type != "application/json":
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "send JSON: {\"username\", \"password\"}")
    return LoginIn.from_body(await read_json(request, LOGIN_MAX_BYTES))  # the one schema, in protocol/http.py


async def login(request: web.Request) -> web.Response:
    ident: Identity = request.app[IDENTITY_KEY]
    address = request_address(request)  # behind trusted proxies: the client, not the proxy
    anon = resident(address)
    try:
        body = await _body(request)
    except ProtocolError as e:
        log.info("login refused: %s", e.code.value)
        return _error(e)
    username = body.username.strip().lower()
    if await ident.throttle.blocked(username, address):
        ident.audit.refused(anon, "login", ErrorCode.LOGIN_THROTTLED.value)
        return _error(ProtocolError(ErrorCode.LOGIN_THROTTLED))
    acct = None
    try:
        from yakuba.server.db.accounts import get_staff_by_username

        async with ident.db.session() as s:
            acct = await get_staff_by_username(s, username)
    except Exception:
        log.exception("login: account lookup failed")
        return _error(ProtocolError(ErrorCode.STORE_UNAVAILABLE))
    if acct is None:
        ok = await passwords.verify_dummy(body.password)
    else:
        ok = await passwords.verify_password(acct.password_hash, body.password)
    municipality = None
    if ok and acct is not None and not acct.disabled:
        try:
            from yakuba.server.db.accounts import get_municipality

            async with ident.db.session() as s:
                municipality = await get_municipality(s, acct.municipality_code)
        except Exception:
            log.exception("login: municipality lookup failed staff=%s", acct.id)
            return _error(ProtocolError(ErrorCode.STORE_UNAVAILABLE))
    suspended = municipality is not None and municipality.state != "active"  # issue #20: its staff are out
    if not ok or acct is None or acct.disabled or municipality is None or suspended:
        await ident.throttle.failed(username, address)
        who = f"staff:{acct.id}" if acct is not None else anon
        code = ErrorCode.LOGIN_FAILED.value
        if ok and acct is not None:
            code = "municipality_suspended" if suspended else "disabled"
        ident.audit.record("login_failed", who, action="login", code=code)
        if suspended and request.app.get(REFUSALS_KEY) is not None:  # counted with the salon's identity refusals
            request.app[REFUSALS_KEY].counts[code] += 1
            request.app[REFUSALS_KEY].counter.labels(code).inc()
        return _error(ProtocolError(ErrorCode.LOGIN_FAILED))
    await ident.throttle.succeeded(username)
    # A session this browser already had ends here: a new id at every login (no fixation).
    old = request.get(SESSION_KEY)
    if old is not None:
        await ident.sessions.delete(old.id)
    kind = Kind.ADMIN if acct.is_admin else Kind.STAFF
    roles = list(acct.roles or (["staff", "admin"] if acct.is_admin else ["staff"]))
    rec = await ident.sessions.create(acct.id, acct.municipality_code, roles, kind,
                                      identity_of(acct, municipality, "password"))
    p = rec.principal(client_key=address)
    ident.audit.record("login", p, action="login")
    log.info("login staff=%s session=%s…", acct.id, rec.id[:6])
    resp = web.json_response({"principal": p.public(), "csrf": rec.csrf})
    set_cookie(resp, request, rec, ident.sessions.ttl_s, ident.behind_tls)
    return resp


async def logout(request: web.Request) -> web.Response:
    ident: Identity = request.app[IDENTITY_KEY]
    p = await principal_for_request(request)
    rec = request.get(SESSION_KEY)
    if rec is not None:
        await ident.sessions.delete(rec.id)
        ident.audit.record("logout", p, action="logout")
        revoke = request.app.get(REVOKE_KEY)
        if revoke is not None:  # drop this session's sockets on every node
            try:
                await revoke(session_id=rec.id)
            except Exception:
                log.exception("logout: revoke failed session=%s…", rec.id[:6])
    resp = web.json_response({"principal": resident().public()})
    clear_cookie(resp, request, ident.behind_tls)
    return resp


async def me(request: web.Request) -> web.Response:
    p = await principal_for_request(request)
    rec = request.get(SESSION_KEY)
    return web.json_response({"principal": p.public(), "csrf": rec.csrf if rec is not None else None},
                             headers={"Cache-Control": "no-store"})


def setup_auth_routes(app: web.Application) -> None:
    app.router.add_post("/api/auth/login", login)
    app.router.add_post("/api/auth/logout", logout)
    app.router.add_get("/api/auth/me", me)


__all__ = ["LoginIn", "REVOKE_KEY", "setup_auth_routes"]
