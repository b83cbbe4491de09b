"""Parser: shipped samples (no shared/ needed) and broken inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from yakuba.gis.source.citygml import iter_buildings
from yakuba.gis.source.gml_file import read_header
from yakuba.gis.errors import CrsError, ParseError
from yakuba.gis.pipeline import Feedback, import_dataset

from .conftest import SAMPLES

BLDG = SAMPLES / "udx" / "bldg"
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<core:CityModel xmlns:gml="http://www.opengis.net/gml" xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:bldg="http://www.opengis.net/citygml/building/2.0" xmlns:uro="https://www.geospatial.jp/iur/uro/3.1">
<gml:boundedBy><gml:Envelope srsName="{srs}" srsDimension="3"><gml:lowerCorner>34.59 135.49 0</gml:lowerCorner><gml:upperCorner>34.60 135.50 10</gml:upperCorner></gml:Envelope></gml:boundedBy>
"""


def ring(lat: float, lon: float, z: float = 0.0, d: float = 0.0001) -> str:
    pts = [(lat, lon), (lat, lon + d), (lat + d, lon + d), (lat + d, lon), (lat, lon)]
    return " ".join(f"{a} {b} {z}" for a, b in pts)


def building(gid: str, body: str) -> str:
    return f'<core:cityObjectMember><bldg:Building gml:id="{gid}">{body}</bldg:Building></core:cityObjectMember>\n'


def footprint(pos: str) -> str:
    return ("<bldg:lod0FootPrint><gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
            f"<gml:posList>{pos}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
            "</gml:MultiSurface></bldg:lod0FootPrint>")


def doc(*buildings: str, srs: str = "http://www.opengis.net/def/crs/EPSG/0/6697") -> str:
    return HEAD.format(srs=srs) + "".join(buildings) + "</core:CityModel>\n"


def collect(path: Path) -> tuple[list, dict]:
    fb = Feedback()
    return list(iter_buildings(path, fb.warn)), dict(fb.warnings)


def test_osaka_sample_attributes() -> None:
    recs, warns = collect(BLDG / "51357309_bldg_6697_op.gml")
    assert len(recs) == 63 and warns == {}
    b = next(r for r in recs if r.gml_id == "bldg_5ca924bd-e2cb-4a01-a58c-a99c6667db0f")
    assert b.attrs["measured_height"] == 7.0 and b.attrs["storeys_above"] == 2
    assert b.codes["usage_code"] == ("411", "../../codelists/Building_usage.xml")
    assert sum(r.codes.get("structure_code", ("",))[0] == "601" for r in recs) == 58
    assert all(r.lod0_kind == "footprint" and r.lod1 for r in recs)
    # Rings are in source axis order: lat first.
    assert 34.58 < recs[0].lod0[0][0][0, 0] < 34.6 and 135.4 < recs[0].lod0[0][0][0, 1] < 135.6


def test_citygml3_uro4_sample() -> None:
    h = read_header(BLDG / "53394517_bldg_6697_op.gml")
    assert h.citygml_version == "3.0" and h.srs == 6697
    recs, _ = collect(BLDG / "53394517_bldg_6697_op.gml")
    assert len(recs) == 3
    # con:height gives the measured height; 9999 storeys is PLATEAU's "unknown".
    assert recs[0].attrs["measured_height"] == 10.5
    assert "storeys_above" not in recs[0].attrs
    assert recs[0].codes["fireproof_code"][0] in ("1001", "1011")
    assert recs[0].attrs["building_id"].startswith("13103-bldg-") or recs[0].attrs["building_id"]
    assert sum(1 for r in recs if r.lod2) == 2 and all(r.lod0 and r.lod1 for r in recs)


def test_building_parts_are_nested() -> None:
    recs, _ = collect(BLDG / "52397519_bldg_6697_op.gml")
    assert len(recs) == 13
    assert sum(len(r.parts) for r in recs) == 2
    assert all(p.is_part and p.lod1 for r in recs for p in r.parts)


def test_uro14_building_details() -> None:
    recs, _ = collect(BLDG / "53392546_bldg_6697_2_op.gml")
    assert len(recs) == 1 and recs[0].attrs["measured_height"] > 0


# ----------------------------------------------------------------------------- broken inputs


def test_truncated_xml_names_file_and_line(tmp_path: Path) -> None:
    text = (BLDG / "51357309_bldg_6697_op.gml").read_text(encoding="utf-8")
    p = tmp_path / "trunc.gml"
    p.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(ParseError) as e:
        collect(p)
    assert e.value.file == str(p) and e.value.line and e.value.line > 100
    assert "malformed XML" in e.value.reason


def test_undeclared_namespace_prefix(tmp_path: Path) -> None:
    p = tmp_path / "ns.gml"
    p.write_text(doc(building("b1", footprint(ring(34.59, 135.49)) + "<foo:bar>1</foo:bar>")), encoding="utf-8")
    with pytest.raises(ParseError) as e:
        collect(p)
    assert "foo" in e.value.reason and e.value.line is not None


