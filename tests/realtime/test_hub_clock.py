"""The hub driven by a manual clock: reconnect grace expiry, the movement tick, room patches
at their own rate. No sockets, no sleeping."""

from __future__ import annotations

from yakuba.server.auth.principal import Kind, Principal
from yakuba.server.realtime.clock import ManualClock

from .helpers import attach, make_hub


async def test_disconnected_avatar_stays_for_the_grace_period_then_leaves():
    clock = ManualClock()
    hub = make_hub(clock=clock, grace_s=30.0)
    c = await attach(hub, 1)
    await hub.gateway.on_disconnect(c.sid)
    a = hub.world.avatars[1]
    assert a.away and hub.away_until[1] == clock.now() + 30.0
    assert await hub.store.get_session(c.token) is not None  # resumable meanwhile
    await hub.run_tick(0.1, clock.advance(29.9))
    assert 1 in hub.world.avatars
    await hub.run_tick(0.1, clock.advance(0.2))
    assert 1 not in hub.world.avatars and 1 not in hub.away_until


async def test_tick_moves_by_dt_and_changes_zone_and_room():
    clock = ManualClock()
    hub = make_hub(clock=clock)
    c = await attach(hub, 1, x=30.0, y=22.0, zone="corridor")
    hub.world.set_goto(1, "hall")
    for _ in range(400):
        await hub.run_tick(0.1, clock.advance(0.1))
        if c.zone == "hall":
            break
    assert c.zone == "hall" and hub.world.avatars[1].zone == "hall"
    assert 1 in hub.rooms.get("hall").members and 1 not in hub.rooms.get("corridor").members


async def test_staff_principal_is_asked_by_the_policy_for_zone_entry():
    clock = ManualClock()
    hub = make_hub(clock=clock)
    await attach(hub, 1)
    await attach(hub, 2, principal=Principal(kind=Kind.STAFF, staff_id=3))
    verified = dict(kind=Kind.STAFF, staff_id=4, municipality="271403", verified=True)
    await attach(hub, 3, principal=Principal(**verified))
    await attach(hub, 4, principal=Principal(**verified, salon_conduct=True))
    x, y = hub.world.layout.zones["staffroom"].anchor
    assert hub.world.set_target(1, x, y) == "zone_forbidden"  # the staff room is for staff
    assert hub.world.set_target(2, x, y) is None
    # the salon (issue #20): verified staff who accepted the code of conduct
    x, y = hub.world.layout.zones["salon-lounge"].anchor
    assert hub.world.set_target(1, x, y) == "salon_staff_only"
    assert hub.world.set_target(2, x, y) == "salon_staff_only"  # staff without the server's verified mark
    assert hub.world.set_target(3, x, y) == "conduct_required"
    assert hub.world.set_target(4, x, y) is None


async def test_room_patches_go_out_at_the_room_rate_not_the_tick_rate():
    clock = ManualClock()
    hub = make_hub(clock=clock)
    sent: list[tuple[str, dict, str]] = []

    async def emit(event, data, room=None, to=None, **kw):
        sent.append((event, data, room or to))

    hub.sio.emit = emit  # records what would go out; the rooms' rate is what is under test
    booth = hub.rooms.get("booth1")
    booth.join(7)
    await hub.run_rooms(0.05, clock.now())
    assert sent == [("room_patch", {"room": "booth1", "version": 1, "patch": {"members": [7]}}, "zone:booth1")]
    booth.join(8)
    await hub.run_rooms(0.05, clock.advance(0.05))  # within 1/patch_hz: held back
    assert len(sent) == 1
    booth.join(9)
    await hub.run_rooms(0.05, clock.advance(0.05))
    assert sent[1] == ("room_patch", {"room": "booth1", "version": 3, "patch": {"members": [7, 8, 9]}}, "zone:booth1")
    await hub.run_rooms(0.05, clock.advance(1.0))
    assert len(sent) == 2  # nothing pending: nothing sent
