"""Sessions and the login throttle on both live stores (memory and a real Redis), driven by an
explicit clock: expiry and the throttle window pass without waiting."""

from __future__ import annotations

import pytest

from yakuba.server.auth.principal import Kind
from yakuba.server.auth.sessions import PREFIX, Sessions, well_formed
from yakuba.server.auth.throttle import LoginThrottle
from yakuba.server.store.memory import MemoryStore
from yakuba.server.store.redis_store import RedisStore

from .helpers import Clock


@pytest.fixture(params=["memory", "redis"])
async def store(request):
    if request.param == "memory":
        s = MemoryStore("n1")
    else:
        s = RedisStore(request.getfixturevalue("redis_server").url, "n1")
    await s.start()
    yield s
    await s.close()


async def test_session_roundtrip_new_id_each_time_and_principal(store):
    clock = Clock()
    sessions = Sessions(store, ttl_s=60, clock=clock)
    a = await sessions.create(7, "271209", ["staff"], Kind.STAFF)
    b = await sessions.create(7, "271209", ["staff"], Kind.STAFF)
    assert a.id != b.id and a.csrf != b.csrf and well_formed(a.id)
    assert len(a.id) == 43  # 32 random bytes, urlsafe base64
    got = await sessions.get(a.id)
    assert got is not None and got.staff_id == 7 and got.csrf == a.csrf
    p = got.principal(client_key="1.2.3.4")
    assert p.kind is Kind.STAFF and p.municipality == "271209" and p.session_id == a.id and p.is_staff
    # the store key is prefixed, so an avatar resume token with the same text cannot collide
    assert await store.get_session(a.id) is None and await store.get_session(PREFIX + a.id) is not None


async def test_forged_expired_and_deleted_sessions_are_none(store):
    clock = Clock()
    sessions = Sessions(store, ttl_s=60, clock=clock)
    rec = await sessions.create(1, "271209", ["staff"], Kind.STAFF)
    refused = 0
    for forged in ["x" * 43, "../../etc", "", None, rec.id[:-1] + ("A" if rec.id[-1] != "A" else "B"), rec.id + "x"]:
        refused += await sessions.get(forged) is None
    assert refused == 6
    await store.put_session(PREFIX + "y" * 43, b"\x93garbage", 60)  # unreadable record: anonymous
    assert await sessions.get("y" * 43) is None
    clock.advance(59)
    assert await sessions.get(rec.id) is not None
    clock.advance(2)  # past the expiry, whatever the store's own TTL says
    assert await sessions.get(rec.id) is None
    other = await sessions.create(1, "271209", ["staff"], Kind.STAFF)
    await sessions.delete(other.id)
    assert await sessions.get(other.id) is None


async def test_throttle_per_username_and_per_address_with_a_window(store):
    clock = Clock()
    t = LoginThrottle(store, max_failures=3, window_s=300, clock=clock)
    for _ in range(3):
        assert not await t.blocked("tanaka", "10.0.0.1")
        await t.failed("tanaka", "10.0.0.1")
    assert await t.blocked("tanaka", "10.0.0.1")
    assert await t.blocked("tanaka", "10.9.9.9")  # the username is throttled from anywhere
    assert await t.blocked("suzuki", "10.0.0.1")  # and the address for any username
    assert not await t.blocked("suzuki", "10.0.0.2")
    clock.advance(301)  # the window passes
    assert not await t.blocked("tanaka", "10.0.0.1")
    # a success clears the username's count, not the address's
    for _ in range(2):
        await t.failed("sato", "10.0.0.3")
    await t.succeeded("sato")
    await t.failed("sato", "10.0.0.4")
    assert not await t.blocked("sato", "10.0.0.4")
    if isinstance(store, MemoryStore):  # keys never hold the username
        keys = list(store._sessions)
        assert any(k.startswith("throttle:user:") for k in keys)
        assert not any("tanaka" in k or "sato" in k for k in keys)
