"""The registration page (clients/web/event.html, src/event.js) in headless Chromium against the
real app: a resident sees the upcoming event, registers with an optional name, gets a code and
is told they attend; the next one (capacity 1) is a spectator with the link to hall-watch.html;
the attendee cancels by the code in the address and the spectator's page then says attendee.
Vite builds only this page into a temporary directory (the shared dist/ is left alone)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from yakuba.server.auth.principal import Kind, Principal
from yakuba.server.events.routes import EVENTS_KEY

from server.realtime_client import running_app
from yakuba_testing import CHROME_ARGS, CHROMIUM

WEB = Path(__file__).resolve().parents[2] / "clients" / "web"
BUILD = """
import { build } from 'vite';
await build({ root: process.cwd(), base: './', logLevel: 'warn', configFile: false,
  build: { outDir: process.argv[1], emptyOutDir: true, assetsDir: 'static', rollupOptions: { input: { event: 'event.html' } } } });
"""


@pytest.fixture(scope="module")
def page_root(tmp_path_factory) -> Path:
    if not (WEB / "node_modules" / "vite").is_dir() or shutil.which("node") is None:
        pytest.skip("no node or vite (clients/web: npm ci)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    out = tmp_path_factory.mktemp("event-page")
    subprocess.run(["node", "--input-type=module", "-e", BUILD, str(out)], cwd=WEB, check=True, timeout=300)
    (out / "index.html").write_text("<!doctype html><title>Yakuba</title>")  # the app serves a root with an index
    return out


async def test_register_attend_spectate_cancel(tmp_path, page_root) -> None:
    from playwright.async_api import async_playwright

    async with running_app(tmp_path, web_root=page_root) as (url, app):
        start = datetime.now(timezone.utc) + timedelta(days=1)
        ev = await app[EVENTS_KEY].create(Principal(kind=Kind.STAFF, staff_id=1), "職員採用説明会", "briefing",
                                          start, start + timedelta(hours=1), 1, [])
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
            try:
                first = await browser.new_page()
                await first.goto(f"{url}/event.html?lang=ja")
                await first.wait_for_selector("html[data-ready='1']")
                button = first.locator("#events button", has_text="職員採用説明会")
                assert "残り1席" in await button.inner_text() and "採用説明会" in await button.inner_text()
                await button.click()
                await first.fill("#ev-name", "山田")
                await first.click("#register")
                await first.wait_for_selector("html[data-role='attendee']")
                code = await first.inner_text("#code")
                assert len(code) == 9 and code[4] == "-"
                assert "参加者" in await first.inner_text("#done-role") and await first.is_visible("#enter")
                assert f"event={ev['id']}" in first.url and code in first.url

                second = await browser.new_page()
                await second.goto(f"{url}/event.html?lang=en")
                await second.wait_for_selector("html[data-ready='1']")
                assert "Full" in await second.locator("#events button").inner_text()
                await second.locator("#events button").click()
                await second.click("#register")
                await second.wait_for_selector("html[data-role='spectator']")
                assert "spectator" in await second.inner_text("#done-role")
                assert "hall-watch.html" in await second.get_attribute("#watch", "href") and await second.is_visible("#watch")

                first.on("dialog", lambda d: d.accept())
                await first.click("#cancel")
                await first.wait_for_selector("#done-role.ev-role-cancelled")
                await second.reload()  # the code in the address: the promoted spectator now attends
                await second.wait_for_selector("html[data-role='attendee']")
                assert not await second.is_visible("#watch")
            finally:
                await browser.close()
