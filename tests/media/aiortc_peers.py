"""aiortc peers for media tests: a publisher with synthetic video and audio, a subscriber that
counts what it decodes, and the ICE address patch that lets them talk on one machine.

Backend-neutral: a peer takes the browser-shaped ``ice_servers`` list (empty: no STUN at all;
aiortc would otherwise ask a public STUN server) and gathers host candidates on the address
``host_candidates`` gives it (127.0.0.1 for the embedded relay; the veth address for Janus in
its network namespace). aioice leaves 127.0.0.1 out on purpose, hence the patch.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections.abc import Callable, Iterator

import numpy as np
from aioice import ice as aioice_ice
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket
from av import VideoFrame

VIDEO_CLOCK = 90000


@contextlib.contextmanager
def host_candidates(*hosts: str) -> Iterator[None]:
    """Within: every aiortc peer of this process (the embedded relay's too) gathers host
    candidates on exactly ``hosts``."""
    original = aioice_ice.get_host_addresses
    aioice_ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(hosts)
    try:
        yield
    finally:
        aioice_ice.get_host_addresses = original


def configuration(ice_servers: list[dict] | None = None) -> RTCConfiguration:
    servers = [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
               for s in ice_servers or []]
    return RTCConfiguration(iceServers=servers)


class SyntheticVideo(MediaStreamTrack):
    """Moving diagonal stripes (something to encode), ``fps`` frames a second in real time."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: float = 15) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        y, x = np.mgrid[0:height, 0:width]
        self._luma = ((x + y) & 0xFF).astype(np.uint8)
        self._chroma = np.full((height // 2, width), 128, np.uint8)
        self._start: float | None = None
        self.frames = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + self.frames / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        shift = (self.frames * 4) % 256
        yuv = np.concatenate(((self._luma + shift).astype(np.uint8), self._chroma))
        frame = VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = int(self.frames * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.frames += 1
        return frame


class Publisher:
    """An aiortc peer that sends a synthetic video and/or audio track (sendonly)."""

    def __init__(self, ice_servers: list[dict] | None = None, video: bool = True, audio: bool = True,
                 size: tuple[int, int] = (320, 240), fps: float = 15,
                 video_codec: str | None = None) -> None:
        self.pc = RTCPeerConnection(configuration(ice_servers))
        self.video = SyntheticVideo(*size, fps=fps) if video else None
        self.audio = AudioStreamTrack() if audio else None
        self.video_codec = video_codec  # e.g. "video/H264": offer only that
        self.keyframe_requests: list[tuple[float, int, int]] = []  # (time, PLI/FIR fmt, media SSRC)

    async def offer(self) -> str:
        for track in (self.audio, self.video):
            if track is None:
                continue
            t = self.pc.addTransceiver(track, direction="sendonly")
            if track.kind == "video":
                if self.video_codec:
                    from aiortc import RTCRtpSender

                    caps = RTCRtpSender.getCapabilities("video").codecs
                    t.setCodecPreferences([c for c in caps if c.mimeType in (self.video_codec, "video/rtx")])
                self._count_keyframe_requests(t.sender)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    def _count_keyframe_requests(self, sender) -> None:
        # A probe on the publisher's own sender: aiortc routes a PLI/FIR here only when it names
        # this sender's (media) SSRC.
        handle = sender._handle_rtcp_packet

        async def probe(packet) -> None:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                self.keyframe_requests.append((time.monotonic(), packet.fmt, packet.media_ssrc))
            await handle(packet)

        sender._handle_rtcp_packet = probe

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    @property
    def video_ssrc(self) -> int | None:
        for t in self.pc.getTransceivers():
            if t.kind == "video":
                return t.sender._ssrc
        return None

    async def close(self) -> None:
        await self.pc.close()


class Subscriber:
    """An aiortc peer that answers a backend's offer and decodes what it gets, counting frames."""

    def __init__(self, ice_servers: list[dict] | None = None) -> None:
        self.pc = RTCPeerConnection(configuration(ice_servers))
        self.frames = {"audio": 0, "video": 0}
        self.first_frame_at: dict[str, float] = {}
        self.sizes: set[tuple[int, int]] = set()
        self._tasks: list[asyncio.Task] = []
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.ensure_future(self._count(track)))

    async def _count(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                self.frames[track.kind] += 1
                self.first_frame_at.setdefault(track.kind, time.monotonic())
                if track.kind == "video":
                    self.sizes.add((frame.width, frame.height))
        except MediaStreamError:
            pass

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def close(self) -> None:
        await self.pc.close()
        for t in self._tasks:
            t.cancel()


async def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Real time (media is real time): poll ``condition`` until true or ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(step)
    return True


__all__ = ["Publisher", "Subscriber", "SyntheticVideo", "configuration", "host_candidates", "wait_until"]
