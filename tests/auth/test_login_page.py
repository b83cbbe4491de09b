"""Staff log in through the web page in headless Chromium (a real `yakuba serve`), see clear
errors for a wrong password and for throttling, and walk in with the staff badge."""

from __future__ import annotations

import os
import subprocess

import pytest

from yakuba_testing import VENV_BIN, ServeProcess

from e2e.conftest import _ensure_built  # the built client (scripts/build-web.sh)

from .helpers import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    _ensure_built()
    data = tmp_path_factory.mktemp("yakuba-login")
    env = {**os.environ, "YAKUBA_ARGON2_PROFILE": "test", "YAKUBA_LOGIN_MAX_FAILURES": "3"}
    yakuba = str(VENV_BIN / "yakuba")
    subprocess.run([yakuba, "municipality", "add", "271209", "大阪府堺市", "--data", str(data)], env=env, check=True, capture_output=True)
    subprocess.run([yakuba, "staff", "add", "yamada", "--municipality", "271209", "--data", str(data)],
                   input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)
    s = ServeProcess(data, env=env).start()
    yield s
    s.stop()


def _login_page(browser, node, lang=None):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(node.url + "/login.html" + (f"?lang={lang}" if lang else ""))
    page.wait_for_selector("html[data-ready]", state="attached")
    page.errors = errors  # type: ignore[attr-defined]
    return ctx, page


def _submit(page, username, password):
    page.fill("#username", username)
    page.fill("#password", password)
    page.press("#password", "Enter")  # keyboard works: Enter submits


def test_staff_login_page_then_staff_badge(browser, node, shots):
    ctx, page = _login_page(browser, node)
    try:
        assert page.locator("h1").inner_text() == "職員ログイン"
        # the entrance links here
        page.goto(node.url + "/")
        page.wait_for_selector("html[data-ready]", state="attached")
        link = page.locator("#staff-login")
        assert link.is_visible() and link.inner_text() == "職員ログイン"
        link.click()
        page.wait_for_url(node.url + "/login.html", timeout=10_000)
        page.wait_for_selector("html[data-ready]", state="attached")
        _submit(page, "yamada", "not the password")
        page.wait_for_function("document.querySelector('#login-error').textContent.length > 0")
        assert page.locator("#login-error").inner_text() == "ユーザー名またはパスワードが違います。"
        assert page.evaluate("document.documentElement.dataset.loginError") == "login_failed"
        page.screenshot(path=str(shots / "login-error-ja.png"))
        _submit(page, "yamada", PASSWORD)
        page.wait_for_url(node.url + "/", timeout=15_000)
        page.wait_for_selector("html[data-ready]", state="attached")
        page.wait_for_function("!document.querySelector('#staff-as').hidden")
        assert "271209" in page.locator("#staff-as").inner_text()
        assert page.locator("#staff-login").is_hidden()
        page.click("#enter")
        page.wait_for_function("() => { const s = window.__yakuba.state; return s.connection === 'connected' && s.me && s.me.principal }",
                               timeout=30_000)
        me = page.evaluate("window.__yakuba.state.me")
        assert me["role"] == "staff" and me["principal"] == {"kind": "staff", "municipality": "271209", "roles": ["staff"]}
        badge = page.locator("#hud-staff")
        assert badge.is_visible() and badge.inner_text() == "職員 271209"
        page.screenshot(path=str(shots / "staff-badge.png"))
        # the session cookie is HttpOnly: page scripts cannot read it
        assert "yakuba_session" not in page.evaluate("document.cookie")
        assert not page.errors
    finally:
        ctx.close()


def test_login_page_english_and_throttled(browser, node, shots):
    ctx, page = _login_page(browser, node, lang="en")
    try:
        assert page.locator("h1").inner_text() == "Staff login"
        page.click("label:has(input[name=lang][value=ja])")  # the switch works both ways
        assert page.locator("h1").inner_text() == "職員ログイン"
        page.click("label:has(input[name=lang][value=en])")
        codes = []
        for _ in range(4):
            _submit(page, "yamada", "wrong wrong wrong")
            page.wait_for_function("!document.querySelector('#login-submit').disabled && document.querySelector('#login-error').textContent")
            codes.append(page.evaluate("document.documentElement.dataset.loginError"))
            page.evaluate("document.querySelector('#login-error').textContent = ''")
        assert codes[-1] == "login_throttled"
        assert codes.count("login_failed") >= 1
        _submit(page, "yamada", "wrong wrong wrong")
        page.wait_for_function("document.querySelector('#login-error').textContent.length > 0")
        assert "Too many failed logins" in page.locator("#login-error").inner_text()
        page.screenshot(path=str(shots / "login-throttled-en.png"))
        assert not page.errors
    finally:
        ctx.close()
