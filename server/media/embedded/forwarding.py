"""Forwarding: one publisher track in, the same encoded payloads out to every viewer.

A ``TrackSource`` is one track of a publisher (audio or video). Each media packet its receiver
hands over (aiortc_hooks.tap_receiver) goes out once per ``Downstream`` (one viewer's sender) with
the payload untouched and only the RTP header rewritten: the viewer's SSRC and payload type, the
sequence number and timestamp shifted by a per-viewer offset (chosen when the viewer starts, so
that its stream begins at a random point as RTP asks, and gaps upstream stay gaps downstream so
that the viewer's NACKs mean something), and the header extensions the viewer negotiated (mid,
abs-send-time, audio level), built once per packet for all viewers that share them.

Nothing is decoded, re-encoded or re-packetized: the per-viewer cost is a 12-byte header, the
SRTP protection and the send. A new viewer of video starts at the first packet of a keyframe
and asks the publisher for one; keyframe requests (a new viewer, a viewer's PLI or FIR) reach
the publisher paced by ``KeyframePacer``, on the media SSRC seen on the wire (never the RTX one).
A viewer's NACK is answered from the source's recent packets, as RTX when the viewer negotiated
it (SRTP refuses to protect a sequence number twice, so plain resends are not possible).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from struct import Struct

from aiortc.codecs import is_rtx
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import RtcpReceiverInfo, RtpPacket, pack_header_extensions

from . import aiortc_hooks as hooks

log = logging.getLogger("yakuba.media.relay")

KEYFRAME_INTERVAL = 0.5  # s: at most one keyframe request per publisher track in this time
KEYFRAME_RETRY = 1.5  # s: a viewer that has not seen a keyframe by then asks again
HISTORY = 1024  # packets kept per source for viewers' NACKs (~7 s of 720p video)
_HISTORY_MASK = HISTORY - 1
_START_GUARD = 512  # packets after a viewer's start in which older (reordered) packets are dropped
RTX_RATE = 300  # packets/s a viewer may have resent (burst as much): a lossy viewer's NACKs
# cannot make the relay send much more than the stream itself
_HDR = Struct("!BBHLL")
_EXT_HDR = Struct("!HH")
_OSN = Struct("!H")

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


# -- keyframes ---------------------------------------------------------------------------------------


def vp8_keyframe_start(p: bytes) -> bool:
    """The first packet of a VP8 keyframe: S=1 and partition 0 in the payload descriptor
    (RFC 7741 4.2), then the P bit of the VP8 frame header clear."""
    if len(p) < 2 or (p[0] & 0x1F) != 0x10:
        return False
    pos = 1
    if p[0] & 0x80:  # X: extended control bits
        x = p[1]
        pos = 2
        if x & 0x80:  # I: picture id, 7 or 15 bits
            if pos >= len(p):
                return False
            pos += 2 if p[pos] & 0x80 else 1
        if x & 0x40:  # L: TL0PICIDX
            pos += 1
        if x & 0x30:  # T or K: TID/KEYIDX byte
            pos += 1
    return pos < len(p) and (p[pos] & 0x01) == 0


def h264_keyframe_start(p: bytes) -> bool:
    """A packet carrying an SPS or an IDR slice start (single NAL, STAP-A or FU-A start)."""
    if not p:
        return False
    t = p[0] & 0x1F
    if t == 24:  # STAP-A
        pos = 1
        while pos + 2 < len(p):
            size = (p[pos] << 8) | p[pos + 1]
            pos += 2
            if p[pos] & 0x1F in (5, 7):
                return True
            pos += size
        return False
    if t == 28:  # FU-A
        return len(p) > 1 and bool(p[1] & 0x80) and (p[1] & 0x1F) in (5, 7)
    return t in (5, 7)


def keyframe_detector(codec: RTCRtpCodecParameters) -> Callable[[bytes], bool] | None:
    """None: every packet is a starting point (audio)."""
    name = codec.name.lower()
    if name == "vp8":
        return vp8_keyframe_start
    if name == "h264":
        return h264_keyframe_start
    return None


class KeyframePacer:
    """At most one keyframe request per ``interval`` toward a publisher track. A request inside
    the interval is not lost: requests in between fold into one sent when the interval ends.
    ``send`` returns False while it cannot send yet (no media SSRC seen): the request waits for
    ``poke`` (the first packet)."""

    def __init__(self, send: Callable[[], bool], interval: float = KEYFRAME_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self.interval = interval
        self._clock = clock
        self._last = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self.waiting = False  # asked before anything could be sent
        self.requested = 0
        self.sent = 0

    def request(self) -> None:
        self.requested += 1
        self._due()

    def poke(self) -> None:
        if self.waiting and self._timer is None:
            self._due()

    def _due(self) -> None:
        if self._timer is not None:
            return  # one is already on its way
        wait = self._last + self.interval - self._clock()
        if wait > 0:
            self._timer = asyncio.get_running_loop().call_later(wait, self._fire)
        elif self._send():
            self.waiting = False
            self._last = self._clock()
            self.sent += 1
        else:
            self.waiting = True

    def _fire(self) -> None:
        self._timer = None
        self._due()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.waiting = False


# -- loss on the way in ------------------------------------------------------------------------------


class LossCounter:
    """Expected vs received packets of one incoming stream (RFC 3550 A.3, without probation)."""

    __slots__ = ("base", "max", "cycles", "received")

    def __init__(self) -> None:
        self.base: int | None = None
        self.max = 0
        self.cycles = 0
        self.received = 0

    def add(self, seq: int) -> None:
        self.received += 1
        if self.base is None:
            self.base = self.max = seq
            return
        delta = (seq - self.max) & 0xFFFF
        if 0 < delta < 0x8000:
            if seq < self.max:
                self.cycles += 0x10000
            self.max = seq

    @property
    def expected(self) -> int:
        return 0 if self.base is None else self.cycles + self.max - self.base + 1

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.received)


# -- one publisher track -----------------------------------------------------------------------------


class TrackSource:
    def __init__(self, kind: str, codec: RTCRtpCodecParameters, receiver: object,
                 keyframe_interval: float = KEYFRAME_INTERVAL) -> None:
        self.kind = kind
        self.codec = codec
        self.receiver = receiver
        self.media_ssrc: int | None = None
        self.closed = False
        self._downstreams: tuple[Downstream, ...] = ()
        self._keyframe_start = keyframe_detector(codec) if kind == "video" else None
        self.history: list[RtpPacket | None] = [None] * HISTORY
        self.pacer = KeyframePacer(self._send_pli, keyframe_interval)
        # counters
        self.packets = 0
        self.octets = 0
        self.frames = 0
        self.keyframes_in = 0  # keyframes the publisher sent
        self.loss = LossCounter()

    @property
    def downstreams(self) -> tuple[Downstream, ...]:
        return self._downstreams

    def attach(self, d: Downstream) -> None:
        if self.closed or not d.active or d in self._downstreams:
            return
        self._downstreams = self._downstreams + (d,)
        if self._keyframe_start is not None:
            d.asked_at = time.monotonic()
            self.pacer.request()  # so that it can start decoding

    def detach(self, d: Downstream) -> None:
        self._downstreams = tuple(x for x in self._downstreams if x is not d)

    def close(self) -> None:
        self.closed = True
        for d in self._downstreams:
            d.active = False
        self._downstreams = ()
        self.pacer.close()

    def request_keyframe(self) -> None:
        if not self.closed and self._keyframe_start is not None:
            self.pacer.request()

    def _still_waiting(self, d: Downstream) -> None:
        """A viewer still waiting for its first keyframe asks again now and then (a request or
        the keyframe itself may have been lost)."""
        now = time.monotonic()
        if now - d.asked_at >= KEYFRAME_RETRY:
            d.asked_at = now
            self.pacer.request()

    def _send_pli(self) -> bool:
        if self.media_ssrc is None:
            return False
        asyncio.ensure_future(self._pli(self.media_ssrc))
        return True

    async def _pli(self, ssrc: int) -> None:
        try:
            await hooks.send_pli(self.receiver, ssrc)  # type: ignore[arg-type]
        except Exception:  # a closing transport: nothing to ask any more
            log.debug("PLI not sent", exc_info=True)

    # The hot path: once per incoming packet, and the loop body once per viewer.
    async def on_packet(self, packet: RtpPacket) -> None:
        if self.closed:
            return
        seq = packet.sequence_number
        payload = packet.payload
        self.packets += 1
        self.octets += len(payload)
        self.loss.add(seq)
        if self.media_ssrc != packet.ssrc:
            self.media_ssrc = packet.ssrc  # after RTX unwrapping: the media SSRC
            self.pacer.poke()
        video = self._keyframe_start is not None
        keyframe = video and self._keyframe_start(payload)  # type: ignore[misc]
        if video:
            self.frames += packet.marker
            self.keyframes_in += keyframe
        self.history[seq & _HISTORY_MASK] = packet
        if not payload or not self._downstreams:
            return  # nobody to send to, or padding only (a bandwidth probe)

        ts = packet.timestamp
        first_byte = 0x80
        m_pt = packet.marker << 7
        exts: dict[tuple, bytes] = {}
        abs_send_time = int(time.time() * 262144) & 0xFFFFFF  # 6.18 fixed point, NTP era mod 64 s
        for d in self._downstreams:
            if not d.active:
                continue
            if d.guard:
                if not d.started:
                    if video and not keyframe:
                        self._still_waiting(d)
                        continue
                    d.begin(seq, ts)
                elif (seq - d.first_seq) & 0x8000:
                    continue  # reordered from before this viewer's first packet
                d.guard -= 1
            ext = exts.get(d.ext_key)
            if ext is None:
                ext = exts[d.ext_key] = d.extensions(packet, abs_send_time)
            data = b"".join((
                _HDR.pack(first_byte | (0x10 if ext else 0), m_pt | d.pt, (seq + d.seq_offset) & 0xFFFF,
                          (ts + d.ts_offset) & 0xFFFFFFFF, d.ssrc),
                ext, payload))
            try:
                await d.write(data)  # type: ignore[misc]
            except ConnectionError:
                continue  # not connected yet, or no more
            except Exception:  # one viewer's transport must not stop the others
                log.exception("relay: dropping a viewer whose transport failed")
                d.stop()
                continue
            d.packets += 1
            d.octets += len(payload)
            if video:
                if packet.marker:
                    d.frames += 1
                    d.note_sent(ts)
            elif not d.packets & 15:
                d.note_sent(ts)


# -- one viewer's sender -----------------------------------------------------------------------------


class Downstream:
    """One viewer's sender of one source: header state and counters."""

    def __init__(self, source: TrackSource, sender: object) -> None:
        self.source = source
        self.sender = sender
        self.active = True
        self.started = False
        self.guard = _START_GUARD
        self.asked_at = 0.0  # when a keyframe was last asked for this viewer (before it started)
        self.ssrc, self.rtx_ssrc = hooks.sender_ssrcs(sender)  # type: ignore[arg-type]
        self.pt = 0
        self.rtx_pt: int | None = None
        self.write: Callable[[bytes], Awaitable[None]] | None = None
        self.ext_key: tuple = ()
        self.first_seq = 0
        self.seq_offset = 0
        self.ts_offset = 0
        self.rtx_seq = random.randrange(0x8000)
        self._rtx_tokens = float(RTX_RATE)
        self._rtx_at = time.monotonic()
        # counters
        self.packets = 0
        self.octets = 0
        self.frames = 0
        self.retransmitted = 0
        self.rtx_refused = 0  # NACKed packets not resent (over RTX_RATE)
        self.keyframe_requests = 0
        self.packets_lost = 0  # from the viewer's receiver reports
        self.fraction_lost = 0.0

    def hook(self) -> None:
        hooks.tap_sender(self.sender, on_start=self.start, on_keyframe=self.on_keyframe_request,  # type: ignore[arg-type]
                         on_nack=self.retransmit, on_report=self.on_report)

    def start(self, parameters: RTCRtpSendParameters) -> None:
        """aiortc started the sender (ICE and DTLS are up): learn what was negotiated, then join."""
        if not self.active:
            return
        codec = parameters.codecs[0]
        self.pt = codec.payloadType
        for c in parameters.codecs:
            if is_rtx(c) and c.parameters.get("apt") == self.pt:
                self.rtx_pt = c.payloadType
        ids = {x.uri: x.id for x in parameters.headerExtensions}
        mid = (parameters.muxId or "").encode()
        self.ext_key = (ids.get(MID_URI) if mid else None, mid, ids.get(ABS_SEND_TIME_URI),
                        ids.get(AUDIO_LEVEL_URI) if self.source.kind == "audio" else None)
        self.write = hooks.rtp_writer(self.sender)  # type: ignore[arg-type]
        self.source.attach(self)

    def stop(self) -> None:
        self.active = False
        self.source.detach(self)

    def begin(self, seq: int, ts: int) -> None:
        self.started = True
        self.first_seq = seq
        self.seq_offset = (random.randrange(0x8000) - seq) & 0xFFFF  # starts in the lower half, as aiortc's
        self.ts_offset = (random.getrandbits(32) - ts) & 0xFFFFFFFF

    def extensions(self, packet: RtpPacket, abs_send_time: int) -> bytes:
        mid_id, mid, ast_id, level_id = self.ext_key
        items: list[tuple[int, bytes]] = []
        if mid_id:
            items.append((mid_id, mid))
        if ast_id:
            items.append((ast_id, abs_send_time.to_bytes(3, "big")))
        if level_id and packet.extensions.audio_level is not None:
            vad, level = packet.extensions.audio_level
            items.append((level_id, bytes([(0x80 if vad else 0) | (level & 0x7F)])))
        profile, value = pack_header_extensions(items)
        return _EXT_HDR.pack(profile, len(value) >> 2) + value if value else b""

    def note_sent(self, ts: int) -> None:
        hooks.note_sent(self.sender, self.packets, self.octets,  # type: ignore[arg-type]
                        (ts + self.ts_offset) & 0xFFFFFFFF)

    def on_keyframe_request(self) -> None:
        """The viewer's PLI or FIR: relayed to the publisher (paced there)."""
        self.keyframe_requests += 1
        if self.active:
            self.source.request_keyframe()

    async def retransmit(self, seq: int) -> None:
        """The viewer's NACK for ``seq`` (its numbering): the packet again, as RTX."""
        if not self.active or not self.started or self.rtx_pt is None or self.write is None:
            return
        in_seq = (seq - self.seq_offset) & 0xFFFF
        p = self.source.history[in_seq & _HISTORY_MASK]
        if p is None or p.sequence_number != in_seq:
            return  # too old, or never came in
        now = time.monotonic()
        self._rtx_tokens = min(RTX_RATE, self._rtx_tokens + (now - self._rtx_at) * RTX_RATE)
        self._rtx_at = now
        if self._rtx_tokens < 1:
            self.rtx_refused += 1
            return
        self._rtx_tokens -= 1
        ext = self.extensions(p, int(time.time() * 262144) & 0xFFFFFF)
        data = b"".join((
            _HDR.pack(0x80 | (0x10 if ext else 0), (p.marker << 7) | self.rtx_pt, self.rtx_seq,
                      (p.timestamp + self.ts_offset) & 0xFFFFFFFF, self.rtx_ssrc),
            ext, _OSN.pack(seq), p.payload))
        self.rtx_seq = (self.rtx_seq + 1) & 0xFFFF
        try:
            await self.write(data)
        except ConnectionError:
            return
        self.retransmitted += 1

    def on_report(self, report: RtcpReceiverInfo) -> None:
        self.packets_lost = max(0, report.packets_lost)
        self.fraction_lost = report.fraction_lost / 256


__all__ = ["Downstream", "KEYFRAME_INTERVAL", "KeyframePacer", "LossCounter", "TrackSource",
           "h264_keyframe_start", "keyframe_detector", "vp8_keyframe_start"]
