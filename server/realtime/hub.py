"""Socket.IO adapter around the pure world: handlers, the tick loop, snapshots, the bus.

Handlers only validate (server/protocol.py) and turn events into world intents; the tick task
steps the world, publishes this node's changes once per zone, and sends each client one
snapshot holding only its area of interest. A frame is encoded once per distinct view and the
same engine.io packets are queued for every client sharing it (the per-message overhead of
``sio.emit`` is what limits a plain server, not the maths).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from yakuba.server.protocol import (
    CHAT_MAX,
    UPD,
    UPD_DTYPE,
    AppearanceIn,
    ChatIn,
    ErrorCode,
    JoinIn,
    MoveIn,
    ProtocolError,
    encode_snapshot,
    error_payload,
    parse,
    quantise,
)
from yakuba.server.realtime.limits import MaskingFilter, TokenBucket, WordFilter
from yakuba.server.realtime.metrics import Metrics
from yakuba.server.store.base import CONTROL_CHANNEL, ZONE_CHANNEL, Store, StoreUnavailable
from yakuba.world.state import Avatar, World
from yakuba.world.zones import Role

log = logging.getLogger("yakuba.realtime")

KEYFRAME_S = 2.0  # full state of this node's avatars on the bus, for late subscribers
REMOTE_TTL_S = 6.0  # a remote avatar not refreshed this long belonged to a node that died
BLOCKED_NOTICE_S = 1.5  # at most one "blocked" error per avatar in this window
_HEADER_TEXT = sio_packet.Packet(sio_packet.EVENT, namespace="/", data=["snap", b""]).encode()[0]
SNAP_HEADER = eio_packet.Packet(eio_packet.MESSAGE, _HEADER_TEXT)


@dataclass
class Client:
    sid: str
    eio_sid: str
    role: Role
    avatar_id: int | None = None
    token: str | None = None
    lang: str = "ja"
    known: frozenset[int] = frozenset()
    needs_full: bool = True
    zone: str | None = None
    events: TokenBucket = field(default_factory=lambda: TokenBucket(30, 60))
    chats: TokenBucket = field(default_factory=lambda: TokenBucket(1, 5))
    last_blocked: float = 0.0


@dataclass
class HubConfig:
    tick_hz: float = 10.0
    view_limit: int = 50  # nearest N avatars in view when an area holds more
    grace_s: float = 30.0  # reconnect grace period
    staff_tokens: frozenset[str] = frozenset()


class Hub:
    def __init__(self, sio: socketio.AsyncServer, world: World, store: Store, metrics: Metrics, config: HubConfig, word_filter: WordFilter | None = None) -> None:
        self.sio = sio
        self.world = world
        self.store = store
        self.metrics = metrics
        self.config = config
        self.filter = word_filter or MaskingFilter()
        self.clients: dict[str, Client] = {}
        self.by_avatar: dict[int, Client] = {}
        self.tick = 0
        self.draining = False
        self._q: dict[int, tuple[int, int, int]] = {}  # quantised positions last sent
        self._upd_rec: dict[int, bytes] = {}  # the same, packed as a 9-byte upd record
        self._meta_dirty: set[int] = set()  # new or changed name/appearance/zone
        self._gone_local: set[int] = set()  # this node's avatars removed since last tick
        self._remote_seen: dict[int, float] = {}
        self._area_prev: dict[str, frozenset[int]] = {}
        self._away_until: dict[int, float] = {}
        self._task: asyncio.Task | None = None
        self._last_key = 0.0
        self._register()
        store.subscribe(ZONE_CHANNEL, self._on_bus_zone)
        store.subscribe(CONTROL_CHANNEL, self._on_bus_control)

    # ----------------------------------------------------------------------------------------
    # socket handlers
    # ----------------------------------------------------------------------------------------
    def _register(self) -> None:
        sio = self.sio
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        for event, fn in (("join", self.on_join), ("move", self.on_move), ("chat", self.on_chat), ("appearance", self.on_appearance), ("leave", self.on_leave)):
            sio.on(event, self._guard(event, fn))
        sio.on("*", self.on_unknown)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> bool:
        if self.draining:
            return False
        role = Role.RESIDENT
        # The role comes from a credential checked here, never from a client field.
        if isinstance(auth, dict) and isinstance(auth.get("staff_token"), str):
            if auth["staff_token"] in self.config.staff_tokens:
                role = Role.STAFF
            else:
                self.metrics.rejected.labels("bad_staff_token").inc()
                log.warning("connect sid=%s refused: bad staff token", sid)
                return False
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        self.clients[sid] = Client(sid=sid, eio_sid=eio_sid, role=role)
        self.metrics.clients.set(len(self.clients))
        return True

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        c = self.clients.pop(sid, None)
        self.metrics.clients.set(len(self.clients))
        if c is None or c.avatar_id is None:
            return
        self.by_avatar.pop(c.avatar_id, None)
        a = self.world.avatars.get(c.avatar_id)
        if a is None:
            return
        # Keep the avatar, idle, for the grace period so a reconnect (here or on another node)
        # resumes it; the session record carries it across nodes.
        self.world.stop(a.id)
        a.away = True
        self._away_until[a.id] = time.monotonic() + self.config.grace_s
        await self._save_session(c, a)

    def _guard(self, event: str, fn):
        async def handler(sid: str, data: Any = None) -> Any:
            self.metrics.events.labels(event).inc()
            c = self.clients.get(sid)
            if c is None:
                return None
            try:
                if not c.events.take():
                    raise ProtocolError(ErrorCode.RATE_LIMITED)
                msg = parse(event, data)
                if event != "join" and c.avatar_id is None:
                    raise ProtocolError(ErrorCode.NOT_JOINED)
                return await fn(c, msg)
            except ProtocolError as e:
                return await self._reject(c, event, e.code, e.message)
            except Exception:
                log.exception("handler %s failed sid=%s", event, sid)
                return await self._reject(c, event, ErrorCode.INTERNAL)

        return handler

    async def _reject(self, c: Client, event: str, code: ErrorCode, message: str | None = None) -> dict:
        self.metrics.rejected.labels(code.value).inc()
        log.info("rejected event=%s code=%s sid=%s", event, code.value, c.sid)
        payload = error_payload(code, event, message)
        await self.sio.emit("error", payload, to=c.sid)
        return {"ok": False, "error": payload}

    async def on_unknown(self, event: str, sid: str, *args: Any) -> None:
        c = self.clients.get(sid)
        self.metrics.events.labels("unknown").inc()
        if c is not None:
            await self._reject(c, str(event)[:40], ErrorCode.UNKNOWN_EVENT)

    async def on_join(self, c: Client, msg: JoinIn) -> dict:
        if self.draining:
            raise ProtocolError(ErrorCode.SERVER_DRAINING)
        if c.avatar_id is not None:
            raise ProtocolError(ErrorCode.ALREADY_JOINED)
        a = await self._resume(c, msg.resume) if msg.resume else None
        if a is None:
            try:
                aid = await self.store.next_id("avatar", max(self.world.avatars, default=0))
            except StoreUnavailable:
                raise ProtocolError(ErrorCode.STORE_UNAVAILABLE) from None
            x, y, h = self.world.spawn_point()
            zone = self.world.layout.zone_at(x, y)
            a = Avatar(
                id=aid,
                name=msg.name or f"来庁者{aid % 1000:03d}",
                style=msg.style or "round",
                color=msg.color or "#2b6cb0",
                role=c.role,
                x=x,
                y=y,
                heading=h,
                zone=zone.id if zone else "entrance",
            )
            self.world.add(a)
            c.token = secrets.token_urlsafe(24)
        c.avatar_id = a.id
        c.lang = msg.lang or c.lang
        c.needs_full = True
        self.by_avatar[a.id] = c
        self._meta_dirty.add(a.id)
        await self._enter_zone(c, a.zone)
        await self._save_session(c, a)
        log.info("join avatar=%s sid=%s resumed=%s", a.id, c.sid, bool(msg.resume))
        return {"ok": True, "id": a.id, "token": c.token, "zone": a.zone, "role": a.role.value, "x": a.x, "y": a.y, "heading": a.heading}

    async def _resume(self, c: Client, token: str) -> Avatar | None:
        try:
            raw = await self.store.get_session(token)
        except StoreUnavailable:
            raw = None
        if raw is None:
            return None
        rec = msgpack.unpackb(raw)
        if Role(rec["role"]) is not c.role:
            return None  # a resident's token cannot resume a staff avatar, nor the reverse
        aid = rec["id"]
        old = self.by_avatar.get(aid)
        if old is not None and old.sid != c.sid:
            # The same avatar is still attached here: the newer connection wins.
            old.avatar_id = None
            self.by_avatar.pop(aid, None)
            await self.sio.disconnect(old.sid)
        a = self.world.avatars.get(aid)
        if a is None or not a.local:
            a = Avatar(id=aid, name=rec["name"], style=rec["style"], color=rec["color"], role=c.role, x=rec["x"], y=rec["y"], heading=rec["h"], zone=rec["zone"])
            self.world.avatars[aid] = a
            self._remote_seen.pop(aid, None)
            try:  # tell the node that held it to let go
                await self.store.publish(CONTROL_CHANNEL, msgpack.packb({"n": self.store.node_id, "claim": aid}))
            except StoreUnavailable:
                pass
        a.away = False
        self._away_until.pop(aid, None)
        c.token = token
        return a

    async def _save_session(self, c: Client, a: Avatar) -> None:
        if c.token is None:
            return
        rec = {"id": a.id, "name": a.name, "style": a.style, "color": a.color, "role": a.role.value, "x": a.x, "y": a.y, "h": a.heading, "zone": a.zone}
        try:
            await self.store.put_session(c.token, msgpack.packb(rec), self.config.grace_s)
        except StoreUnavailable:
            log.warning("session not saved avatar=%s: store unavailable", a.id)

    async def _enter_zone(self, c: Client, zone: str) -> None:
        if c.zone == zone:
            return
        if c.zone is not None:
            await self.sio.leave_room(c.sid, "zone:" + c.zone)
        await self.sio.enter_room(c.sid, "zone:" + zone)
        c.zone = zone
        await self.sio.emit("zone", {"zone": zone}, to=c.sid)

    async def on_move(self, c: Client, msg: MoveIn) -> None:
        kind = msg.kind()
        aid = c.avatar_id
        assert aid is not None
        reason: str | None = None
        if kind == "velocity":
            if self.world.set_velocity(aid, float(msg.vx), float(msg.vy)):  # type: ignore[arg-type]
                self.metrics.rejected.labels("speed_clamped").inc()
        elif kind == "stop":
            self.world.stop(aid)
        elif kind == "target":
            reason = self.world.set_target(aid, float(msg.target[0]), float(msg.target[1]))  # type: ignore[index]
        else:
            reason = self.world.set_goto(aid, msg.goto)  # type: ignore[arg-type]
        if reason:
            raise ProtocolError(ErrorCode(reason))
        return None

    async def on_chat(self, c: Client, msg: ChatIn) -> None:
        text = msg.text.strip()
        if len(text) > CHAT_MAX:
            raise ProtocolError(ErrorCode.TOO_LONG)
        if not text:
            raise ProtocolError(ErrorCode.INVALID_PAYLOAD, "empty message")
        if not c.chats.take():
            raise ProtocolError(ErrorCode.RATE_LIMITED)
        filtered = self.filter.apply(text)
        if filtered is None:
            raise ProtocolError(ErrorCode.FILTERED)
        a = self.world.avatars[c.avatar_id]  # type: ignore[index]
        # Chat content is delivered and forgotten: never stored, never logged (ids only).
        out = {"id": a.id, "name": a.name, "text": filtered, "zone": a.zone, "ts": time.time()}
        await self.sio.emit("chat", out, room="zone:" + a.zone)
        log.debug("chat avatar=%s zone=%s", a.id, a.zone)
        try:
            await self.store.publish(ZONE_CHANNEL + a.zone, msgpack.packb({"n": self.store.node_id, "k": "chat", "chat": out}))
        except StoreUnavailable:
            pass

    async def on_appearance(self, c: Client, msg: AppearanceIn) -> None:
        a = self.world.avatars[c.avatar_id]  # type: ignore[index]
        a.style = msg.style or a.style
        a.color = msg.color or a.color
        self._meta_dirty.add(a.id)

    async def on_leave(self, c: Client, msg: Any) -> dict:
        aid = c.avatar_id
        c.avatar_id = None
        if aid is not None:
            self.by_avatar.pop(aid, None)
            self._remove_avatar(aid)
            if c.token:
                try:
                    await self.store.delete_session(c.token)
                except StoreUnavailable:
                    pass
        if c.zone:
            await self.sio.leave_room(c.sid, "zone:" + c.zone)
            c.zone = None
        c.known, c.needs_full = frozenset(), True
        return {"ok": True}

    def _remove_avatar(self, aid: int) -> None:
        a = self.world.remove(aid)
        if a is not None and a.local:
            self._gone_local.add(aid)
        self._q.pop(aid, None)
        self._upd_rec.pop(aid, None)
        self._away_until.pop(aid, None)

    # ----------------------------------------------------------------------------------------
    # bus
    # ----------------------------------------------------------------------------------------
    async def _on_bus_zone(self, channel: str, data: bytes) -> None:
        try:
            m = msgpack.unpackb(data, raw=False)
            if m.get("n") == self.store.node_id:
                return
            if m.get("k") == "chat":
                chat = m["chat"]
                await self.sio.emit("chat", chat, room="zone:" + str(chat["zone"]))
                return
            now = time.monotonic()
            for rec in m.get("add", ()):
                self._upsert_remote(rec, now)
            upd = m.get("upd") or b""
            if upd:
                for aid, qx, qy, qh in np.frombuffer(upd, dtype=UPD_DTYPE).tolist():
                    a = self.world.avatars.get(aid)
                    if a is not None and not a.local:
                        a.x, a.y, a.heading = qx / 100, qy / 100, qh * 360 / 256
                        self._remote_seen[aid] = now
            for aid in m.get("del", ()):
                a = self.world.avatars.get(aid)
                if a is not None and not a.local:
                    self._remove_avatar(aid)
                    self._remote_seen.pop(aid, None)
        except Exception:
            self.metrics.rejected.labels("bad_bus_message").inc()
            log.exception("bad bus message on %s", channel)

    def _upsert_remote(self, rec: list, now: float) -> None:
        aid, name, style, color, role, qx, qy, qh, zone = rec
        a = self.world.avatars.get(aid)
        if a is not None and a.local:
            return  # we own it (resumed here); the other node's view is stale
        if a is None:
            a = Avatar(id=aid, name=name, style=style, color=color, role=Role(role), x=qx / 100, y=qy / 100, heading=qh * 360 / 256, zone=zone, local=False)
            self.world.avatars[aid] = a
            self._meta_dirty.add(aid)
        else:
            if (a.name, a.style, a.color, a.zone) != (name, style, color, zone):
                self._meta_dirty.add(aid)
            a.name, a.style, a.color, a.zone = name, style, color, zone
            a.x, a.y, a.heading = qx / 100, qy / 100, qh * 360 / 256
        self._remote_seen[aid] = now

    async def _on_bus_control(self, channel: str, data: bytes) -> None:
        try:
            m = msgpack.unpackb(data, raw=False)
            if m.get("n") == self.store.node_id:
                return
            aid = m.get("claim")
            a = self.world.avatars.get(aid)
            if a is not None and a.local:
                # Another node resumed this avatar: let go silently (no leave: it is still here).
                c = self.by_avatar.pop(aid, None)
                if c is not None:
                    c.avatar_id = None
                    await self.sio.disconnect(c.sid)
                self.world.remove(aid)
                self._q.pop(aid, None)
                self._upd_rec.pop(aid, None)
                self._away_until.pop(aid, None)
        except Exception:
            log.exception("bad control message")

    # ----------------------------------------------------------------------------------------
    # tick
    # ----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="tick")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _loop(self) -> None:
        period = 1.0 / self.config.tick_hz
        last = time.monotonic()
        next_at = last + period
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            now = time.monotonic()
            dt = min(now - last, 0.5)  # a stalled loop must not turn into a teleport
            last = now
            next_at += period
            if next_at < now:
                next_at = now + period
            t0 = time.perf_counter()
            try:
                await self.run_tick(dt, now)
            except Exception:
                log.exception("tick %s failed", self.tick)
            self.metrics.tick.observe(time.perf_counter() - t0)

    async def run_tick(self, dt: float, now: float) -> None:
        self.tick += 1
        res = self.world.step(dt)
        for aid, _old, new in res.zone_changes:
            self._meta_dirty.add(aid)
            c = self.by_avatar.get(aid)
            if c is not None:
                await self._enter_zone(c, new)
        for rej in res.rejections:
            self.metrics.rejected.labels(rej.code).inc()
            c = self.by_avatar.get(rej.avatar_id)
            if c is not None and now - c.last_blocked > BLOCKED_NOTICE_S:
                c.last_blocked = now
                await self.sio.emit("error", error_payload(ErrorCode(rej.code), "move"), to=c.sid)
        self._expire(now)
        changed = self._quantise_changes()
        await self._publish(changed, now)
        await self._send_snapshots(changed)
        self._meta_dirty.clear()
        self._gone_local.clear()

    def _expire(self, now: float) -> None:
        for aid in [aid for aid, until in self._away_until.items() if until < now]:
            log.info("avatar=%s left after grace period", aid)
            self._remove_avatar(aid)
        for aid in [aid for aid, seen in self._remote_seen.items() if now - seen > REMOTE_TTL_S]:
            self._remote_seen.pop(aid, None)
            a = self.world.avatars.get(aid)
            if a is not None and not a.local:
                self._remove_avatar(aid)

    def _quantise_changes(self) -> set[int]:
        changed: set[int] = set()
        q, rec, pack = self._q, self._upd_rec, UPD.pack
        for aid, a in self.world.avatars.items():
            v = quantise(a.x, a.y, a.heading)
            if q.get(aid) != v:
                q[aid] = v
                rec[aid] = pack(aid, *v)
                changed.add(aid)
        return changed

    def _record(self, a: Avatar) -> list[Any]:
        qx, qy, qh = self._q[a.id]
        return [a.id, a.name, a.style, a.color, a.role.value, qx, qy, qh, a.zone]

    def _pack_upd(self, ids: list[int]) -> bytes:
        # Records are packed once per avatar per tick (_quantise_changes) and joined per view.
        if not ids:
            return b""
        rec = self._upd_rec
        return b"".join([rec[i] for i in ids])

    async def _publish(self, changed: set[int], now: float) -> None:
        """This node's changes, one message per zone per tick (and keyframes every 2 s)."""
        if not self.store.shared:
            return
        keyframe = now - self._last_key >= KEYFRAME_S
        if keyframe:
            self._last_key = now
        per_zone: dict[str, dict[str, list]] = {}
        for aid, a in self.world.avatars.items():
            if not a.local:
                continue
            if keyframe or aid in self._meta_dirty:
                per_zone.setdefault(a.zone, {"add": [], "upd": []})["add"].append(self._record(a))
            elif aid in changed:
                per_zone.setdefault(a.zone, {"add": [], "upd": []})["upd"].append(aid)
        gone = list(self._gone_local)
        try:
            for zone, d in per_zone.items():
                await self.store.publish(ZONE_CHANNEL + zone, msgpack.packb({"n": self.store.node_id, "add": d["add"], "upd": self._pack_upd(d["upd"]), "del": []}))
            if gone:
                await self.store.publish(ZONE_CHANNEL + "_", msgpack.packb({"n": self.store.node_id, "del": gone}))
        except StoreUnavailable:
            self.metrics.rejected.labels("bus_unavailable").inc()

    async def _send_snapshots(self, changed: set[int]) -> None:
        layout = self.world.layout
        avatars = self.world.avatars
        areas: dict[str, list[int]] = {}
        for aid, a in avatars.items():
            z = layout.zones.get(a.zone)
            areas.setdefault(z.area if z else a.zone, []).append(aid)
        members = {area: frozenset(ids) for area, ids in areas.items()}
        shared: dict[str, list[eio_packet.Packet] | None] = {}
        big: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        limit = self.config.view_limit
        sockets = getattr(self.sio.eio, "sockets", {})
        sent = 0
        for c in list(self.clients.values()):
            if c.avatar_id is None:
                continue
            me = avatars.get(c.avatar_id)
            if me is None:
                continue
            z = layout.zones.get(me.zone)
            area = z.area if z else me.zone
            view = members.get(area, frozenset())
            small = len(view) <= limit
            if small and not c.needs_full and c.known == self._area_prev.get(area):
                # Everyone in a small area who is in sync sees the same delta: encode once.
                if area not in shared:
                    shared[area] = self._frame(self._area_prev.get(area, frozenset()), view, changed, full=False)
                pkts = shared[area]
                c.known = view
            else:
                if not small:
                    view = self._nearest(area, areas[area], me, limit, big)
                pkts = self._frame(c.known, view, changed, full=c.needs_full)
                c.known, c.needs_full = view, False
            if pkts:
                await self._enqueue(sockets, c.eio_sid, pkts)
                sent += 1
        self._area_prev = members
        self.metrics.snapshots.inc(sent)

    async def _enqueue(self, sockets: dict, eio_sid: str, pkts: list[eio_packet.Packet]) -> None:
        """Queue packets on the client's engine.io socket. The socket's own writer task sends
        them; putting them on its queue directly skips ``send_packet``'s per-packet coroutine,
        ping check and log call, which at 10 Hz x N clients is a visible share of the tick."""
        sock = sockets.get(eio_sid)
        queue = getattr(sock, "queue", None)
        if queue is None or getattr(sock, "upgrading", False) or getattr(sock, "closed", False):
            for p in pkts:  # unknown internals or a socket mid-upgrade: the public path
                await self.sio.eio.send_packet(eio_sid, p)
            return
        for p in pkts:
            queue.put_nowait(p)

    def _nearest(self, area: str, ids: list[int], me: Avatar, limit: int, cache: dict) -> frozenset[int]:
        if area not in cache:
            arr = np.array(ids, dtype=np.int64)
            pos = np.array([(self.world.avatars[i].x, self.world.avatars[i].y) for i in ids])
            cache[area] = (arr, pos)
        arr, pos = cache[area]
        d = (pos[:, 0] - me.x) ** 2 + (pos[:, 1] - me.y) ** 2
        idx = np.argpartition(d, limit - 1)[:limit]
        return frozenset(arr[idx].tolist()) | {me.id}

    def _frame(self, known: frozenset[int], view: frozenset[int], changed: set[int], full: bool) -> list[eio_packet.Packet] | None:
        avatars = self.world.avatars
        if full:
            add_ids, upd_ids, dels = list(view), [], []
        else:
            add_ids = [i for i in view if i not in known or i in self._meta_dirty]
            dels = [i for i in known if i not in view]
            upd_ids = [i for i in view if i in changed and i in known and i not in self._meta_dirty] if changed else []
        if not (full or add_ids or upd_ids or dels):
            return None  # nothing changed: nothing sent
        frame = encode_snapshot(self.tick, full, [self._record(avatars[i]) for i in add_ids], self._pack_upd(upd_ids), dels)
        # A socket.io binary event is a constant placeholder text frame plus the bytes; building
        # it by hand skips Packet.encode's generic walk (~4x the cost of msgpack itself).
        return [SNAP_HEADER, eio_packet.Packet(eio_packet.MESSAGE, frame)]

    # ----------------------------------------------------------------------------------------
    # shutdown
    # ----------------------------------------------------------------------------------------
    async def drain(self) -> None:
        """SIGTERM: tell clients, save every session so they resume (here after a restart or on
        another node), then let go of the sockets."""
        self.draining = True
        await self.sio.emit("notice", {"kind": "draining", "retry_after_s": 2})
        for c in list(self.clients.values()):
            a = self.world.avatars.get(c.avatar_id) if c.avatar_id is not None else None
            if a is not None:
                await self._save_session(c, a)
        for c in list(self.clients.values()):
            try:
                await self.sio.disconnect(c.sid)
            except Exception:
                pass

