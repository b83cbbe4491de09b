"""A raw engine.io v4 / socket.io v5 client over aiohttp's websocket: the handshake done by hand,
so a test can send any frame at all (the official client only sends well-formed ones)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import aiohttp


class RawSocket:
    def __init__(self, url: str, address: str | None = None) -> None:
        self.ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.headers = {"X-Forwarded-For": address} if address else {}
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.sid: str | None = None
        self.errors: list[dict] = []  # socket.io `error` events received
        self.acks: dict[int, Any] = {}
        self.closed = False
        self._reader: asyncio.Task | None = None

    async def open(self, namespace_connect: bool = True) -> "RawSocket":
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.ws_url, headers=self.headers, max_msg_size=0, autoping=True)
        first = await self.ws.receive(timeout=5)
        assert first.type == aiohttp.WSMsgType.TEXT and first.data.startswith("0{"), first
        if namespace_connect:
            await self.ws.send_str("40")
            while True:  # answer pings until the socket.io CONNECT (or refusal) comes
                m = await self.ws.receive(timeout=5)
                if m.type != aiohttp.WSMsgType.TEXT:
                    raise ConnectionError(f"closed during the socket.io connect: {m.type}")
                if m.data == "2":
                    await self.ws.send_str("3")
                    continue
                if m.data.startswith("40"):
                    self.sid = json.loads(m.data[2:])["sid"]
                    break
                raise ConnectionError(f"refused: {m.data[:200]}")
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for m in self.ws:
                if m.type != aiohttp.WSMsgType.TEXT:
                    continue  # binary snapshot frames: not needed here
                d = m.data
                if d == "2":
                    await self.ws.send_str("3")
                elif d.startswith("42"):
                    body = d[2:].lstrip("0123456789")
                    with contextlib.suppress(ValueError):
                        ev = json.loads(body)
                        if ev and ev[0] == "error":
                            self.errors.append(ev[1])
                elif d.startswith("43"):
                    rest = d[2:]
                    digits = len(rest) - len(rest.lstrip("0123456789"))
                    with contextlib.suppress(ValueError):
                        self.acks[int(rest[:digits])] = json.loads(rest[digits:])
                elif d.startswith("41") or d == "1":
                    break
        except Exception:
            pass
        finally:
            self.closed = True

    async def send(self, frame: str | bytes) -> bool:
        """Send one websocket frame; False once the server has closed the socket."""
        if self.ws is None or self.ws.closed or self.closed:
            return False
        try:
            if isinstance(frame, bytes):
                await self.ws.send_bytes(frame)
            else:
                await self.ws.send_str(frame)
            return True
        except (ConnectionError, RuntimeError, aiohttp.ClientError):
            return False

    async def emit(self, event: str, data: Any = None, ack: int | None = None) -> bool:
        body = json.dumps([event] if data is None else [event, data], separators=(",", ":"))
        return await self.send("42" + ("" if ack is None else str(ack)) + body)

    async def call(self, event: str, data: Any, ack: int, timeout: float = 5.0) -> Any:
        await self.emit(event, data, ack)
        deadline = time.monotonic() + timeout
        while ack not in self.acks:
            if time.monotonic() > deadline or self.closed:
                raise TimeoutError(f"no ack {ack} for {event}")
            await asyncio.sleep(0.01)
        return self.acks[ack]

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.session is not None:
            await self.session.close()
        self.closed = True


__all__ = ["RawSocket"]
