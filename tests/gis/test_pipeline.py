"""Pipeline on the shipped samples only (runs without shared/): layout, golden counts,
cancellation, re-import replacing a dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.errors import Cancelled, DatasetError
from yakuba.gis.pipeline import Feedback, import_dataset

from .conftest import SAMPLES

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
    assert meta["crs"]["local"] == "EPSG:6674" and meta["counts"] == {"buildings": 63, "building_parts": 0, "tiles": 2, "lods": {"0": 63, "1": 63}}
    assert meta["code_labels"]["structure_code"] == {"601": "木造・土蔵造", "610": "非木造", "611": "不明"}
    assert meta["code_labels_en"]["structure_code"]["601"] == "wooden"
    assert meta["credit"].startswith("出典：国土交通省 Project PLATEAU")
    t = BuildingTable.load(d / "buildings.npz")
    lines = (d / "attributes.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["gml_id"] for x in lines] == t.gml_id
    ts = json.loads((d / "tileset.json").read_text())
    assert sorted(c["content"]["uri"] for c in ts["root"]["children"]) == ["tiles/t_-184_-625.glb", "tiles/t_-184_-626.glb"]
    # The root transform's origin is the local origin, which lies inside the data's extent.
    m = np.array(ts["root"]["transform"]).reshape(4, 4).T
    lon, lat, _ = Transformer.from_crs("EPSG:4978", "EPSG:4326", always_xy=True).transform(*m[:3, 3])
    ext = meta["extent"]
    assert ext["lat_min"] - 0.01 < lat < ext["lat_max"] + 0.01 and ext["lon_min"] - 0.01 < lon < ext["lon_max"] + 0.01
    assert 34.589 < ext["lat_min"] < ext["lat_max"] < 34.593


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
