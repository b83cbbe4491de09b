"""The compiled reader (gis/gmlfast/) against the Python walk it stands in for: on every building
of the real samples and on hand-made buildings at each edge of what it accepts, it must give the
very same record, or decline (None) so that Python reads the building and warns as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from yakuba.gis.source import citygml, compiled, values
from yakuba.gis.source import rings as ring_parse
from yakuba.gis.source.citygml import _building_py, _from_fast
from yakuba.gis.source.gml_file import _ln

from .conftest import SAMPLES
from .test_batch_path import SHARED, parse, solid
from .test_citygml import HEAD, building, footprint, ring

fast = compiled._gmlfast
SRS = "http://www.opengis.net/def/crs/EPSG/0/6697"


def test_the_compiled_reader_is_built_and_used() -> None:
    # `make setup` compiles it; without it imports run at about half the speed.
    assert fast is not None, "gis/gmlfast/ was not built (no compiler at install time?)"
    assert citygml._fast_building is fast.building


def test_its_tables_are_the_python_readers() -> None:
    kinds = {0: "code", 1: "str", 2: "year", 3: "measure", 4: "storeys"}
    py_direct = {ln: (key, fn.__name__) for ln, (key, fn) in values._DIRECT.items()}
    assert {ln: (key, "_v_" + kinds[k]) for ln, (key, k) in fast.DIRECT.items()} == py_direct
    py_uro = {ln: (key, {"area": "measure", "height": "measure"}.get(kind, kind)) for ln, (key, kind) in values._URO_LEAVES.items()}
    assert {ln: (key, kinds[k]) for ln, (key, k) in fast.URO.items()} == py_uro


def buildings_of(tree: etree._Element) -> list[etree._Element]:
    return [b for b in tree.iter("{*}Building") if _ln(b.getparent().tag) in ("cityObjectMember", "featureMember")]


def compare(el: etree._Element, lod: int) -> str:
    """'fast' when the compiled reader gave the Python record, 'python' when it declined."""
    warnings: list = []
    py = _building_py(el, False, lambda k, m: warnings.append(k), lod)
    t = fast.building(el, lod)
    if t is None:
        return "python"
    assert warnings == [], f"the compiled reader took a building Python warns about: {warnings}"
    assert _from_fast(t, False) == py
    return "fast"


def sample_files() -> list[Path]:
    files = sorted((SAMPLES / "udx" / "bldg").glob("*.gml"))
    if SHARED.is_dir():
        files += sorted(SHARED.glob("*.gml"))
    return files


@pytest.mark.parametrize("lod", [1, 2])
def test_same_records_as_python_on_every_sample_building(lod: int) -> None:
    seen = {"fast": 0, "python": 0}
    for f in sample_files():
        tree = etree.parse(str(f), etree.XMLParser(huge_tree=True, remove_comments=True, resolve_entities=False))
        for b in buildings_of(tree.getroot()):
            seen[compare(b, lod)] += 1
    assert seen["fast"] > 0
    if lod == 1:  # LOD1 imports are the common case: nearly all real buildings go the fast way
        assert seen["fast"] > 0.9 * (seen["fast"] + seen["python"]), seen


def one(body: str, *, pad_lines: int = 0, gid: str = "b1", attrs: str = "") -> etree._Element:
    xml = HEAD.format(srs=SRS) + "\n" * pad_lines + building(gid, body).replace(f'gml:id="{gid}"', f'gml:id="{gid}"{attrs}') + "</core:CityModel>"
    root = etree.fromstring(xml.encode(), etree.XMLParser(huge_tree=True))
    return buildings_of(root)[0]


FP = footprint(ring(34.59, 135.49))
BOX = solid([ring(34.59, 135.49, 0.0), ring(34.59, 135.49, 6.0)])


@pytest.mark.parametrize(
    "body",
    [
        FP,
        BOX,
        FP + BOX,
        "<bldg:measuredHeight uom='m'>7.5</bldg:measuredHeight>" + FP,
        "<bldg:measuredHeight uom='m'>-9999</bldg:measuredHeight>" + FP,  # sentinel: unknown
        "<bldg:measuredHeight uom='m'>  </bldg:measuredHeight>" + FP,  # blank: unknown, no warning
        "<bldg:measuredHeight uom='m'/>" + FP,
        "<bldg:storeysAboveGround>3</bldg:storeysAboveGround><bldg:storeysBelowGround>9999</bldg:storeysBelowGround>" + FP,
        "<bldg:storeysAboveGround>2.0</bldg:storeysAboveGround>" + FP,
        "<bldg:yearOfConstruction>1975</bldg:yearOfConstruction>" + FP,
        "<bldg:yearOfConstruction>2021-01-01</bldg:yearOfConstruction>" + FP,
        "<bldg:yearOfConstruction>0001</bldg:yearOfConstruction>" + FP,
        "<bldg:yearOfConstruction>19750</bldg:yearOfConstruction>" + FP,
        "<bldg:usage codeSpace='u.xml'>411</bldg:usage><bldg:usage codeSpace='u.xml'>412</bldg:usage>" + FP,
        "<bldg:class> 3001 </bldg:class>" + FP,  # no codeSpace
        "<uro:buildingDetailAttribute><uro:BuildingDetailAttribute>"
        "<uro:totalFloorArea uom='m2'>120.5</uro:totalFloorArea><uro:buildingStructureType codeSpace='s.xml'>611</uro:buildingStructureType>"
        "<uro:fireproofStructureType codeSpace='f.xml'>1002</uro:fireproofStructureType><uro:surveyYear>2020</uro:surveyYear>"
        "</uro:BuildingDetailAttribute></uro:buildingDetailAttribute>"
        "<uro:buildingIDAttribute><uro:BuildingIDAttribute><uro:buildingID>27100-bldg-1</uro:buildingID><uro:city>27100</uro:city>"
        "</uro:BuildingIDAttribute></uro:buildingIDAttribute>" + FP,
        # the first of two containers wins, but a sentinel does not count as a value
        "<uro:buildingDetailAttribute><uro:BuildingDetailAttribute><uro:totalFloorArea uom='m2'>-9999</uro:totalFloorArea>"
        "</uro:BuildingDetailAttribute></uro:buildingDetailAttribute><uro:buildingDetailAttribute><uro:BuildingDetailAttribute>"
        "<uro:totalFloorArea uom='m2'>80</uro:totalFloorArea></uro:BuildingDetailAttribute></uro:buildingDetailAttribute>" + FP,
        FP.replace("<gml:MultiSurface>", f"<gml:MultiSurface srsName='{SRS}' srsDimension='3'>"),
        FP.replace("<gml:MultiSurface>", "<gml:MultiSurface srsDimension='2'>"),
        "<bldg:lod0RoofEdge>" + FP[len("<bldg:lod0FootPrint>") : -len("</bldg:lod0FootPrint>")] + "</bldg:lod0RoofEdge>",
        "<bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id='p1'><bldg:measuredHeight>4</bldg:measuredHeight>" + BOX
        + "</bldg:BuildingPart></bldg:consistsOfBuildingPart><bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id='p2'>" + FP
        + "</bldg:BuildingPart></bldg:consistsOfBuildingPart>",
        "<bldg:lod0FootPrint/>" + BOX,  # a property without geometry
        "<bldg:boundedBy><bldg:RoofSurface/></bldg:boundedBy>" + BOX,  # LOD2 present: skipped at LOD1
        "",  # no geometry at all
    ],
)
@pytest.mark.parametrize("lod", [1, 2])
def test_accepted_buildings_match(body: str, lod: int) -> None:
    assert compare(one(body), lod) == ("python" if lod == 2 and "boundedBy" in body else "fast")


@pytest.mark.parametrize(
    "body",
    [
        "<bldg:measuredHeight>abc</bldg:measuredHeight>" + FP,  # Python warns: bad_value
        "<bldg:storeysAboveGround>two</bldg:storeysAboveGround>" + FP,
        "<bldg:yearOfConstruction>１９７５</bldg:yearOfConstruction>" + FP,  # other scripts' digits
        "<bldg:yearOfConstruction>c. 1975</bldg:yearOfConstruction>" + FP,
        FP.replace("<gml:posList>", "<gml:posList srsDimension='3'>"),
        FP.replace("</gml:exterior>", "</gml:exterior><gml:interior><gml:LinearRing><gml:posList>"
                   + ring(34.5901, 135.4901, d=0.00001) + "</gml:posList></gml:LinearRing></gml:interior>"),
        FP.replace("<gml:posList>" + ring(34.59, 135.49) + "</gml:posList>",
                   "".join(f"<gml:pos>{p}</gml:pos>" for p in ["34.59 135.49 0", "34.59 135.4901 0", "34.5901 135.4901 0"])),
        FP.replace(ring(34.59, 135.49), ""),  # empty posList: Python's walk reads (and warns)
        FP.replace("<gml:MultiSurface>", "<gml:MultiSurface srsDimension='x'>"),
        "<bldg:boundedBy><bldg:RoofSurface/></bldg:boundedBy>",  # LOD2 only: surfaces must be read
        "<con:height xmlns:con='http://www.opengis.net/citygml/construction/3.0'/>" + FP,  # CityGML 3.0
        "<bldg:consistsOfBuildingPart><bldg:BuildingPart><bldg:measuredHeight>x</bldg:measuredHeight>" + FP
        + "</bldg:BuildingPart></bldg:consistsOfBuildingPart>",  # a declined part declines its building
    ],
)
def test_declines_what_python_must_read(body: str) -> None:
    assert compare(one(body), 1) == "python"


def _z_only_record(el: etree._Element) -> tuple:
    """The compiled reader's z-only record and the one Python gets the usual way (rings parsed)."""
    t = fast.building(el, 1, True)
    assert t is not None
    rec = _from_fast(t, False)
    usual = _building_py(el, False, lambda k, m: None, 1)
    ring_parse.materialize([usual], lambda k, m: None)
    return rec, usual


