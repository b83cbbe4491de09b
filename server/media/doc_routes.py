"""HTTP routes of shared documents.

POST /api/media/docs?room=<zone>      staff in that room upload a PDF or image (raw body) -> 201 {id, type, bytes, pages}
GET  /api/media/docs/<id>?t=<token>   a member fetches it with the signed token from `media.doc_url`
POST /api/media/docs/<id>/keep        staff's explicit save into the data folder (otherwise nothing is kept)

The uploader is the HTTP session's principal; which avatar acts for it is found among that
principal's live sockets (the one inside the room), so the policy's membership test is the same
as for the socket events. The type is read from the content (documents.sniff), never the name
or the declared Content-Type; the file is served back with that type, inline, never cached,
sandboxed and with nosniff, so a crafted file cannot run as a page of this site.
"""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web

from yakuba.server.auth.policy import Action
from yakuba.server.http.authorize import principal_of
from yakuba.server.http.body import read_body
from yakuba.server.http.content_type import BODY_TYPES
from yakuba.server.http_errors import ApiError, json_errors

from .backend import MediaError
from .documents import DOC_TYPES, DocumentError, check
from .service import MediaService

log = logging.getLogger("yakuba.media.docs")
MEDIA_KEY = web.AppKey("media", MediaService)
MEDIA_HUB_KEY = web.AppKey("media_hub", object)  # the realtime hub: which socket of a principal is in the room
_ROOM = re.compile(r"^[a-z0-9-]{1,40}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{6,24}$")
_STATUS = {"media_forbidden": 403, "not_found": 404, "too_large": 413, "unsupported_document": 415, "empty": 400}

BODY_TYPES[("POST", "/api/media/docs")] = tuple(DOC_TYPES.values()) + ("application/octet-stream",)


def _avatar_in(request: web.Request, key: str, room: str) -> int | None:
    """The avatar of this principal's socket that is in ``room`` (else any of its avatars)."""
    hub = request.app[MEDIA_HUB_KEY]
    mine = [c.avatar_id for c in hub.clients.values() if c.principal.key == key and c.avatar_id is not None and not c.ended]
    inside = [a for a in mine if (av := hub.world.avatars.get(a)) is not None and av.zone == room]
    return (inside or mine or [None])[0]


def _fail(e: Exception) -> ApiError:
    code = getattr(e, "code", "media_failed")
    return ApiError(_STATUS.get(code, 400), code, str(e))


@json_errors(log, "media")
async def upload(request: web.Request) -> web.Response:
    room = request.query.get("room", "")
    if not _ROOM.match(room):
        raise ApiError(400, "invalid_request", "room must be a zone id")
    p = await principal_of(request)
    svc = request.app[MEDIA_KEY]
    avatar = _avatar_in(request, p.key, room)
    try:
        if avatar is None:
            raise MediaError("media_forbidden", "open the city hall and enter the room first")
        svc.check(p, Action.SHARE_DOC, room, avatar)
        data = await read_body(request, svc.shelf.max_bytes)
        checked = await asyncio.to_thread(check, data, svc.shelf.max_bytes)  # not on the realtime loop
        doc = svc.shelf.add(room, data, p.key, checked)
    except (MediaError, DocumentError) as e:
        raise _fail(e) from None
    log.info("document uploaded room=%s doc=%s type=%s bytes=%d", room, doc.id, doc.type, len(doc.data))
    return web.json_response(doc.public(), status=201)


@json_errors(log, "media")
async def fetch(request: web.Request) -> web.Response:
    doc_id = request.match_info["doc"]
    svc = request.app[MEDIA_KEY]
    doc = svc.shelf.get(doc_id) if _ID.match(doc_id) else None
    avatar = svc.shelf.verify(doc_id, request.query.get("t", "")) if doc is not None else None
    # Expired, forged, or no longer a member (left, locked out): the same answer, no hint.
    if doc is None or avatar is None or not svc.resource(doc.room, avatar).member:
        raise ApiError(404, "not_found", "no such document, or the link has expired")
    return web.Response(body=doc.data, headers={
        "Content-Type": DOC_TYPES[doc.type], "Content-Disposition": "inline", "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"})


@json_errors(log, "media")
async def keep(request: web.Request) -> web.Response:
    doc_id = request.match_info["doc"]
    svc = request.app[MEDIA_KEY]
    doc = svc.shelf.get(doc_id) if _ID.match(doc_id) else None
    if doc is None:
        raise ApiError(404, "not_found", "no such document")
    p = await principal_of(request)
    avatar = _avatar_in(request, p.key, doc.room)
    try:
        if avatar is None:
            raise MediaError("media_forbidden", "enter the room first")
        svc.check(p, Action.SHARE_DOC, doc.room, avatar)
        path = svc.shelf.keep(doc)
    except (MediaError, DocumentError) as e:
        raise _fail(e) from None
    log.info("document kept room=%s doc=%s by=%s", doc.room, doc.id, p.key)
    return web.json_response({"ok": True, "name": path.name})


def setup_doc_routes(app: web.Application, service: MediaService, hub) -> None:
    app[MEDIA_KEY] = service
    app[MEDIA_HUB_KEY] = hub
    app.router.add_post("/api/media/docs", upload)
    app.router.add_get("/api/media/docs/{doc}", fetch)
    app.router.add_post("/api/media/docs/{doc}/keep", keep)


__all__ = ["MEDIA_KEY", "setup_doc_routes"]
