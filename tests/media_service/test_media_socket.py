"""Media over the real socket on one real node with the embedded relay: staff share in a booth,
the admitted resident receives, a bystander's every attempt is refused and counted, locking
drops the bystander's subscription, removal ends the resident's, and a relay-only (TURN) path
through a real coturn carries the media. Peers are aiortc (the browser's are tests/e2e)."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from yakuba.server.app import DB_KEY, HUB_KEY

from auth.helpers import add_staff
from consult.helpers import DeskPeer, Refusals, staff_cookie
from media.aiortc_peers import Publisher, Subscriber, host_candidates, wait_until
from server.realtime_client import running_app, until

from media.janus_netns import janus_server  # noqa: F401 (module-scoped Janus, for the janus case)

from .coturn import coturn

BOOTH = "booth1"
INSIDE, INSIDE2, OUTSIDE = (3.0, 36.0), (4.5, 37.0), (3.0, 29.0)
EVENTS = ("media.ended",)


class MediaPeer(DeskPeer):
    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.ended: list[dict] = []
        self.rooms: dict[str, dict] = {}
        self.sio.on("media.ended", self.ended.append)
        self.sio.on("room", lambda d: self.rooms.__setitem__(d["room"], dict(d["state"])))
        self.sio.on("room_patch", lambda d: self.rooms.setdefault(d["room"], {}).update(d["patch"]))


async def _put(app, peer, xy) -> None:
    hub = app[HUB_KEY]
    await hub.consult._place(hub.world.avatars[peer.id], xy)


async def _metrics(url: str) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as r:
        assert r.status == 200
        return await r.text()


def _value(text: str, name: str) -> float:
    return next(float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines() if ln.startswith(name))


async def _publish(peer: MediaPeer, pub: Publisher, source: str = "screen") -> dict:
    ack = await peer.call("media.publish", {"room": BOOTH, "source": source, "sdp": await pub.offer()})
    if ack.get("ok"):
        await pub.accept(ack["sdp"])
    return ack


async def _subscribe(peer: MediaPeer, sub: Subscriber, stream: str) -> dict:
    ack = await peer.call("media.subscribe", {"room": BOOTH, "stream": stream})
    if ack.get("ok"):
        assert (await peer.call("media.answer", {"id": ack["id"], "sdp": await sub.answer(ack["sdp"])}))["ok"]
    return ack


async def _people(app, url):
    await add_staff(app[DB_KEY], "sato", code="131016")
    staff = await MediaPeer(url, await staff_cookie(url, "sato")).connect()
    res, by = await MediaPeer(url).connect(), await MediaPeer(url).connect()
    for p, n in ((staff, "sato"), (res, "res"), (by, "by")):
        assert (await p.join(name=n))["ok"]
    return staff, res, by


@pytest.fixture(params=["embedded", "janus"])
def backend_env(request):
    """(settings, the address the test's aiortc peers gather on) per backend; Janus runs in a
    network namespace (tests/media/janus_netns.py) and skips loopback, hence its veth address."""
    if request.param == "embedded":
        return {"media_backend": "embedded"}, "127.0.0.1"
    j = request.getfixturevalue("janus_server")
    return {"media_backend": "janus", "janus_url": j.api_url, "janus_admin_url": j.admin_url,
            "janus_admin_secret": j.admin_secret}, j.host_ip


async def test_booth_media_members_only_lock_and_removal_end_it(tmp_path, backend_env):
    r = Refusals("media_booth_" + backend_env[0]["media_backend"])
    peers: list = []
    settings, host = backend_env
    with host_candidates(host):
        async with running_app(tmp_path, argon2_profile="test", **settings) as (url, app):
            staff, res, by = await _people(app, url)
            try:
                await _put(app, staff, INSIDE)
                await _put(app, res, INSIDE2)
                await _put(app, by, OUTSIDE)
                await until(lambda: staff.zones[-1:] == [BOOTH] and res.zones[-1:] == [BOOTH], what="in the booth")
                cfg = await staff.call("media.config")
                assert cfg["ok"] and cfg["backend"] == settings["media_backend"] and cfg["iceServers"] == []  # nothing configured: no third party
                # a bystander outside: no publishing into, no subscribing from the booth
                peers.append(bpub := Publisher(audio=True, video=False))
                r.expect("publish_from_outside", await _publish(by, bpub, "mic"), "media_forbidden")
                # staff share a screen and speak; the resident receives both
                peers.append(spub := Publisher(size=(320, 240)))
                ack = await _publish(staff, spub)
                assert ack["ok"], ack
                stream = ack["id"]
                await until(lambda: [s["id"] for s in res.rooms.get(BOOTH, {}).get("streams", [])] == [stream], what="stream listed")
                assert not by.rooms.get(BOOTH, {}).get("streams")  # outsiders never see the list
                r.expect("subscribe_from_outside", await by.call("media.subscribe", {"room": BOOTH, "stream": stream}), "media_forbidden")
                r.expect("forged_owner_field", await by.call("media.subscribe", {"room": BOOTH, "stream": stream, "avatar": res.id}), "invalid_payload")
                r.expect("resident_screen", await _publish(res, Publisher(audio=False), "screen"), "media_forbidden")
                peers.append(rsub := Subscriber())
                assert (await _subscribe(res, rsub, stream))["ok"]
                assert await wait_until(lambda: rsub.frames["video"] > 10 and rsub.frames["audio"] > 10, 15), rsub.frames
                metrics = await _metrics(url)
                assert 'yakuba_media_peers{role="publisher"} 1.0' in metrics and 'yakuba_media_peers{role="subscriber"} 1.0' in metrics
                for _ in range(40):  # Janus's numbers come from its Admin API every few seconds
                    if _value(metrics, 'yakuba_media_bitrate_bps{role="subscriber"}') > 0:
                        break
                    await asyncio.sleep(0.25)
                    metrics = await _metrics(url)
                assert _value(metrics, 'yakuba_media_bitrate_bps{role="subscriber"}') > 0
                assert 'yakuba_media_refused_total{action="publish_media"} 2.0' in metrics
                # the bystander walks in before the lock and subscribes (allowed: the booth is open)
                await _put(app, by, (3.5, 37.5))
                await until(lambda: by.zones[-1:] == [BOOTH], what="bystander inside")
                peers.append(bsub := Subscriber())
                back = await _subscribe(by, bsub, stream)
                assert back["ok"]
                assert await wait_until(lambda: bsub.frames["video"] > 3, 10)
                r.expect("stop_someone_elses", await by.call("media.stop", {"id": stream}), "unknown_stream")
                # the lock: the resident admitted, the bystander put out and its subscription dropped at once
                assert (await staff.call("booth.admit", {"booth": BOOTH, "avatar": res.id}))["ok"]
                assert (await staff.call("booth.lock", {"booth": BOOTH}))["ok"]
                await until(lambda: any(e["id"] == back["id"] for e in by.ended), what="bystander's media ended")
                assert [e["reason"] for e in by.ended if e["id"] == back["id"]] == ["locked"]
                n = bsub.frames["video"]
                await asyncio.sleep(1.0)
                assert bsub.frames["video"] <= n + 2  # nothing more forwarded (a frame in flight at most)
                r.expect("subscribe_after_lock", await by.call("media.subscribe", {"room": BOOTH, "stream": stream}), "media_forbidden")
                m = rsub.frames["video"]
                assert await wait_until(lambda: rsub.frames["video"] > m + 10, 10)  # the member still receives
                assert app[HUB_KEY].media.refused["subscribe_media"] >= 2
                # removal ends the resident's subscription
                assert (await staff.call("booth.remove", {"booth": BOOTH, "avatar": res.id}))["ok"]
                await until(lambda: res.ended, what="resident's media ended")
                assert res.ended[-1]["reason"] == "removed"
                # staff stop: the stream leaves the room's list
                assert (await staff.call("media.stop", {"id": stream}))["ok"]
                await until(lambda: staff.rooms[BOOTH]["streams"] == [], what="stream gone")
                r.report()
            finally:
                for p in peers:
                    await p.close()
                for p in (staff, res, by):
                    await p.close()


async def test_relay_only_path_through_coturn(tmp_path):
    """Both peers may use nothing but TURN relay candidates: media flows only through coturn."""
    with coturn() as (port, secret, log), host_candidates("127.0.0.1"):
        async with running_app(tmp_path, argon2_profile="test", turn_secret=secret,
                               turn_urls=f"turn:127.0.0.1:{port}?transport=udp") as (url, app):
            staff, res, by = await _people(app, url)
            pub = sub = None
            try:
                await _put(app, staff, INSIDE)
                await _put(app, res, INSIDE2)
                await until(lambda: res.zones[-1:] == [BOOTH], what="in the booth")
                ice = (await res.call("media.config"))["iceServers"]
                assert ice[0]["username"].split(":")[0].isdigit() and ice[0]["credential"]

                def relay_only(ice_servers):
                    return RTCPeerConnection(RTCConfiguration(
                        iceServers=[RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in ice_servers],
                        iceTransportPolicy=RTCIceTransportPolicy.RELAY))

                pub = Publisher(audio=False)
                pub.pc = relay_only((await staff.call("media.config"))["iceServers"])
                sub = Subscriber()
                sub.pc = relay_only(ice)
                sub.pc.on("track", sub._on_track)
                ack = await _publish(staff, pub)
                assert ack["ok"], ack
                offered = [ln for ln in pub.pc.localDescription.sdp.splitlines() if ln.startswith("a=candidate")]
                assert offered and all(" typ relay" in ln for ln in offered), offered  # nothing but relay
                await until(lambda: res.rooms.get(BOOTH, {}).get("streams"), what="stream listed")
                assert (await _subscribe(res, sub, ack["id"]))["ok"]
                assert all(" typ relay" in ln for ln in sub.pc.localDescription.sdp.splitlines() if ln.startswith("a=candidate"))
                # with relay candidates only on both browser-side peers, frames arriving means
                # coturn carried them
                assert await wait_until(lambda: sub.frames["video"] > 10, 20), sub.frames
            finally:
                for p in (pub, sub):
                    if p is not None:
                        await p.close()
                for p in (staff, res, by):
                    await p.close()


PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n"
       b"3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n4 0 obj << /Type /Page /Parent 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


async def test_documents_are_checked_by_content_and_served_to_members_only(tmp_path):
    from auth.helpers import login, session_for

    async with running_app(tmp_path, argon2_profile="test", media_backend="embedded") as (url, app):
        staff, res, by = await _people(app, url)
        http = session_for(url)
        try:
            st, body, _ = await login(http, url, "sato")
            assert st == 200
            csrf = (await (await http.get("/api/auth/me")).json())["csrf"]
            # the staff member's socket is not in the booth yet: refused
            hdr = {"Origin": url, "X-CSRF-Token": csrf, "Content-Type": "application/pdf"}
            async with http.post(f"/api/media/docs?room={BOOTH}", data=PDF, headers=hdr) as r:
                assert r.status == 403 and (await r.json())["error"]["code"] == "media_forbidden"
            await _put(app, staff, INSIDE)
            await _put(app, res, INSIDE2)
            await until(lambda: staff.zones[-1:] == [BOOTH] and res.zones[-1:] == [BOOTH], what="in the booth")
            # a script named .pdf, declared as a PDF: refused by its content
            async with http.post(f"/api/media/docs?room={BOOTH}", data=b"<script>alert(1)</script>", headers=hdr) as r:
                assert r.status == 415 and (await r.json())["error"]["code"] == "unsupported_document"
            async with http.post(f"/api/media/docs?room={BOOTH}", data=PDF, headers={**hdr, "Content-Type": "text/html"}) as r:
                assert r.status == 415  # a type the route does not take at all
            async with http.post(f"/api/media/docs?room={BOOTH}", data=PDF, headers=hdr) as r:
                assert r.status == 201, await r.text()
                doc = await r.json()
            assert doc["type"] == "pdf" and doc["pages"] == 2
            r_ = Refusals("media_docs")
            r_.expect("resident_shows_doc", await res.call("media.doc", {"room": BOOTH, "doc": doc["id"], "page": 1}), "media_forbidden")
            assert (await staff.call("media.doc", {"room": BOOTH, "doc": doc["id"], "page": 2}))["ok"]
            await staff.emit("media.pointer", {"room": BOOTH, "x": 0.3, "y": 0.6})
            await until(lambda: res.rooms.get(BOOTH, {}).get("pointer") == [0.3, 0.6], what="pointer")
            assert res.rooms[BOOTH]["doc"]["id"] == doc["id"] and res.rooms[BOOTH]["page"] == 2
            link = await res.call("media.doc_url", {"room": BOOTH, "doc": doc["id"]})
            assert link["ok"] and link["type"] == "pdf"
            async with session_for(url) as anon:  # the resident's browser: no login, the signed link only
                async with anon.get("/" + link["url"]) as r:
                    assert r.status == 200 and await r.read() == PDF
                    assert r.headers["Content-Type"] == "application/pdf" and r.headers["X-Content-Type-Options"] == "nosniff"
                    assert "sandbox" in r.headers["Content-Security-Policy"] and r.headers["Cache-Control"] == "no-store"
                async with anon.get(f"/api/media/docs/{doc['id']}?t=1.9999999999.forged") as r:
                    assert r.status == 404
                r_.expect("bystander_doc_url", await by.call("media.doc_url", {"room": BOOTH, "doc": doc["id"]}), "media_forbidden")
                # the resident is removed: the link it holds no longer works
                assert (await staff.call("booth.lock", {"booth": BOOTH}))["ok"]
                await until(lambda: res.zones[-1:] != [BOOTH], what="resident (not admitted) put out by the lock")
                async with anon.get("/" + link["url"]) as r:
                    assert r.status == 404
            # staff's explicit save, then the room empties: the session's copy is gone
            async with http.post(f"/api/media/docs/{doc['id']}/keep", headers={"Origin": url, "X-CSRF-Token": csrf}) as r:
                assert r.status == 200
            kept = list((tmp_path / "documents").iterdir())
            assert len(kept) == 1 and kept[0].read_bytes() == PDF
            await _put(app, staff, OUTSIDE)
            await until(lambda: app[HUB_KEY].media.shelf.get(doc["id"]) is None, what="document dropped with the room")
            r_.report()
        finally:
            await http.close()
            for p in (staff, res, by):
                await p.close()
