"""HTTP routes for fire-spread simulations: a thin adapter around yakuba.gis.firespread.

* ``POST /api/datasets/{id}/simulations`` — body (JSON)::

      {"weather": {"preset": "最悪"} | {"speed": 8, "direction": 315, "humidity": 40},
       "scenario": {...inline scenario, see gis/firespread/scenarios.py...},
       "ignition": ["gml_id", ...], "hours": 6, "seed": 0, "spotting": false,
       "montecarlo": {"runs": 500}}          # optional: burn probability instead of one run

  Top-level weather/ignition/hours/seed/spotting override the scenario's. Answers 202 with
  ``{"id", "status_url"}``; the run is a job (server/jobs) in a worker process, never on the
  server's loop. Monte Carlo runs are for staff (policy RUN_MONTECARLO); every principal has a
  limit of active jobs (429 job_limit).
* ``GET /api/simulations/{sid}`` — ``{"id", "dataset", "state": queued|running|done|failed|cancelled,
  "progress": 0..1, "stage", "result"?: {...}, "error"?: {...}}``. The result's arrays are
  indexed by feature id (= building table row): ``ignition_s`` (seconds, null = not reached),
  ``class`` (legend in ``class_legend``), ``series`` of burnt footprint area over time.
* ``GET /api/datasets/{id}/clusters`` — 延焼クラスター (normal and x1.5 large fire), labels per
  feature id.

Errors are ``{"error": {"code", "message"}}`` with a 4xx status and one log line with ids only.
Call ``setup_simulation_routes(app, settings)`` from the app factory.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from yakuba.server.http.body import read_json

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.pipeline import DATASET_ID_RE  # the import's rule: one dataset-id rule everywhere
from yakuba.server.http_errors import ApiError, json_errors
from yakuba.gis.firespread import FireSpreadError
from yakuba.gis.firespread.run import clusters_of
from yakuba.server.auth.policy import Action
from yakuba.server.http.authorize import authorize
from yakuba.server.jobs.routes import JOBS_KEY, limit_error, read_result, setup_jobs, visible_job
from yakuba.server.settings import Settings
from yakuba.server.jobs.runner import JobLimit
from yakuba.server.protocol.http import SimulationIn

log = logging.getLogger("yakuba.server.simulation_api")

# Monte Carlo cost grows with runs x buildings; refuse what would hold a core for minutes.
MAX_MC_WORK = 200_000_000
TABLE_CACHE = 8



_json_errors = json_errors(log, "simulation api", {FireSpreadError: (400, "invalid_scenario")})


def presented_in_hall(app: web.Application, sid: str) -> bool:
    """Is this run on a hall's screen now (a hall room's show.sim or sim_b, this node's copy,
    which every node keeps: server/hall/replication.py)?"""
    from yakuba.server.app import HUB_KEY
    from yakuba.server.rooms.hall import HallRoom

    hub = app.get(HUB_KEY)
    if hub is None:
        return False
    return any(isinstance(r, HallRoom) and sid in (r.state["show"].get("sim"), r.state["show"].get("sim_b"))
               for r in hub.rooms.rooms.values())


class SimulationApi:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.tables: OrderedDict[str, tuple[float, BuildingTable]] = OrderedDict()
        # Validation and clusters only (short; off the loop). Simulations run as jobs in processes.
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="firespread")

    # ---------------------------------------------------------------- helpers
    def _table(self, ds: str) -> BuildingTable:
        if not DATASET_ID_RE.match(ds):
            raise ApiError(404, "unknown_dataset", f"unknown dataset {ds!r}")
        path = self.data_dir / "datasets" / ds / "buildings.npz"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            raise ApiError(404, "unknown_dataset", f"unknown dataset {ds!r}") from None
        hit = self.tables.get(ds)
        if hit and hit[0] == mtime:
            self.tables.move_to_end(ds)
            return hit[1]
        table = BuildingTable.load(path)
        self.tables[ds] = (mtime, table)
        while len(self.tables) > TABLE_CACHE:
            self.tables.popitem(last=False)
        return table

    # ---------------------------------------------------------------- handlers
    async def create(self, request: web.Request) -> web.Response:
        ds = request.match_info["id"]
        body = await read_json(request)
        table = self._table(ds)
        sim = SimulationIn.from_body(body)  # the one schema; the scenario parser's own messages
        scenario, runs = sim.to_scenario(), sim.runs
        principal = await authorize(request, Action.RUN_MONTECARLO if runs else Action.RUN_SIMULATION)
        if runs is not None and runs * len(table) > MAX_MC_WORK:
            raise ApiError(413, "too_large", f"{runs} runs x {len(table)} buildings is over the limit of {MAX_MC_WORK:,}; use fewer runs")
        # Check ids and measures now, so a bad id is a 400 here rather than a failed job later.
        from yakuba.gis.firespread.run import district_for
        from yakuba.gis.firespread.scenarios import apply_scenario

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, lambda: apply_scenario(district_for(table, scenario), scenario))
        kind = "montecarlo" if runs else "simulation"
        params = {"dataset": ds, "body": body, "runs": runs}  # validated here, parsed again by the worker
        try:
            row = await request.app[JOBS_KEY].submit(principal.key, kind, ds, params, job_id=uuid.uuid4().hex[:16])
        except JobLimit as e:
            raise limit_error(e) from None
        log.info("simulation %s queued for dataset %s (%s)", row["id"], ds, kind)
        return web.json_response({"id": row["id"], "status_url": f"/api/simulations/{row['id']}"}, status=202)

    async def get(self, request: web.Request) -> web.Response:
        """Today's body: {id, dataset, kind, state, progress, stage, elapsed_s?, result?, error?}."""
        sid = request.match_info["sid"]
        _, row = await visible_job(request, sid, missing=("unknown_simulation", "no such simulation"),
                                   presented=presented_in_hall(request.app, sid))
        if row["kind"] not in ("simulation", "montecarlo"):
            raise ApiError(404, "unknown_simulation", "no such simulation")
        out: dict[str, Any] = {"id": row["id"], "dataset": row["dataset"], "kind": row["kind"], "state": row["state"],
                               "progress": round(float(row["progress"] or 0.0), 3), "stage": row["stage"] or row["state"]}
        if row["started_at"] and row["finished_at"]:
            out["elapsed_s"] = round((row["finished_at"] - row["created_at"]).total_seconds(), 3)
        result = await read_result(request.app[JOBS_KEY], row)
        if result is not None:
            out["result"] = result
        if row["error"] is not None:
            out["error"] = row["error"]
        return web.json_response(out, dumps=_dumps)

    async def clusters(self, request: web.Request) -> web.Response:
        await authorize(request, Action.VIEW_DATASET)
        ds = request.match_info["id"]
        table = self._table(ds)
        p = request.query.get("p", "0.00075")
        try:
            pv = float(p)
        except ValueError:
            raise ApiError(400, "invalid_request", "p must be a number") from None
        if not 0 <= pv <= 1:
            raise ApiError(400, "invalid_request", "p must be within 0..1")
        loop = asyncio.get_running_loop()
        doc = await loop.run_in_executor(self.executor, lambda: clusters_of(table, p_outbreak=pv))
        return web.json_response({"dataset": ds, **doc}, dumps=_dumps)

    async def close(self, _app: web.Application) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


SIMULATION_API = web.AppKey("simulation_api", SimulationApi)


def setup_simulation_routes(app: web.Application, settings: Settings) -> SimulationApi:
    setup_jobs(app, settings)  # no-op when the app has one
    api = SimulationApi(settings.data_dir)
    app.router.add_post("/api/datasets/{id}/simulations", _json_errors(api.create))
    app.router.add_get("/api/simulations/{sid}", _json_errors(api.get))
    app.router.add_get("/api/datasets/{id}/clusters", _json_errors(api.clusters))
    app.on_cleanup.append(api.close)
    app[SIMULATION_API] = api
    return api
