"""Lean load client for bench/presence.py: raw engine.io v4 / socket.io v5 frames over aiohttp
websockets (no python-socketio client machinery), so the load generator is not the bottleneck.

Modes:
  yakuba  join, then walk: a new velocity intent every 1-2 s (as the browser sends on input
          changes, far below the 10/s cap); probes measure intent -> own avatar seen moving.
  naive   the baseline: every client sends its position at 10 Hz; the server echoes each to all;
          probes measure position sent -> own echo received.
Prints one JSON object on stdout at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import struct
import time

import aiohttp
import msgpack

UPD = struct.Struct("<IHHB")


class Stats:
    def __init__(self) -> None:
        self.bytes = 0
        self.frames = 0
        self.latencies: list[float] = []
        self.errors = 0
        self.error_events = 0
        self.joined = 0
        self.refused = 0  # join acks with ok: false


async def client(session: aiohttp.ClientSession, url: str, idx: int, args, stats: Stats, stop: asyncio.Event, probe: bool, ready: asyncio.Event, goto: str | None) -> None:
    rnd = random.Random(idx)
    try:
        ws = await session.ws_connect(url + "/socket.io/?EIO=4&transport=websocket", max_msg_size=0, heartbeat=None)
    except Exception:
        stats.errors += 1
        return
    me: int | None = None
    pending: float | None = None  # time a probe intent was sent
    last_pos: tuple[int, int] | None = None
    expect_binary = False
    naive_xy = [rnd.uniform(2, 18), rnd.uniform(2, 12)]

    async def reader() -> None:
        nonlocal me, pending, last_pos, expect_binary
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = msg.data
                stats.bytes += len(data)
                if data == "2":
                    await ws.send_str("3")
                    continue
                if data.startswith("0{"):
                    await ws.send_str("40")
                elif data.startswith("40"):
                    if args.mode == "yakuba":
                        await ws.send_str('420["join",{"name":"bench%d"}]' % idx)
                    else:
                        me = idx
                        stats.joined += 1
                        ready.set() if stats.joined >= args.n else None
                elif data.startswith("430"):
                    ack = json.loads(data[3:])[0]
                    me = ack.get("id")
                    stats.joined += 1 if ack.get("ok") else 0
                    stats.refused += 0 if ack.get("ok") else 1
                    if goto:
                        await ws.send_str('42["move",{"goto":"%s"}]' % goto)
                    if stats.joined + stats.refused >= args.n:
                        ready.set()
                elif data.startswith("451-"):
                    expect_binary = True
                elif data.startswith('42["error"'):
                    stats.error_events += 1
                    if args.debug:
                        print(data, flush=True)
                elif data.startswith("42"):
                    stats.frames += 1
                    if probe and pending is not None and args.mode == "naive":
                        ev = json.loads(data[2:])
                        if ev[0] == "moved" and ev[1][0] == me:
                            stats.latencies.append(time.perf_counter() - pending)
                            pending = None
            elif msg.type == aiohttp.WSMsgType.BINARY:
                stats.bytes += len(msg.data)
                stats.frames += 1
                if expect_binary and probe and pending is not None and me is not None:
                    m = msgpack.unpackb(msg.data)
                    upd = m["upd"]
                    for i in range(0, len(upd), 9):
                        aid, x, y, _ = UPD.unpack_from(upd, i)
                        if aid == me and (x, y) != last_pos:
                            stats.latencies.append(time.perf_counter() - pending)
                            pending = None
                            break
                    for rec in m["add"]:
                        if rec[0] == me:
                            last_pos = (rec[5], rec[6])
                expect_binary = False
            else:
                break

    rtask = asyncio.create_task(reader())
    try:
        await ready.wait()
        await asyncio.sleep(rnd.uniform(0, 1.0))
        if args.mode == "yakuba":
            while not stop.is_set():
                if probe:
                    # Stop, let the position settle, then time one intent until it is seen.
                    await ws.send_str('42["move",{"stop":true}]')
                    await asyncio.sleep(0.4)
                    a = rnd.uniform(0, 2 * math.pi)
                    pending = time.perf_counter()
                    await ws.send_str('42["move",{"vx":%.2f,"vy":%.2f}]' % (1.5 * math.cos(a), 1.5 * math.sin(a)))
                    await asyncio.sleep(0.6)
                    pending = None
                else:
                    a = rnd.uniform(0, 2 * math.pi)
                    await ws.send_str('42["move",{"vx":%.2f,"vy":%.2f}]' % (1.4 * math.cos(a), 1.4 * math.sin(a)))
                    await asyncio.sleep(rnd.uniform(1.0, 2.0))
        else:
            while not stop.is_set():
                naive_xy[0] += rnd.uniform(-0.1, 0.1)
                naive_xy[1] += rnd.uniform(-0.1, 0.1)
                if probe and pending is None:
                    pending = time.perf_counter()
                await ws.send_str('42["pos",[%d,%.2f,%.2f]]' % (idx, naive_xy[0], naive_xy[1]))
                await asyncio.sleep(0.1)
    finally:
        rtask.cancel()
        await ws.close()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--urls", required=True, help="comma-separated server URLs; clients spread round-robin")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--probes", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--mode", choices=["yakuba", "naive"], default="yakuba")
    ap.add_argument("--debug", action="store_true")
    ap.add_argument("--hall-share", type=float, default=0.5, help="share of avatars sent to the event hall")
    args = ap.parse_args()
    urls = args.urls.split(",")
    stats = Stats()
    stop, ready = asyncio.Event(), asyncio.Event()
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        tasks = []
        for i in range(args.n):
            goto = "hall" if args.mode == "yakuba" and i % 100 < args.hall_share * 100 and i >= args.probes else None
            tasks.append(asyncio.create_task(client(session, urls[i % len(urls)], i, args, stats, stop, i < args.probes, ready, goto)))
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(ready.wait(), 60)
        except asyncio.TimeoutError:
            pass
        await asyncio.sleep(3.0 if args.mode == "yakuba" else 1.0)  # avatars walk to their zones
        stats.latencies.clear()
        print("MEASURE_START", flush=True)
        b0, f0, t0 = stats.bytes, stats.frames, time.perf_counter()
        await asyncio.sleep(args.seconds)
        dt = time.perf_counter() - t0
        print("MEASURE_END", flush=True)
        b1, f1 = stats.bytes, stats.frames
        stop.set()
        await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    lat = sorted(stats.latencies)

    def pct(p: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else None

    print(json.dumps({
        "joined": stats.joined, "join_refused": stats.refused, "connect_errors": stats.errors, "error_events": stats.error_events, "samples": len(lat),
        "latency_ms_p50": pct(0.5), "latency_ms_p99": pct(0.99),
        "bytes_per_s_per_client": round((b1 - b0) / dt / max(1, args.n)), "frames_per_s": round((f1 - f0) / dt),
        "seconds": round(dt, 2),
    }))


if __name__ == "__main__":
    asyncio.run(main())
