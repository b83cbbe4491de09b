"""The inter-municipal salon in Chromium against a real `yakuba serve` (issue #20): staff of two
municipalities, signed in with their passwords, accept the code of conduct at the door, meet in
the lounge and chat; each sees the other's municipality / department and the verified mark the
server issued. A resident's context cannot get in: the door refuses it, with a message."""

from __future__ import annotations

import math
import os
import subprocess

import pytest

from .conftest import STAFF_PASSWORD, _ensure_built
from .test_web_client import DESKTOP, enter, goto, open_page, state

pytestmark = [pytest.mark.browser, pytest.mark.slow]

STAFF = {  # username: (municipality code, municipality, display name, department)
    "hanako": ("271403", "堺市", "堺 花子", "危機管理課"),
    "jiro": ("131016", "千代田区", "千代田 次郎", "子育て支援課"),
}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """Two municipalities and one staff member of each, made with the CLI as an operator would."""
    from yakuba_testing import VENV_BIN, ServeProcess

    _ensure_built()
    data = tmp_path_factory.mktemp("yakuba-salon")
    env = {**os.environ, "YAKUBA_ARGON2_PROFILE": "test"}
    yakuba = str(VENV_BIN / "yakuba")
    for code, city in {(v[0], v[1]) for v in STAFF.values()}:
        subprocess.run([yakuba, "municipality", "add", code, city, "--data", str(data)], env=env, check=True, capture_output=True)
    for user, (code, _, name, dept) in STAFF.items():
        subprocess.run([yakuba, "staff", "add", user, "--municipality", code, "--display-name", name, "--department", dept,
                        "--data", str(data)], input=STAFF_PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)
    s = ServeProcess(data, env=env).start()
    yield s
    s.stop()


def _to_salon(page, shots, name: str) -> None:
    """Through the door: it asks for the code of conduct once; accepting walks on into the lounge
    (without waiting for the walk: the caller waits with _in_lounge, so two can walk at once)."""
    goto(page, "salon-lounge", wait=False)
    page.wait_for_selector("#dlg-conduct[open]", timeout=30_000)
    assert "個人情報" in page.inner_text("#conduct-text")
    page.screenshot(path=str(shots / f"salon-conduct-{name}.png"))
    page.click("#conduct-accept")


def _in_lounge(page) -> None:
    page.wait_for_function("() => window.__yakuba.state.zone === 'salon-lounge'", timeout=60_000)


def _on_screen(page, x: float, y: float):
    sx, sy = page.evaluate("([x, y]) => window.__yakuba.screenOf(x, y)", [x, y])
    w, h = DESKTOP["viewport"]["width"], DESKTOP["viewport"]["height"]
    return (sx, sy) if 20 < sx < w - 20 and 80 < sy < h - 140 else None


def _until_still(page, timeout_s: float = 30) -> None:
    """Until the avatar has stopped (arrived, or stopped by a wall): its position steady for 0.6 s."""
    last, steady = None, 0
    for _ in range(int(timeout_s / 0.3)):
        page.wait_for_timeout(300)
        me = state(page)["me"]
        pos = (round(me["x"], 2), round(me["y"], 2))
        steady = steady + 1 if pos == last else 0
        if steady >= 2:
            return
        last = pos
    raise AssertionError("the avatar never stopped")


def _tap_toward_door(page, goal_x: float = 46.0, lane_y: float = 26.0) -> None:
    """Tap the floor as a person would, along the corridor's lane to the salon's door: the
    farthest visible point each time, until a point inside the salon is tapped. First the view is
    turned, a step at a time, to look down the corridor toward the door (the go-to walk leaves it
    looking back west, where only the next 2 m of the lane show: a tap every 2 m took 20 s)."""
    for _turn in range(8):
        me, yaw = state(page)["me"], state(page)["yaw"]
        dx, dy = goal_x - me["x"], lane_y - me["y"]
        if (math.sin(yaw) * dx + math.cos(yaw) * dy) / math.hypot(dx, dy) > 0.9:  # within 25° of the door
            break
        page.click("#btn-rot-r")
        page.wait_for_timeout(400)
    for _ in range(12):
        me = state(page)["me"]
        xs = [goal_x] + [x for x in range(int(goal_x) - 1, int(me["x"]), -1)]
        for _turn in range(8):  # nothing of the lane in view: turn the view a step, as a person would
            x, pt = next(((x, p) for x in xs if (p := _on_screen(page, x, lane_y))), (None, None))
            if pt:
                break
            page.click("#btn-rot-r")
            page.wait_for_timeout(400)
        else:
            raise AssertionError(f"nothing of the lane in view from {me}")
        page.mouse.click(*pt)
        if x >= 44:  # a point inside the salon (the lounge starts at x = 44, its door) was tapped
            return
        _until_still(page)
    raise AssertionError("the door never came into view")


