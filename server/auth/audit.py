"""The audit log: refusals and security events, as one log line and one ``audit_events`` row.

Ids only: the principal's key (``staff:12``, ``anon:<sid>``), a zone/job/dataset id, an error
code; never a name, a username, a password or message content.

Callers never wait for the database and never see its errors: ``record`` puts the event on a
bounded queue and returns; a background task writes batches. When the queue is full (a flood of
refusals, or the database down) events are dropped from the table, still logged, and counted in
``dropped``. ``flush()`` waits until everything queued is written (tests, shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from yakuba.server.db.audit_store import insert_events
from yakuba.server.db.models import utcnow

log = logging.getLogger("yakuba.audit")

_BATCH = 200


def principal_key(principal: Any) -> str:
    if principal is None:
        return "-"
    return principal if isinstance(principal, str) else str(principal.key)


def resource_id(resource: Any) -> str | None:
    """An id for the resource, never its content."""
    if resource is None:
        return None
    if isinstance(resource, (str, int)):
        return str(resource)
    zone = getattr(resource, "zone", None)
    if zone is not None and hasattr(zone, "id"):
        return f"zone:{zone.id}"
    for attr in ("id", "key"):
        v = getattr(resource, attr, None)
        if isinstance(v, (str, int)):
            return str(v)
    return type(resource).__name__


class AuditLog:
    def __init__(self, db, node_id: str | None = None, maxsize: int = 10_000) -> None:
        self.db, self.node_id = db, node_id
        self.queue: asyncio.Queue[dict] = asyncio.Queue(maxsize)
        self.task: asyncio.Task | None = None
        self.dropped = 0  # events logged but not stored (queue full, database error, after close)
        self.written = 0
        # After close() the database may be gone: an event recorded late (a socket closing during
        # shutdown) is still logged, but must not start a writer that nothing will ever stop.
        self.closed = False

    # --- the caller's side: synchronous, never raises
    def refused(self, principal: Any, action: str, code: str, resource: Any = None) -> None:
        self.record("refused", principal, action=action, code=code, resource=resource)

    def record(self, kind: str, principal: Any, action: str | None = None, code: str | None = None,
               resource: Any = None) -> None:
        try:
            row = {"at": utcnow(), "kind": kind, "principal": principal_key(principal), "action": action,
                   "code": code, "resource": resource_id(resource), "node": self.node_id}
            log.info("audit kind=%s principal=%s action=%s code=%s resource=%s node=%s", row["kind"],
                     row["principal"], action or "-", code or "-", row["resource"] or "-", self.node_id or "-")
            if self.closed:
                self.dropped += 1
                return
            self._ensure_started()
            self.queue.put_nowait(row)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning("audit queue full: %d events not stored", self.dropped)
        except Exception:  # an audit problem must never fail the request it describes
            self.dropped += 1
            log.exception("audit event not recorded")

    # --- lifecycle
    def _ensure_started(self) -> None:
        if self.task is None or self.task.done():
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop yet: start() or the next record() starts the writer
            self._spawn()

    def _spawn(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._writer(), name="audit-writer")

    def start(self) -> None:
        """Start the writer (record() also starts it on first use); reopens a closed log."""
        self.closed = False
        self._spawn()

    async def flush(self) -> None:
        # join(), not empty(): the writer may hold a batch it took from the queue but has not
        # written yet; task_done() after the write is what join() waits for.
        if self.queue.empty() and (self.task is None or self.task.done()):
            return
        self._ensure_started()
        await self.queue.join()

    async def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (at most ``timeout`` seconds), then stop the writer. Events
        recorded afterwards are logged only."""
        self.closed = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.flush(), timeout)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        lost = self.queue.qsize()  # the database did not take them in time
        if lost:
            self.dropped += lost
            log.warning("audit closed: %d events not stored", lost)
            while not self.queue.empty():
                self.queue.get_nowait()
                self.queue.task_done()

    async def _writer(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < _BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                async with self.db.session() as s:
                    self.written += await insert_events(s, batch)
            except asyncio.CancelledError:  # close() gave up waiting for the database
                self.dropped += len(batch)
                raise
            except Exception as e:
                self.dropped += len(batch)
                log.warning("audit: %d events not stored (%s)", len(batch), type(e).__name__)
            finally:
                for _ in batch:
                    self.queue.task_done()


# The app's one AuditLog; routes reach it through the request's app.
AUDIT_KEY = web.AppKey("audit", AuditLog)

__all__ = ["AUDIT_KEY", "AuditLog", "principal_key", "resource_id"]
