"""Every write to ``/api/`` must say what it sends, and send what its route takes.

A browser lets any page POST ``text/plain``, ``application/x-www-form-urlencoded`` and
``multipart/form-data`` to another origin without asking first (no CORS preflight). A JSON route
that read such a body anyway would be reachable from every web page on the internet, cookie or
not. Requiring ``application/json`` forces a cross-origin caller through the preflight, which
the server does not grant; the CSRF middleware is the other lock for cookie-carrying writes.

- JSON routes (all of them unless listed in ``BODY_TYPES``) take ``application/json``.
- Routes with another body declare their types in ``BODY_TYPES`` (the dataset upload).
- A write with an empty body (logout, cancelling a job) passes whatever type it names: there is
  nothing to misread (HTTP clients label even an empty POST, e.g. aiohttp's octet-stream).
Refusals are 415 ``unsupported_media_type`` with one log line (method, route, the type given).
"""

from __future__ import annotations

import logging

from aiohttp import hdrs, web

from yakuba.server.protocol.errors import ErrorCode, ProtocolError

log = logging.getLogger("yakuba.http")

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON = ("application/json",)
# (method, route as registered) -> the media types its body may have. A route whose body is not
# JSON is added here next to its registration's path.
BODY_TYPES: dict[tuple[str, str], tuple[str, ...]] = {
    # server/gis_api.py upload: a PLATEAU zip or one CityGML file, read as raw bytes
    ("POST", "/api/datasets"): ("application/zip", "application/x-zip-compressed", "application/octet-stream",
                                "application/gml+xml", "application/xml", "text/xml"),
}


def accepted_types(request: web.Request) -> tuple[str, ...]:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else request.path
    return BODY_TYPES.get((request.method, canonical), JSON)


@web.middleware
async def content_type_middleware(request: web.Request, handler):
    if request.method not in WRITES or not request.path.startswith("/api/"):
        return await handler(request)
    if request.match_info.http_exception is not None:  # no such route: its 404/405 says more
        return await handler(request)
    if not request.body_exists or request.content_length == 0:  # None: chunked, has a body
        return await handler(request)
    given = hdrs.CONTENT_TYPE in request.headers
    types = accepted_types(request)
    mime = request.content_type if given else ""  # lower-cased, parameters (charset) dropped
    if mime in types:
        return await handler(request)
    log.info("content-type refused %s %s: %r", request.method, request.match_info.route.resource.canonical
             if request.match_info.route.resource is not None else "-", mime[:60] or "none")
    message = None if types == JSON else "this upload must be one of: " + ", ".join(types)
    e = ProtocolError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, message)
    return web.json_response(e.body(), status=e.status)


__all__ = ["BODY_TYPES", "JSON", "accepted_types", "content_type_middleware"]
