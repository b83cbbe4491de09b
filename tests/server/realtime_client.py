"""A test client over real sockets: python-socketio's AsyncClient plus a view of the world built
from snapshots exactly as the browser builds it (full replaces, deltas patch)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from yakuba.server.app import create_app
from yakuba.server.settings import Settings
from yakuba.server.protocol import decode_snapshot

from yakuba_testing import free_port


class Peer:
    def __init__(self, url: str, auth: dict | None = None) -> None:
        self.url = url
        self.auth = auth
        self.sio = socketio.AsyncClient(reconnection=False)
        self.view: dict[int, dict[str, Any]] = {}
        self.chats: list[dict] = []
        self.errors: list[dict] = []
        self.zones: list[str] = []
        self.frames: list[bytes] = []
        self.notices: list[dict] = []
        self.me: dict | None = None
        s = self.sio
        s.on("snap", self._snap)
        s.on("chat", lambda d: self.chats.append(d))
        s.on("error", lambda d: self.errors.append(d))
        s.on("zone", lambda d: self.zones.append(d["zone"]))
        s.on("notice", lambda d: self.notices.append(d))

    def _snap(self, frame: bytes) -> None:
        self.frames.append(frame)
        m = decode_snapshot(frame)
        if m["f"]:
            self.view = {}
        for aid, name, style, color, role, x, y, h, zone, away in m["add"]:
            self.view[aid] = {"name": name, "style": style, "color": color, "role": role, "x": x / 100, "y": y / 100, "zone": zone, "away": away}
        for aid, x, y, h in m["upd"]:
            self.view[aid].update(x=x / 100, y=y / 100)
        for aid in m["del"]:
            self.view.pop(aid, None)

    async def connect(self) -> "Peer":
        await self.sio.connect(self.url, transports=["websocket"], auth=self.auth, wait_timeout=10)
        return self

    async def join(self, **payload: Any) -> dict:
        ack = await self.sio.call("join", payload, timeout=10)
        if ack.get("ok"):
            self.me = ack
        return ack

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data)

    @property
    def id(self) -> int:
        assert self.me is not None
        return self.me["id"]

    def pos(self, aid: int | None = None) -> tuple[float, float]:
        a = self.view[aid if aid is not None else self.id]
        return a["x"], a["y"]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


async def until(pred: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll a condition on received state (the server pushes at 10 Hz; no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def running_app(tmp: Path, **overrides: Any) -> AsyncIterator[tuple[str, web.Application]]:
    """The real aiohttp + socket.io app on a real loopback port inside the test's loop."""
    cfg = Settings(data_dir=tmp, port=free_port(), **overrides)
    app = create_app(cfg)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", cfg.port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{cfg.port}", app
    finally:
        await runner.cleanup()
