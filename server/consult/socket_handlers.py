"""The desk queue and booths on the realtime node: socket handlers, the bus, the world's locks.

Registered by the hub (one line: ``ConsultDesk(hub)``); each handler goes through the gateway's
guard (rate limit, schema, joined) and asks the service, which asks the policy inside its
transaction. What a transaction changed goes to the other nodes on ``CONSULT_CHANNEL`` (the control channel)
(msgpack {n, consult: 1, docs: {key: [version, doc]}, sends: [[avatar, event, payload], ...]}); every node
then mirrors the booths into its world (lock, door, members; per-viewer snapshot filter; the
sign everyone sees) and pushes queue positions to its own waiting residents.

Nothing of a conversation passes here: chat stays the gateway's (zone-scoped, so a locked
booth's chat reaches only its members); audit lines and records carry ids only.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import msgpack

from yakuba.server.auth.policy import Action, decide
from yakuba.server.protocol import ErrorCode, ProtocolError, error_payload
from yakuba.server.realtime.limits import TokenBucket
from yakuba.server.rooms.booth import BoothRoom
from yakuba.server.store.base import CONTROL_CHANNEL, StoreUnavailable
from yakuba.world.state import Avatar

from .catalogue import Catalogue, load_catalogue
from .core import Booth, ConsultError
from .service import ConsultService, Outcome, booth_key
from .store import ConsultStore, MemoryConsultStore, RedisConsultStore

if TYPE_CHECKING:
    from yakuba.server.realtime.gateway import Client
    from yakuba.server.realtime.hub import Hub

log = logging.getLogger("yakuba.consult")

# Changes travel on the control channel every node always hears, tagged {consult: 1} (the hub's
# own control handler ignores messages that are neither a claim nor a revocation).
CONSULT_CHANNEL = CONTROL_CHANNEL
DEADLINE_EVERY_S = 0.5  # how often a node looks for invites and staff grace periods that ran out
BOARD_EVERY_S = 0.5  # the staff board is pushed at most this often
_AUDITED = {"forbidden", "not_in_booth", "not_booth_staff"}


LEASE_S = 15.0  # a booth's staff lease, renewed when a third of it has passed (Settings.consult_lease_s)


class ConsultDesk:
    def __init__(self, hub: "Hub", catalogue: Catalogue | None = None, store: ConsultStore | None = None, clock=None) -> None:
        self.hub = hub
        layout = hub.world.layout
        booths = sorted(z.id for z in layout.zones.values() if z.access == "members_when_locked")
        cat = catalogue or load_catalogue(booths=set(booths))
        if store is None:
            url = getattr(hub.store, "url", None)
            store = RedisConsultStore(url) if hub.store.shared and url else MemoryConsultStore()
        self.service = ConsultService(cat, store, booths, clock, grace_s=hub.config.grace_s)
        self.audit: Any = None  # the app's AuditLog (booth events by ids); set by the app
        self.inside: dict[int, str] = {}  # local avatar -> the booth it was last seen inside
        self.signs: dict[str, dict] = {}  # booth -> the sign last sent from this node
        self.sent: dict[int, dict] = {}  # local avatar -> the queue.ticket it was last sent
        self.watchers: set[str] = set()  # staff sockets that asked for the board
        self.board_dirty = False
        self._board_at = self._deadline_at = 0.0
        self.loaded = False
        self.bus_in = 0  # consult bus messages applied (tests and the bench read it)
        hub.store.subscribe(CONSULT_CHANNEL, self._on_bus)
        g = hub.gateway
        self.reservations: Any = None  # the app's ReservationService (check-in at the desk)
        self.lease_s = LEASE_S
        self.checkins: dict[str, TokenBucket] = {}  # sid -> its budget of code tries
        for event, fn in (("queue.take", self.on_take), ("queue.checkin", self.on_checkin), ("queue.leave", self.on_leave), ("queue.call", self.on_call),
                          ("queue.board", self.on_board), ("invite.accept", self.on_accept), ("booth.lock", self.on_lock),
                          ("booth.unlock", self.on_unlock), ("booth.knock", self.on_knock), ("booth.admit", self.on_admit),
                          ("booth.decline", self.on_decline), ("booth.remove", self.on_remove), ("booth.card", self.on_card),
                          ("desk.info", self.on_info)):
            hub.sio.on(event, g._guard(event, self._refusing(event, fn)))

    # -- plumbing ---------------------------------------------------------------------------------
    def _refusing(self, event: str, fn):
        """Core refusals become the gateway's ProtocolError (error event + ack); policy refusals
        are audited by ids."""
        async def handler(c: "Client", msg: Any) -> Any:
            try:
                if not self.loaded:  # a restarted node answers from the store's state, not an empty one
                    await self.load()
                return await fn(c, msg)
            except ConsultError as e:
                if e.code in _AUDITED and self.audit is not None:
                    self.audit.refused(c.principal, event, e.code, getattr(msg, "booth", None))
                raise ProtocolError(ErrorCode(e.code)) from None
            except StoreUnavailable:
                raise ProtocolError(ErrorCode.STORE_UNAVAILABLE) from None
        return handler

    def _me(self, c: "Client") -> tuple[int, str | None]:
        a = self.hub.world.avatars.get(c.avatar_id)  # type: ignore[arg-type]
        return c.avatar_id, (a.zone if a is not None else None)  # type: ignore[return-value]

    async def close(self) -> None:
        await self.service.store.close()

    async def load(self) -> None:
        try:
            await self.service.load()
        except StoreUnavailable:
            return
        self.loaded = True
        for b in self.service.booths:
            await self._apply_booth(self.service.booth(b))

    async def _after(self, out: Outcome) -> Any:
        """Deliver, record, broadcast, mirror: what every successful operation does."""
        remote = []
        for aid, event, payload in out.sends:
            if not await self._deliver_local(aid, event, payload):
                remote.append([aid, event, payload])
        if self.audit is not None:
            for who, what, rid in out.audit:
                self.audit.record("booth", who, action=what, resource=rid)
        if self.hub.store.shared and (out.changed or remote):
            msg = {"n": self.hub.store.node_id, "consult": 1, "docs": {k: [v, d] for k, (v, d) in out.changed.items()}, "sends": remote}
            try:
                await self.hub.store.publish(CONSULT_CHANNEL, msgpack.packb(msg, use_bin_type=True))
            except StoreUnavailable:
                log.warning("consult change not published: store unavailable")
        await self._changed(list(out.changed))
        return out.result

    async def _on_bus(self, channel: str, data: bytes) -> None:
        try:
            m = msgpack.unpackb(data, raw=False)
            if not isinstance(m, dict) or "consult" not in m or m.get("n") == self.hub.store.node_id:
                return
            self.bus_in += 1
            keys = [k for k, (v, d) in (m.get("docs") or {}).items() if self.service.apply(k, int(v), d)]
            for aid, event, payload in m.get("sends") or []:
                await self._deliver_local(int(aid), str(event), payload)
            await self._changed(keys)
        except Exception:
            self.hub.metrics.rejected.labels("bad_bus_message").inc()
            log.exception("bad consult bus message")

    async def _deliver_local(self, aid: int, event: str, payload: dict) -> bool:
        c = self.hub.by_avatar.get(aid)
        a = self.hub.world.avatars.get(aid)
        if c is None and (a is None or not a.local):
            return False
        if event == "_eject":
            if a is not None and a.zone == payload["booth"]:
                if self.hub.media is not None:
                    self.hub.media.reason_hint[aid] = "removed"  # media.ended says why
                await self._place(a, self._outside(payload["booth"]))
                if self.hub.media is not None:
                    self.hub.media.reason_hint.pop(aid, None)
            return True
        if event == "_enter":  # admitted into a locked booth: its closed door is no way in
            if a is not None and a.zone != payload["booth"]:
                await self._place(a, self.hub.world.layout.zones[payload["booth"]].anchor)
            return True
        if c is not None:
            if event == "queue.ticket":
                self.sent[aid] = payload
            await self.hub.sio.emit(event, payload, to=c.sid)
        return True

    async def _changed(self, keys: list[str]) -> None:
        if not keys:
            return
        self.board_dirty = True
        for k in keys:
            if k.startswith("booth:"):
                await self._apply_booth(self.service.booth(k[6:]))
            elif k.startswith("dept:"):
                await self._push_tickets(k[5:])

    async def _push_tickets(self, dept: str) -> None:
        """Each local waiting resident whose position or estimate changed is told."""
        svc, hub = self.service, self.hub
        q = svc.dept(dept)
        for t in q.tickets.values():
            c = hub.by_avatar.get(t.avatar)
            if c is None:
                continue
            view = svc.ticket_view(t, q)
            if self.sent.get(t.avatar) != view:
                self.sent[t.avatar] = view
                await hub.sio.emit("queue.ticket", view, to=c.sid)

    # -- the booths in this node's world -------------------------------------------------------------
    async def _apply_booth(self, b: Booth) -> None:
        world, hub = self.hub.world, self.hub
        bs = world.booths.get(b.id)
        if bs is None:
            return
        newly_locked = b.locked and not bs.locked
        if b.locked and not bs.locked:
            world.lock_booth(b.id, set(b.members))  # closes its door in the collision world
        elif not b.locked and bs.locked:
            world.unlock_booth(b.id)
        elif b.locked:
            bs.members = set(b.members)
        # Outsiders' snapshots never hold a locked booth's members (sync filters per viewer).
        hub.sync.hidden = {m: frozenset(s.members) for s in world.booths.values() if s.locked for m in s.members}
        room = hub.rooms.get(b.id)
        if isinstance(room, BoothRoom):
            room.set_locked(b.locked)
        sign = b.sign()
        if self.signs.get(b.id) != sign:
            self.signs[b.id] = sign
            await hub.broadcast("booth.state", sign)  # every client of this node: the 相談中 sign
        if b.locked:
            for a in list(world.avatars.values()):
                if a.local and a.zone == b.id and a.id not in bs.members:
                    if hub.media is not None:  # their media ends as they are put out (rooms' left hook)
                        hub.media.reason_hint[a.id] = "locked" if newly_locked else "removed"
                    await self._place(a, self._outside(b.id))
                    c = hub.by_avatar.get(a.id)
                    if c is not None:
                        await hub.sio.emit("error", error_payload(ErrorCode.BOOTH_LOCKED, "booth.lock"), to=c.sid)
            if hub.media is not None:  # and anything the lock no longer allows (members only)
                await hub.media.revalidate(b.id, "locked" if newly_locked else "denied")
                hub.media.reason_hint.clear()

    def _outside(self, booth: str) -> tuple[float, float]:
        """A free point just outside the booth's door (where a removed person is put)."""
        layout, col = self.hub.world.layout, self.hub.world.collider
        for d in layout.doors.values():
            if d.zone != booth:
                continue
            (ax, ay), (bx, by) = d.a, d.b
            mx, my = (ax + bx) / 2, (ay + by) / 2
            nx, ny = -(by - ay), bx - ax
            n = math.hypot(nx, ny) or 1.0
            for s in (0.9, -0.9, 1.5, -1.5):
                px, py = mx + nx / n * s, my + ny / n * s
                z = layout.zone_at(px, py)
                if z is not None and z.id != booth and col.is_free(px, py):
                    return px, py
        x, y, _ = self.hub.world.spawn_point()
        return x, y

    async def _place(self, a: Avatar, p: tuple[float, float]) -> None:
        hub = self.hub
        hub.world.stop(a.id)
        a.x, a.y = p
        z = hub.world.layout.zone_at(*p)
        self.inside.pop(a.id, None)
        if z is not None and z.id != a.zone:
            hub.moved_from.setdefault(a.id, a.zone)
            a.zone = z.id
            hub.meta_dirty.add(a.id)
            c = hub.by_avatar.get(a.id)
            if c is not None:
                await hub.gateway.enter_zone(c, z.id)

    def on_resume(self, a: Avatar) -> bool:
        """A resumed avatar whose record puts it inside a locked booth it is not a member of is
        put outside the door (True: tell the client booth_locked)."""
        bs = self.hub.world.booths.get(a.zone)
        if bs is None or not bs.locked or a.id in bs.members:
            return False
        x, y = self._outside(a.zone)
        z = self.hub.world.layout.zone_at(x, y)
        a.x, a.y, a.zone, a.path = x, y, (z.id if z else a.zone), []
        return True

    # -- the tick ----------------------------------------------------------------------------------
    async def on_tick(self, now_mono: float) -> None:
        """Called by the hub once per tick: members seen leaving their booth, staff sockets gone
        or back, deadlines, the staff board."""
        if not self.loaded:
            await self.load()
            if not self.loaded:
                return
        svc, world, hub = self.service, self.hub.world, self.hub
        try:
            for bid in svc.booths:
                b = svc.booth(bid)
                if b.staff is None:
                    continue
                for m in list(b.members):
                    a = world.avatars.get(m)
                    if m in hub.gone_local and (a is None or a.local):
                        await self._after(await svc.member_left(bid, m))
                        self.inside.pop(m, None)
                        continue
                    if a is None or not a.local:
                        continue
                    if a.zone == bid:
                        self.inside[m] = bid
                    elif self.inside.get(m) == bid:
                        del self.inside[m]
                        await self._after(await svc.member_left(bid, m))
                sa = world.avatars.get(b.staff) if b.staff is not None else None
                if sa is not None and sa.local and sa.away != (b.away_since is not None):
                    await self._after(await svc.staff_presence(bid, not sa.away))
                if sa is not None and sa.local and not sa.away:
                    now = svc.now()
                    if b.lease_until is None or b.lease_until - now < self.lease_s * 2 / 3:
                        await self._after(await svc.renew_lease(bid, now + self.lease_s))
            now = svc.now()
            if now >= self._deadline_at:
                self._deadline_at = now + DEADLINE_EVERY_S
                depts, booths = svc.due(now)
                for d in depts:
                    await self._after(await svc.expire_invites(d))
                for bid in booths:
                    await self._after(await svc.release_booth(bid))
            if self.board_dirty and self.watchers and now >= self._board_at:
                self._board_at, self.board_dirty = now + BOARD_EVERY_S, False
                board = svc.board()
                for sid in list(self.watchers):
                    if sid in hub.clients:
                        await hub.sio.emit("queue.board", board, to=sid)
                    else:
                        self.watchers.discard(sid)
        except (StoreUnavailable, ConsultError) as e:
            log.warning("consult tick: %s", type(e).__name__)

    # -- handlers ----------------------------------------------------------------------------------
    async def on_take(self, c: "Client", msg) -> dict:
        # priority=True is for reservations' check-in only (server/consult/reservations.py).
        out = await self.service.take(c.principal, c.avatar_id, msg.topic)  # type: ignore[arg-type]
        return {"ok": True, "ticket": await self._after(out)}

    async def on_checkin(self, c: "Client", msg) -> dict:
        """A reservation code at the desk becomes a priority ticket for the booked topic. Code
        tries are budgeted per socket (a code is 8 of 23 letters; guessing stays hopeless)."""
        if self.reservations is None:
            raise ProtocolError(ErrorCode.UNKNOWN_BOOKING, "reservations are not available here")
        bucket = self.checkins.setdefault(c.sid, TokenBucket(0.1, 5))
        if len(self.checkins) > 10_000:
            self.checkins = {k: v for k, v in self.checkins.items() if k in self.hub.clients}
        if not bucket.take():
            raise ProtocolError(ErrorCode.RATE_LIMITED)
        if self.service.ticket_of(c.avatar_id) is not None:  # type: ignore[arg-type]
            raise ProtocolError(ErrorCode.ALREADY_QUEUED)
        topic, _booking = await self.reservations.check_in(msg.code, principal=c.principal)
        out = await self.service.take(c.principal, c.avatar_id, topic, priority=True)  # type: ignore[arg-type]
        return {"ok": True, "ticket": await self._after(out)}

    async def on_leave(self, c: "Client", msg) -> dict:
        await self._after(await self.service.leave(c.principal, c.avatar_id))  # type: ignore[arg-type]
        return {"ok": True}

    async def on_call(self, c: "Client", msg) -> dict:
        aid, zone = self._me(c)
        out = await self.service.call(c.principal, aid, zone, msg.booth, msg.ticket)
        return {"ok": True, "ticket": await self._after(out)}

    async def on_accept(self, c: "Client", msg) -> dict:
        out = await self.service.accept(c.principal, c.avatar_id, msg.ticket)  # type: ignore[arg-type]
        view = await self._after(out)
        booth = view["booth"]
        reason = self.hub.world.set_goto(c.avatar_id, booth)  # type: ignore[arg-type]
        if reason == "blocked" or reason == "no_path":  # a locked door on the way: let the member in
            await self._place(self.hub.world.avatars[c.avatar_id], self.hub.world.layout.zones[booth].anchor)  # type: ignore[index]
        return {"ok": True, "ticket": view}

    async def on_board(self, c: "Client", msg) -> dict:
        d = decide(c.principal, Action.VIEW_QUEUE)
        if not d:
            raise ConsultError(d.code or "forbidden")
        if msg.topic is not None and msg.topic not in self.service.catalogue.topics:
            raise ConsultError("unknown_topic")
        self.watchers.add(c.sid)
        return {"ok": True, **self.service.board([msg.topic] if msg.topic else None)}

    async def on_info(self, c: "Client", msg) -> dict:
        return {"ok": True, "catalogue": self.service.catalogue.public(), "booths": [self.service.booth(b).sign() for b in self.service.booths]}

    async def _booth(self, c: "Client", booth: str, op: str, target: int | None = None, card: dict | None = None) -> dict:
        aid, zone = self._me(c)
        await self._after(await self.service.booth_op(c.principal, aid, zone, booth, op, target, card))
        return {"ok": True}

    async def on_lock(self, c: "Client", msg) -> dict:
        return await self._booth(c, msg.booth, "lock")

    async def on_unlock(self, c: "Client", msg) -> dict:
        return await self._booth(c, msg.booth, "unlock")

    async def on_admit(self, c: "Client", msg) -> dict:
        return await self._booth(c, msg.booth, "admit", msg.avatar)

    async def on_decline(self, c: "Client", msg) -> dict:
        return await self._booth(c, msg.booth, "decline", msg.avatar)

    async def on_remove(self, c: "Client", msg) -> dict:
        return await self._booth(c, msg.booth, "remove", msg.avatar)

    async def on_card(self, c: "Client", msg) -> dict:
        return await self._booth(c, msg.booth, "card", card={"title": msg.title, "url": msg.url})

    async def on_knock(self, c: "Client", msg) -> dict:
        await self._after(self.service.knock(c.principal, c.avatar_id, msg.booth))  # type: ignore[arg-type]
        return {"ok": True}


__all__ = ["CONSULT_CHANNEL", "ConsultDesk"]