@pytest.mark.parametrize("body", [
    FP + BOX,
    BOX + FP,  # LOD0 after the solid: the order the elements come in does not matter
    FP + BOX.replace("<gml:Solid>", f"<gml:Solid srsName='{SRS}'>"),
    "<bldg:measuredHeight uom='m'>7.5</bldg:measuredHeight>" + FP + BOX + "<bldg:boundedBy><bldg:RoofSurface/></bldg:boundedBy>",
    # an open ring (no closing point) and one closed: both kept whole
    FP + solid([" ".join(ring(34.59, 135.49, 2.0).split()[:-3]), ring(34.59, 135.49, 5.5)]),
])
def test_z_only_solid_is_parsed_in_c_and_cut_later(body: str) -> None:
    """A building whose LOD1 solid is wanted only for its z range: the compiled reader parses
    the solid itself and gives its z range; cut later (undefer_lod1), its rings are the ones the
    usual path gives, and the rest of the record is the same."""
    rec, usual = _z_only_record(one(body))
    z = np.concatenate([p[0][:, 2] for p in usual.lod1])
    assert rec.lod1_z == (z.min(), z.max()) and rec.lod1_source
    assert rec.lod1 and all(p == [Ellipsis] for p in rec.lod1) and rec.lazy and len(rec.lazy) == 1  # the LOD0 ring only
    assert rec.lods() == usual.lods()
    ring_parse.undefer_lod1(rec)
    assert rec.lod1_z is None and len(rec.lod1) == len(usual.lod1)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(rec.lod1, usual.lod1))
    ring_parse.materialize([rec], lambda k, m: None)
    for k in ("gml_id", "line", "attrs", "codes", "lod0_kind", "srs", "lod2_skipped"):
        assert getattr(rec, k) == getattr(usual, k)
    assert np.array_equal(rec.lod0[0][0], usual.lod0[0][0])


