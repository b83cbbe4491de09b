"""A connection that floods bad frames cannot flood the log or the replies: the first refusals
are logged and answered, then the connection is closed. A well-behaved resident carries on."""

from __future__ import annotations

import logging

from yakuba.server.app import HUB_KEY
from yakuba.server.realtime.gateway import LOG_FIRST, REFUSALS_BURST

from server.realtime_client import Peer, running_app, until


async def test_flood_of_unknown_events_is_bounded_and_closed(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="yakuba.realtime")
    async with running_app(tmp_path) as (url, app):
        hub = app[HUB_KEY]
        flooder, resident = await Peer(url).connect(), await Peer(url).connect()
        try:
            assert (await resident.join(name="hanako"))["ok"]
            for i in range(3000):
                await flooder.emit(f"bogus\nFORGED LOG LINE {i}", {"x": i})
                if not flooder.sio.connected:
                    break
            await until(lambda: not flooder.sio.connected, timeout=10, what="the flooder closed")
            replies = len(flooder.errors)
            assert 0 < replies <= REFUSALS_BURST + 5, replies
            lines = [r for r in caplog.records if r.name == "yakuba.realtime" and "rejected" in r.getMessage()]
            assert len(lines) <= LOG_FIRST + 40, len(lines)  # not one line per frame
            assert not any("\nFORGED" in r.getMessage() for r in caplog.records), "a newline reached the log"
            # the resident still chats and is served
            await resident.emit("chat", {"text": "こんにちは"})
            await until(lambda: any(c["text"] == "こんにちは" for c in resident.chats), what="chat echo")
            assert len(hub.clients) == 1
        finally:
            await flooder.close()
            await resident.close()
