"""``GET /auth/oidc/{municipality}/login`` and ``GET /auth/oidc/callback``: staff sign in through
their municipality's identity provider, and leave with the ordinary server session cookie.

Who someone is comes from the provider: the account is found by (issuer, subject), never by an
e-mail address. Which municipality they belong to comes from our registration of the issuer
that signed, never from a claim. A first sign-in makes an account only with an invitation of
that municipality (``?invite=``) or a provider-verified e-mail in one of its allowed domains.

Every refusal answers the same 401 ``login_failed`` (the reason is not the visitor's business)
and is logged, audited and counted with its ``oidc_*`` reason and the municipality code.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from aiohttp import web

from yakuba.server.auth.identity import IDENTITY_KEY, SESSION_KEY, Identity, identity_of, request_address
from yakuba.server.auth.oidc import STATE_TTL_S, OidcClient, OidcRefused, Registration
from yakuba.server.auth.principal import Kind, resident
from yakuba.server.auth.sessions import COOKIE, request_is_https, set_cookie
from yakuba.server.db import tenants
from yakuba.server.db.errors import InvitationRefused
from yakuba.server.salon.refusals import REFUSALS_KEY

log = logging.getLogger("yakuba.auth.oidc")

STATE_COOKIE = "yakuba_oidc"  # the pending login's state, so a callback is honoured only in the browser that began it
CALLBACK = "/auth/oidc/callback"
OIDC_KEY = web.AppKey("oidc_client", OidcClient)
SECRETS_KEY = web.AppKey("oidc_secrets", object)  # callable: municipality code -> client secret or None
LANDING = "/"


def _failed(status: int = 401, message: str = "sign-in through your municipality's provider failed; start again") -> web.Response:
    return web.json_response({"error": {"code": "login_failed", "message": message}}, status=status,
                             headers={"Cache-Control": "no-store"})


def _found(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _text(v: Any, n: int) -> str | None:
    """A claim shown to others (a name, a department): printable text, bounded, or nothing."""
    if not isinstance(v, str):
        return None
    v = "".join(ch for ch in v if ch.isprintable()).strip()[:n]
    return v or None


def _redirect_uri(request: web.Request, ident: Identity) -> str:
    # The operator's public origin when set (behind a proxy); otherwise this request's own.
    if ident.public_origin:
        return ident.public_origin.rstrip("/") + CALLBACK
    scheme = "https" if request_is_https(request, ident.behind_tls) else "http"
    return f"{scheme}://{request.host}{CALLBACK}"


async def login(request: web.Request) -> web.Response:
    ident: Identity = request.app[IDENTITY_KEY]
    refusals = request.app[REFUSALS_KEY]
    anon = resident(request_address(request))
    code = request.match_info["municipality"]
    invite = request.query.get("invite") or None
    try:
        async with ident.db.session() as s:
            m = await tenants.get_municipality(s, code) if len(code) <= 16 else None
            if m is not None and invite is not None:
                inv = await tenants.peek_invitation(s, invite)
                if inv.municipality_code != m.code:
                    raise InvitationRefused("invitation_other_municipality")
    except InvitationRefused as e:
        refusals.refuse(anon, "oidc_login", e.code, code)
        log.info("oidc login refused municipality=%s reason=%s", code, e.code)
        return _failed(403, "this invitation cannot be used (used, expired or not for this municipality)")
    if m is None or not m.oidc_issuer:
        return web.json_response({"error": {"code": "not_found", "message": "no identity provider registered for this municipality"}}, status=404)
    if m.state != "active":
        refusals.refuse(anon, "oidc_login", "municipality_suspended", code)
        return _failed(403, "this municipality is suspended")
    reg = Registration(m.code, m.oidc_issuer, m.oidc_client_id or "", request.app[SECRETS_KEY](m.code))
    try:
        url, state = await request.app[OIDC_KEY].begin(reg, _redirect_uri(request, ident),
                                                       request.query.get("login_hint"), invite)
    except OidcRefused as e:
        refusals.refuse(anon, "oidc_login", e.code, code)
        log.warning("oidc login municipality=%s: %s", code, e)
        if e.code == "oidc_wrong_issuer":
            return _failed(502, "the identity provider does not match its registration (issuer); ask the IT team")
        return _failed(502, "the municipality's identity provider cannot be reached")
    resp = _found(url)
    resp.set_cookie(STATE_COOKIE, state, max_age=int(STATE_TTL_S), path="/auth/oidc/", httponly=True, samesite="Lax",
                    secure=request_is_https(request, ident.behind_tls))
    return resp


async def callback(request: web.Request) -> web.StreamResponse:
    ident: Identity = request.app[IDENTITY_KEY]
    refusals = request.app[REFUSALS_KEY]
    client: OidcClient = request.app[OIDC_KEY]
    anon = resident(request_address(request))
    q = request.query
    muni: str | None = None
    try:
        state, cookie = q.get("state"), request.cookies.get(STATE_COOKIE)
        if not state or not cookie or not hmac.compare_digest(state.encode(), cookie.encode()):
            raise OidcRefused("oidc_state_mismatch", "state is not the one this browser began")
        pending = await client.take(state)
        muni = pending.municipality
        if q.get("error"):
            raise OidcRefused("oidc_provider_denied", str(q.get("error"))[:40])
        async with ident.db.session() as s:
            m = await tenants.get_municipality(s, muni)
        if m is None or m.state != "active":
            raise OidcRefused("municipality_suspended", "municipality suspended or removed during the login")
        if m.oidc_issuer != pending.issuer:
            raise OidcRefused("oidc_wrong_issuer", "the municipality's issuer changed during the login")
        reg = Registration(m.code, m.oidc_issuer, m.oidc_client_id or "", request.app[SECRETS_KEY](m.code))
        meta = await client.discover(reg.issuer)
        iss = q.get("iss")
        # RFC 9207: the response says who sent it; a mix-up with another provider shows here
        if (iss is not None and iss != reg.issuer) or (iss is None and meta.iss_parameter):
            raise OidcRefused("oidc_wrong_issuer", "authorization response from another issuer")
        if not q.get("code"):
            raise OidcRefused("oidc_code_refused", "no code")
        tokens = await client.exchange(reg, meta, pending, q["code"])
        claims = await client.verify(tokens["id_token"], reg, meta, pending.nonce)
        acct, via = await _member(ident, m, claims, pending.invite)
    except OidcRefused as e:
        refusals.refuse(anon, "oidc_login", e.code, muni)
        log.info("oidc login refused municipality=%s reason=%s", muni or "-", e.code)
        resp = _failed()
        resp.del_cookie(STATE_COOKIE, path="/auth/oidc/")
        return resp
    except InvitationRefused as e:
        refusals.refuse(anon, "oidc_login", e.code, muni)
        log.info("oidc login refused municipality=%s reason=%s", muni or "-", e.code)
        return _failed(403, "this invitation cannot be used (used, expired or not for this municipality)")
    old = request.get(SESSION_KEY)
    sid = request.cookies.get(COOKIE)
    if old is not None or sid:  # a new session id at every login (no fixation)
        await ident.sessions.delete(old.id if old is not None else sid)
    kind = Kind.ADMIN if acct.is_admin else Kind.STAFF
    rec = await ident.sessions.create(acct.id, m.code, list(acct.roles or ["staff"]), kind, identity_of(acct, m, via))
    p = rec.principal(client_key=anon.client_key)
    ident.audit.record("login", p, action="oidc_login", resource=m.code)
    log.info("oidc login staff=%s municipality=%s via=%s session=%s…", acct.id, m.code, via, rec.id[:6])
    resp = _found(LANDING)
    set_cookie(resp, request, rec, ident.sessions.ttl_s, ident.behind_tls)
    resp.del_cookie(STATE_COOKIE, path="/auth/oidc/")
    return resp


async def _member(ident: Identity, m: Any, claims: dict, invite: str | None) -> tuple[Any, str]:
    """The staff account of this (issuer, subject), made on first sign-in when an invitation or
    an allowed verified e-mail says they belong to ``m``. The provider's name and department
    refresh the account's at every sign-in (it is the authority for its own staff)."""
    issuer, sub = m.oidc_issuer, claims["sub"]
    name, dept = _text(claims.get("name"), 100), _text(claims.get("department"), 60)
    async with ident.db.session() as s:
        acct = await tenants.staff_for_subject(s, issuer, sub)
        if acct is not None:
            if acct.municipality_code != m.code:  # only if an issuer were moved between municipalities
                raise OidcRefused("oidc_wrong_municipality", "account belongs to another municipality")
            if acct.disabled:
                raise OidcRefused("disabled", "account disabled")
            acct.display_name, acct.department = name or acct.display_name, dept or acct.department
            return acct, "oidc"
        if invite is not None:
            inv = await tenants.use_invitation(s, invite)
            if inv.municipality_code != m.code:
                raise InvitationRefused("invitation_other_municipality")
            acct = await tenants.add_oidc_staff(s, issuer, sub, m.code, "invitation", name, dept or inv.department)
            inv.used_by = acct.id
            return acct, "oidc"
        email = claims.get("email")
        domain = email.rsplit("@", 1)[1].lower() if isinstance(email, str) and "@" in email else None
        if claims.get("email_verified") is True and domain is not None and domain in (m.email_domains or []):
            return await tenants.add_oidc_staff(s, issuer, sub, m.code, "email", name, dept), "oidc"
    raise OidcRefused("oidc_not_member", "no account, no invitation, no allowed verified e-mail")


def setup_oidc_routes(app: web.Application, client: OidcClient, secrets: Any) -> None:
    app[OIDC_KEY], app[SECRETS_KEY] = client, secrets
    app.router.add_get("/auth/oidc/{municipality}/login", login)
    app.router.add_get(CALLBACK, callback)

    async def close(app: web.Application) -> None:
        await client.close()

    app.on_cleanup.append(close)


__all__ = ["CALLBACK", "OIDC_KEY", "STATE_COOKIE", "setup_oidc_routes"]
