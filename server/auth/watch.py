"""Each node re-reads, every ``interval_s``, the accounts of its connected staff and revokes the
ones that may no longer act as staff: disabled accounts, sessions issued before the last password
change, and sessions that no longer exist in the store (logged out on another node, expired).

This is what makes ``yakuba staff disable`` (run from the CLI, which has no bus to the servers
when the embedded memory store is used) take effect on every node within one interval. The
revoke callable is the gateway's: with Redis it tells every node, so one node noticing is enough.

``check()`` is one pass and is what tests call; ``run(sleep)`` loops with an injectable sleep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from yakuba.server.auth.identity import Identity
from yakuba.server.auth.principal import Principal
from yakuba.server.auth.sessions import well_formed
from yakuba.server.store.base import StoreUnavailable

log = logging.getLogger("yakuba.auth")


class StaffWatch:
    def __init__(self, identity: Identity, connected: Callable[[], Iterable[Principal]],
                 revoke: Callable[..., Awaitable[None]], interval_s: float = 2.0) -> None:
        self.identity, self.connected, self.revoke, self.interval_s = identity, connected, revoke, interval_s
        self.revoked = 0  # sessions revoked by this watch (tests, metrics)
        self.task: asyncio.Task | None = None

    async def check(self) -> list[str]:
        """One pass: returns the session ids revoked."""
        # Only sessions this service issued: a principal from another authenticator (a test's,
        # a future OIDC one with its own revocation) is not ours to judge.
        staff = {p.session_id: p for p in self.connected() if p.is_staff and well_formed(p.session_id)}
        gone: list[Principal] = []
        for sid in sorted(staff):
            try:
                rec = await self.identity.sessions.get(sid, strict=True)
            except StoreUnavailable:
                log.warning("staff watch skipped a pass: store unavailable")
                return []
            # None from the account check means "could not tell" (database away): keep the
            # session this pass rather than drop every staff member on a hiccup.
            if rec is None or await self.identity.account_state(rec) is False:
                gone.append(staff[sid])
        for p in gone:
            self.identity.audit.record("session_revoked", p, action="watch")
            try:
                await self.revoke(session_id=p.session_id)
                await self.identity.sessions.delete(p.session_id)
                self.revoked += 1
            except Exception:
                log.exception("revoke failed staff=%s", p.staff_id)
        return [p.session_id for p in gone]

    async def run(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        while True:
            await sleep(self.interval_s)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # the watch must outlive a database hiccup
                log.exception("staff watch pass failed")

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.run(), name="staff-watch")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass
            self.task = None


__all__ = ["StaffWatch"]
