"""CORS for the public, read-only dataset routes (datasets, tilesets, tiles), so a viewer on
another site (a PLATEAU VIEW-style app, a city's own CesiumJS page) can load them.

Only the origins in ``YAKUBA_CORS_ORIGINS`` (``*`` for any) get the headers; by default none
beyond the app's own, which needs none. No credentials are ever allowed: these routes are
public, and a cookie must not ride along on another site's request.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web

log = logging.getLogger("yakuba.http.cors")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_AGE = "600"  # seconds a browser may keep a preflight answer


class Cors:
    def __init__(self, origins: tuple[str, ...] | None) -> None:
        self.any = bool(origins) and "*" in origins
        self.origins = frozenset(origins or ())

    def allowed(self, origin: str | None) -> bool:
        return bool(origin) and (self.any or origin in self.origins)

    def _headers(self, origin: str) -> dict[str, str]:
        # The origin itself, not "*": a cache in between keys on Vary: Origin either way.
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", "Access-Control-Expose-Headers": "ETag, Content-Length"}

    def wrap(self, handler: Handler) -> Handler:
        """The handler, with CORS headers on its answers (errors included) for allowed origins."""

        async def with_cors(request: web.Request) -> web.StreamResponse:
            origin = request.headers.get("Origin")
            try:
                resp = await handler(request)
            except web.HTTPException as e:
                if self.allowed(origin):
                    e.headers.update(self._headers(origin))  # type: ignore[arg-type]
                raise
            if self.allowed(origin):
                resp.headers.update(self._headers(origin))  # type: ignore[arg-type]
                vary = resp.headers.getall("Vary", [])
                if len(vary) > 1:  # Accept-Encoding from the handler, Origin from here: one header
                    resp.headers.popall("Vary")
                    resp.headers["Vary"] = ", ".join(dict.fromkeys(v.strip() for h in vary for v in h.split(",")))
            return resp

        return with_cors

    async def preflight(self, request: web.Request) -> web.Response:
        origin = request.headers.get("Origin")
        if not self.allowed(origin):
            log.info("cors preflight refused path=%s", request.path)
            return web.Response(status=403, text="origin not allowed")
        return web.Response(status=204, headers={
            **self._headers(origin),  # type: ignore[arg-type]
            "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": "If-None-Match, Range, Accept, Accept-Encoding",
            "Access-Control-Max-Age": MAX_AGE,
        })
