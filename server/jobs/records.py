"""Job rows in SQL (server/db/models.Job): the one record every node reads and writes.

State changes are conditional UPDATEs (``WHERE state = ...``) so two nodes never both claim a
job, and a job cancelled on another node stays cancelled when its worker finishes.
States: queued -> running -> done | failed | cancelled (queued -> cancelled at once).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from yakuba.server.db.engine import Database
from yakuba.server.db.models import Job, utcnow

ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "cancelled")


def to_dict(j: Job) -> dict[str, Any]:
    return {
        "id": j.id, "kind": j.kind, "dataset": j.dataset, "owner": j.owner, "params": j.params, "state": j.state,
        "progress": j.progress, "stage": j.stage, "node": j.node, "result_path": j.result_path, "error": j.error,
        "attempts": j.attempts, "created_at": j.created_at, "started_at": j.started_at,
        "finished_at": j.finished_at, "heartbeat_at": j.heartbeat_at,
    }


async def create(db: Database, *, id: str, kind: str, dataset: str | None, owner: str, params: dict) -> dict:
    async with db.session() as s:
        j = Job(id=id, kind=kind, dataset=dataset, owner=owner, params=params, state="queued", progress=0.0,
                stage="queued", attempts=0, created_at=utcnow())
        s.add(j)
    return to_dict(j)


async def get(db: Database, job_id: str) -> dict | None:
    async with db.session() as s:
        j = await s.get(Job, job_id)
        return to_dict(j) if j else None


async def list_jobs(db: Database, owner: str | None = None, limit: int = 100) -> list[dict]:
    """Newest first; ``owner`` None = everyone's."""
    q = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if owner is not None:
        q = q.where(Job.owner == owner)
    async with db.session() as s:
        return [to_dict(j) for j in (await s.scalars(q)).all()]


async def count_active(db: Database, owner: str) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(Job).where(Job.owner == owner, Job.state.in_(ACTIVE))))


async def claim(db: Database, job_id: str, node: str) -> dict | None:
    """queued -> running on ``node``; None when someone else got it (or it was cancelled)."""
    now = utcnow()
    async with db.session() as s:
        r = await s.execute(update(Job).where(Job.id == job_id, Job.state == "queued").values(
            state="running", node=node, attempts=Job.attempts + 1, started_at=now, heartbeat_at=now, stage="start"))
        if r.rowcount != 1:
            return None
        j = await s.get(Job, job_id)
        return to_dict(j)


async def progress(db: Database, node: str, updates: dict[str, tuple[float, str]], alive: list[str]) -> list[str]:
    """Write progress for this node's running jobs and beat their heart. Returns the ids among
    ``alive`` that are no longer running here (cancelled, possibly from another node)."""
    if not updates and not alive:
        return []  # an idle node writes nothing
    now = utcnow()
    async with db.session() as s:
        for job_id, (p, stage) in updates.items():
            await s.execute(update(Job).where(Job.id == job_id, Job.state == "running", Job.node == node)
                            .values(progress=p, stage=stage[:60], heartbeat_at=now))
        if alive:
            await s.execute(update(Job).where(Job.id.in_(alive), Job.state == "running", Job.node == node)
                            .values(heartbeat_at=now))
            still = set((await s.scalars(select(Job.id).where(Job.id.in_(alive), Job.state == "running",
                                                                 Job.node == node))).all())
            return [j for j in alive if j not in still]
    return []


async def finish(db: Database, job_id: str, node: str, *, state: str, result_path: str | None = None,
                 error: dict | None = None) -> bool:
    """running (on this node) -> a final state. False when the row had moved on (cancelled)."""
    vals: dict[str, Any] = {"state": state, "finished_at": utcnow(), "stage": state, "error": error,
                            "result_path": result_path}
    if state == "done":
        vals["progress"] = 1.0
    async with db.session() as s:
        r = await s.execute(update(Job).where(Job.id == job_id, Job.state == "running", Job.node == node).values(**vals))
        return r.rowcount == 1


async def cancel(db: Database, job_id: str) -> str | None:
    """Queued or running -> cancelled. Returns the state it had (None: it was already final)."""
    async with db.session() as s:
        j = await s.get(Job, job_id, with_for_update=not db.is_sqlite)
        if j is None or j.state in FINAL:
            return None
        was = j.state
        j.state, j.stage, j.finished_at = "cancelled", "cancelled", utcnow()
        j.error = {"code": "cancelled", "message": "job cancelled"}
        return was


async def fail(db: Database, job_id: str, error: dict) -> None:
    async with db.session() as s:
        await s.execute(update(Job).where(Job.id == job_id, Job.state.in_(ACTIVE)).values(
            state="failed", error=error, stage="failed", finished_at=utcnow()))


async def orphans(db: Database, node: str, stale_before: datetime) -> list[dict]:
    """Jobs left ``running`` by this node (it restarted) or by a node whose heartbeat stopped."""
    q = select(Job).where(Job.state == "running", or_(Job.node == node, Job.heartbeat_at < stale_before,
                                                      Job.heartbeat_at.is_(None)))
    async with db.session() as s:
        return [to_dict(j) for j in (await s.scalars(q)).all()]


async def requeue(db: Database, job_id: str, seen_node: str | None) -> bool:
    """running -> queued (resumed), only if it is still the orphan we looked at."""
    async with db.session() as s:
        r = await s.execute(update(Job).where(Job.id == job_id, Job.state == "running", Job.node == seen_node).values(
            state="queued", node=None, stage="resumed", progress=0.0, heartbeat_at=None))
        return r.rowcount == 1


async def queued(db: Database) -> list[dict]:
    async with db.session() as s:
        return [to_dict(j) for j in (await s.scalars(select(Job).where(Job.state == "queued")
                                                     .order_by(Job.created_at))).all()]


def stale_cutoff(seconds: float) -> datetime:
    return utcnow() - timedelta(seconds=seconds)


__all__ = ["ACTIVE", "FINAL", "cancel", "claim", "count_active", "create", "fail", "finish", "get", "list_jobs",
           "orphans", "progress", "queued", "requeue", "stale_cutoff", "to_dict"]
