"""The browser client against a real `yakuba serve`, in headless Debian Chromium (issue 4)."""

from __future__ import annotations

import math
import time

import pytest

from .conftest import STAFF_PASSWORD, Server, axe_serious

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"viewport": {"width": 1280, "height": 720}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}


def state(page) -> dict:
    return page.evaluate("window.__yakuba.state")


def open_page(browser, node, staff: bool | str = False, path: str = "/", **ctx):
    """A fresh browser context on the node's page, ready; ``staff``: signed in first with the
    password login, as login.html does it (True: the fixtures' "sato", or a username)."""
    context = browser.new_context(**{**DESKTOP, **ctx})
    if staff:
        user = "sato" if staff is True else staff
        r = context.request.post(node.url.rstrip("/") + "/api/auth/login", data={"username": user, "password": STAFF_PASSWORD},
                                 headers={"Origin": node.url.rstrip("/")})
        assert r.status == 200, r.text()
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    page.goto(node.url.rstrip("/") + path)
    page.wait_for_selector("html[data-ready]", state="attached")
    return context, page


def goto(page, zone: str, wait: bool = True, timeout: int = 60_000) -> None:
    """Walk there with the go-to menu, as a person would; ``wait``: until the avatar is in the zone."""
    page.click("#btn-goto")
    page.click(f"#goto-list button[data-zone={zone}]")
    if wait:
        page.wait_for_function("z => window.__yakuba.state.zone === z", arg=zone, timeout=timeout)


def enter(page, name: str | None = None, lang: str | None = None, size: str | None = None) -> dict:
    if lang == "en":
        page.click("label:has(input[name=lang][value=en])")
    if size:
        page.click(f"label:has(input[name=size][value={size}])")
    if name:
        page.fill("#name", name)
    page.click("#enter")
    page.wait_for_function("() => { const s = window.__yakuba.state; return s.connection === 'connected' && s.zone && s.frames > 3 }",
                           timeout=30_000)
    return state(page)


def my_pos(page) -> tuple[float, float]:
    me = state(page)["me"]
    return me["x"], me["y"]


def wait_other(page, name: str, timeout=15_000):
    page.wait_for_function("n => window.__yakuba.state.avatars.some(a => a.name === n)", arg=name, timeout=timeout)


def look_for(page, name: str) -> None:
    """Turn the view (toolbar button) until `name`'s tag is on screen; fail after a full turn."""
    for _ in range(9):
        tag = page.locator(".tag", has_text=name)
        if tag.count() and tag.first.is_visible():
            box = tag.first.bounding_box()
            if box and 0 <= box["x"] <= page.viewport_size["width"] and 0 <= box["y"] <= page.viewport_size["height"]:
                return
        page.click("#btn-rot-l")
        time.sleep(0.5)
    raise AssertionError(f"no name tag for {name} after turning the view around")


def test_entry_screen_japanese_first_english_and_accessible(browser, server, shots):
    context, page = open_page(browser, server)
    try:
        assert page.evaluate("document.documentElement.lang") == "ja"
        assert page.inner_text("h1") == "ようこそ、メタバース市役所へ"
        assert page.inner_text("#enter") == "入庁する"
        assert "来庁者" in page.get_attribute("#name", "placeholder")
        # how-to-move card with pictures
        assert page.locator("#howto-card svg").count() >= 4
        page.screenshot(path=str(shots / "entry-desktop-ja.png"))
        assert axe_serious(page) == []
        # keyboard: Tab reaches the language radios and the enter button, with a visible outline
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.name || document.activeElement.id")
        assert focused == "lang"
        outline = page.evaluate("getComputedStyle(document.activeElement.nextElementSibling).outlineStyle")
        assert outline != "none"
        # English
        page.click("label:has(input[name=lang][value=en])")
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.inner_text("h1") == "Welcome to the Metaverse City Hall"
        assert page.inner_text("#enter") == "Enter the city hall"
        page.screenshot(path=str(shots / "entry-desktop-en.png"))
        # 特大 really enlarges the UI
        before = page.evaluate("document.querySelector('#enter').getBoundingClientRect().height")
        page.click("label:has(input[name=size][value=xlarge])")
        after = page.evaluate("document.querySelector('#enter').getBoundingClientRect().height")
        assert after >= before * 1.4
        assert axe_serious(page) == []
        page.click("label:has(input[name=lang][value=ja])")
        page.screenshot(path=str(shots / "entry-desktop-ja-xlarge.png"))
        assert page.errors == []
    finally:
        context.close()


