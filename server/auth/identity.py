"""Who is asking: one ``Principal`` per HTTP request and per socket connection, from the server
session (cookie) or the API token, never from a field the client sends.

- ``principal_for_request(request)``: the cookie session (checked against the account: a
  disabled account, or a session older than the last password change, is no session), else a
  ``Bearer`` API token (an administrator, for scripts), else an anonymous resident keyed by the
  client address. ``principal_middleware`` puts it on ``request[PRINCIPAL_KEY]`` for every route.
- ``Identity.for_socket(environ, auth)``: the same cookie, read from the aiohttp request in the
  socket.io environ. Identity fields the client puts in ``auth`` (role, municipality, staff...)
  are ignored and written to the audit log as a refused claim.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.auth.sessions import COOKIE, SessionRecord, Sessions
from yakuba.server.auth.throttle import LoginThrottle
from yakuba.server.http.proxies import forwarded_client
from yakuba.server.protocol.errors import ErrorCode, ProtocolError

log = logging.getLogger("yakuba.auth")

# Fields a client might send to claim an identity: never trusted, always audited.
CLAIM_FIELDS = frozenset({"role", "roles", "kind", "municipality", "staff", "staff_id", "staff_token", "admin", "principal"})
# Per request: who is asking, and the live session record when it came from the cookie.
PRINCIPAL_KEY = web.RequestKey("principal", Principal)
SESSION_KEY = web.RequestKey("session", SessionRecord)
# The throttle subject for API-token guesses, per address (a shared subject would let anyone
# lock the real token out for everyone).
API_TOKEN_SUBJECT = "\x00api-token:"
API_TOKEN_PRINCIPAL = Principal(kind=Kind.ADMIN, roles=frozenset({"staff", "admin"}))


class Identity:
    """The app's identity service: sessions, login throttle, account checks, audit."""

    def __init__(self, sessions: Sessions, throttle: LoginThrottle, db: Any, audit: Any,
                 api_token: str | None = None, behind_tls: bool | None = None, public_origin: str | None = None,
                 account_loader: Callable | None = None) -> None:
        self.sessions, self.throttle, self.db, self.audit = sessions, throttle, db, audit
        self.api_token, self.behind_tls, self.public_origin = api_token, behind_tls, public_origin
        self._load = account_loader or _load_account
        self.claims_ignored = 0  # client-sent identity fields seen (and ignored); tests count them

    # --- accounts
    async def account_state(self, rec: SessionRecord) -> bool | None:
        """True: the account exists, is enabled, and its password has not changed since the
        session began; False: it may not act; None: the database could not be read."""
        try:
            acct = await self._load(self.db, rec.staff_id)
        except Exception:
            log.exception("account lookup failed staff=%s", rec.staff_id)
            return None
        if acct is None or acct.disabled:
            return False
        # A suspended municipality's staff are out at once (issue #20): every request re-reads
        # this, on every node, from the one database (the bus only hurries the sockets along).
        if getattr(acct, "municipality_active", True) is False:
            return False
        # ... and stay out: a session begun before a suspension does not come back on resume
        since = getattr(acct, "municipality_since", None)
        if since is not None and since.timestamp() > rec.created:
            return False
        changed = acct.password_changed_at.timestamp() if acct.password_changed_at else 0.0
        return changed <= rec.created

    async def session_for(self, sid: str | None) -> SessionRecord | None:
        rec = await self.sessions.get(sid)
        if rec is None:
            return None
        # fail closed for requests: no staff role while the account cannot be checked
        return rec if await self.account_state(rec) is True else None

    # --- HTTP
    def bearer(self, request: web.Request) -> bool | None:
        """True: a valid API token; False: a wrong one; None: none given."""
        h = request.headers.get("Authorization", "")
        if not h.lower().startswith("bearer "):
            return None
        given = h[7:].strip()
        return bool(self.api_token) and hmac.compare_digest(given.encode(), self.api_token.encode())

    async def for_request(self, request: web.Request) -> Principal:
        address = request_address(request)
        b = self.bearer(request)
        if b is not None:
            # Token guessing is throttled like password guessing (per address, in the store):
            # once blocked, even the right token waits, so guessing stays slow.
            if await self.throttle.blocked(API_TOKEN_SUBJECT + address, address):
                raise ProtocolError(ErrorCode.LOGIN_THROTTLED, "too many wrong API tokens; wait a moment")
            if b:
                return API_TOKEN_PRINCIPAL
            await self.throttle.failed(API_TOKEN_SUBJECT + address, address)
            self.audit.refused(resident(address), "api_token", "unauthenticated")
        sid = request.cookies.get(COOKIE)
        if sid:
            rec = await self.session_for(sid)
            if rec is not None:
                request[SESSION_KEY] = rec
                return rec.principal(client_key=address)
            self.audit.refused(resident(address), "session", "session_expired")
        return resident(address)

    # --- socket.io
    async def for_socket(self, environ: dict, auth: Any = None) -> Principal:
        request = environ.get("aiohttp.request")
        address = socket_address(environ)
        if isinstance(auth, dict):
            claimed = sorted(CLAIM_FIELDS.intersection(auth))
            if claimed:
                self.claims_ignored += 1
                log.warning("socket auth carried identity fields %s: ignored", ",".join(claimed))
                self.audit.refused(resident(address), "claim_identity", "forbidden")
        sid = request.cookies.get(COOKIE) if request is not None else None
        if sid:
            rec = await self.session_for(sid)
            if rec is not None:
                return rec.principal(client_key=address)
            self.audit.refused(resident(address), "session", "session_expired")
        # client_key None: the gateway keys an anonymous socket by its sid, so residents behind
        # one address (an office, a library) do not share one rate limit
        return resident()


