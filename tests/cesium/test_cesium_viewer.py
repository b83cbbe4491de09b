"""A shipped dataset in CesiumJS 1.140 (npm, test-only folder), as another site's viewer: no Ion
token, no imagery, the tiles from the yakuba server on another origin (so CORS must work).

Picks each building at its roof on screen and reads its attributes, styles by a property,
and checks the heights Cesium finds (roofs sampled from above, bases hit by a ray from below)
against the source file's heights plus the GSI geoid. Screenshots: artifacts/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from shapely.geometry import Polygon

from yakuba.gis.crs import geoid_height
from yakuba.gis.pipeline import import_dataset
from yakuba_testing import CHROME_ARGS, CHROMIUM, free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLE = REPO / "assets" / "samples" / "plateau" / "udx" / "bldg" / "51357309_bldg_6697_op.gml"
TEXTURED = REPO / "assets" / "samples" / "plateau" / "udx" / "bldg" / "52397519_bldg_6697_op.gml"  # LOD2, 3 facade JPEGs
SHOTS = REPO / "artifacts" / "screenshots"
YAKUBA = Path(sys.executable).parent / "yakuba"
NS = {"gml": "http://www.opengis.net/gml", "bldg": "http://www.opengis.net/citygml/building/2.0"}

pytestmark = pytest.mark.timeout(300)


def _ensure_cesium() -> None:
    if (HERE / "node_modules" / "cesium" / "Build" / "Cesium" / "Cesium.js").is_file():
        return
    if not shutil.which("npm"):
        pytest.skip("npm not available: cannot install cesium for the viewer test")
    subprocess.run(["bash", str(REPO / "scripts" / "install-test-npm.sh")], check=True, cwd=REPO, timeout=600)


def source_buildings(gml: Path) -> list[dict]:
    """Straight from the file (lxml): each LOD1 building's id, a point inside its lowest face,
    and its lowest and highest orthometric z."""
    out = []
    for b in etree.parse(str(gml)).iter("{%s}Building" % NS["bldg"]):
        faces = [np.array([float(v) for v in pl.text.split()]).reshape(-1, 3) for pl in b.iterfind(".//bldg:lod1Solid//gml:posList", NS)]
        if not faces:
            continue
        z0 = min(float(f[:, 2].min()) for f in faces)
        z1 = max(float(f[:, 2].max()) for f in faces)
        bottom = next(f for f in faces if np.allclose(f[:, 2], z0))
        poly = Polygon(bottom[:, [1, 0]])  # (lon, lat)
        inner = poly.buffer(-1.5e-5)  # ~1.5 m in: a pixel off the edge still hits the roof
        pt = (inner if not inner.is_empty else poly).representative_point()
        out.append({"id": b.get("{%s}id" % NS["gml"]), "lon": pt.x, "lat": pt.y, "z0": z0, "z1": z1,
                    "structure": "".join(b.xpath(".//*[local-name()='buildingStructureType'][1]/text()")).strip()})
    n = geoid_height(np.array([b["lon"] for b in out]), np.array([b["lat"] for b in out]))
    for b, g in zip(out, n):
        b["base"], b["roof"] = b["z0"] + float(g), b["z1"] + float(g)
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def _serve(data: Path, cors: str, port: int) -> subprocess.Popen:
    """`yakuba serve` on its own port: the tiles' origin, as a city would run it."""
    env = {**os.environ, "YAKUBA_CORS_ORIGINS": cors}
    log = open(data / "serve.log", "wb")
    proc = subprocess.Popen([str(YAKUBA), "serve", "--port", str(port), "--data", str(data)], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"yakuba serve exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("yakuba serve did not become healthy")


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory):
    _ensure_cesium()
    from playwright.sync_api import sync_playwright

    data = tmp_path_factory.mktemp("cesium")
    r = import_dataset([SAMPLE], "Osaka", data, dataset_id="osaka", workers=1)
    tex = import_dataset([TEXTURED], "Yokosuka", data, dataset_id="yokosuka", lod=2, workers=1)
    page_port = free_port()
    page_origin = f"http://127.0.0.1:{page_port}"
    handler = functools.partial(_Quiet, directory=str(HERE))
    static = http.server.ThreadingHTTPServer(("127.0.0.1", page_port), handler)
    threading.Thread(target=static.serve_forever, daemon=True).start()
    yak_port = free_port()
    yak = _serve(data, page_origin, yak_port)
    meta = json.loads((r.path / "dataset.json").read_text())
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[*CHROME_ARGS, "--enable-unsafe-swiftshader"])
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{page_origin}/viewer.html")
            page.wait_for_function("window.yakubaReady === true", timeout=60000)
            yield {"page": page, "meta": meta, "tiles": f"http://127.0.0.1:{yak_port}/datasets/osaka/tileset.json", "errors": errors,
                   "textured": (f"http://127.0.0.1:{yak_port}/datasets/yokosuka/tileset.json", json.loads((tex.path / "dataset.json").read_text()))}
            browser.close()
    finally:
        static.shutdown()
        yak.send_signal(signal.SIGTERM)
        try:
            yak.wait(15)
        except subprocess.TimeoutExpired:
            yak.kill()


