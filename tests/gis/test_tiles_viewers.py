"""Tiles that other viewers load well: normals, the property table on feature-ID set 0, codes as
enums, heights above the ellipsoid (GSI geoid), and a tile tree for a whole city.

The heights are checked against the source file itself (lxml, not our reader) and pyproj's
ECEF -> geodetic conversion; the tree by the screen-space-error rule 3D Tiles viewers use."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from pyproj import Transformer

from yakuba.gis.crs import geoid_height
from yakuba.gis.pipeline import import_dataset
from yakuba.gis.sink.tile_writer import TileOptions

from .conftest import SAMPLES, accessor, fine_tiles, read_glb, walk_tiles

OSAKA = SAMPLES / "udx" / "bldg" / "51357309_bldg_6697_op.gml"
NS = {"gml": "http://www.opengis.net/gml", "bldg": "http://www.opengis.net/citygml/building/2.0"}


@pytest.fixture(scope="module")
def osaka(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return import_dataset([OSAKA], "Osaka", tmp_path_factory.mktemp("osaka"), dataset_id="osaka", workers=1).path


def _prim(js: dict) -> dict:
    return js["meshes"][0]["primitives"][0]


def test_normals_are_unit_and_face_the_way_the_triangles_do(osaka: Path) -> None:
    ts = json.loads((osaka / "tileset.json").read_text())
    js, blob = read_glb(osaka / fine_tiles(ts)[0]["content"]["uri"])
    p = _prim(js)
    pos = accessor(js, blob, p["attributes"]["POSITION"]).astype(np.float64)
    nrm = accessor(js, blob, p["attributes"]["NORMAL"]).astype(np.float64)
    tri = accessor(js, blob, p["indices"]).reshape(-1, 3)
    assert np.allclose(np.linalg.norm(nrm, axis=1), 1, atol=0.02)  # int8 x 127: within 1/127
    assert "KHR_mesh_quantization" in js["extensionsRequired"]
    face = np.cross(pos[tri[:, 1]] - pos[tri[:, 0]], pos[tri[:, 2]] - pos[tri[:, 0]])
    area = np.linalg.norm(face, axis=1)
    ok = area > 1e-6
    face = face[ok] / area[ok, None]
    for k in range(3):  # flat shading: each corner's normal is its triangle's
        assert np.allclose(nrm[tri[ok, k]], face, atol=0.02)
    # LOD1 prisms: roofs (y-up in glTF) face up, and there are walls facing sideways.
    assert (face[:, 1] > 0.99).any() and (np.abs(face[:, 1]) < 0.01).any()


def test_feature_id_set_0_is_bound_to_the_property_table(osaka: Path) -> None:
    ts = json.loads((osaka / "tileset.json").read_text())
    for t in walk_tiles(ts):
        if "content" not in t:
            continue
        js, blob = read_glb(osaka / t["content"]["uri"])
        fids = _prim(js)["extensions"]["EXT_mesh_features"]["featureIds"]
        assert fids[0]["propertyTable"] == 0 and "propertyTable" not in fids[1] and fids[1]["label"] == "building_row"
        # Set 0's attribute indexes the table; set 1's is the building row, as the table says.
        local = accessor(js, blob, _prim(js)["attributes"][f"_FEATURE_ID_{fids[0]['attribute']}"]).astype(int)
        row = accessor(js, blob, _prim(js)["attributes"][f"_FEATURE_ID_{fids[1]['attribute']}"]).astype(int)
        table = js["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
        view = js["bufferViews"][table["properties"]["row"]["values"]]
        rows = np.frombuffer(blob, np.uint32, count=table["count"], offset=view["byteOffset"])
        assert np.array_equal(rows[local], row)


def test_codes_are_enums_with_their_labels(osaka: Path) -> None:
    ts = json.loads((osaka / "tileset.json").read_text())
    js, blob = read_glb(osaka / fine_tiles(ts)[0]["content"]["uri"])
    meta = js["extensions"]["EXT_structural_metadata"]
    prop = meta["schema"]["classes"]["building"]["properties"]["structure_code"]
    assert prop["type"] == "ENUM" and prop["enumType"] == "structure_code"
    enum = meta["schema"]["enums"]["structure_code"]
    by_value = {v["value"]: v for v in enum["values"]}
    assert by_value[[v["value"] for v in enum["values"] if v["name"] == "601"][0]]["description"] == "木造・土蔵造"
    table = meta["propertyTables"][0]
    view = js["bufferViews"][table["properties"]["structure_code"]["values"]]
    vals = np.frombuffer(blob, np.uint16, count=table["count"], offset=view["byteOffset"])
    names = [by_value[int(v)]["name"] for v in vals]
    dataset = json.loads((osaka / "dataset.json").read_text())
    assert set(names) - {"none"} <= set(dataset["code_labels"]["structure_code"])
    assert "601" in names


def _source_base_heights(gml: Path) -> dict[str, tuple[float, float, float]]:
    """gml:id -> (lat, lon, lowest z of its LOD1 solid), straight from the file."""
    out = {}
    for b in etree.parse(str(gml)).iter("{%s}Building" % NS["bldg"]):
        pts = [float(v) for pl in b.iterfind(".//bldg:lod1Solid//gml:posList", NS) for v in pl.text.split()]
        if pts:
            a = np.array(pts).reshape(-1, 3)
            i = int(np.argmin(a[:, 2]))
            out[b.get("{%s}id" % NS["gml"])] = (a[i, 0], a[i, 1], float(a[:, 2].min()))
    return out


def test_bases_sit_on_the_ellipsoidal_height_of_the_source(osaka: Path) -> None:
    ts = json.loads((osaka / "tileset.json").read_text())
    meta = json.loads((osaka / "dataset.json").read_text())
    assert meta["crs"]["vertical_datum"]["tiles"] == "ellipsoidal (GRS80) heights"
    assert 30 < meta["crs"]["vertical_datum"]["geoid_height_at_origin_m"] < 40  # Osaka: about 37 m
    m = np.array(ts["root"]["transform"]).reshape(4, 4).T
    to_geodetic = Transformer.from_crs(4978, 4979, always_xy=True)
    src = _source_base_heights(OSAKA)
    checked = 0
    for t in fine_tiles(ts):
        js, blob = read_glb(osaka / t["content"]["uri"])
        p = _prim(js)
        pos = accessor(js, blob, p["attributes"]["POSITION"]).astype(np.float64)
        zup = np.column_stack((pos[:, 0], -pos[:, 2], pos[:, 1], np.ones(len(pos))))  # glTF y-up -> tileset z-up
        ecef = (m @ zup.T).T[:, :3]
        lon, lat, h = to_geodetic.transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
        local = accessor(js, blob, p["attributes"]["_FEATURE_ID_1"]).astype(int)
        table = js["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
        gml_prop = table["properties"]["gml_id"]
        offs = np.frombuffer(blob, np.uint32, count=table["count"] + 1, offset=js["bufferViews"][gml_prop["stringOffsets"]]["byteOffset"])
        vals = js["bufferViews"][gml_prop["values"]]
        data = blob[vals["byteOffset"] : vals["byteOffset"] + vals["byteLength"]]
        for f in range(table["count"]):
            gid = data[offs[f] : offs[f + 1]].decode()
            if gid not in src:
                continue
            lat0, lon0, z0 = src[gid]
            expected = z0 + float(geoid_height(np.array([lon0]), np.array([lat0]))[0])
            base = float(h[local == f].min())
            assert abs(base - expected) < 1.0, (gid, base, expected)
            checked += 1
    assert checked >= 50


def _loaded_fine(ts: dict, camera: np.ndarray, height_px: int = 1080, fov_deg: float = 60.0, max_sse: float = 16.0) -> tuple[int, int]:
    """(fine tiles a viewer at ``camera`` (tileset frame) loads, fine tiles in all): the 3D Tiles
    screen-space error rule with CesiumJS's defaults, no frustum culling (so an upper bound)."""
    k = height_px / (2 * math.tan(math.radians(fov_deg) / 2))
    loaded = 0

    def dist(box: list[float]) -> float:
        c, h = np.array(box[:3]), np.array([box[3], box[7], box[11]])
        return float(np.linalg.norm(np.maximum(np.abs(camera - c) - h, 0)))

    def visit(t: dict) -> None:
        nonlocal loaded
        sse = t["geometricError"] * k / max(dist(t["boundingVolume"]["box"]), 1e-6)
        if t.get("children") and (sse > max_sse or "content" not in t):
            for c in t["children"]:
                visit(c)
        elif "content" in t and not t.get("children"):
            loaded += 1

    visit(ts["root"])
    return loaded, len(fine_tiles(ts))


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from yakuba.gis.district import district_rows
    from yakuba.gis.synthetic import write_dataset

    root = tmp_path_factory.mktemp("city")
    rows = district_rows(100_000, seed=0)
    files = [write_dataset(root / "src", rows[i : i + 25_000], name=f"city{i}_bldg_6697_op.gml") for i in range(0, len(rows), 25_000)]
    return import_dataset(files, "city", root / "data", dataset_id="city", workers=2).path


