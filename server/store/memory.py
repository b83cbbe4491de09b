"""In-process store: the embedded default. Sessions expire by monotonic clock."""

from __future__ import annotations

import itertools
import time

from .base import Store


class MemoryStore(Store):
    def __init__(self, node_id: str = "local") -> None:
        super().__init__(node_id)
        self._sessions: dict[str, tuple[float, bytes]] = {}
        self._counters: dict[str, itertools.count] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, channel: str, data: bytes) -> None:
        if channel in self.channels:
            await self._dispatch(channel, data)

    async def put_session(self, token: str, data: bytes, ttl_s: float) -> None:
        self._sessions[token] = (time.monotonic() + ttl_s, data)
        if len(self._sessions) > 1000 and len(self._sessions) % 100 == 0:
            now = time.monotonic()
            for k in [k for k, (exp, _) in self._sessions.items() if exp < now]:
                del self._sessions[k]

    async def get_session(self, token: str) -> bytes | None:
        item = self._sessions.get(token)
        if item is None or item[0] < time.monotonic():
            self._sessions.pop(token, None)
            return None
        return item[1]

    async def delete_session(self, token: str) -> None:
        self._sessions.pop(token, None)

    async def next_id(self, name: str, floor: int = 0) -> int:
        v = next(self._counters.setdefault(name, itertools.count(1)))
        if v <= floor:
            self._counters[name] = itertools.count(floor + 2)
            v = floor + 1
        return v

    async def healthy(self) -> bool:
        return True
