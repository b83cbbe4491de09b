"""Media in rooms: who publishes what, who watches it, and ending it the moment that stops being allowed.

The service keeps the streams (publications) and subscriptions of this node's rooms, asks the
policy (Action.PUBLISH_MEDIA / SUBSCRIBE_MEDIA / SHARE_DOC with a MediaResource read from the
live room and the world's booth lock, never from the client) before every backend call, and
writes the room's media state (rooms/media_state.py) so members see streams and documents
with the room's own patches.

Ending media is synchronous bookkeeping plus an asynchronous backend close: when a member
leaves a room (walked out, put outside by a lock or a removal, disconnected), the registry's
``left`` hook forgets their streams and subscriptions at once, so no later signalling can
touch them, and closes them in the backend (which stops forwarding before it returns).

The rooms are this node's: with several nodes, a booth's staff and resident must be on the
same node for media (docs/media.md says how the proxy keeps them together).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

from yakuba.server.auth.policy import Action, MediaResource, decide
from yakuba.server.auth.principal import Principal
from yakuba.server.rooms.base import Room

from .backend import MediaBackend, MediaError
from .documents import DocumentShelf

log = logging.getLogger("yakuba.media")

HEARING_MARGIN_M = 2.0  # a subscription in an open-plan room ends a little beyond hearing (no flapping at the edge)

Emit = Callable[[int, str, dict], Awaitable[None]]  # (avatar, event, payload) to that avatar's socket


def new_id() -> str:
    return secrets.token_urlsafe(9)  # 12 characters, 72 bits


@dataclass
class Stream:
    id: str
    room: str
    owner: int  # avatar id
    source: str
    muted: bool = False
    audio_only: bool = False
    subs: set[str] = field(default_factory=set)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "owner": self.owner, "source": self.source, "muted": self.muted, "audio_only": self.audio_only}


@dataclass
class Subscription:
    id: str
    room: str
    stream: str
    avatar: int


class MediaService:
    def __init__(self, backend: MediaBackend, rooms: Any, booths: Any, shelf: DocumentShelf,
                 emit: Emit, max_streams_per_room: int = 8, max_subscriptions: int = 12) -> None:
        self.backend = backend
        self.rooms = rooms  # RoomRegistry
        self.booths = booths  # world.booths: booth id -> BoothState (the lock and its members)
        self.shelf = shelf
        self.emit = emit
        self.max_streams_per_room = max_streams_per_room
        self.max_subscriptions = max_subscriptions
        self.streams: dict[str, Stream] = {}
        self.subs: dict[str, Subscription] = {}
        self.refused: dict[str, int] = {}  # action -> refusals (metrics; the audit has the ids)
        self.audit: Any = None
        self.reason_hint: dict[int, str] = {}  # avatar -> why it is about to leave a room (locked, removed)
        self._closing: set[asyncio.Task] = set()
        self.principal_of: Callable[[int], Principal | None] = lambda aid: None  # set by the desk (revalidate)
        self.holds: Mapping[str, Any] = {}  # held salon rooms (world.salon_locks, set by the salon desk)
        # Open-plan rooms (the salon's lounge): the hearing distance, and between two avatars
        # (set by the salon desk; None: everyone in the room hears everyone)
        self.hearing_of: Callable[[str], float | None] = lambda room: None
        self.distance: Callable[[int, int], float] = lambda a, b: 0.0
        backend.on_peer_closed = self._peer_closed
        rooms.left.append(self._on_left)

    # -- the policy's view of a room --------------------------------------------------------------
    def resource(self, room_id: str, avatar: int, source: str | None = None, owner: int | None = None) -> MediaResource:
        """``owner``: for a subscription, the stream's owner (in an open-plan room whether they are
        within hearing of ``avatar``: ``hearing_of`` the room, plus a margin against flapping)."""
        room: Room | None = self.rooms.rooms.get(room_id)
        if room is None:
            return MediaResource(room_id, "lobby", avatar, False)
        member = avatar in room.members
        bs = self.booths.get(room_id)
        if bs is not None and bs.locked:
            member = member and avatar in bs.members  # a locked booth: only those the staff admitted
        presenter = room.state.get("presenter") if room.type == "hall" else None
        hearing = self.hearing_of(room_id) if owner is not None else None
        if hearing is not None:
            near = self.distance(avatar, owner) <= hearing + HEARING_MARGIN_M  # type: ignore[arg-type]
            return MediaResource(room_id, room.type, avatar, member, presenter, source, near=near)
        hold = self.holds.get(room_id)
        if hold is not None and room.type == "salon":  # a salon event's moderation (server/salon)
            p = self.principal_of(avatar)
            staff = p.staff_id if p is not None else None
            return MediaResource(room_id, room.type, avatar, member, presenter, source, muted=staff in hold.muted,
                                 event_screen=None if hold.organiser is None else staff == hold.organiser)
        return MediaResource(room_id, room.type, avatar, member, presenter, source)

    def check(self, p: Principal, action: Action, room_id: str, avatar: int, source: str | None = None,
              owner: int | None = None) -> None:
        d = decide(p, action, self.resource(room_id, avatar, source, owner))
        if not d:
            self.refused[action.value] = self.refused.get(action.value, 0) + 1
            if self.audit is not None:
                self.audit.refused(p, action.value, d.code or "media_forbidden", room_id)
            log.info("media refused action=%s room=%s avatar=%s code=%s", action.value, room_id, avatar, d.code)
            raise MediaError(d.code or "media_forbidden", d.reason)

    # -- publish and subscribe ----------------------------------------------------------------------
    async def publish(self, p: Principal, avatar: int, room_id: str, source: str, sdp: str,
                      ice: list[dict], audio_only: bool = False) -> tuple[str, str]:
        self.check(p, Action.PUBLISH_MEDIA, room_id, avatar, source)
        mine = [s for s in self.streams.values() if s.room == room_id]
        if len(mine) >= self.max_streams_per_room:
            raise MediaError("media_limit", f"a room has at most {self.max_streams_per_room} streams")
        for s in mine:  # one stream per source per person: a second offer replaces the first
            if s.owner == avatar and s.source == source:
                await self.stop(avatar, s.id, "stopped")
        sid = new_id()
        answer = await self.backend.publish(room_id, sid, sdp, ice)
        # The room may have changed while the backend negotiated (a lock, a walk out).
        if not decide(p, Action.PUBLISH_MEDIA, self.resource(room_id, avatar, source)):
            await self.backend.close_peer(sid)
            raise MediaError("media_forbidden", "left the room while connecting")
        self.streams[sid] = Stream(sid, room_id, avatar, source, audio_only=audio_only)
        self._publish_state(room_id)
        log.info("media publish room=%s avatar=%s stream=%s source=%s", room_id, avatar, sid, source)
        return sid, answer

    async def subscribe(self, p: Principal, avatar: int, room_id: str, stream_id: str, ice: list[dict]) -> tuple[str, str]:
        self.check(p, Action.SUBSCRIBE_MEDIA, room_id, avatar)
        s = self.streams.get(stream_id)
        if s is None or s.room != room_id:
            raise MediaError("unknown_stream", "no such stream in this room")
        if s.owner == avatar:
            raise MediaError("invalid_payload", "that is your own stream")
        if sum(1 for x in self.subs.values() if x.avatar == avatar) >= self.max_subscriptions:
            raise MediaError("media_limit", f"at most {self.max_subscriptions} subscriptions")
        self.check(p, Action.SUBSCRIBE_MEDIA, room_id, avatar, owner=s.owner)  # within hearing, in the lounge
        sub_id = new_id()
        offer = await self.backend.subscribe(room_id, sub_id, stream_id, ice)
        if stream_id not in self.streams or not decide(p, Action.SUBSCRIBE_MEDIA, self.resource(room_id, avatar, owner=s.owner)):
            await self.backend.close_peer(sub_id)
            raise MediaError("media_forbidden", "the stream or the membership ended while connecting")
        self.subs[sub_id] = Subscription(sub_id, room_id, stream_id, avatar)
        s.subs.add(sub_id)
        return sub_id, offer

    def _own(self, avatar: int, peer: str) -> Stream | Subscription:
        x = self.streams.get(peer) or self.subs.get(peer)
        if x is None or (x.owner if isinstance(x, Stream) else x.avatar) != avatar:
            raise MediaError("unknown_stream", "not one of your streams")  # another's id is not yours to touch
        return x

    async def answer(self, avatar: int, sub_id: str, sdp: str) -> None:
        if not isinstance(self._own(avatar, sub_id), Subscription):
            raise MediaError("unknown_stream", "answer a subscription")
        await self.backend.answer(sub_id, sdp)

    async def add_ice(self, avatar: int, peer: str, candidate: dict | None) -> None:
        self._own(avatar, peer)
        await self.backend.add_ice(peer, candidate)

    async def mute(self, avatar: int, stream_id: str, muted: bool) -> None:
        s = self._own(avatar, stream_id)
        if not isinstance(s, Stream):
            raise MediaError("unknown_stream", "mute a stream you publish")
        if s.muted != muted:
            s.muted = muted
            self._publish_state(s.room)

    async def stop(self, avatar: int, peer: str, reason: str = "stopped", tell_owner: bool = False) -> None:
        x = self._own(avatar, peer)
        await self._end(x, reason, tell_owner)

    # -- ending -----------------------------------------------------------------------------------
    def _forget(self, x: Stream | Subscription, reason: str) -> list[tuple[int, str, str]]:
        """Drop from the registry now; the (avatar, peer id, reason) to close and tell."""
        out: list[tuple[int, str, str]] = []
        if isinstance(x, Stream):
            if self.streams.pop(x.id, None) is None:
                return out
            for sub_id in list(x.subs):
                sub = self.subs.pop(sub_id, None)
                if sub is not None:
                    out.append((sub.avatar, sub.id, "stopped"))
            out.append((x.owner, x.id, reason))
            self._publish_state(x.room)
        else:
            if self.subs.pop(x.id, None) is None:
                return out
            s = self.streams.get(x.stream)
            if s is not None:
                s.subs.discard(x.id)
            out.append((x.avatar, x.id, reason))
        return out

    async def _close(self, ends: list[tuple[int, str, str]], tell: bool = True) -> None:
        for avatar, peer, reason in ends:
            try:
                await self.backend.close_peer(peer)
            except Exception:  # a backend that cannot close must not keep the others open
                log.exception("media close failed peer=%s", peer)
            if tell:
                await self.emit(avatar, "media.ended", {"id": peer, "reason": reason})

    async def _end(self, x: Stream | Subscription, reason: str, tell_owner: bool) -> None:
        ends = self._forget(x, reason)
        # The one who asked (media.stop) knows; everyone else affected is told.
        owner = x.owner if isinstance(x, Stream) else x.avatar
        await self._close([e for e in ends if e[0] != owner or tell_owner])
        await self._close([e for e in ends if e[0] == owner and not tell_owner], tell=False)

    def _on_left(self, room: Room, avatar: int) -> None:
        """The registry's hook (synchronous): forget at once, close in a task."""
        reason = self.reason_hint.pop(avatar, "left")
        ends: list[tuple[int, str, str]] = []
        for s in [s for s in self.streams.values() if s.room == room.id and s.owner == avatar]:
            ends += self._forget(s, reason)
        for sub in [x for x in self.subs.values() if x.room == room.id and x.avatar == avatar]:
            ends += self._forget(sub, reason)
        if not room.members:
            if self.shelf.drop_room(room.id) or room.state.get("doc") is not None:
                room.update({"doc": None, "page": 1, "pointer": None})  # nothing kept after the session
        if ends:
            self._spawn(self._close(ends))

    async def revalidate(self, room_id: str, reason: str = "denied") -> int:
        """Re-ask the policy for every stream and subscription of a room (after a lock, a change
        of presenter): what is no longer allowed ends now. Returns how many ended."""
        ends: list[tuple[int, str, str]] = []
        for s in [s for s in self.streams.values() if s.room == room_id]:
            if not self._allowed(Action.PUBLISH_MEDIA, room_id, s.owner, s.source):
                ends += self._forget(s, reason)
        for sub in [x for x in self.subs.values() if x.room == room_id]:
            s = self.streams.get(sub.stream)
            if not self._allowed(Action.SUBSCRIBE_MEDIA, room_id, sub.avatar, owner=s.owner if s is not None else None):
                ends += self._forget(sub, reason)
        await self._close(ends)
        return len(ends)

    def _allowed(self, action: Action, room_id: str, avatar: int, source: str | None = None, owner: int | None = None) -> bool:
        p = self.principal_of(avatar)
        return p is not None and bool(decide(p, action, self.resource(room_id, avatar, source, owner)))

    async def _peer_closed(self, peer: str) -> None:
        x = self.streams.get(peer) or self.subs.get(peer)
        if x is not None:
            await self._close(self._forget(x, "failed"))

    def _spawn(self, coro: Awaitable[None]) -> None:
        t = asyncio.ensure_future(coro)
        self._closing.add(t)
        t.add_done_callback(self._closing.discard)

    async def settle(self) -> None:
        """Wait for the closes in flight (tests, shutdown)."""
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)

    async def close(self) -> None:
        await self.settle()
        await self.backend.close()

    # -- room state ---------------------------------------------------------------------------------
    def _publish_state(self, room_id: str) -> None:
        room = self.rooms.rooms.get(room_id)
        if room is not None:
            room.update({"streams": [s.public() for s in self.streams.values() if s.room == room_id]})

    # -- documents ------------------------------------------------------------------------------------
    def show_doc(self, p: Principal, avatar: int, room_id: str, doc_id: str | None, page: int) -> None:
        self.check(p, Action.SHARE_DOC, room_id, avatar)
        room = self.rooms.rooms[room_id]
        if doc_id is None:
            room.update({"doc": None, "page": 1, "pointer": None})
            return
        doc = self.shelf.get(doc_id)
        if doc is None or doc.room != room_id:
            raise MediaError("not_found", "no such document in this room")
        if doc.pages is not None and page > max(doc.pages, 1) * 4:  # the count is a floor (documents.py)
            raise MediaError("invalid_payload", "no such page")
        cur = room.state.get("doc")
        patch: dict[str, Any] = {"page": page}
        if not cur or cur.get("id") != doc_id:
            patch.update(doc={"id": doc.id, "type": doc.type, "by": avatar, "pages": doc.pages}, pointer=None)
        room.update(patch)

    def point(self, p: Principal, avatar: int, room_id: str, xy: tuple[float, float] | None) -> None:
        self.check(p, Action.SHARE_DOC, room_id, avatar)
        room = self.rooms.rooms[room_id]
        room.update({"pointer": [round(xy[0], 4), round(xy[1], 4)] if xy else None})

    def doc_token(self, p: Principal, avatar: int, room_id: str, doc_id: str, ttl_s: int) -> tuple[str, str]:
        self.check(p, Action.SUBSCRIBE_MEDIA, room_id, avatar)
        doc = self.shelf.get(doc_id)
        if doc is None or doc.room != room_id:
            raise MediaError("not_found", "no such document in this room")
        return self.shelf.sign(doc_id, avatar, ttl_s), doc.type

    # -- numbers ------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return {"streams": len(self.streams), "subscriptions": len(self.subs)}


__all__ = ["MediaService", "Stream", "Subscription", "new_id"]
