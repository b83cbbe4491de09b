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

from yakuba.server.protocol import ErrorCode, ProtocolError
from yakuba.server.realtime.limits import TokenBucket
from yakuba.server.rooms.base import RoomError
from yakuba.server.rooms.hall import HallRoom

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

    async def _do(self, c: "Client", room_id: str, fn, *args) -> dict:
        room = self._room(c, room_id)
        fn(room, c.principal, c.avatar_id, *args)
        await self._flush(room)
        return {"ok": True}

    # -- the stage -----------------------------------------------------------------------------------
    async def on_present(self, c, msg):
        return await self._do(c, msg.room, HallRoom.present)

    async def on_release(self, c, msg):
        out = await self._do(c, msg.room, HallRoom.release)
        await self._stage_changed(msg.room)
        return out

    async def _stage_changed(self, room_id: str) -> None:
        """Who may share in the hall follows the stage: a presenter who handed over or stepped
        down stops publishing at once (the media policy reads the room's presenter)."""
        if self.hub.media is not None:
            await self.hub.media.revalidate(room_id, "denied")

    async def on_cohost(self, c, msg):
        other = self.hub.by_avatar.get(msg.avatar)
        return await self._do(c, msg.room, HallRoom.cohost, msg.avatar, bool(other and other.principal.is_staff))

    async def on_handover(self, c, msg):
        out = await self._do(c, msg.room, HallRoom.handover, msg.avatar)
        await self._stage_changed(msg.room)
        return out

    async def on_show(self, c, msg):
        patch = msg.patch.model_dump(exclude_unset=True)
        if isinstance(patch.get("camera"), dict):
            patch["camera"] = {k: round(float(v), 3) for k, v in patch["camera"].items()}
        return await self._do(c, msg.room, HallRoom.show, patch, list(msg.clear))

    async def on_agenda(self, c, msg):
        return await self._do(c, msg.room, HallRoom.agenda, msg.items, msg.current, msg.timer_s, time.time())

    # -- taking part -------------------------------------------------------------------------------
    async def on_ask(self, c, msg):
        a = self.hub.world.avatars.get(c.avatar_id)
        name = None if msg.anonymous or a is None else a.name
        room = self._room(c, msg.room)
        qid = room.ask(c.principal, c.avatar_id, msg.text, name)
        await self._flush(room)
        return {"ok": True, "id": qid}

    async def on_upvote(self, c, msg):
        return await self._do(c, msg.room, HallRoom.upvote, msg.question)

    async def on_pick(self, c, msg):
        return await self._do(c, msg.room, HallRoom.pick, msg.question)

    async def on_answered(self, c, msg):
        return await self._do(c, msg.room, HallRoom.answered, msg.question)

    async def on_react(self, c, msg):
        b = self.reacts.get(c.sid)
        if b is None:
            if len(self.reacts) > 4 * len(self.hub.clients) + 64:
                self.reacts = {k: v for k, v in self.reacts.items() if k in self.hub.clients}
            b = self.reacts[c.sid] = TokenBucket(1, 5)
        if not b.take():
            raise ProtocolError(ErrorCode.RATE_LIMITED)
        await self._do(c, msg.room, HallRoom.react, msg.kind)

    async def on_poll(self, c, msg):
        room = self._room(c, msg.room)
        pid = room.open_poll(c.principal, c.avatar_id, msg.question, list(msg.options))
        await self._flush(room)
        return {"ok": True, "id": pid}

    async def on_poll_close(self, c, msg):
        return await self._do(c, msg.room, HallRoom.close_poll)

    async def on_vote(self, c, msg):
        return await self._do(c, msg.room, HallRoom.vote, msg.poll, msg.option, msg.why)

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
