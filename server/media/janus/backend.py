"""The Janus VideoRoom backend: yakuba speaks Janus's API for the browser, media flows between
the browser and Janus directly.

Per peer (publication or subscription) yakuba makes a token through the Admin API
(``add_token``, VideoRoom only), a Janus session with that token, and one VideoRoom handle:

- ``publish``: the VideoRoom room is created on demand (private, with yakuba's room secret, its
  ``allowed`` token list kept to the room's live peers), then ``join`` as publisher and
  ``configure`` with the offer; Janus's answer goes back to the browser.
- ``subscribe``: ``join`` as subscriber to the publisher's feed; Janus's offer goes back.
- ``answer``: ``start`` with the browser's answer. ``add_ice``: ``trickle``.
- ``close_peer``: a publisher is first kicked with the room secret (Janus stops forwarding at
  once), its subscriptions are ended with it; then the session is destroyed (Janus detaches the
  handle and hangs up), the token removed from the room's list and from Janus. The last peer
  out destroys the room.

Janus forgets a session after 60 s without a request: a keep-alive task touches every session.
Each session's long poll reports ``hangup`` / ``detached`` / session timeout: a peer that ends
by itself (the browser closed it, ICE or DTLS failed) is closed here and reported through
``on_peer_closed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field

from ..backend import BackendStats, MediaBackend, MediaError, PeerStats
from .client import SESSION_NOT_FOUND, UNAUTHORIZED, VIDEOROOM, JanusClient, JanusError, JanusHandle, JanusSession

log = logging.getLogger(__name__)

# Wire codes (server/protocol ErrorCode values; strings here so that this module stays free of
# the protocol package's imports).
MEDIA_FAILED = "media_failed"
MEDIA_UNAVAILABLE = "media_unavailable"
UNKNOWN_STREAM = "unknown_stream"
MEDIA_LIMIT = "media_limit"

# VideoRoom error codes (janus_videoroom.c).
ROOM_EXISTS = 427
NO_SUCH_ROOM = 426
NO_SUCH_FEED = 428
PUBLISHERS_FULL = 432


@dataclass
class _Room:
    id: str  # yakuba's
    janus_id: int
    peers: set[str] = field(default_factory=set)  # peer ids whose tokens are in ``allowed``
    created: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _Peer:
    id: str
    role: str  # "publisher" | "subscriber"
    room: str
    token: str
    session: JanusSession | None = None
    handle: JanusHandle | None = None
    feed: int | None = None  # publisher: its VideoRoom id; subscriber: the feed it watches
    pub: str | None = None  # subscriber: its publisher's peer id
    kinds: tuple[str, ...] = ()
    subscribers: set[str] = field(default_factory=set)  # publisher: its subscriptions
    closing: bool = False
    # Janus's webrtcup: a publisher's feed takes subscribers only once its PeerConnection is up.
    up: asyncio.Event = field(default_factory=asyncio.Event)
    stats: PeerStats | None = None
    _last: tuple[int, int] | None = None  # (packets, lost) at the previous stats poll


def _kinds(sdp: str) -> tuple[str, ...]:
    found = re.findall(r"^m=(audio|video)\s", sdp, re.M)
    return tuple(k for k in ("audio", "video") if k in found)


class JanusBackend(MediaBackend):
    name = "janus"

    def __init__(self, api_url: str, admin_url: str | None, admin_secret: str | None, room_secret: str | None = None, *,
                 max_publishers: int = 16, videocodec: str = "vp8", audiocodec: str = "opus",
                 bitrate: int | None = None, keepalive_interval: float = 25.0, stats_interval: float = 5.0,
                 request_timeout: float = 10.0, negotiation_timeout: float = 15.0) -> None:
        super().__init__()
        # A fresh random secret per server start unless configured: rooms left in Janus by an
        # earlier run are neither reused nor editable by anyone else.
        self.room_secret = room_secret or secrets.token_urlsafe(24)
        self.client = JanusClient(api_url, admin_url, admin_secret, request_timeout=request_timeout)
        self.max_publishers = max_publishers
        self.videocodec = videocodec
        self.audiocodec = audiocodec
        self.bitrate = bitrate
        self.keepalive_interval = keepalive_interval
        self.stats_interval = stats_interval
        self.negotiation_timeout = negotiation_timeout
        self._peers: dict[str, _Peer] = {}
        self._rooms: dict[str, _Room] = {}
        self._by_session: dict[int, str] = {}  # Janus session id -> peer id
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.client.start()
        try:
            info = await self.client.info()
            if VIDEOROOM not in (info.get("plugins") or {}):
                raise JanusError(0, "no VideoRoom plugin loaded")
            await self.client.list_tokens()  # the Admin API answers and takes our secret
        except JanusError as e:
            await self.client.close()
            raise MediaError(MEDIA_UNAVAILABLE, f"Janus not usable: {e}") from e
        if not info.get("auth_token"):
            log.warning("janus: token_auth is off; anyone who reaches Janus's API can use it")
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._keepalives(), name="janus-keepalive"),
                       loop.create_task(self._stats_loop(), name="janus-stats")]
        self._started = True

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        pubs = [p for p, peer in self._peers.items() if peer.role == "publisher"]
        await asyncio.gather(*(self.close_peer(p) for p in pubs), return_exceptions=True)
        await asyncio.gather(*(self.close_peer(p) for p in list(self._peers)), return_exceptions=True)
        # Hangups being handled finish their teardown (bounded) before the HTTP client goes.
        if self._background:
            await asyncio.wait(list(self._background), timeout=5)
        for t in list(self._background):
            t.cancel()
        await self.client.close()
        self._started = False

    def _require_started(self) -> None:
        if not self._started:
            raise MediaError(MEDIA_UNAVAILABLE, "the Janus backend is not started")

    # --- the contract --------------------------------------------------------------------------

    async def publish(self, room: str, pub: str, offer_sdp: str, ice_servers: list[dict] | None = None) -> str:
        self._require_started()
        if pub in self._peers:
            raise MediaError(MEDIA_FAILED, "peer id in use")
        peer = self._peers[pub] = _Peer(pub, "publisher", room, secrets.token_urlsafe(24), kinds=_kinds(offer_sdp))
        try:
            r = await self._open(peer)
            data, _ = await peer.handle.message(
                {"request": "join", "ptype": "publisher", "room": r.janus_id, "pin": self._pin(room),
                 "token": peer.token, "display": pub},
                timeout=self.negotiation_timeout)
            peer.feed = int(data["id"])
            data, jsep = await peer.handle.message({"request": "configure", "audio": True, "video": True},
                                                   jsep={"type": "offer", "sdp": offer_sdp},
                                                   timeout=self.negotiation_timeout)
            if not jsep or jsep.get("type") != "answer":
                raise JanusError(0, f"configure gave no answer: {data}")
            return jsep["sdp"]
        except (JanusError, KeyError, ValueError, TypeError) as e:
            await self._discard(peer)
            code = MEDIA_LIMIT if isinstance(e, JanusError) and e.code == PUBLISHERS_FULL else MEDIA_FAILED
            raise MediaError(code, f"janus publish: {e}") from e
        except BaseException:
            await self._discard(peer)
            raise

    async def subscribe(self, room: str, sub: str, pub: str, ice_servers: list[dict] | None = None) -> str:
        self._require_started()
        p = self._peers.get(pub)
        if p is None or p.role != "publisher" or p.room != room or p.closing or p.feed is None:
            raise MediaError(UNKNOWN_STREAM, "no such stream in this room")
        if sub in self._peers:
            raise MediaError(MEDIA_FAILED, "peer id in use")
        if not p.up.is_set():
            # Janus answers "no such feed" until the publisher's PeerConnection is up; the
            # service may ask as soon as the publisher has its answer.
            try:
                await asyncio.wait_for(p.up.wait(), self.negotiation_timeout)
            except asyncio.TimeoutError:
                raise MediaError(MEDIA_FAILED, "the publisher's connection did not come up") from None
            if p.closing or pub not in self._peers:
                raise MediaError(UNKNOWN_STREAM, "no such stream in this room")
        peer = self._peers[sub] = _Peer(sub, "subscriber", room, secrets.token_urlsafe(24), feed=p.feed, pub=pub,
                                        kinds=p.kinds)
        p.subscribers.add(sub)
        try:
            r = await self._open(peer)
            data, jsep = await peer.handle.message(
                {"request": "join", "ptype": "subscriber", "room": r.janus_id, "pin": self._pin(room),
                 "token": peer.token, "streams": [{"feed": p.feed}]},
                timeout=self.negotiation_timeout)
            if not jsep or jsep.get("type") != "offer":
                raise JanusError(0, f"subscribe gave no offer: {data}")
            if pub not in self._peers:  # the publisher ended while we negotiated
                raise JanusError(NO_SUCH_FEED, "publisher gone")
            return jsep["sdp"]
        except (JanusError, KeyError, ValueError, TypeError) as e:
            await self._discard(peer)
            code = UNKNOWN_STREAM if isinstance(e, JanusError) and e.code == NO_SUCH_FEED else MEDIA_FAILED
            raise MediaError(code, f"janus subscribe: {e}") from e
        except BaseException:
            await self._discard(peer)
            raise

    async def answer(self, sub: str, answer_sdp: str) -> None:
        self._require_started()
        peer = self._peers.get(sub)
        if peer is None or peer.role != "subscriber" or peer.handle is None or peer.closing:
            raise MediaError(UNKNOWN_STREAM, "no such subscription")
        try:
            await peer.handle.message({"request": "start"}, jsep={"type": "answer", "sdp": answer_sdp},
                                      timeout=self.negotiation_timeout)
        except JanusError as e:
            raise MediaError(MEDIA_FAILED, f"janus start: {e}") from e

    async def add_ice(self, peer: str, candidate: dict | None) -> None:
        p = self._peers.get(peer)
        if p is None or p.handle is None or p.closing:
            return
        if candidate is not None:
            candidate = {k: candidate[k] for k in ("candidate", "sdpMid", "sdpMLineIndex") if k in candidate}
            if not candidate.get("candidate"):  # the browser's empty candidate: end of candidates
                candidate = None
        try:
            await p.handle.trickle(candidate)
        except JanusError as e:
            raise MediaError(MEDIA_FAILED, f"janus trickle: {e}") from e

    async def close_peer(self, peer: str) -> None:
        await self._end(peer, notify=False)

    def stats(self) -> BackendStats:
        s = BackendStats()
        for p in self._peers.values():
            if p.closing or p.feed is None:
                continue
            if p.role == "publisher":
                s.publishers += 1
            else:
                s.subscribers += 1
            s.peers.append(p.stats or PeerStats(peer=p.id, role=p.role, room=p.room, kinds=p.kinds))
        return s

    # --- peers ---------------------------------------------------------------------------------

    async def _open(self, peer: _Peer) -> _Room:
        """Token, session, handle, and the room (created or its ``allowed`` list extended)."""
        await self.client.add_token(peer.token)
        peer.session = await self.client.create_session(peer.token, self._on_event)
        self._by_session[peer.session.id] = peer.id
        peer.handle = await peer.session.attach(VIDEOROOM)
        return await self._admit(peer)

    async def _admit(self, peer: _Peer) -> _Room:
        r = self._rooms.get(peer.room)
        if r is None:
            r = self._rooms[peer.room] = _Room(peer.room, self._janus_room_id(peer.room))
        async with r.lock:
            if not r.created:
                try:
                    await peer.handle.message(self._create_request(r, [peer.token]))
                except JanusError as e:
                    if e.code != ROOM_EXISTS:
                        raise
                    # Ours from an earlier start with the same configured secret: take it over.
                    await self._allowed(peer.handle, r, "add", [peer.token])
                r.created = True
            else:
                await self._allowed(peer.handle, r, "add", [peer.token])
            r.peers.add(peer.id)
        return r

    def _pin(self, room: str) -> str:
        # Janus checks ``allowed`` tokens for publishers only; the PIN guards subscriber joins
        # too. Derived like the id, never leaves yakuba.
        return hmac.new(self.room_secret.encode(), b"pin:" + room.encode(), hashlib.sha256).hexdigest()[:32]

    def _janus_room_id(self, room: str) -> int:
        # Derived from yakuba's room id and the room secret: stable for this server's lifetime,
        # not guessable, and below 2**53 (Janus's ids must survive JavaScript numbers).
        digest = hmac.new(self.room_secret.encode(), room.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:7], "big") & ((1 << 52) - 1) or 1

    def _create_request(self, r: _Room, allowed: list[str]) -> dict:
        body = {"request": "create", "room": r.janus_id, "permanent": False, "description": f"yakuba:{r.id}",
                "secret": self.room_secret, "pin": self._pin(r.id), "is_private": True, "allowed": allowed,
                "publishers": self.max_publishers, "videocodec": self.videocodec, "audiocodec": self.audiocodec,
                "notify_joining": False}
        if self.bitrate:
            body["bitrate"] = self.bitrate
        return body

    async def _allowed(self, handle: JanusHandle, r: _Room, action: str, tokens: list[str]) -> None:
        await handle.message({"request": "allowed", "room": r.janus_id, "secret": self.room_secret,
                              "action": action, "allowed": tokens})

    async def _end(self, peer_id: str, notify: bool) -> None:
        """Close one peer (a publisher with its subscriptions); ``notify``: it ended by itself and
        the service must hear of it."""
        p = self._peers.get(peer_id)
        if p is None or p.closing:
            return
        p.closing = True
        if p.role == "publisher":
            # Kick first: Janus drops the publisher's PeerConnection and stops forwarding now.
            if p.handle is not None and p.feed is not None:
                r = self._rooms.get(p.room)
                if r is not None:
                    with contextlib.suppress(JanusError):
                        await p.handle.message({"request": "kick", "room": r.janus_id, "secret": self.room_secret,
                                                "id": p.feed})
            # Its subscriptions end with it, untold: the service ends them from the publisher.
            subs = [s for s in p.subscribers if s in self._peers]
            await asyncio.gather(*(self._end(s, False) for s in subs), return_exceptions=True)
        elif p.pub is not None and p.pub in self._peers:
            self._peers[p.pub].subscribers.discard(p.id)
        await self._discard(p)
        if notify and self.on_peer_closed is not None:
            try:
                await self.on_peer_closed(peer_id)
            except Exception:
                log.exception("janus: on_peer_closed(%s) failed", peer_id)

    async def _discard(self, p: _Peer) -> None:
        """Release what a peer holds in Janus: session (and handle), room admission, token."""
        p.closing = True
        self._peers.pop(p.id, None)
        if p.session is not None:
            self._by_session.pop(p.session.id, None)
            if p.role == "subscriber" and p.handle is not None and not p.session.closed:
                with contextlib.suppress(JanusError):
                    await p.handle.hangup()  # stop sending before the teardown below
            with contextlib.suppress(JanusError):
                await p.session.destroy()
        r = self._rooms.get(p.room)
        if r is not None and p.id in r.peers:
            async with r.lock:
                r.peers.discard(p.id)
                await self._leave_room(r, p)
        with contextlib.suppress(JanusError):
            await self.client.remove_token(p.token)

    async def _leave_room(self, r: _Room, p: _Peer) -> None:
        """Under the room's lock: take the peer's token off the list; the last one out destroys
        the room. Any live session can edit the room with the secret; Janus needs a handle."""
        handle = next((q.handle for q in self._peers.values()
                       if q.room == r.id and q.handle is not None and q.session and not q.session.closed), None)
        try:
            if r.peers and handle is not None:
                await self._allowed(handle, r, "remove", [p.token])
            elif not r.peers:
                await self._destroy_room(r)
        except JanusError as e:
            log.info("janus: room %s cleanup: %s", r.janus_id, e)

    async def _destroy_room(self, r: _Room) -> None:
        self._rooms.pop(r.id, None)
        if not r.created:
            return
        # A short-lived session of its own: the room's peers' sessions are gone.
        token = secrets.token_urlsafe(24)
        await self.client.add_token(token)
        session = None
        try:
            session = await self.client.create_session(token)
            handle = await session.attach(VIDEOROOM)
            with contextlib.suppress(JanusError):
                await handle.message({"request": "destroy", "room": r.janus_id, "secret": self.room_secret})
        finally:
            if session is not None:
                with contextlib.suppress(JanusError):
                    await session.destroy()
            with contextlib.suppress(JanusError):
                await self.client.remove_token(token)

    # --- events, keep-alives, stats ------------------------------------------------------------

    async def _on_event(self, session: JanusSession, event: dict) -> None:
        peer_id = self._by_session.get(session.id)
        p = self._peers.get(peer_id) if peer_id else None
        if p is None or p.closing:
            return
        kind = event.get("janus")
        if kind == "webrtcup":
            p.up.set()
        elif kind in ("hangup", "detached", "timeout"):
            # The peer ended by itself: end it here (off the long-poll task, which the teardown
            # cancels) and tell the service.
            log.info("janus: peer %s ended by Janus (%s %s)", p.id, kind, event.get("reason", ""))
            self._spawn(self._end(p.id, notify=True))
        elif kind == "event":
            data = (event.get("plugindata") or {}).get("data") or {}
            # A publisher kicked or gone by Janus's own decision ("leaving"/"unpublished" naming
            # itself) ends like a hangup.
            if p.role == "publisher" and (data.get("leaving") == "ok" or data.get("unpublished") == "ok"):
                self._spawn(self._end(p.id, notify=True))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _keepalives(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_interval)
            sessions = [p.session for p in list(self._peers.values()) if p.session and not p.session.closed]
            results = await asyncio.gather(*(s.keepalive() for s in sessions), return_exceptions=True)
            for s, res in zip(sessions, results):
                if isinstance(res, JanusError) and res.code in (SESSION_NOT_FOUND, UNAUTHORIZED):
                    log.info("janus: session %s is gone (%s)", s.id, res)
                    await s.expire("keepalive refused")

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(self.stats_interval)
            try:
                await self.refresh_stats()
            except Exception:
                log.exception("janus: stats refresh failed")

    async def refresh_stats(self) -> None:
        """Per-peer counters from the Admin API's handle_info (one request per peer)."""
        peers = [p for p in list(self._peers.values()) if p.handle is not None and not p.closing]
        infos = await asyncio.gather(*(self.client.handle_info(p.session.id, p.handle.id) for p in peers),
                                     return_exceptions=True)
        for p, info in zip(peers, infos):
            if isinstance(info, BaseException):
                continue
            p.stats = _peer_stats(p, info)


