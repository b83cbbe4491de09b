"""The job kinds, run in a worker PROCESS (never the realtime loop or its threads).

Each kind is a plain top-level function ``(job_id, params, data_dir, report) -> summary``. The
entry point :func:`run_job` wraps it: progress goes to the parent through the queue the pool's
initializer handed over, cancellation is a file ``<data>/jobs/<id>/cancel`` looked at on every
progress report (any node that shares the data dir can drop it; no manager process needed), and
the result is written to ``<data>/jobs/<id>/result.json`` here, so the big arrays never cross the
process boundary. Expected failures come back as ``{"error": {code, message}}``, never raise.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from .graph_cache import graph_for, table_for

log = logging.getLogger("yakuba.server.jobs.kinds")

Report = Callable[[float, str], None]
REPORT_EVERY_S = 0.1  # the parent throttles again before writing SQL

_queue: Any = None  # set per worker process by init_worker


class JobCancelled(Exception):
    pass


def init_worker(queue: Any) -> None:
    """Pool initializer (in the worker): the progress queue, and exit when the server dies.

    A killed server (kill -9) cannot stop its pool; without this its workers would finish their
    job as orphans while the restarted node runs it again."""
    global _queue
    _queue = queue
    # Below the server in the scheduler: on a two-core host the 10 Hz tick must win the CPU from
    # an import or a Monte Carlo run (bench/presence.py --jobs measures it).
    try:
        os.nice(10)
    except OSError:
        pass
    import multiprocessing as mp
    import threading
    from multiprocessing.connection import wait

    parent = mp.parent_process()
    if parent is not None:
        def watch() -> None:
            wait([parent.sentinel])
            os._exit(1)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def job_dir(data_dir: Path, job_id: str) -> Path:
    return Path(data_dir) / "jobs" / job_id


def _reporter(job_id: str, data_dir: Path) -> Report:
    cancel_file = job_dir(data_dir, job_id) / "cancel"
    last = [0.0]

    def report(progress: float, stage: str) -> None:
        now = time.monotonic()
        if now - last[0] < REPORT_EVERY_S and progress < 1.0:
            return
        last[0] = now
        if cancel_file.exists():  # told to stop: at the next progress report
            raise JobCancelled(job_id)
        if _queue is not None:
            _queue.put((job_id, float(progress), stage))

    return report


# ---------------------------------------------------------------------------- kinds
def run_import(job_id: str, params: dict, data_dir: Path, report: Report) -> dict:
    from yakuba.gis.pipeline import Cancelled, Feedback, import_dataset

    work = Path(data_dir) / params["work"]
    gmls = [work / p for p in params["files"]]
    total = sum(p.stat().st_size for p in gmls) or 1
    done = [0]

    class _Cancel:  # Feedback asks is_set(); the cancel file answers
        def is_set(self) -> bool:
            return (job_dir(data_dir, job_id) / "cancel").exists()

    def on_progress(n: int) -> None:
        done[0] += n
        report(min(1.0, done[0] / total) * 0.99, "import")

    try:
        res = import_dataset(gmls, params["name"], Path(data_dir), dataset_id=params["dataset"], lod=params.get("lod", 1),
                             feedback=Feedback(on_progress=on_progress, cancel=_Cancel()), workers=1)
    except Cancelled:
        raise JobCancelled(job_id) from None
    out = res.to_json()
    out.pop("path", None)  # an absolute server path: not for clients
    return {"result": out}


def _scenario(params: dict):
    """The HTTP body (validated by the route with the same model), or a bare scenario document."""
    if "body" in params:
        from yakuba.server.protocol.http import SimulationIn

        return SimulationIn.from_body(params["body"]).to_scenario()
    from yakuba.gis.firespread.scenarios import parse_scenario

    return parse_scenario(params.get("scenario") or {})


def run_simulation(job_id: str, params: dict, data_dir: Path, report: Report) -> dict:
    from yakuba.gis.firespread.run import run_scenario

    table, key = table_for(Path(data_dir), params["dataset"])
    hit: list[bool] = []
    run = run_scenario(table, _scenario(params), progress=report, graph=lambda fp, walls: graph_for(key, fp, walls, hit))
    return {"result": run.to_compact(), "graph_cached": bool(hit and hit[0])}


def run_montecarlo(job_id: str, params: dict, data_dir: Path, report: Report) -> dict:
    from yakuba.gis.firespread.run import run_montecarlo as mc

    table, key = table_for(Path(data_dir), params["dataset"])
    hit: list[bool] = []
    # workers=1: this process IS the pool's worker; a nested pool would fight for the same cores.
    doc = mc(table, _scenario(params), int(params["runs"]), workers=1, progress=report,
             graph=lambda fp, walls: graph_for(key, fp, walls, hit))
    return {"result": doc, "graph_cached": bool(hit and hit[0])}


KINDS: dict[str, Callable[[str, dict, Path, Report], dict]] = {
    "import": run_import, "simulation": run_simulation, "montecarlo": run_montecarlo,
}


def inputs_exist(kind: str, params: dict, data_dir: Path) -> bool:
    """Can this job run again after a restart? (The upload's files or the dataset's table.)"""
    if kind == "import":
        work = Path(data_dir) / params.get("work", "-")
        return work.is_dir() and all((work / p).is_file() for p in params.get("files", []))
    return (Path(data_dir) / "datasets" / params.get("dataset", "-") / "buildings.npz").is_file()


# ---------------------------------------------------------------------------- entry point
def run_job(kind: str, job_id: str, params: dict, data_dir: str) -> dict:
    """Runs ``kind`` in this (worker) process. Returns {result_path?, error?, pid, graph_cached?}."""
    data = Path(data_dir)
    out_dir = job_dir(data, job_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = _reporter(job_id, data)
    t0 = time.monotonic()
    meta: dict[str, Any] = {"pid": os.getpid()}
    try:
        report(0.0, "start")
        got = KINDS[kind](job_id, params, data, report)
        tmp = out_dir / "result.json.tmp"
        tmp.write_text(json.dumps(got["result"], ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        tmp.replace(out_dir / "result.json")  # atomic: a reader never sees half a result
        meta.update(result_path=f"jobs/{job_id}/result.json", graph_cached=got.get("graph_cached"))
    except JobCancelled:
        meta["error"] = {"code": "cancelled", "message": "job cancelled"}
    except Exception as e:  # classified here, so the parent gets a clear code, not a pickled traceback
        if (out_dir / "cancel").exists():  # a stage that wrapped our JobCancelled in its own error
            meta["error"] = {"code": "cancelled", "message": "job cancelled"}
        else:
            meta["error"] = _classify(e, kind, job_id)
    finally:
        # The upload is the import's input: kept only while this process could die mid-job (a
        # restart then resumes from it); once the job ends, either way, nothing will read it again.
        if kind == "import" and "work" in params:
            shutil.rmtree(data / params["work"], ignore_errors=True)
    meta["elapsed_s"] = round(time.monotonic() - t0, 3)
    (out_dir / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return meta


def _classify(e: Exception, kind: str, job_id: str) -> dict:
    from yakuba.gis.errors import GisError, InputError
    from yakuba.gis.firespread import FireSpreadError

    if isinstance(e, InputError):
        return {"code": "invalid_input", "message": e.reason, "file": Path(e.file).name if e.file else None, "line": e.line}
    if isinstance(e, GisError):
        return {"code": "import_failed", "message": str(e)}
    if isinstance(e, FireSpreadError):
        return {"code": "invalid_scenario", "message": str(e)}
    from yakuba.server.protocol.errors import ProtocolError

    if isinstance(e, ProtocolError):  # a body that validated at the route cannot get here, but say so
        return {"code": e.code.value, "message": e.message}
    log.exception("job crashed job=%s kind=%s", job_id, kind)
    what = "import" if kind == "import" else "simulation"
    return {"code": "internal", "message": f"internal error during {what}"}


__all__ = ["JobCancelled", "KINDS", "init_worker", "inputs_exist", "job_dir", "run_job"]
