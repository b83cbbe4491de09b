"""Socket handlers only: connect, disconnect, join, move, chat, appearance, leave, unknown.

Each handler validates its payload against the protocol (``parse``), asks the policy where a
decision is needed, and turns the event into a world intent; errors go back as ``error``
{code, message, event} with a log line of ids, never a crash. Identity comes from the injected
``authenticate(environ, auth) -> Principal`` (the session cookie, in the real server), never from
a client field. The state the handlers touch (clients, avatars, rooms) is the hub's.
"""

from __future__ import annotations

import logging
from collections import Counter
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgpack
import socketio

from yakuba.server.auth.identity import socket_address
from yakuba.server.auth.policy import Action, ZoneResource, decide
from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.protocol import CHAT_MAX, PROTOCOL_VERSION, AppearanceIn, ChatIn, ErrorCode, JoinIn, MoveIn, ProtocolError, error_payload, parse
from yakuba.server.realtime.limits import TokenBucket
from yakuba.server.realtime.replication import pack_chat, pack_claim, zone_channel
from yakuba.server.realtime.sync import ViewState
from yakuba.server.store.base import CONTROL_CHANNEL, StoreUnavailable
from yakuba.world.interest import area_of
from yakuba.world.state import Avatar

if TYPE_CHECKING:
    from yakuba.server.realtime.hub import Hub

log = logging.getLogger("yakuba.realtime")

REFUSALS_BURST = 100  # refusals in quick succession before a connection is closed (1/s refills)
LOG_FIRST = 5  # refusals logged one by one per connection; then one summary line per LOG_EVERY
LOG_EVERY = 100

Authenticate = Callable[[dict, Any], Awaitable[Principal]]


async def anonymous(environ: dict, auth: Any) -> Principal:
    """The default identity: an anonymous resident (the login engineer's replaces it)."""
    return resident()


@dataclass
class Client:
    sid: str
    eio_sid: str
    principal: Principal
    avatar_id: int | None = None
    token: str | None = None  # resume token of its avatar's session record
    lang: str = "ja"
    view: ViewState = field(default_factory=ViewState)
    zone: str | None = None
    ended: bool = False  # its session was revoked: the avatar goes, no grace period
    events: TokenBucket = field(default_factory=lambda: TokenBucket(30, 60))
    chats: TokenBucket = field(default_factory=lambda: TokenBucket(1, 5))
    # Path searches for clicked points (a few ms each): a budget per client, so a flood of
    # clicks cannot stall the tick; straight walks need none.
    routes: TokenBucket = field(default_factory=lambda: TokenBucket(1, 5))
    # Refusals a connection may earn: a steady trickle of mistakes is fine, a flood of bad
    # frames closes the socket (REFUSALS_BURST within a short time).
    refusal_budget: TokenBucket = field(default_factory=lambda: TokenBucket(1, REFUSALS_BURST))
    refusals: int = 0
    connected_at: float = 0.0  # hub clock; a socket that never joins is closed (Hub._drop_idle)
    address: str = "-"
    last_blocked: float = -1e9
    watching: bool = False  # a spectator of the hall (no avatar; `hall.watch`): not closed as idle


def stamp(a: Avatar, p: Principal) -> None:
    """The avatar carries its owner's server-issued salon identity (to other nodes as well)."""
    a.verified, a.municipality = p.is_verified_staff, p.municipality if p.is_staff else None
    a.staff = p.staff_id if p.is_verified_staff else None
    a.card = p.card() if p.is_verified_staff else None


def session_owner(p: Principal) -> str:
    """Who may resume an avatar: an anonymous resident's token is its only credential (any
    resident connection holding it resumes); a signed-in principal's avatar only by itself."""
    if p.kind is Kind.RESIDENT and p.staff_id is None:
        return "resident"
    return p.key


