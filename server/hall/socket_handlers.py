"""The event hall's socket events (server/protocol/hall_events.py) on the realtime node.

Each handler goes through the gateway's guard (rate limit, schema, joined) and the hall room's
methods, which ask the policy. A change goes out at once (the room's patch rate allowing), not
at the next tick: attendees follow the presenter within a frame or two. Spectators (`hall.watch`,
no avatar) get the same patches through the hall's socket room.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import msgpack

from yakuba.server.protocol import ErrorCode, ProtocolError
from yakuba.server.realtime.limits import TokenBucket
from yakuba.server.rooms.base import Room, RoomError
from yakuba.server.rooms.hall import HallRoom
from yakuba.server.store.base import CONTROL_CHANNEL, StoreUnavailable
from yakuba.world.zones import Role

from . import replication as rep

if TYPE_CHECKING:
    from yakuba.server.realtime.gateway import Client
    from yakuba.server.realtime.hub import Hub

log = logging.getLogger("yakuba.hall")
_CODES = {c.value for c in ErrorCode}
HALL_EVENTS_IN = ("hall.present", "hall.release", "hall.cohost", "hall.handover", "hall.show", "hall.agenda",
                  "hall.ask", "hall.upvote", "hall.pick", "hall.answered", "hall.react", "hall.poll",
                  "hall.poll_close", "hall.vote", "hall.summary")
MAX_SPECTATORS = 2000  # per node: sockets following the hall without an avatar


class HallDesk:
    def __init__(self, hub: "Hub") -> None:
        self.hub = hub
        self.reacts: dict[str, TokenBucket] = {}  # sid -> reactions budget (a clap storm stays a counter)
        self.spectators: set[str] = set()
        self.later: set[str] = set()  # rooms with a flush scheduled
        self.stage: dict[str, tuple] = {}  # room -> (presenter, copresenters) last published or applied
        self.bus_in = 0  # other nodes' hall changes applied (tests read it)
        hub.rooms.created.append(self._created)
        for room in list(hub.rooms.rooms.values()):  # made before us (the events' attach_hall)
            self._created(room)
        hub.rooms.left.append(self._left)
        hub.store.subscribe(CONTROL_CHANNEL, self._on_bus)
        g = hub.gateway
        for event in HALL_EVENTS_IN:
            fn = getattr(self, "on_" + event.split(".", 1)[1])
            hub.sio.on(event, g._guard(event, self._refusing(fn)))
        hub.sio.on("hall.watch", g._guard("hall.watch", self._refusing(self.on_watch), joined=False))

    def _refusing(self, fn):
        async def handler(c: "Client", msg: Any) -> Any:
            try:
                return await fn(c, msg)
            except RoomError as e:
                code = ErrorCode(e.code) if e.code in _CODES else ErrorCode.FORBIDDEN
                raise ProtocolError(code, str(e)[:200]) from None
        return handler

    # -- several nodes (replication.py) ---------------------------------------------------------------
    def _created(self, room: Room) -> None:
        if isinstance(room, HallRoom):
            room.in_hall = lambda a, room=room: self._in_hall(room, a)

    def _in_hall(self, room: HallRoom, aid: int) -> bool:
        """Our own avatars by the room's members; other nodes' by our replica of them."""
        a = self.hub.world.avatars.get(aid)
        if a is None or a.local:
            return aid in room.members
        return a.zone == room.id

    def _stage(self, room: HallRoom) -> tuple:
        return room.state["presenter"], tuple(room.state["copresenters"])

    def _left(self, room: Room, member: int) -> None:
        """A member left this node's copy: if that moved the stage (the presenter went), the
        other copies learn it from here."""
        if isinstance(room, HallRoom) and self._stage(room) != self.stage.get(room.id, (None, ())):
            self.stage[room.id] = self._stage(room)
            patch = {"presenter": room.state["presenter"], "copresenters": list(room.state["copresenters"])}
            asyncio.ensure_future(self._send(room, "stage", [], member, None, patch))

    async def _send(self, room: HallRoom, op: str, args: list, actor: int, p, patch: dict) -> None:
        if self.hub.store.shared:
            from yakuba.server.auth.principal import Principal

            data = rep.pack(self.hub.store.node_id, room.id, op, args, actor, p or Principal(), patch)
            try:
                await self.hub.store.publish(CONTROL_CHANNEL, data)
            except StoreUnavailable:
                log.warning("hall change not published: store unavailable")
        await self._flush(room)

    async def _on_bus(self, channel: str, data: bytes) -> None:
        try:
            m = msgpack.unpackb(data, raw=False)
            if not isinstance(m, dict) or m.get("hall") != 1 or m.get("n") == self.hub.store.node_id:
                return
            room = self.hub.rooms.get(str(m["room"]))
            if not isinstance(room, HallRoom):
                return
            rep.apply(room, m)
            self.stage[room.id] = self._stage(room)
            self.bus_in += 1
            await self._flush(room)
        except Exception:
            log.exception("bad hall message")

    def _room(self, c: "Client", room_id: str) -> HallRoom:
        room = self.hub.rooms.rooms.get(room_id)
        if not isinstance(room, HallRoom) or c.avatar_id not in room.members:
            raise RoomError("not_member", "enter the hall first")
        return room

    async def _flush(self, room: HallRoom) -> None:
        """Send the room's patch now, or as soon as its rate allows (not at the next tick: a
        presenter's drag is followed within 1/patch_hz)."""
        now = self.hub.clock.now()
        msg = room.due(now)
        if msg is not None:
            await self.hub.sio.emit("room_patch", msg, room="zone:" + room.id)
            return
        wait = room.wait(now)
        if wait is not None and room.id not in self.later:
            self.later.add(room.id)
            asyncio.get_running_loop().call_later(wait, lambda: asyncio.ensure_future(self._later(room)))

    async def _later(self, room: HallRoom) -> None:
        self.later.discard(room.id)
        await self._flush(room)

    async def _do(self, c: "Client", room_id: str, op: str, *args) -> dict:
        """One operation on this node's copy (the policy decides here), then to the others."""
        assert op in rep.OPS  # what the other nodes will apply
        room = self._room(c, room_id)
        before = rep.public(room)
        result = getattr(HallRoom, op)(room, c.principal, c.avatar_id, *args)
        self.stage[room.id] = self._stage(room)
        await self._send(room, op, list(args), c.avatar_id, c.principal, rep.diff(before, room))
        return {"ok": True, **({"id": result} if op in ("ask", "open_poll") else {})}

    # -- the stage -----------------------------------------------------------------------------------
    async def on_present(self, c, msg):
        return await self._do(c, msg.room, "present")

    async def on_release(self, c, msg):
        out = await self._do(c, msg.room, "release")
        await self._stage_changed(msg.room)
        return out

    async def _stage_changed(self, room_id: str) -> None:
        """Who may share in the hall follows the stage: a presenter who handed over or stepped
        down stops publishing at once (the media policy reads the room's presenter)."""
        if self.hub.media is not None:
            await self.hub.media.revalidate(room_id, "denied")

    async def on_cohost(self, c, msg):
        # the avatar's world role (replicated from its own node: a co-presenter may be on another)
        other = self.hub.world.avatars.get(msg.avatar)
        return await self._do(c, msg.room, "cohost", msg.avatar, bool(other is not None and other.role is Role.STAFF))

    async def on_handover(self, c, msg):
        out = await self._do(c, msg.room, "handover", msg.avatar)
        await self._stage_changed(msg.room)
        return out

    async def on_show(self, c, msg):
        patch = msg.patch.model_dump(exclude_unset=True)
        if isinstance(patch.get("camera"), dict):
            patch["camera"] = {k: round(float(v), 3) for k, v in patch["camera"].items()}
        return await self._do(c, msg.room, "show", patch, list(msg.clear))

    async def on_agenda(self, c, msg):
        return await self._do(c, msg.room, "agenda", msg.items, msg.current, msg.timer_s, time.time())

    # -- taking part -------------------------------------------------------------------------------
    async def on_ask(self, c, msg):
        a = self.hub.world.avatars.get(c.avatar_id)
        name = None if msg.anonymous or a is None else a.name
        return await self._do(c, msg.room, "ask", msg.text, name, rep.new_id() if self.hub.store.shared else None)

    async def on_upvote(self, c, msg):
        return await self._do(c, msg.room, "upvote", msg.question)

    async def on_pick(self, c, msg):
        return await self._do(c, msg.room, "pick", msg.question)

    async def on_answered(self, c, msg):
        return await self._do(c, msg.room, "answered", msg.question)

    async def on_react(self, c, msg):
        b = self.reacts.get(c.sid)
        if b is None:
            if len(self.reacts) > 4 * len(self.hub.clients) + 64:
                self.reacts = {k: v for k, v in self.reacts.items() if k in self.hub.clients}
            b = self.reacts[c.sid] = TokenBucket(1, 5)
        if not b.take():
            raise ProtocolError(ErrorCode.RATE_LIMITED)
        await self._do(c, msg.room, "react", msg.kind)

    async def on_poll(self, c, msg):
        return await self._do(c, msg.room, "open_poll", msg.question, list(msg.options),
                              rep.new_id() if self.hub.store.shared else None)

    async def on_poll_close(self, c, msg):
        return await self._do(c, msg.room, "close_poll")

    async def on_vote(self, c, msg):
        return await self._do(c, msg.room, "vote", msg.poll, msg.option, msg.why)

    async def on_summary(self, c, msg):
        room = self._room(c, msg.room)
        return {"ok": True, "summary": room.summary(c.principal, c.avatar_id)}

    # -- spectators ------------------------------------------------------------------------------------
    async def on_watch(self, c, msg):
        """Follow the hall without an avatar: its state now, its patches from now on."""
        room = self.hub.rooms.get(msg.room)
        if not isinstance(room, HallRoom):
            raise RoomError("unknown_zone", "not a hall")
        if c.sid not in self.spectators:
            self.spectators &= set(self.hub.clients)
            if len(self.spectators) >= MAX_SPECTATORS:
                raise ProtocolError(ErrorCode.BUSY, "the hall's spectator places are full")
            self.spectators.add(c.sid)
            c.watching = True
            await self.hub.sio.enter_room(c.sid, "zone:" + room.id)
        return {"ok": True, "room": room.snapshot()}


__all__ = ["HallDesk"]
