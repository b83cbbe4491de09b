"""The consultation desk in three Chromium contexts against a real `yakuba serve` (issue #16,
part B): a staff member (signed in) in booth 5, a resident who takes a ticket and is called in,
and a bystander in the corridor who sees the booth's door closed with its 相談中 board and not
who is inside."""

from __future__ import annotations

import time

import pytest


from .conftest import STAFF_PASSWORD, axe_serious, staffed_node
from .test_web_client import enter, goto, open_page, state

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = STAFF_PASSWORD


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    yield from staffed_node(tmp_path_factory, "yakuba-desk", "sato")


def test_ticket_call_accept_enter_lock(browser, node, shots):
    cs, staff = open_page(browser, node, staff=True)
    cr, res = open_page(browser, node)
    cb, by = open_page(browser, node)
    try:
        enter(staff, "佐藤")
        assert state(staff)["me"]["principal"]["kind"] == "staff"
        assert staff.is_visible("#btn-staff")
        goto(staff, "booth5", wait=False)  # everyone walks at once: the staff member to the booth,
        enter(by, "通りすがり")  # the bystander to the corridor (seen there further down),
        goto(by, "corridor", wait=False)

        # the resident takes a ticket at the desk: department -> topic, big buttons
        enter(res, "区民はなこ")
        res.click("#btn-desk")
        res.click("#dlg-desk button[data-dept=resident]")
        res.click("#dlg-desk button[data-topic='resident.moving']")
        res.wait_for_selector("#ticket-code")
        code = res.inner_text("#ticket-code")
        assert code.startswith("区-")  # Japanese prefix from the department's name
        assert "あと1人" in res.inner_text("#ticket-info") or "次に" in res.inner_text("#ticket-info")
        assert res.is_visible("#ticket-leave")
        goto(res, "corridor", wait=False)  # and waits in the corridor, near the booths, to be called

        staff.wait_for_function("() => window.__yakuba.state.zone === 'booth5'", timeout=60_000)
        staff.keyboard.press("Alt+M")  # the console, from the keyboard
        staff.wait_for_selector("#staff-console:not([hidden]) #staff-call-next")
        assert staff.inner_text("#staff-booth-state")

        # the staff board lists it; call next with the shortcut
        staff.wait_for_selector("#staff-console .sc-ticket", timeout=10_000)
        staff.keyboard.press("Alt+N")
        staff.wait_for_function("c => document.querySelector('#staff-status').textContent.includes(c)", arg=code, timeout=10_000)
        time.sleep(0.5)
        staff.screenshot(path=str(shots / "consult-staff-console.png"))

        # the invitation: modal, announcement (assertive), chime, flash
        res.wait_for_selector("#dlg-invite[open]", timeout=10_000)
        assert code in res.inner_text("#dlg-invite")
        assert res.get_attribute("#consult-announce", "aria-live") == "assertive"
        res.wait_for_function("() => document.querySelector('#consult-announce').textContent.includes('ブース5')")
        assert state(res)["consult"]["chimes"] >= 1
        assert res.is_visible(".consult-flash")
        res.screenshot(path=str(shots / "consult-resident-invitation.png"))
        assert axe_serious(res) == []
        res.click("#invite-accept")
        res.wait_for_function("() => window.__yakuba.state.zone === 'booth5'", timeout=60_000)
        assert state(res)["consult"]["ticket"]["state"] == "serving"

        # the staff member sees the resident inside and locks the door
        staff.wait_for_selector("#staff-console [data-avatar]", timeout=10_000)
        staff.keyboard.press("Alt+L")
        staff.wait_for_selector("#staff-booth-state[data-state=locked]", timeout=10_000)

        # the bystander in the corridor: the door drawn closed with 相談中, nobody inside seen
        by.wait_for_function("() => window.__yakuba.state.zone === 'corridor'", timeout=60_000)
        by.wait_for_function("() => window.__yakuba.state.view.closed.includes('booth5')", timeout=10_000)
        names = [a["name"] for a in state(by)["avatars"]]
        assert "区民はなこ" not in names and "佐藤" not in names
        # walk up to the booth row and look at booth 5's door
        sx, sy = by.evaluate("() => window.__yakuba.screenOf(27, 30)")
        by.mouse.click(sx, sy)
        by.wait_for_function("() => { const m = window.__yakuba.state.me; return Math.hypot(m.x - 27, m.y - 30) < 0.7 }", timeout=30_000)
        time.sleep(1.5)
        by.screenshot(path=str(shots / "consult-bystander-locked-booth.png"))
        # and cannot walk in
        assert state(by)["zone"] == "corridor"
        # at the closed door the bystander may knock; the staff console shows the knock
        by.wait_for_selector("#booth-knock[data-booth=booth5]", timeout=10_000)
        by.click("#booth-knock")
        staff.wait_for_function("() => window.__yakuba.state.consult.staff && window.__yakuba.state.consult.staff.knocks.length > 0", timeout=10_000)

        # a procedure card for the resident inside
        staff.fill("#card-title", "転入届の書き方")
        staff.fill("#card-url", "https://example.jp/tennyu")
        staff.click("#card-send")
        res.wait_for_selector("#procedure-card", timeout=10_000)
        assert res.get_attribute("#procedure-card", "href") == "https://example.jp/tennyu"
        assert "転入届の書き方" in res.inner_text("#procedure-card")
        assert staff.errors == [] and res.errors == [] and by.errors == []
    finally:
        for c in (cs, cr, cb):
            c.close()
