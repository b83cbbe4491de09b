"""Sockets that never join are closed after join_timeout_s (explicit clock), and connections are
capped per node and per address (real sockets)."""

from __future__ import annotations

from yakuba.server.app import HUB_KEY
from yakuba.server.auth.principal import resident
from yakuba.server.realtime.clock import ManualClock
from yakuba.server.realtime.gateway import Client

from server.realtime_client import Peer, running_app, until

from .helpers import attach, make_hub


async def test_a_socket_that_never_joins_is_closed_after_the_timeout():
    clock = ManualClock(100.0)
    hub = make_hub(clock=clock, join_timeout_s=30.0)
    closed: list[str] = []

    async def disconnect(sid, *a, **k):
        closed.append(sid)

    hub.sio.disconnect = disconnect
    joined = await attach(hub, 1)  # joined long ago: never closed for idling
    joined.connected_at = 0.0
    idle = Client(sid="idle", eio_sid="e-idle", principal=resident("idle"), connected_at=clock.now())
    hub.clients["idle"] = idle
    await hub.run_tick(0.1, clock.advance(29.9))
    assert closed == []
    await hub.run_tick(0.1, clock.advance(0.2))
    assert closed == ["idle"] and idle.ended
    await hub.run_tick(0.1, clock.advance(10))
    assert closed == ["idle"], "closed once"


async def test_connections_are_capped_per_address_and_per_node(tmp_path):
    async with running_app(tmp_path, max_connections_per_address=3) as (url, app):
        hub = app[HUB_KEY]
        peers = [await Peer(url).connect() for _ in range(3)]
        refused = 0
        try:
            extra = Peer(url)
            try:
                await extra.connect()
            except Exception:
                refused += 1
            assert refused == 1 and len(hub.clients) == 3
            await peers[0].close()
            await until(lambda: len(hub.clients) == 2, what="a slot freed")
            again = await Peer(url).connect()  # a freed slot is usable again
            peers.append(again)
            assert len(hub.clients) == 3
        finally:
            for p in peers:
                await p.close()
    async with running_app(tmp_path / "b", max_connections=2) as (url, app):
        a, b = await Peer(url).connect(), await Peer(url).connect()
        try:
            try:
                await Peer(url).connect()
            except Exception:
                refused += 1
            assert refused == 2
        finally:
            await a.close()
            await b.close()
