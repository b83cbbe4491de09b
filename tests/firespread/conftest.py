"""Fixtures: a synthetic district and the real Osaka Sumiyoshi sample imported with the real
importer (yakuba.gis.pipeline.import_dataset) into a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.district import DistrictLayout, district_layout

REPO = Path(__file__).resolve().parents[2]
OSAKA_GML = REPO / "assets" / "samples" / "plateau" / "udx" / "bldg" / "51357309_bldg_6697_op.gml"


@pytest.fixture(scope="session")
def layout() -> DistrictLayout:
    # ~1,900 buildings: 12 x 10 blocks, big enough for fronts and roads, fast enough for CI.
    return district_layout(1920, seed=7, street_width=4.0, wooden_share=0.8, fireproof_share=0.05)


@pytest.fixture(scope="session")
def synth_table(layout: DistrictLayout) -> BuildingTable:
    return BuildingTable.from_rows(layout.rows)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory, synth_table: BuildingTable) -> Path:
    """A data dir holding 'osaka' (real import) and 'synth' (the synthetic table)."""
    from yakuba.gis.pipeline import import_dataset

    d = tmp_path_factory.mktemp("data")
    import_dataset([OSAKA_GML], "osaka", d, dataset_id="osaka", workers=1)
    (d / "datasets" / "synth").mkdir(parents=True)
    synth_table.save(d / "datasets" / "synth" / "buildings.npz")
    return d


@pytest.fixture(scope="session")
def osaka_table(data_dir: Path) -> BuildingTable:
    return BuildingTable.load(data_dir / "datasets" / "osaka" / "buildings.npz")
