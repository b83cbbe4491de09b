"""Server-side staff sessions: a random 256-bit id in the ``yakuba_session`` cookie, the record in
the live store (Redis when configured, memory otherwise) so every node reads the same session.

The cookie holds nothing but the id; the record says who it is. A new id at every login (no
fixation), the record deleted at logout, and an id the store does not know (forged, expired,
revoked) is simply no session: the caller treats the request as anonymous.

Record shape (msgpack in the store, key ``auth:<id>`` so it cannot collide with the avatar
resume tokens the realtime server keeps in the same store)::

    {"staff_id": 12, "municipality": "271209", "roles": ["staff"], "kind": "staff",
     "csrf": "<token>", "created": <unix s>, "expires": <unix s>,
     "ident": {"name": "堺 花子", "mname": "堺市", "dept": "危機管理課", "verified": true, "via": "oidc"}}

``ident`` (issue #20) is the server-issued identity; a record written before it existed reads
as not verified (its holder logs in again to enter the salon).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgpack
from aiohttp import web

from yakuba.server.auth.principal import Kind, Principal
from yakuba.server.store.base import Store, StoreUnavailable

log = logging.getLogger("yakuba.auth")

COOKIE = "yakuba_session"
PREFIX = "auth:"
_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32): 256 bits


@dataclass(frozen=True)
class SessionRecord:
    id: str
    staff_id: int
    municipality: str
    roles: tuple[str, ...]
    kind: str
    csrf: str
    created: float
    expires: float
    ident: dict = field(default_factory=dict)  # {"name", "mname", "dept", "verified", "via"}: see the module doc

    def principal(self, client_key: str | None = None) -> Principal:
        i = self.ident
        return Principal(kind=Kind(self.kind), staff_id=self.staff_id, municipality=self.municipality,
                         roles=frozenset(self.roles), session_id=self.id, client_key=client_key,
                         display_name=i.get("name"), municipality_name=i.get("mname"), department=i.get("dept"),
                         verified=i.get("verified") is True)

    def pack(self) -> bytes:
        return msgpack.packb({"staff_id": self.staff_id, "municipality": self.municipality, "roles": list(self.roles),
                              "kind": self.kind, "csrf": self.csrf, "created": self.created, "expires": self.expires,
                              "ident": self.ident})

    @classmethod
    def unpack(cls, sid: str, raw: bytes) -> "SessionRecord | None":
        try:
            d = msgpack.unpackb(raw)
            return cls(id=sid, staff_id=int(d["staff_id"]), municipality=str(d["municipality"]),
                       roles=tuple(str(r) for r in d["roles"]), kind=Kind(d["kind"]).value, csrf=str(d["csrf"]),
                       created=float(d["created"]), expires=float(d["expires"]), ident=_ident(d.get("ident")))
        except Exception:  # a record we cannot read is no session, never a crash
            log.warning("session record unreadable; treated as anonymous")
            return None


def _ident(d: object) -> dict:
    if not isinstance(d, dict):
        return {}
    out = {k: d[k] for k in ("name", "mname", "dept", "via") if isinstance(d.get(k), str)}
    out["verified"] = d.get("verified") is True
    return out


def well_formed(sid: str | None) -> bool:
    return isinstance(sid, str) and bool(_ID.match(sid))


class Sessions:
    """Create, read and end sessions. ``clock`` is wall time (unix s), injectable so tests can
    expire a session without waiting; the store's TTL removes the record at the same moment."""

    def __init__(self, store: Store, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.store, self.ttl_s, self.clock = store, ttl_s, clock

    async def create(self, staff_id: int, municipality: str, roles: list[str] | tuple[str, ...], kind: Kind,
                     ident: dict | None = None) -> SessionRecord:
        """``ident``: the server-issued identity (``identity_of`` in auth/identity.py builds it)."""
        now = self.clock()
        rec = SessionRecord(id=secrets.token_urlsafe(32), staff_id=staff_id, municipality=municipality,
                            roles=tuple(roles), kind=kind.value, csrf=secrets.token_urlsafe(32),
                            created=now, expires=now + self.ttl_s, ident=_ident(ident or {}))
        await self.store.put_session(PREFIX + rec.id, rec.pack(), self.ttl_s)
        return rec

    async def get(self, sid: str | None, strict: bool = False) -> SessionRecord | None:
        """The live record, or None (malformed, unknown, expired; store down unless ``strict``,
        which lets StoreUnavailable through for callers that must tell "gone" from "unknown")."""
        if not well_formed(sid):
            return None
        try:
            raw = await self.store.get_session(PREFIX + sid)
        except StoreUnavailable:
            if strict:
                raise
            log.warning("session lookup failed: store unavailable")
            return None
        if raw is None:
            return None
        rec = SessionRecord.unpack(sid, raw)
        if rec is None or rec.expires <= self.clock():
            return None
        return rec

    async def delete(self, sid: str) -> None:
        if well_formed(sid):
            await self.store.delete_session(PREFIX + sid)


def csrf_matches(rec: SessionRecord, given: str | None) -> bool:
    return isinstance(given, str) and hmac.compare_digest(rec.csrf.encode(), given.encode())


def request_is_https(request: web.Request, behind_tls: bool | None) -> bool:
    """Secure cookies when the operator says TLS is in front, or the request came over https
    (directly, or through a proxy that says so)."""
    if behind_tls:
        return True
    if request.secure:
        return True
    return request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower() == "https"


def set_cookie(response: web.StreamResponse, request: web.Request, rec: SessionRecord, ttl_s: float,
               behind_tls: bool | None) -> None:
    response.set_cookie(COOKIE, rec.id, max_age=int(ttl_s), path="/", httponly=True, samesite="Lax",
                        secure=request_is_https(request, behind_tls))


def clear_cookie(response: web.StreamResponse, request: web.Request, behind_tls: bool | None) -> None:
    response.del_cookie(COOKIE, path="/", secure=request_is_https(request, behind_tls), httponly=True, samesite="Lax")


__all__ = ["COOKIE", "SessionRecord", "Sessions", "clear_cookie", "csrf_matches", "request_is_https", "set_cookie", "well_formed"]
