"""Voice and screen in a consultation booth, in three headless Chromium pages with fake media
against a real `yakuba serve` whose embedded relay offers loopback (issue #17).

A staff member (signed in) in booth 5 calls a resident in with a ticket; a passer-by walks into
the booth while it is still open. The staff member turns the microphone on and shares the (fake)
screen; everyone inside receives both. Then the door locks: the passer-by, not admitted, loses
the subscriptions at once (`media.ended`, reason locked; the peer connections closed), while the
resident keeps decoding the screen and hearing the voice. Someone outside asking the server
directly for the booth's media is refused.
"""

from __future__ import annotations

import time

import pytest

from media.janus_netns import janus_server  # noqa: F401 (the janus case's module-scoped Janus)

from .conftest import MEDIA_ENV, axe_serious, staffed_node
from .test_web_client import enter, goto, open_page, state

pytestmark = [pytest.mark.browser, pytest.mark.slow]
BOOTH = "booth5"


@pytest.fixture(scope="module", params=["embedded", "janus"])
def node(request, tmp_path_factory):
    """The same booth on both media backends: the embedded relay, and a real Janus in a network
    namespace (tests/media/janus_netns.py; Chromium reaches it over the veth, not loopback)."""
    env = dict(MEDIA_ENV)
    if request.param == "janus":
        j = request.getfixturevalue("janus_server")
        env.update(YAKUBA_MEDIA_BACKEND="janus", YAKUBA_JANUS_URL=j.api_url, YAKUBA_JANUS_ADMIN_URL=j.admin_url,
                   YAKUBA_JANUS_ADMIN_SECRET=j.admin_secret)
    yield from staffed_node(tmp_path_factory, "yakuba-media-" + request.param, "sato", env=env)


def start_walk(page, zone: str) -> None:
    goto(page, zone, wait=False)


def wait_zone(page, zone: str, timeout: int = 90_000) -> None:
    page.wait_for_function("z => window.__yakuba.state.zone === z", arg=zone, timeout=timeout)


def media(page) -> dict:
    return state(page)["media"]


def media_stats(page) -> list[dict]:
    return page.evaluate("window.__yakuba.mediaStats()")


def inbound(page, kind: str, source: str | None = None) -> dict:
    """Summed inbound-rtp counters of ``kind`` over this page's subscriptions (of ``source``)."""
    out: dict[str, float] = {}
    for p in media_stats(page):
        if p["kind"] != "sub" or (source and p["source"] != source):
            continue
        for r in p["inbound"]:
            if r["kind"] == kind:
                for k, v in r.items():
                    if isinstance(v, (int, float)):
                        out[k] = out.get(k, 0) + v
    return out


def wait_media(page, timeout: float = 30) -> tuple[dict, dict]:
    """Until this page decodes screen frames and receives voice samples: (video, audio) counters."""
    deadline = time.monotonic() + timeout
    v = a = {}
    while time.monotonic() < deadline:
        v, a = inbound(page, "video", "screen"), inbound(page, "audio", "mic")
        if v.get("framesDecoded", 0) > 0 and a.get("totalSamplesReceived", 0) > 0:
            return v, a
        time.sleep(0.5)
    raise AssertionError(f"no media decoded: video={v} audio={a} media={media(page)}")


