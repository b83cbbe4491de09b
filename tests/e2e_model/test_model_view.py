"""City model view (clients/web/model.html) in headless Chromium against a real `yakuba serve`.

Issue 5: the dataset's tiles load (feature count through the read-only window.__model hook
equals the dataset's building count), a real click on a building shows its attributes.
Issue 6: a fire scenario runs as a server job, plays back, burnt buildings (read back from the
vertex colours actually drawn) increase from t = 0 to 3 h, an A/B comparison and a cluster map.
Screenshots: artifacts/screenshots/model_*.png
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from .conftest import SYNTH_ID

pytestmark = pytest.mark.timeout(150)

OSAKA = "osaka-sumiyoshi"


def api(server: str, path: str) -> dict:
    with urllib.request.urlopen(server + path, timeout=10) as r:
        return json.loads(r.read())


def open_view(page, server: str, ds: str) -> None:
    page.goto(f"{server}/model.html?dataset={ds}")
    page.wait_for_function(
        "window.__model && window.__model.buildingCount > 0 && window.__model.featureCount >= window.__model.buildingCount",
        timeout=60_000)
    page.wait_for_timeout(400)  # a couple of frames so the camera and colours settle


def set_time(page, seconds: int) -> None:
    page.evaluate("s => { const el = document.getElementById('m-time'); el.value = String(s);"
                  " el.dispatchEvent(new Event('input', {bubbles: true})); }", seconds)
    page.wait_for_function("s => Math.abs(window.__model.time - s) < 1", arg=seconds)
    page.wait_for_timeout(150)


def run_fire(page, slot: str, preset: str, policy: str, **fields) -> dict:
    page.select_option("#m-preset", preset)
    page.select_option("#m-policy", policy)
    for sel, val in fields.items():
        page.fill(f"#{sel}", str(val))
    page.select_option("#m-slot", slot)
    page.click("#m-run")
    page.wait_for_function(f"window.__model.runs.{slot} !== null", timeout=90_000)
    return page.evaluate(f"window.__model.runs.{slot}")


def test_model_view_tiles_click_attributes(page, server, shots):
    meta = api(server, f"/api/datasets/{OSAKA}")
    open_view(page, server, OSAKA)
    m = page.evaluate("({b: __model.buildingCount, f: __model.featureCount, t: __model.tilesLoaded})")
    assert m["b"] == meta["counts"]["buildings"] == 63
    assert m["f"] == meta["counts"]["buildings"], "every building's feature id appears in the loaded tiles"
    assert m["t"] >= meta["counts"]["tiles"]  # the fine tiles, and the coarse level seen on the way in
    # credit line always visible
    credit = page.locator("#m-credit")
    assert credit.is_visible() and "出典：国土交通省 Project PLATEAU 3D都市モデル" in credit.inner_text()

    # Click the building whose roof is nearest the view centre, with a real mouse click (raycast).
    box = page.locator("#m-view").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    best = None
    for fid in range(m["b"]):
        pt = page.evaluate("f => __model.screenPointOf(f)", fid)
        if pt and box["x"] < pt["x"] < box["x"] + box["width"] and box["y"] < pt["y"] < box["y"] + box["height"]:
            d = (pt["x"] - cx) ** 2 + (pt["y"] - cy) ** 2
            if best is None or d < best[0]:
                best = (d, fid, pt)
    assert best is not None, "no building projected into the view"
    _, fid, pt = best
    gml = page.evaluate("f => __model.gmlIdOf(f)", fid)
    page.mouse.click(pt["x"], pt["y"])
    page.wait_for_function("g => window.__model.selectedGmlId === g", arg=gml, timeout=10_000)
    page.wait_for_selector("#m-attr-actions:not([hidden])", timeout=10_000)
    info = api(server, f"/api/datasets/{OSAKA}/buildings/{gml}")
    panel = page.inner_text("#m-attr")
    assert page.inner_text("#m-attr-gmlid") == gml
    assert "構造種別" in panel and "高さ" in panel
    assert info["codes"]["structure_code"]["ja"] and info["codes"]["structure_code"]["ja"] in panel
    page.screenshot(path=str(shots / "model_view_click.png"))

    # English toggle relabels the panel; back to Japanese
    page.click("#m-lang")
    assert "Structure" in page.inner_text("#m-attr")
    page.click("#m-lang")
    assert "構造種別" in page.inner_text("#m-attr")

    # colour by height: legend lists the bins with counts of loaded buildings
    page.select_option("#m-mode", "height")
    legend = page.inner_text("#m-legend")
    assert "6–10 m" in legend
    counts = page.eval_on_selector_all("#m-legend .n", "els => els.map(e => +e.textContent)")
    assert sum(counts) == m["b"]
    page.screenshot(path=str(shots / "model_view_height.png"))
    assert not page.errors, page.errors


def test_fire_playback_ab_clusters(page, server, shots):
    open_view(page, server, SYNTH_ID)
    assert page.locator("#m-note").is_visible()
    assert "この結果は計画検討のための参考であり、予測ではありません" in page.inner_text("#m-note")

    a = run_fire(page, "A", "最悪", "none")
    assert a["buildings_burnt"] > 10
    assert page.evaluate("__model.mode") == "fire" and page.locator("#m-playback").is_visible()

    seen = {}
    for label, t in (("0h", 0), ("1h", 3600), ("3h", 10800)):
        set_time(page, t)
        seen[label] = page.evaluate("__model.countColoured()")
        page.screenshot(path=str(shots / f"model_fire_A_{label}.png"))
    c0, c1, c3 = seen["0h"], seen["1h"], seen["3h"]
    assert c0["burning"] >= 1 and c0["burnt"] == 0
    assert c3["burnt"] > c0["burnt"]
    assert c1["burning"] + c1["burnt"] < c3["burning"] + c3["burnt"]
    assert c3["other"] == 0, "every building shows one of the legend's fire colours"

    # play / pause
    set_time(page, 0)
    page.select_option("#m-speed", "1800")
    page.click("#m-play")
    page.wait_for_function("window.__model.time > 600", timeout=10_000)
    page.click("#m-play")
    t_paused = page.evaluate("__model.time")
    page.wait_for_timeout(400)
    assert not page.evaluate("__model.playing") and page.evaluate("__model.time") == t_paused

    # B: fire-resistant rebuilding of 70 % of the oldest wooden buildings -> fewer burnt
    page.select_option("#m-policy", "rebuild")
    b = run_fire(page, "B", "最悪", "rebuild", **{"m-share": 70})
    assert b["buildings_burnt"] < a["buildings_burnt"]
    assert page.evaluate("__model.shown") == "B"
    set_time(page, 10800)
    cb = page.evaluate("__model.countColoured()")
    assert cb["burning"] + cb["burnt"] < c3["burning"] + c3["burnt"]
    summary = page.inner_text("#m-ab-summary")
    assert f"A {a['buildings_burnt']} 棟" in summary and f"B {b['buildings_burnt']} 棟" in summary
    page.screenshot(path=str(shots / "model_fire_AB_showing_B_3h.png"))
    page.click("#m-show-a")
    assert page.evaluate("__model.shown") == "A"
    assert page.evaluate("__model.countColoured()") == c3
    page.screenshot(path=str(shots / "model_fire_AB_showing_A_3h.png"))

    # cluster map
    page.select_option("#m-mode", "cluster")
    page.wait_for_function("window.__model.clusters !== null", timeout=30_000)
    assert page.evaluate("__model.clusters") >= 1
    assert "P=" in page.inner_text("#m-legend")
    page.screenshot(path=str(shots / "model_clusters.png"))
    assert not page.errors, page.errors
