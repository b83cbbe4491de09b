"""The live-state store: a small bus (publish/subscribe only) plus short-lived session records.

Two backends share this interface and one contract test suite: ``MemoryStore`` (the embedded
default, one process) and ``RedisStore`` (many processes). The base owns nothing but the shape;
each backend owns its I/O, as python-socketio's managers do.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Awaitable, Callable

Handler = Callable[[str, bytes], Awaitable[None] | None]

ZONE_CHANNEL = "yakuba:zone:"  # + zone id: per-zone change batches, chat
CONTROL_CHANNEL = "yakuba:control"  # avatar claims (resume on another node), revocations


# Avatar ids are u32 on the wire: the top bits name the node's slot, the rest count within it.
# Ids are unique across nodes by construction, with no shared counter on the join path: a node
# keeps admitting while Redis is down, and a Redis restarted without data cannot hand out an id
# that is still live (the counter it would have lost does not exist).
SLOT_BITS, SEQ_BITS = 10, 22
SLOTS, SEQ_SPACE = 1 << SLOT_BITS, 1 << SEQ_BITS


SEQ_RATE = 25  # per second


def seq_from_clock(now: float | None = None) -> int:
    return int((time.time() if now is None else now) * SEQ_RATE) % SEQ_SPACE


def seq_ahead(x: int, y: int) -> bool:
    """``x`` comes after ``y`` in the wrapping count (by less than half of it)."""
    return 0 < (x - y) % SEQ_SPACE < SEQ_SPACE // 2


class StoreUnavailable(Exception):
    """The shared store cannot be reached; callers degrade to local-only service."""


class Store(abc.ABC):
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._handlers: list[tuple[str, Handler]] = []
        # Exact channels this node listens to. A node hears a zone's channel only while it has
        # clients there (replication subscribes and unsubscribes); the control channel always.
        self.channels: set[str] = {CONTROL_CHANNEL}
        self.slot = 0  # this node's id slot (claimed in the store by backends with many nodes)
        # Within the slot, counting starts from the time, so a restarted node does not hand out
        # again the ids its previous run gave to avatars that may still be in their grace period.
        # SEQ_RATE is above the join rate a node admits (new_avatars_per_s, 20 by default), so
        # the count cannot run ahead of the clock; backends also keep a high-water mark (the
        # sessions file, Redis) for runs that did. The count wraps after ~46 h.
        self._seq = seq_from_clock()

    def allocate_id(self, taken: Callable[[int], bool] = lambda i: False) -> int:
        """A new avatar id: this node's slot and the next free number in it (``taken``: ids
        known to be live here, skipped). Never waits on the store."""
        for _ in range(SEQ_SPACE):
            self._seq = self._seq % (SEQ_SPACE - 1) + 1  # 1 .. SEQ_SPACE-1: never id 0
            aid = (self.slot << SEQ_BITS) | self._seq
            if not taken(aid):
                self._allocated()
                return aid
        raise RuntimeError("avatar id space of this slot exhausted")

    def _allocated(self) -> None:
        """Backends that keep the count's high-water mark elsewhere update it here (no waiting)."""
        return None

    def subscribe(self, prefix: str, handler: Handler) -> None:
        """Route messages of listened channels starting with ``prefix`` to ``handler`` (own
        messages included). Which channels arrive at all is ``subscribe_channel``'s business."""
        self._handlers.append((prefix, handler))

    async def subscribe_channel(self, channel: str) -> None:
        """Start receiving ``channel`` (idempotent). Remembered across reconnects."""
        if channel not in self.channels:
            self.channels.add(channel)
            await self._listen(channel, True)

    async def unsubscribe_channel(self, channel: str) -> None:
        """Stop receiving ``channel`` (idempotent)."""
        if channel in self.channels:
            self.channels.discard(channel)
            await self._listen(channel, False)

    async def _listen(self, channel: str, on: bool) -> None:
        """Backends with a connection apply a subscription change here."""
        return None

    async def _dispatch(self, channel: str, data: bytes) -> None:
        for prefix, handler in self._handlers:
            if channel.startswith(prefix):
                r = handler(channel, data)
                if r is not None:
                    await r

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, channel: str, data: bytes) -> None:
        """Raises StoreUnavailable when the message could not be handed to the bus."""

    @abc.abstractmethod
    async def put_session(self, token: str, data: bytes, ttl_s: float, avatar_id: int | None = None) -> None:
        """``avatar_id``: the record resumes that avatar (see ``let_go``)."""

    @abc.abstractmethod
    async def get_session(self, token: str) -> bytes | None: ...

    @abc.abstractmethod
    async def delete_session(self, token: str) -> None: ...

    async def take_session(self, token: str) -> bytes | None:
        """Read and delete in one step: of two callers racing for a single-use record (an OpenID
        login's state), one gets it. One process: nothing awaits between the two, so it is
        atomic here; RedisStore uses GETDEL."""
        data = await self.get_session(token)
        if data is not None:
            await self.delete_session(token)
        return data

    async def put_sessions(self, items: list[tuple[str, bytes, float, int | None]]) -> None:
        """Several session records at once (the periodic save), each ``(token, data, ttl_s,
        avatar_id)``; backends may batch."""
        for token, data, ttl, aid in items:
            await self.put_session(token, data, ttl, aid)

    def let_go(self, avatar_id: int) -> None:
        """Another node resumed this avatar: forget anything kept of its session here only, so
        an outage never brings back the older record. One process, one copy: nothing to do."""
        return None

    @abc.abstractmethod
    async def healthy(self) -> bool: ...

    @property
    def shared(self) -> bool:
        """True when other processes may share this store."""
        return False
