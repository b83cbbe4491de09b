from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.source.gml_file import read_header
from yakuba.gis.district import district_rows
from yakuba.gis.pipeline import import_dataset
from yakuba.gis.synthetic import write_dataset


@pytest.mark.parametrize("lod2", [False, True])
def test_synthetic_round_trip(tmp_path: Path, lod2: bool, gltf_validator) -> None:
    rows = district_rows(300, seed=7)
    gml = write_dataset(tmp_path / "plateau", rows, lod2=lod2)
    assert read_header(gml).srs == 6697
    r = import_dataset([gml], "syn", tmp_path / "data", lod=2 if lod2 else 1, workers=1)
    assert r.buildings == 300 and r.warnings == {}
    assert r.lods.get("2", 0) == (300 if lod2 else 0)
    t = BuildingTable.load(r.path / "buildings.npz")
    assert t.gml_id == [row["gml_id"] for row in rows]
    # Attributes survive the CityGML round trip exactly; geometry to the centimetre.
    assert np.allclose(t.height, [row["height"] for row in rows], atol=0.01)
    assert t.structure_code == [row["structure_code"] for row in rows]
    assert t.fireproof_code == [row["fireproof_code"] or "" for row in rows]
    assert list(t.year) == [row["year"] for row in rows]
    from shapely.geometry import Polygon

    areas = np.array([Polygon(row["footprint"]).area for row in rows])
    assert np.allclose(t.footprint_area, areas, rtol=1e-3)
    # Codes were resolved through the codelists written next to the file, not guessed.
    assert t.code_labels["structure_code"]["601"] == "木造・土蔵造"
    # Gaps between neighbours are preserved (the fire model depends on them).
    a, b = t.footprints[0], t.footprints[1]
    ra, rb = Polygon(rows[0]["footprint"]), Polygon(rows[1]["footprint"])
    assert a.distance(b) == pytest.approx(ra.distance(rb), abs=0.02)
    reports = gltf_validator(sorted((r.path / "tiles").glob("*.glb")))
    assert all(rep["errors"] == 0 for rep in reports)
