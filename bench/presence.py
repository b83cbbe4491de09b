"""Presence benchmark: N walking avatars over real sockets, load from a separate process.

Prints one JSON line per run: mode, nodes, N, avatars per zone, latency p50/p99 (intent -> own
avatar seen moving, measured by probe clients), server CPU %, snapshots/s, bytes/s per client.
Runs yakuba at N = 100, 250, 500, 1000, 1500, 2000 on one node, 500 and 1000 over two nodes and
2000 over three sharing Redis, and the naive baseline (every position relayed to the whole room)
in the same invocation. Half the avatars walk to the event hall: N = 1000 is 500 in one area.

    .venv/bin/python bench/presence.py [--quick] [--seconds 10]
    .venv/bin/python bench/presence.py --jobs        # 200 avatars without / with an import and a simulation
    .venv/bin/python bench/presence.py --sizes 500,1000 --baseline-bin ../old/.venv/bin   # before/after
    .venv/bin/python bench/presence.py --sizes 1000,2000@3 --naive 100   # N@nodes; naive sizes too
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")
BENCH_TOKEN = "bench-" + os.urandom(8).hex()  # the bench server's API token (administrator)
sys.path.insert(0, str(HERE))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.1)
    raise TimeoutError(url)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def snapshots_total(url: str) -> float:
    try:
        text = urllib.request.urlopen(url + "/metrics", timeout=2).read().decode()
    except Exception:
        return float("nan")
    for line in text.splitlines():
        if line.startswith("yakuba_snapshots_total"):
            return float(line.split()[1])
    return float("nan")


def counter(url: str, name: str) -> float:
    try:
        text = urllib.request.urlopen(url + "/metrics", timeout=2).read().decode()
    except Exception:
        return float("nan")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def tick_buckets(url: str) -> dict[float, float]:
    """The tick-duration histogram's cumulative bucket counts (le -> count)."""
    try:
        text = urllib.request.urlopen(url + "/metrics", timeout=2).read().decode()
    except Exception:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith("yakuba_tick_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.split()[1])
    return out


def tick_p99_ms(before: dict[float, float], after: dict[float, float]) -> float | None:
    """p99 of the ticks between two scrapes, linear within the bucket that holds it."""
    les = sorted(after)
    counts = [after[le] - before.get(le, 0.0) for le in les]
    if not counts or counts[-1] <= 0:
        return None
    target = 0.99 * counts[-1]
    lo_le, lo_c = 0.0, 0.0
    for le, c in zip(les, counts):
        if c >= target:
            if le == float("inf"):
                return round(lo_le * 1000, 2)
            frac = (target - lo_c) / (c - lo_c) if c > lo_c else 1.0
            return round((lo_le + frac * (le - lo_le)) * 1000, 2)
        lo_le, lo_c = le, c
    return None


def run(mode: str, n: int, nodes: int, seconds: float, redis_url: str | None, tmp: Path, jobs: bool = False, bin_dir: Path = BIN,
        redis_pid: int | None = None) -> dict:
    servers: list[tuple[subprocess.Popen, str]] = []
    env = {**os.environ, "YAKUBA_TICK_HZ": "10", "YAKUBA_API_TOKEN": BENCH_TOKEN,
           "YAKUBA_MAX_CONNECTIONS_PER_ADDRESS": "100000",  # every simulated resident comes from loopback
           # ... and joins within seconds: the per-address and per-node join rates (abuse limits)
           # refused all but ~60 + 20/s of them, which left most clients without an avatar
           "YAKUBA_JOIN_BURST": "100000", "YAKUBA_JOIN_RATE": "100000", "YAKUBA_NEW_AVATARS_PER_S": "100000"}
    for i in range(nodes):
        port = free_port()
        if mode == "naive":
            cmd = [str(BIN / "python"), str(HERE / "naive_server.py"), "--port", str(port)]
        else:
            data = tmp / f"n{i}"
            if jobs and not (data / "datasets").is_dir():  # a dataset for the simulations
                subprocess.run([str(BIN / "yakuba"), "import-defaults", "--data", str(data)], check=True, stdout=subprocess.DEVNULL)
            cmd = [str(bin_dir / "yakuba"), "serve", "--port", str(port), "--data", str(data)]
            if redis_url:
                cmd += ["--redis", redis_url]
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz")
        servers.append((p, url))
    probes = min(20, max(5, n // 20))
    lg = subprocess.Popen(
        [str(BIN / "python"), str(HERE / "loadgen.py"), "--urls", ",".join(u for _, u in servers), "--n", str(n), "--probes", str(probes), "--seconds", str(seconds), "--mode", mode],
        stdout=subprocess.PIPE, text=True,
    )
    cpu0 = snaps0 = t0 = rcpu0 = rcpu1 = None
    cpu1 = snaps1 = t1 = None
    skip0: list = []
    skip1: list = []
    ticks0: dict = {}
    ticks1: dict = {}
    load = None
    if jobs:
        from jobload import JobLoad, synthetic_gml

        gml = synthetic_gml(tmp, 10000) if not (tmp / "synthetic").is_dir() else next((tmp / "synthetic").rglob("*.gml"))
        load = JobLoad(servers[0][1], BENCH_TOKEN, gml, "osaka-sumiyoshi").start()
    result: dict = {}
    assert lg.stdout is not None
    for line in lg.stdout:
        line = line.strip()
        if line == "MEASURE_START":
            t0 = time.perf_counter()
            cpu0 = [cpu_seconds(p.pid) for p, _ in servers]
            rcpu0 = cpu_seconds(redis_pid) if redis_pid and redis_url else None
            snaps0 = [snapshots_total(u) for _, u in servers]
            skip0 = [counter(u, "yakuba_snapshots_skipped_total") for _, u in servers]
            ticks0 = tick_buckets(servers[0][1])
        elif line == "MEASURE_END":
            t1 = time.perf_counter()
            cpu1 = [cpu_seconds(p.pid) for p, _ in servers]
            rcpu1 = cpu_seconds(redis_pid) if redis_pid and redis_url else None
            snaps1 = [snapshots_total(u) for _, u in servers]
            skip1 = [counter(u, "yakuba_snapshots_skipped_total") for _, u in servers]
            ticks1 = tick_buckets(servers[0][1])
        elif line.startswith("{"):
            result = json.loads(line)
    lg.wait()
    job_counts = load.close() if load else None
    for p, _ in servers:
        p.terminate()
    for p, _ in servers:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    dt = (t1 - t0) if t0 and t1 else float("nan")
    cpu = [round((b - a) / dt * 100, 1) for a, b in zip(cpu0 or [], cpu1 or [])]
    snaps = sum(b - a for a, b in zip(snaps0 or [], snaps1 or [])) / dt if mode != "naive" else None
    if snaps is not None and snaps != snaps:  # NaN: /metrics did not answer in time (saturated)
        snaps = None
    # congested clients skipped (back-pressure, issue #23); NaN: an older server without the counter
    skipped = sum(b - a for a, b in zip(skip0, skip1)) / dt if mode != "naive" and skip1 else None
    if skipped is not None and skipped != skipped:
        skipped = None
    per_zone = {"lobby": n - int(n * 0.5) if mode != "naive" else n, "hall": int(n * 0.5) if mode != "naive" else 0}
    return {
        "bench": "presence", "mode": mode, "server": "baseline" if bin_dir != BIN else "this", "nodes": nodes, "N": n, "jobs": jobs, "avatars_per_zone": per_zone,
        # the machine's 1-minute load average at the end: above ~2.5 on two cores the run competed
        # with other work (the load generator alone keeps about one core busy)
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "tick_ms_p99": tick_p99_ms(ticks0, ticks1) if mode != "naive" else None,
        "redis_cpu_pct": round((rcpu1 - rcpu0) / dt * 100, 1) if rcpu0 is not None and rcpu1 is not None else None,
        **(job_counts or {}),
        "latency_ms_p50": result.get("latency_ms_p50"), "latency_ms_p99": result.get("latency_ms_p99"),
        "latency_samples": result.get("samples"), "server_cpu_pct": cpu, "snapshots_per_s": round(snaps) if snaps is not None else None,
        "skipped_per_s": round(skipped, 1) if skipped is not None else None,
        "messages_per_s_received": result.get("frames_per_s"), "bytes_per_s_per_client": result.get("bytes_per_s_per_client"),
        "joined": result.get("joined"), "join_refused": result.get("join_refused"), "connect_errors": result.get("connect_errors"), "error_events": result.get("error_events"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--quick", action="store_true", help="small N only (a smoke run)")
    ap.add_argument("--jobs", action="store_true", help="only the jobs comparison: 200 avatars without, then with an import and a simulation running")
    ap.add_argument("--sizes", default=None, help="only these N, e.g. 500,1000,2000@3 (N@nodes; one node by default)")
    ap.add_argument("--naive", default=None, help="with --sizes: also the naive baseline at these N, e.g. 100,200")
    ap.add_argument("--baseline-bin", type=Path, default=None,
                    help="the bin/ of another checkout's venv: each size runs on it and on this one, interleaved, in this invocation")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="yakuba-bench-"))
    redis = None
    exe = shutil.which("redis-server")
    redis_url = None
    if exe:
        rport = free_port()
        redis = subprocess.Popen([exe, "--port", str(rport), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        redis_url = f"redis://127.0.0.1:{rport}/0"
        time.sleep(0.5)
    plan: list[tuple] = [("yakuba", 100, 1), ("naive", 50, 1)] if args.quick else [
        ("yakuba", 100, 1), ("yakuba", 250, 1), ("yakuba", 500, 1), ("yakuba", 1000, 1),
        ("yakuba", 1500, 1), ("yakuba", 2000, 1),
        ("yakuba", 500, 2), ("yakuba", 1000, 2), ("yakuba", 2000, 3),
        ("naive", 50, 1), ("naive", 100, 1), ("naive", 200, 1), ("naive", 300, 1),
    ]
    if args.jobs:
        plan = [("yakuba", 200, 1, False), ("yakuba", 200, 1, True), ("yakuba", 200, 1, False), ("yakuba", 200, 1, True)]
    elif args.sizes:
        plan = [("yakuba", int(x.split("@")[0]), int(x.split("@")[1]) if "@" in x else 1) for x in args.sizes.split(",")]
        plan += [("naive", int(x), 1) for x in (args.naive.split(",") if args.naive else [])]
    if args.baseline_bin:
        plan = [step for p in plan if p[0] == "yakuba" for step in ((*p[:3], False, args.baseline_bin), (*p[:3], False, BIN))]
    try:
        for mode, n, nodes, *rest in plan:
            if nodes > 1 and not redis_url:
                print(json.dumps({"bench": "presence", "mode": mode, "nodes": nodes, "N": n, "skipped": "redis-server not installed"}))
                continue
            jobs = bool(rest and rest[0])
            bin_dir = rest[1] if len(rest) > 1 else BIN
            print(json.dumps(run(mode, n, nodes, args.seconds, redis_url if nodes > 1 else None, tmp, jobs=jobs, bin_dir=bin_dir,
                                 redis_pid=redis.pid if redis else None)), flush=True)
    finally:
        if redis:
            redis.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