def test_a_city_streams_coarse_levels_first(city: Path, tileset_validator) -> None:
    ts = json.loads((city / "tileset.json").read_text())
    assert not list(tileset_validator.iter_errors(ts))
    root = ts["root"]
    # The root and the first level are small: boxes of the biggest buildings, within budget.
    first = [root] + root["children"]
    for t in first:
        if "content" in t:
            assert (city / t["content"]["uri"]).stat().st_size < 1_000_000, t["content"]["uri"]
    fine = fine_tiles(ts)
    assert all((city / t["content"]["uri"]).stat().st_size < 4_000_000 for t in fine)
    # Errors shrink towards the leaves.
    for t in walk_tiles(ts):
        for c in t.get("children", []):
            assert c["geometricError"] <= t["geometricError"]
    box = np.array(root["boundingVolume"]["box"])
    centre = box[:3]
    far, n = _loaded_fine(ts, centre + np.array([0, 0, 5000.0]))
    assert far < 0.1 * n, (far, n)
    near, _ = _loaded_fine(ts, centre + np.array([0, 0, 150.0]))
    assert near >= 1  # close up, the full-detail tiles come in


def test_coarse_tiles_pass_the_khronos_validator(city: Path, gltf_validator) -> None:
    coarse = sorted((city / "tiles").glob("n*.glb"))
    assert coarse
    reports = gltf_validator(coarse[:20])
    bad = [r for r in reports if r["errors"] or r["warnings"]]
    assert bad == [], bad[:2]


