"""New avatars per address and per node (token buckets) and avatars in their grace period per
address, driven with an explicit clock: the gateway's real handlers, a real memory store."""

from __future__ import annotations

import pytest

from yakuba.server.auth.principal import resident
from yakuba.server.protocol import ErrorCode, JoinIn, ProtocolError
from yakuba.server.realtime.clock import ManualClock
from yakuba.server.realtime.gateway import Client

from realtime.helpers import make_hub

_n = 0


async def connect(hub, address: str) -> Client:
    global _n
    _n += 1
    eio_sid = f"e{_n}"
    sid = await hub.sio.manager.connect(eio_sid, "/")
    c = hub.clients[sid] = Client(sid=sid, eio_sid=eio_sid, principal=resident(sid), connected_at=hub.clock.now(), address=address)
    return c


async def join(hub, address: str, **payload) -> tuple[Client, dict]:
    c = await connect(hub, address)
    return c, await hub.gateway.on_join(c, JoinIn(**payload))


async def test_new_avatars_per_address_are_a_token_bucket():
    clock = ManualClock(100.0)
    hub = make_hub(clock=clock, join_burst=5, join_rate=1.0, new_avatars_per_s=1000)
    for _ in range(5):
        await join(hub, "10.0.0.1")
    with pytest.raises(ProtocolError) as e:
        await join(hub, "10.0.0.1")
    assert e.value.code is ErrorCode.RATE_LIMITED
    await join(hub, "10.0.0.2")  # another address is not affected
    clock.advance(1.0)
    await join(hub, "10.0.0.1")  # one token back per second
    with pytest.raises(ProtocolError):
        await join(hub, "10.0.0.1")


async def test_a_resume_is_not_a_new_avatar():
    clock = ManualClock(100.0)
    hub = make_hub(clock=clock, join_burst=1, join_rate=0.01, grace_s=30)
    c, ack = await join(hub, "10.0.0.1")
    await hub.gateway.on_disconnect(c.sid)
    _, again = await join(hub, "10.0.0.1", resume=ack["token"])  # the bucket is empty: resumes pass
    assert again["id"] == ack["id"]
    with pytest.raises(ProtocolError):  # a bogus token would be a new avatar: counted
        await join(hub, "10.0.0.1", resume="nosuchtoken123")


async def test_new_avatars_per_node_are_bounded():
    clock = ManualClock(100.0)
    hub = make_hub(clock=clock, new_avatars_per_s=2.0)  # burst: 5 s worth = 10
    for i in range(10):
        await join(hub, f"10.0.1.{i}")
    with pytest.raises(ProtocolError) as e:
        await join(hub, "10.0.2.1")
    assert e.value.code is ErrorCode.RATE_LIMITED
    clock.advance(0.5)
    await join(hub, "10.0.2.1")  # that address's token was given back


async def test_avatars_in_grace_period_are_capped_per_address():
    clock = ManualClock(100.0)
    hub = make_hub(clock=clock, max_away_per_address=3, grace_s=30)
    joined = [await join(hub, "10.0.0.9") for _ in range(5)]
    other, _ = await join(hub, "10.0.0.8")
    for c, _ in joined:
        clock.advance(0.1)
        await hub.gateway.on_disconnect(c.sid)
    await hub.gateway.on_disconnect(other.sid)
    ids = [ack["id"] for _, ack in joined]
    away = sorted(hub.away_until)
    assert away == sorted(ids[2:] + [other.avatar_id]), "the two oldest of 10.0.0.9 left at once"
    for aid in ids[:2]:
        assert aid not in hub.world.avatars
    # their sessions went with them: their tokens no longer resume
    _, fresh = await join(hub, "10.0.0.7", resume=joined[0][1]["token"])
    assert fresh["id"] not in ids
    _, back = await join(hub, "10.0.0.7", resume=joined[4][1]["token"])
    assert back["id"] == ids[4]
    assert hub.metrics.registry.get_sample_value("yakuba_rejected_total", {"reason": "away_cap"}) == 2
