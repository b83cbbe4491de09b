"""Media benchmark, Janus side: one 720p 15 fps VP8 publisher and N subscribers through a real
Janus VideoRoom (started in a network namespace, tests/media/janus_netns.py) driven by
yakuba's JanusBackend.

- The publisher sends a clip encoded once before the run (libvpx, 1280x720, ~1.5 Mbit/s, a
  keyframe every 2 s, looped), so the bench's own CPU goes to moving packets, not encoding.
- Subscribers count encoded RTP (packets, bytes, frames by the RTP marker bit, losses by
  sequence numbers) without decoding: their receivers' packet handler is replaced by a counter.
  So they send no NACKs or receiver reports; Janus does not need them to forward.
- ``cpu_pct`` is Janus's CPU (all its threads, /proc/<pid>/stat) in % of one core over the
  measured window.

    .venv/bin/python bench/media_janus.py --n 1,10 --seconds 10     # one JSON line per N

bench/media.py imports ``run_janus`` and prints it next to the embedded relay's numbers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import argparse
import asyncio
import fractions
import importlib.util
import json
import time

import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT, FPS = 1280, 720, 15
BITRATE = 1_500_000
CLIP_SECONDS = 2
CLOCK = 90000


def _harness():
    """tests/media/janus_netns.py, loaded by path: the name ``media`` may be bench/media.py here."""
    name = "yakuba_bench_janus_netns"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "media" / "janus_netns.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def encode_clip(seconds: int = CLIP_SECONDS) -> list[bytes]:
    """VP8 frames of a moving 720p picture (a scrolling gradient with a noisy block, like a
    screen with a video in it), one keyframe at the start of the loop."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.bit_rate = BITRATE
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.time_base = fractions.Fraction(1, FPS)
    codec.gop_size = FPS * seconds
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0",
                     "minrate": str(BITRATE), "maxrate": str(BITRATE), "bufsize": str(BITRATE)}
    rng = np.random.default_rng(1)
    x = np.arange(WIDTH, dtype=np.uint16)
    y = np.arange(HEIGHT, dtype=np.uint16)[:, None]
    frames: list[bytes] = []
    for i in range(FPS * seconds):
        img = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        img[..., 0] = ((x + i * 12) % 256).astype(np.uint8)
        img[..., 1] = ((y + i * 4) % 256).astype(np.uint8)
        img[..., 2] = ((x // 2 + y // 2) % 256).astype(np.uint8)
        img[200:520, 300:860] = rng.integers(0, 256, (320, 560, 3), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        frames += [bytes(p) for p in codec.encode(frame)]
    frames += [bytes(p) for p in codec.encode(None)]
    return frames


class ClipTrack(MediaStreamTrack):
    """Pre-encoded VP8 frames at FPS: aiortc packetizes av.Packets without encoding."""

    kind = "video"

    def __init__(self, clip: list[bytes]) -> None:
        super().__init__()
        self.clip = clip
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.sent / FPS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.clip[self.sent % len(self.clip)])
        packet.pts = self.sent * (CLOCK // FPS)
        packet.time_base = fractions.Fraction(1, CLOCK)
        self.sent += 1
        return packet


class CountingSubscriber:
    """A subscriber PeerConnection whose receivers count RTP instead of decoding it."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.media_pts: set[int] = set()
        self.reset()

    def reset(self) -> None:
        self.packets = self.bytes = self.frames = 0
        self.first_seq: dict[int, int] = {}  # ssrc -> first extended seq in the window
        self.last_seq: dict[int, int] = {}
        self.unique: dict[int, set[int]] = {}

    def hook(self) -> None:
        """Call after setRemoteDescription(offer): the receivers exist, nothing has arrived."""
        for t in self.pc.getTransceivers():
            self.media_pts = {c.payloadType for c in (t._codecs or []) if c.mimeType.lower() != "video/rtx"}
            t.receiver._handle_rtp_packet = self._count

    async def _count(self, packet, arrival_time_ms: int) -> None:
        if self.media_pts and packet.payload_type not in self.media_pts:
            return  # retransmissions or padding
        self.packets += 1
        self.bytes += len(packet.payload)
        if packet.marker:  # VP8: the last packet of a frame
            self.frames += 1
        ssrc, seq = packet.ssrc, packet.sequence_number
        last = self.last_seq.get(ssrc)
        if last is None:
            ext = seq
            self.first_seq[ssrc] = ext
        else:  # unwrap the 16-bit sequence number around the last one seen
            ext = last + ((seq - last + 32768) % 65536) - 32768
        self.last_seq[ssrc] = max(ext, last if last is not None else ext)
        self.unique.setdefault(ssrc, set()).add(ext)

    def lost(self) -> tuple[int, int]:
        expected = sum(self.last_seq[s] - self.first_seq[s] + 1 for s in self.last_seq)
        return max(0, expected - sum(len(u) for u in self.unique.values())), expected


async def _subscribe(backend, room: str, sub_id: str, pub_id: str) -> CountingSubscriber:
    s = CountingSubscriber()
    offer = await backend.subscribe(room, sub_id, pub_id, [])
    await s.pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
    s.hook()
    await s.pc.setLocalDescription(await s.pc.createAnswer())
    await backend.answer(sub_id, s.pc.localDescription.sdp)
    return s


async def _until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench: timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def run_janus(n_values: list[int], seconds: float) -> list[dict]:
    """One dict per N: {"backend": "janus", "n", "cpu_pct", "fps_mean", "fps_min", "kbps_mean",
    "loss"} (loss: fraction of the subscribers' expected RTP packets that never arrived)."""
    from yakuba.server.media.janus import JanusBackend

    harness = _harness()
    clip = await asyncio.get_running_loop().run_in_executor(None, encode_clip)
    results: list[dict] = []
    # A port range wide enough for the largest N (one port per PeerConnection with BUNDLE).
    ports = (20000, 20000 + max(200, 4 * max(n_values, default=1)))
    with harness.janus_in_netns(rtp_ports=ports, debug_level=3) as janus:
        backend = JanusBackend(janus.api_url, janus.admin_url, janus.admin_secret, stats_interval=3600)
        await backend.start()
        pub_pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        track = ClipTrack(clip)
        pub_pc.addTransceiver(track, direction="sendonly")
        try:
            await pub_pc.setLocalDescription(await pub_pc.createOffer())
            answer = await backend.publish("bench", "bench-pub", pub_pc.localDescription.sdp, [])
            await pub_pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            for n in n_values:
                subs: list[CountingSubscriber] = []
                try:
                    for batch in range(0, n, 5):  # a few at a time: each is ICE + DTLS
                        subs += await asyncio.gather(*(_subscribe(backend, "bench", f"bench-sub-{n}-{i}", "bench-pub")
                                                       for i in range(batch, min(n, batch + 5))))
                    await _until(lambda: all(s.frames >= FPS for s in subs), 30 + n, f"{n} subscribers receiving")
                    await asyncio.sleep(1.0)  # settle after the joins (keyframe requests, bursts)
                    for s in subs:
                        s.reset()
                    cpu0, t0, sent0 = janus.cpu_seconds(), time.monotonic(), track.sent
                    await asyncio.sleep(seconds)
                    cpu1, t1, sent1 = janus.cpu_seconds(), time.monotonic(), track.sent
                    window = t1 - t0
                    fps = [s.frames / window for s in subs]
                    kbps = [s.bytes * 8 / window / 1000 for s in subs]
                    lost = [s.lost() for s in subs]
                    results.append({
                        "backend": "janus", "n": n,
                        "cpu_pct": round(100 * (cpu1 - cpu0) / window, 1),
                        "fps_mean": round(sum(fps) / len(fps), 2), "fps_min": round(min(fps), 2),
                        "kbps_mean": round(sum(kbps) / len(kbps), 1),
                        "loss": round(sum(a for a, _ in lost) / max(1, sum(b for _, b in lost)), 4),
                        "fps_sent": round((sent1 - sent0) / window, 2),
                        "decoding_subscribers": 0,
                    })
                finally:
                    await asyncio.gather(*(backend.close_peer(f"bench-sub-{n}-{i}") for i in range(n)))
                    await asyncio.gather(*(s.pc.close() for s in subs))
        finally:
            await backend.close()
            await pub_pc.close()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", default="1,10", help="subscriber counts, comma-separated")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured window per N")
    args = ap.parse_args()
    for row in asyncio.run(run_janus([int(x) for x in args.n.split(",")], args.seconds)):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
