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

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

import msgpack

from yakuba.server.auth.policy import Action, SalonRoomResource, ZoneResource, decide
from yakuba.server.protocol import ErrorCode, ProtocolError, error_payload
from yakuba.server.rooms.salon import SalonRoom
from yakuba.server.salon import records
from yakuba.server.store.base import CONTROL_CHANNEL, StoreUnavailable

if TYPE_CHECKING:
    from yakuba.server.realtime.gateway import Client
    from yakuba.server.realtime.hub import Hub

log = logging.getLogger("yakuba.salon")

SALON_CODES = frozenset({"salon_staff_only", "conduct_required", "salon_room_locked", "salon_room_not_booked"})


def _public(card: dict) -> dict:
    return {k: v for k, v in card.items() if k != "hidden"}


class SalonDesk:
    def __init__(self, hub: "Hub", db: Any, refusals: Any = None, audit: Any = None) -> None:
        self.hub, self.db, self.refusals, self.audit = hub, db, refusals, audit
        self.locks: dict[str, tuple[str, float]] = {}  # room -> (municipality code, wall-clock end)
        self.salon_zones = {z.id for z in hub.world.layout.zones.values() if z.access == "salon"}
        hub.salon = self
        hub.store.subscribe(CONTROL_CHANNEL, self._on_bus)
        g = hub.gateway
        for event, fn in (("salon.conduct", self.on_conduct), ("salon.lock", self.on_lock),
                          ("salon.report", self.on_report), ("salon.hide", self.on_hide)):
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

    # -- presence and lock expiry, once per tick ----------------------------------------------
    def on_tick(self, now: float) -> None:
        wall = time.time()
        for room_id, (_, until) in list(self.locks.items()):
            if until <= wall:
                self._set_lock(room_id, None, 0.0)
        rooms = [r for r in self.hub.rooms.rooms.values() if isinstance(r, SalonRoom) and r.members]
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

    # -- meeting-room locks -------------------------------------------------------------------
    def _set_lock(self, room_id: str, municipality: str | None, until: float) -> None:
        world = self.hub.world
        if municipality is None:
            self.locks.pop(room_id, None)
            world.salon_locks.pop(room_id, None)
        else:
            self.locks[room_id] = (municipality, until)
            world.salon_locks[room_id] = municipality
        world.rules_changed()
        self.hub.rooms.get(room_id).update({"locked": municipality})

    async def _on_bus(self, channel: str, data: bytes) -> None:
        try:
            m = msgpack.unpackb(data)
            if not isinstance(m, dict) or "salon_lock" not in m or m.get("n") == self.hub.store.node_id:
                return
            room, muni, until = m["salon_lock"], m.get("m"), m.get("until", 0.0)
            if room in self.salon_zones and (muni is None or isinstance(muni, str)) and isinstance(until, (int, float)):
                self._set_lock(room, muni, float(until))
        except Exception:
            self.hub.metrics.rejected.labels("bad_bus_message").inc()
            log.exception("bad salon bus message")

    async def on_lock(self, c: "Client", msg: Any) -> dict:
        hub = self.hub
        a = hub.world.avatars[c.avatar_id]  # type: ignore[index]
        if msg.room not in self.salon_zones or "meeting" not in msg.room:
            raise ProtocolError(ErrorCode.UNKNOWN_ZONE)
        async with self.db.session() as s:
            b = await records.running(s, msg.room)
            booked_by = b.municipality_code if b is not None else None
            until = b.ends_at.timestamp() if b is not None else 0.0
        d = decide(c.principal, Action.LOCK_SALON_ROOM, SalonRoomResource(msg.room, a.zone == msg.room, booked_by))
        if not d:
            if self.audit is not None:
                self.audit.refused(c.principal, "lock_salon_room", d.code or "forbidden", msg.room)
            raise ProtocolError(ErrorCode(d.code or "forbidden"))
        muni = c.principal.municipality if msg.locked else None
        self._set_lock(msg.room, muni, until)
        if hub.store.shared:
            try:
                await hub.store.publish(CONTROL_CHANNEL, msgpack.packb(
                    {"n": hub.store.node_id, "salon_lock": msg.room, "m": muni, "until": until}))
            except StoreUnavailable:
                log.warning("salon lock room=%s not published: store unavailable", msg.room)
        if self.audit is not None:
            self.audit.record("salon_room_locked" if msg.locked else "salon_room_unlocked", c.principal,
                              action="lock_salon_room", resource=msg.room)
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
