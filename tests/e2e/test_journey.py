"""The resident's journey in headless Chromium against a real `yakuba serve` (issue #16, part A):
tap-to-walk round the counter, the camera inside a booth, the desk sign never hiding you, the
people-nearby count, and the phone toolbar at 特大."""

from __future__ import annotations

import time

import pytest

from .test_web_client import PHONE, enter, goto, open_page, state

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNTER = (6, 18, 14, 19.2)  # assets/cityhall/plan.json furniture infodesk-counter


def _tap_floor(page, x: float, y: float) -> None:
    sx, sy = page.evaluate("([x, y]) => window.__yakuba.screenOf(x, y)", [x, y])
    page.mouse.click(sx, sy)


def test_tap_behind_the_counter_walks_round_it(browser, server):
    context, page = open_page(browser, server)
    try:
        enter(page, "回り道さん")
        page.wait_for_function("() => window.__yakuba.state.me.y !== undefined")
        x0, y0 = state(page)["me"]["x"], state(page)["me"]["y"]
        assert y0 < COUNTER[1]  # the entrance, south of the counter
        goal = (10.0, 21.0)  # behind the counter: the straight line from the entrance crosses it
        # the first tap can land before the client knows its own avatar's place: tap again
        for _ in range(5):
            _tap_floor(page, *goal)
            if state(page)["walk"] is not None:
                break
            time.sleep(0.5)
        plan = state(page)["walk"]
        # the tap sends the point; the server routes it (the straight line would hit the counter)
        assert plan is not None and plan.get("target") == pytest.approx(list(goal), abs=0.01)
        path: list[tuple[float, float]] = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            me = state(page)["me"]
            path.append((me["x"], me["y"]))
            if abs(me["x"] - goal[0]) < 0.6 and abs(me["y"] - goal[1]) < 0.6:
                break
            time.sleep(0.25)
        me = state(page)["me"]
        assert abs(me["x"] - goal[0]) < 0.6 and abs(me["y"] - goal[1]) < 0.6, f"stopped at {me['x']:.2f},{me['y']:.2f}"
        # never inside the counter (with the avatar's radius)
        x0c, y0c, x1c, y1c = COUNTER
        assert not any(x0c - 0.25 < x < x1c + 0.25 and y0c - 0.25 < y < y1c + 0.25 for x, y in path)
        assert page.errors == []
    finally:
        context.close()


def test_camera_comes_into_the_booth(browser, server, shots):
    context, page = open_page(browser, server)
    try:
        enter(page, "ブースさん")
        goto(page, "booth3")
        page.wait_for_function("() => { const m = window.__yakuba.state.me; return Math.hypot(m.x - 15, m.y - 34.5) < 0.3 }", timeout=30_000)
        time.sleep(1.5)  # the camera eases in
        cam = state(page)["view"]["camera"]
        # above the booth (x 12..18, y 32..40), higher than its 3.2 m walls: no wall in between
        assert 12 < cam["x"] < 18 and 32 < cam["y"] < 40 and cam["h"] > 4.0, cam
        assert cam["room"] == "booth3"
        page.screenshot(path=str(shots / "journey-booth-camera.png"))
        # out in the corridor again: the usual camera behind the avatar
        goto(page, "corridor")
        time.sleep(2.0)
        assert state(page)["view"]["camera"]["room"] is None
    finally:
        context.close()


def test_desk_sign_never_hides_your_avatar(browser, server, shots):
    context, page = open_page(browser, server)
    try:
        enter(page, "案内さん")
        goto(page, "infodesk")
        page.wait_for_function("() => { const m = window.__yakuba.state.me; return Math.hypot(m.x - 10, m.y - 16.5) < 0.3 }", timeout=30_000)

        def desk_sign():
            return next(s for s in state(page)["view"]["signs"] if s["zone"] == "infodesk")

        time.sleep(0.5)
        assert desk_sign()["opacity"] == 1  # facing the counter, the sign is behind the avatar
        for _ in range(4):  # turn round: the camera now looks at you through the back of the sign
            page.click("#btn-rot-l")
        page.wait_for_function("() => window.__yakuba.state.view.signs.find(s => s.zone === 'infodesk').opacity < 0.5", timeout=10_000)
        assert desk_sign()["visible"]
        page.screenshot(path=str(shots / "journey-desk-sign-faded.png"))
        for _ in range(4):
            page.click("#btn-rot-l")
        page.wait_for_function("() => window.__yakuba.state.view.signs.find(s => s.zone === 'infodesk').opacity === 1", timeout=10_000)
    finally:
        context.close()


def test_nearby_count_follows_who_is_around(browser, server):
    ca, a = open_page(browser, server)
    cb, b = open_page(browser, server)
    try:
        enter(a, "数える人")
        enter(b, "隣の人")
        # both at the entrance, a few metres apart: counted within a second or two
        a.wait_for_function("document.querySelector('#hud-nearby').dataset.count === '1'", timeout=10_000)
        assert "1" in a.inner_text("#hud-nearby")
        # B walks into the hall (another room): no longer near
        goto(b, "hall")
        a.wait_for_function("document.querySelector('#hud-nearby').dataset.count === '0'", timeout=10_000)
        # back, then B's browser goes away (closed tab, lost network): its avatar stays for the
        # grace period, marked away, and is not counted as someone near
        goto(b, "entrance")
        a.wait_for_function("document.querySelector('#hud-nearby').dataset.count === '1'", timeout=10_000)
        cb.close()
        a.wait_for_function("document.querySelector('#hud-nearby').dataset.count === '0'", timeout=10_000)
    finally:
        ca.close()
        cb.close()  # closing twice is a no-op


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_phone_toolbar_readable_at_xlarge(browser, server, shots, lang):
    context, page = open_page(browser, server, **PHONE)
    try:
        enter(page, "大きな字", lang=lang, size="xlarge")
        time.sleep(0.5)
        page.screenshot(path=str(shots / f"journey-phone-xlarge-toolbar-{lang}.png"))
        buttons = page.locator(".toolbar > button:visible")
        assert buttons.count() >= 4
        for i in range(buttons.count()):
            bt = buttons.nth(i)
            box = bt.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844
            # one line of text: no label broken letter by letter into a column
            line = bt.evaluate("b => { const s = b.querySelector('span') || b; const r = s.getBoundingClientRect();"
                               " return [r.height, parseFloat(getComputedStyle(s).lineHeight) || parseFloat(getComputedStyle(s).fontSize) * 1.6] }")
            assert line[0] <= line[1] * 1.2, (bt.inner_text(), line)
            assert box["height"] < 110
        # the toolbar is not taller than two rows, and the secondary actions are in the menu
        tb = page.locator(".toolbar").bounding_box()
        assert tb["height"] < 200
        page.click("#btn-more")
        assert page.locator("#dlg-more[open] [data-proxy=btn-settings]").is_visible()
        page.click("#dlg-more [data-proxy=btn-settings]")
        assert page.locator("#dlg-settings[open]").count() == 1
        assert page.errors == []
    finally:
        context.close()
