"""What ``yakuba serve`` passes to aiohttp's runner: the header timeout and the access log.

aiohttp's default access log line is ``%a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"``: ``%r``
is the request line with its query string (socket.io's ``sid``, any ``?token=`` a script puts
in a URL) and the Referer carries the previous page's query. ``AccessLog`` writes the client
address (behind trusted proxies, the client's: auth.identity.request_address), the method, the
path without the query, the status, the bytes and the time. No header is ever written, so
Authorization and Cookie cannot leak into it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from yakuba.server.auth.identity import request_address


class AccessLog(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        try:
            path = request.rel_url.raw_path  # percent-encoded as sent: no query, no decoded newlines
        except Exception:
            path = "-"
        self.logger.info('%s "%s %s" %d %d %.1fms', request_address(request), request.method[:16], path[:200],
                         response.status, response.body_length, time * 1000)


def serve_options(config: Any) -> dict[str, Any]:
    """Keyword arguments for ``web.run_app`` / ``web.AppRunner`` (server/http/timeouts.py says why
    the keep-alive timeout is the header timeout)."""
    return {"keepalive_timeout": config.header_timeout_s, "access_log_class": AccessLog}


__all__ = ["AccessLog", "serve_options"]
