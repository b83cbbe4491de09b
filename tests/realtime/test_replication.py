"""The exact messages put on the bus, what a node does with others' messages, and zone
subscriptions following local clients. Driven by a manual clock, no sockets."""

from __future__ import annotations

import msgpack

from yakuba.server.protocol import UPD
from yakuba.server.realtime.clock import ManualClock
from yakuba.server.realtime.replication import KEYFRAME_S, REMOTE_TTL_S, Replicator, pack_batch, pack_chat, pack_claim, pack_revoke, unpack, zone_channel
from yakuba.server.store.base import CONTROL_CHANNEL, ZONE_CHANNEL, StoreUnavailable
from yakuba.server.store.memory import MemoryStore

from .helpers import attach, avatar, make_hub

LOBBY = [ZONE_CHANNEL + z for z in ("corridor", "entrance", "infodesk")]


class SharedMemoryStore(MemoryStore):
    """The memory store, but the hub publishes as it does on Redis (``shared``)."""

    @property
    def shared(self) -> bool:
        return True


def bus(store):
    got: list[tuple[str, dict]] = []
    store.subscribe("yakuba:", lambda ch, data: got.append((ch, msgpack.unpackb(data))))
    return got


def test_codec_messages_are_exact():
    assert unpack(pack_batch("n1", [[1, "a", "round", "#000000", "resident", 500, 500, 0, "entrance"]], UPD.pack(2, 1, 2, 3), [9])) == {
        "n": "n1", "add": [[1, "a", "round", "#000000", "resident", 500, 500, 0, "entrance"]], "upd": b"\x02\x00\x00\x00\x01\x00\x02\x00\x03", "del": [9],
    }
    assert unpack(pack_chat("n1", {"id": 1, "text": "x"})) == {"n": "n1", "k": "chat", "chat": {"id": 1, "text": "x"}}
    assert unpack(pack_claim("n2", 7)) == {"n": "n2", "claim": 7}
    assert unpack(pack_revoke("n2", "s", None)) == {"n": "n2", "revoke": {"session": "s", "staff": None}}


async def test_keyframe_then_updates_then_keyframe_every_2s_and_deletes_on_last_zone():
    clock = ManualClock()
    store = SharedMemoryStore("n1")
    hub = make_hub(store, clock)
    got = bus(store)
    await attach(hub, 1, x=5.0, y=5.0)
    await attach(hub, 2, x=30.0, y=40.0, zone="hall")
    assert set(LOBBY + [ZONE_CHANNEL + "hall", CONTROL_CHANNEL]) == store.channels
    await hub.run_tick(0.1, clock.now())
    assert got == [
        (ZONE_CHANNEL + "entrance", {"n": "n1", "add": [[1, "a1", "round", "#000000", "resident", 500, 500, 0, "entrance", False]], "upd": b"", "del": []}),
        (ZONE_CHANNEL + "hall", {"n": "n1", "add": [[2, "a2", "round", "#000000", "resident", 3000, 4000, 0, "hall", False]], "upd": b"", "del": []}),
    ]
    got.clear()
    await hub.run_tick(0.1, clock.advance(0.1))
    assert got == []  # nothing moved: nothing on the bus
    hub.world.avatars[1].x = 5.5
    await hub.run_tick(0.1, clock.advance(0.1))
    assert got == [(ZONE_CHANNEL + "entrance", {"n": "n1", "add": [], "upd": UPD.pack(1, 550, 500, 0), "del": []})]
    got.clear()
    await hub.run_tick(0.1, clock.advance(KEYFRAME_S))
    assert [(ch, len(m["add"])) for ch, m in got] == [(ZONE_CHANNEL + "entrance", 1), (ZONE_CHANNEL + "hall", 1)]
    got.clear()
    hub.remove_avatar(2)
    await hub.run_tick(0.1, clock.advance(0.1))
    assert got == [(ZONE_CHANNEL + "hall", {"n": "n1", "add": [], "upd": b"", "del": [2]})]


class FlakyStore(SharedMemoryStore):
    """Publishes fail while ``down`` (Redis away), as the Redis store's do."""

    down = False

    async def publish(self, channel: str, data: bytes) -> None:
        if self.down:
            raise StoreUnavailable("down")
        await super().publish(channel, data)


async def test_first_tick_after_a_bus_outage_is_a_keyframe():
    clock = ManualClock()
    store = FlakyStore("n1")
    hub = make_hub(store, clock)
    got = bus(store)
    await attach(hub, 1, x=5.0, y=5.0)
    await hub.run_tick(0.1, clock.now())
    got.clear()
    store.down = True  # long enough for other nodes to expire our replicas
    hub.world.avatars[1].x = 6.0
    await hub.run_tick(0.1, clock.advance(REMOTE_TTL_S + 1))
    store.down = False
    hub.world.avatars[1].x = 7.0
    await hub.run_tick(0.1, clock.advance(0.1))  # well inside KEYFRAME_S of the last keyframe
    assert [(ch, [r[0] for r in m["add"]]) for ch, m in got] == [(ZONE_CHANNEL + "entrance", [1])]


