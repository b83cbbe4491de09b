"""Per-client rate limits (token buckets) and the pluggable chat word filter."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Protocol


class TokenBucket:
    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float | None = None) -> None:
        # `now`: the caller's clock (a hub's ManualClock in tests), when it passes `now` to take()
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, time.monotonic() if now is None else now

    def take(self, n: float = 1.0, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False

    def full(self, now: float) -> bool:
        """Refilled to its burst by ``now``: forgetting it changes nothing (keyed buckets are pruned)."""
        return self.tokens + (now - self.stamp) * self.rate >= self.burst


class WordFilter(Protocol):
    def apply(self, text: str) -> str | None:
        """The text to deliver (possibly masked), or None to refuse it."""


class MaskingFilter:
    """Masks listed words with ＊ (case-insensitive). Cities supply their own list."""

    def __init__(self, words: Iterable[str] = ()) -> None:
        words = [w for w in (w.strip() for w in words) if w]
        self._re = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.I) if words else None

    def apply(self, text: str) -> str | None:
        if self._re is None:
            return text
        return self._re.sub(lambda m: "＊" * len(m.group(0)), text)