def test_wrong_root_element(tmp_path: Path) -> None:
    p = tmp_path / "root.gml"
    p.write_text('<?xml version="1.0"?><gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml"><gml:featureMember/></gml:FeatureCollection>')
    with pytest.raises(ParseError, match="wrong root element <FeatureCollection>"):
        read_header(p)
    with pytest.raises(ParseError, match="wrong root"):
        collect(p)


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.gml"
    p.write_bytes(b"")
    with pytest.raises(ParseError, match="empty file"):
        collect(p)


def test_unknown_crs_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "crs.gml"
    p.write_text(doc(building("b1", footprint(ring(34.59, 135.49))), srs="http://example.org/my-crs"), encoding="utf-8")
    with pytest.raises(CrsError) as e:
        import_dataset([p], "x", tmp_path / "data")
    assert "srsName" in str(e.value) and str(p) in str(e.value)


def test_other_epsg_is_transformed(tmp_path: Path) -> None:
    """A file in JGD2011 zone VI metres (EPSG:6674, northing first) imports at the same place."""
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:6668", "EPSG:6674", always_xy=True)
    pts = [(135.4990, 34.5900), (135.4992, 34.5900), (135.4992, 34.5902), (135.4990, 34.5902), (135.4990, 34.5900)]
    xy = [t.transform(lon, lat) for lon, lat in pts]
    pos = " ".join(f"{y} {x} 0" for x, y in xy)  # EPSG:6674 axis order is X (northing), Y (easting)
    head = HEAD.replace("34.59 135.49 0", f"{xy[0][1]} {xy[0][0]} 0").replace("34.60 135.50 10", f"{xy[2][1]} {xy[2][0]} 10")
    p = tmp_path / "plane.gml"
    p.write_text(head.format(srs="http://www.opengis.net/def/crs/EPSG/0/6674") + building("b1", footprint(pos)) + "</core:CityModel>")
    res = import_dataset([p], "plane", tmp_path / "data", workers=1)
    assert res.buildings == 1
    import json

    ext = json.loads((res.path / "dataset.json").read_text())["extent"]
    assert ext["lon_min"] == pytest.approx(135.4990, abs=2e-6) and ext["lat_min"] == pytest.approx(34.5900, abs=2e-6)


def test_per_building_problems_give_warnings_and_partial_import(tmp_path: Path) -> None:
    bowtie = "34.59 135.49 0 34.5901 135.4901 0 34.59 135.4901 0 34.5901 135.49 0 34.59 135.49 0"
    uro = ('<uro:buildingDetailAttribute><uro:BuildingDetailAttribute><uro:buildingStructureType codeSpace="nowhere.xml">'
           "777</uro:buildingStructureType></uro:BuildingDetailAttribute></uro:buildingDetailAttribute>")
    p = tmp_path / "mixed.gml"
    p.write_text(doc(
        building("ok", footprint(ring(34.5905, 135.4905)) + '<bldg:measuredHeight uom="m">-9999</bldg:measuredHeight>'),
        building("nogeom", '<bldg:measuredHeight uom="m">5</bldg:measuredHeight>'),
        building("bowtie", footprint(bowtie) + '<bldg:measuredHeight uom="m">4</bldg:measuredHeight>'),
        building("badcode", footprint(ring(34.591, 135.491)) + uro + "<bldg:yearOfConstruction>0001</bldg:yearOfConstruction>"),
        building("ok", footprint(ring(34.592, 135.492))),  # duplicate gml:id
    ), encoding="utf-8")
    fb = Feedback()
    res = import_dataset([p], "mixed", tmp_path / "data", feedback=fb, workers=1)
    assert res.buildings == 4  # nogeom skipped, the rest kept
    w = res.warnings
    assert w["no_geometry"] == 1 and w["repaired_footprint"] >= 1 and w["duplicate_gml_id"] == 1
    assert w["unknown_code"] == 1 and w["codelist_missing"] == 1
    from yakuba.gis.buildings import BuildingTable

    t = BuildingTable.load(res.path / "buildings.npz")
    assert t.gml_id == ["ok", "bowtie", "badcode", "ok__2"]
    assert all(fp.is_valid and fp.area > 0 for fp in t.footprints)
    # -9999 height and year 0001 are unknown, not numbers; the bow-tie was split and repaired.
    import math

    assert math.isnan(t.height[0]) and t.year[2] == -1
    assert t.code_labels["structure_code"]["777"] == "unknown"


