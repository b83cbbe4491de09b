"""The socket.io server with the guards the library does not give.

1. Reserved names. python-socketio dispatches an incoming event by name, so a client that
   *sends* an event called ``disconnect`` runs the server's disconnect handler while its socket
   stays open (it would be forgotten by the hub yet still in its zone's chat room: an invisible
   listener), and ``connect`` would reset its per-connection state. Those names are refused
   before dispatch (``_handle_event``); the client gets the usual ``error`` event.

2. Binary attachments. A binary event's header announces how many attachment frames follow
   (``451000000000-["chat",{"_placeholder":true,"num":0}]``: a billion) and the library takes
   every later frame of that socket, text or binary, as one more attachment until the count is
   reached: 46 MB on one socket in a test. No client event of ours carries binary
   (server/protocol/events.py), so a header announcing more than ``max_attachments`` is dropped
   before anything is buffered, and the attachments of one packet are bounded in total bytes.

3. Malformed packets. A frame the library cannot decode (bad JSON, a packet type it does not
   know, nesting deeper than the JSON decoder's recursion) raised out of ``_handle_eio_message``
   and engine.io logged a full traceback per frame, without end. Now it is a refusal of the
   connection like any other bad event (counted, bounded log, closed when it floods); before the
   socket.io connect there is no connection to refuse, so the engine.io socket is closed.

4. Undecodable engine.io frames (see ``_decodes``) close the socket cleanly, counted.

5. Engine.io sockets that never send the socket.io connect: the gateway's connection caps and
   join timeout only see socket.io connections, so these were neither counted nor ever closed.
   They are capped per node and per address (the same caps) and closed after the join timeout.

These override private methods (``_handle_event``, ``_handle_eio_message``,
``_engineio_server_class``, the engine.io driver's ``WebSocket.wait``) and read
``_binary_packet`` / ``Packet.attachment_count``; tests/realtime/test_reserved_events.py and
tests/adversarial/test_packet_guard.py fail if the library changes under them.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import engineio
import socketio
from engineio import packet as eio_packet

from yakuba.server.auth.identity import socket_address

RESERVED = frozenset({"connect", "disconnect", "connect_error", "message", "*"})


def _decodes(frame: Any) -> bool:
    """Whether engine.io can decode this websocket frame. Its decoder raises on a text frame
    that does not start with a digit and on JSON nested beyond the recursion limit (``4[[[[``),
    outside any try: the socket's handler task died with a traceback and the connection lingered
    until the ping timeout. Text socket.io frames (``42[...``) are not JSON-parsed here: cheap."""
    if not isinstance(frame, str):
        return True
    try:
        eio_packet.Packet(encoded_packet=frame)
    except Exception:
        return False
    return True


class GuardedEngine(engineio.AsyncServer):
    """engine.io with the websocket driver's ``wait`` checking each frame: an undecodable one
    closes the socket the normal way (as if the client had closed it: disconnect handlers run);
    its socket knows its websocket (the snapshot fast path, transport.py)."""

    on_bad_frame = None  # async () -> None: counted by the gateway (through GuardedServer)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base, engine = self._async["websocket"], self

        class GuardedWebSocket(base):  # type: ignore[misc, valid-type]
            # The snapshot fast path (transport.Outlet) writes to this websocket directly: the
            # engine.io socket is told its websocket, and ``sending`` counts the writer task's
            # sends in progress (non-zero only while one is parked on a drain, holding popped
            # packets: a direct write then could split a binary event from its attachment).
            sending = 0

            def __init__(self, handler: Any, server: Any) -> None:
                super().__init__(handler, server)
                sock = getattr(handler, "__self__", None)
                if sock is not None:
                    sock.yakuba_ws = self

            async def send(self, message: Any) -> None:
                self.sending += 1
                try:
                    await super().send(message)
                finally:
                    self.sending -= 1

            async def wait(self) -> Any:
                frame = await super().wait()
                if frame is not None and not _decodes(frame):
                    if engine.on_bad_frame is not None:
                        await engine.on_bad_frame()
                    return None  # "closed by the client": the socket's own close path
                return frame

        # a copy: the driver table is the module's, shared by every server in the process
        self._async = {**self._async, "websocket": GuardedWebSocket}


class GuardedServer(socketio.AsyncServer):
    on_reserved = None  # async (sid, event) -> None: the gateway's refusal (error event, counter)
    # async (sid | None, code, reason) -> None: a refused packet (the gateway counts it and, with
    # a sid, refuses it like a bad event). code is an ErrorCode value.
    on_bad_packet = None
    max_attachments = 2  # per binary packet; set from HubConfig by the gateway
    max_attachment_bytes = 16 * 1024  # all attachments of one packet together
    # engine.io sockets not (yet) connected to socket.io: caps and timeout (set by the gateway)
    max_unconnected = 5000
    max_unconnected_per_address = 200
    connect_timeout_s = 30.0

    def _engineio_server_class(self) -> type:
        return GuardedEngine

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.eio.on_bad_frame = self._bad_frame
        self._unconnected: dict[str, tuple[float, str]] = {}  # eio sid -> (deadline, address), oldest first
        self._unconnected_per: Counter[str] = Counter()

    async def _handle_eio_connect(self, eio_sid: str, environ: dict) -> Any:
        await self.close_unconnected()
        address = socket_address(environ)
        if len(self._unconnected) >= self.max_unconnected or self._unconnected_per[address] >= self.max_unconnected_per_address:
            if self.on_bad_packet is not None:
                await self.on_bad_packet(None, "too_many_connections", "engine.io connection cap")
            return False  # engine.io refuses the connection
        self._unconnected[eio_sid] = (time.monotonic() + self.connect_timeout_s, address)
        self._unconnected_per[address] += 1
        return await super()._handle_eio_connect(eio_sid, environ)

    def _connected(self, eio_sid: str) -> None:
        entry = self._unconnected.pop(eio_sid, None)
        if entry is not None:
            self._unconnected_per[entry[1]] -= 1
            if self._unconnected_per[entry[1]] <= 0:
                del self._unconnected_per[entry[1]]

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        self._connected(eio_sid)  # the gateway's caps and join timeout take over from here
        await super()._handle_connect(eio_sid, namespace, data)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self._connected(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def close_unconnected(self) -> int:
        """Close engine.io sockets that have not sent the socket.io connect in time (called on
        each new connection and by the hub's tick). Oldest first: stops at the first in time."""
        now, late = time.monotonic(), []
        for eio_sid, (deadline, _) in self._unconnected.items():
            if deadline > now:
                break
            late.append(eio_sid)
        for eio_sid in late:
            self._connected(eio_sid)
            if self.on_bad_packet is not None:
                await self.on_bad_packet(None, "join_timeout", "no socket.io connect in time")
            try:
                await self.eio.disconnect(eio_sid)
            except Exception:  # already gone
                pass
        return len(late)

    async def _bad_frame(self) -> None:
        if self.on_bad_packet is not None:
            await self.on_bad_packet(None, "invalid_payload", "undecodable engine.io frame")

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        name = data[0] if isinstance(data, list) and data else None
        if not isinstance(name, str) or name in RESERVED:
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace or "/")
            if self.on_reserved is not None and sid is not None:
                await self.on_reserved(sid, name if isinstance(name, str) else "")
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        pending = self._binary_packet.get(eio_sid)
        if pending is not None:
            # `data` is the next attachment of a packet whose count was within the cap.
            size = sum(len(a) for a in pending.attachments) + len(data)
            if size > self.max_attachment_bytes:
                del self._binary_packet[eio_sid]
                await self._refuse(eio_sid, pending.namespace, "too_large", "binary attachments too large")
                return
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception:  # an undecodable frame: the library has no answer but a traceback
            self._binary_packet.pop(eio_sid, None)
            await self._refuse(eio_sid, "/", "invalid_payload", "malformed packet")
            return
        if pending is None:
            pkt = self._binary_packet.get(eio_sid)
            # The header was just decoded and registered (no await in between in the library:
            # nothing else ran); no attachment has been buffered yet.
            if pkt is not None and pkt.attachment_count > self.max_attachments:
                del self._binary_packet[eio_sid]
                await self._refuse(eio_sid, pkt.namespace, "too_large", f"at most {self.max_attachments} binary attachments")

    async def _refuse(self, eio_sid: str, namespace: str | None, code: str, reason: str) -> None:
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace or "/")
        if sid is None or not self.manager.is_connected(sid, namespace or "/"):
            sid = None
        if self.on_bad_packet is not None:
            await self.on_bad_packet(sid, code, reason)
        if sid is None:  # no socket.io connection to refuse: close the engine.io socket
            try:
                await self.eio.disconnect(eio_sid)
            except Exception:  # already gone
                pass


__all__ = ["RESERVED", "GuardedServer"]
