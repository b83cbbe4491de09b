"""Media benchmark: the embedded relay (forward only) against aiortc's MediaRelay (decode once,
encode per viewer), and Janus when bench/media_janus.py can run it.

One 1280x720 15 fps VP8 publisher (synthetic moving frames, encoded once by aiortc in its own
process, before the run: a 4 s clip at 1.5 Mbit/s with a keyframe every 2 s, sent in a loop) to
N subscribers (in other processes, 20 per process, counting encoded frames without
decoding). The relay runs in its own process; for each N: the relay's CPU (user + system, all
threads, % of one core over the window), delivered frame rate and bitrate per subscriber (mean,
min), loss (packets the subscribers never got / expected). The baseline stops at the first N
where it cannot keep full frame rate or needs a whole core ("capped").

Prints one JSON line per (backend, N), then a summary line: the most subscribers served at full
frame rate (>= 14 fps delivered to every subscriber) within 60% of a core, per backend, and the
subscribers the embedded relay serves at the CPU the baseline spends on its best full-rate N
within that budget ("at equal CPU": measured, and from a linear fit of the embedded relay's CPU
over N). Goals: >= 60 subscribers at <= 60% of a core, >= 5x the baseline at equal CPU. The
machine is shared: each line has the 1-minute load average it was measured under.

    .venv/bin/python bench/media.py                 # embedded N=1,10,20,40,80; baseline until capped; janus
    .venv/bin/python bench/media.py --quick         # N=1,10, short windows
    .venv/bin/python bench/media.py --backends embedded --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))  # media_common, media_janus

FULL_FPS = 14.0  # delivered frames per second that count as full rate (of 15)
CPU_BUDGET = 60.0  # % of one core
PER_PROC = 20  # subscribers per subscriber process
PUBLISHER_WARMUP = 2.0  # s
ROOM = "bench"


# -- worker processes --------------------------------------------------------------------------------


async def relay_role(backend_name: str) -> None:
    from media_common import BaselineRelay, host_candidates, serve_stdio

    from yakuba.server.media.embedded import EmbeddedRelay

    host_candidates()
    backend = EmbeddedRelay() if backend_name == "embedded" else BaselineRelay()
    await backend.start()

    async def publish(offer: str) -> str:
        return await backend.publish(ROOM, "pub", offer, [])

    async def subscribe(sub: str) -> str:
        return await backend.subscribe(ROOM, sub, "pub", [])

    async def answer(sub: str, sdp: str) -> None:
        await backend.answer(sub, sdp)

    async def close(peer: str) -> None:
        await backend.close_peer(peer)

    async def stats() -> dict:
        st = backend.stats()
        pub = next((p for p in st.peers if p.role == "publisher"), None)
        keyframes = sum(s.keyframes_in for s in backend.sources("pub")) if backend_name == "embedded" else None
        return {"cpu": st.cpu_seconds, "publishers": st.publishers, "subscribers": st.subscribers,
                "pub_frames": pub.frames if pub else 0, "keyframes": keyframes}

    if os.environ.get("YAKUBA_BENCH_DEBUG"):
        asyncio.ensure_future(debug_relay(backend))
    await serve_stdio({"publish": publish, "subscribe": subscribe, "answer": answer, "close": close,
                       "stats": stats})
    await backend.close()


async def debug_relay(backend: Any) -> None:
    """YAKUBA_BENCH_DEBUG=1: the relay's state every 2 s on stderr."""
    while True:
        await asyncio.sleep(2)
        st = backend.stats()
        line: dict[str, Any] = {"t": round(time.monotonic(), 1), "cpu": round(st.cpu_seconds, 2),
                                "pubs": st.publishers, "subs": st.subscribers}
        for src in getattr(backend, "sources", lambda _: [])("pub"):
            line[src.kind] = {"pkts": src.packets, "frames": src.frames, "kf": src.keyframes_in,
                              "pli_req": src.pacer.requested, "pli_sent": src.pacer.sent,
                              "lost": src.loss.lost, "views": len(src.downstreams),
                              "rtx": sum(d.retransmitted for d in src.downstreams),
                              "rtx_refused": sum(d.rtx_refused for d in src.downstreams),
                              "vplis": sum(d.keyframe_requests for d in src.downstreams)}
        for p in st.peers:
            if p.role == "publisher":
                line["pub_kbps"] = round(p.bitrate_bps / 1000)
        print(json.dumps(line), file=sys.stderr, flush=True)


