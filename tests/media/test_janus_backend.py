"""JanusBackend against a real Janus (Debian ``janus``) in a network namespace.

aiortc peers in the root namespace publish and subscribe through the backend; Janus moves the
media. Besides media: per-peer tokens (Janus refuses a wrong or removed one), private rooms
with an ``allowed`` list, hangups reported through ``on_peer_closed``, and keep-alives.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc import RTCSessionDescription

from yakuba.server.media.backend import MediaError
from yakuba.server.media.janus import JanusBackend, JanusClient, JanusError
from yakuba.server.media.janus.client import VIDEOROOM

from .aiortc_peers import Publisher, Subscriber
from .janus_netns import JanusInstance, janus_in_netns, janus_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.timeout(120)


# --- aiortc peers (tests/media/aiortc_peers.py) plus RTP arrival times ----------------------------------

class Sub(Subscriber):
    """A subscriber that also notes when each RTP packet arrives (before decoding): "no packet
    after close_peer" is checked on these, not on decoded frames."""

    def __init__(self) -> None:
        super().__init__([])  # no ICE servers: no public STUN
        self.arrivals: list[float] = []

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for receiver in self.pc.getReceivers():
            original = receiver._handle_rtp_packet

            async def noted(packet, arrival_time_ms, original=original):
                self.arrivals.append(time.monotonic())
                await original(packet, arrival_time_ms)

            receiver._handle_rtp_packet = noted
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def late(self, after: float) -> int:
        return sum(1 for t in self.arrivals if t > after)


async def publish(backend: JanusBackend, room: str, pub: str) -> Publisher:
    p = Publisher([])
    backend.test_peers.append(p)
    await p.accept(await backend.publish(room, pub, await p.offer(), []))
    return p


async def subscribe(backend: JanusBackend, room: str, sub: str, pub: str) -> Sub:
    s = Sub()
    backend.test_peers.append(s)
    offer = await backend.subscribe(room, sub, pub, [])
    await backend.answer(sub, await s.answer(offer))
    return s