@pytest.fixture(scope="module")
def scene(media_browser, node, shots):
    """The booth journey up to the lock; what each page saw on the way, for the tests below."""
    b = media_browser
    seen: dict = {}
    cs, staff = open_page(b, node, staff=True)
    cr, res = open_page(b, node)
    cb, by = open_page(b, node)
    try:
        enter(staff, "佐藤")
        start_walk(staff, BOOTH)
        enter(res, "区民はなこ")
        enter(by, "通りすがり")
        for p in (res, by):  # meanwhile both wait in the corridor, near the booths (not a 17 s walk from the entrance later)
            start_walk(p, "corridor")
        wait_zone(staff, BOOTH)
        staff.keyboard.press("Alt+M")
        staff.wait_for_selector("#staff-console:not([hidden]) #staff-call-next")

        # the resident takes a ticket and is called into booth 5; the passer-by walks in meanwhile
        res.click("#btn-desk")
        res.click("#dlg-desk button[data-dept=resident]")
        res.click("#dlg-desk button[data-topic='resident.moving']")
        res.wait_for_selector("#ticket-code")
        staff.wait_for_selector("#staff-console .sc-ticket", timeout=10_000)
        staff.keyboard.press("Alt+N")
        res.wait_for_selector("#dlg-invite[open]", timeout=10_000)
        res.click("#invite-accept")
        start_walk(by, BOOTH)
        wait_zone(res, BOOTH)
        wait_zone(by, BOOTH)

        # the media bar is offered in the booth: voice to everyone, screen and documents to staff
        for p in (staff, res, by):
            p.wait_for_selector("#media-bar", state="visible", timeout=10_000)
        assert staff.is_visible("#media-screen") and staff.is_visible("#media-doc")
        assert res.is_visible("#media-voice") and not res.is_visible("#media-screen") and not res.is_visible("#media-doc")
        assert res.inner_text("#media-state") == "マイク オフ"

        # staff: microphone on, then the screen
        staff.click("#media-voice")
        staff.wait_for_function("() => window.__yakuba.state.media.voice.pub", timeout=20_000)
        staff.wait_for_selector("#media-mute", state="visible")
        staff.click("#media-screen")
        staff.wait_for_function("() => window.__yakuba.state.media.screen.sharing", timeout=20_000)

        # both inside receive the voice and the screen
        seen["by_before"] = wait_media(by)
        seen["res_before"] = wait_media(res)
        seen["by_subs_before"] = [s for s in media(by)["subs"]]
        res.wait_for_selector("#media-stage figure.md-video video", state="visible")
        res.wait_for_selector("#media-people .md-person", state="visible")

        # the door locks: the passer-by was never admitted
        staff.keyboard.press("Alt+L")
        staff.wait_for_selector("#staff-booth-state[data-state=locked]", timeout=10_000)
        seen["lock_at"] = time.monotonic()
        yield {"staff": staff, "res": res, "by": by, "seen": seen, "node": node, "shots": shots}
        for p in (staff, res, by):
            assert p.errors == [], p.errors  # type: ignore[attr-defined]
    finally:
        for c in (cs, cr, cb):
            c.close()


def test_locking_drops_a_subscriber_who_was_not_admitted(scene):
    by = scene["by"]
    before = scene["seen"]["by_subs_before"]
    assert {s["source"] for s in before} >= {"mic", "screen"}, before
    ids = {s["id"] for s in before}
    by.wait_for_function("""ids => window.__yakuba.state.media && window.__yakuba.state.media.ended
        .filter(e => ids.includes(e.id) && e.reason === 'locked').length === ids.length""", arg=sorted(ids), timeout=10_000)
    m = media(by)
    ended = [e for e in m["ended"] if e["id"] in ids]
    assert all(e["pc"] == "closed" for e in ended), ended  # the RTCPeerConnection was closed
    assert m["subs"] == [] and [p for p in m["peers"] if p["kind"] == "sub"] == []
    assert [p for p in media_stats(by) if p["kind"] == "sub"] == []
    # the passer-by is outside the closed door now, and told in plain words
    by.wait_for_function("z => window.__yakuba.state.zone !== z", arg=BOOTH, timeout=10_000)
    m = media(by)
    assert not m["allowed"]["voice"]
    assert any("相談が始まった" in s for s in m["said"]), m["said"]  # said once, in plain words


def test_staff_voice_and_screen_reach_the_resident_in_the_locked_booth(scene):
    staff, res, shots = scene["staff"], scene["res"], scene["shots"]
    assert state(res)["zone"] == BOOTH and state(staff)["zone"] == BOOTH
    time.sleep(1.0)
    v1, a1 = wait_media(res)
    time.sleep(2.0)
    v2, a2 = wait_media(res)
    assert v2["framesDecoded"] > v1["framesDecoded"] > 0, (v1, v2)  # still decoding after the lock
    assert v2.get("keyFramesDecoded", 0) >= 1
    assert a2["totalSamplesReceived"] > a1["totalSamplesReceived"] > 0, (a1, a2)
    assert v2.get("frameWidth", 0) >= 320
    assert all(p["state"] == "connected" for p in media(res)["peers"]), media(res)["peers"]
    # the staff member's own view: the 画面共有中 strip with its big stop button, mic on
    assert staff.is_visible("#media-sharing")
    assert "画面共有中" in staff.inner_text("#media-sharing")
    box = staff.locator("#media-screen-stop").bounding_box()
    assert box and box["height"] >= 44 and box["width"] >= 44
    assert staff.inner_text("#media-state") in ("マイク オン", "話しています")
    # the resident sees whose screen it is, and that staff are speaking (the fake mic beeps)
    assert "佐藤" in res.inner_text("#media-stage figcaption")
    res.wait_for_function("() => document.querySelector('#media-people [data-state=speaking]')", timeout=10_000)
    staff.screenshot(path=str(shots / "media-booth-staff-sharing.png"))
    res.screenshot(path=str(shots / "media-booth-resident-view.png"))
    assert axe_serious(staff) == [] and axe_serious(res) == []
    # enlarge the shared screen (the viewer's choice), then back with Escape
    res.click("#media-enlarge")
    assert res.evaluate("document.querySelector('#media-stage').getBoundingClientRect().width") > 1200
    res.screenshot(path=str(shots / "media-booth-resident-enlarged.png"))
    res.keyboard.press("Escape")
    assert not state(res)["media"]["enlarged"]