def test_switches_leave_normals_and_levels_out(tmp_path: Path) -> None:
    r = import_dataset([OSAKA], "o", tmp_path, dataset_id="o", workers=1, tile_options=TileOptions(normals=False, hierarchy=False))
    ts = json.loads((r.path / "tileset.json").read_text())
    assert ts["root"]["refine"] == "ADD" and all("children" not in c for c in ts["root"]["children"])
    js, _ = read_glb(r.path / fine_tiles(ts)[0]["content"]["uri"])
    assert "NORMAL" not in _prim(js)["attributes"]


LOD2_TEXTURED = {  # shipped with their appearance folders: CityGML 2.0 and 3.0 ways of writing textures
    "citygml2": SAMPLES / "udx" / "bldg" / "52397519_bldg_6697_op.gml",
    "citygml3": SAMPLES / "udx" / "bldg" / "53394517_bldg_6697_op.gml",
}


@pytest.mark.parametrize("kind", sorted(LOD2_TEXTURED))
def test_lod2_textures_in_an_atlas(kind: str, tmp_path: Path, gltf_validator) -> None:
    r = import_dataset([LOD2_TEXTURED[kind]], kind, tmp_path, dataset_id=kind, lod=2, workers=1)
    ts = json.loads((r.path / "tileset.json").read_text())
    glbs = [r.path / t["content"]["uri"] for t in fine_tiles(ts)]
    js, blob = read_glb(glbs[0])
    assert js["extensionsRequired"] == ["KHR_mesh_quantization", "EXT_texture_webp"]
    assert js["images"][0]["mimeType"] == "image/webp"
    view = js["bufferViews"][js["images"][0]["bufferView"]]
    webp = blob[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
    from PIL import Image
    import io

    atlas = Image.open(io.BytesIO(webp))
    assert max(atlas.size) <= 4096
    prims = js["meshes"][0]["primitives"]
    textured = [p for p in prims if "TEXCOORD_0" in p["attributes"]]
    assert len(textured) == 1 and js["materials"][textured[0]["material"]]["pbrMetallicRoughness"]["baseColorTexture"]["index"] == 0
    uv = accessor(js, blob, textured[0]["attributes"]["TEXCOORD_0"])
    tri = accessor(js, blob, textured[0]["indices"])
    used = uv[tri]
    assert used.min() >= 0 and used.max() <= 1 and np.ptp(used, axis=0).min() > 0.05  # spread over the atlas
    # The textured triangles sample real image content, not the atlas's grey background.
    px = np.asarray(atlas.convert("RGB"), np.int32)
    h, w = px.shape[:2]
    sample = px[np.clip((used[:, 1] * (h - 1)).astype(int), 0, h - 1), np.clip((used[:, 0] * (w - 1)).astype(int), 0, w - 1)]
    assert (np.abs(sample - 200).sum(axis=1) > 30).mean() > 0.5
    reports = gltf_validator(glbs)
    assert [r for r in reports if r["errors"] or r["warnings"]] == []
    # The switch leaves them out: one plain primitive, no image, no WebP extension.
    off = import_dataset([LOD2_TEXTURED[kind]], kind, tmp_path / "off", dataset_id=kind, lod=2, workers=1,
                         tile_options=TileOptions(textures=False))
    js, _ = read_glb(off.path / fine_tiles(json.loads((off.path / "tileset.json").read_text()))[0]["content"]["uri"])
    assert "images" not in js and len(js["meshes"][0]["primitives"]) == 1 and "EXT_texture_webp" not in js["extensionsUsed"]


def test_missing_texture_images_are_a_warning(tmp_path: Path) -> None:
    src = LOD2_TEXTURED["citygml3"]
    lone = tmp_path / "src" / src.name
    lone.parent.mkdir()
    lone.write_bytes(src.read_bytes())  # without its appearance folder
    r = import_dataset([lone], "lone", tmp_path, dataset_id="lone", lod=2, workers=1)
    assert r.warnings["texture_missing"] == 2
    js, _ = read_glb(r.path / fine_tiles(json.loads((r.path / "tileset.json").read_text()))[0]["content"]["uri"])
    assert "images" not in js