# The app's trusted proxies (parsed Settings.trusted_proxies); an app without the key trusts none.
TRUSTED_PROXIES_KEY = web.AppKey("trusted_proxies", tuple)
_ADDRESS_KEY = web.RequestKey("client_address", str)


def request_address(request: web.BaseRequest) -> str:
    """The client address of an HTTP request, the one used for throttling, connection caps, the
    audit and the access log: the TCP peer's, or, when the peer is a trusted proxy, the rightmost
    X-Forwarded-For hop that is not one (server/http/proxies.py). Computed once per request."""
    cached = request.get(_ADDRESS_KEY)
    if cached is not None:
        return cached
    try:
        trusted = request.app.get(TRUSTED_PROXIES_KEY, ())  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # a BaseRequest (a refused request line) has no app
        trusted = ()
    xff = request.headers.getall("X-Forwarded-For", []) if trusted else []
    address = request[_ADDRESS_KEY] = forwarded_client(request.remote, xff, trusted)
    return address


def socket_address(environ: dict) -> str:
    """The client address of a socket.io connection: its aiohttp request's (request_address)."""
    request = environ.get("aiohttp.request") if environ else None
    if request is not None:
        return request_address(request)
    return (environ or {}).get("REMOTE_ADDR") or "-"


async def _load_account(db: Any, staff_id: int):
    """The account, with ``municipality_active`` and ``municipality_since`` (its last suspension
    or resumption; not columns of the account) read in the same query."""
    from sqlalchemy import select

    from yakuba.server.db.models import Municipality, StaffAccount

    async with db.session() as s:
        row = (await s.execute(select(StaffAccount, Municipality.state, Municipality.state_changed_at)
                               .join(Municipality, Municipality.code == StaffAccount.municipality_code)
                               .where(StaffAccount.id == staff_id))).one_or_none()
    if row is None:
        return None
    acct, state, since = row
    acct.municipality_active, acct.municipality_since = state == "active", since
    return acct


def identity_of(acct: Any, municipality: Any, via: str) -> dict:
    """The server-issued identity a session carries (SessionRecord.ident): from the account and
    its municipality rows only. ``verified``: the municipality is active and the account was
    made by the server's own paths (an administrator, an invitation, the registered provider)."""
    return {"name": acct.display_name or None, "mname": municipality.name, "dept": acct.department or None,
            "verified": municipality.state == "active" and not acct.disabled, "via": via}


IDENTITY_KEY = web.AppKey("identity", Identity)


async def principal_for_request(request: web.Request) -> Principal:
    """The request's principal (computed once, by the middleware, or here on first call)."""
    p = request.get(PRINCIPAL_KEY)
    if p is None:
        p = request[PRINCIPAL_KEY] = await request.app[IDENTITY_KEY].for_request(request)
    return p


@web.middleware
async def principal_middleware(request: web.Request, handler):
    if request.path.startswith("/api/"):  # static files and the socket need no lookup here
        try:
            await principal_for_request(request)
        except ProtocolError as e:  # a throttled token guesser
            return web.json_response(e.body(), status=e.status)
    return await handler(request)


__all__ = ["identity_of", "TRUSTED_PROXIES_KEY", "request_address", "socket_address", "API_TOKEN_PRINCIPAL", "CLAIM_FIELDS", "IDENTITY_KEY", "PRINCIPAL_KEY", "SESSION_KEY", "Identity", "principal_for_request", "principal_middleware"]
