from __future__ import annotations

import shutil
from pathlib import Path

from yakuba.gis.source.codelists import UNKNOWN, CodelistResolver, merge_labels

from .conftest import SAMPLES


def _layout(tmp: Path, variant: Path | None = None) -> Path:
    """A PLATEAU-like folder: udx/bldg/x.gml + codelists/ (optionally a city variant)."""
    (tmp / "udx" / "bldg").mkdir(parents=True)
    shutil.copytree(SAMPLES / "codelists", tmp / "codelists")
    gml = tmp / "udx" / "bldg" / "x.gml"
    gml.write_text("<x/>")
    return gml


def test_codes_resolve_through_the_dataset_codelist(tmp_path: Path) -> None:
    warns: list[tuple[str, str]] = []
    r = CodelistResolver(_layout(tmp_path), lambda k, m: warns.append((k, m)))
    cs = "../../codelists/BuildingDetailAttribute_buildingStructureType.xml"
    assert r.resolve("structure_code", "601", cs) == "木造・土蔵造"
    assert r.english("structure_code", "601", cs) == "wooden" or r.english("structure_code", "601", cs)
    assert warns == []


def test_same_file_name_different_codes_per_city(tmp_path: Path) -> None:
    """Tokyo 2022's Building_buildingStructureType.xml uses 1010... while others use 601...:
    each dataset must read its own file."""
    a = _layout(tmp_path / "a")
    b = _layout(tmp_path / "b")
    (b.parents[2] / "codelists" / "Building_buildingStructureType.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><gml:Dictionary xmlns:gml="http://www.opengis.net/gml">'
        '<gml:dictionaryEntry><gml:Definition gml:id="d1"><gml:description>木造</gml:description><gml:name>1010</gml:name>'
        "</gml:Definition></gml:dictionaryEntry></gml:Dictionary>",
        encoding="utf-8",
    )
    cache: dict = {}
    wa: list = []
    wb: list = []
    ra = CodelistResolver(a, lambda k, m: wa.append(k), cache)
    rb = CodelistResolver(b, lambda k, m: wb.append(k), cache)
    cs = "../../codelists/Building_buildingStructureType.xml"
    assert rb.resolve("structure_code", "1010", cs) == "木造"
    # In dataset a that file is absent: built-in table, which has no 1010 -> unknown + warnings.
    assert ra.resolve("structure_code", "1010", cs) == UNKNOWN
    assert "codelist_missing" in wa and "unknown_code" in wa
    assert ra.resolve("structure_code", "601", cs) == "木造・土蔵造"
    assert wb == []


def test_unknown_code_is_unknown_with_warning(tmp_path: Path) -> None:
    warns: list[str] = []
    r = CodelistResolver(_layout(tmp_path), lambda k, m: warns.append(k))
    assert r.resolve("fireproof_code", "1012", "../../codelists/BuildingDetailAttribute_fireproofStructureType.xml") == UNKNOWN
    assert warns == ["unknown_code"]


def test_merge_conflict_is_reported() -> None:
    into = {"structure_code": {"1010": "木造"}}
    warns: list[str] = []
    merge_labels(into, {"structure_code": {"1010": "耐火", "601": "木造・土蔵造"}}, lambda k, m: warns.append(k))
    assert into["structure_code"] == {"1010": "木造", "601": "木造・土蔵造"}
    assert warns == ["codelist_conflict"]
