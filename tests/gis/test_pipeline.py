"""Pipeline on the shipped samples only (runs without shared/): layout, golden counts,
cancellation, re-import replacing a dataset."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.errors import Cancelled, DatasetError
from yakuba.gis.pipeline import Feedback, import_dataset

from .conftest import SAMPLES, accessor, fine_tiles, read_glb, tile_ints, tile_strings

OSAKA = SAMPLES / "udx" / "bldg" / "51357309_bldg_6697_op.gml"


def test_dataset_layout_and_golden_values(tmp_path: Path) -> None:
    seen: list[int] = []
    fb = Feedback(on_progress=seen.append)
    r = import_dataset([OSAKA], "Osaka", tmp_path, dataset_id="osaka", feedback=fb, workers=1)
    d = tmp_path / "datasets" / "osaka"
    assert r.path == d
    assert sorted(p.name for p in d.iterdir()) == ["attributes.jsonl", "buildings.npz", "dataset.json", "tiles", "tileset.json"]
    assert sum(seen) == OSAKA.stat().st_size  # progress covers the whole file
    meta = json.loads((d / "dataset.json").read_text())
    assert meta["crs"]["local"] == "EPSG:6674" and meta["counts"] == {"buildings": 63, "building_parts": 0, "tiles": 1, "coarse_tiles": 0, "lods": {"0": 63, "1": 63}}
    assert meta["code_labels"]["structure_code"] == {"601": "木造・土蔵造", "610": "非木造", "611": "不明"}
    assert meta["code_labels_en"]["structure_code"]["601"] == "wooden"
    assert meta["credit"].startswith("出典：国土交通省 Project PLATEAU")
    data = OSAKA.read_bytes()
    assert meta["sources"] == [{"file": OSAKA.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}]
    t = BuildingTable.load(d / "buildings.npz")
    lines = (d / "attributes.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["gml_id"] for x in lines] == t.gml_id
    ts = json.loads((d / "tileset.json").read_text())
    # Its 63 buildings lie in two 250 m cells, (-184, -625) and (-184, -626): both fit one tile,
    # the 4 km block that holds them (cell >> 4).
    assert [c["content"]["uri"] for c in fine_tiles(ts)] == ["tiles/t4_-12_-40.glb"]
    assert meta["tiling"] == {"max_level": 4, "max_buildings": 2048, "max_vertices": 131072} and meta["tile_size"] == 250.0
    # The root transform's origin is the local origin, which lies inside the data's extent.
    m = np.array(ts["root"]["transform"]).reshape(4, 4).T
    lon, lat, _ = Transformer.from_crs("EPSG:4978", "EPSG:4326", always_xy=True).transform(*m[:3, 3])
    ext = meta["extent"]
    assert ext["lat_min"] - 0.01 < lat < ext["lat_max"] + 0.01 and ext["lon_min"] - 0.01 < lon < ext["lon_max"] + 0.01
    assert 34.589 < ext["lat_min"] < ext["lat_max"] < 34.593


def _tile_rows(d: Path) -> dict[str, list[int]]:
    """Each tile's buildings (rows of buildings.npz), read back from the GLBs' feature ids."""
    out = {}
    for glb in sorted((d / "tiles").glob("t*.glb")):
        js, blob = read_glb(glb)
        rows = accessor(js, blob, js["meshes"][0]["primitives"][0]["attributes"]["_FEATURE_ID_0"])
        out[glb.name] = sorted(set(rows.astype(int).tolist()))
    return out


def test_tiles_follow_the_budget(tmp_path: Path) -> None:
    """Smaller budgets give more, smaller tiles; every building is in exactly one of them."""
    single = _tile_rows(import_dataset([OSAKA], "a", tmp_path, dataset_id="a", workers=1).path)
    cells = _tile_rows(import_dataset([OSAKA], "b", tmp_path, dataset_id="b", workers=1, tiling={"max_level": 0}).path)
    small = _tile_rows(import_dataset([OSAKA], "c", tmp_path, dataset_id="c", workers=1, tiling={"max_buildings": 40}).path)
    assert list(single) == ["t4_-12_-40.glb"] and single["t4_-12_-40.glb"] == list(range(63))
    assert sorted(cells) == ["t0_-184_-625.glb", "t0_-184_-626.glb"]
    assert small == cells  # 63 > 40 splits the block down to its two cells (one has more than 40: cells are never cut)
    rows = [r for v in cells.values() for r in v]
    assert sorted(rows) == list(range(63)) and all(len(v) > 0 for v in cells.values())


def test_group_cells_quadtree() -> None:
    from yakuba.gis.sink.tiles import group_cells

    cells = {(0, 0): (10, 100), (1, 0): (10, 100), (3, 3): (10, 100), (-1, 0): (5, 50), (9, 9): (1, 10)}
    assert group_cells(cells, max_level=2, max_buildings=100, max_vertices=1000) == {
        (2, -1, 0): [(-1, 0)], (2, 0, 0): [(0, 0), (1, 0), (3, 3)], (2, 2, 2): [(9, 9)],
    }
    # Over budget: the 4x4 block splits into 2x2 quadrants, then into cells where still over.
    got = group_cells(cells, max_level=2, max_buildings=15, max_vertices=1000)
    assert got == {(2, -1, 0): [(-1, 0)], (0, 0, 0): [(0, 0)], (0, 1, 0): [(1, 0)], (1, 1, 1): [(3, 3)], (2, 2, 2): [(9, 9)]}
    assert group_cells(cells, max_level=2, max_buildings=100, max_vertices=150)[(1, 1, 1)] == [(3, 3)]
    # A single cell over budget is still one tile (a building is never cut).
    assert group_cells({(5, 5): (10_000, 10**7)}, max_level=3) == {(0, 5, 5): [(5, 5)]}
    for key, members in got.items():
        level, x, y = key
        assert all((cx >> level, cy >> level) == (x, y) for cx, cy in members)


@pytest.mark.parametrize("workers", [1, 2])
def test_renamed_duplicates_reach_the_tiles(tmp_path: Path, workers: int) -> None:
    """Tiles are written before the duplicate ids are known; the tiles holding a renamed row are
    written again, so every tile's gml_id property is the table's id of that row."""
    a = SAMPLES / "udx" / "bldg" / "54377084_bldg_6697_op.gml"
    dup = tmp_path / "dup_bldg_6697_op.gml"
    dup.write_bytes(a.read_bytes())  # the same 48 buildings again: 48 duplicate ids
    r = import_dataset([a, dup, OSAKA], "d", tmp_path, dataset_id="d", workers=workers)
    assert r.warnings["duplicate_gml_id"] == 48
    t = BuildingTable.load(r.path / "buildings.npz")
    assert sum(g.endswith("__2") for g in t.gml_id) == 48 and len(set(t.gml_id)) == len(t.gml_id)
    seen = 0
    for glb in sorted((r.path / "tiles").glob("*.glb")):
        rows = tile_ints(glb, "row")
        names = tile_strings(glb, "gml_id")
        assert names == [t.gml_id[i] for i in rows]  # coarse levels (n*.glb) too
        seen += len(rows) if glb.name.startswith("t") else 0
    assert seen == len(t.gml_id)


def test_cancel_leaves_nothing_behind(tmp_path: Path) -> None:
    fb = Feedback()
    fb.cancel()
    with pytest.raises(Cancelled):
        import_dataset([OSAKA], "osaka", tmp_path, feedback=fb, workers=1)
    assert [p.name for p in (tmp_path / "datasets").iterdir()] == []


def test_reimport_replaces_and_bad_ids_refused(tmp_path: Path) -> None:
    a = import_dataset([OSAKA], "x", tmp_path, dataset_id="same", workers=1)
    b = import_dataset([SAMPLES / "udx" / "bldg" / "54377084_bldg_6697_op.gml"], "y", tmp_path, dataset_id="same", workers=1)
    assert a.path == b.path and len(BuildingTable.load(b.path / "buildings.npz")) == 48
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["same"]
    for bad in ("../etc", "A", "", "-x", "x" * 65):
        with pytest.raises(DatasetError):
            import_dataset([OSAKA], "z", tmp_path, dataset_id=bad, workers=1)


def test_split_file_imports_like_one_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file cut into byte ranges for several workers gives the same table, attributes and tiles."""
    import yakuba.gis.pipeline as pl

    whole = import_dataset([OSAKA], "whole", tmp_path / "a", workers=1)
    monkeypatch.setattr(pl, "SPLIT_MIN_BYTES", 100_000)
    tasks = pl._plan_tasks([OSAKA], {OSAKA: 6697}, 6674, (0.0, 0.0), 1, 250.0, str(tmp_path), 2)
    assert len(tasks) > 1 and [t.part for t in tasks] == list(range(len(tasks)))
    split = import_dataset([OSAKA], "whole", tmp_path / "b", workers=2)
    a, b = whole.path, split.path
    with np.load(a / "buildings.npz") as x, np.load(b / "buildings.npz") as y:
        assert set(x) == set(y) and all(np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f") for k in x)
    assert (a / "attributes.jsonl").read_text() == (b / "attributes.jsonl").read_text()
    assert sorted(p.name for p in (a / "tiles").iterdir()) == sorted(p.name for p in (b / "tiles").iterdir())
    for t in (a / "tiles").iterdir():
        assert t.read_bytes() == (b / "tiles" / t.name).read_bytes()
    ma, mb = json.loads((a / "dataset.json").read_text()), json.loads((b / "dataset.json").read_text())
    for k in ("sources", "counts", "coverage", "warnings", "extent"):
        assert ma[k] == mb[k]


@pytest.mark.parametrize("col", [["a1", "", "bldg_3"], ["東京", "x", ""], ["601", None, 3], [], ["", ""]])
def test_string_property_bytes_and_offsets(col: list) -> None:
    """A tile's string property: the UTF-8 of each value back to back, and n + 1 offsets
    (ASCII columns take one join; anything else is encoded value by value)."""
    from yakuba.gis.sink.glb import _utf8_column

    values, offs = _utf8_column(col)
    enc = [str(v).encode("utf-8") for v in col]
    assert values == b"".join(enc) and offs.dtype == np.uint32
    assert [values[a:b] for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())] == enc and offs[0] == 0