def test_chunks_parse_like_the_whole_file(tmp_path: Path) -> None:
    """plan_chunks cuts at member start tags; the parts together yield the same buildings with
    the same (file) line numbers, and progress sums to the file size."""
    from yakuba.gis.source.gml_file import plan_chunks

    src = next(p for p in sorted(BLDG.glob("*.gml")) if plan_chunks(p, 4))
    whole = list(iter_buildings(src, lambda k, m: None))
    chunks = plan_chunks(src, 4)
    assert chunks and len(chunks) >= 2 and chunks[-1].end == src.stat().st_size
    done: list[int] = []
    parts = [b for c in chunks for b in iter_buildings(src, lambda k, m: None, done.append, c)]
    assert [(b.gml_id, b.line, b.attrs) for b in whole] == [(b.gml_id, b.line, b.attrs) for b in parts]
    assert sum(done) == src.stat().st_size
    # Planned without counting (the import counts each chunk's lines just before handing it to a
    # worker): the same pad lines from a LineCounter, asked in file order or not.
    from yakuba.gis.source.gml_file import LineCounter

    lazy = plan_chunks(src, 4, count_lines=False)
    assert [c.start for c in lazy] == [c.start for c in chunks] and [c.pad_lines for c in lazy[1:]] == [-1] * (len(lazy) - 1)
    with pytest.raises(ValueError, match="not counted"):
        list(iter_buildings(src, lambda k, m: None, chunk=lazy[1]))
    counter = LineCounter(src)
    try:
        assert [counter.pad_lines(c) for c in lazy] == [c.pad_lines for c in chunks]
        assert [counter.pad_lines(c) for c in reversed(lazy)] == [c.pad_lines for c in reversed(chunks)]
    finally:
        counter.close()
    assert all(c.pad_lines > 0 for c in chunks[1:])
    # A file too small to find members in cannot be cut.
    tiny = tmp_path / "t.gml"
    tiny.write_text(HEAD.format(srs="EPSG:6697") + "</core:CityModel>\n")
    assert plan_chunks(tiny, 4) is None


def test_lines_before_cuts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The line count before each cut is the count of b"\\n" in the bytes before it (cuts past
    the end included), whatever the buffer size."""
    import random

    from yakuba.gis.source import gml_file

    rng = random.Random(5)
    data = bytes(rng.choice(b"\n\n\x0a\x8a\x0b\x09 <>abc\xe6\x97\xa5") for _ in range(300_001))
    p = tmp_path / "x.gml"
    p.write_bytes(data)
    bounds = [0, 1, 7, 8, 9, 4095, 123_457, 299_999, 300_001, 400_000]
    want = [data[:b].count(b"\n") for b in bounds]
    with open(p, "rb") as f:
        assert gml_file._lines_before(f, bounds) == want
        # A buffer smaller than the gaps between cuts, down to 7 bytes: the same counts.
        monkeypatch.setattr(gml_file, "_COUNT_BUFFER", 7)
        assert gml_file._lines_before(f, bounds) == want
        # Resumed from a known count part way (LineCounter): the same totals.
        assert gml_file._lines_before(f, bounds[5:], bounds[4], want[4]) == want[5:]


def test_digest_covers_every_byte(tmp_path: Path) -> None:
    """The parse hashes the file as it reads it: the digest is the file's, trailing bytes after
    the root element included, and the byte count reported as progress is the file's size."""
    import hashlib

    p = tmp_path / "t.gml"
    body = doc(building("a", footprint(ring(35.0, 139.0))), building("b", footprint(ring(35.1, 139.1))))
    p.write_bytes((body + "<!-- trailing -->\n" + " " * 200_000 + "\n").encode())
    h, seen = hashlib.sha256(), []
    recs = list(iter_buildings(p, lambda k, m: None, seen.append, digest=h))
    assert [r.gml_id for r in recs] == ["a", "b"]
    assert h.hexdigest() == hashlib.sha256(p.read_bytes()).hexdigest() and sum(seen) == p.stat().st_size


def test_unknown_codes_warn_for_every_building_known_codes_resolve_once(tmp_path: Path) -> None:
    """Known codes are resolved once per file (the importer remembers them); an unknown code
    is still reported for each building that carries it."""

    def structure(code: str) -> str:
        return ('<uro:buildingDetailAttribute><uro:BuildingDetailAttribute><uro:buildingStructureType>'
                f"{code}</uro:buildingStructureType></uro:BuildingDetailAttribute></uro:buildingDetailAttribute>")

    p = tmp_path / "codes.gml"
    p.write_text(doc(*[
        building(f"b{i}", footprint(ring(34.59 + i * 0.0003, 135.49)) + structure("777" if i % 2 else "601"))
        for i in range(6)
    ]), encoding="utf-8")
    res = import_dataset([p], "codes", tmp_path / "data", workers=1)
    assert res.warnings["unknown_code"] == 3
    from yakuba.gis.buildings import BuildingTable

    t = BuildingTable.load(res.path / "buildings.npz")
    assert t.structure_code == ["601", "777"] * 3
    assert t.code_labels["structure_code"] == {"601": "木造・土蔵造", "777": "unknown"}
