"""Fire-spread benchmark: prints one JSON line per measurement.

Synthetic districts (yakuba.gis.district) of 10k and 100k buildings: neighbour-graph build,
one 24 h simulation (worst-case weather, wooden = 裸木造), and a 1,000-run Monte Carlo on 10k
(both cores, and one process for comparison). Goals: 100k simulated in <= 1 s after a graph
build of <= 10 s; the Monte Carlo in <= 60 s.

    .venv/bin/python bench/firespread.py [--sizes 10000 100000] [--runs 1000]
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
from yakuba.gis.firespread.montecarlo import burn_probability
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
    ap.add_argument("--mc-hours", type=float, default=24.0)
    a = ap.parse_args()
    weather = PRESETS["最悪"]
    for n in a.sizes:
        t0 = time.perf_counter()
        table = BuildingTable.from_rows(district_rows(n, seed=1))
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        graph = build_graph(table.footprints)
        t_graph = time.perf_counter() - t0
        classes = classify_table(table, wooden="裸木造").classes
        d = District.from_table(table, wooden="裸木造")
        src = default_ignition(d, np.isin(classes, (1, 2, 3, 4)))
        simulate(graph, classes, weather, src, hours=24)  # warm-up (imports, caches)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            res = simulate(graph, classes, weather, src, hours=24)
            times.append(time.perf_counter() - t0)
        emit(bench="firespread", buildings=n, district_gen_s=round(t_gen, 3), graph_build_s=round(t_graph, 3),
             graph_pairs=graph.n_edges, simulate_24h_s=round(min(times), 3), simulate_24h_median_s=round(float(np.median(times)), 3),
             buildings_burnt=int(res.burnt.sum()), weather=weather.name, cores=os.cpu_count())
        if n <= 10_000 and a.runs:
            spread = prepare(graph, classes, weather)
            for workers in (2, 1):
                t0 = time.perf_counter()
                mc = burn_probability(spread, a.runs, hours=a.mc_hours, seed=0, workers=workers)
                emit(bench="firespread_montecarlo", buildings=n, runs=a.runs, hours=a.mc_hours, workers=workers,
                     seconds=round(time.perf_counter() - t0, 3), burnt_mean=round(float(mc.burnt_per_run.mean()), 1),
                     p_max=round(float(mc.probability.max()), 3))


if __name__ == "__main__":
    main()
