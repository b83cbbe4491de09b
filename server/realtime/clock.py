"""Time, injected: the realtime core never reads the wall clock itself, so tests drive it.

``MonotonicClock`` is the server's; ``ManualClock`` is the tests' (advance it, then call
``run_tick``/``flush`` with its ``now()``): expiry, keyframes and grace periods are then checked
without sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""


class MonotonicClock:
    def now(self) -> float:
        return time.monotonic()


class ManualClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, dt: float) -> float:
        self.t += dt
        return self.t


__all__ = ["Clock", "ManualClock", "MonotonicClock"]
