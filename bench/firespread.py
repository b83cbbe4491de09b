"""Fire-spread benchmark: prints one JSON line per measurement.

Synthetic districts (yakuba.gis.district) of 10k and 100k buildings: neighbour-graph build (with
the sight-line test), one 6-hour run of each model (worst-case weather, wooden = 裸木造), and a
1,000-run Monte Carlo on 10k for each model (both cores). Goals: Hamada <= 1 s and the physics
model <= 10 s per run on 100k; a planner's change re-run end to end through the HTTP API in
<= 1 s on 10k (bench/firespread_http.py, run at the end unless --no-http).

    .venv/bin/python bench/firespread.py [--sizes 10000 100000] [--runs 1000] [--no-http]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.district import district_rows
from yakuba.gis.firespread.classes import classify_table
from yakuba.gis.firespread.graph import build_graph
from yakuba.gis.firespread.model import HamadaModel
from yakuba.gis.firespread.montecarlo import burn_probability
from yakuba.gis.firespread.physics import PhysicsModel
from yakuba.gis.firespread.run import default_ignition
from yakuba.gis.firespread.scenarios import District
from yakuba.gis.firespread.simulate import prepare, simulate
from yakuba.gis.firespread.weather import PRESETS


def emit(**kw) -> None:
    print(json.dumps(kw, ensure_ascii=False), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--mc-hours", type=float, default=6.0)
    ap.add_argument("--no-http", action="store_true")
    a = ap.parse_args()
    weather = PRESETS["最悪"]
    goals = {"hamada": 1.0, "physics": 10.0}
    for n in a.sizes:
        t0 = time.perf_counter()
        table = BuildingTable.from_rows(district_rows(n, seed=1))
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        graph = build_graph(table.footprints)
        t_graph = time.perf_counter() - t0
        emit(bench="firespread_graph", buildings=n, district_gen_s=round(t_gen, 3), graph_build_s=round(t_graph, 3),
             graph_pairs=graph.n_edges, pairs_blocked=graph.blocked_pairs, cores=os.cpu_count())
        classes = classify_table(table, wooden="裸木造").classes
        d = District.from_table(table, wooden="裸木造")
        src = default_ignition(d, np.isin(classes, (1, 2, 3, 4)))
        # One fire from the centre, and a district-wide one (100 ignitions: most of it burns, the
        # physics model's worst case, since its cost grows with the buildings alight).
        many = np.random.default_rng(0).choice(np.flatnonzero(np.isin(classes, (1, 2, 3, 4))), 100, replace=False)
        for model in (HamadaModel(), PhysicsModel()):
            for label, sources in (("centre", src), ("100_ignitions", many)):
                simulate(graph, classes, weather, sources, hours=a.hours, model=model, height=d.height)  # warm-up
                times = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    res = simulate(graph, classes, weather, sources, hours=a.hours, model=model, height=d.height)
                    times.append(time.perf_counter() - t0)
                emit(bench="firespread_run", model=model.name, buildings=n, ignition=label, hours=a.hours, run_s=round(min(times), 3),
                     run_median_s=round(float(np.median(times)), 3), buildings_burnt=int(res.burnt.sum()), weather=weather.name,
                     goal_s=goals[model.name], ok=float(np.median(times)) <= goals[model.name])
        if n <= 10_000 and a.runs:
            for model in (HamadaModel(), PhysicsModel()):
                spread = prepare(graph, classes, weather, model, d.height)
                t0 = time.perf_counter()
                mc = burn_probability(spread, a.runs, hours=a.mc_hours, seed=0, workers=2)
                p = mc.probability[spread.burns]
                emit(bench="firespread_montecarlo", model=model.name, buildings=n, runs=a.runs, hours=a.mc_hours, workers=2,
                     seconds=round(time.perf_counter() - t0, 3), burnt_mean=round(float(mc.burnt_per_run.mean()), 1),
                     p_max=round(float(p.max()), 3), p_distinct_values=int(len(np.unique(np.round(p, 3)))))
    if not a.no_http:
        import subprocess
        import sys
        from pathlib import Path

        subprocess.run([sys.executable, str(Path(__file__).with_name("firespread_http.py"))], check=True)


if __name__ == "__main__":
    main()
