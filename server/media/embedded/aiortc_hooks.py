"""Every place where the embedded relay reaches into aiortc's internals (aiortc 1.16.0 only).

aiortc decodes everything it receives (a thread per receiver) and encodes for every sender; its
maintainers keep forwarding out of scope. A relay needs neither: it takes each encoded RTP packet
as the receiver has it (after SRTP, RTX unwrapping, NACKs, receiver reports and REMB toward the
publisher, all still aiortc's) and sends the same payload to every subscriber with only the RTP
header rewritten (forwarding.py). What that takes, and nothing more, is here:

receiver (publisher side)
  - its jitter buffer is replaced by ``PassThroughBuffer``: each packet is handed on as it comes
    and no frame is ever assembled, so the decoder thread has nothing to decode (it idles and
    stops with the receiver);
  - ``_handle_rtp_packet`` is wrapped to send those packets on once aiortc has done its RTCP
    bookkeeping (the buffer's ``add`` is synchronous, sending is not);
  - the REMB it sends is capped (the relay cannot re-encode, so a publish cap is asked of the
    publisher's encoder);
  - ``_send_rtcp_pli`` sends the keyframe requests the relay paces.

sender (subscriber side)
  - given an ``IdleTrack`` so that aiortc's RTP loop waits instead of polling every 20 ms for a
    track (the relay writes the packets itself);
  - ``send`` is wrapped to learn the negotiated parameters (payload types, header extension ids,
    mid) when the transport is up;
  - ``_send_keyframe`` (PLI/FIR from the viewer), ``_retransmit`` (NACK) and ``_handle_rtcp_packet``
    (receiver reports, for loss) go to the relay;
  - ``rtp_writer``: the DTLS transport's ``_send_rtp`` (SRTP, then ICE) that the relay writes
    its rewritten packets with; ``sender_ssrcs``: the SSRCs aiortc announced for it;
  - ``note_sent`` keeps the counters of its sender reports true (packet/octet counts and the
    NTP/RTP time pair that browsers use for lip sync).

sockets
  - ``enlarge_socket_buffers``: bigger kernel buffers on the ICE agents' UDP sockets (aioice's
    ``Connection._protocols``): no loss while the relay is busy for a moment;

transceiver
  - ``restrict_codecs``: the publisher's answer keeps one codec (and its RTX) so that its media
    arrive in the one codec offered to viewers.

All of it is per instance, never patched on aiortc's classes: plain aiortc peers in the same
process (the tests' viewers, the bench's publisher) keep decoding and encoding. aiortc's private
names change between versions: ``require_supported_aiortc`` refuses any version but the pinned
one (pyproject.toml), and the relay's tests exercise every hook.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiortc
from aiortc import clock
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtcrtpreceiver import RTCRtpReceiver
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.rtp import RtcpReceiverInfo, RtcpRrPacket, RtcpSrPacket, RtpPacket

logger = logging.getLogger("yakuba.media.relay")

SUPPORTED_AIORTC = ("1.16.0",)

# The private names used below (name-mangled attributes of RTCRtpReceiver / RTCRtpSender).
_RX_JITTER = "_RTCRtpReceiver__jitter_buffer"
_RX_REMB = "_RTCRtpReceiver__remote_bitrate_estimator"
_TX_PACKETS = "_RTCRtpSender__packet_count"
_TX_OCTETS = "_RTCRtpSender__octet_count"
_TX_RTP_TS = "_RTCRtpSender__rtp_timestamp"
_TX_NTP_TS = "_RTCRtpSender__ntp_timestamp"


class UnsupportedAiortc(RuntimeError):
    """The installed aiortc is not the version these hooks were written against."""


def require_supported_aiortc() -> None:
    if aiortc.__version__ not in SUPPORTED_AIORTC:
        raise UnsupportedAiortc(
            f"the embedded media relay hooks aiortc internals and supports aiortc "
            f"{', '.join(SUPPORTED_AIORTC)}; installed: {aiortc.__version__}")


def _require(obj: object, *names: str) -> None:
    for name in names:
        if not hasattr(obj, name):  # a renamed internal: fail at setup, not on the first packet
            raise UnsupportedAiortc(f"aiortc {aiortc.__version__}: {type(obj).__name__} has no {name}")


# -- receiver ----------------------------------------------------------------------------------------


class PassThroughBuffer:
    """Stands in for the receiver's JitterBuffer. aiortc calls ``add(packet)`` with each media
    packet (RTX unwrapped, ``packet._data`` depayloaded); this keeps it for the relay and never
    returns a frame, so nothing reaches the decoder."""

    capacity = 0

    def __init__(self) -> None:
        self.pending: list[RtpPacket] = []
        self.packets = 0

    def add(self, packet: RtpPacket) -> tuple[bool, None]:
        self.pending.append(packet)
        self.packets += 1
        return False, None  # no picture loss to report, no frame to decode


OnPacket = Callable[[RtpPacket], Awaitable[None]]


def tap_receiver(receiver: RTCRtpReceiver, on_packet: OnPacket) -> PassThroughBuffer:
    """Route ``receiver``'s media packets to ``on_packet`` instead of its decoder. Call before the
    receiver starts (right after setRemoteDescription)."""
    _require(receiver, _RX_JITTER, "_handle_rtp_packet", "_send_rtcp_pli")
    buf = PassThroughBuffer()
    setattr(receiver, _RX_JITTER, buf)
    original = receiver._handle_rtp_packet

    async def _handle_rtp_packet(packet: RtpPacket, arrival_time_ms: int) -> None:
        await original(packet, arrival_time_ms=arrival_time_ms)  # stats, NACK, REMB, RTX unwrap
        if buf.pending:
            pending, buf.pending = buf.pending, []
            try:
                for p in pending:
                    await on_packet(p)
            except Exception:  # an exception here would end the publisher's DTLS transport
                logger.exception("relay: forwarding failed")

    receiver._handle_rtp_packet = _handle_rtp_packet  # type: ignore[method-assign]
    return buf


def cap_remb(receiver: RTCRtpReceiver, max_bps: int) -> None:
    """Never ask the publisher for more than ``max_bps`` in the REMB the receiver sends."""
    _require(receiver, _RX_REMB)
    estimator = getattr(receiver, _RX_REMB)
    if estimator is None:  # audio: aiortc estimates video only
        return
    add = estimator.add

    def capped(**kw: Any) -> tuple[int, list[int]] | None:
        remb = add(**kw)
        return None if remb is None else (min(remb[0], max_bps), remb[1])

    estimator.add = capped


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    """A Picture Loss Indication to the publisher, on its media SSRC (never the RTX one)."""
    await receiver._send_rtcp_pli(media_ssrc)


# -- sender ------------------------------------------------------------------------------------------


class IdleTrack(MediaStreamTrack):
    """The track of a forwarding sender: aiortc's RTP loop awaits it until the sender stops
    (without a track it would wake every 20 ms); the relay writes the packets itself."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    async def recv(self) -> Any:
        await asyncio.get_running_loop().create_future()  # cancelled by RTCRtpSender.stop()
        raise MediaStreamError


