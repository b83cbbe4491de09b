"""Where the desk's documents live: versioned documents with an atomic compare-and-set.

The pure core (core.py) decides; the store only guarantees that a change made from what was read
lands only if nobody changed any of those documents meanwhile, so two staff members on two nodes
cannot both take one ticket or one booth: the second write fails and is retried against the new
state, where the core refuses it. Two backends, one contract suite
(tests/consult/test_store_contract.py): ``MemoryConsultStore`` (embedded, one process) and
``RedisConsultStore`` (a hash per document, {v, d}; one Lua script checks every version and
writes every document in one step; no TTL, so queue, tickets and locks survive a restart).
"""

from __future__ import annotations

import abc
import json

from yakuba.server.store.base import StoreUnavailable

KEY_PREFIX = "yakuba:consult:"
INDEX_KEY = KEY_PREFIX + "index"  # the set of document keys

Doc = tuple[int, dict | None]  # (version, document); version 0 and None: never written


class ConsultStore(abc.ABC):
    @abc.abstractmethod
    async def read(self, keys: list[str]) -> dict[str, Doc]: ...

    @abc.abstractmethod
    async def write(self, changes: dict[str, tuple[int, dict]]) -> dict[str, int] | None:
        """``changes``: key -> (the version read, the new document). All or nothing: returns the
        new versions, or None when any document changed since it was read."""

    @abc.abstractmethod
    async def keys(self) -> list[str]:
        """Every document key (a node fills its cache at start)."""

    async def close(self) -> None:
        return None


class MemoryConsultStore(ConsultStore):
    def __init__(self) -> None:
        self._docs: dict[str, tuple[int, str]] = {}  # key -> (version, JSON): a copy, never shared

    async def read(self, keys: list[str]) -> dict[str, Doc]:
        out: dict[str, Doc] = {}
        for k in keys:
            v, raw = self._docs.get(k, (0, None))
            out[k] = (v, json.loads(raw) if raw is not None else None)
        return out

    async def write(self, changes: dict[str, tuple[int, dict]]) -> dict[str, int] | None:
        # No await between the check and the write: atomic on the event loop.
        if any(self._docs.get(k, (0, None))[0] != v for k, (v, _) in changes.items()):
            return None
        out = {}
        for k, (v, doc) in changes.items():
            self._docs[k] = (v + 1, json.dumps(doc, separators=(",", ":")))
            out[k] = v + 1
        return out

    async def keys(self) -> list[str]:
        return list(self._docs)


# KEYS: the documents, then the index set; ARGV: the versions read, then the new documents.
_CAS = """
local n = #KEYS - 1
for i = 1, n do
  local v = redis.call('HGET', KEYS[i], 'v') or '0'
  if v ~= ARGV[i] then return nil end
end
local out = {}
for i = 1, n do
  local nv = tonumber(ARGV[i]) + 1
  redis.call('HSET', KEYS[i], 'v', nv, 'd', ARGV[n + i])
  redis.call('SADD', KEYS[n + 1], KEYS[i])
  out[i] = nv
end
return out
"""


class RedisConsultStore(ConsultStore):
    def __init__(self, url: str | None = None, client=None) -> None:
        import redis.asyncio as aioredis

        self._own = client is None
        self._redis = client or aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._cas = self._redis.register_script(_CAS)

    async def _call(self, coro):
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        try:
            return await coro
        except (RedisConnectionError, RedisTimeoutError, OSError) as e:
            raise StoreUnavailable(str(e)) from None

    async def read(self, keys: list[str]) -> dict[str, Doc]:
        pipe = self._redis.pipeline(transaction=False)
        for k in keys:
            pipe.hmget(KEY_PREFIX + k, "v", "d")
        rows = await self._call(pipe.execute())
        return {k: (int(v or 0), json.loads(d) if d is not None else None) for k, (v, d) in zip(keys, rows)}

    async def write(self, changes: dict[str, tuple[int, dict]]) -> dict[str, int] | None:
        keys = list(changes)
        args = [str(changes[k][0]) for k in keys] + [json.dumps(changes[k][1], separators=(",", ":")) for k in keys]
        r = await self._call(self._cas(keys=[KEY_PREFIX + k for k in keys] + [INDEX_KEY], args=args))
        if r is None:
            return None
        return {k: int(v) for k, v in zip(keys, r)}

    async def keys(self) -> list[str]:
        got = await self._call(self._redis.smembers(INDEX_KEY))
        return sorted(k.decode()[len(KEY_PREFIX):] if isinstance(k, bytes) else k[len(KEY_PREFIX):] for k in got)

    async def close(self) -> None:
        if self._own:
            await self._redis.aclose()


__all__ = ["ConsultStore", "KEY_PREFIX", "MemoryConsultStore", "RedisConsultStore"]