async def until(cond, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


# --- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture
async def backend(janus_server: JanusInstance):  # noqa: F811
    b = JanusBackend(janus_server.api_url, janus_server.admin_url, janus_server.admin_secret, stats_interval=0.5)
    b.closed_peers = []  # what on_peer_closed was told, in order

    async def on_closed(peer: str) -> None:
        b.closed_peers.append(peer)

    b.on_peer_closed = on_closed
    b.test_peers = []
    b.test_janus = janus_server
    await b.start()
    yield b
    await b.close()
    await asyncio.gather(*(p.close() for p in b.test_peers), return_exceptions=True)


@pytest.fixture
async def raw(janus_server: JanusInstance):  # noqa: F811
    """A Janus client of the test's own, for calls the backend never makes."""
    c = JanusClient(janus_server.api_url, janus_server.admin_url, janus_server.admin_secret)
    await c.start()
    yield c
    await c.close()


# --- tests ------------------------------------------------------------------------------------------

async def test_published_frames_reach_a_subscriber_through_janus(backend: JanusBackend):
    pub = await publish(backend, "room-a", "pub-a")
    sub = await subscribe(backend, "room-a", "sub-a", "pub-a")
    await until(lambda: sub.frames["video"] >= 20 and sub.frames["audio"] >= 25, 15, "decoded frames")
    assert pub.pc.connectionState == sub.pc.connectionState == "connected"
    # The media path goes to Janus's address in its namespace, not to loopback.
    nominated = sub.pc.getTransceivers()[0].receiver.transport.transport._connection._nominated
    assert {pair.remote_candidate.host for pair in nominated.values()} == {backend.test_janus.ns_ip}
    s = backend.stats()
    assert (s.publishers, s.subscribers) == (1, 1)
    # Per-peer counters from the Admin API's handle_info (refreshed every 0.5 s here).
    await until(lambda: all(p.packets > 0 and p.bitrate_bps > 0 for p in backend.stats().peers), 5,
                "handle_info counters")
    by_role = {p.role: p for p in backend.stats().peers}
    assert by_role["publisher"].kinds == by_role["subscriber"].kinds == ("audio", "video")
    assert by_role["publisher"].packets_lost == 0


async def test_close_peer_stops_media_at_once_and_ends_its_subscriptions(backend: JanusBackend, raw: JanusClient):
    pub = await publish(backend, "room-b", "pub-b")
    subs = [await subscribe(backend, "room-b", f"sub-b{i}", "pub-b") for i in range(2)]
    await until(lambda: all(s.frames["video"] >= 5 for s in subs), 15, "frames at both subscribers")
    token = backend._peers["pub-b"].token

    await backend.close_peer("pub-b")
    done = time.monotonic()
    await asyncio.sleep(1.0)  # 15 video frames and 50 audio frames, had anything kept flowing
    late = [s.late(done + 0.05) for s in subs]  # 50 ms: what was already on the veth
    assert late == [0, 0], f"RTP packets after close_peer returned: {late}"
    s = backend.stats()
    assert (s.publishers, s.subscribers) == (0, 0)
    assert backend.closed_peers == [], "closing on request is not a hangup"
    assert backend._rooms == {}, "the last peer out destroys the room"
    assert token not in await raw.list_tokens()
    await backend.close_peer("pub-b")  # again: ignored
    await backend.close_peer("never-was")


async def test_closing_a_subscriber_leaves_the_others_running(backend: JanusBackend):
    pub = await publish(backend, "room-c", "pub-c")
    a = await subscribe(backend, "room-c", "sub-c1", "pub-c")
    b = await subscribe(backend, "room-c", "sub-c2", "pub-c")
    await until(lambda: a.frames["video"] >= 5 and b.frames["video"] >= 5, 15, "frames at both")
    await backend.close_peer("sub-c1")
    done = time.monotonic()
    before = b.frames["video"]
    await until(lambda: b.frames["video"] >= before + 10, 5, "the other subscriber still receiving")
    assert a.late(done + 0.05) == 0
    assert backend.stats().subscribers == 1


async def test_each_peer_has_its_own_token_and_janus_refuses_wrong_or_removed_ones(
        backend: JanusBackend, raw: JanusClient, janus_server: JanusInstance):  # noqa: F811
    pub = await publish(backend, "room-d", "pub-d")
    sub = await subscribe(backend, "room-d", "sub-d", "pub-d")
    pub_token, sub_token = backend._peers["pub-d"].token, backend._peers["sub-d"].token
    assert pub_token != sub_token
    assert {pub_token, sub_token} <= set(await raw.list_tokens())

    for token in (None, "wrong-token"):
        with pytest.raises(JanusError) as e:
            await raw.create_session(token)
        assert e.value.code == 403
    # Another peer's session is not reachable with a wrong token either.
    sid = backend._peers["pub-d"].session.id
    with pytest.raises(JanusError) as e:
        await raw.post(f"{raw.api_url}/{sid}", {"janus": "keepalive", "transaction": "t", "token": "wrong-token"})
    assert e.value.code == 403

    await backend.close_peer("sub-d")
    assert sub_token not in await raw.list_tokens()
    with pytest.raises(JanusError) as e:
        await raw.create_session(sub_token)
    assert e.value.code == 403
    # The Admin API wants its secret.
    wrong = JanusClient(janus_server.api_url, janus_server.admin_url, "not-the-secret")
    await wrong.start()
    try:
        with pytest.raises(JanusError) as e:
            await wrong.add_token("mine")
        assert e.value.code == 403
    finally:
        await wrong.close()


async def test_rooms_are_private_and_admit_only_their_peers_tokens(backend: JanusBackend, raw: JanusClient):
    pub = await publish(backend, "room-e", "pub-e")
    room_id = backend._rooms["room-e"].janus_id
    feed = backend._peers["pub-e"].feed
    await asyncio.wait_for(backend._peers["pub-e"].up.wait(), 10)  # Janus knows feeds once they are up
    # An outsider with a valid Janus token of its own (made here through the Admin API).
    await raw.add_token("outsider-token")
    session = await raw.create_session("outsider-token")
    try:
        handle = await session.attach(VIDEOROOM)
        data, _ = await handle.message({"request": "list"})
        assert room_id not in [r["room"] for r in data["list"]], "a private room is not listed"
        # Joining takes the room's PIN (subscribers and publishers) and, for publishers, a token
        # on the room's allowed list: the outsider has neither.
        for ptype, extra in (("subscriber", {"streams": [{"feed": feed}]}), ("publisher", {})):
            with pytest.raises(JanusError) as e:
                await handle.message({"request": "join", "ptype": ptype, "room": room_id, "token": "outsider-token",
                                      "pin": "guess", **extra})
            assert e.value.code == 433, ptype  # JANUS_VIDEOROOM_ERROR_UNAUTHORIZED (and 429 without a pin)
        with pytest.raises(JanusError) as e:
            await handle.message({"request": "join", "ptype": "publisher", "room": room_id, "token": "outsider-token",
                                  "pin": backend._pin("room-e")})
        assert e.value.code == 433 and "allowed" in e.value.reason
        with pytest.raises(JanusError) as e:
            await handle.message({"request": "destroy", "room": room_id, "secret": "guess"})
        assert e.value.code == 433
        with pytest.raises(JanusError):
            await handle.message({"request": "allowed", "room": room_id, "action": "add",
                                  "allowed": ["outsider-token"], "secret": "guess"})
        # With the secret the same request works: the refusals above were about the secret.
        data, _ = await handle.message({"request": "allowed", "room": room_id, "action": "remove",
                                        "allowed": ["outsider-token"], "secret": backend.room_secret})
        assert backend._peers["pub-e"].token in data["allowed"]
    finally:
        await session.destroy()
        await raw.remove_token("outsider-token")


async def test_subscribing_to_an_unknown_or_other_rooms_stream_is_refused(backend: JanusBackend):
    with pytest.raises(MediaError) as e:
        await backend.subscribe("room-f", "sub-f", "nobody", [])
    assert e.value.code == "unknown_stream"
    pub = await publish(backend, "room-f", "pub-f")
    with pytest.raises(MediaError) as e:
        await backend.subscribe("room-other", "sub-f", "pub-f", [])
    assert e.value.code == "unknown_stream"
    with pytest.raises(MediaError) as e:
        await backend.answer("sub-f", "v=0")
    assert e.value.code == "unknown_stream"
    with pytest.raises(MediaError) as e:
        await backend.publish("room-f", "pub-bad", "this is not sdp", [])
    assert e.value.code == "media_failed"
    assert "pub-bad" not in backend._peers and backend.stats().publishers == 1
    # Late candidates are trickled to Janus (a browser's, with and without the end marker).
    host = backend.test_janus.host_ip
    await backend.add_ice("pub-f", {"candidate": f"candidate:9 1 udp 2130706431 {host} 9 typ host",
                                    "sdpMid": "0", "sdpMLineIndex": 0})
    await backend.add_ice("pub-f", {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0})
    await backend.add_ice("pub-f", None)
    await backend.add_ice("nobody", None)  # unknown ids are ignored


async def test_a_peer_that_hangs_up_by_itself_is_reported(backend: JanusBackend):
    pub = await publish(backend, "room-g", "pub-g")
    sub = await subscribe(backend, "room-g", "sub-g", "pub-g")
    sub2 = await subscribe(backend, "room-g", "sub-g2", "pub-g")
    await until(lambda: sub.frames["video"] >= 3 and sub2.frames["video"] >= 3, 15, "frames")

    await sub.pc.close()  # the browser closes: DTLS alert, Janus hangs up
    await until(lambda: backend.closed_peers == ["sub-g"], 10, "on_peer_closed(sub-g)")
    assert backend.stats().subscribers == 1

    await pub.close()
    await until(lambda: "pub-g" in backend.closed_peers, 10, "on_peer_closed(pub-g)")
    # Its subscription ended with it, untold: the service ends those from the publisher.
    assert backend.closed_peers == ["sub-g", "pub-g"]
    await until(lambda: backend.stats().subscribers == 0, 5, "subscriptions gone")
    assert backend._rooms == {}


async def test_keepalives_hold_sessions_past_janus_session_timeout():
    with janus_in_netns(session_timeout=2) as j:
        b = JanusBackend(j.api_url, j.admin_url, j.admin_secret, keepalive_interval=0.5)
        closed: list[str] = []

        async def on_closed(peer: str) -> None:
            closed.append(peer)

        b.on_peer_closed = on_closed
        b.test_peers = []
        await b.start()
        raw = JanusClient(j.api_url, j.admin_url, j.admin_secret)
        await raw.start()
        pc = None
        try:
            pc = await publish(b, "room-k", "pub-k")
            # A control: a session nobody touches (no keep-alive, no long poll) is dropped.
            await raw.add_token("idle")
            reply = await raw.post(raw.api_url, {"janus": "create", "transaction": "t", "token": "idle"})
            idle = reply["data"]["id"]
            deadline = time.monotonic() + 15
            while True:  # Janus's watchdog drops it within about timeout + 2 s
                sessions = set((await raw.admin("list_sessions"))["sessions"])
                if idle not in sessions:
                    break
                assert time.monotonic() < deadline, "Janus never dropped the idle session"
                await asyncio.sleep(0.25)
            peer = b._peers["pub-k"]
            assert peer.session.id in sessions, "the backend's session outlived the idle one"
            info = await raw.handle_info(peer.session.id, peer.handle.id)
            assert info["plugin_specific"]["type"] == "publisher"
            assert closed == []
        finally:
            if pc is not None:
                await pc.close()
            await b.close()
            await raw.close()


async def test_start_fails_clearly_when_janus_is_not_usable(janus_server: JanusInstance):  # noqa: F811
    b = JanusBackend(janus_server.api_url, janus_server.admin_url, "not-the-secret")
    with pytest.raises(MediaError) as e:
        await b.start()
    assert e.value.code == "media_unavailable"
    b = JanusBackend(f"http://{janus_server.host_ip}:9/janus", janus_server.admin_url, janus_server.admin_secret,
                     request_timeout=2)
    with pytest.raises(MediaError) as e:
        await b.start()
    assert e.value.code == "media_unavailable"
    b = JanusBackend(janus_server.api_url, janus_server.admin_url, janus_server.admin_secret)
    with pytest.raises(MediaError) as e:
        await b.publish("r", "p", "v=0", [])
    assert e.value.code == "media_unavailable"
