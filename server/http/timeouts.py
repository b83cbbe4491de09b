"""How slowly a client may send a request. A client that trickles holds a connection and, once
its headers are in, a handler: a few hundred of them (slowloris: headers; "slow POST": a body)
would starve a node that has no proxy in front of it, or one whose proxy streams bodies through.

- Headers: aiohttp has no header timeout of its own. Its keep-alive timer, though, is armed when
  a connection opens and after each response, and closes the connection unless a complete
  request head has arrived by then (aiohttp >= 3.14.5; earlier versions armed it only after a
  first response). ``serve_options`` sets it to ``Settings.header_timeout_s``, so one timer
  bounds both the time to send headers and the idle time between keep-alive requests, with no
  private API. tests/http/test_timeouts.py trickles headers over a raw socket to hold it to that.
- Body: ``body_deadline_middleware`` watches each request body from the end of its headers.
  Every ``body_timeout_s``, a body not yet complete must have brought ``body_min_rate`` bytes/s
  over that period, or the read fails (408, ``BodyTooSlow``) and the connection is closed. A
  single deadline for the whole body would cut an honest 200 MB upload on a modest link; an
  inactivity timeout alone (nginx's client_body_timeout) lets one byte every few seconds hold
  the connection for ever.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger("yakuba.http")


@dataclass(frozen=True)
class BodyLimits:
    period_s: float  # Settings.body_timeout_s
    min_rate: int  # Settings.body_min_rate, bytes per second


BODY_LIMITS_KEY = web.AppKey("body_limits", BodyLimits)


class BodyTooSlow(web.HTTPRequestTimeout):
    """Raised into the handler's body read; routes re-raise HTTP exceptions, so nothing is
    logged as an internal error and upload temp files are removed by the handler's cleanup."""


class _Watch:
    def __init__(self, request: web.Request, limits: BodyLimits) -> None:
        self.request, self.limits = request, limits
        self.body = request.content
        self.seen = self.body.total_bytes
        self.loop = asyncio.get_running_loop()
        self.handle = self.loop.call_later(limits.period_s, self.check)

    def check(self) -> None:
        if self.body.is_eof():
            return
        got = self.body.total_bytes - self.seen
        if got >= self.limits.min_rate * self.limits.period_s:
            self.seen = self.body.total_bytes
            self.handle = self.loop.call_later(self.limits.period_s, self.check)
            return
        r = self.request
        log.info("request body too slow %s %s: %d bytes in %.0fs; connection closed",
                 r.method, r.rel_url.raw_path[:200], got, self.limits.period_s)
        self.body.set_exception(BodyTooSlow(text="request body too slow"))
        if r.transport is not None:
            r.transport.close()

    def cancel(self) -> None:
        self.handle.cancel()


@web.middleware
async def body_deadline_middleware(request: web.Request, handler):
    limits = request.app.get(BODY_LIMITS_KEY)
    if limits is None or not request.body_exists or request.content.is_eof():
        return await handler(request)
    watch = _Watch(request, limits)
    try:
        return await handler(request)
    finally:
        # The handler is done with the body; whatever it left unread, aiohttp drains for at most
        # its lingering time and then closes.
        watch.cancel()


__all__ = ["BODY_LIMITS_KEY", "BodyLimits", "BodyTooSlow", "body_deadline_middleware"]
