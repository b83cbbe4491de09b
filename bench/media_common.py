"""Pieces of the media bench (bench/media.py) that run in its worker processes.

- ``host_candidates``: aioice leaves 127.0.0.1 out of its host candidates; every bench process
  patches it so that the relay, the publisher and the subscribers meet on loopback.
- ``ClipTrack``: 1280x720 moving frames (``SyntheticVideo``: a scrolling gradient and a moving
  noisy block, like a shared screen with a video in it) encoded once by aiortc's VP8 encoder
  in the publisher's process before the run, then sent in a loop at 15 fps.
- ``CountingSubscriber``: a subscriber peer whose receivers count encoded RTP (packets, bytes,
  frames by the marker bit, losses by sequence numbers) and never decode: the relay's own
  pass-through (aiortc_hooks.tap_receiver), so aiortc still sends receiver reports and NACKs
  (not REMB: no bandwidth estimation, to spare the machine's CPU).
- ``BaselineRelay``: aiortc's own way (``aiortc.contrib.media.MediaRelay``): decode the
  publisher once, encode again for every viewer; the same calls as a MediaBackend.
- ``serve_stdio`` / ``Child``: JSON lines over a child's stdin/stdout, one request (with an id)
  per line, answered in any order.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from aioice import ice as aioice_ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

from yakuba.server.media.backend import BackendStats, MediaBackend, MediaError, PeerStats
from yakuba.server.media.embedded import aiortc_hooks as hooks
from yakuba.server.media.embedded.forwarding import LossCounter

WIDTH, HEIGHT, FPS = 1280, 720, 15
BITRATE = 1_500_000  # the publisher's VP8 target
CLIP_SECONDS = 4
KEYFRAME_EVERY = 2  # s, in the clip
VIDEO_CLOCK = 90000
TICKS = os.sysconf("SC_CLK_TCK")


def host_candidates(host: str = "127.0.0.1") -> None:
    aioice_ice.get_host_addresses = lambda use_ipv4, use_ipv6: [host]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


# -- the publisher's picture -------------------------------------------------------------------------


class _RealTime(MediaStreamTrack):
    """Frame slots at ``fps`` in real time. A track that fell behind (a starved CPU) skips the
    missed slots instead of sending a burst to catch up; ``frames`` counts what it produced."""

    kind = "video"

    def __init__(self, fps: float = FPS) -> None:
        super().__init__()
        self.fps = fps
        self._start: float | None = None
        self.index = 0  # the slot of the last frame
        self.frames = 0

    async def _next_slot(self) -> int:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            late = int((time.monotonic() - self._start) * self.fps)
            self.index = max(self.index + 1, late)
            wait = self._start + self.index / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self.frames += 1
        return self.index


class SyntheticVideo(_RealTime):
    """The moving picture, raw (aiortc's sender encodes it live)."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT, fps: float = FPS) -> None:
        super().__init__(fps)
        self.width, self.height = width, height
        y, x = np.mgrid[0:height, 0:width]
        self._luma = ((x // 2 + y // 3) & 0xFF).astype(np.uint8)
        self._noise = np.random.default_rng(1).integers(0, 256, (height // 8, width // 8), dtype=np.uint8)
        u = ((np.arange(width) // 4) & 0xFF).astype(np.uint8)
        self._chroma = np.tile(u, (height // 2, 1))

    def picture(self, i: int) -> VideoFrame:
        luma = self._luma + np.uint8((i * 3) & 0xFF)
        nh, nw = self._noise.shape
        ox = (i * 16) % (self.width - nw)
        oy = self.height // 3
        luma[oy:oy + nh, ox:ox + nw] = np.roll(self._noise, i * 5, axis=1)
        frame = VideoFrame.from_ndarray(np.concatenate((luma, self._chroma)), format="yuv420p")
        frame.pts = int(i * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame

    async def recv(self) -> VideoFrame:
        return self.picture(await self._next_slot())


def encode_clip(seconds: int = CLIP_SECONDS) -> list[bytes]:
    """``seconds`` of the picture through aiortc's VP8 encoder: one VP8 frame each."""
    from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload

    picture = SyntheticVideo()
    enc = Vp8Encoder()
    enc.target_bitrate = BITRATE
    clip = []
    warmup = FPS * 4  # frames first encoded and dropped: the rate control overshoots at first
    for i in range(warmup + FPS * seconds):
        key = (i - warmup) % (FPS * KEYFRAME_EVERY) == 0
        payloads, _ = enc.encode(picture.picture(i), force_keyframe=key and i >= warmup)
        if i >= warmup:
            clip.append(b"".join(vp8_depayload(p) for p in payloads))
    return clip


class ClipTrack(_RealTime):
    """The picture encoded once, before the run, by aiortc's VP8 encoder (``encode_clip``: 1.5
    Mbit/s, a keyframe every ``KEYFRAME_EVERY`` s), then sent in a loop as encoded packets:
    during the run the publisher's process spends nothing on encoding, so a busy machine does
    not slow the source down as it does a live 720p encoder. It cannot answer keyframe
    requests: a new viewer starts at the clip's next keyframe."""

    def __init__(self, seconds: int = CLIP_SECONDS) -> None:
        super().__init__(FPS)
        self.clip = encode_clip(seconds)

    async def recv(self) -> av.Packet:
        i = await self._next_slot()
        packet = av.Packet(self.clip[i % len(self.clip)])
        packet.pts = int(i * VIDEO_CLOCK / self.fps)
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return packet


def steady_vp8_sender(sender: RTCRtpSender, bitrate: int = BITRATE) -> None:
    """A baseline viewer's encoder at the publisher's bitrate, deaf to REMB: aiortc's VP8
    encoder starts again (with a keyframe) whenever REMB moves its target by 10%, which on a
    loaded machine happens every few seconds. Keyframe requests (PLI) are still answered.
    Bench only: private attributes of aiortc 1.16."""
    from aiortc.codecs.vpx import Vp8Encoder
    from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket

    enc = Vp8Encoder()
    enc.target_bitrate = bitrate
    sender._RTCRtpSender__encoder = enc
    handle = sender._handle_rtcp_packet

    async def without_remb(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            return
        await handle(packet)

    sender._handle_rtcp_packet = without_remb


# -- a subscriber that counts and does not decode ----------------------------------------------------


class CountingSubscriber:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.packets = self.octets = self.frames = 0
        self.loss = LossCounter()

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for t in self.pc.getTransceivers():
            hooks.tap_receiver(t.receiver, self._count)
            # Nor estimate bandwidth (REMB): aiortc's estimator is the costliest per-packet step of
            # a receiver, and 80 viewers share this machine's two cores with the relay. Receiver
            # reports and NACKs still go out. (Bench only: a private attribute of aiortc 1.16.)
            t.receiver._RTCRtpReceiver__remote_bitrate_estimator = None
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        hooks.enlarge_socket_buffers(self.pc, 1 << 19)  # as the relay's: a starved viewer loses less
        return self.pc.localDescription.sdp

    async def _count(self, packet: Any) -> None:
        self.packets += 1
        self.octets += len(packet.payload)
        self.loss.add(packet.sequence_number)
        if packet.marker:
            self.frames += 1

    def counts(self) -> list[int]:
        return [self.frames, self.octets, self.packets, self.loss.expected, self.loss.received]


# -- the baseline: decode once, encode per viewer ----------------------------------------------------


class BaselineRelay(MediaBackend):
    """aiortc.contrib.media.MediaRelay behind the MediaBackend calls (what the bench needs)."""

    name = "baseline"

    def __init__(self) -> None:
        super().__init__()
        self.relay = MediaRelay()
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.tracks: dict[str, list[MediaStreamTrack]] = {}
        self.roles: dict[str, str] = {}

    async def publish(self, room: str, pub: str, offer_sdp: str, ice_servers: list[dict] | None = None) -> str:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        tracks: list[MediaStreamTrack] = []
        pc.on("track", tracks.append)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self.pcs[pub], self.tracks[pub], self.roles[pub] = pc, tracks, "publisher"
        return pc.localDescription.sdp

    async def subscribe(self, room: str, sub: str, pub: str, ice_servers: list[dict] | None = None) -> str:
        if pub not in self.tracks:
            raise MediaError("unknown_stream")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        for track in self.tracks[pub]:
            t = pc.addTransceiver(self.relay.subscribe(track), direction="sendonly")
            if track.kind == "video":
                caps = RTCRtpSender.getCapabilities("video").codecs
                t.setCodecPreferences([c for c in caps if c.mimeType in ("video/VP8", "video/rtx")])
                steady_vp8_sender(t.sender)  # each viewer's encoder at the publisher's bitrate
        await pc.setLocalDescription(await pc.createOffer())
        self.pcs[sub], self.roles[sub] = pc, "subscriber"
        return pc.localDescription.sdp

    async def answer(self, sub: str, answer_sdp: str) -> None:
        await self.pcs[sub].setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def close_peer(self, peer: str) -> None:
        pc = self.pcs.pop(peer, None)
        self.roles.pop(peer, None)
        self.tracks.pop(peer, None)
        if pc is not None:
            await pc.close()

    async def close(self) -> None:
        await asyncio.gather(*(self.close_peer(p) for p in list(self.pcs)), return_exceptions=True)

    def stats(self) -> BackendStats:
        st = BackendStats(cpu_seconds=time.process_time())
        for peer, role in self.roles.items():
            st.peers.append(PeerStats(peer, role, "bench"))
            if role == "publisher":
                st.publishers += 1
            else:
                st.subscribers += 1
        return st


# -- JSON lines between processes --------------------------------------------------------------------

Handler = Callable[..., Awaitable[Any]]


async def serve_stdio(handlers: dict[str, Handler]) -> None:
    """A worker: read {"id", "op", ...} lines from stdin, answer {"id", "ok"|"error"} on stdout,
    until "quit" or the end of stdin."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 22)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    done = asyncio.Event()
    tasks: set[asyncio.Task] = set()

    def reply(msg: dict) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    async def run(req: dict) -> None:
        try:
            result = await handlers[req["op"]](**{k: v for k, v in req.items() if k not in ("id", "op")})
            reply({"id": req["id"], "ok": result})
        except Exception as exc:  # reported to the coordinator, which stops the run
            reply({"id": req["id"], "error": f"{type(exc).__name__}: {exc}"})

    async def read() -> None:
        while True:
            line = await reader.readline()
            if not line:
                break
            req = json.loads(line)
            if req["op"] == "quit":
                reply({"id": req["id"], "ok": None})
                break
            t = asyncio.ensure_future(run(req))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        done.set()

    asyncio.ensure_future(read())
    await done.wait()


class Child:
    """The coordinator's end of a worker process (``python bench/media.py --role ...``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.proc: asyncio.subprocess.Process | None = None
        self._next = 0
        self._waiting: dict[int, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None

    async def start(self, *args: str) -> Child:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(Path(__file__).with_name("media.py")), *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 22)
        self._reader = asyncio.ensure_future(self._read())
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            msg = json.loads(line)
            fut = self._waiting.pop(msg["id"], None)
            if fut is not None and not fut.done():
                if "error" in msg:
                    fut.set_exception(RuntimeError(f"{self.name}: {msg['error']}"))
                else:
                    fut.set_result(msg["ok"])
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(RuntimeError(f"{self.name} exited"))

    async def call(self, op: str, timeout: float = 60, **kw: Any) -> Any:
        assert self.proc is not None and self.proc.stdin is not None
        self._next += 1
        fut = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = fut
        self.proc.stdin.write((json.dumps({"id": self._next, "op": op, **kw}) + "\n").encode())
        await self.proc.stdin.drain()
        return await asyncio.wait_for(fut, timeout)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            await self.call("quit", timeout=5)
            await asyncio.wait_for(self.proc.wait(), 10)
        except Exception:
            self.proc.kill()
            await self.proc.wait()


__all__ = ["BaselineRelay", "ClipTrack", "Child", "CountingSubscriber", "SyntheticVideo", "cpu_seconds",
           "host_candidates", "serve_stdio", "steady_vp8_sender"]
