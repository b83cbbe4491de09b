"""EmbeddedRelay: the in-process, forward-only media backend (aiortc peers, no transcoding).

A publisher is one aiortc peer whose receivers hand their encoded packets to a ``TrackSource``
each (forwarding.py) instead of a decoder; a subscriber is one aiortc peer offered by the relay
(sendonly) with one sender per track of its publisher, written to by a ``Downstream`` each.
aiortc keeps doing what it does well: ICE, DTLS-SRTP, RTCP (receiver and sender reports, NACK,
RTX, REMB). The hooks into its internals are all in aiortc_hooks.py.

State (``self._peers[peer_id] = _Peer``): a publisher's ``subs`` are the ids of its subscribers,
a subscriber's ``pub`` is its publisher's id. ``close_peer`` cuts forwarding synchronously
(before its first await), then closes the connections.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.sdp import candidate_from_sdp

from ..backend import BackendStats, MediaBackend, MediaError, PeerStats
from . import aiortc_hooks as hooks
from .forwarding import KEYFRAME_INTERVAL, Downstream, TrackSource
from .ice import rtc_configuration

log = logging.getLogger("yakuba.media.relay")

FAILED = "media_failed"
UNKNOWN = "unknown_stream"
# What a publisher's answer keeps, best first: every browser decodes VP8 and H264; one codec per
# track, because the relay cannot transcode for a viewer that lacks it.
PREFERRED_CODECS = {"video": ("vp8", "h264"), "audio": ("opus",)}
# Kernel buffers of each peer's UDP socket: ~2 s of a 2 Mbit/s publisher, or a 720p keyframe
# burst to a viewer, while the event loop is busy elsewhere.
SOCKET_BUFFER = 1 << 19


def pick_codecs(kind: str, offered: list[RTCRtpCodecParameters]) -> list[RTCRtpCodecParameters]:
    """The one media codec to receive (and its RTX) among those both sides support."""
    media = [c for c in offered if not is_rtx(c)]
    if not media:
        return []
    ranked = [c for name in PREFERRED_CODECS.get(kind, ()) for c in media if c.name.lower() == name]
    codec = (ranked or media)[0]
    return [codec] + [c for c in offered if is_rtx(c) and c.parameters.get("apt") == codec.payloadType]


def preferences_for(kind: str, codec: RTCRtpCodecParameters) -> list[RTCRtpCodecCapability]:
    """setCodecPreferences for a viewer's sender: exactly the publisher's codec (and RTX for video)."""
    caps = RTCRtpSender.getCapabilities(kind).codecs
    same = [c for c in caps if c.mimeType.lower() == codec.mimeType.lower() and c.parameters == codec.parameters]
    rtx = [c for c in caps if is_rtx(c)] if kind == "video" else []
    return same[:1] + rtx[:1]


def with_bandwidth(sdp: str, kind: str, bps: int) -> str:
    """Put b=AS (kbps) and b=TIAS (bps) in the ``kind`` m-sections (replacing any b= there): the
    browser's encoder keeps under it. In a section, b= comes after m=, i= and c=, before a=."""
    bandwidth = [f"b=AS:{max(1, bps // 1000)}", f"b=TIAS:{bps}"]
    out: list[str] = []
    section = ""
    added = True
    for line in sdp.split("\r\n"):
        if line.startswith("m="):
            if not added:
                out += bandwidth
            section = line[2:].split(" ", 1)[0]
            added = section != kind
        elif not added and not line.startswith(("i=", "c=")):
            if line.startswith("b="):
                continue
            if line:  # before the section's first attribute (or at the very end)
                out += bandwidth
                added = True
        out.append(line)
    if not added:  # the last section has no attribute
        if out[-1] == "":
            out[-1:-1] = bandwidth
        else:
            out += bandwidth
    return "\r\n".join(out)


@dataclass
class _Rate:
    """Bits per second of a growing byte count, over the time between two stats() reads."""

    t: float = field(default_factory=time.monotonic)
    octets: int = 0
    bps: float = 0.0
    lost: int = 0
    expected: int = 0
    fraction_lost: float = 0.0

    def update(self, now: float, octets: int) -> float:
        if now - self.t >= 0.5:
            self.bps = (octets - self.octets) * 8 / (now - self.t)
            self.t, self.octets = now, octets
        return self.bps

    def loss(self, lost: int, expected: int) -> float:
        if expected > self.expected:
            self.fraction_lost = max(0.0, (lost - self.lost) / (expected - self.expected))
            self.lost, self.expected = lost, expected
        return self.fraction_lost