@pytest.mark.parametrize("body", [
    BOX,  # no LOD0: the footprint is the solid's base, its x, y are wanted
    FP + FP.replace("34.59", "34.58") + BOX,  # two LOD0 polygons
    "<bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id='p1'>" + FP + BOX + "</bldg:BuildingPart></bldg:consistsOfBuildingPart>" + FP + BOX,
    FP,  # no solid
])
def test_not_z_only_keeps_the_usual_record(body: str) -> None:
    el = one(body)
    t = fast.building(el, 1, True)
    assert t is not None and t[-1] is None
    assert _from_fast(t, False) == _from_fast(fast.building(el, 1), False)
    assert fast.building(el, 2, True)[-1] is None  # an LOD2 import reads every ring


@pytest.mark.parametrize("solid_ring", [
    "34.59 135.49 0 34.5901 135.4901 0 34.59 135.49 0",  # two distinct points: Python warns, drops
    "34.59 135.49 0 34.5901 135.4901",  # not a multiple of three
    "34.59 135.49 0 34.5901 135.4901 0 34.5902 135.49 abc 34.59 135.49 0",  # not a number
    "34.59 135.49 0 34.5901 135.4901 0 34.5902 135.49 １ 34.59 135.49 0",  # other scripts' digits
])
def test_z_only_solid_python_would_warn_about_goes_to_python(solid_ring: str) -> None:
    el = one(FP + solid([ring(34.59, 135.49, 0.0), solid_ring]))
    assert fast.building(el, 1, True) is None  # Python reads it, and warns
    assert fast.building(el, 1) is not None  # (the usual record keeps the text: materialize warns)


