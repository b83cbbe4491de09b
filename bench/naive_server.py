"""The naive baseline for bench/presence.py: a plain python-socketio server that relays every
position it receives to the whole room at once (no tick batching, no area of interest)."""

from __future__ import annotations

import argparse

import socketio
from aiohttp import web


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    sio = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    sio.attach(app)

    @sio.on("connect")
    async def connect(sid, environ, auth=None):
        await sio.enter_room(sid, "all")

    @sio.on("pos")
    async def pos(sid, data):
        await sio.emit("moved", data, room="all")

    async def health(request):
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", health)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