def _peer_stats(p: _Peer, info: dict) -> PeerStats:
    """handle_info -> PeerStats. Janus 1.x keeps ``webrtc.media`` by mid, each with ``stats.in`` /
    ``stats.out`` (packets, bytes, bytes_lastsec) and ``rtcp.main`` (lost, lost-by-remote): a
    publisher's media is what Janus receives, a subscriber's what Janus sends. The fraction lost
    is over the last stats window (Janus only has cumulative counts)."""
    sending = p.role == "subscriber"
    packets = lost = 0
    rate = 0.0
    media = (info.get("webrtc") or {}).get("media") or {}
    for m in media.values() if isinstance(media, dict) else media:
        if not isinstance(m, dict):
            continue
        st = (m.get("stats") or {}).get("out" if sending else "in") or {}
        packets += int(st.get("packets", 0) or 0)
        rate += 8.0 * float(st.get("bytes_lastsec", 0) or 0)
        main = (m.get("rtcp") or {}).get("main") or {}
        lost += int(main.get("lost-by-remote" if sending else "lost", 0) or 0)
    fraction = 0.0
    if p._last is not None:
        d_packets, d_lost = packets - p._last[0], lost - p._last[1]
        if d_lost > 0 and d_packets + d_lost > 0:
            fraction = d_lost / (d_packets + d_lost)
    p._last = (packets, lost)
    return PeerStats(peer=p.id, role=p.role, room=p.room, kinds=p.kinds, bitrate_bps=rate, packets=packets,
                     packets_lost=lost, fraction_lost=fraction)


__all__ = ["JanusBackend"]