class Gateway:
    def __init__(self, hub: "Hub", authenticate: Authenticate | None = None) -> None:
        self.hub = hub
        self.sio: socketio.AsyncServer = hub.sio
        self.authenticate: Authenticate = authenticate or anonymous
        self.per_address: Counter[str] = Counter()  # open sockets per client address (the cap)
        # Abuse limits (issue #15): new avatars per address (token buckets, pruned once refilled)
        # and per node; each address's avatars in their grace period, oldest first -> token.
        cfg = hub.config
        self.joins: dict[str, TokenBucket] = {}
        self._joins_prune_at = 1024
        self.new_avatars = TokenBucket(cfg.new_avatars_per_s, cfg.new_avatars_per_s * 5, hub.clock.now())
        self.away_of: dict[str, dict[int, str | None]] = {}
        self._register()

    def _register(self) -> None:
        sio = self.sio
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        for event, fn in (("join", self.on_join), ("move", self.on_move), ("chat", self.on_chat), ("appearance", self.on_appearance), ("leave", self.on_leave)):
            sio.on(event, self._guard(event, fn))
        sio.on("*", self.on_unknown)
        if hasattr(sio, "on_reserved"):  # GuardedServer: client-sent `connect`/`disconnect` refused
            sio.on_reserved = self.on_reserved
        if hasattr(sio, "on_bad_packet"):  # GuardedServer: attachment bombs, undecodable packets
            sio.on_bad_packet = self.on_bad_packet
            cfg = self.hub.config
            sio.max_attachments, sio.max_attachment_bytes = cfg.max_attachments, cfg.max_attachment_bytes
            # engine.io sockets before their socket.io connect: the same caps and timeout
            sio.max_unconnected, sio.max_unconnected_per_address, sio.connect_timeout_s = cfg.max_connections, cfg.max_per_address, cfg.join_timeout_s

    # -- connection -------------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> bool:
        hub = self.hub
        if hub.draining:
            return False
        try:
            principal = await self.authenticate(environ, auth)
        except (ConnectionRefusedError, socketio.exceptions.ConnectionRefusedError):
            hub.metrics.rejected.labels("auth_refused").inc()
            log.warning("connect sid=%s refused by authentication", sid)
            return False
        except Exception:
            hub.metrics.rejected.labels("auth_failed").inc()
            log.exception("connect sid=%s: authentication failed", sid)
            return False
        if principal.client_key is None and principal.kind is Kind.RESIDENT:
            principal = resident(sid)
        address = socket_address(environ)
        cfg = hub.config
        if len(hub.clients) >= cfg.max_connections or self.per_address[address] >= cfg.max_per_address:
            hub.metrics.rejected.labels("too_many_connections").inc()
            log.warning("connect sid=%s refused: connection cap reached", sid)
            return False
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        hub.clients[sid] = Client(sid=sid, eio_sid=eio_sid, principal=principal, connected_at=hub.clock.now(), address=address)
        self.per_address[address] += 1
        hub.metrics.clients.set(len(hub.clients))
        log.info("connect sid=%s principal=%s", sid, principal.key)
        return True

    async def on_disconnect(self, sid: str, *args: Any) -> None:
        hub = self.hub
        c = hub.clients.pop(sid, None)
        if c is not None:
            self.per_address[c.address] -= 1
            if self.per_address[c.address] <= 0:
                del self.per_address[c.address]
        hub.metrics.clients.set(len(hub.clients))
        if c is None:
            return
        await self.exit_zone(c, connected=False)
        if c.avatar_id is None or c.ended:
            return
        hub.by_avatar.pop(c.avatar_id, None)
        a = hub.world.avatars.get(c.avatar_id)
        if a is None:
            return
        # Keep the avatar, idle, for the grace period so a reconnect (here or on another node)
        # resumes it; the session record carries it across nodes.
        hub.world.stop(a.id)
        a.away = True
        hub.meta_dirty.add(a.id)  # viewers get its record again, now marked away
        hub.away_until[a.id] = hub.clock.now() + hub.config.grace_s
        await self.save_session(c, a)
        await self._cap_away(c.address, a.id, c.token)

    async def _cap_away(self, address: str, aid: int, token: str | None) -> None:
        """At most max_away_per_address avatars of one address in their grace period: beyond it
        the oldest leaves at once, its session with it (connect-join-drop cycles leave no crowd)."""
        hub = self.hub
        away = self.away_of.setdefault(address, {})
        away.pop(aid, None)  # a resumed avatar that drops again is the newest
        away[aid] = token
        for old in [k for k in away if k not in hub.away_until]:  # resumed or gone since
            del away[old]
        while len(away) > hub.config.max_away_per_address:
            old, tok = next(iter(away.items()))
            del away[old]
            hub.metrics.rejected.labels("away_cap").inc()
            log.info("avatar=%s left: over %d away avatars from its address", old, hub.config.max_away_per_address)
            hub.remove_avatar(old)
            if tok:
                try:
                    await hub.store.delete_session(tok)
                except StoreUnavailable:
                    pass
        if len(self.away_of) > 2 * len(hub.away_until) + 1024:  # addresses whose avatars all went
            self.away_of = {k: v for k, v in self.away_of.items() if any(i in hub.away_until for i in v)}

    def _admit_new_avatar(self, c: Client) -> None:
        """A new avatar (not a resume) within its address's join rate and the node's."""
        cfg, now = self.hub.config, self.hub.clock.now()
        b = self.joins.get(c.address)
        if b is None:
            if len(self.joins) >= self._joins_prune_at:
                self.joins = {k: v for k, v in self.joins.items() if not v.full(now)}
                self._joins_prune_at = max(1024, 2 * len(self.joins))
            b = self.joins[c.address] = TokenBucket(cfg.join_rate, cfg.join_burst, now)
        if not b.take(now=now):
            raise ProtocolError(ErrorCode.RATE_LIMITED, "too many new visitors from this network: try again shortly")
        if not self.new_avatars.take(now=now):
            b.tokens += 1  # not this address's fault
            raise ProtocolError(ErrorCode.RATE_LIMITED, "many visitors are arriving: try again shortly")

    def _guard(self, event: str, fn: Callable[[Client, Any], Awaitable[Any]], joined: bool = True):
        """Rate limit, schema, and (unless ``joined`` is False) an avatar first."""
        async def handler(sid: str, data: Any = None) -> Any:
            self.hub.metrics.events.labels(event).inc()
            c = self.hub.clients.get(sid)
            if c is None:
                return None
            try:
                if not c.events.take():
                    raise ProtocolError(ErrorCode.RATE_LIMITED)
                msg = parse(event, data)
                if joined and event != "join" and c.avatar_id is None:
                    raise ProtocolError(ErrorCode.NOT_JOINED)
                return await fn(c, msg)
            except ProtocolError as e:
                return await self.reject(c, event, e.code, e.message)
            except Exception:
                log.exception("handler %s failed sid=%s", event, sid)
                return await self.reject(c, event, ErrorCode.INTERNAL)

        return handler

    async def reject(self, c: Client, event: str, code: ErrorCode, message: str | None = None) -> dict:
        """The refusal as an `error` event and a log line, bounded per connection: the first
        LOG_FIRST refusals are logged one by one, then one summary line per LOG_EVERY; once the
        connection has spent its refusal budget it is closed (a flood of bad frames)."""
        self.hub.metrics.rejected.labels(code.value).inc()
        if self.hub.salon is not None:
            self.hub.salon.refused(c, event, code.value)
        c.refusals += 1
        payload = error_payload(code, event, message)
        if c.refusals <= LOG_FIRST:
            log.info("rejected event=%r code=%s sid=%s", event, code.value, c.sid)  # %r: no forged log lines
        elif c.refusals % LOG_EVERY == 0:
            log.info("rejected sid=%s: %d refusals so far (last code=%s)", c.sid, c.refusals, code.value)
        if not c.refusal_budget.take():
            await self._close_flooder(c)
            return {"ok": False, "error": payload}
        await self.sio.emit("error", payload, to=c.sid)
        return {"ok": False, "error": payload}

    async def _close_flooder(self, c: Client) -> None:
        if c.ended:
            return
        c.ended = True
        self.hub.metrics.rejected.labels("flood_closed").inc()
        log.warning("closed sid=%s after %d refusals (flood)", c.sid, c.refusals)
        await self.sio.disconnect(c.sid)

    async def on_unknown(self, event: str, sid: str, *args: Any) -> None:
        c = self.hub.clients.get(sid)
        self.hub.metrics.events.labels("unknown").inc()
        if c is not None:
            await self.reject(c, str(event)[:40], ErrorCode.UNKNOWN_EVENT)

    async def on_bad_packet(self, sid: str | None, code: str, reason: str) -> None:
        c = self.hub.clients.get(sid) if sid is not None else None
        self.hub.metrics.events.labels("bad_packet").inc()
        if c is None:  # before the socket.io connect: the server closes the socket, no reply
            self.hub.metrics.rejected.labels(code if code in ("too_many_connections", "join_timeout") else "bad_packet_closed").inc()
            return
        await self.reject(c, "packet", ErrorCode(code), reason)

    async def on_reserved(self, sid: str, event: str) -> None:
        c = self.hub.clients.get(sid)
        self.hub.metrics.events.labels("reserved").inc()
        if c is not None:
            await self.reject(c, event[:40], ErrorCode.UNKNOWN_EVENT, "reserved event name: a client may not send it")

    # -- join / resume ----------------------------------------------------------------------
    async def on_join(self, c: Client, msg: JoinIn) -> dict:
        hub, world = self.hub, self.hub.world
        if hub.draining:
            raise ProtocolError(ErrorCode.SERVER_DRAINING)
        if c.avatar_id is not None:
            raise ProtocolError(ErrorCode.ALREADY_JOINED)
        a = await self._resume(c, msg.resume) if msg.resume else None
        if a is not None and hub.consult.on_resume(a):  # its record is inside a locked booth
            await self.sio.emit("error", error_payload(ErrorCode.BOOTH_LOCKED, "join"), to=c.sid)
        if a is None:
            self._admit_new_avatar(c)  # join rates per address and per node (not for a resume)
            aid = hub.store.allocate_id(world.avatars.__contains__)  # this node's slot: no store round trip
            x, y, h = world.spawn_point()
            zone = world.layout.zone_at(x, y)
            a = Avatar(id=aid, name=msg.name or f"来庁者{aid % 1000:03d}", style=msg.style or "round", color=msg.color or "#2b6cb0", role=c.principal.world_role, x=x, y=y, heading=h, zone=zone.id if zone else "entrance")
            world.add(a)
            c.token = secrets.token_urlsafe(24)
        stamp(a, c.principal)
        c.avatar_id = a.id
        c.lang = msg.lang or c.lang
        c.view.reset()
        hub.by_avatar[a.id] = c
        hub.meta_dirty.add(a.id)
        await self.enter_zone(c, a.zone)
        await self.save_session(c, a)
        log.info("join avatar=%s sid=%s resumed=%s", a.id, c.sid, bool(msg.resume))
        return {"ok": True, "id": a.id, "token": c.token, "zone": a.zone, "role": a.role.value, "x": a.x, "y": a.y, "heading": a.heading, "tick_hz": hub.config.tick_hz, "principal": c.principal.public(), "protocol": PROTOCOL_VERSION}

    async def _resume(self, c: Client, token: str) -> Avatar | None:
        hub = self.hub
        try:
            raw = await hub.store.get_session(token)
        except StoreUnavailable:
            raw = None
        if raw is None:
            return None
        rec = msgpack.unpackb(raw)
        if rec.get("owner") != session_owner(c.principal) or rec.get("role") != c.principal.world_role.value:
            log.info("resume refused avatar=%s sid=%s: another principal", rec.get("id"), c.sid)
            return None  # a token never moves an avatar between principals
        aid = rec["id"]
        old = hub.by_avatar.get(aid)
        if old is not None and old.sid != c.sid:
            # The same avatar is still attached here: the newer connection wins.
            old.avatar_id = None
            hub.by_avatar.pop(aid, None)
            await self.sio.disconnect(old.sid)
        a = hub.world.avatars.get(aid)
        if a is None or not a.local:
            a = Avatar(id=aid, name=rec["name"], style=rec["style"], color=rec["color"], role=c.principal.world_role, x=rec["x"], y=rec["y"], heading=rec["h"], zone=rec["zone"])
            hub.world.avatars[aid] = a
            hub.replicator.remote_seen.pop(aid, None)
            try:  # tell the node that held it to let go
                await hub.store.publish(CONTROL_CHANNEL, pack_claim(hub.store.node_id, aid))
            except StoreUnavailable:
                pass
        a.away = False
        hub.away_until.pop(aid, None)
        c.token = token
        return a

    @staticmethod
    def session_record(c: Client, a: Avatar) -> bytes:
        """What a resume needs: the avatar as it stands, and who may take it back."""
        rec = {"id": a.id, "name": a.name, "style": a.style, "color": a.color, "role": a.role.value, "owner": session_owner(c.principal), "x": a.x, "y": a.y, "h": a.heading, "zone": a.zone}
        return msgpack.packb(rec)

    async def save_session(self, c: Client, a: Avatar) -> None:
        if c.token is None:
            return
        try:
            await self.hub.store.put_session(c.token, self.session_record(c, a), self.hub.config.grace_s, a.id)
            self.hub.saved_at[a.id] = self.hub.clock.now()
        except StoreUnavailable:
            log.warning("session not saved avatar=%s: store unavailable", a.id)

    # -- zones and rooms --------------------------------------------------------------------
    async def enter_zone(self, c: Client, zone: str) -> None:
        """Move the client's subscriptions to ``zone``: socket room (chat), bus channels of its
        area (replication) and the zone's room (its state now, its patches from now on)."""
        if c.zone == zone:
            return
        hub = self.hub
        if hub.salon is not None and c.avatar_id is not None and not await hub.salon.admit(c, zone):
            # Refused by the salon's policy on the owning node (a resumed record inside, a rule
            # that changed): the avatar is put back at the entrance, never joined to the room.
            a = hub.world.avatars[c.avatar_id]
            a.x, a.y, a.heading = hub.world.spawn_point()
            a.path, a.vx, a.vy = [], 0.0, 0.0
            back = hub.world.layout.zone_at(a.x, a.y)
            a.zone = back.id if back else "entrance"
            hub.meta_dirty.add(a.id)
            zone = a.zone
            if c.zone == zone:
                return
        old = c.zone
        if old is not None:
            await self.sio.leave_room(c.sid, "zone:" + old)
        await self.sio.enter_room(c.sid, "zone:" + zone)
        c.zone = zone
        old_area, new_area = (area_of(hub.world.layout, old) if old else None), area_of(hub.world.layout, zone)
        if old_area != new_area:
            await hub.replicator.watch(new_area)
            if old_area is not None:
                await hub.replicator.unwatch(old_area)
        await self.sio.emit("zone", {"zone": zone}, to=c.sid)
        room = hub.rooms.move(c.avatar_id, old, zone) if c.avatar_id is not None else None
        if room is not None:
            await self.sio.emit("room", room.snapshot(), to=c.sid)

    async def exit_zone(self, c: Client, connected: bool = True) -> None:
        if c.zone is None:
            return
        hub = self.hub
        if connected:
            await self.sio.leave_room(c.sid, "zone:" + c.zone)
        await hub.replicator.unwatch(area_of(hub.world.layout, c.zone))
        if c.avatar_id is not None:
            hub.rooms.move(c.avatar_id, c.zone, None)
        c.zone = None

    # -- intents ----------------------------------------------------------------------------
    async def on_move(self, c: Client, msg: MoveIn) -> None:
        kind = msg.kind()
        aid = c.avatar_id
        assert aid is not None
        world = self.hub.world
        reason: str | None = None
        if kind == "velocity":
            if world.set_velocity(aid, float(msg.vx), float(msg.vy)):  # type: ignore[arg-type]
                self.hub.metrics.rejected.labels("speed_clamped").inc()
        elif kind == "stop":
            world.stop(aid)
        elif kind == "target":
            reason = world.set_target(aid, float(msg.target[0]), float(msg.target[1]), route=c.routes.take())  # type: ignore[index]
        else:
            reason = world.set_goto(aid, msg.goto)  # type: ignore[arg-type]
        if reason:
            raise ProtocolError(ErrorCode(reason))
        return None

    async def on_chat(self, c: Client, msg: ChatIn) -> None:
        hub = self.hub
        text = msg.text.strip()
        if len(text) > CHAT_MAX:
            raise ProtocolError(ErrorCode.TOO_LONG)
        if not text:
            raise ProtocolError(ErrorCode.INVALID_PAYLOAD, "empty message")
        a = hub.world.avatars[c.avatar_id]  # type: ignore[index]
        zone = hub.world.layout.zones.get(a.zone)
        if zone is not None:
            d = decide(c.principal, Action.CHAT, ZoneResource(zone, a.id, hub.world.booths.get(zone.id), held_by=hub.world.salon_locks.get(zone.id)))
            if not d:
                raise ProtocolError(ErrorCode(d.code or "zone_forbidden"))
        if not c.chats.take():
            raise ProtocolError(ErrorCode.RATE_LIMITED)
        filtered = hub.filter.apply(text)
        if filtered is None:
            raise ProtocolError(ErrorCode.FILTERED)
        # Chat content is delivered and forgotten: never stored, never logged (ids only).
        out = {"id": a.id, "name": a.name, "text": filtered, "zone": a.zone, "ts": time.time()}
        if zone is not None and zone.access == "salon":
            # in the salon the speaker is shown as the server issued them (never a client field)
            out["card"] = {k: v for k, v in a.card.items() if k != "hidden"} if a.card else None
        await hub.deliver_chat(out, (a.x, a.y))
        log.debug("chat avatar=%s zone=%s", a.id, a.zone)
        if hub.store.shared:
            try:
                await hub.store.publish(zone_channel(a.zone), pack_chat(hub.store.node_id, out, (a.x, a.y)))
            except StoreUnavailable:
                pass

    async def on_appearance(self, c: Client, msg: AppearanceIn) -> None:
        a = self.hub.world.avatars[c.avatar_id]  # type: ignore[index]
        a.style = msg.style or a.style
        a.color = msg.color or a.color
        self.hub.meta_dirty.add(a.id)

    async def on_leave(self, c: Client, msg: Any) -> dict:
        await self.release(c)
        return {"ok": True}

    async def release(self, c: Client) -> None:
        """The client's avatar goes at once (no grace period) and its resume session with it:
        a `leave`, or a revoked session (Hub.revoke)."""
        hub = self.hub
        await self.exit_zone(c)
        aid = c.avatar_id
        c.avatar_id = None
        if aid is not None:
            hub.by_avatar.pop(aid, None)
            hub.remove_avatar(aid)
            if c.token:
                try:
                    await hub.store.delete_session(c.token)
                except StoreUnavailable:
                    pass
        c.view.reset()


__all__ = ["Authenticate", "Client", "Gateway", "anonymous", "session_owner", "stamp"]