def tap_sender(sender: RTCRtpSender, *,
               on_start: Callable[[RTCRtpSendParameters], None],
               on_keyframe: Callable[[], None],
               on_nack: Callable[[int], Awaitable[None]],
               on_report: Callable[[RtcpReceiverInfo], None]) -> None:
    _require(sender, "send", "_send_keyframe", "_retransmit", "_handle_rtcp_packet", _TX_PACKETS,
             _TX_OCTETS, _TX_RTP_TS, _TX_NTP_TS)
    send = sender.send
    handle_rtcp = sender._handle_rtcp_packet

    async def _send(parameters: RTCRtpSendParameters) -> None:
        await send(parameters)
        on_start(parameters)

    async def _retransmit(sequence_number: int) -> None:
        await on_nack(sequence_number)

    async def _handle_rtcp_packet(packet: Any) -> None:
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                if report.ssrc == sender._ssrc:
                    on_report(report)
        await handle_rtcp(packet)  # RTT, stats; PLI/FIR and NACK come back through the hooks

    sender.send = _send  # type: ignore[method-assign]
    sender._send_keyframe = on_keyframe  # type: ignore[method-assign]
    sender._retransmit = _retransmit  # type: ignore[method-assign]
    sender._handle_rtcp_packet = _handle_rtcp_packet  # type: ignore[method-assign]


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """The SSRCs aiortc put in the offer for this sender: media and RTX."""
    return sender._ssrc, sender._rtx_ssrc


def rtp_writer(sender: RTCRtpSender) -> Callable[[bytes], Awaitable[None]]:
    """Sends one plain RTP/RTCP packet on the sender's transport (SRTP protection, ICE)."""
    _require(sender.transport, "_send_rtp")
    return sender.transport._send_rtp


def note_sent(sender: RTCRtpSender, packets: int, octets: int, rtp_timestamp: int) -> None:
    """What the sender's next RTCP sender report says: counts and the RTP time of now."""
    setattr(sender, _TX_PACKETS, packets)
    setattr(sender, _TX_OCTETS, octets)
    setattr(sender, _TX_RTP_TS, rtp_timestamp)
    setattr(sender, _TX_NTP_TS, clock.current_ntp_time())


# -- sockets -----------------------------------------------------------------------------------------


def enlarge_socket_buffers(pc: Any, size: int) -> int:
    """Ask for ``size``-byte kernel buffers on the UDP sockets of ``pc``'s ICE agents (after
    gathering): a relay that is busy for a moment (a keyframe to every viewer, the server's
    own work) then loses nothing from its publishers. Best effort (the kernel caps it at
    net.core.rmem_max / wmem_max); returns how many sockets it set. Reaches through aiortc's
    ``RTCIceTransport._connection`` to aioice's ``Connection._protocols``."""
    import socket

    done = 0
    seen: set[int] = set()
    for t in pc.getTransceivers():
        ice = t.receiver.transport.transport
        if id(ice) in seen:
            continue
        seen.add(id(ice))
        for protocol in getattr(getattr(ice, "_connection", None), "_protocols", ()):
            sock = protocol.transport.get_extra_info("socket") if protocol.transport else None
            if sock is None:
                continue
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
                done += 1
            except OSError:
                pass
    return done


# -- transceiver -------------------------------------------------------------------------------------


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    return list(transceiver._codecs)


def restrict_codecs(transceiver: RTCRtpTransceiver, codecs: list[RTCRtpCodecParameters]) -> None:
    """The codecs the answer offers back (set after setRemoteDescription, before createAnswer)."""
    transceiver._codecs = codecs


__all__ = ["IdleTrack", "PassThroughBuffer", "SUPPORTED_AIORTC", "UnsupportedAiortc", "cap_remb",
           "enlarge_socket_buffers",
           "negotiated_codecs", "note_sent", "require_supported_aiortc", "restrict_codecs",
           "rtp_writer", "send_pli", "sender_ssrcs", "tap_receiver", "tap_sender"]
