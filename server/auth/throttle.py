"""Login throttling: after ``max_failures`` failed logins for one username, or from one client
address, within ``window_s``, further attempts are refused (429 login_throttled) until the oldest
failure leaves the window - whether the password is right or not, so guessing stays slow.

Failures are kept in the live store (the same TTL'd records as sessions), so a guesser who
spreads attempts over several nodes meets one limit. The read-modify-write is not atomic: two
nodes failing at the same instant may count one failure instead of two, which only loosens the
limit by one attempt per race, never locks anyone out wrongly. Keys hold a hash of the username,
never the name itself. ``clock`` is injectable so tests pass the window without waiting.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

import msgpack

from yakuba.server.store.base import Store, StoreUnavailable

log = logging.getLogger("yakuba.auth")
PREFIX = "throttle:"


def _key(kind: str, value: str) -> str:
    return PREFIX + kind + ":" + hashlib.sha256(value.encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, store: Store, max_failures: int, window_s: float, clock: Callable[[], float] = time.time) -> None:
        self.store, self.max_failures, self.window_s, self.clock = store, max_failures, window_s, clock

    def _keys(self, username: str, address: str) -> list[str]:
        return [_key("user", username), _key("addr", address or "-")]

    async def _recent(self, key: str) -> list[float]:
        try:
            raw = await self.store.get_session(key)
        except StoreUnavailable:
            return []  # the store down must not lock every staff member out
        if not raw:
            return []
        try:
            stamps = [float(t) for t in msgpack.unpackb(raw)]
        except Exception:
            return []
        cutoff = self.clock() - self.window_s
        return [t for t in stamps if t > cutoff]

    async def blocked(self, username: str, address: str) -> bool:
        for key in self._keys(username, address):
            if len(await self._recent(key)) >= self.max_failures:
                return True
        return False

    async def failed(self, username: str, address: str) -> None:
        now = self.clock()
        for key in self._keys(username, address):
            stamps = (await self._recent(key))[-(self.max_failures * 2):] + [now]
            try:
                await self.store.put_session(key, msgpack.packb(stamps), self.window_s)
            except StoreUnavailable:
                log.warning("login failure not counted: store unavailable")

    async def succeeded(self, username: str) -> None:
        """A right password clears the username's count (not the address's: one office NAT may
        hide a guesser next to a colleague who just logged in)."""
        try:
            await self.store.delete_session(_key("user", username))
        except StoreUnavailable:
            pass


__all__ = ["LoginThrottle"]
