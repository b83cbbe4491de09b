"""The live-state store: a small bus (publish/subscribe only) plus short-lived session records.

Two backends share this interface and one contract test suite: ``MemoryStore`` (the embedded
default, one process) and ``RedisStore`` (many processes). The base owns nothing but the shape;
each backend owns its I/O, as python-socketio's managers do.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable

Handler = Callable[[str, bytes], Awaitable[None] | None]

ZONE_CHANNEL = "yakuba:zone:"  # + zone id: per-zone change batches, chat
CONTROL_CHANNEL = "yakuba:control"  # avatar claims (resume on another node), revocations


class StoreUnavailable(Exception):
    """The shared store cannot be reached; callers degrade to local-only service."""


class Store(abc.ABC):
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self._handlers: list[tuple[str, Handler]] = []
        # Exact channels this node listens to. A node hears a zone's channel only while it has
        # clients there (replication subscribes and unsubscribes); the control channel always.
        self.channels: set[str] = {CONTROL_CHANNEL}

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
    async def put_session(self, token: str, data: bytes, ttl_s: float) -> None: ...

    @abc.abstractmethod
    async def get_session(self, token: str) -> bytes | None: ...

    @abc.abstractmethod
    async def delete_session(self, token: str) -> None: ...

    @abc.abstractmethod
    async def next_id(self, name: str, floor: int = 0) -> int:
        """A cluster-wide unique, increasing integer (avatar ids), always above ``floor`` (the
        largest id the caller knows), so a Redis restarted without its data cannot hand out an
        id that is still in use."""

    @abc.abstractmethod
    async def healthy(self) -> bool: ...

    @property
    def shared(self) -> bool:
        """True when other processes may share this store."""
        return False
