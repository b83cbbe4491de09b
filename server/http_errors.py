"""JSON errors for every HTTP route: ``{"error": {"code", "message"}}`` with a status and one log
line, never a traceback to the client. Shared by the GIS and simulation APIs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from yakuba.server.protocol.errors import ErrorCode, ProtocolError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# An extra exception type the caller maps to (status, code); the message is str(exception).
Mapping = dict[type[Exception], tuple[int, str] | Callable[[Exception], tuple[int, str]]]


class ApiError(ProtocolError):
    """The one HTTP error (a ProtocolError) spelled with its status first, as routes raise it.
    The code must be an ErrorCode value: an unknown one fails loudly where it is raised."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(ErrorCode(code), message, status)


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def json_errors(log: logging.Logger, name: str, mapping: Mapping | None = None) -> Callable[[Handler], Handler]:
    """Decorator: ProtocolError (ApiError) and the mapped exception types become JSON errors;
    anything else is a logged 500."""
    mapping = mapping or {}

    def wrap(fn: Handler) -> Handler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except ProtocolError as e:  # ApiError included: a refusal with its status
                log.info("%s %s %s -> %d %s", name, request.method, request.path, e.status, e.code.value)
                return error_response(e.status, e.code.value, e.message)
            except web.HTTPException:
                raise
            except Exception as e:
                for etype, how in mapping.items():
                    if isinstance(e, etype):
                        status, code = how(e) if callable(how) else how
                        log.info("%s %s %s -> %d %s", name, request.method, request.path, status, code)
                        return error_response(status, code, str(e))
                log.exception("%s internal error %s %s", name, request.method, request.path)
                return error_response(500, "internal", "internal server error")

        return wrapper

    return wrap
