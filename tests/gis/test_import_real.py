"""Every shared PLATEAU sample imports: counts match SOURCES.md, spot checks, valid footprints,
GLBs load in trimesh and pass the Khronos validator, tileset.json validates against 3D Tiles 1.1."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import trimesh

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.pipeline import ImportResult, import_dataset

from .conftest import SHARED_PLATEAU, accessor, fine_tiles, read_glb, shared_counts

FILES = sorted(p.name for p in (SHARED_PLATEAU / "udx" / "bldg").glob("*.gml")) if SHARED_PLATEAU.is_dir() else []


@pytest.fixture(scope="module")
def imported(shared_plateau: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ImportResult]:
    data = tmp_path_factory.mktemp("data")
    out = {}
    for name in FILES:
        out[name] = import_dataset([shared_plateau / "udx" / "bldg" / name], name, data, lod=2, workers=1)
    return out


def test_sources_table_parsed() -> None:
    if not FILES:
        pytest.skip("shared samples absent")
    assert len(shared_counts()) == len(FILES) == 15


@pytest.mark.parametrize("name", FILES)
def test_counts_match_sources(imported: dict[str, ImportResult], name: str) -> None:
    buildings, parts = shared_counts()[name]
    r = imported[name]
    assert (r.buildings, r.building_parts) == (buildings, parts)
    t = BuildingTable.load(r.path / "buildings.npz")
    assert len(t) == buildings and len(set(t.gml_id)) == buildings
    assert all(fp.is_valid and fp.area > 1.0 for fp in t.footprints), "every footprint valid with area"
    # Footprints are local metres near the origin, not degrees and not absolute plane coords.
    xs = np.concatenate([np.asarray(fp.exterior.coords)[:, 0] for fp in t.footprints])
    assert np.all(np.abs(xs) < 20000)


SPOT = [
    # file, gml_id, height, storeys, structure, fireproof, usage, year
    ("51357309_bldg_6697_op.gml", "bldg_5ca924bd-e2cb-4a01-a58c-a99c6667db0f", 7.0, 2, "601", "", "411", -1),
    ("49303425_bldg_6697_op.gml", "bldg_57558474-1061-4f38-8d68-83341e29e37b", 7.1, 2, "603", "", "422", 1987),
    ("54377084_bldg_6697_op.gml", "bldg_b3eef114-02e4-11f0-a3af-18ece7a5508c", 3.0, -1, "611", "1011", "461", -1),
    ("53394517_bldg_6697_op.gml", "bldg_9f505d28-4667-4442-ae54-c211bddb49f7", 10.5, -1, "", "1011", "461", -1),
]


@pytest.mark.parametrize("name,gid,height,storeys,struct_code,fire,usage,year", SPOT)
def test_spot_checks(imported: dict, name: str, gid: str, height: float, storeys: int, struct_code: str, fire: str, usage: str, year: int) -> None:
    t = BuildingTable.load(imported[name].path / "buildings.npz")
    i = t.index_of()[gid]
    assert t.height[i] == pytest.approx(height)
    assert (t.storeys_above[i], t.structure_code[i], t.fireproof_code[i], t.usage_code[i], t.year[i]) == (storeys, struct_code, fire, usage, year)


@pytest.mark.parametrize(
    "name,column,expected",
    [
        ("51357309_bldg_6697_op.gml", "structure_code", {"601": 58, "610": 4, "611": 1}),
        ("49303425_bldg_6697_op.gml", "structure_code", {"601": 139, "602": 8, "603": 2, "604": 31, "605": 1, "611": 61}),
        ("54377084_bldg_6697_op.gml", "fireproof_code", {"1001": 1, "1003": 9, "1011": 38}),
        ("51311568_bldg_6697_op.gml", "fireproof_code", {"1011": 225}),
    ],
)
def test_code_histograms_and_labels(imported: dict, name: str, column: str, expected: dict) -> None:
    t = BuildingTable.load(imported[name].path / "buildings.npz")
    from collections import Counter

    assert dict(Counter(getattr(t, column))) == expected
    labels = t.code_labels[column]
    assert set(labels) == set(expected)
    if column == "structure_code":
        assert labels["601"] == "木造・土蔵造"
    else:
        assert labels["1011"] == "不明"


def test_every_building_in_exactly_one_tile(imported: dict) -> None:
    for name, r in imported.items():
        ts = json.loads((r.path / "tileset.json").read_text())
        seen: list[int] = []
        for child in fine_tiles(ts):
            js, blob = read_glb(r.path / child["content"]["uri"])
            prim = js["meshes"][0]["primitives"][0]
            rows = accessor(js, blob, prim["attributes"]["_FEATURE_ID_0"]).astype(np.int64)
            local = accessor(js, blob, prim["attributes"]["_FEATURE_ID_1"]).astype(np.int64)
            table = js["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
            uniq = np.unique(rows)
            seen.extend(uniq.tolist())
            # local id indexes the tile's property table, whose "row" column maps back to rows.
            row_view = js["bufferViews"][table["properties"]["row"]["values"]]
            row_col = np.frombuffer(blob, np.uint32, count=table["count"], offset=row_view["byteOffset"])
            assert np.array_equal(row_col[local], rows)
            fids = prim["extensions"]["EXT_mesh_features"]["featureIds"]
            assert fids[0]["featureCount"] == len(uniq) and fids[1]["featureCount"] == table["count"]
            # The vertices really are in the tile's box (z-up box, y-up glTF: (x, z, -y)).
            pos = accessor(js, blob, prim["attributes"]["POSITION"])
            box = np.array(child["boundingVolume"]["box"])
            zup = np.column_stack((pos[:, 0], -pos[:, 2], pos[:, 1]))
            half = np.array([box[3], box[7], box[11]])
            assert np.all(np.abs(zup - box[:3]) <= half + 1e-3)
        assert sorted(seen) == list(range(r.buildings)), name


def test_glbs_load_in_trimesh(imported: dict) -> None:
    for name, r in imported.items():
        for glb in sorted((r.path / "tiles").glob("*.glb")):
            scene = trimesh.load(glb, force="scene")
            tri = sum(len(g.faces) for g in scene.geometry.values())
            js, _ = read_glb(glb)
            # Textured LOD2 tiles have two primitives (plain, and textured with the atlas).
            assert tri == sum(js["accessors"][p["indices"]]["count"] for p in js["meshes"][0]["primitives"]) // 3 > 0


def test_glbs_pass_khronos_validator(imported: dict, gltf_validator) -> None:
    glbs = [g for r in imported.values() for g in sorted((r.path / "tiles").glob("*.glb"))]
    reports = gltf_validator(glbs)
    assert len(reports) == len(glbs)
    bad = [r for r in reports if r["errors"] or r["warnings"]]
    assert bad == [], bad[:3]


def test_tilesets_validate_against_3dtiles_schema(imported: dict, tileset_validator) -> None:
    for name, r in imported.items():
        ts = json.loads((r.path / "tileset.json").read_text())
        errors = [e.message for e in tileset_validator.iter_errors(ts)]
        assert errors == [], (name, errors[:3])
        assert ts["asset"]["version"] == "1.1" and len(ts["root"]["transform"]) == 16
        assert ts["root"]["geometricError"] > 0 and all(c["geometricError"] == 0 for c in fine_tiles(ts))
    # The validator is not a rubber stamp.
    bad = json.loads((next(iter(imported.values())).path / "tileset.json").read_text())
    bad["root"].pop("geometricError")
    assert list(tileset_validator.iter_errors(bad))


def test_several_files_use_two_processes(shared_plateau: Path, tmp_path: Path) -> None:
    files = [shared_plateau / "udx" / "bldg" / n for n in ("51357309_bldg_6697_op.gml", "54377084_bldg_6697_op.gml")]
    # Different cities in one dataset: still one local frame; row order is file order.
    r = import_dataset(files, "two", tmp_path, workers=2)
    assert r.buildings == 63 + 48
    t = BuildingTable.load(r.path / "buildings.npz")
    assert t.gml_id[0].startswith("bldg_fdbf34c2") and t.gml_id[63] == "bldg_b3eef114-02e4-11f0-a3af-18ece7a5508c"
    assert not math.isnan(t.height[63])
