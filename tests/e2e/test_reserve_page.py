"""The reservation page in headless Chromium against a real `yakuba serve` (issue #16): a staff
member publishes a slot through the API (login session + CSRF), a resident books it on the page
(department -> topic -> time -> book) and sees the code, the calendar link and a cancel button."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import icalendar
import pytest


from .conftest import STAFF_PASSWORD, axe_serious, staffed_node

pytestmark = [pytest.mark.browser]
PASSWORD = STAFF_PASSWORD


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    yield from staffed_node(tmp_path_factory, "yakuba-reserve", "kato")


def _publish(browser, node, start: datetime | None = None) -> dict:
    """Staff publish tomorrow 10:00-10:20 (Japan time) for tax.payment (or from ``start``), through the API."""
    ctx = browser.new_context()
    try:
        api = ctx.request
        r = api.post(node.url + "/api/auth/login", data={"username": "kato", "password": PASSWORD}, headers={"Origin": node.url})
        assert r.status == 200, r.text()
        csrf = r.json()["csrf"]
        jst = timezone(timedelta(hours=9))
        day = (datetime.now(jst) + timedelta(days=1)).date()
        start = start or datetime(day.year, day.month, day.day, 10, 0, tzinfo=jst)
        r = api.post(node.url + "/api/consult/slots", headers={"Origin": node.url, "X-CSRF-Token": csrf},
                     data={"topic": "tax.payment", "start": start.isoformat(), "end": (start + timedelta(minutes=20)).isoformat(),
                           "capacity": 2})
        assert r.status == 201, r.text()
        return r.json()["slots"][0]
    finally:
        ctx.close()


def test_resident_books_a_published_slot(browser, node, shots) -> None:
    slot = _publish(browser, node)
    ctx = browser.new_context(viewport={"width": 1000, "height": 1100}, locale="ja-JP", accept_downloads=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(node.url + "/reserve.html")
        page.wait_for_selector("html[data-ready]", state="attached")
        assert page.locator("h1").inner_text() == "相談の予約"
        page.get_by_role("button", name="税務課").click()
        page.get_by_role("button", name="納税の相談・分割納付").click()
        slot_button = page.get_by_role("button", name="10:00–10:20")
        slot_button.wait_for()
        assert "残り2" in slot_button.inner_text()
        slot_button.click()
        page.fill("#rsv-name", "区民 花子")
        page.click("#book")
        page.wait_for_selector("html[data-code]", state="attached")
        code = page.locator("#code").inner_text()
        assert len(code) == 9 and code[4] == "-" and page.locator("#code").is_visible()
        assert "予約済み" in page.locator("#done-status").inner_text()
        assert "納税の相談" in page.locator("#done-slot").inner_text() and "10:00" in page.locator("#done-slot").inner_text()
        page.screenshot(path=str(shots / "reserve.png"), full_page=True)
        assert axe_serious(page) == []
        # the calendar link gives the booking's .ics
        with page.expect_download() as dl:
            page.click("#ics")
        (ev,) = icalendar.Calendar.from_ical(open(dl.value.path(), "rb").read()).walk("VEVENT")
        assert ev.decoded("DTSTART") == datetime.fromisoformat(slot["start"]) and code in str(ev["DESCRIPTION"])
        # the server has it, and the slot shows one place less
        r = page.request.get(node.url + f"/api/consult/slots?topic=tax.payment")
        assert [s["free"] for s in r.json()["slots"] if s["id"] == slot["id"]] == [1]
        # cancel (after the confirmation dialog)
        page.once("dialog", lambda d: d.accept())
        page.click("#cancel")
        page.wait_for_function("() => document.querySelector('#done-status').className === 'rsv-status-cancelled'")
        assert page.locator("#cancel").is_hidden()
        # English, and the code opened from the address bar
        page.goto(node.url + f"/reserve.html?lang=en&code={code.lower()}")
        page.wait_for_selector("html[data-ready]", state="attached")
        assert page.locator("#code").inner_text() == code and page.locator("#done-status").inner_text().startswith("Cancelled")
        assert errors == []
    finally:
        ctx.close()


def test_a_code_booked_in_the_browser_is_a_priority_ticket_at_the_desk(browser, node, shots) -> None:
    """Book a slot starting in a few minutes on the reservation page, walk into the city hall,
    type the code at the information desk: the ticket is the booked topic's, marked priority."""
    jst = timezone(timedelta(hours=9))
    soon = (datetime.now(jst) + timedelta(minutes=10)).replace(second=0, microsecond=0)
    _publish(browser, node, soon)
    ctx = browser.new_context(viewport={"width": 1100, "height": 900}, locale="ja-JP")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(node.url + "/reserve.html")
        page.wait_for_selector("html[data-ready]", state="attached")
        page.get_by_role("button", name="税務課").click()
        page.get_by_role("button", name="納税の相談・分割納付").click()
        page.get_by_role("button", name=f"{soon:%H:%M}–{soon + timedelta(minutes=20):%H:%M}").click()
        page.click("#book")
        page.wait_for_selector("html[data-code]", state="attached")
        code = page.locator("#code").inner_text()
        page.goto(node.url + "/")
        page.wait_for_selector("html[data-ready]", state="attached")
        page.click("#enter")
        page.wait_for_function("() => window.__yakuba.state.connection === 'connected' && window.__yakuba.state.zone")
        page.click("#btn-desk")
        page.fill("#dlg-desk .desk-checkin input", code.lower())
        page.screenshot(path=str(shots / "desk-checkin.png"))
        page.click("#dlg-desk .desk-checkin button")
        page.wait_for_function("() => window.__yakuba.state.consult && window.__yakuba.state.consult.ticket")
        ticket = page.evaluate("window.__yakuba.state.consult.ticket")
        assert ticket["topic"] == "tax.payment" and ticket["priority"] is True
        assert errors == []
    finally:
        ctx.close()


