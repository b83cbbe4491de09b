"""CSRF protection for cookie-authenticated writes, and the security headers every answer gets.

A write (POST/PUT/PATCH/DELETE) to ``/api/*`` that carries the session cookie must
1. come from this site: ``Origin`` (or, when a browser sends none, ``Referer``) equals the
   request's own origin or ``Settings.public_origin``; and
2. carry ``X-CSRF-Token`` equal to the session's token (the page reads it from /api/auth/me).
The login itself has no session yet, so it needs only the origin check (which stops a
cross-site page from logging a visitor into an attacker's account). A request with a Bearer API
token carries no ambient credential and skips both. Writes without any cookie are left to the
routes: they run as an anonymous resident, whose powers the policy already bounds, and, like
every write, must send their route's media type (content_type.py: a cross-site form cannot).

SameSite=Lax on the cookie already stops most cross-site POSTs in current browsers; this is the
second lock, for older browsers and same-site subdomains.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web

from yakuba.server.auth.identity import IDENTITY_KEY, PRINCIPAL_KEY, SESSION_KEY, principal_for_request, request_address
from yakuba.server.auth.principal import resident
from yakuba.server.auth.sessions import COOKIE, csrf_matches, request_is_https
from yakuba.server.protocol.errors import ErrorCode, ProtocolError

log = logging.getLogger("yakuba.http")

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATH = "/api/auth/login"


def _origin_of(url: str) -> str | None:
    try:
        u = urlsplit(url)
    except ValueError:
        return None
    if not u.scheme or not u.netloc:
        return None
    return f"{u.scheme.lower()}://{u.netloc.lower()}"


def own_origins(request: web.Request, public_origin: str | None, behind_tls: bool | None) -> set[str]:
    host = (request.headers.get("X-Forwarded-Host") or request.host or "").split(",")[0].strip().lower()
    scheme = "https" if request_is_https(request, behind_tls) else "http"
    mine = {f"{scheme}://{host}"}
    if public_origin:
        o = _origin_of(public_origin)
        if o:
            mine.add(o)
    return mine


def same_origin(request: web.Request, public_origin: str | None, behind_tls: bool | None) -> bool:
    given = request.headers.get("Origin")
    if given is None or given == "null":
        ref = request.headers.get("Referer")
        given = _origin_of(ref) if ref else None
    else:
        given = _origin_of(given)
    return given is not None and given in own_origins(request, public_origin, behind_tls)


def _refuse(request: web.Request, why: str) -> web.Response:
    ident = request.app[IDENTITY_KEY]
    p = request.get(PRINCIPAL_KEY) or resident(request_address(request))
    ident.audit.refused(p, "csrf", ErrorCode.CSRF_FAILED.value, resource=request.path)
    log.info("csrf refused %s %s: %s", request.method, request.path, why)
    e = ProtocolError(ErrorCode.CSRF_FAILED)
    return web.json_response(e.body(), status=e.status)


@web.middleware
async def csrf_middleware(request: web.Request, handler):
    if request.method not in WRITES or not request.path.startswith("/api/"):
        return await handler(request)
    ident = request.app[IDENTITY_KEY]
    if ident.bearer(request):
        return await handler(request)
    if request.path == LOGIN_PATH:
        if not same_origin(request, ident.public_origin, ident.behind_tls):
            return _refuse(request, "login from another origin")
        return await handler(request)
    if COOKIE not in request.cookies:
        return await handler(request)
    if not same_origin(request, ident.public_origin, ident.behind_tls):
        return _refuse(request, "origin")
    await principal_for_request(request)
    rec = request.get(SESSION_KEY)
    # A cookie that names no live session (expired, revoked) is treated as no cookie: the
    # request runs as an anonymous resident, so it needs no token.
    if rec is not None and not csrf_matches(rec, request.headers.get("X-CSRF-Token")):
        return _refuse(request, "token")
    return await handler(request)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}


@web.middleware
async def security_headers_middleware(request: web.Request, handler):
    resp = await handler(request)
    if resp.prepared:  # the socket.io websocket: its headers are already sent
        return resp
    for k, v in SECURITY_HEADERS.items():
        resp.headers.setdefault(k, v)
    if request.path.startswith("/api/auth/"):
        resp.headers["Cache-Control"] = "no-store"
    return resp


__all__ = ["SECURITY_HEADERS", "csrf_middleware", "own_origins", "same_origin", "security_headers_middleware"]
