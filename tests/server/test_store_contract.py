"""One contract suite run against both store backends (memory and a real Redis)."""

from __future__ import annotations

import asyncio

import pytest

from yakuba.server.store.base import CONTROL_CHANNEL, ZONE_CHANNEL, Store, StoreUnavailable
from yakuba.server.store.memory import MemoryStore
from yakuba.server.store.redis_store import RedisStore


@pytest.fixture(params=["memory", "redis"])
async def stores(request):
    """Two stores as two nodes would hold them (the memory one is shared in-process)."""
    if request.param == "memory":
        s = MemoryStore("n1")
        yield s, s
        return
    redis_server = request.getfixturevalue("redis_server")
    a, b = RedisStore(redis_server.url, "n1"), RedisStore(redis_server.url, "n2")
    await a.start()
    await b.start()
    yield a, b
    await a.close()
    await b.close()


async def _settle(got: list, n: int) -> None:
    # Waits for messages in flight on a real socket (Redis), not a tick of the realtime core.
    for _ in range(100):
        if len(got) >= n:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)


async def test_only_subscribed_channels_arrive_routed_by_prefix(stores):
    a, b = stores
    got: list[tuple[str, bytes]] = []
    b.subscribe(ZONE_CHANNEL, lambda ch, data: got.append((ch, data)))
    await b.subscribe_channel(ZONE_CHANNEL + "entrance")
    await b.subscribe_channel(ZONE_CHANNEL + "entrance")  # idempotent
    assert ZONE_CHANNEL + "entrance" in b.channels and CONTROL_CHANNEL in b.channels
    await asyncio.sleep(0.05)  # the SUBSCRIBE command reaches Redis before the publish
    await a.publish(ZONE_CHANNEL + "entrance", b"\x01\x02")
    await a.publish(ZONE_CHANNEL + "hall", b"not subscribed")
    await a.publish(CONTROL_CHANNEL, b"not for zone handlers")
    await _settle(got, 1)
    assert got == [(ZONE_CHANNEL + "entrance", b"\x01\x02")]


async def test_unsubscribed_channel_stops_and_control_always_arrives(stores):
    a, b = stores
    zone, control = [], []
    b.subscribe(ZONE_CHANNEL, lambda ch, data: zone.append(data))
    b.subscribe(CONTROL_CHANNEL, lambda ch, data: control.append(data))
    await b.subscribe_channel(ZONE_CHANNEL + "hall")
    await asyncio.sleep(0.05)
    await a.publish(ZONE_CHANNEL + "hall", b"1")
    await _settle(zone, 1)
    await b.unsubscribe_channel(ZONE_CHANNEL + "hall")
    await b.unsubscribe_channel(ZONE_CHANNEL + "hall")  # idempotent
    await asyncio.sleep(0.05)
    await a.publish(ZONE_CHANNEL + "hall", b"2")
    await a.publish(CONTROL_CHANNEL, b"c")
    await _settle(control, 1)
    assert zone == [b"1"] and control == [b"c"]


async def test_subscriptions_survive_a_redis_restart(own_redis):
    s, p = RedisStore(own_redis.url, "n1"), RedisStore(own_redis.url, "n2")
    got: list[bytes] = []
    s.subscribe(ZONE_CHANNEL, lambda ch, data: got.append(data))
    await s.start()
    await p.start()
    try:
        await s.subscribe_channel(ZONE_CHANNEL + "lobby")
        own_redis.stop()
        for _ in range(200):  # the reader notices the loss
            if not s.connected.is_set():
                break
            await asyncio.sleep(0.05)
        assert not s.connected.is_set()
        await s.subscribe_channel(ZONE_CHANNEL + "hall")  # while Redis is away: remembered
        own_redis.start()
        await asyncio.wait_for(s.connected.wait(), 10)  # reconnected and resubscribed
        for _ in range(100):  # p's connection pool reconnects on its next command
            try:
                await p.publish(ZONE_CHANNEL + "hall", b"h")
                await p.publish(ZONE_CHANNEL + "lobby", b"l")
                break
            except StoreUnavailable:
                await asyncio.sleep(0.05)
        await _settle(got, 2)
        assert sorted(got) == [b"h", b"l"]
    finally:
        await s.close()
        await p.close()


async def test_sessions_expire_and_delete(stores):
    a, b = stores
    await a.put_session("tok-123456", b"rec", 0.3)
    assert await b.get_session("tok-123456") == b"rec"
    await asyncio.sleep(0.45)
    assert await b.get_session("tok-123456") is None
    await a.put_session("tok-abcdef", b"x", 10)
    await b.delete_session("tok-abcdef")
    assert await a.get_session("tok-abcdef") is None


async def test_ids_unique_increasing_and_above_floor(stores):
    a, b = stores
    ids = [await a.next_id("t-contract"), await b.next_id("t-contract"), await a.next_id("t-contract")]
    assert len(set(ids)) == 3 and ids == sorted(ids)
    high = await b.next_id("t-contract", floor=10_000)
    assert high == 10_001
    assert await a.next_id("t-contract") > 10_001
    assert await a.healthy()


async def test_redis_down_raises_store_unavailable(own_redis):
    s = RedisStore(own_redis.url, "n1")
    await s.start()
    try:
        own_redis.stop()
        with pytest.raises(StoreUnavailable):
            for _ in range(3):
                await s.publish(ZONE_CHANNEL + "x", b"1")
                await asyncio.sleep(0.05)
        assert not await s.healthy()
    finally:
        await s.close()
