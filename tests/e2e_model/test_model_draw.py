"""Policy shapes drawn on the map (issue #18, the model page's scenario tools): the planner clicks
the corners of an open space on the district, sees it as an overlay, and the scenario sent to the
simulation API carries that polygon (not the preset square at the centre); the result removes the
buildings under it and burns fewer than the same weather without it. A road's centreline is drawn
the same way. Screenshots: artifacts/screenshots/model_draw_*.png"""

from __future__ import annotations

import pytest

from .conftest import SYNTH_ID
from .test_model_view import open_view, run_fire, set_time

pytestmark = pytest.mark.timeout(200)


def click_local(page, x: float, y: float) -> None:
    pt = page.evaluate("([x, y]) => __model.pageOfLocal(x, y)", [x, y])
    assert not pt["behind"]
    page.mouse.click(pt["x"], pt["y"])


def test_drawn_open_space_goes_into_the_scenario(page, server, shots):
    open_view(page, server, SYNTH_ID)
    a = run_fire(page, "A", "最悪", "none")

    e = page.evaluate("__model.extent")
    lo, hi = e["local_min"], e["local_max"]
    cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
    w = (hi[0] - lo[0]) * 0.4
    # a 30 m firebreak across the district, downwind (south-south-east) of the fire at the centre
    corners = [(cx - w, cy - 25), (cx + w, cy - 25), (cx + w, cy - 55), (cx - w, cy - 55)]
    page.select_option("#m-policy", "open")
    assert page.is_visible("#m-draw") and page.is_visible("#m-p-open")  # the preset square until drawn
    page.click("#m-draw-start")
    page.wait_for_function("__model.draw.drawing === 'open'")
    for i, (x, y) in enumerate(corners, start=1):
        click_local(page, x, y)
        page.wait_for_function("n => __model.draw.open === n", arg=i)
    assert "4" in page.inner_text("#m-draw-status")
    page.screenshot(path=str(shots / "model_draw_open_space.png"))
    page.click("#m-draw-done")
    page.wait_for_function("__model.draw.drawing === null")
    assert page.is_hidden("#m-p-open"), "a drawn shape replaces the preset size field"
    assert page.get_attribute("#m-draw", "data-state") == "drawn"

    b = run_fire(page, "B", "最悪", "open")
    req = page.evaluate("__model.lastRequest")
    m = req["scenario"]["measures"]
    assert len(m) == 1 and m[0]["type"] == "open_space"
    poly = m[0]["polygon"]
    assert len(poly) == 4
    for (px, py), (x, y) in zip(poly, corners):
        assert abs(px - x) < 3 and abs(py - y) < 3, (poly, corners)
    removed = page.evaluate("__model.measures.B")["removed"]
    assert removed > 0
    set_time(page, 0)
    assert page.evaluate("__model.countColoured()")["removed"] == removed  # drawn green on the map
    assert b["buildings_burnt"] < a["buildings_burnt"], (a, b)
    set_time(page, 10800)
    page.screenshot(path=str(shots / "model_draw_open_space_result.png"))

    # a road: a centreline of three points and the width field
    page.select_option("#m-policy", "road")
    page.fill("#m-width", "20")
    page.click("#m-draw-start")
    for i, (x, y) in enumerate([(cx - w, cy + 40), (cx, cy + 60), (cx + w, cy + 40)], start=1):
        click_local(page, x, y)
        page.wait_for_function("n => __model.draw.road === n", arg=i)
    page.click("#m-draw-done")
    run_fire(page, "B", "最悪", "road")
    m = page.evaluate("__model.lastRequest")["scenario"]["measures"][0]
    assert m["type"] == "road_widening" and len(m["centreline"]) == 3 and m["width"] == 20
    assert page.evaluate("__model.measures.B")["removed"] > 0
    assert not page.errors, page.errors