def test_z_only_solid_text_in_several_nodes_goes_to_python() -> None:
    # A CDATA section kept as its own node (iter_buildings' parser merges them): the text is
    # not one libxml2 node, so Python reads the building.
    body = FP + BOX.replace("<gml:posList>", "<gml:posList><![CDATA[ ]]>", 1)
    xml = HEAD.format(srs=SRS) + building("b1", body) + "</core:CityModel>"
    el = buildings_of(etree.fromstring(xml.encode(), etree.XMLParser(strip_cdata=False)))[0]
    assert fast.building(el, 1, True) is None
    assert compare(el, 1) == "fast"
    # Merged, as iter_buildings parses it: taken, and the same rings.
    rec, usual = _z_only_record(one(body))
    ring_parse.undefer_lod1(rec)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(rec.lod1, usual.lod1))


def test_comment_before_the_geometry_is_left_to_python() -> None:
    el = one(FP.replace("<gml:MultiSurface>", "<!-- c --><gml:MultiSurface>"))
    assert compare(el, 1) == "python"


def test_ids_and_lines_past_65535() -> None:
    # libxml2 keeps lines > 65535 outside the node (or caps them); el.sourceline and the reader
    # must agree either way.
    el = one(FP + BOX, pad_lines=70_000)
    assert el.sourceline >= 65_535
    assert compare(el, 1) == "fast"
    t = fast.building(el, 1)
    assert t[1] == el.sourceline and t[0] == "b1"
    el32 = one(FP, gid="x", attrs=' xmlns:g32="http://www.opengis.net/gml/3.2" g32:id="y"')
    assert compare(el32, 1) == "fast"
    empty = one(FP, gid="")
    assert compare(empty, 1) == "fast" and fast.building(empty, 1)[0] is None


def test_wrong_arguments_raise() -> None:
    with pytest.raises(TypeError):
        fast.building("not an element", 1)
    with pytest.raises(TypeError):
        fast.building(one(FP))


def test_srs_dimension_that_is_not_a_number_is_a_warning(tmp_path: Path) -> None:
    # Found by the comparison above: Python's reader used to raise ValueError on it.
    bad = FP.replace("<gml:MultiSurface>", "<gml:MultiSurface srsDimension='x'>")
    recs, warns = parse(tmp_path, building("a", bad), building("b", FP))
    assert warns == {"bad_coordinates": 1}
    assert [r.gml_id for r in recs] == ["a", "b"] and recs[0].lod0 == [] and len(recs[1].lod0) == 1


# --------------------------------------------------------------------------- ring texts