async def publisher_role() -> None:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
    from media_common import ClipTrack, host_candidates, serve_stdio

    host_candidates()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    track = ClipTrack()
    t = pc.addTransceiver(track, direction="sendonly")
    t.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                           if c.mimeType in ("video/VP8", "video/rtx")])

    async def offer() -> str:
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp

    async def accept(sdp: str) -> None:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def stats() -> dict:
        return {"frames": track.frames, "cpu": time.process_time(), "state": pc.connectionState}

    await serve_stdio({"offer": offer, "accept": accept, "stats": stats})
    await pc.close()


async def subscribers_role() -> None:
    from media_common import CountingSubscriber, host_candidates, serve_stdio

    host_candidates()
    subs: dict[str, CountingSubscriber] = {}

    async def add(sub: str, offer: str) -> str:
        s = subs[sub] = CountingSubscriber()
        return await s.answer(offer)

    async def counts() -> dict:
        return {"cpu": time.process_time(), "subs": {k: s.counts() for k, s in subs.items()}}

    async def close(sub: str) -> None:
        s = subs.pop(sub, None)
        if s is not None:
            await s.pc.close()

    await serve_stdio({"add": add, "counts": counts, "close": close})
    await asyncio.gather(*(s.pc.close() for s in subs.values()), return_exceptions=True)


# -- the coordinator ---------------------------------------------------------------------------------