def test_cesium_picks_styles_and_places_buildings(viewer: dict) -> None:
    page, meta = viewer["page"], viewer["meta"]
    ext = meta["extent"]
    lon, lat = (ext["lon_min"] + ext["lon_max"]) / 2, (ext["lat_min"] + ext["lat_max"]) / 2
    span = max((ext["lon_max"] - ext["lon_min"]) * 111_320 * math.cos(math.radians(lat)), (ext["lat_max"] - ext["lat_min"]) * 110_574)
    buildings = source_buildings(SAMPLE)
    assert len(buildings) >= 60
    # Straight down from high enough to see the whole sample (60 degree field of view).
    height = buildings[0]["base"] + span * 1.15
    info = page.evaluate("([u, lon, lat, h]) => window.yakuba.load(u, lon, lat, h)", [viewer["tiles"], lon, lat, height])
    assert info["loaded"] >= 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "cesium-osaka.png"))

    # Picking by screen position: the default feature-ID set (featureId_0) carries the table.
    picks = page.evaluate("(b) => window.yakuba.pick(b)", [[b["id"], b["lon"], b["lat"], b["roof"]] for b in buildings])
    right = [p for p in picks if p["picked"] == p["id"]]
    wrong = [p for p in picks if p["picked"] not in (None, p["id"])]
    assert len(right) >= 0.95 * len(buildings) and len(wrong) <= 1, (len(right), len(buildings), wrong[:3])
    by_id = {b["id"]: b for b in buildings}
    for p in right:  # attributes read through Cesium: the enum's name is the code
        assert (p["structure"] or "") in (by_id[p["id"]]["structure"], "none" if not by_id[p["id"]]["structure"] else "")
        assert p["height"] == pytest.approx(by_id[p["id"]]["z1"] - by_id[p["id"]]["z0"], abs=0.6)

    # Styling by a property: wooden buildings (601) red, the rest white.
    page.evaluate("""() => window.yakuba.style({color: {conditions: [["${structure_code} === '601'", "color('#ff0000')"], ["true", "color('#ffffff')"]]}})""")
    styled = page.evaluate("(b) => window.yakuba.pick(b)", [[b["id"], b["lon"], b["lat"], b["roof"]] for b in buildings])
    wooden = [p for p in styled if p["picked"] == p["id"] and by_id[p["id"]]["structure"] == "601"]
    others = [p for p in styled if p["picked"] == p["id"] and by_id[p["id"]]["structure"] != "601"]
    assert wooden and others
    assert all(p["color"] == [1, 0, 0] for p in wooden)
    assert all(p["color"] == [1, 1, 1] for p in others)
    page.screenshot(path=str(SHOTS / "cesium-osaka-styled.png"))

    # Heights: roofs sampled from above and bases hit from below, against source + geoid.
    roofs = page.evaluate("(p) => window.yakuba.roofs(p)", [[b["lon"], b["lat"]] for b in buildings])
    bases = page.evaluate("(p) => window.yakuba.bases(p)", [[b["lon"], b["lat"], b["base"] - 15] for b in buildings])
    roof_err = [abs(h - b["roof"]) for h, b in zip(roofs, buildings) if h is not None]
    base_err = [abs(h - b["base"]) for h, b in zip(bases, buildings) if h is not None]
    assert len(roof_err) >= 0.95 * len(buildings) and len(base_err) >= 0.95 * len(buildings), (len(roof_err), len(base_err))
    assert max(base_err) < 1.0, sorted(base_err)[-3:]
    assert max(roof_err) < 1.0, sorted(roof_err)[-3:]
    assert viewer["errors"] == []


def test_cesium_draws_textured_lod2(viewer: dict) -> None:
    """LOD2 facades keep their photos: an atlas per tile (WebP), which Cesium loads and draws."""
    page = viewer["page"]
    url, meta = viewer["textured"]
    ext = meta["extent"]
    lon, lat = (ext["lon_min"] + ext["lon_max"]) / 2, (ext["lat_min"] + ext["lat_max"]) / 2
    # From the south, looking down at 35 degrees: walls and roofs both in view.
    info = page.evaluate("([u, lon, lat]) => window.yakuba.load(u, lon, lat - 0.0025, 200, -35)", [url, lon, lat])
    assert info["textureBytes"] > 10_000, info
    page.screenshot(path=str(SHOTS / "cesium-yokosuka-textured.png"))
    assert viewer["errors"] == []
