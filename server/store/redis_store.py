"""Redis store: pub/sub bus plus session keys with TTL, shared by many server processes.

A reader task owns the pub/sub connection and reconnects with backoff when Redis goes away; while
it is away, publish raises StoreUnavailable and the node keeps serving its local clients.
"""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .base import Store, StoreUnavailable

log = logging.getLogger("yakuba.store.redis")
SESSION_KEY = "yakuba:session:"
COUNTER_KEY = "yakuba:seq:"


class RedisStore(Store):
    def __init__(self, url: str, node_id: str) -> None:
        super().__init__(node_id)
        self.url = url
        self._redis = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=5)
        # INCR, but never at or below the floor (atomic, in one round trip).
        self._next_id = self._redis.register_script(
            "local v = redis.call('INCR', KEYS[1]) "
            "if v <= tonumber(ARGV[1]) then v = tonumber(ARGV[1]) + 1 redis.call('SET', KEYS[1], v) end "
            "return v"
        )
        self._reader: asyncio.Task | None = None
        self._pubsub = None  # the reader's live pub/sub connection (None while reconnecting)
        self._up = False
        self._closing = False
        self.connected = asyncio.Event()

    @property
    def shared(self) -> bool:
        return True

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_loop(), name="redis-reader")
        try:
            await asyncio.wait_for(self.connected.wait(), 5)
        except asyncio.TimeoutError:
            log.warning("redis not reachable at start; serving local clients until it is")

    async def close(self) -> None:
        self._closing = True
        if self._reader:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
        await self._redis.aclose()

    async def _read_loop(self) -> None:
        backoff = 0.2
        while not self._closing:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                # Every listened channel, again after a reconnect; later changes go through _listen.
                wanted = set(self.channels)
                await pubsub.subscribe(*sorted(wanted))
                self._pubsub = pubsub
                if self.channels != wanted:  # changed while we were subscribing
                    if self.channels - wanted:
                        await pubsub.subscribe(*sorted(self.channels - wanted))
                    if wanted - self.channels:
                        await pubsub.unsubscribe(*sorted(wanted - self.channels))
                self._up = True
                self.connected.set()
                if backoff > 0.2:
                    log.info("redis reconnected")
                backoff = 0.2
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is None:
                        continue
                    channel = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
                    try:
                        await self._dispatch(channel, msg["data"])
                    except Exception:  # a bad message must not kill the reader
                        log.exception("bus handler failed on channel=%s", channel)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as e:
                if self._up:
                    log.warning("redis connection lost: %s", type(e).__name__)
                self._up = False
                self.connected.clear()
            finally:
                self._pubsub = None
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _listen(self, channel: str, on: bool) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return  # the reader subscribes to self.channels when it (re)connects
        try:
            # Only writes the command; the reader task reads the confirmation with the messages.
            await (pubsub.subscribe(channel) if on else pubsub.unsubscribe(channel))
        except (RedisError, OSError) as e:
            log.warning("redis %s failed: %s", "subscribe" if on else "unsubscribe", type(e).__name__)

    async def _call(self, coro):
        try:
            return await coro
        except (RedisConnectionError, RedisTimeoutError, OSError) as e:
            self._up = False
            raise StoreUnavailable(str(e)) from None

    async def publish(self, channel: str, data: bytes) -> None:
        await self._call(self._redis.publish(channel, data))

    async def put_session(self, token: str, data: bytes, ttl_s: float) -> None:
        await self._call(self._redis.set(SESSION_KEY + token, data, px=int(ttl_s * 1000)))

    async def get_session(self, token: str) -> bytes | None:
        return await self._call(self._redis.get(SESSION_KEY + token))

    async def delete_session(self, token: str) -> None:
        await self._call(self._redis.delete(SESSION_KEY + token))

    async def next_id(self, name: str, floor: int = 0) -> int:
        return int(await self._call(self._next_id(keys=[COUNTER_KEY + name], args=[floor])))

    async def healthy(self) -> bool:
        if not self._up:
            return False
        try:
            return bool(await asyncio.wait_for(self._redis.ping(), 1.0))
        except (RedisError, OSError, asyncio.TimeoutError):
            return False
