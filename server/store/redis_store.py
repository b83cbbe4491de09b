"""Redis store: pub/sub bus plus session keys with TTL, shared by many server processes.

A reader task owns the pub/sub connection and reconnects with backoff when Redis goes away; while
it is away, publish raises StoreUnavailable and the node keeps serving its local clients:
- its own session records are kept here too (write-through), so its clients resume while Redis
  is down; a resume on another node (``let_go``) drops the copy, so it never brings back an
  older record;
- when Redis has lost its data (the ``yakuba:epoch`` marker is gone: checked on reconnect, at
  every heartbeat and on a session miss), the node writes its records back and holds its id
  slot again, so residents resume on any node and no slot is handed to two nodes;
- avatar ids come from the node's slot (base.Store.allocate_id): no round trip on join. The
  slot is a key with a lease the reader task renews; the count's high-water mark in the slot is
  kept (ahead, in blocks) in ``yakuba:slot:<n>:seq`` so a node restarted into a slot goes on
  after every id it may have given out before.
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

from .base import SEQ_SPACE, SLOTS, Store, StoreUnavailable, seq_ahead

log = logging.getLogger("yakuba.store.redis")
SESSION_KEY = "yakuba:session:"
SLOT_KEY = "yakuba:slot:"
EPOCH_KEY = "yakuba:epoch"
SLOT_TTL_MS = 30_000  # a crashed node's slot frees itself after this (heartbeat every third)
HEARTBEAT_S = 10.0
LOCAL_MAX = 50_000  # own session records kept for outages (pruned of expired ones)
SEQ_RESERVE = 256  # the stored high-water mark runs this far ahead of the count (written again half-way)
SEQ_TTL_MS = 12 * 3600_000  # well inside half of the count's wrap (~23 h): an older mark means nothing


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
        # The slot this node id still holds (a quick restart under a fixed node id), else the
        # lowest free one, taken atomically.
        self._claim_slot = self._redis.register_script(
            "for n = 0, tonumber(ARGV[3]) - 1 do "
            "  if redis.call('GET', ARGV[4] .. n) == ARGV[1] then redis.call('PEXPIRE', ARGV[4] .. n, ARGV[2]) return n end "
            "end "
            "for n = 0, tonumber(ARGV[3]) - 1 do "
            "  if redis.call('SET', ARGV[4] .. n, ARGV[1], 'NX', 'PX', ARGV[2]) then return n end "
            "end return -1"
        )
        # Until Redis confirms a slot, a random one in the upper half (rarely taken; checked later).
        self.slot = random.randrange(SLOTS // 2, SLOTS)
        self.slot_confirmed = False
        self._issued = False  # ids given out from self.slot: from then on that slot is kept if free
        self._seq_slot: int | None = None  # the slot whose stored high-water mark we have read
        self._reserved = 0  # the high-water mark last stored (self._seq stays behind it)
        self._persisting: asyncio.Task | None = None
        # own avatars' resume records (never login sessions): token -> (wall expiry, data, avatar id); avatar id -> token
        self._local: dict[str, tuple[float, bytes, int | None]] = {}
        self._token_of: dict[int, str] = {}
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
        if self._persisting is not None:
            self._persisting.cancel()
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

    async def put_session(self, token: str, data: bytes, ttl_s: float, avatar_id: int | None = None) -> None:
        if avatar_id is not None:  # only avatars' resume records: a login session or a throttle
            self._keep(token, data, ttl_s, avatar_id)  # record must not outlive its logout here
        await self._call(self._redis.set(SESSION_KEY + token, data, px=max(1, int(ttl_s * 1000))))

    async def get_session(self, token: str) -> bytes | None:
        try:
            # The epoch in the same round trip: a Redis that came back empty, before the reader
            # has written our records back, must not make our own clients lose their avatars.
            data, epoch = await self._call(self._redis.mget(SESSION_KEY + token, EPOCH_KEY))
        except StoreUnavailable:
            kept = self._kept(token)  # Redis down: our own clients still resume
            if kept is None:
                raise
            return kept
        if data is None and self._epoch is not None and epoch != self._epoch:
            self._beat_at = 0.0  # the reader writes our records back at its next turn
            return self._kept(token)
        return data

    async def delete_session(self, token: str) -> None:
        self._forget(token)
        await self._call(self._redis.delete(SESSION_KEY + token))

    async def take_session(self, token: str) -> bytes | None:
        """GETDEL: atomic across nodes (single-use records are never resume records: no local copy)."""
        self._forget(token)
        return await self._call(self._redis.getdel(SESSION_KEY + token))

    async def put_sessions(self, items: list[tuple[str, bytes, float, int | None]]) -> None:
        for token, data, ttl, aid in items:
            if aid is not None:
                self._keep(token, data, ttl, aid)
        if not items:
            return
        pipe = self._redis.pipeline(transaction=False)
        for token, data, ttl, _ in items:
            pipe.set(SESSION_KEY + token, data, px=max(1, int(ttl * 1000)))
        await self._call(pipe.execute())

    def let_go(self, avatar_id: int) -> None:
        token = self._token_of.pop(avatar_id, None)
        if token is not None:
            self._local.pop(token, None)

    # -- own records, epoch and slot ----------------------------------------------------------
    def _keep(self, token: str, data: bytes, ttl_s: float, aid: int | None) -> None:
        now = time.time()
        self._local.pop(token, None)  # re-inserted last: the pruning below drops the oldest first
        self._local[token] = (now + ttl_s, data, aid)
        if aid is not None:
            self._token_of[aid] = token
        if len(self._local) > LOCAL_MAX:
            for k in [k for k, (exp, _, _) in self._local.items() if exp < now]:
                self._forget(k)
            while len(self._local) > LOCAL_MAX:  # still full of live ones: the oldest go
                self._forget(next(iter(self._local)))

    def _forget(self, token: str) -> None:
        item = self._local.pop(token, None)
        if item is not None and item[2] is not None and self._token_of.get(item[2]) == token:
            del self._token_of[item[2]]

    def _kept(self, token: str) -> bytes | None:
        item = self._local.get(token)
        if item is None or item[0] < time.time():
            self._forget(token)
            return None
        return item[1]

    async def _after_connect(self) -> None:
        """Redis is (back) up: the heartbeat checks its data and holds our slot."""
        await self._heartbeat()

    async def _check_epoch(self) -> None:
        """If Redis lost its data (restarted empty, FLUSHALL), write our own records back."""
        r = self._redis
        epoch = await r.get(EPOCH_KEY)
        if epoch is None:
            await r.set(EPOCH_KEY, f"{self.node_id}:{time.time():.3f}", nx=True)
            epoch = await r.get(EPOCH_KEY)
        if self._epoch is not None and epoch != self._epoch:
            now = time.time()
            live = [(t, d, exp - now) for t, (exp, d, _) in self._local.items() if exp > now + 0.05]
            if live:
                pipe = r.pipeline(transaction=False)
                for t, d, ttl in live:
                    pipe.set(SESSION_KEY + t, d, px=int(ttl * 1000), nx=True)
                await pipe.execute()
            log.warning("redis lost its data: restored %d session record(s) of this node", len(live))
        self._epoch = epoch
        self._up = True  # a command went through (a failed one elsewhere had marked us down)

    async def _heartbeat(self) -> None:
        self._beat_at = time.monotonic() + HEARTBEAT_S
        await self._check_epoch()
        # Before any id is given out the slot is ours to choose (the lowest free one); after,
        # we keep the slot those ids came from while nobody else holds it.
        if (self._issued or self.slot_confirmed) and await self._hold_slot(keys=[SLOT_KEY + str(self.slot)], args=[self.node_id, SLOT_TTL_MS]):
            if not self.slot_confirmed:
                log.info("node=%s holds id slot %d", self.node_id, self.slot)
            self.slot_confirmed = True
        else:
            n = int(await self._claim_slot(keys=[], args=[self.node_id, SLOT_TTL_MS, SLOTS, SLOT_KEY]))
            if n < 0:
                log.error("no free id slot (%d nodes?)", SLOTS)
                return
            if self._issued and n != self.slot:
                # Taken by another node (we started without Redis, or our lease ran out): new ids
                # come from the free slot; ids already given stay (a clash needs both nodes to
                # have counted to the same number in the same slot).
                log.warning("id slot %d is another node's: this node now uses slot %d", self.slot, n)
            else:
                log.info("node=%s holds id slot %d", self.node_id, n)
            self.slot, self.slot_confirmed = n, True
        await self._store_seq()

    async def _store_seq(self) -> None:
        """Store the count's high-water mark, one block ahead; on taking a slot, first go on
        after the mark a previous holder left (a restart, a crash)."""
        key = f"{SLOT_KEY}{self.slot}:seq"
        if self._seq_slot != self.slot:
            mark = await self._redis.get(key)
            if mark is not None and 0 < int(mark) < SEQ_SPACE and seq_ahead(int(mark), self._seq):
                self._seq = int(mark)
            self._seq_slot = self.slot
        reserved = (self._seq + SEQ_RESERVE) % SEQ_SPACE
        await self._redis.set(key, reserved, px=SEQ_TTL_MS)
        self._reserved = reserved

    def _allocated(self) -> None:
        self._issued = True
        ahead = (self._reserved - self._seq) % SEQ_SPACE
        if SEQ_RESERVE // 2 <= ahead < SEQ_SPACE // 2 or not self._up or self._seq_slot != self.slot:
            return  # enough left of the stored block, or Redis away (the heartbeat stores it later)
        if self._persisting is None or self._persisting.done():
            self._persisting = asyncio.create_task(self._store_seq_soon())

    async def _store_seq_soon(self) -> None:
        try:
            await self._store_seq()
        except (RedisError, OSError) as e:
            log.warning("id count not stored: %s", type(e).__name__)

    async def healthy(self) -> bool:
        if not self._up:
            return False
        try:
            return bool(await asyncio.wait_for(self._redis.ping(), 1.0))
        except (RedisError, OSError, asyncio.TimeoutError):
            return False