_coord = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
_fmt = st.sampled_from(["{!r}", "{:.9f}", "{:.3e}", "{:+.2f}", "{:.0f}", "{:E}"])
_sep = st.sampled_from([" ", "  ", "\n", "\t", " \r\n "])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(_coord, min_size=0, max_size=12), _fmt, _sep), min_size=1, max_size=6))
def test_parse_rings_gives_what_parse_values_gives(rings: list) -> None:
    lazy = [(sep.join(fmt.format(v) for v in vals), 3, i) for i, (vals, fmt, sep) in enumerate(rings)]
    got = fast.parse_rings(lazy)
    want = ring_parse._parse_values([t for t, _, _ in lazy])
    assert got is not None and want is not None
    assert np.array_equal(np.frombuffer(got[0]), want[0])
    assert np.array_equal(np.frombuffer(got[1], dtype=np.int64).reshape(-1, 2), want[1])


@pytest.mark.parametrize("text", ["1 2 nan", "1 2 inf", "1,5 2 3", "1_0 2 3", "abc", "1 2 3e", "- 1 2", "1 2 ３",
                                  "0x1p3 1 2", f"1 2 {ring_parse._MARK}"])
def test_parse_rings_declines_what_python_must_warn_about(text: str) -> None:
    assert fast.parse_rings([("1 2 3", 3, 1), (text, 3, 2)]) is None


def test_parse_rings_declines_2d_rings() -> None:
    assert fast.parse_rings([("1 2 3 4", 2, 1)]) is None
    assert fast.parse_rings([("1 2 3", 10**30, 1)]) is None  # no OverflowError left behind
    assert fast.parse_rings([("1 2 3", 3, 1)]) is not None


@pytest.mark.parametrize("token", [
    "9007199254740993", "9007199254740992", "0.1", "1e22", "1e23", "1e-22", "1.5e-23", "123456789012345678",
    "34.584694510", "-0", "-0.0", "0.000000000000000000000000001", "1.7976931348623157e308", "4.9e-324", "00000001.5",
    ".5", "5.", "+2", "1E+2", "2.2250738585072014e-308",
])
def test_parse_rings_rounds_as_float(token: str) -> None:
    got = fast.parse_rings([(f"{token} 0 0", 3, 1)])
    assert got is not None
    v = np.frombuffer(got[0])[0]
    assert v == float(token) and np.signbit(v) == np.signbit(float(token))


# Real PLATEAU latitudes and longitudes have 17 significant digits: std::from_chars must round
# them exactly as float() does too.
_digits = st.integers(min_value=10**14, max_value=10**19 - 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_digits, st.integers(0, 19), st.integers(-12, 12), st.booleans()), min_size=1, max_size=40))
def test_long_mantissas_round_as_float(nums: list) -> None:
    tokens = []
    for m, point, exp, neg in nums:
        s = str(m)
        point = min(point, len(s))
        t = ("-" if neg else "") + s[:point] + "." + s[point:] + (f"e{exp}" if exp else "")
        tokens.append(t)
    got = fast.parse_rings([(" ".join(tokens), 3, 1)])
    assert got is not None
    values = np.frombuffer(got[0])[:-1]
    assert values.tolist() == [float(t) for t in tokens]


def test_near_midpoints_round_as_float() -> None:
    """Decimals at or within a digit of the midpoint between two doubles: the cases where a
    rounding that is only nearly right would differ from float()."""
    import math
    import random
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    rnd = random.Random(5)
    tokens = []
    for _ in range(3000):
        d = rnd.uniform(-200, 200) * 10 ** rnd.randint(-5, 5)
        mid = (Decimal(d) + Decimal(math.nextafter(d, math.inf))) / 2
        k = rnd.choice([None, 17, 18, 19, 20])
        if k:
            mid = mid.quantize(Decimal(1).scaleb(mid.adjusted() - k + 1))
        tokens.append(format(mid, "f"))
    tokens += ["35.532655211407004", "139.79371614274518", "9007199254740993.0", "18446744073709551615", "1.8446744073709551616"]
    got = fast.parse_rings([(" ".join(tokens), 3, 1)])
    assert got is not None
    assert np.frombuffer(got[0])[:-1].tolist() == [float(t) for t in tokens]
