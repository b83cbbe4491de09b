"""Event hall benchmark: N attendees in the hall follow a presenter scrubbing the timeline.

A real `yakuba serve` process; a staff presenter and N attendees as real socket.io clients over
real sockets, the attendees spread over worker processes (each its own event loop) so that the
clients' own decoding does not stand in for the server's delay. Every attendee walks into the
hall; the presenter takes the stage, picks a simulation and scrubs the timeline (``hall.show``
with a new ``t``, ~10 changes a second). Measured per N:
- ``p50_ms``/``p99_ms``: the presenter's change sent -> the attendee's `room_patch` carrying that
  ``t`` received (CLOCK_MONOTONIC is one clock for every process on the machine);
- ``cpu_pct``: the server process's CPU over the scrub (% of one core);
- ``patch_bytes_per_attendee``: the hall patches' JSON bytes each attendee received per change.
One JSON line per N; goal: p99 <= 200 ms at 500 attendees on one process.

    .venv/bin/python bench/hall.py [--quick] [--attendees 100,300,500] [--changes 40] [--workers 2]
                                   [--two-nodes 1000]

``--two-nodes N``: N attendees over two nodes sharing a real Redis (the presenter on the first,
the attendees split evenly); the hall's copies are kept equal through the bus
(server/hall/replication.py). ``cpu_pct`` is then the two processes' sum.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import socketio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from desk_queue import GOAL_MS, PASSWORD, pct  # noqa: E402  (the same percentile and goal)
from presence import BIN, cpu_seconds, free_port, wait_http  # noqa: E402


class Attendee:
    def __init__(self, url: str, cookie: str | None = None) -> None:
        self.url, self.cookie = url, cookie
        self.sio = socketio.AsyncClient(reconnection=False)
        self.zone: str | None = None
        self.got: dict[float, float] = {}  # show.t -> when it arrived
        self.bytes = 0
        self.sio.on("zone", lambda m: setattr(self, "zone", m["zone"]))
        self.sio.on("room_patch", self._patch)

    def _patch(self, m: dict) -> None:
        if m.get("room") != "hall":
            return
        self.bytes += len(json.dumps(m, ensure_ascii=False).encode())
        t = (m["patch"].get("show") or {}).get("t")
        if t is not None:
            self.got.setdefault(t, time.monotonic())

    async def connect(self) -> "Attendee":
        headers = {"Cookie": f"yakuba_session={self.cookie}"} if self.cookie else {}
        await self.sio.connect(self.url, transports=["websocket"], headers=headers, wait_timeout=30)
        ack = await self.sio.call("join", {}, timeout=30)
        assert ack.get("ok"), ack
        await self.sio.emit("move", {"goto": "hall"})
        return self


async def _worker(url: str, n: int, ready, go, out) -> None:
    people: list[Attendee] = []
    for i in range(0, n, 25):  # a crowd arriving in batches
        people += await asyncio.gather(*(Attendee(url).connect() for _ in range(min(25, n - i))))
    deadline = time.monotonic() + 120
    while sum(p.zone == "hall" for p in people) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for p in people:
        p.bytes = 0
    ready.set()
    while not go.is_set():
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # the last patches arrive
    out.put({"in_hall": sum(p.zone == "hall" for p in people), "got": [p.got for p in people], "bytes": [p.bytes for p in people]})
    for p in people:
        await p.sio.disconnect()


def worker(url: str, n: int, ready, go, out) -> None:
    asyncio.run(_worker(url, n, ready, go, out))


async def presenter(url: str, changes: int) -> dict[float, float]:
    async with aiohttp.ClientSession() as http:
        async with http.post(url + "/api/auth/login", json={"username": "presenter", "password": PASSWORD}, headers={"Origin": url}) as r:
            assert r.status == 200, await r.text()
            cookie = r.cookies["yakuba_session"].value
    p = await Attendee(url, cookie).connect()
    deadline = time.monotonic() + 60
    while p.zone != "hall" and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert (await p.sio.call("hall.present", {"room": "hall"}, timeout=20)).get("ok")
    assert (await p.sio.call("hall.show", {"room": "hall", "patch": {"sim": "bench-run", "scenario": "worst-weather", "t": 0.0}}, timeout=20)).get("ok")
    await asyncio.sleep(0.5)
    sent: dict[float, float] = {}
    for k in range(1, changes + 1):
        t = k * 300.0
        sent[t] = time.monotonic()
        await p.sio.emit("hall.show", {"room": "hall", "patch": {"t": t}})
        await asyncio.sleep(0.1)  # a presenter dragging the timeline
    await p.sio.disconnect()
    return sent


def run(n: int, changes: int, workers: int, tmp: Path, nodes: int = 1, redis_url: str | None = None) -> dict:
    env = {**os.environ, "YAKUBA_ARGON2_PROFILE": "test", "YAKUBA_MAX_CONNECTIONS_PER_ADDRESS": "100000",
           "YAKUBA_JOIN_BURST": "100000", "YAKUBA_NEW_AVATARS_PER_S": "100000", "YAKUBA_MAX_AWAY_PER_ADDRESS": "100000",
           "YAKUBA_MEDIA_BACKEND": "off"}
    db = f"sqlite+aiosqlite:///{tmp / f'hall{n}-{nodes}.sqlite3'}"  # one database: the same staff on every node
    yakuba = str(BIN / "yakuba")
    procs, urls = [], []
    for i in range(nodes):
        data = tmp / f"hall{n}-{nodes}-{i}"
        data.mkdir(parents=True)
        node_env = {**env, "YAKUBA_DATABASE_URL": db, "YAKUBA_NODE_ID": f"bench-{i}"}
        if i == 0:
            subprocess.run([yakuba, "municipality", "add", "131016", "ベンチ区", "--data", str(data)], env=node_env, check=True, capture_output=True)
            subprocess.run([yakuba, "staff", "add", "presenter", "--municipality", "131016", "--data", str(data)],
                           input=PASSWORD + "\n", text=True, env=node_env, check=True, capture_output=True)
        port = free_port()
        cmd = [yakuba, "serve", "--port", str(port), "--data", str(data)] + (["--redis", redis_url] if redis_url else [])
        procs.append(subprocess.Popen(cmd, env=node_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls.append(f"http://127.0.0.1:{port}")
    ctx = mp.get_context("spawn")
    try:
        for url in urls:
            wait_http(url + "/healthz")
        readies, go, out = [ctx.Event() for _ in range(workers)], ctx.Event(), ctx.Queue()
        share = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
        wprocs = [ctx.Process(target=worker, args=(urls[i % len(urls)], share[i], readies[i], go, out)) for i in range(workers)]
        for p in wprocs:
            p.start()
        for e in readies:
            e.wait(300)
        cpu0, w0 = sum(cpu_seconds(p.pid) for p in procs), time.monotonic()
        sent = asyncio.run(presenter(urls[0], changes))
        cpu1, w1 = sum(cpu_seconds(p.pid) for p in procs), time.monotonic()
        go.set()
        results = [out.get(timeout=120) for _ in wprocs]
        for p in wprocs:
            p.join(30)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    lat, missing, in_hall, nbytes = [], 0, 0, []
    for r in results:
        in_hall += r["in_hall"]
        nbytes += r["bytes"]
        for got in r["got"]:
            for t, at in sent.items():
                if t in got:
                    lat.append(got[t] - at)
                else:
                    missing += 1
    p99 = pct(lat, 0.99)
    return {"bench": "hall", "nodes": nodes, "attendees": n, "in_hall": in_hall, "changes": changes, "updates": len(lat),
            "missing": missing, "p50_ms": pct(lat, 0.5), "p99_ms": p99, "max_ms": pct(lat, 1.0),
            "cpu_pct": round(100 * (cpu1 - cpu0) / (w1 - w0), 1),
            "patch_bytes_per_attendee": round(sum(nbytes) / max(1, len(nbytes)) / changes, 1),
            "goal_ms": GOAL_MS, "ok": p99 is not None and p99 <= GOAL_MS and missing == 0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="50 attendees, 10 changes")
    ap.add_argument("--attendees", default="100,300,500")
    ap.add_argument("--changes", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--two-nodes", type=int, default=0, help="also N attendees over two nodes (Redis)")
    a = ap.parse_args()
    sizes, changes = ([50], 10) if a.quick else ([int(x) for x in a.attendees.split(",")], a.changes)
    tmp = Path(tempfile.mkdtemp(prefix="yakuba-bench-hall-"))
    try:
        for n in sizes:
            print(json.dumps(run(n, changes, a.workers, tmp), ensure_ascii=False), flush=True)
        if a.two_nodes:
            sys.path.insert(0, str(HERE.parent / "tests"))
            from yakuba_testing import RedisServer

            redis = RedisServer()
            redis.start()
            try:
                print(json.dumps(run(a.two_nodes, changes, max(a.workers, 2), tmp, 2, redis.url), ensure_ascii=False), flush=True)
            finally:
                redis.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