def test_the_admitted_resident_talks_with_push_to_talk(scene):
    """The resident (a member of the locked booth) turns the microphone on: staff hear it; with
    push-to-talk the voice goes out only while Space is held, and staff see ミュート中 between."""
    staff, res = scene["staff"], scene["res"]
    rid = state(res)["me"]["id"]
    res.click("#media-voice")
    res.wait_for_function("() => window.__yakuba.state.media.voice.pub", timeout=20_000)
    staff.wait_for_function("id => document.querySelector(`#media-people [data-avatar='${id}']`)", arg=rid, timeout=15_000)
    deadline = time.monotonic() + 20
    while inbound(staff, "audio", "mic").get("totalSamplesReceived", 0) == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert inbound(staff, "audio", "mic")["totalSamplesReceived"] > 0
    res.click("#media-ptt")
    assert res.inner_text("#media-state") == "押している間だけ話せます"
    assert res.is_visible("#media-talk") and not res.is_visible("#media-mute")
    staff.wait_for_function("id => document.querySelector(`#media-people [data-avatar='${id}']`).dataset.state === 'muted'", arg=rid, timeout=10_000)
    res.evaluate("document.activeElement && document.activeElement.blur()")  # Space on the page, not a button
    res.keyboard.down("Space")
    res.wait_for_function("() => window.__yakuba.state.media.voice.held")
    staff.wait_for_function("id => document.querySelector(`#media-people [data-avatar='${id}']`).dataset.state !== 'muted'", arg=rid, timeout=10_000)
    assert res.inner_text("#media-state") in ("マイク オン", "話しています")
    res.screenshot(path=str(scene["shots"] / "media-booth-resident-push-to-talk.png"))
    res.keyboard.up("Space")
    res.wait_for_function("() => !window.__yakuba.state.media.voice.held")
    staff.wait_for_function("id => document.querySelector(`#media-people [data-avatar='${id}']`).dataset.state === 'muted'", arg=rid, timeout=10_000)
    # the big button does the same with a mouse or a finger
    res.hover("#media-talk")
    res.mouse.down()
    res.wait_for_function("() => window.__yakuba.state.media.voice.held")
    res.mouse.up()
    res.wait_for_function("() => !window.__yakuba.state.media.voice.held")
    box = res.locator("#media-talk").bounding_box()
    assert box and box["height"] >= 56


def test_someone_outside_the_booth_is_refused_its_media(scene, node):
    """A client outside the locked booth asks the server directly (not through the UI, which
    offers nothing there) to watch and to publish into it."""
    import socketio

    res = scene["res"]
    stream = next(s["stream"] for s in media(res)["subs"] if s["source"] == "screen")
    c = socketio.Client(reconnection=False)
    c.connect(node.url, transports=["websocket"], wait_timeout=10)  # websocket-client sends the Origin itself
    try:
        ack = c.call("join", {"name": "外の人", "lang": "ja"}, timeout=10)
        assert ack["ok"], ack
        sub = c.call("media.subscribe", {"room": BOOTH, "stream": stream}, timeout=10)
        assert sub["ok"] is False and sub["error"]["code"] in ("media_forbidden", "not_member"), sub
        offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        pub = c.call("media.publish", {"room": BOOTH, "source": "mic", "sdp": offer}, timeout=10)
        assert pub["ok"] is False and pub["error"]["code"] in ("media_forbidden", "not_member"), pub
        url = c.call("media.doc_url", {"room": BOOTH, "doc": "abcdefgh"}, timeout=10)
        assert url["ok"] is False and url["error"]["code"] in ("media_forbidden", "not_member"), url
    finally:
        c.disconnect()
    # the resident inside is untouched by it
    v, a = wait_media(res)
    assert v["framesDecoded"] > 0
