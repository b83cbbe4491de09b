"""A planner's change to a scenario, re-run end to end through the HTTP API: POST the scenario,
poll the job until it is done, as the browser does. Prints one JSON line per model.

The server is a real ``yakuba serve`` with a synthetic 10k-building dataset; each change moves a
road widening (a new layout, so a new neighbour graph) or changes the wind (the cached graph).
Goal: <= 1 s from the POST to the result on 10k buildings.

    .venv/bin/python bench/firespread_http.py [--buildings 10000] [--changes 6]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from client import free_port  # noqa: E402  (bench/client.py)

TOKEN = "bench-" + os.urandom(8).hex()


def call(method: str, url: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"{}")


def run_once(url: str, body: dict) -> tuple[float, dict]:
    t0 = time.perf_counter()
    job = call("POST", f"{url}/api/datasets/synth/simulations", body)
    while True:
        doc = call("GET", f"{url}/api/simulations/{job['id']}")
        if doc["state"] in ("done", "failed", "cancelled"):
            return time.perf_counter() - t0, doc
        time.sleep(0.02)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--buildings", type=int, default=10_000)
    ap.add_argument("--changes", type=int, default=6)
    a = ap.parse_args()
    import subprocess

    from yakuba.gis.buildings import BuildingTable
    from yakuba.gis.district import district_layout

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        (data / "datasets" / "synth").mkdir(parents=True)
        lay = district_layout(a.buildings, seed=1)
        BuildingTable.from_rows(lay.rows).save(data / "datasets" / "synth" / "buildings.npz")
        port = free_port()
        env = {**os.environ, "YAKUBA_API_TOKEN": TOKEN}
        exe = Path(sys.executable).parent / "yakuba"
        proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--data", str(data)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(url + "/healthz", timeout=1)
                    break
                except Exception:
                    time.sleep(0.1)
            x0, y0, x1, y1 = lay.bbox
            streets = lay.streets_ns
            for mi, model in enumerate(("hamada", "physics")):
                base = {"model": model, "hours": 6, "weather": {"preset": "最悪"}}
                run_once(url, base)  # the worker's first job: imports and the dataset's table
                times, kinds = [], []
                for k in range(a.changes):
                    if k % 2 == 0:  # a road moved: a new layout and graph
                        (sx, _), _ = streets[(k // 2 + mi * a.changes) % len(streets)]  # never a cached layout
                        body = {**base, "scenario": {"name": f"road {k}", "measures": [
                            {"type": "road_widening", "centreline": [[sx, y0 - 10], [sx, y1 + 10]], "width": 12}]}}
                        kinds.append("road")
                    else:  # the wind turned: the same layout, the cached graph
                        body = {**base, "weather": {"speed": 8 + k, "direction": 30.0 * k, "humidity": 40}}
                        kinds.append("wind")
                    dt, doc = run_once(url, body)
                    assert doc["state"] == "done", doc
                    times.append(dt)
                road = [t for t, kd in zip(times, kinds) if kd == "road"]
                wind = [t for t, kd in zip(times, kinds) if kd == "wind"]
                print(json.dumps({"bench": "firespread_http", "model": model, "buildings": a.buildings, "changes": a.changes,
                                  "road_change_max_s": round(max(road), 3), "wind_change_max_s": round(max(wind), 3),
                                  "median_s": round(sorted(times)[len(times) // 2], 3), "goal_s": 1.0,
                                  "ok": max(times) <= 1.0}), flush=True)
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
