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


async def test_publish_reaches_subscribers_by_prefix(stores):
    a, b = stores
    got: list[tuple[str, bytes]] = []
    b.subscribe(ZONE_CHANNEL, lambda ch, data: got.append((ch, data)))
    await a.publish(ZONE_CHANNEL + "entrance", b"\x01\x02")
    await a.publish(CONTROL_CHANNEL, b"not for zone subscribers")
    for _ in range(100):
        if got:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    assert got == [(ZONE_CHANNEL + "entrance", b"\x01\x02")]


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