def test_two_visitors_see_each_other_walk_and_chat(browser, server, shots):
    ca, a = open_page(browser, server)
    cb, b = open_page(browser, server)
    try:
        sa = enter(a, "たろう")
        sb = enter(b, "Hanako", lang="en")
        assert sa["lang"] == "ja" and sb["lang"] == "en"
        wait_other(a, "Hanako")
        wait_other(b, "たろう")
        # name tags in each other's view (turning the view with the on-screen button if needed)
        look_for(a, "Hanako")
        look_for(b, "たろう")
        # HUD language
        assert a.inner_text("#hud-zone .hud-label") == "現在地"
        assert b.inner_text("#hud-zone .hud-label") == "You are in"
        assert a.get_attribute("#hud-zone", "data-zone") == "entrance"
        a.wait_for_function("document.querySelector('#hud-nearby').dataset.count >= 1", timeout=10_000)

        # A walks "forward" (the camera's direction) with the keyboard; B's scene shows A moving
        a_id = sa["me"]["id"]
        seen_before = next(p for p in state(b)["avatars"] if p["id"] == a_id)
        yaw = state(a)["yaw"]
        fx, fy = math.sin(yaw), math.cos(yaw)
        a.locator("#view3d").focus()
        a.keyboard.down("ArrowUp")
        time.sleep(1.6)
        a.keyboard.up("ArrowUp")
        b.wait_for_function(
            "([id, x0, y0, fx, fy]) => { const p = window.__yakuba.state.avatars.find(q => q.id === id);"
            " return p && (p.x - x0) * fx + (p.y - y0) * fy > 1.2 }",
            arg=[a_id, seen_before["x"], seen_before["y"], fx, fy], timeout=10_000)
        seen_after = next(p for p in state(b)["avatars"] if p["id"] == a_id)
        side = -(seen_after["x"] - seen_before["x"]) * fy + (seen_after["y"] - seen_before["y"]) * fx
        assert abs(side) < 0.6  # straight ahead, not sideways

        # chat crosses, in both directions
        a.fill("#chat-input", "こんにちは、案内はどこですか")
        a.press("#chat-input", "Enter")
        b.wait_for_selector("#chat-log p:has-text('こんにちは、案内はどこですか')", timeout=10_000)
        assert "たろう" in b.inner_text("#chat-log")
        b.fill("#chat-input", "Hello from Hanako")
        b.click("#chat-form button[type=submit]")
        a.wait_for_selector("#chat-log p:has-text('Hello from Hanako')", timeout=10_000)
        assert a.get_attribute("#chat-log", "aria-live") == "polite"

        time.sleep(0.5)
        a.screenshot(path=str(shots / "world-desktop-ja.png"))
        b.screenshot(path=str(shots / "world-desktop-en.png"))

        # in-world HUD: axe
        assert axe_serious(a) == []
        # switch B back to Japanese in-world: signs and HUD follow
        b.click("#btn-settings")
        b.click("#dlg-settings label:has(input[value=ja])")
        assert b.inner_text("#hud-zone .hud-label") == "現在地"
        b.keyboard.press("Escape")
        assert a.errors == [] and b.errors == []
    finally:
        ca.close()
        cb.close()


