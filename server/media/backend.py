"""The contract every media backend keeps (embedded aiortc relay, Janus VideoRoom).

The media service (server/media/service.py) has already asked the policy before it calls any of
these: a backend never decides who may publish or subscribe, it only moves media. Ids are the
service's (short random strings); a backend maps them to its own (Janus feed ids, aiortc peers).

Signalling is offer/answer with the SDP carrying its candidates (the browser waits for ICE
gathering, bounded; aiortc never trickles); ``add_ice`` takes late candidates where a backend
can use them. Every call may raise MediaError with a wire code; nothing here blocks the loop.

The contract suite (tests/media/contract.py) runs against both backends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Awaitable, Callable


class MediaError(Exception):
    """A media call that failed; ``code`` is the wire error code (server/protocol ErrorCode)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


@dataclass
class PeerStats:
    """One peer's counters, from RTCP and the relay's own packet counts."""

    peer: str
    role: str  # "publisher" | "subscriber"
    room: str
    kinds: tuple[str, ...] = ()  # "audio", "video"
    bitrate_bps: float = 0.0  # media bits per second over the last stats window
    packets: int = 0
    packets_lost: int = 0  # from RTCP receiver reports (cumulative)
    fraction_lost: float = 0.0  # 0..1, last receiver report
    frames: int = 0  # video frames forwarded (subscribers) or received (publishers)


@dataclass
class BackendStats:
    publishers: int = 0
    subscribers: int = 0
    cpu_seconds: float = 0.0  # the relay's CPU time (process time for the embedded relay)
    peers: list[PeerStats] = field(default_factory=list)


# Called by a backend when a peer ends by itself (ICE failed, the browser closed it, Janus hung
# up): the service forgets it and tells the room.
PeerClosed = Callable[[str], Awaitable[None]]


class MediaBackend(ABC):
    name: str = "media"

    def __init__(self) -> None:
        self.on_peer_closed: PeerClosed | None = None

    async def start(self) -> None:
        """Connect to the engine (Janus) or nothing (embedded)."""

    async def close(self) -> None:
        """End every peer and release the engine."""

    @abstractmethod
    async def publish(self, room: str, pub: str, offer_sdp: str, ice_servers: list[dict] | None = None) -> str:
        """A publisher's offer (audio and/or video, sendonly) into ``room``: the answer SDP.
        Its media is held for subscribers under ``pub``."""

    @abstractmethod
    async def subscribe(self, room: str, sub: str, pub: str, ice_servers: list[dict] | None = None) -> str:
        """A new subscriber ``sub`` to publisher ``pub`` (in the same room): the backend's offer
        SDP (recvonly for the browser); media flows after ``answer``."""

    @abstractmethod
    async def answer(self, sub: str, answer_sdp: str) -> None:
        """The subscriber's answer to the offer from ``subscribe``."""

    async def add_ice(self, peer: str, candidate: dict | None) -> None:
        """A late ICE candidate from the browser ({candidate, sdpMid, sdpMLineIndex}; None: end
        of candidates). Backends that need none ignore it."""

    @abstractmethod
    async def close_peer(self, peer: str) -> None:
        """End a publisher (and with it every subscription to it) or a subscriber, at once:
        no packet of it is forwarded after this returns. Unknown ids are ignored."""

    @abstractmethod
    def stats(self) -> BackendStats:
        """Counters for /metrics and the bench."""


__all__ = ["BackendStats", "MediaBackend", "MediaError", "PeerClosed", "PeerStats"]
