"""One `yakuba serve` subprocess for the adversarial suite (module scope: the attempts run one
after another against the same server, which must stay healthy through all of them), and the
check run after each attempt: /healthz green, a resident joins, walks and chats within a latency
bound, the process's memory and descriptors back within bounds."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from yakuba_testing import ServeProcess

from server.realtime_client import Peer, until

JOIN_TIMEOUT_S = 3.0  # short, so the never-joining attempt does not wait 30 s
RSS_SLACK_KB = 30 * 1024  # the allocator keeps some of what an attempt used; a leak is far more
FD_SLACK = 12
_addresses = itertools.count(1)


def fresh_address() -> str:
    """A client address of its own (the server believes X-Forwarded-For from loopback here), so
    one attempt's per-address limits never fall on the resident or the next attempt."""
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


class Target:
    def __init__(self, proc: ServeProcess) -> None:
        self.proc = proc
        self.url = proc.url
        self.baseline: dict[str, float] | None = None

    @property
    def pid(self) -> int:
        assert self.proc.proc is not None
        return self.proc.proc.pid

    def rss_kb(self) -> int:
        text = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1))

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    async def metrics(self) -> dict[str, float]:
        """yakuba_rejected_total by reason, and the clients gauge."""
        async with aiohttp.ClientSession() as s, s.get(self.url + "/metrics") as r:
            assert r.status == 200
            text = await r.text()
        out = {m.group(1): float(m.group(2)) for m in re.finditer(r'^yakuba_rejected_total\{reason="([^"]+)"\} (\S+)$', text, re.M)}
        out["_clients"] = float(re.search(r"^yakuba_clients (\S+)$", text, re.M).group(1))
        return out

    async def refusals(self, before: dict[str, float], *reasons: str) -> float:
        now = await self.metrics()
        return sum(now.get(r, 0.0) - before.get(r, 0.0) for r in reasons)

    async def resident_round(self) -> float:
        """A well-behaved resident (the official client): join, walk, chat echo. Returns the
        slowest of its join ack and chat echo latencies, in seconds."""
        p = Peer(self.url)
        await p.sio.connect(self.url, transports=["websocket"], headers={"X-Forwarded-For": fresh_address()}, wait_timeout=10)
        try:
            t0 = time.monotonic()
            ack = await p.join(name="住民")
            join_s = time.monotonic() - t0
            assert ack["ok"], ack
            await until(lambda: p.me is not None and p.id in p.view, timeout=5, what="own avatar in view")
            x0, y0 = p.pos()
            await p.emit("move", {"vx": 1.0, "vy": 0.0})
            await until(lambda: abs(p.pos()[0] - x0) + abs(p.pos()[1] - y0) > 0.05, timeout=5, what="the resident walks")
            await p.emit("move", {"stop": True})
            text = f"echo-{time.monotonic_ns()}"
            t0 = time.monotonic()
            await p.emit("chat", {"text": text})
            await until(lambda: any(c["text"] == text for c in p.chats), timeout=5, what="chat echo")
            lat = max(join_s, time.monotonic() - t0)
            await p.sio.call("leave", {}, timeout=5)  # no away avatar piling up over the suite
            return lat
        finally:
            await p.close()

    async def measure_baseline(self) -> None:
        await self.resident_round()  # warm-up: imports, first snapshot
        lat = min([await self.resident_round() for _ in range(3)])
        self.baseline = {"latency": lat, "rss": self.rss_kb(), "fds": self.fds()}

    async def check(self, what: str) -> None:
        """After an attempt: the server is healthy and serves a resident as before."""
        if self.baseline is None:
            await self.measure_baseline()
        b = self.baseline
        assert self.proc.proc is not None and self.proc.proc.poll() is None, f"{what}: the server died"
        async with aiohttp.ClientSession() as s, s.get(self.url + "/healthz") as r:
            assert r.status == 200, f"{what}: /healthz {r.status}"
        lat = min([await self.resident_round() for _ in range(2)])
        # 5x the baseline measured in this run, but not below 50 ms (the baseline is a few ms and
        # the test machine is shared), and never above 500 ms.
        assert lat < min(0.5, max(5 * b["latency"], 0.05)), f"{what}: resident latency {lat * 1000:.0f} ms (baseline {b['latency'] * 1000:.0f} ms)"
        deadline = time.monotonic() + 10  # closed sockets take a moment to be released
        while True:
            rss, fds = self.rss_kb(), self.fds()
            if (rss <= b["rss"] + RSS_SLACK_KB and fds <= b["fds"] + FD_SLACK) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert rss <= b["rss"] + RSS_SLACK_KB, f"{what}: RSS {rss} kB, baseline {b['rss']} kB"
        assert fds <= b["fds"] + FD_SLACK, f"{what}: {fds} descriptors, baseline {b['fds']}"


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Iterator[Target]:
    env = {
        "YAKUBA_TRUSTED_PROXIES": "127.0.0.1",  # X-Forwarded-For gives each attempt its address
        "YAKUBA_JOIN_TIMEOUT_S": str(JOIN_TIMEOUT_S),
        "YAKUBA_GRACE_S": "30",
    }
    proc = ServeProcess(tmp_path_factory.mktemp("adversarial"), env=env).start()
    try:
        yield Target(proc)
    finally:
        proc.stop()