def test_go_to_info_desk(browser, server):
    context, page = open_page(browser, server)
    try:
        enter(page, "案内テスト")
        assert page.get_attribute("#hud-zone", "data-zone") == "entrance"
        page.click("#btn-goto")
        assert page.locator("#dlg-goto[open]").count() == 1
        assert axe_serious(page) == []  # the open dialog too
        page.click("#goto-list button[data-zone=infodesk]")
        page.wait_for_selector("#hud-zone[data-zone=infodesk]", timeout=30_000)
        assert page.inner_text("#hud-zone-name") == "総合案内"
        # the zone change is announced in a live region
        assert "総合案内" in page.inner_text("#toast") + page.inner_text("#chat-log")
    finally:
        context.close()


def _touch(cdp, kind, x=None, y=None):
    pts = [] if x is None else [{"x": x, "y": y, "id": 1}]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": pts})


def test_phone_joystick_and_tap_to_walk(browser, server, shots):
    context, page = open_page(browser, server, **PHONE)
    try:
        page.click("label:has(input[name=size][value=large])")
        page.screenshot(path=str(shots / "entry-phone-ja-large.png"), full_page=False)
        enter(page, "スマホさん")
        assert page.is_visible("#stick")
        cdp = context.new_cdp_session(page)
        x0, y0 = my_pos(page)
        box = page.locator("#stick").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        _touch(cdp, "touchStart", cx, cy)
        for i in range(1, 6):
            _touch(cdp, "touchMove", cx, cy - i * 12)
        time.sleep(1.5)
        _touch(cdp, "touchEnd")
        page.wait_for_function("y0 => window.__yakuba.state.me.y > y0 + 1.5", arg=y0, timeout=10_000)
        x1, y1 = my_pos(page)
        assert abs(x1 - x0) < 0.6
        time.sleep(0.4)
        # tap the floor ahead and a little to the right: the avatar walks there
        vw, vh = 390, 844
        x1, y1 = my_pos(page)
        page.touchscreen.tap(vw * 0.7, vh * 0.42)
        page.wait_for_function("([x, y]) => { const m = window.__yakuba.state.me; return Math.hypot(m.x - x, m.y - y) > 1.5 }",
                               arg=[x1, y1], timeout=10_000)
        time.sleep(1.0)
        x2, y2 = my_pos(page)
        assert x2 > x1 + 0.5 and y2 > y1 + 0.5  # right and ahead
        page.screenshot(path=str(shots / "world-phone-ja-large.png"))
        page.click("#btn-more")  # on a phone the secondary buttons are in the menu
        page.click("#dlg-more [data-proxy=btn-settings]")
        page.click("#dlg-settings label:has(input[value=en])")
        page.keyboard.press("Escape")
        time.sleep(0.3)
        page.screenshot(path=str(shots / "world-phone-en-large.png"))
        assert page.errors == []
    finally:
        context.close()


def test_reconnect_banner_and_session_restored(browser, tmp_path, built_client, shots):
    srv = Server(tmp_path)
    srv.start()
    context = None
    try:
        context, page = open_page(browser, srv)
        s0 = enter(page, "再接続さん")
        srv.kill()
        page.wait_for_selector("#banner:not([hidden])", timeout=15_000)
        assert "再接続中" in page.inner_text("#banner")
        assert page.get_attribute("#hud-conn", "data-state") == "reconnecting"
        page.screenshot(path=str(shots / "world-desktop-ja-reconnecting.png"))
        srv.start()
        page.wait_for_selector("#banner", state="hidden", timeout=30_000)
        page.wait_for_function(
            "n => { const s = window.__yakuba.state; return s.connection === 'connected' && s.me"
            " && s.avatars.some(a => a.id === s.me.id && a.name === n) }", arg="再接続さん", timeout=15_000)
        s1 = state(page)
        assert s1["screen"] == "world"  # no trip back to the entry screen
        assert s1["me"]["name"] == s0["me"]["name"]
        # the restored avatar can still walk
        y0 = s1["me"]["y"]
        page.locator("#view3d").focus()
        page.keyboard.down("ArrowUp")
        time.sleep(1.0)
        page.keyboard.up("ArrowUp")
        page.wait_for_function("y0 => window.__yakuba.state.me.y > y0 + 0.8", arg=y0, timeout=10_000)
    finally:
        if context:
            context.close()
        srv.stop()