class Run:
    """One backend: a relay process, a publisher process, subscriber processes added as N grows."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.relay: Any = None
        self.publisher: Any = None
        self.procs: list[Any] = []  # subscriber processes
        self.placed: dict[str, Any] = {}  # sub id -> its process

    async def start(self) -> None:
        from media_common import Child

        self.relay = await Child("relay").start("--role", "relay", "--backend", self.backend)
        self.publisher = await Child("publisher").start("--role", "publisher")
        answer = await self.relay.call("publish", offer=await self.publisher.call("offer"))
        await self.publisher.call("accept", sdp=answer)
        await asyncio.sleep(PUBLISHER_WARMUP)

    async def stop(self) -> None:
        for child in [*self.procs, self.publisher, self.relay]:
            if child is not None:
                await child.stop()

    async def _proc_with_room(self) -> Any:
        from media_common import Child

        load = {id(p): 0 for p in self.procs}
        for p in self.placed.values():
            load[id(p)] += 1
        for p in self.procs:
            if load[id(p)] < PER_PROC:
                return p
        p = await Child(f"subscribers{len(self.procs)}").start("--role", "subscribers")
        self.procs.append(p)
        return p

    async def grow_to(self, n: int) -> None:
        while len(self.placed) < n:
            batch = [f"sub{i}" for i in range(len(self.placed), min(n, len(self.placed) + 8))]
            for sub in batch:  # placed in order, so that each process fills before the next
                self.placed[sub] = await self._proc_with_room()
            await asyncio.gather(*(self._connect(sub) for sub in batch))

    async def _connect(self, sub: str) -> None:
        proc = self.placed[sub]
        offer = await self.relay.call("subscribe", sub=sub)
        await self.relay.call("answer", sub=sub, sdp=await proc.call("add", sub=sub, offer=offer))

    async def counts(self) -> tuple[dict[str, list[int]], float]:
        replies = await asyncio.gather(*(p.call("counts") for p in self.procs))
        subs: dict[str, list[int]] = {}
        for r in replies:
            subs.update(r["subs"])
        return subs, sum(r["cpu"] for r in replies)

    async def wait_flowing(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            subs, _ = await self.counts()
            flowing = sum(1 for c in subs.values() if c[0] > 0)
            if flowing == len(self.placed) or time.monotonic() > deadline:
                return flowing
            await asyncio.sleep(0.5)

    async def measure(self, n: int, seconds: float) -> dict:
        from media_common import cpu_seconds

        await self.grow_to(n)
        flowing = await self.wait_flowing(15 + n / 4)
        await asyncio.sleep(2.0)  # settle: keyframes for the newcomers, bursts
        rs0, p0 = await self.relay.call("stats"), await self.publisher.call("stats")
        c0, sub_cpu0 = await self.counts()
        cpu0, t0 = cpu_seconds(self.relay.pid), time.monotonic()  # the window: from count to count
        await asyncio.sleep(seconds)
        c1, sub_cpu1 = await self.counts()
        cpu1, t1 = cpu_seconds(self.relay.pid), time.monotonic()
        rs1, p1 = await self.relay.call("stats"), await self.publisher.call("stats")
        window = t1 - t0
        fps, kbps, lost, expected = [], [], 0, 0
        for sub, (f1, o1, _, e1, r1) in c1.items():
            f0, o0, _, e0, r0 = c0.get(sub, [0, 0, 0, 0, 0])
            fps.append((f1 - f0) / window)
            kbps.append((o1 - o0) * 8 / window / 1000)
            expected += e1 - e0
            lost += max(0, (e1 - e0) - (r1 - r0))
        return {
            "backend": self.backend, "n": n, "connected": flowing,
            "cpu_pct": round(100 * (cpu1 - cpu0) / window, 1),
            "fps_mean": round(sum(fps) / len(fps), 2), "fps_min": round(min(fps), 2),
            "kbps_mean": round(sum(kbps) / len(kbps), 1), "kbps_min": round(min(kbps), 1),
            "loss": round(lost / max(1, expected), 4),
            "publisher_fps": round((p1["frames"] - p0["frames"]) / window, 2),
            "publisher_cpu_pct": round(100 * (p1["cpu"] - p0["cpu"]) / window, 1),
            "subscribers_cpu_pct": round(100 * (sub_cpu1 - sub_cpu0) / window, 1),
            "window_s": round(window, 1),
            "loadavg_1m": round(os.getloadavg()[0], 2),  # the machine is shared: how busy it was
            **({"keyframes": rs1["keyframes"] - rs0["keyframes"]} if rs0["keyframes"] is not None else {}),
        }


def full_rate(row: dict) -> bool:
    return row["fps_min"] >= FULL_FPS and row.get("connected", row["n"]) == row["n"]


async def run_backend(backend: str, n_values: list[int], seconds: float, cap: bool) -> list[dict]:
    run = Run(backend)
    rows: list[dict] = []
    try:
        await run.start()
        for n in n_values:
            row = await run.measure(n, seconds)
            if cap and (not full_rate(row) or row["cpu_pct"] >= 100):
                row["capped"] = True  # saturated: more viewers would only be slower
            print(json.dumps(row), flush=True)
            rows.append(row)
            if row.get("capped"):
                break
    finally:
        await run.stop()
    return rows


async def run_janus_rows(n_values: list[int], seconds: float) -> list[dict]:
    if not (HERE / "media_janus.py").exists():
        row = {"backend": "janus", "skipped": "bench/media_janus.py is not there"}
        print(json.dumps(row), flush=True)
        return []
    try:
        from media_janus import run_janus

        rows = await run_janus(n_values, seconds)
    except Exception as exc:  # no root, no netns, no janus: say so and go on
        print(json.dumps({"backend": "janus", "skipped": f"{type(exc).__name__}: {exc}"}), flush=True)
        return []
    for row in rows:
        print(json.dumps(row), flush=True)
    return rows


def linear_fit(rows: list[dict]) -> tuple[float, float] | None:
    """cpu_pct = a + b * n over the full-rate rows (least squares)."""
    pts = [(r["n"], r["cpu_pct"]) for r in rows if full_rate(r)]
    if len(pts) < 2:
        return None
    mx = sum(n for n, _ in pts) / len(pts)
    my = sum(c for _, c in pts) / len(pts)
    sxx = sum((n - mx) ** 2 for n, _ in pts)
    b = sum((n - mx) * (c - my) for n, c in pts) / sxx
    return my - b * mx, b


def best_within(rows: list[dict], budget: float) -> int:
    return max((r["n"] for r in rows if full_rate(r) and r["cpu_pct"] <= budget), default=0)


def summary(results: dict[str, list[dict]]) -> dict:
    out: dict[str, Any] = {"summary": True, "full_fps": FULL_FPS, "cpu_budget_pct": CPU_BUDGET}
    for backend, rows in results.items():
        if not rows:
            continue
        out[f"{backend}_max_subs_full_fps_within_budget"] = best_within(rows, CPU_BUDGET)
        fit = linear_fit(rows)
        if fit is not None:
            a, b = fit
            out[f"{backend}_cpu_pct_per_sub"] = round(b, 3)
            out[f"{backend}_subs_at_budget_estimated"] = int((CPU_BUDGET - a) / b) if b > 0 else None
        capped = [r["n"] for r in rows if r.get("capped")]
        if capped:
            out[f"{backend}_capped_at_n"] = capped[0]
    emb, base = results.get("embedded") or [], results.get("baseline") or []
    fit = linear_fit(emb)
    if base and fit is not None:
        # the baseline's best full-rate N within the budget (or its first), and what it costs
        ok = [r for r in base if full_rate(r) and r["cpu_pct"] <= CPU_BUDGET] or base[:1]
        ref = max(ok, key=lambda r: r["n"])
        a, b = fit
        at_equal = (ref["cpu_pct"] - a) / b if b > 0 else float("inf")
        out["equal_cpu"] = {"cpu_pct": ref["cpu_pct"], "baseline_subs": ref["n"],
                            "embedded_subs": round(at_equal, 1),
                            "extrapolated": at_equal > max(r["n"] for r in emb)}
        out["ratio_subs_at_equal_cpu"] = round(at_equal / ref["n"], 1)
        # without the fit: the most the embedded relay served, measured, within that CPU
        measured = best_within(emb, ref["cpu_pct"])
        out["equal_cpu"]["embedded_subs_measured"] = measured
        out["ratio_subs_at_equal_cpu_measured"] = round(measured / ref["n"], 1)
    if emb:
        out["goal_60_subs_within_60pct"] = out.get("embedded_max_subs_full_fps_within_budget", 0) >= 60
    if "ratio_subs_at_equal_cpu" in out:
        out["goal_5x_baseline"] = out["ratio_subs_at_equal_cpu_measured"] >= 5
    return out


async def coordinate(args: argparse.Namespace) -> None:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    embedded_n = [1, 10] if args.quick else [1, 10, 20, 40, 80]
    baseline_n = [1, 10] if args.quick else [1, 2, 3, 5, 10, 20, 40, 80]
    if args.n:
        embedded_n = baseline_n = [int(x) for x in args.n.split(",")]
    results: dict[str, list[dict]] = {}
    for backend in backends:
        if backend == "embedded":
            results[backend] = await run_backend("embedded", embedded_n, seconds, cap=False)
        elif backend == "baseline":
            results[backend] = await run_backend("baseline", baseline_n, seconds, cap=True)
        elif backend == "janus":
            results[backend] = await run_janus_rows(embedded_n, seconds)
        else:
            raise SystemExit(f"unknown backend {backend!r}")
    print(json.dumps(summary(results)), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="N = 1, 10 and short windows (a smoke run)")
    ap.add_argument("--backends", default="embedded,baseline,janus")
    ap.add_argument("--seconds", type=float, default=None, help="measured window per N (8 s; 3 s quick)")
    ap.add_argument("--n", default=None, help="subscriber counts for every backend, comma-separated")
    ap.add_argument("--role", choices=("relay", "publisher", "subscribers"), help=argparse.SUPPRESS)
    ap.add_argument("--backend", default="embedded", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "relay":
        asyncio.run(relay_role(args.backend))
    elif args.role == "publisher":
        asyncio.run(publisher_role())
    elif args.role == "subscribers":
        asyncio.run(subscribers_role())
    else:
        asyncio.run(coordinate(args))


if __name__ == "__main__":
    main()
