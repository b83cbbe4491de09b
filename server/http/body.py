"""Reading a request body whole, within a limit: the one way JSON routes read their bodies.

``request.content.read(n)`` returns whatever is buffered (up to n bytes), so a body that
arrives in several packets was cut short and refused as invalid JSON; this reads to the end,
refusing as soon as the limit is passed (never buffering more than ``max_bytes`` + one chunk).
The slow-body deadline is server/http/timeouts.py's business.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from yakuba.server.protocol.errors import ErrorCode, ProtocolError
from yakuba.server.protocol.http import MAX_BODY_BYTES, json_body


async def read_body(request: web.Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    too_large = ProtocolError(ErrorCode.TOO_LARGE, f"request body over {max_bytes} bytes")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.content.iter_any():
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The body as a JSON object: too_large, invalid_json; an empty body is ``{}``."""
    return json_body(await read_body(request, max_bytes), max_bytes)


__all__ = ["read_body", "read_json"]
