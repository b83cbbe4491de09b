"""Desk queue benchmark: residents take tickets, staff in the booths call them and lock.

Real `yakuba serve` processes (one node, then two sharing a real Redis: staff on the first,
residents split over both) and real socket.io clients over real sockets. Measures
- ``call_to_invite``: `queue.call` sent by a staff member -> `queue.invite` received by the
  called resident;
- ``lock_to_sign``: `booth.lock` sent -> `booth.state {locked: true}` received by every
  resident (the 相談中 sign and the closed door are drawn from it);
and prints one JSON line per measure (n, p50, p99, goal 200 ms, ok). The sample city hall has six
booths, so six staff call at a time; the residents leave the queue when invited, which frees
the booth for the next call (walking in is measured by the e2e tests, not here).

    .venv/bin/python bench/desk_queue.py [--quick] [--residents 500] [--rounds 20] [--nodes 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
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
from presence import BIN, free_port, wait_http  # noqa: E402  (the bench's shared helpers)

REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
BOOTHS = [f"booth{i}" for i in range(1, 7)]
PASSWORD = "bench password 1234"
GOAL_MS = 200.0


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 1)


def prepare(data: Path, env: dict) -> None:
    yakuba = str(BIN / "yakuba")
    subprocess.run([yakuba, "municipality", "add", "131016", "ベンチ区", "--data", str(data)], env=env, check=True, capture_output=True)
    for i in range(len(BOOTHS)):
        subprocess.run([yakuba, "staff", "add", f"staff{i}", "--municipality", "131016", "--data", str(data)],
                       input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)


class Client:
    def __init__(self, url: str, cookie: str | None = None) -> None:
        self.url, self.cookie = url, cookie
        self.sio = socketio.AsyncClient(reconnection=False)
        self.invites: dict[str, float] = {}  # ticket -> when the invitation arrived
        self.signs: dict[str, float] = {}  # booth -> when it was last seen locked
        self.zone: str | None = None
        self.id: int | None = None
        self.sio.on("queue.invite", lambda m: self.invites.__setitem__(m["ticket"], time.perf_counter()))
        self.sio.on("booth.state", self._sign)
        self.sio.on("zone", lambda m: setattr(self, "zone", m["zone"]))

    def _sign(self, m: dict) -> None:
        if m.get("locked"):
            self.signs[m["booth"]] = time.perf_counter()

    async def connect(self) -> "Client":
        headers = {"Cookie": f"yakuba_session={self.cookie}"} if self.cookie else {}
        await self.sio.connect(self.url, transports=["websocket"], headers=headers, wait_timeout=20)
        ack = await self.sio.call("join", {}, timeout=20)
        assert ack.get("ok"), ack
        self.id = ack["id"]
        return self

    async def call(self, event: str, data: dict | None = None) -> dict:
        return await self.sio.call(event, data or {}, timeout=20)


async def staff_cookie(url: str, user: str) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.post(url + "/api/auth/login", json={"username": user, "password": PASSWORD}, headers={"Origin": url}) as r:
            assert r.status == 200, await r.text()
            return r.cookies["yakuba_session"].value


async def measure(urls: list[str], residents: int, rounds: int) -> dict[str, list[float]]:
    from yakuba.server.consult.catalogue import load_catalogue

    cat = load_catalogue()
    topics = {b: [t.id for t in cat.topics_for_booth(b)] for b in BOOTHS}
    staff = []
    for i, b in enumerate(BOOTHS):
        s = await Client(urls[0], await staff_cookie(urls[0], f"staff{i}")).connect()
        await s.sio.emit("move", {"goto": b})
        staff.append(s)
    people: list[Client] = []
    for i in range(residents):  # connected in batches: a crowd arriving, not a stampede
        people.append(Client(urls[i % len(urls)]))
        if len(people) % 50 == 0 or i == residents - 1:
            await asyncio.gather(*(p.connect() for p in people[-50:] if p.id is None))
    deadline = time.monotonic() + 60
    while any(s.zone != b for s, b in zip(staff, BOOTHS)) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert all(s.zone == b for s, b in zip(staff, BOOTHS)), [s.zone for s in staff]
    by_ticket: dict[str, Client] = {}
    # every resident takes a ticket for a topic one of the booths serves
    for i, p in enumerate(people):
        b = BOOTHS[i % len(BOOTHS)]
        ack = await p.call("queue.take", {"topic": random.choice(topics[b])})
        assert ack.get("ok"), ack
        by_ticket[ack["ticket"]["ticket"]] = p
    call_lat: list[float] = []
    lock_lat: list[float] = []

    async def serve_booth(s: Client, booth: str) -> None:
        for r in range(rounds):
            t0 = time.perf_counter()
            ack = await s.call("queue.call", {"booth": booth})
            if not ack.get("ok"):
                if ack["error"]["code"] == "queue_empty":
                    return
                raise RuntimeError(ack)
            ticket = ack["ticket"]
            who = by_ticket[ticket["ticket"]]
            end = time.monotonic() + 5
            while ticket["ticket"] not in who.invites and time.monotonic() < end:
                await asyncio.sleep(0.002)
            if ticket["ticket"] in who.invites:
                call_lat.append(who.invites[ticket["ticket"]] - t0)
            await who.call("queue.leave")
            if r % 4 == 0:  # now and then: lock, everyone sees the sign, unlock
                for p in people:
                    p.signs.pop(booth, None)
                t0 = time.perf_counter()
                assert (await s.call("booth.lock", {"booth": booth})).get("ok")
                end = time.monotonic() + 5
                while time.monotonic() < end and sum(booth in p.signs for p in people) < len(people):
                    await asyncio.sleep(0.005)
                lock_lat.extend(p.signs[booth] - t0 for p in people if booth in p.signs)
                assert (await s.call("booth.unlock", {"booth": booth})).get("ok")

    await asyncio.gather(*(serve_booth(s, b) for s, b in zip(staff, BOOTHS)))
    for c in staff + people:
        await c.sio.disconnect()
    return {"call_to_invite": call_lat, "lock_to_sign": lock_lat}


def run(nodes: int, residents: int, rounds: int, tmp: Path, redis_url: str | None) -> list[dict]:
    env = {**os.environ, "YAKUBA_ARGON2_PROFILE": "test", "YAKUBA_MAX_CONNECTIONS_PER_ADDRESS": "100000",
           "YAKUBA_JOIN_BURST": "100000", "YAKUBA_NEW_AVATARS_PER_S": "100000", "YAKUBA_MAX_AWAY_PER_ADDRESS": "100000"}
    procs, urls = [], []
    for i in range(nodes):
        data = tmp / f"q{nodes}-{i}"
        data.mkdir(parents=True)
        prepare(data, env)  # the same accounts, the same ids, on every node's database
        port = free_port()
        cmd = [str(BIN / "yakuba"), "serve", "--port", str(port), "--data", str(data)] + (["--redis", redis_url] if redis_url else [])
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls.append(f"http://127.0.0.1:{port}")
        wait_http(urls[-1] + "/healthz")
    try:
        got = asyncio.run(measure(urls, residents, rounds))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    out = []
    for name, xs in got.items():
        p99 = pct(xs, 0.99)
        out.append({"bench": "queue", "measure": name, "nodes": nodes, "residents": residents, "staff": len(BOOTHS),
                    "n": len(xs), "p50_ms": pct(xs, 0.5), "p99_ms": p99, "goal_ms": GOAL_MS, "ok": p99 is not None and p99 <= GOAL_MS})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100 residents, 8 rounds")
    ap.add_argument("--residents", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=20, help="calls per booth")
    ap.add_argument("--nodes", default="1,2")
    a = ap.parse_args()
    residents, rounds = (100, 8) if a.quick else (a.residents, a.rounds)
    tmp = Path(tempfile.mkdtemp(prefix="yakuba-bench-queue-"))
    redis = None
    try:
        for nodes in (int(n) for n in a.nodes.split(",")):
            url = None
            if nodes > 1:
                if redis is None:
                    from yakuba_testing import RedisServer

                    redis = RedisServer()
                    redis.start()
                url = redis.url
            for line in run(nodes, residents, rounds, tmp, url):
                print(json.dumps(line, ensure_ascii=False), flush=True)
    finally:
        if redis is not None:
            redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