async def test_zone_change_is_announced_on_old_and_new_channels():
    clock = ManualClock()
    store = SharedMemoryStore("n1")
    hub = make_hub(store, clock)
    got = bus(store)
    await attach(hub, 1)
    await hub.run_tick(0.1, clock.now())
    got.clear()
    hub.meta_dirty.add(1)
    hub.moved_from[1] = "entrance"
    hub.world.avatars[1].zone = "hall"
    msgs = hub.replicator.outgoing(set(), hub.meta_dirty, hub.moved_from, {}, clock.advance(0.1))
    assert [ch for ch, _ in msgs] == [ZONE_CHANNEL + "entrance", ZONE_CHANNEL + "hall"]
    assert unpack(msgs[0][1])["add"][0][8] == "hall" and msgs[0][1] == msgs[1][1]


async def test_remote_avatars_follow_the_bus_and_expire_after_ttl():
    clock = ManualClock()
    store = MemoryStore("n1")
    hub = make_hub(store, clock)
    await attach(hub, 1)  # a local client in the lobby: this node watches the lobby
    rec = [50, "r", "tall", "#111111", "staff", 700, 800, 64, "corridor"]
    await store.publish(ZONE_CHANNEL + "corridor", pack_batch("n2", [rec], b"", []))
    r = hub.world.avatars[50]
    assert not r.local and (r.x, r.y, r.heading, r.role.value) == (7.0, 8.0, 90.0, "staff") and 50 in hub.meta_dirty
    await store.publish(ZONE_CHANNEL + "corridor", pack_batch("n2", [], UPD.pack(50, 900, 800, 64), []))
    assert r.x == 9.0
    # its own node's messages are ignored; a zone nobody here watches is never heard
    await store.publish(ZONE_CHANNEL + "hall", pack_batch("n2", [[51, "h", "round", "#111111", "resident", 1, 1, 0, "hall"]], b"", []))
    await store.publish(ZONE_CHANNEL + "corridor", pack_batch("n1", [[52, "own", "round", "#111111", "resident", 1, 1, 0, "corridor"]], b"", []))
    assert 51 not in hub.world.avatars and 52 not in hub.world.avatars
    await hub.run_tick(0.1, clock.advance(REMOTE_TTL_S - 0.5))
    assert 50 in hub.world.avatars
    await hub.run_tick(0.1, clock.advance(1.0))
    assert 50 not in hub.world.avatars, "a remote avatar not refreshed for REMOTE_TTL_S is gone"
    # one that walks to an area nobody here watches is dropped at once
    await store.publish(ZONE_CHANNEL + "corridor", pack_batch("n2", [rec], b"", []))
    await store.publish(ZONE_CHANNEL + "corridor", pack_batch("n2", [rec[:8] + ["hall"]], b"", []))
    assert 50 not in hub.world.avatars
    # a bad message is counted, not raised
    await store.publish(ZONE_CHANNEL + "corridor", b"\xc1garbage")
    assert hub.metrics.rejected.labels("bad_bus_message")._value.get() == 1


async def test_subscriptions_follow_local_clients_per_area():
    clock = ManualClock()
    store = MemoryStore("n1")
    hub = make_hub(store, clock)
    a = await attach(hub, 1)
    b = await attach(hub, 2, x=6.0)
    assert set(LOBBY) <= store.channels and zone_channel("hall") not in store.channels
    await store.publish(ZONE_CHANNEL + "entrance", pack_batch("n2", [[60, "r", "round", "#111111", "resident", 1, 1, 0, "entrance"]], b"", []))
    assert 60 in hub.world.avatars
    await hub.gateway.enter_zone(a, "hall")  # first client in the hall, one still in the lobby
    assert zone_channel("hall") in store.channels and set(LOBBY) <= store.channels
    await hub.gateway.on_leave(b, None)  # the last one leaves the lobby
    assert not set(LOBBY) & store.channels and zone_channel("hall") in store.channels
    assert 60 not in hub.world.avatars, "replicas of an unwatched area are dropped"
    await hub.gateway.on_disconnect(a.sid)
    assert store.channels == {CONTROL_CHANNEL}


def test_away_travels_with_the_record_and_an_old_nine_field_record_still_applies():
    from yakuba.world.layout import load_layout
    from yakuba.world.state import World

    w = World(load_layout())
    seen = []
    r = Replicator(None, w, None, None, lambda aid: None, seen.append)  # type: ignore[arg-type]
    r.watched_zones.add("entrance")
    r._upsert([70, "r", "round", "#111111", "resident", 100, 100, 0, "entrance", True], 0.0)
    assert w.avatars[70].away is True
    r._upsert([70, "r", "round", "#111111", "resident", 100, 100, 0, "entrance", False], 1.0)
    assert w.avatars[70].away is False and seen.count(70) == 2  # the change re-sends its record
    r._upsert([71, "o", "round", "#111111", "resident", 100, 100, 0, "entrance"], 1.0)
    assert w.avatars[71].away is False
