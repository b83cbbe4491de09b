"""HTTP routes for fire-spread simulations: a thin adapter around yakuba.gis.firespread.

* ``POST /api/datasets/{id}/simulations`` — body (JSON)::

      {"weather": {"preset": "最悪"} | {"speed": 8, "direction": 315, "humidity": 40},
       "scenario": {...inline scenario, see gis/firespread/scenarios.py...},
       "ignition": ["gml_id", ...], "hours": 6, "seed": 0, "spotting": false,
       "montecarlo": {"runs": 500}}          # optional: burn probability instead of one run

  Top-level weather/ignition/hours/seed/spotting override the scenario's. Answers 202 with
  ``{"id", "status_url"}``; the run happens in a worker thread (numpy/scipy release the GIL in
  their inner loops; the Monte Carlo uses its own process pool).
* ``GET /api/simulations/{sid}`` — ``{"id", "dataset", "state": queued|running|done|failed,
  "progress": 0..1, "stage", "result"?: {...}, "error"?: {...}}``. The result's arrays are
  indexed by feature id (= building table row): ``ignition_s`` (seconds, null = not reached),
  ``class`` (legend in ``class_legend``), ``series`` of burnt footprint area over time.
* ``GET /api/datasets/{id}/clusters`` — 延焼クラスター (normal and x1.5 large fire), labels per
  feature id.

Errors are ``{"error": {"code", "message"}}`` with a 4xx status and one log line with ids only.
Call ``setup_simulation_routes(app, data_dir)`` from the app factory.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from yakuba.gis.buildings import BuildingTable
from yakuba.server.http_errors import ApiError, json_errors
from yakuba.gis.firespread import FireSpreadError
from yakuba.gis.firespread.montecarlo import MAX_RUNS
from yakuba.gis.firespread.run import clusters_of, run_montecarlo, run_scenario
from yakuba.gis.firespread.scenarios import MAX_HOURS, MAX_IGNITIONS, Scenario, parse_scenario

log = logging.getLogger("yakuba.server.simulation_api")

DATASET_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
MAX_BODY_BYTES = 2 * 1024 * 1024
# Monte Carlo cost grows with runs x buildings; refuse what would hold a core for minutes.
MAX_MC_WORK = 200_000_000
MAX_ACTIVE_JOBS = 4
KEEP_JOBS = 64
TABLE_CACHE = 8



_json_errors = json_errors(log, "simulation api", {FireSpreadError: (400, "invalid_scenario")})


@dataclass
class SimJob:
    id: str
    dataset: str
    kind: str  # "simulation" | "montecarlo"
    state: str = "queued"
    progress: float = 0.0
    stage: str = "queued"
    created: float = 0.0
    finished: float | None = None
    result: dict | None = None
    error: dict | None = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"id": self.id, "dataset": self.dataset, "kind": self.kind, "state": self.state,
                               "progress": round(self.progress, 3), "stage": self.stage}
        if self.finished is not None:
            out["elapsed_s"] = round(self.finished - self.created, 3)
        if self.result is not None:
            out["result"] = self.result
        if self.error is not None:
            out["error"] = self.error
        return out


class SimulationApi:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.jobs: OrderedDict[str, SimJob] = OrderedDict()
        self.tables: OrderedDict[str, tuple[float, BuildingTable]] = OrderedDict()
        # Two threads: one per core; more would only queue behind the GIL-free numpy work.
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

    async def _body(self, request: web.Request) -> dict:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes")
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", f"request body over {MAX_BODY_BYTES} bytes")
        if not raw:
            return {}
        try:
            import json

            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid_json", "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_json", "body must be a JSON object")
        return body

    @staticmethod
    def _scenario(body: dict) -> tuple[Scenario, int | None]:
        allowed = {"weather", "scenario", "ignition", "hours", "seed", "spotting", "montecarlo"}
        extra = set(body) - allowed
        if extra:
            raise ApiError(400, "invalid_request", f"unknown field(s) {', '.join(sorted(extra))}")
        doc = body.get("scenario") or {}
        if not isinstance(doc, dict):
            raise ApiError(400, "invalid_request", "scenario must be an object")
        doc = dict(doc)
        for k in ("weather", "ignition", "hours", "seed", "spotting"):
            if k in body:
                doc[k] = body[k]
        # The size limits answer 413 (a huge request), everything else 400 from the parser.
        ign = doc.get("ignition")
        if isinstance(ign, list) and len(ign) > MAX_IGNITIONS:
            raise ApiError(413, "too_large", f"{len(ign)} ignition points, more than the {MAX_IGNITIONS} allowed")
        h = doc.get("hours")
        if isinstance(h, (int, float)) and not isinstance(h, bool) and h > MAX_HOURS:
            raise ApiError(413, "too_large", f"hours must be <= {MAX_HOURS:g}")
        s = parse_scenario(doc)
        runs = None
        mc = body.get("montecarlo")
        if mc is not None:
            if not isinstance(mc, dict) or not isinstance(mc.get("runs"), int) or isinstance(mc.get("runs"), bool) or mc["runs"] < 1:
                raise ApiError(400, "invalid_request", "montecarlo must be {\"runs\": positive integer}")
            if mc["runs"] > MAX_RUNS:
                raise ApiError(413, "too_large", f"montecarlo runs must be <= {MAX_RUNS}")
            runs = mc["runs"]
        return s, runs

    def _new_job(self, ds: str, kind: str) -> SimJob:
        active = sum(1 for j in self.jobs.values() if j.state in ("queued", "running"))
        if active >= MAX_ACTIVE_JOBS:
            raise ApiError(429, "busy", f"{active} simulations already running; try again shortly")
        job = SimJob(uuid.uuid4().hex[:16], ds, kind, created=time.time())
        self.jobs[job.id] = job
        while len(self.jobs) > KEEP_JOBS:
            old = next((k for k, j in self.jobs.items() if j.state in ("done", "failed")), None)
            if old is None:
                break
            del self.jobs[old]
        return job

    # ---------------------------------------------------------------- handlers
    async def create(self, request: web.Request) -> web.Response:
        ds = request.match_info["id"]
        body = await self._body(request)
        table = self._table(ds)
        scenario, runs = self._scenario(body)
        if runs is not None and runs * len(table) > MAX_MC_WORK:
            raise ApiError(413, "too_large", f"{runs} runs x {len(table)} buildings is over the limit of {MAX_MC_WORK:,}; use fewer runs")
        # Check ids and measures now, so a bad id is a 400 here rather than a failed job later.
        from yakuba.gis.firespread.run import district_for
        from yakuba.gis.firespread.scenarios import apply_scenario

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, lambda: apply_scenario(district_for(table, scenario), scenario))
        job = self._new_job(ds, "montecarlo" if runs else "simulation")
        asyncio.get_running_loop().create_task(self._run(job, table, scenario, runs))
        log.info("simulation %s queued for dataset %s (%s)", job.id, ds, job.kind)
        return web.json_response({"id": job.id, "status_url": f"/api/simulations/{job.id}"}, status=202)

    async def _run(self, job: SimJob, table: BuildingTable, scenario: Scenario, runs: int | None) -> None:
        def progress(f: float, stage: str) -> None:  # called from the worker thread; plain stores
            job.progress, job.stage = float(f), stage

        def work() -> dict:
            job.state = "running"
            if runs:
                return run_montecarlo(table, scenario, runs, progress=progress)
            return run_scenario(table, scenario, progress=progress).to_compact()

        loop = asyncio.get_running_loop()
        try:
            job.result = await loop.run_in_executor(self.executor, work)
            job.state, job.progress, job.stage = "done", 1.0, "done"
            log.info("simulation %s done in %.2fs", job.id, time.time() - job.created)
        except FireSpreadError as e:
            job.state, job.error = "failed", {"code": "invalid_scenario", "message": str(e)}
            log.info("simulation %s failed: invalid scenario", job.id)
        except Exception:
            job.state, job.error = "failed", {"code": "internal", "message": "internal error during simulation"}
            log.exception("simulation %s crashed", job.id)
        finally:
            job.finished = time.time()

    async def get(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["sid"])
        if job is None:
            raise ApiError(404, "unknown_simulation", "no such simulation")
        return web.json_response(job.to_json(), dumps=_dumps)

    async def clusters(self, request: web.Request) -> web.Response:
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


def setup_simulation_routes(app: web.Application, data_dir: Path) -> SimulationApi:
    api = SimulationApi(Path(data_dir))
    app.router.add_post("/api/datasets/{id}/simulations", _json_errors(api.create))
    app.router.add_get("/api/simulations/{sid}", _json_errors(api.get))
    app.router.add_get("/api/datasets/{id}/clusters", _json_errors(api.clusters))
    app.on_cleanup.append(api.close)
    app[SIMULATION_API] = api
    return api
