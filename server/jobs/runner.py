"""One job runner for imports and simulations, out of the server process.

The CPU work always runs in a local process pool (spawn context, ``Settings.job_workers``
processes), never on the realtime loop or its threads. What decides *which node* runs a job:

* embedded (no Redis): the node that accepted it, through an asyncio queue of its own;
* with Redis: arq. Every node runs an arq worker in its loop; the arq job only says "run job
  <id>", so any node can pick it up and hand the work to its own pool.

Either way the job row in SQL is the truth every node reads: claimed atomically (queued ->
running), progress and a heartbeat written by a pump task at most every ``PUMP_S``, a final
state written once. At start (and every ``SWEEP_S``) a node takes back jobs left ``running`` by
itself or by a node whose heartbeat stopped: queued again when their inputs still exist, else
failed with a reason. Cancel: a queued job is cancelled in SQL at once; a running one also gets
a cancel file its worker sees at the next progress report (any node can cancel: the owning
node's pump notices the row changed and drops the file).
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing as mp
import queue
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from yakuba.server.db.engine import Database

from . import records
from .kinds import init_worker, inputs_exist, job_dir, run_job

log = logging.getLogger("yakuba.server.jobs")

PUMP_S = 0.5  # progress rows are written at most this often per node
SWEEP_S = 5.0
READER_POLL_S = 0.2  # how soon the progress reader notices it is to stop
STALE_S = 15.0  # a running job whose heartbeat is older belonged to a dead node
ARQ_FUNCTION = "yakuba_job"
ARQ_QUEUE = "yakuba:jobs"


class JobLimit(Exception):
    def __init__(self, active: int, limit: int) -> None:
        super().__init__(f"{active} jobs already active for you (limit {limit}); wait for one to finish or cancel it")


class JobService:
    def __init__(self, db: Database, data_dir: Path, node_id: str, *, workers: int = 2, per_principal: int = 2,
                 redis_url: str | None = None, stale_s: float = STALE_S) -> None:
        self.db, self.data_dir, self.node_id = db, Path(data_dir), node_id
        self.workers, self.per_principal, self.redis_url, self.stale_s = workers, per_principal, redis_url, stale_s
        self.pool: ProcessPoolExecutor | None = None
        self._mpq: Any = None
        self._latest: dict[str, tuple[float, str]] = {}  # job id -> newest (progress, stage) not yet written
        self._running: dict[str, asyncio.Future] = {}  # job id -> pool future, for jobs claimed here
        self._claiming: set[str] = set()  # being claimed right now: not an orphan, whatever the row says
        self._local: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._arq_pool: Any = None
        self._arq_worker: Any = None
        self._closing = False
        self._reader: threading.Thread | None = None
        self._reader_stop = threading.Event()

    @property
    def backend(self) -> str:
        return "arq" if self.redis_url else "local"

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> "JobService":
        if self.redis_url:
            await self._start_arq()
        else:
            for _ in range(self.workers):
                self._tasks.append(asyncio.create_task(self._local_loop()))
        await self.recover(at_start=True)
        self._tasks.append(asyncio.create_task(self._pump_loop()))
        log.info("jobs started node=%s backend=%s workers=%d", self.node_id, self.backend, self.workers)
        return self

    def _ensure_pool(self) -> ProcessPoolExecutor:
        """The pool, its progress queue and reader, made at the first job: a node that runs no
        job starts no extra process (not even multiprocessing's resource tracker)."""
        if self.pool is None:
            ctx = mp.get_context("spawn")  # never fork a process that holds an event loop and threads
            self._mpq = ctx.Queue()
            self.pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=init_worker, initargs=(self._mpq,))
            loop = asyncio.get_running_loop()
            self._reader_stop = threading.Event()
            self._reader = threading.Thread(target=self._read_progress, args=(loop, self._mpq, self._reader_stop),
                                            name="jobs-progress", daemon=True)
            self._reader.start()
        return self.pool

    def _reset_pool(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None
        if self._mpq is not None:
            self._reader_stop.set()  # ends the old reader thread (see _read_progress); not closed
            self._mpq = None  # under it: the thread may still poll its descriptor for READER_POLL_S

    async def close(self) -> None:
        self._closing = True
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._arq_worker is not None:  # its main() was one of our tasks; now its job tasks
            for t in list(self._arq_worker.tasks.values()):
                t.cancel()
        if self._arq_pool is not None:
            await self._arq_pool.aclose(close_connection_pool=True)
        if self._arq_worker is not None and self._arq_worker._pool is not None:
            await self._arq_worker._pool.aclose(close_connection_pool=True)
        # Jobs still running here stay `running` in SQL: the next start (or another node's sweep)
        # resumes them. Their worker processes go with the pool.
        if self.pool is not None:
            for p in list(getattr(self.pool, "_processes", {}).values()):
                p.terminate()  # a long import would otherwise hold the shutdown
            self.pool.shutdown(wait=False, cancel_futures=True)
        if self._mpq is not None:
            self._reader_stop.set()
            if self._reader:
                await asyncio.to_thread(self._reader.join, 2)
            self._mpq.close()

    # ------------------------------------------------------------------ API
    async def submit(self, owner: str, kind: str, dataset: str | None, params: dict, job_id: str | None = None) -> dict:
        """A new queued job owned by ``owner`` (Principal.key); JobLimit past the per-principal limit."""
        active = await records.count_active(self.db, owner)
        if active >= self.per_principal:
            raise JobLimit(active, self.per_principal)
        row = await records.create(self.db, id=job_id or uuid.uuid4().hex, kind=kind, dataset=dataset, owner=owner,
                                   params=params)
        await self._dispatch(row["id"], row["attempts"])
        log.info("job queued job=%s kind=%s owner=%s node=%s", row["id"], kind, owner, self.node_id)
        return row

    async def cancel(self, job_id: str) -> str | None:
        was = await records.cancel(self.db, job_id)
        if was == "running":
            self._drop_cancel_file(job_id)
        log.info("job cancel job=%s was=%s node=%s", job_id, was, self.node_id)
        return was

    async def get(self, job_id: str) -> dict | None:
        return await records.get(self.db, job_id)

    async def list(self, owner: str | None) -> list[dict]:
        return await records.list_jobs(self.db, owner)

    def result_file(self, row: dict) -> Path | None:
        return self.data_dir / row["result_path"] if row.get("result_path") else None

    # ------------------------------------------------------------------ recovery
    async def recover(self, at_start: bool = False) -> None:
        """Take back orphaned running jobs; at start, (re)dispatch queued ones nobody else will run."""
        for row in await records.orphans(self.db, self.node_id, records.stale_cutoff(self.stale_s)):
            if row["node"] == self.node_id and (row["id"] in self._running or row["id"] in self._claiming):
                continue  # ours and alive
            if await asyncio.to_thread(inputs_exist, row["kind"], row["params"], self.data_dir):
                if await records.requeue(self.db, row["id"], row["node"]):
                    log.info("job resumed job=%s from_node=%s", row["id"], row["node"])
                    await self._dispatch(row["id"], row["attempts"])
            else:
                await records.fail(self.db, row["id"], {"code": "interrupted",
                                                        "message": "interrupted by a restart; inputs gone"})
                log.info("job failed job=%s reason=interrupted_inputs_gone", row["id"])
        if at_start and not self.redis_url:
            # Embedded: a queued row lives only in the node's memory queue; after a restart put it
            # back (claiming is atomic, so a job queued twice still runs once).
            for row in await records.queued(self.db):
                if row["id"] not in self._running:
                    self._local.put_nowait(row["id"])

    async def _dispatch(self, job_id: str, attempts: int) -> None:
        if self._arq_pool is not None:
            # One arq id per attempt: arq keeps a killed attempt's key until it expires, and would
            # refuse to enqueue the same id again.
            await self._arq_pool.enqueue_job(ARQ_FUNCTION, job_id, _job_id=f"{job_id}.{attempts}")
        else:
            self._local.put_nowait(job_id)

    # ------------------------------------------------------------------ execution
    async def _local_loop(self) -> None:
        while True:
            job_id = await self._local.get()
            try:
                await self.execute(job_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job runner error job=%s", job_id)

    async def execute(self, job_id: str) -> None:
        """Claim the job and run it in the process pool; called by the local loop or arq."""
        self._claiming.add(job_id)  # the sweep must not take it back between the claim and the pool
        try:
            row = await records.claim(self.db, job_id, self.node_id)
            if row is None:
                return  # another node has it, or it was cancelled while queued
            fut = asyncio.get_running_loop().run_in_executor(self._ensure_pool(), run_job, row["kind"], job_id, row["params"],
                                                             str(self.data_dir))
            self._running[job_id] = fut
        finally:
            self._claiming.discard(job_id)
        try:
            meta = await fut
        except BrokenProcessPool:
            if self._closing:
                return  # left running: resumed at the next start
            meta = {"error": {"code": "internal", "message": "the worker process died"}}
            self._reset_pool()  # a broken pool refuses every later job: the next one gets a new pool
        finally:
            self._running.pop(job_id, None)
            self._latest.pop(job_id, None)
        err = meta.get("error")
        state = "done" if not err else ("cancelled" if err["code"] == "cancelled" else "failed")
        written = await records.finish(self.db, job_id, self.node_id, state=state, result_path=meta.get("result_path"),
                                       error=err)
        log.info("job %s job=%s kind=%s pid=%s written=%s", state, job_id, row["kind"], meta.get("pid"), written)
        if written and state == "done" and row["kind"] == "import":
            await self._record_dataset(row, meta.get("result_path"))

    async def _record_dataset(self, row: dict, result_path: str | None) -> None:
        """An import that finished is a dataset every node knows of (the files stay on disk)."""
        from yakuba.server.db.datasets import upsert_dataset

        try:
            text = await asyncio.to_thread((self.data_dir / result_path).read_text, encoding="utf-8") if result_path else "{}"
            res = json.loads(text)
            res = res.get("result", res)
            ds = row["params"]["dataset"]
            async with self.db.session() as s:
                await upsert_dataset(s, ds, row["params"].get("name") or ds, f"datasets/{ds}",
                                     int(res.get("buildings") or 0), created_by=row["owner"])
        except Exception:  # the dataset is on disk either way; the record is an index
            log.exception("dataset record not written job=%s", row["id"])

    # ------------------------------------------------------------------ progress
    def _read_progress(self, loop: asyncio.AbstractEventLoop, q: Any, stop: threading.Event) -> None:
        """Thread: worker processes -> latest progress per job (the pump writes it to SQL).

        Ended by ``stop``, never by a sentinel put on the queue: a put from this process starts a
        feeder thread that takes the queue's write lock, which a worker killed mid-put (kill -9,
        the OOM killer, close()'s terminate) holds for ever; the interpreter joins that feeder at
        exit, and the server (or a test run) then never exits."""
        while not stop.is_set():
            try:
                item = q.get(timeout=READER_POLL_S)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):
                return
            job_id, p, stage = item
            try:
                loop.call_soon_threadsafe(self._latest.__setitem__, job_id, (p, stage))
            except RuntimeError:
                return  # loop closed

    async def _pump_loop(self) -> None:
        since_sweep = 0.0
        while True:
            await asyncio.sleep(PUMP_S)
            try:
                updates = {k: v for k, v in self._latest.items() if k in self._running}
                self._latest.clear()
                gone = await records.progress(self.db, self.node_id, updates, list(self._running))
                for job_id in gone:  # cancelled elsewhere: tell the worker
                    self._drop_cancel_file(job_id)
                since_sweep += PUMP_S
                if since_sweep >= SWEEP_S:
                    since_sweep = 0.0
                    await self.recover()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job pump error node=%s", self.node_id)

    def _drop_cancel_file(self, job_id: str) -> None:
        d = job_dir(self.data_dir, job_id)
        d.mkdir(parents=True, exist_ok=True)
        (d / "cancel").touch()

    # ------------------------------------------------------------------ arq
    async def _start_arq(self) -> None:
        from arq import create_pool
        from arq.connections import RedisSettings
        from arq.worker import Worker, func

        rs = RedisSettings.from_dsn(self.redis_url)
        self._arq_pool = await create_pool(rs, default_queue_name=ARQ_QUEUE)

        async def yakuba_job(ctx: dict, job_id: str) -> None:
            await self.execute(job_id)

        # max_tries=1: a retry after a node died is our recovery's business (it knows the inputs).
        self._arq_worker = Worker(
            functions=[func(yakuba_job, name=ARQ_FUNCTION, max_tries=1)], queue_name=ARQ_QUEUE,
            redis_settings=rs, max_jobs=self.workers, handle_signals=False, job_timeout=24 * 3600,
            keep_result=60, poll_delay=0.2, log_results=False,
        )
        self._tasks.append(asyncio.create_task(self._arq_worker.main()))


async def start_jobs(app: Any, settings: Any, db: Database, store: Any = None) -> JobService:
    """Build and start the service from Settings (``store`` unused: arq reaches Redis itself)."""
    svc = JobService(db, settings.data_dir, settings.node_id, workers=settings.job_workers,
                     per_principal=settings.jobs_per_principal, redis_url=settings.redis_url,
                     stale_s=settings.job_stale_s)
    return await svc.start()


__all__ = ["JobLimit", "JobService", "start_jobs"]
