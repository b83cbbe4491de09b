"""A fixed-rate loop driven by an injected clock. The step it calls (``run_tick(dt, now)``)
stays directly callable, so tests step time by hand instead of running the loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from .clock import Clock

log = logging.getLogger("yakuba.realtime.ticker")
MAX_DT = 0.5  # a stalled loop must not turn into a teleport


class Ticker:
    def __init__(
        self,
        name: str,
        hz: float,
        clock: Clock,
        step: Callable[[float, float], Awaitable[None]],
        observe: Callable[[float], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name, self.period, self.clock, self.step, self.observe = name, 1.0 / hz, clock, step, observe
        self.sleep = sleep  # a test passes one that advances a ManualClock instead of waiting
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    async def _loop(self) -> None:
        clock, period = self.clock, self.period
        last = clock.now()
        next_at = last + period
        while True:
            await self.sleep(max(0.0, next_at - clock.now()))
            now = clock.now()
            dt = min(now - last, MAX_DT)
            last = now
            next_at += period
            if next_at < now:
                next_at = now + period
            t0 = time.perf_counter()
            try:
                await self.step(dt, now)
            except Exception:
                log.exception("%s step failed", self.name)
            if self.observe is not None:
                self.observe(time.perf_counter() - t0)


__all__ = ["MAX_DT", "Ticker"]