def test_staff_manage_their_day_in_the_browser(browser, node, shots) -> None:
    """The staff page: without a session it sends you to the login and back; publishing two
    slots in a row shows them with their places; a booking shows its code (never an e-mail
    address); withdrawing a slot marks it and cancels its booking."""
    ctx = browser.new_context(viewport={"width": 1100, "height": 1000}, locale="ja-JP")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    try:
        page.goto(node.url + "/staff-day.html")
        page.wait_for_url("**/login.html?next=*")
        page.fill("#username", "kato")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("html[data-ready]", state="attached")
        jst = timezone(timedelta(hours=9))
        day = (datetime.now(jst) + timedelta(days=2)).date()
        page.fill("#day-date", day.isoformat())
        page.select_option("#f-topic", "health.checkups")
        page.fill("#f-start", "14:00")
        page.fill("#f-len", "20")
        page.fill("#f-count", "2")
        page.click("#f-publish")
        page.wait_for_function("() => document.documentElement.dataset.slots === '2'")
        items = page.locator(".day-slot")
        assert "14:00–14:20" in items.nth(0).inner_text() and "14:20–14:40" in items.nth(1).inner_text()
        slot_id = int(items.nth(0).get_attribute("data-slot"))
        resident = browser.new_context()  # a resident, no staff cookie
        r = resident.request.post(node.url + "/api/consult/bookings", data={"slot": slot_id, "name": "区民 一郎", "email": "ichiro@example.jp"},
                                  headers={"Origin": node.url})
        assert r.status == 201, r.text()
        code = r.json()["code"]
        resident.close()
        page.click("#day-show")
        page.wait_for_selector(f"tr[data-code='{code}']")
        row = page.locator(f"tr[data-code='{code}']").inner_text()
        assert "予約中" in row and "区民 一郎" in row and "ichiro@example.jp" not in page.content()
        page.screenshot(path=str(shots / "staff-day.png"), full_page=True)
        items.nth(0).get_by_role("button", name="取り下げる").click()
        page.wait_for_function("() => document.querySelector('.day-slot.withdrawn') !== null")
        assert "取消" in page.locator(f"tr[data-code='{code}']").inner_text()
        assert errors == []
    finally:
        ctx.close()
