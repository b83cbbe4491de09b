"""The planner's form is checked, not coerced, and says what the run assumed (issue #19): an empty
wind speed, -5 m/s and 500 hours each get a message at the field and send nothing; the origin can
be chosen by keyboard and is named in words; the model and the brigades go into the request and
are stated in the results and the legend; the class legend says what the simulation assumes.
Screenshots: artifacts/screenshots/model-inputs-*.png"""

from __future__ import annotations

import pytest

from .conftest import SYNTH_ID
from .test_model_view import open_view

pytestmark = pytest.mark.timeout(200)


def sim_posts(page) -> list:
    posts: list = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" and "/simulations" in r.url else None)
    return posts


def error_of(page, field: str) -> str:
    page.wait_for_selector(f"#{field}-err")
    assert page.get_attribute(f"#{field}", "aria-invalid") == "true"
    assert page.evaluate("id => document.activeElement.id", field) == field
    return page.inner_text(f"#{field}-err")


def test_bad_numbers_get_a_message_and_send_nothing(page, server, shots):
    posts = sim_posts(page)
    open_view(page, server, SYNTH_ID)
    page.select_option("#m-preset", "custom")
    page.fill("#m-ws", "")
    page.click("#m-run")
    assert "風速" in error_of(page, "m-ws") and "0〜40" in page.inner_text("#m-ws-err")
    page.screenshot(path=str(shots / "model-inputs-empty-wind.png"))
    page.fill("#m-ws", "-5")  # typing clears the message; running again shows the new one
    assert page.query_selector("#m-ws-err") is None
    page.click("#m-run")
    assert "-5" in error_of(page, "m-ws")
    page.fill("#m-ws", "8")
    page.fill("#m-hours", "500")
    page.click("#m-run")
    msg = error_of(page, "m-hours")
    assert "72" in msg and "500" in msg
    page.check("#m-sup")
    page.fill("#m-hours", "6")
    page.fill("#m-sup-n", "2.5")
    page.click("#m-run")
    assert "整数" in error_of(page, "m-sup-n")
    page.wait_for_timeout(300)
    assert posts == [], "nothing was sent while a field was wrong"
    assert page.errors == []


def test_keyboard_origin_model_brigades_and_legend(page, server, shots):
    posts = sim_posts(page)
    open_view(page, server, SYNTH_ID)
    # The origin by keyboard only: type a building number, arrows, Enter. A wooden one mid-district.
    fid = page.evaluate("() => { for (let i = 700; i < 1500; i++) if (__model.structureOf(i) === '601') return i; return -1; }")
    assert fid > 0
    page.focus("#m-ign-search")
    page.keyboard.type(str(fid))
    page.wait_for_selector("#m-ign-list li[role=option]")
    assert page.get_attribute("#m-ign-search", "aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    label = page.inner_text("#m-ign")
    gid = page.evaluate("__model.ignition")
    assert gid == page.evaluate(f"__model.gmlIdOf({fid})")
    assert label.startswith("出火点:") and f"建物 {fid}" in label and "木造" in label, label
    assert "高さ" in label and gid not in label, "named by what it is, not by a raw id"
    page.screenshot(path=str(shots / "model-inputs-origin.png"))

    page.select_option("#m-preset", "最悪")
    page.select_option("#m-policy", "none")
    page.select_option("#m-model", "physics")
    page.check("#m-sup")
    page.fill("#m-sup-delay", "8")
    page.fill("#m-sup-n", "12")
    page.fill("#m-sup-front", "15")
    page.fill("#m-sup-int", "3")
    page.select_option("#m-slot", "A")
    page.click("#m-run")
    page.wait_for_function("window.__model.runs.A !== null", timeout=90_000)
    req = page.evaluate("__model.lastRequest")
    assert req["model"] == "physics"
    assert req["suppression"] == {"delay_min": 8, "brigades": 12, "front_m": 15, "interval_min": 3}
    assert len(posts) == 1 and "physics" in (posts[0].post_data or "")
    assert page.evaluate("__model.runs.A.buildings_burnt") > 1
    assert req["ignition"] == [gid]
    notes = page.inner_text("#m-run-notes")
    assert "物理モデル" in notes and "消防活動あり: 8分後に到着・12隊（3分おき）・各15m" in notes
    legend = page.inner_text("#m-legend")  # fire mode after a run: the legend states it too
    assert "消防活動あり" in legend and "物理モデル" in legend
    page.screenshot(path=str(shots / "model-inputs-physics-brigades.png"))

    page.select_option("#m-mode", "fireclass")
    legend = page.inner_text("#m-legend")
    assert "不明（防火造として計算）" in legend and "耐火（燃えない・延焼を遮る）" in legend
    page.click("#m-lang")
    legend_en = page.inner_text("#m-legend")
    assert "Unknown" in legend_en or "unknown" in legend_en.lower()
    page.screenshot(path=str(shots / "model-inputs-legend-en.png"))
    assert page.errors == []
