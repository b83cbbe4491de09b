"""HTTP for jobs: ``GET /api/jobs`` (own jobs; staff see all), ``GET /api/jobs/{id}`` (status,
progress, the result once done), ``DELETE /api/jobs/{id}`` (cancel); and ``setup_jobs``, which
puts one JobService on the app (shared by the dataset upload and the simulation routes).

Every route takes the principal the auth middleware set and asks the policy; a job that is not
the principal's answers 404, as if it did not exist (no probing other people's job ids).
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from yakuba.server.auth.policy import Action, JobResource
from yakuba.server.auth.principal import Principal
from yakuba.server.db.engine import Database
from yakuba.server.http.authorize import authorize, principal_of  # noqa: F401 (visible_job, list_jobs)
from yakuba.server.http_errors import ApiError, json_errors
from yakuba.server.settings import Settings

from .runner import JobLimit, JobService

log = logging.getLogger("yakuba.server.jobs.routes")

JOBS_KEY = web.AppKey("jobs", JobService)

_json_errors = json_errors(log, "jobs api", {})


def limit_error(e: JobLimit) -> ApiError:
    return ApiError(429, "job_limit", str(e))


# ---------------------------------------------------------------------------- bodies
def job_out(row: dict, result: Any = None) -> dict:
    """The public view of a job row (protocol JobOut): never the owner key, params or paths."""
    from yakuba.server.protocol.http import JobOut

    elapsed = None
    if row["started_at"] and row["finished_at"]:
        elapsed = round((row["finished_at"] - row["started_at"]).total_seconds(), 3)
    out = JobOut(
        id=row["id"], kind=row["kind"], dataset=row["dataset"] or "", state=row["state"],
        progress=round(min(1.0, max(0.0, float(row["progress"] or 0.0))), 4), stage=row["stage"], error=row["error"],
        result_url=f"/api/jobs/{row['id']}" if row["state"] == "done" else None,
        created=row["created_at"].timestamp() if row["created_at"] else None, elapsed_s=elapsed,
    ).model_dump(mode="json")
    out["result"] = result  # attached after validation: a big result is not copied by the model
    return out


async def read_result(svc: JobService, row: dict) -> Any:
    path = svc.result_file(row)
    if row["state"] != "done" or path is None:
        return None
    try:
        return json.loads(await asyncio.to_thread(Path(path).read_text, encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("job result unreadable job=%s", row["id"])
        return None


async def visible_job(request: web.Request, job_id: str, action: Action = Action.VIEW_JOB,
                      missing: tuple[str, str] = ("not_found", "no such job"), presented: bool = False) -> tuple[Principal, dict]:
    svc = request.app[JOBS_KEY]
    row = await svc.get(job_id) if len(job_id) <= 40 else None
    if row is None:
        raise ApiError(404, *missing)
    try:
        p = await authorize(request, action, JobResource(owner=row["owner"], presented=presented))
    except ApiError as e:
        if e.code == "not_found":  # someone else's job: exactly the answer for a missing one
            raise ApiError(404, *missing) from None
        raise
    return p, row


# ---------------------------------------------------------------------------- handlers
async def list_jobs(request: web.Request) -> web.Response:
    p = await principal_of(request)
    svc = request.app[JOBS_KEY]
    from yakuba.server.auth.policy import decide

    everyone = request.query.get("all", "1") != "0" and bool(decide(p, Action.LIST_ALL_JOBS))
    rows = await svc.list(None if everyone else p.key)
    return web.json_response({"jobs": [job_out(r) for r in rows]})


async def get_job(request: web.Request) -> web.Response:
    _, row = await visible_job(request, request.match_info["job_id"])
    svc = request.app[JOBS_KEY]
    return web.json_response(job_out(row, await read_result(svc, row)), dumps=_dumps)


async def cancel_job(request: web.Request) -> web.Response:
    job_id = request.match_info["job_id"]
    await visible_job(request, job_id)  # not yours and not staff: 404, as for GET
    _, row = await visible_job(request, job_id, Action.CANCEL_JOB)
    svc = request.app[JOBS_KEY]
    was = await svc.cancel(job_id)
    row = await svc.get(job_id)
    if was is None:
        raise ApiError(409, "job_finished", f"job already {row['state']}")
    return web.json_response(job_out(row))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------- wiring
def setup_jobs(app: web.Application, settings: Settings | None = None, db: Database | None = None, *,
               data_dir: Path | None = None) -> JobService:
    """One JobService per app, with its routes and start/stop hooks; idempotent.

    The server passes its Settings and Database. A bare app (the route tests) gets Settings for
    ``data_dir`` and its own SQLite database under the data dir."""
    if JOBS_KEY in app:
        return app[JOBS_KEY]
    if settings is None:
        settings = Settings(data_dir=Path(data_dir or "var"))
    own_db = db is None
    db = db or Database(settings.effective_database_url)
    svc = JobService(db, settings.data_dir, settings.node_id, workers=settings.job_workers,
                     per_principal=settings.jobs_per_principal, redis_url=settings.redis_url,
                     stale_s=settings.job_stale_s)
    app[JOBS_KEY] = svc
    app.router.add_get("/api/jobs", _json_errors(list_jobs))
    app.router.add_get("/api/jobs/{job_id}", _json_errors(get_job))
    app.router.add_delete("/api/jobs/{job_id}", _json_errors(cancel_job))

    async def _start(_app: web.Application) -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await db.migrate()  # idempotent; the jobs table must exist before recovery reads it
        await svc.start()

    async def _stop(_app: web.Application) -> None:
        await svc.close()
        if own_db:
            await db.close()

    app.on_startup.append(_start)
    app.on_cleanup.insert(0, _stop)  # before the app's own cleanup closes the shared database
    return svc


__all__ = ["JOBS_KEY", "job_out", "limit_error", "read_result", "setup_jobs",
           "visible_job"]