@dataclass
class _Peer:
    id: str
    role: str  # "publisher" | "subscriber"
    room: str
    pc: RTCPeerConnection
    pub: str | None = None  # a subscriber's publisher
    subs: set[str] = field(default_factory=set)  # a publisher's subscribers
    sources: list[TrackSource] = field(default_factory=list)
    downstreams: list[Downstream] = field(default_factory=list)
    closing: bool = False
    rate: _Rate = field(default_factory=_Rate)

    @property
    def kinds(self) -> tuple[str, ...]:
        if self.role == "publisher":
            return tuple(s.kind for s in self.sources)
        return tuple(d.source.kind for d in self.downstreams)


class EmbeddedRelay(MediaBackend):
    name = "embedded"

    def __init__(self, max_video_bitrate_bps: int | None = None,
                 keyframe_interval: float = KEYFRAME_INTERVAL) -> None:
        super().__init__()
        hooks.require_supported_aiortc()
        self.max_video_bitrate_bps = max_video_bitrate_bps
        self.keyframe_interval = keyframe_interval
        self._peers: dict[str, _Peer] = {}

    async def close(self) -> None:
        await asyncio.gather(*(self.close_peer(p) for p in list(self._peers)), return_exceptions=True)

    # -- signalling ----------------------------------------------------------------------------------
    async def publish(self, room: str, pub: str, offer_sdp: str, ice_servers: list[dict] | None = None,
                      max_bitrate_bps: int | None = None) -> str:
        if pub in self._peers:
            raise MediaError(FAILED, "peer id in use")
        cap = max_bitrate_bps or self.max_video_bitrate_bps
        pc = RTCPeerConnection(rtc_configuration(ice_servers))
        peer = self._peers[pub] = _Peer(pub, "publisher", room, pc)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            for t in pc.getTransceivers():
                t.direction = "recvonly"
                codecs = pick_codecs(t.kind, hooks.negotiated_codecs(t))
                hooks.restrict_codecs(t, codecs)
                if t.receiver.track is None or not codecs:
                    continue  # the publisher does not send on this one
                src = TrackSource(t.kind, codecs[0], t.receiver, self.keyframe_interval)
                hooks.tap_receiver(t.receiver, src.on_packet)
                if cap and t.kind == "video":
                    hooks.cap_remb(t.receiver, cap)
                peer.sources.append(src)
            if not peer.sources:
                raise MediaError(FAILED, "the offer sends no audio or video")
            await pc.setLocalDescription(await pc.createAnswer())
            hooks.enlarge_socket_buffers(pc, SOCKET_BUFFER)
            if peer.closing:
                raise MediaError(FAILED, "closed while negotiating")
        except Exception as exc:
            if self._peers.get(pub) is peer:
                del self._peers[pub]
            await pc.close()
            if isinstance(exc, MediaError):
                raise
            raise MediaError(FAILED, f"bad offer: {exc}") from exc
        self._watch(peer)
        answer = pc.localDescription.sdp
        log.info("relay publish room=%s peer=%s kinds=%s codecs=%s", room, pub, peer.kinds,
                 [s.codec.name for s in peer.sources])
        return with_bandwidth(answer, "video", cap) if cap else answer

    async def subscribe(self, room: str, sub: str, pub: str, ice_servers: list[dict] | None = None) -> str:
        p = self._peers.get(pub)
        if p is None or p.role != "publisher" or p.room != room:
            raise MediaError(UNKNOWN, "no such stream in this room")
        if sub in self._peers:
            raise MediaError(FAILED, "peer id in use")
        pc = RTCPeerConnection(rtc_configuration(ice_servers))
        peer = self._peers[sub] = _Peer(sub, "subscriber", room, pc, pub=pub)
        p.subs.add(sub)
        try:
            for src in p.sources:
                t = pc.addTransceiver(hooks.IdleTrack(src.kind), direction="sendonly")
                t.setCodecPreferences(preferences_for(src.kind, src.codec))
                d = Downstream(src, t.sender)
                d.hook()
                peer.downstreams.append(d)
            await pc.setLocalDescription(await pc.createOffer())
            hooks.enlarge_socket_buffers(pc, SOCKET_BUFFER)
            if peer.closing:
                raise MediaError(FAILED, "closed while negotiating")
        except Exception as exc:
            if self._peers.get(sub) is peer:
                del self._peers[sub]
            p.subs.discard(sub)
            for d in peer.downstreams:
                d.stop()
            await pc.close()
            if isinstance(exc, MediaError):
                raise
            raise MediaError(FAILED, f"cannot offer: {exc}") from exc
        self._watch(peer)
        return pc.localDescription.sdp

    async def answer(self, sub: str, answer_sdp: str) -> None:
        peer = self._peers.get(sub)
        if peer is None or peer.role != "subscriber":
            raise MediaError(UNKNOWN, "no such subscription")
        try:
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        except Exception as exc:
            raise MediaError(FAILED, f"bad answer: {exc}") from exc

    async def add_ice(self, peer: str, candidate: dict | None) -> None:
        p = self._peers.get(peer)
        if p is None:
            return
        try:
            if candidate is None or not candidate.get("candidate"):
                await p.pc.addIceCandidate(None)
                return
            c = candidate_from_sdp(re.sub(r"^(a=)?candidate:", "", candidate["candidate"]))
            c.sdpMid = candidate.get("sdpMid")
            c.sdpMLineIndex = candidate.get("sdpMLineIndex")
            await p.pc.addIceCandidate(c)
        except Exception as exc:
            raise MediaError(FAILED, f"bad candidate: {exc}") from exc

    # -- ending --------------------------------------------------------------------------------------
    async def close_peer(self, peer: str) -> None:
        ending = self._cut(peer)
        if ending:
            await asyncio.gather(*(p.pc.close() for p in ending), return_exceptions=True)

    def _cut(self, peer_id: str) -> list[_Peer]:
        """Forget a peer and stop its forwarding now (no await): the peers to close."""
        peer = self._peers.pop(peer_id, None)
        if peer is None:
            return []
        peer.closing = True
        ending = [peer]
        if peer.role == "publisher":
            for src in peer.sources:
                src.close()
            for sub_id in sorted(peer.subs):
                s = self._peers.pop(sub_id, None)
                if s is not None:
                    s.closing = True
                    for d in s.downstreams:
                        d.stop()
                    ending.append(s)
        else:
            for d in peer.downstreams:
                d.stop()
            pub = self._peers.get(peer.pub or "")
            if pub is not None:
                pub.subs.discard(peer.id)
        return ending

    def _watch(self, peer: _Peer) -> None:
        """A peer that fails (ICE) or is closed by the other side is closed here and reported.
        A publisher's subscribers end with it unreported: the service ends them with its stream."""

        @peer.pc.on("connectionstatechange")
        async def changed() -> None:
            state = peer.pc.connectionState
            if state not in ("failed", "closed") or self._peers.get(peer.id) is not peer:
                return
            log.info("relay peer ended by itself peer=%s role=%s state=%s", peer.id, peer.role, state)
            await self.close_peer(peer.id)
            if self.on_peer_closed is not None:
                try:
                    await self.on_peer_closed(peer.id)
                except Exception:
                    log.exception("on_peer_closed failed peer=%s", peer.id)

    # -- counters ------------------------------------------------------------------------------------
    def stats(self) -> BackendStats:
        st = BackendStats(cpu_seconds=time.process_time())
        now = time.monotonic()
        for peer in self._peers.values():
            if peer.role == "publisher":
                st.publishers += 1
                octets = sum(s.octets for s in peer.sources)
                lost = sum(s.loss.lost for s in peer.sources)
                fraction = peer.rate.loss(lost, sum(s.loss.expected for s in peer.sources))
                st.peers.append(PeerStats(
                    peer.id, "publisher", peer.room, peer.kinds, peer.rate.update(now, octets),
                    packets=sum(s.packets for s in peer.sources), packets_lost=lost, fraction_lost=fraction,
                    frames=sum(s.frames for s in peer.sources)))
            else:
                st.subscribers += 1
                octets = sum(d.octets for d in peer.downstreams)
                st.peers.append(PeerStats(
                    peer.id, "subscriber", peer.room, peer.kinds, peer.rate.update(now, octets),
                    packets=sum(d.packets for d in peer.downstreams),
                    packets_lost=sum(d.packets_lost for d in peer.downstreams),
                    fraction_lost=max((d.fraction_lost for d in peer.downstreams), default=0.0),
                    frames=sum(d.frames for d in peer.downstreams)))
        return st

    # -- for tests and the bench ---------------------------------------------------------------------
    def sources(self, pub: str) -> list[TrackSource]:
        p = self._peers.get(pub)
        return list(p.sources) if p is not None else []

    def downstreams(self, sub: str) -> list[Downstream]:
        p = self._peers.get(sub)
        return list(p.downstreams) if p is not None else []


__all__ = ["EmbeddedRelay", "pick_codecs", "preferences_for", "with_bandwidth"]
