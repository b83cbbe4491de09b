"""The neighbour graph is built once per dataset layout in a worker process, not per request."""

from __future__ import annotations

import json

import numpy as np

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.firespread.run import run_scenario
from yakuba.gis.firespread.scenarios import parse_scenario
from yakuba.server.jobs import graph_cache, kinds
from yakuba.server.jobs.runner import JobService

from .conftest import final, wait_row


def _noop(p: float, stage: str) -> None:
    pass


def test_second_run_reuses_the_graph_and_a_moved_building_does_not(jobs_data):
    graph_cache.clear()
    a = kinds.run_simulation("t1", {"dataset": "small", "scenario": {"hours": 1, "seed": 1}}, jobs_data, _noop)
    assert graph_cache.stats == {"graph_builds": 1, "graph_hits": 0} and a["graph_cached"] is False
    # Another wind: the same footprints, the same graph.
    b = kinds.run_simulation("t2", {"dataset": "small", "scenario": {"hours": 1, "seed": 1, "weather": {"preset": "最悪"}}},
                             jobs_data, _noop)
    assert graph_cache.stats == {"graph_builds": 1, "graph_hits": 1} and b["graph_cached"] is True
    # The cached graph gives exactly the result a fresh build gives.
    table = BuildingTable.load(jobs_data / "datasets" / "small" / "buildings.npz")
    fresh = run_scenario(table, parse_scenario({"hours": 1, "seed": 1, "weather": {"preset": "最悪"}})).to_compact()
    assert fresh["ignition_s"] == b["result"]["ignition_s"]
    # A measure that cuts footprints (a road widened with set-back) needs its own graph.
    road = {"type": "road_widening", "centreline": _line_through_centre(table), "width": 8, "action": "setback"}
    kinds.run_simulation("t3", {"dataset": "small", "scenario": {"hours": 1, "measures": [road]}}, jobs_data, _noop)
    assert graph_cache.stats["graph_builds"] == 2
    graph_cache.clear()


def _line_through_centre(table: BuildingTable) -> list[list[float]]:
    import shapely

    c = shapely.get_coordinates(shapely.centroid(np.asarray(table.footprints, dtype=object)))
    x, y = np.nanmean(c, axis=0)
    return [[float(x) - 500, float(y)], [float(x) + 500, float(y)]]


async def test_worker_process_keeps_the_graph_between_jobs(db, jobs_data):
    svc = JobService(db, jobs_data, "node-g", workers=1)  # one worker: both jobs in the same process
    await svc.start()
    try:
        metas = []
        for seed in (1, 2):
            row = await svc.submit("anon:g", "simulation", "small", {"dataset": "small", "scenario": {"hours": 1, "seed": seed}})
            row = await wait_row(db, row["id"], final)
            assert row["state"] == "done"
            metas.append(json.loads((jobs_data / "jobs" / row["id"] / "meta.json").read_text()))
        assert metas[0]["pid"] == metas[1]["pid"]
        assert [m["graph_cached"] for m in metas] == [False, True]
    finally:
        await svc.close()
