"""Redis store: pub/sub bus plus session keys with TTL, shared by many server processes.

A reader task owns the pub/sub connection and reconnects with backoff when Redis goes away; while
it is away, publish raises StoreUnavailable and the node keeps serving its local clients:
- its own session records are kept here too (write-through), so its clients resume while Redis
  is down;
- when Redis comes back without its data (the ``yakuba:epoch`` marker is gone), the node writes
  its records back and claims its id slot again, so residents resume on any node and no slot
  is handed to two nodes;
- avatar ids come from the node's slot (base.Store.allocate_id): no round trip on join.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .base import SLOTS, Store, StoreUnavailable

log = logging.getLogger("yakuba.store.redis")
SESSION_KEY = "yakuba:session:"
SLOT_KEY = "yakuba:slot:"
EPOCH_KEY = "yakuba:epoch"
SLOT_TTL_MS = 30_000  # a crashed node's slot frees itself after this (heartbeat every third)
HEARTBEAT_S = 10.0
LOCAL_MAX = 50_000  # own session records kept for outages (pruned of expired ones)


class RedisStore(Store):
    def __init__(self, url: str, node_id: str) -> None:
        super().__init__(node_id)
        self.url = url
        self._redis = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=5)
        # Keep our slot (or take it when free); 0 when another node holds it.
        self._hold_slot = self._redis.register_script(
            "local v = redis.call('GET', KEYS[1]) "
            "if v == false or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
            "return 0"
        )
        # The lowest free slot, taken atomically.
        self._claim_slot = self._redis.register_script(
            "for n = 0, tonumber(ARGV[3]) - 1 do "
            "  if redis.call('SET', ARGV[4] .. n, ARGV[1], 'NX', 'PX', ARGV[2]) then return n end "
            "end return -1"
        )
        # Until Redis confirms a slot, a random one in the upper half (rarely taken; checked later).
        self.slot = random.randrange(SLOTS // 2, SLOTS)
        self.slot_confirmed = False
        self._local: dict[str, tuple[float, bytes]] = {}  # own records: token -> (wall expiry, data)
        self._epoch: bytes | None = None  # the Redis data generation last seen
        self._beat_at = 0.0
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
                await self._after_connect()
                self.connected.set()
                if backoff > 0.2:
                    log.info("redis reconnected")
                backoff = 0.2
                while True:
                    if time.monotonic() >= self._beat_at:
                        await self._heartbeat()
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
        self._keep(token, data, ttl_s)
        await self._call(self._redis.set(SESSION_KEY + token, data, px=max(1, int(ttl_s * 1000))))

    async def get_session(self, token: str) -> bytes | None:
        try:
            return await self._call(self._redis.get(SESSION_KEY + token))
        except StoreUnavailable:
            kept = self._kept(token)  # Redis down: our own clients still resume
            if kept is None:
                raise
            return kept

    async def delete_session(self, token: str) -> None:
        self._local.pop(token, None)
        await self._call(self._redis.delete(SESSION_KEY + token))

    async def put_sessions(self, items: list[tuple[str, bytes, float]]) -> None:
        for token, data, ttl in items:
            self._keep(token, data, ttl)
        if not items:
            return
        pipe = self._redis.pipeline(transaction=False)
        for token, data, ttl in items:
            pipe.set(SESSION_KEY + token, data, px=max(1, int(ttl * 1000)))
        await self._call(pipe.execute())

    # -- own records, epoch and slot ----------------------------------------------------------
    def _keep(self, token: str, data: bytes, ttl_s: float) -> None:
        now = time.time()
        self._local[token] = (now + ttl_s, data)
        if len(self._local) > LOCAL_MAX:
            for k in [k for k, (exp, _) in self._local.items() if exp < now]:
                del self._local[k]
            while len(self._local) > LOCAL_MAX:  # still full of live ones: the oldest go
                self._local.pop(next(iter(self._local)))

    def _kept(self, token: str) -> bytes | None:
        item = self._local.get(token)
        if item is None or item[0] < time.time():
            self._local.pop(token, None)
            return None
        return item[1]

    async def _after_connect(self) -> None:
        """Redis is (back) up: if it lost its data, write our records back; hold our slot."""
        r = self._redis
        epoch = await r.get(EPOCH_KEY)
        if epoch is None:
            await r.set(EPOCH_KEY, f"{self.node_id}:{time.time():.3f}", nx=True)
            epoch = await r.get(EPOCH_KEY)
        if self._epoch is not None and epoch != self._epoch:
            now = time.time()
            live = [(t, d, exp - now) for t, (exp, d) in self._local.items() if exp > now + 0.05]
            if live:
                pipe = r.pipeline(transaction=False)
                for t, d, ttl in live:
                    pipe.set(SESSION_KEY + t, d, px=int(ttl * 1000), nx=True)
                await pipe.execute()
            log.warning("redis lost its data: restored %d session record(s) of this node", len(live))
        self._epoch = epoch
        await self._heartbeat()

    async def _heartbeat(self) -> None:
        self._beat_at = time.monotonic() + HEARTBEAT_S
        if await self._hold_slot(keys=[SLOT_KEY + str(self.slot)], args=[self.node_id, SLOT_TTL_MS]):
            if not self.slot_confirmed:
                log.info("node=%s holds id slot %d", self.node_id, self.slot)
            self.slot_confirmed = True
            return
        # Taken by another node (we started without Redis, or our lease ran out): new ids come
        # from a free slot; ids already given stay (a clash needs both nodes to have counted to
        # the same number in the same slot).
        n = int(await self._claim_slot(keys=[], args=[self.node_id, SLOT_TTL_MS, SLOTS, SLOT_KEY]))
        if n < 0:
            log.error("no free id slot (%d nodes?)", SLOTS)
            return
        log.warning("id slot %d is another node's: this node now uses slot %d", self.slot, n)
        self.slot, self.slot_confirmed = n, True

    async def healthy(self) -> bool:
        if not self._up:
            return False
        try:
            return bool(await asyncio.wait_for(self._redis.ping(), 1.0))
        except (RedisError, OSError, asyncio.TimeoutError):
            return False
