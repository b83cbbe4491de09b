"""The salon on the realtime node (issue #20): who may be in it, who is in it, meeting-room locks,
the code of conduct and reports.

- **Doors**: salon zones (plan access ``salon``) take verified staff who accepted the code of
  conduct; the policy decides (Action.ENTER_ZONE -> ENTER_SALON) for this node's avatars with
  their principal; other nodes' avatars carry the server's verified mark and municipality in
  their bus record (gateway.stamp), so every node's world rule and its per-role path cache agree.
  ``admit`` checks again when an avatar's zone changes on its own node, before it joins the room.
- **Presence**: each salon room's state holds ``people``: the cards of the avatars in its zone on
  any node (local ones and the replicas of others), recomputed each tick, patched when changed.
- **Locks**: a meeting room is locked by the municipality whose booking runs now, from inside; the
  lock (code, end of the booking) goes to every node on the control channel and ends with the
  booking. Those inside stay; others of another municipality cannot enter.
- **Refusals** at the doors, on join, for chat and for these events are counted like the identity
  refusals (``yakuba_identity_refused{reason}``) and audited by ids.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from typing import TYPE_CHECKING, Any

import msgpack

from yakuba.server.auth.policy import Action, SalonRoomResource, ZoneResource, decide
from yakuba.server.protocol import CHAT_RADIUS_M, ErrorCode, ProtocolError, error_payload
from yakuba.world.interest import area_of, zones_of_area
from yakuba.server.rooms.salon import SalonRoom
from yakuba.server.salon import booths, events, records
from yakuba.server.salon.board import Board
from yakuba.server.salon.booths import Booths
from yakuba.server.salon.holds import Schedule, holds_at, running_event
from yakuba.server.store.base import CONTROL_CHANNEL, StoreUnavailable

if TYPE_CHECKING:
    from yakuba.server.realtime.gateway import Client
    from yakuba.server.realtime.hub import Hub

log = logging.getLogger("yakuba.salon")

SALON_CODES = frozenset({"salon_staff_only", "conduct_required", "salon_room_locked", "salon_room_not_booked", "salon_muted"})
RELOAD_S = 30.0  # the schedule is reloaded at least this often (a missed bus message heals)


def _public(card: dict) -> dict:
    return {k: v for k, v in card.items() if k != "hidden"}


class SalonDesk:
    def __init__(self, hub: "Hub", db: Any, refusals: Any = None, audit: Any = None) -> None:
        self.hub, self.db, self.refusals, self.audit = hub, db, refusals, audit
        self.schedule = Schedule()  # locked bookings and events of the next hours (reload)
        self._reload_at, self._reloading = 0.0, None  # the first tick loads it
        self.wall = time.time  # bookings and events are wall-clock times (tests may set a clock)
        self.board = Board(hub)
        self.booths = Booths(hub)
        self.salon_zones = {z.id for z in hub.world.layout.zones.values() if z.access == "salon"}
        # the lounge and the booths are one open-plan area: one hears (voice) those one reads (chat)
        layout = hub.world.layout
        self.open_plan = {z for z in self.salon_zones if len(zones_of_area(layout, area_of(layout, z))) > 1}
        for z in self.open_plan:
            hub.rooms.get(z).update({"hearing_m": CHAT_RADIUS_M})
        self._heard_at = 0.0
        hub.salon = self
        hub.store.subscribe(CONTROL_CHANNEL, self._on_bus)
        g = hub.gateway
        for event, fn in (("salon.conduct", self.on_conduct), ("salon.lock", self.on_lock),
                          ("salon.report", self.on_report), ("salon.hide", self.on_hide),
                          ("salon.moderate", self.on_moderate), ("salon.pin", self.on_pin)):
            hub.sio.on(event, g._guard(event, fn))

    # -- refusals and the door ----------------------------------------------------------------
    def refused(self, c: "Client", event: str, code: str) -> None:
        if code in SALON_CODES and self.refusals is not None:
            self.refusals.refuse(c.principal, event, code, c.zone)

    async def admit(self, c: "Client", zone_id: str) -> bool:
        """The policy's answer for this node's avatar entering ``zone_id`` (its room included)."""
        zone = self.hub.world.layout.zones.get(zone_id)
        if zone is None or zone.access != "salon" or c.avatar_id is None:
            return True
        d = decide(c.principal, Action.ENTER_ZONE, ZoneResource(zone, c.avatar_id, None, held_by=self.hub.world.salon_locks.get(zone_id)))
        if d:
            return True
        code = ErrorCode(d.code or "salon_staff_only")
        self.refused(c, "join", code.value)
        self.hub.metrics.rejected.labels(code.value).inc()
        await self.hub.sio.emit("error", error_payload(code, "join"), to=c.sid)
        return False

    # -- once per tick: holds (locks, events) from the schedule, presence, the board ---------
    def on_tick(self, now: float) -> None:
        wall = self.wall()
        if wall >= self._reload_at and self._reloading is None:
            self._reloading = asyncio.ensure_future(self.reload())
        self._apply_holds(holds_at(self.schedule, wall), wall)
        media = self.hub.media
        if media is not None:
            media.holds = self.hub.world.salon_locks  # one dict, changed in place
            media.hearing_of, media.distance = self._hearing_of, self._distance
            if wall - self._heard_at >= 1.0:  # who walked out of hearing stops hearing them, once a second
                self._heard_at = wall
                for room_id in {s.room for s in media.streams.values()} & self.open_plan:
                    asyncio.ensure_future(media.revalidate(room_id, "out_of_hearing"))
        rooms = [r for r in self.hub.rooms.rooms.values() if isinstance(r, SalonRoom) and r.members]
        self.board.tick(wall, rooms)
        if not rooms:
            return
        people: dict[str, list] = {r.id: [] for r in rooms}
        for a in self.hub.world.avatars.values():
            if a.zone in people and a.card and not a.card.get("hidden") and not a.away:
                people[a.zone].append({"avatar": a.id, **_public(a.card)})
        for r in rooms:
            lst = sorted(people[r.id], key=lambda p: p["avatar"])
            if r.state.get("people") != lst:
                r.update({"people": lst})

    def _hearing_of(self, room_id: str) -> float | None:
        return CHAT_RADIUS_M if room_id in self.open_plan else None

    def _distance(self, a: int, b: int) -> float:
        av = self.hub.world.avatars
        x, y = av.get(a), av.get(b)
        return math.inf if x is None or y is None else math.hypot(x.x - y.x, x.y - y.y)

    # -- holds: meeting-room locks and running events -----------------------------------------
    async def reload(self) -> None:
        """The schedule from SQL (locked bookings, events of the next hours with their members):
        at start, after every change on any node (``changed``), and every RELOAD_S regardless."""
        try:
            now = records.utcnow()
            async with self.db.session() as s:
                self.schedule = Schedule(tuple(await records.locked_slots(s, now)), tuple(await events.slots(s, now)))
                self.booths.load(await booths.pins(s))
        except Exception:
            log.exception("salon schedule not reloaded")  # the previous one stays; retried soon
        finally:
            self._reload_at = self.wall() + RELOAD_S
            self._reloading = None
        self._apply_holds(holds_at(self.schedule, self.wall()), self.wall())  # now, not at the next tick

    async def changed(self) -> None:
        """After a booking, lock, event, registration, moderation or pin changed in SQL: this
        node reloads now and tells the others to."""
        await self.reload()
        hub = self.hub
        if hub.store.shared:
            try:
                await hub.store.publish(CONTROL_CHANNEL, msgpack.packb({"n": hub.store.node_id, "salon_reload": 1}))
            except StoreUnavailable:
                log.warning("salon change not published: store unavailable (others reload within %ss)", RELOAD_S)

    def _apply_holds(self, holds: dict, wall: float) -> None:
        world = self.hub.world
        if holds == world.salon_locks:
            return
        for room_id in set(holds) | set(world.salon_locks):
            old, new = world.salon_locks.get(room_id), holds.get(room_id)
            if old == new:
                continue
            if new is None:
                world.salon_locks.pop(room_id, None)
            else:
                world.salon_locks[room_id] = new
            ev = running_event(self.schedule, room_id, wall)
            self.hub.rooms.get(room_id).update({
                "locked": new.municipality if new is not None else None,
                "event": None if ev is None else {"id": ev.id, "title": ev.title, "hybrid": ev.hybrid,
                                                  "organiser": ev.organiser, "end": ev.ends,
                                                  "muted": sorted(ev.muted)}})
            if ev is not None:
                self._evict(room_id, new, ev.removed)
            if self.hub.media is not None:  # a muted member's voice, a screen not the organiser's
                asyncio.ensure_future(self.hub.media.revalidate(room_id, "moderated"))
        world.rules_changed()

    def _evict(self, room_id: str, hold: Any, removed: frozenset[int]) -> None:
        """A running event's room keeps its registrants only: this node's avatars it does not
        admit (someone the organiser removed, or not registered when it began) go back to the
        lounge, with a notice. A lock lets those inside stay; an event does not."""
        hub = self.hub
        lounge = hub.world.layout.zones.get("salon-lounge")
        for a in list(hub.world.avatars.values()):
            if not a.local or a.zone != room_id or hold.admits(a.municipality, a.staff) or lounge is None:
                continue
            a.x, a.y = lounge.anchor
            a.path, a.vx, a.vy = [], 0.0, 0.0
            a.zone = lounge.id
            hub.meta_dirty.add(a.id)
            c = hub.by_avatar.get(a.id)
            if c is not None:
                code = ErrorCode.SALON_REMOVED if a.staff in removed else ErrorCode.SALON_ROOM_LOCKED
                asyncio.ensure_future(hub.sio.emit("error", error_payload(code, "move"), to=c.sid))
                asyncio.ensure_future(hub.gateway.enter_zone(c, lounge.id))

    async def _on_bus(self, channel: str, data: bytes) -> None:
        try:
            m = msgpack.unpackb(data)
            if not isinstance(m, dict) or m.get("n") == self.hub.store.node_id:
                return
            if "salon_reload" in m:
                await self.reload()
            elif "salon_board" in m:
                self.board.on_bus(m, self.wall())
        except Exception:
            self.hub.metrics.rejected.labels("bad_bus_message").inc()
            log.exception("bad salon bus message")

    async def on_lock(self, c: "Client", msg: Any) -> dict:
        a = self.hub.world.avatars[c.avatar_id]  # type: ignore[index]
        if msg.room not in self.salon_zones or "meeting" not in msg.room:
            raise ProtocolError(ErrorCode.UNKNOWN_ZONE)
        async with self.db.session() as s:
            b = await records.running(s, msg.room)
            booked_by = b.municipality_code if b is not None else None
            d = decide(c.principal, Action.LOCK_SALON_ROOM, SalonRoomResource(msg.room, a.zone == msg.room, booked_by))
            if not d:
                if self.audit is not None:
                    self.audit.refused(c.principal, "lock_salon_room", d.code or "forbidden", msg.room)
                raise ProtocolError(ErrorCode(d.code or "forbidden"))
            await records.set_locked(s, msg.room, msg.locked)
        await self.changed()
        if self.audit is not None:
            self.audit.record("salon_room_locked" if msg.locked else "salon_room_unlocked", c.principal,
                              action="lock_salon_room", resource=msg.room)
        return {"ok": True}

    async def on_moderate(self, c: "Client", msg: Any) -> dict:
        """The organiser of the event running in the room mutes, unmutes or removes someone."""
        world = self.hub.world
        me = world.avatars[c.avatar_id]  # type: ignore[index]
        ev = running_event(self.schedule, me.zone, self.wall())
        target = world.avatars.get(msg.avatar)
        d = decide(c.principal, Action.RUN_SALON_EVENT, ev.organiser if ev is not None else None)
        if not d:
            raise ProtocolError(ErrorCode(d.code or "forbidden"))
        if target is None or target.zone != me.zone or target.staff is None or target.staff == ev.organiser:  # type: ignore[union-attr]
            raise ProtocolError(ErrorCode.NOT_MEMBER, "moderate someone in the event's room")
        async with self.db.session() as s:
            await events.moderate(s, ev.id, target.staff, msg.action)  # type: ignore[union-attr]
        await self.changed()
        if self.audit is not None:
            self.audit.record(f"salon_{msg.action}", c.principal, action="moderate_salon_event",
                              resource=f"event:{ev.id}:staff:{target.staff}")  # type: ignore[union-attr]
        return {"ok": True}

    # -- conduct, reports, hiding -------------------------------------------------------------
    def _member(self, c: "Client", action: Action) -> None:
        d = decide(c.principal, action)
        if not d:
            raise ProtocolError(ErrorCode(d.code or "forbidden"))

    async def on_conduct(self, c: "Client", msg: Any) -> dict:
        self._member(c, Action.ENTER_SALON)
        if msg.accept is not True or msg.version != records.CONDUCT_VERSION:
            raise ProtocolError(ErrorCode.INVALID_PAYLOAD, f"accept version {records.CONDUCT_VERSION} of the code of conduct")
        async with self.db.session() as s:
            await records.accept_conduct(s, c.principal.staff_id)  # type: ignore[arg-type]
        c.principal = dataclasses.replace(c.principal, salon_conduct=True)
        self.hub.world.rules_changed()
        if self.audit is not None:
            self.audit.record("salon_conduct_accepted", c.principal, action="enter_salon", resource=records.CONDUCT_VERSION)
        return {"ok": True}

    async def on_report(self, c: "Client", msg: Any) -> dict:
        self._member(c, Action.REPORT_CONDUCT)
        world = self.hub.world
        me = world.avatars[c.avatar_id]  # type: ignore[index]
        other = world.avatars.get(msg.avatar)
        if me.zone not in self.salon_zones or other is None or other.zone not in self.salon_zones or other.id == me.id:
            raise ProtocolError(ErrorCode.NOT_MEMBER, "report someone in the salon, from the salon")
        staff = other.card.get("staff") if other.card else None  # the server's card, never the client's word
        async with self.db.session() as s:
            r = await records.report(s, c.principal.staff_id, other.id, staff, other.zone, msg.note)  # type: ignore[arg-type]
            rid = r.id
        if self.audit is not None:
            self.audit.record("salon_report", c.principal, action="report_conduct", resource=f"report:{rid}")
        log.info("salon report id=%s by=%s avatar=%s staff=%s room=%s", rid, c.principal.key, other.id, staff, other.zone)
        return {"ok": True}

    async def on_hide(self, c: "Client", msg: Any) -> dict:
        self._member(c, Action.ENTER_SALON)
        a = self.hub.world.avatars[c.avatar_id]  # type: ignore[index]
        if a.card is not None:
            a.card = {**a.card, "hidden": True} if msg.hidden else _public(a.card)
            self.hub.meta_dirty.add(a.id)  # the bus record carries it to the other nodes
        return {"ok": True}

    async def on_pin(self, c: "Client", msg: Any) -> dict:
        a = self.hub.world.avatars[c.avatar_id]  # type: ignore[index]
        here = a.zone == booths.ROOM and booths.at_booth(msg.booth, a.x, a.y)
        d = decide(c.principal, Action.PIN_SALON_BOOTH, here)
        if not d:
            raise ProtocolError(ErrorCode(d.code or "forbidden"))
        async with self.db.session() as s:
            await booths.pin(s, msg.booth, msg.topic, [link.model_dump() for link in msg.links], c.principal.staff_id)  # type: ignore[arg-type]
        await self.changed()
        if self.audit is not None:
            self.audit.record("salon_pin", c.principal, action="pin_salon_booth", resource=msg.booth)
        return {"ok": True}


def with_conduct(authenticate: Any, db: Any) -> Any:
    """The socket's principal with the account's acceptance of the code of conduct, from the database."""
    async def auth(environ: dict, data: Any = None):
        p = await authenticate(environ, data)
        if p.is_verified_staff:
            async with db.session() as s:
                if await records.conduct_accepted(s, p.staff_id):
                    p = dataclasses.replace(p, salon_conduct=True)
        return p
    return auth


__all__ = ["SALON_CODES", "SalonDesk", "with_conduct"]
