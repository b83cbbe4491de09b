"""The socket.io server with the one guard the library does not give: a client may not send
events under the reserved names.

python-socketio dispatches an incoming event by name, so a client that *sends* an event called
``disconnect`` runs the server's disconnect handler while its socket stays open (it would be
forgotten by the hub yet still in its zone's chat room: an invisible listener), and ``connect``
would reset its per-connection state. Those names are refused before dispatch; the client gets
the usual ``error`` event. This overrides a private method (``_handle_event``);
tests/realtime/test_reserved_events.py fails if the library changes under it.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

log = logging.getLogger("yakuba.realtime")

RESERVED = frozenset({"connect", "disconnect", "connect_error", "message", "*"})


class GuardedServer(socketio.AsyncServer):
    on_reserved = None  # async (sid, event) -> None: the gateway's refusal (error event, counter)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        name = data[0] if isinstance(data, list) and data else None
        if not isinstance(name, str) or name in RESERVED:
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace or "/")
            if self.on_reserved is not None and sid is not None:
                await self.on_reserved(sid, name if isinstance(name, str) else "")
            return
        await super()._handle_event(eio_sid, namespace, id, data)


__all__ = ["RESERVED", "GuardedServer"]
