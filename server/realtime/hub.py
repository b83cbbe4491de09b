"""The realtime node: the object server/app.py creates. It owns the live state (clients, the
world, rooms) and composes the parts:

- ``gateway``: socket handlers (validation, identity, policy, intents);
- ``ticker``: steps the world at ``tick_hz`` with an injected clock (``run_tick`` is callable
  directly, which is how tests drive time);
- ``sync``: one snapshot per distinct view, encoded once (pure);
- ``replication``: the bus codec and zone subscriptions where local clients are;
- ``transport``: the one fast path that writes the frames (straight to upgraded websockets,
  skipping congested clients);
- ``rooms``: zone -> room, state on join, patches at each room's own rate, asked for once per tick.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import socketio

from yakuba.server.auth.policy import Action, ZoneResource, decide
from yakuba.server.consult.socket_handlers import ConsultDesk
from yakuba.server.auth.principal import Principal
from yakuba.server.protocol import CHAT_RADIUS_M, ErrorCode, error_payload
from yakuba.server.realtime.clock import Clock, MonotonicClock
from yakuba.server.realtime.gateway import Authenticate, Client, Gateway
from yakuba.server.realtime.limits import MaskingFilter, WordFilter
from yakuba.server.realtime.metrics import Metrics
from yakuba.server.realtime.replication import Replicator, pack_revoke, unpack
from yakuba.server.realtime.sync import Sync
from yakuba.server.realtime.ticker import Ticker
from yakuba.server.realtime.transport import Outlet, event_packets, send_packets
from yakuba.server.rooms.hall import HallRoom
from yakuba.server.rooms.registry import RoomRegistry
from yakuba.server.store.base import CONTROL_CHANNEL, ZONE_CHANNEL, Store, StoreUnavailable
from yakuba.world.interest import hearers
from yakuba.world.layout import Zone
from yakuba.world.state import Avatar, World
from yakuba.world.zones import BoothState, Role

log = logging.getLogger("yakuba.realtime")

BLOCKED_NOTICE_S = 1.5  # at most one "blocked" error per avatar in this window


@dataclass
class HubConfig:
    tick_hz: float = 10.0
    view_limit: int = 50  # nearest N avatars in view when an area holds more
    grace_s: float = 30.0  # reconnect grace period
    join_timeout_s: float = 30.0  # a socket that has not joined by then is closed
    max_connections: int = 5000  # per node
    max_per_address: int = 200  # per client address (a hall's shared Wi-Fi is one address)
    # abuse limits (Settings has the why): binary attachments per packet, new avatars per
    # address (token bucket) and per node, avatars in their grace period per address
    max_attachments: int = 2
    max_attachment_bytes: int = 16 * 1024
    join_burst: int = 60
    join_rate: float = 2.0
    max_away_per_address: int = 40
    session_save_s: float = 2.0  # moved avatars' resume records saved this often (a crash loses less)
    new_avatars_per_s: float = 20.0


class Hub:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        world: World,
        store: Store,
        metrics: Metrics,
        config: HubConfig,
        word_filter: WordFilter | None = None,
        *,
        authenticate: Authenticate | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.sio, self.world, self.store, self.metrics, self.config = sio, world, store, metrics, config
        self.filter = word_filter or MaskingFilter()
        self.clock: Clock = clock or MonotonicClock()
        self.clients: dict[str, Client] = {}  # socket sid -> client
        self.by_avatar: dict[int, Client] = {}  # local avatar id -> its connected client
        self.tick = 0
        self.draining = False
        self.meta_dirty: set[int] = set()  # new or changed name/appearance/zone this tick
        self.moved_from: dict[int, str] = {}  # local avatar -> zone it left this tick
        self.gone_local: dict[int, str] = {}  # this node's avatars removed this tick -> last zone
        self.away_until: dict[int, float] = {}  # disconnected avatar -> end of its grace period
        # Resume records are saved on join, on disconnect and drain, and every session_save_s for
        # avatars that moved (or whose record is half-way to expiring), so that after a crash a
        # resident resumes, on any node, where they were a moment ago.
        self.unsaved: set[int] = set()
        self.saved_at: dict[int, float] = {}
        self._save_at = 0.0
        self._saving: asyncio.Task | None = None
        self.sync = Sync(config.view_limit)
        self.last_outlet: Outlet | None = None
        self.replicator = Replicator(store, world, self._bus_record, self.sync.pack_upd, self.remove_avatar, self.meta_dirty.add)
        self.rooms = RoomRegistry(world.layout)
        world.rule = self._zone_rule  # zone entry through the policy
        world.rule_key = self._rule_key  # ... whose answer depends on more than the avatar's role
        self.full_halls: set[str] = set()  # halls a running event has filled (_zone_rule; issue #18)
        self.gateway = Gateway(self, authenticate)
        self.consult = ConsultDesk(self)  # desk queue and booths: its own handlers (server/consult)
        self.media: Any = None  # the MediaService when media is on (server/media/setup.py)
        self.salon: Any = None  # the SalonDesk (server/salon/desk.py): presence, locks, refusals
        self.ticker = Ticker("tick", config.tick_hz, self.clock, self.run_tick, metrics.tick.observe)
        store.subscribe(ZONE_CHANNEL, self._on_bus_zone)
        store.subscribe(CONTROL_CHANNEL, self._on_bus_control)

    # -- life -----------------------------------------------------------------------------------
    def start(self) -> None:
        self.ticker.start()

    async def stop(self) -> None:
        await self.ticker.stop()
        await self.consult.close()

    def _bus_record(self, a: Avatar) -> list:
        """The avatar's record for other nodes: the snapshot's, plus the salon card the server
        issued when there is one (what other nodes' rules and presence lists read)."""
        rec = self.sync.record(a)
        return rec + [a.card] if a.card is not None else rec

    def _rule_key(self, a: Avatar) -> object:
        """What of the principal the policy's zone answers read besides the world role: the
        salon's verified mark, the code of conduct and the municipality (locked meeting rooms)."""
        c = self.by_avatar.get(a.id)
        p = c.principal if c is not None else None
        return None if p is None else (p.is_verified_staff, p.salon_conduct, p.municipality)

    def _zone_rule(self, a: Avatar, zone: Zone, booth: BoothState | None) -> str | None:
        c = self.by_avatar.get(a.id)
        if c is None:
            # Not ours (another node's replica, or away): the world's rule from what the avatar
            # carries -- its role and verified mark come from its owner's session, over the bus.
            # Its own node asks the policy with the principal (entry is decided where it moves).
            return self.world.pure_access(a, zone, booth)
        p = c.principal
        # Issue #18: while an event runs in a hall (server/events), the hall is full once as many
        # residents as its capacity are inside (staff take no attendee's place, and the policy
        # never refuses them); whoever is inside is never shut out.
        room = self.rooms.rooms.get(zone.id)
        ev = room.live_event() if isinstance(room, HallRoom) and room.live_event is not None else None
        full_now = ev is not None and sum(
            1 for m in room.members if (o := self.world.avatars.get(m)) is None or o.role is not Role.STAFF) >= ev.capacity
        if full_now != (zone.id in self.full_halls):  # World caches forbidden zones per role for paths: forget them
            (self.full_halls.add if full_now else self.full_halls.discard)(zone.id)
            self.world.rules_changed()
        full = full_now and a.id not in room.members
        d = decide(p, Action.ENTER_ZONE, ZoneResource(zone, a.id, booth, full=full, held_by=self.world.salon_locks.get(zone.id)))
        return None if d.allowed else (d.code or "zone_forbidden")

    def remove_avatar(self, aid: int) -> None:
        a = self.world.remove(aid)
        if a is not None:
            if a.local:
                self.gone_local[aid] = a.zone
            self.rooms.move(aid, a.zone, None)
        self.sync.forget(aid)
        self.away_until.pop(aid, None)
        self.saved_at.pop(aid, None)

    # -- tick -----------------------------------------------------------------------------------
    async def run_tick(self, dt: float, now: float) -> None:
        self.tick += 1
        res = self.world.step(dt)
        self.unsaved.update(res.moved)
        if now >= self._save_at:
            self._save_at = now + self.config.session_save_s
            self._save_sessions(now)
        for aid, old, new in res.zone_changes:
            self.meta_dirty.add(aid)
            self.moved_from.setdefault(aid, old)
            c = self.by_avatar.get(aid)
            if c is not None:
                await self.gateway.enter_zone(c, new)
        for rej in res.rejections:
            self.metrics.rejected.labels(rej.code).inc()
            c = self.by_avatar.get(rej.avatar_id)
            if c is not None and now - c.last_blocked > BLOCKED_NOTICE_S:
                c.last_blocked = now
                if self.salon is not None:  # one count per notice, not one per tick of pushing
                    self.salon.refused(c, "move", rej.code)
                await self.sio.emit("error", error_payload(ErrorCode(rej.code), "move"), to=c.sid)
        self._expire(now)
        await self._drop_idle(now)
        changed = self.sync.quantise_changes(self.world.avatars)
        if not await self.replicator.publish(changed, self.meta_dirty, self.moved_from, self.gone_local, now):
            self.metrics.rejected.labels("bus_unavailable").inc()
        await self._send_snapshots(changed)
        # Rooms are asked for due patches once per tick; each sends at its own rate (due() holds
        # a patch back until 1/patch_hz has passed), as its own event, apart from the snapshots.
        # A separate 20 Hz task for this cost ~8% of the snapshot throughput of a saturated
        # node (bench/presence.py N=1000 against the pre-split server).
        if self.salon is not None:
            self.salon.on_tick(now)  # presence cards and lock expiry, before the rooms' patches go
        await self.run_rooms(dt, now)
        await self.consult.on_tick(now)  # before gone_local is cleared: it reads who left
        self.meta_dirty.clear()
        self.moved_from.clear()
        self.gone_local.clear()

    def _save_sessions(self, now: float) -> None:
        if self._saving is not None and not self._saving.done():
            return  # the last batch is still on its way: these go in the next one
        stale = now - self.config.grace_s / 2
        items = []
        for aid, c in self.by_avatar.items():
            if c.token is None or (aid not in self.unsaved and self.saved_at.get(aid, -1e18) > stale):
                continue
            a = self.world.avatars.get(aid)
            if a is not None:
                items.append((c.token, self.gateway.session_record(c, a), self.config.grace_s, aid))
                self.saved_at[aid] = now
        self.unsaved.clear()
        if items:
            self._saving = asyncio.create_task(self._put_sessions(items))

    async def _put_sessions(self, items: list) -> None:
        try:
            await self.store.put_sessions(items)
        except StoreUnavailable:
            log.warning("%d session record(s) not saved: store unavailable", len(items))
        except Exception:
            log.exception("saving session records failed")

    def _expire(self, now: float) -> None:
        for aid in [aid for aid, until in self.away_until.items() if until < now]:
            log.info("avatar=%s left after grace period", aid)
            self.remove_avatar(aid)
        self.replicator.expire(now)

    async def _drop_idle(self, now: float) -> None:
        """Sockets that connected and never joined hold a descriptor and memory each: close them."""
        limit = self.config.join_timeout_s
        if hasattr(self.sio, "close_unconnected"):  # GuardedServer: engine.io sockets never connected
            await self.sio.close_unconnected()
        idle = [c for c in self.clients.values()
                if c.avatar_id is None and not c.ended and not c.watching and now - c.connected_at > limit]
        for c in idle:
            c.ended = True
            self.metrics.rejected.labels("join_timeout").inc()
            log.info("closed sid=%s: no join within %.0f s", c.sid, limit)
            await self.sio.disconnect(c.sid)

    async def _send_snapshots(self, changed: set[int]) -> None:
        # Each client's route is chosen before the frames are built: a congested one (its
        # transport cannot take more) is skipped by Sync.frames and gets a full frame later.
        out = Outlet(self.sio.eio)
        viewers, congested = [], set()
        for c in self.clients.values():
            if c.avatar_id is not None:
                viewers.append((c, c.avatar_id, c.view))
                if not out.route(c.eio_sid):
                    congested.add(c.avatar_id)
        frames = self.sync.frames(self.tick, self.world.layout, self.world.avatars, viewers, changed, self.meta_dirty, congested)
        for c, frame in frames:
            await out.send(c.eio_sid, frame)
        self.metrics.snapshots.inc(len(frames))
        self.last_outlet = out  # how the last tick's snapshots went (tests, debugging)
        if congested:
            self.metrics.snapshots_skipped.inc(len(congested))

    async def deliver_chat(self, chat: dict, pos: tuple[float, float] | None) -> None:
        """A chat line to this node's listeners: in a room its zone's socket room; in an open
        area the local clients within hearing of the speaker (world.interest.hearers). A line
        with no position (an older node) goes to the zone, as before."""
        zone = str(chat["zone"])
        ids = hearers(self.world.layout, self.world.avatars.values(), zone, pos[0], pos[1], CHAT_RADIUS_M) if pos else None
        if ids is None:
            await self.sio.emit("chat", chat, room="zone:" + zone)
            return
        sids = [c.sid for c in (self.by_avatar.get(i) for i in ids) if c is not None]
        if sids:
            await self.sio.emit("chat", chat, to=sids)

    async def broadcast(self, event: str, data: dict) -> None:
        """One JSON event to every client of this node, encoded once (the fast path)."""
        pkts = event_packets(event, data)
        eio = self.sio.eio
        for c in list(self.clients.values()):
            await send_packets(eio, c.eio_sid, pkts)

    async def run_rooms(self, dt: float, now: float) -> None:
        for room, msg in self.rooms.flush(now):
            await self.sio.emit("room_patch", msg, room="zone:" + room.id)

    # -- bus ------------------------------------------------------------------------------------
    async def _on_bus_zone(self, channel: str, data: bytes) -> None:
        try:
            m = unpack(data)
            if m.get("n") == self.store.node_id:
                return
            chat = self.replicator.apply(m, self.clock.now())
            if chat is not None:
                pos = chat.pop("_pos", None)
                await self.deliver_chat(chat, pos)
        except Exception:
            self.metrics.rejected.labels("bad_bus_message").inc()
            log.exception("bad bus message on %s", channel)

    async def _on_bus_control(self, channel: str, data: bytes) -> None:
        try:
            m = unpack(data)
            if m.get("n") == self.store.node_id:
                return
            if "revoke" in m:
                r = m["revoke"]
                session, staff, muni = r.get("session"), r.get("staff"), r.get("municipality")
                if (session is None or isinstance(session, str)) and (staff is None or isinstance(staff, int)) \
                        and (muni is None or isinstance(muni, str)):
                    await self._end_sessions(session, staff, muni)
                return
            aid = m.get("claim")
            if isinstance(aid, int):
                self.store.let_go(aid)  # its record is the claiming node's now: no stale copy kept here
            a = self.world.avatars.get(aid)
            if a is not None and a.local:
                # Another node resumed this avatar: let go silently (no delete: it is still here).
                c = self.by_avatar.pop(aid, None)
                self.rooms.move(aid, a.zone, None)
                if c is not None:
                    c.avatar_id = None
                    await self.sio.disconnect(c.sid)
                self.world.remove(aid)
                self.sync.forget(aid)
                self.away_until.pop(aid, None)
        except Exception:
            self.metrics.rejected.labels("bad_bus_message").inc()
            log.exception("bad control message")

    # -- revocation and shutdown ----------------------------------------------------------------
    async def revoke(self, session_id: str | None = None, staff_id: int | None = None,
                     municipality: str | None = None) -> int:
        """End every connection of a login session (or of a staff account, or of every staff
        member of a suspended municipality) on every node: the client gets notice {kind:
        "session_ended"}, its avatar leaves at once (no grace period) and the socket closes.
        Returns how many local clients were dropped."""
        if session_id is None and staff_id is None and municipality is None:
            raise ValueError("revoke needs a session_id, a staff_id or a municipality")
        n = await self._end_sessions(session_id, staff_id, municipality)
        if self.store.shared:
            try:
                await self.store.publish(CONTROL_CHANNEL, pack_revoke(self.store.node_id, session_id, staff_id, municipality))
            except StoreUnavailable:
                log.warning("revocation session=%s staff=%s municipality=%s not published: store unavailable",
                            session_id and "set", staff_id, municipality)
        return n

    async def _end_sessions(self, session_id: str | None, staff_id: int | None, municipality: str | None = None) -> int:
        def hit(p: Principal) -> bool:
            return ((session_id is not None and p.session_id == session_id) or (staff_id is not None and p.staff_id == staff_id)
                    or (municipality is not None and p.is_staff and p.municipality == municipality))

        hits = [c for c in self.clients.values() if hit(c.principal)]
        for c in hits:
            c.ended = True
            log.info("session ended sid=%s principal=%s", c.sid, c.principal.key)
            await self.sio.emit("notice", {"kind": "session_ended"}, to=c.sid)
            await self.gateway.release(c)
            await self.sio.disconnect(c.sid)
        return len(hits)

    async def drain(self) -> None:
        """SIGTERM: tell clients, save every session so they resume (here after a restart or on
        another node), then let go of the sockets."""
        self.draining = True
        await self.sio.emit("notice", {"kind": "draining", "retry_after_s": 2})
        for c in list(self.clients.values()):
            a = self.world.avatars.get(c.avatar_id) if c.avatar_id is not None else None
            if a is not None:
                await self.gateway.save_session(c, a)
        for c in list(self.clients.values()):
            try:
                await self.sio.disconnect(c.sid)
            except Exception:
                pass


__all__ = ["BLOCKED_NOTICE_S", "Hub", "HubConfig"]