def test_two_municipalities_meet_in_the_lounge_and_a_resident_is_refused(browser, node, shots):
    ca, a = open_page(browser, node, "hanako")
    cb, b = open_page(browser, node, "jiro")
    cr, r = open_page(browser, node, None)
    try:
        enter(a, "hanako")
        enter(b, "jiro")
        enter(r, "住民")
        # a resident: the salon is not in the go-to menu; they set off along the corridor (the
        # door is tried further down) while the two staff walk to the lounge, all at once
        assert r.locator("#goto-list button[data-zone=salon-lounge]").count() == 0
        r.keyboard.press("Escape")
        goto(r, "corridor", wait=False)
        _to_salon(a, shots, "a")
        _to_salon(b, shots, "b")
        _in_lounge(a)
        _in_lounge(b)
        for page in (a, b):  # both on each presence list, with the server's cards
            page.wait_for_function("() => document.querySelectorAll('#salon-people li[data-avatar]').length === 2", timeout=15_000)
        people = a.inner_text("#salon-people")
        assert "千代田 次郎" in people and "千代田区 / 子育て支援課" in people and "認証済み" in people
        assert "堺市 / 危機管理課" in b.inner_text("#salon-people")
        # an event planned from the panel (first: b's list of events reloads only every 10 s, so it
        # catches up while the rest goes on); b takes a place at the end
        a.click(".salon-schedule summary")
        a.fill(".salon-schedule input[name=title]", "防災DX勉強会")
        start = a.evaluate("() => { const d = new Date(Date.now() + 86400000); d.setMinutes(0, 0, 0);"
                           " return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16); }")
        a.fill(".salon-schedule input[name=start]", start)
        a.check(".salon-schedule input[name=hybrid]")
        a.click(".salon-schedule button[type=submit]")
        a.wait_for_selector(".salon-events li[data-event]", timeout=10_000)
        assert "防災DX勉強会（1/20）" in a.inner_text(".salon-events")
        # chat: each line carries the speaker's municipality / department and the verified mark
        for page, text in ((a, "はじめまして、堺市の花子です"), (b, "千代田区の次郎です。よろしくお願いします")):
            if page.get_attribute("#btn-chat", "aria-expanded") != "true":
                page.click("#btn-chat")
            page.fill("#chat-input", text)
            page.press("#chat-input", "Enter")
        a.wait_for_function("() => document.querySelector('#chat-log').textContent.includes('千代田区の次郎です')", timeout=10_000)
        b.wait_for_function("() => document.querySelector('#chat-log').textContent.includes('堺市の花子です')", timeout=10_000)
        line = a.locator("#chat-log p", has_text="千代田区の次郎です")
        assert line.locator(".salon-card .org").inner_text() == "千代田区 / 子育て支援課"
        assert "認証済み" in line.locator(".salon-card .verified").inner_text()
        assert "堺市 / 危機管理課" in b.locator("#chat-log p", has_text="堺市の花子です").inner_text()
        a.screenshot(path=str(shots / "salon-lounge-a.png"))
        b.screenshot(path=str(shots / "salon-lounge-b.png"))
        # the board of who is online, by municipality
        a.wait_for_function("() => document.querySelectorAll('.salon-board-muni').length === 2", timeout=10_000)
        assert "千代田区（1）" in a.inner_text(".salon-board") and "堺 花子 / 危機管理課" in b.inner_text(".salon-board")
        # the resident, in the corridor by now: a click inside the salon is refused with a message
        r.wait_for_function("() => window.__yakuba.state.zone === 'corridor'", timeout=60_000)
        _tap_toward_door(r)  # a point just inside the salon's door
        r.wait_for_function("() => window.__yakuba.state.lastError === 'salon_staff_only'", timeout=10_000)
        assert "認証済みの自治体職員専用" in r.inner_text("#alert-text")
        assert state(r)["zone"] != "salon-lounge"
        r.screenshot(path=str(shots / "salon-resident-refused.png"))
        # b takes a place in a's event (b's list reloads every 10 s: up to 20 s after a's change)
        b.wait_for_selector(".salon-events li[data-event]", timeout=20_000)
        b.click(".salon-events li[data-event] button")
        b.wait_for_function("() => document.querySelector('.salon-events').textContent.includes('（2/20）')", timeout=10_000)
        b.screenshot(path=str(shots / "salon-board-events-b.png"))
        assert a.errors == [] and b.errors == [] and r.errors == []
    finally:
        for c in (ca, cb, cr):
            c.close()
