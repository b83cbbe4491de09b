"""Streaming CityGML reader for bldg:Building / bldg:BuildingPart (CityGML 2.0 + uro 1.4-3.x,
CityGML 3.0 + uro 4.0).

Memory stays bounded: lxml ``iterparse`` hands us one ``cityObjectMember`` at a time, we copy out
what we need into plain numpy/dict records and then clear the element *and* its already-parsed
siblings (otherwise the root keeps every finished building alive).

Elements are matched by local name, because namespace URIs differ between CityGML 2.0/3.0 and
uro 1.4/2.0/3.x/4.0 while the local names PLATEAU uses are stable. Nothing here transforms
coordinates: rings stay in the source CRS's axis order; see crs.py and mesh.py.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
from lxml import etree

from .crs import DEFAULT_SRS, parse_srs_name
from .errors import ParseError

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
GML_IDS = ("{http://www.opengis.net/gml}id", "{http://www.opengis.net/gml/3.2}id")

Warn = Callable[[str, str], None]
Ring = np.ndarray  # (N, dim) float64, closing point removed
PolygonRings = list[Ring]  # exterior first, then interiors

# Leaves inside uro containers (buildingDetailAttribute, buildingDetails, adeOfAbstractBuilding,
# buildingIDAttribute...) -> (record key, kind). "code" keeps the codeSpace for codelists.py.
_URO_LEAVES: dict[str, tuple[str, str]] = {
    "buildingStructureType": ("structure_code", "code"),
    "fireproofStructureType": ("fireproof_code", "code"),
    "detailedUsage": ("detailed_usage", "code"),
    "totalFloorArea": ("total_floor_area", "area"),
    "buildingFootprintArea": ("building_footprint_area", "area"),
    "buildingRoofEdgeArea": ("building_roof_edge_area", "area"),
    "buildingID": ("building_id", "str"),
    "buildingHeight": ("uro_building_height", "height"),
    "surveyYear": ("survey_year", "year"),
    "city": ("city_code", "str"),
}
_SURFACE_KIND = {
    "RoofSurface": "roof",
    "WallSurface": "wall",
    "GroundSurface": "ground",
    "OuterCeilingSurface": "roof",
    "OuterFloorSurface": "ground",
    "ClosureSurface": "closure",
}
_LOD0 = ("lod0FootPrint", "lod0RoofEdge", "lod0MultiSurface")
_LOD1 = ("lod1Solid", "lod1MultiSurface")
_LOD2 = ("lod2Solid", "lod2MultiSurface", "lod2Geometry")


class _LocalNames(dict):
    """Clark tag -> local name, memoised (a handful of distinct tags, millions of lookups)."""

    def __missing__(self, tag: object) -> str:
        # Comments/PIs have a non-str tag; '' never matches anything below.
        v = tag[tag.rfind("}") + 1 :] if isinstance(tag, str) else ""
        if len(self) < 4096:
            self[tag] = v
        return v


_ln = _LocalNames().__getitem__


def _gml_id(el: etree._Element) -> str | None:
    for k in GML_IDS:
        v = el.get(k)
        if v:
            return v
    return None


@dataclass
class Surface:
    kind: str  # roof | wall | ground | closure | other
    rings: PolygonRings


@dataclass
class RawBuilding:
    gml_id: str | None
    line: int
    is_part: bool = False
    attrs: dict[str, object] = field(default_factory=dict)
    codes: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # column -> (code, codeSpace)
    lod0: list[PolygonRings] = field(default_factory=list)
    lod0_kind: str = ""  # which lod0 element supplied lod0 (footprint preferred over roof edge)
    lod1: list[PolygonRings] = field(default_factory=list)
    lod2: list[Surface] = field(default_factory=list)
    srs: int | None = None  # EPSG named on the geometry itself, when given
    parts: list["RawBuilding"] = field(default_factory=list)

    def lods(self) -> set[int]:
        s = set()
        if self.lod0:
            s.add(0)
        if self.lod1:
            s.add(1)
        if self.lod2:
            s.add(2)
        return s


@dataclass
class Header:
    srs: int  # EPSG of the file (from boundedBy's Envelope, else DEFAULT_SRS)
    lower: tuple[float, ...] | None
    upper: tuple[float, ...] | None
    citygml_version: str  # "2.0" | "3.0" | "?"
    srs_declared: bool


def _xml_error(path: Path, e: etree.XMLSyntaxError) -> ParseError:
    line = e.lineno if getattr(e, "lineno", None) else (e.position[0] if getattr(e, "position", None) else None)
    msg = str(e.msg if getattr(e, "msg", None) else e)
    return ParseError(f"malformed XML: {msg}", file=str(path), line=line)


def _check_nonempty(path: Path) -> None:
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise ParseError(f"cannot read file: {e.strerror}", file=str(path)) from None
    if size == 0:
        raise ParseError("empty file (0 bytes)", file=str(path), line=1)


def read_header(path: Path) -> Header:
    """Root element, CityGML version and the Envelope's srsName/corners; stops early."""
    _check_nonempty(path)
    srs_name = None
    lower = upper = None
    version = "?"
    try:
        ctx = etree.iterparse(str(path), events=("start", "end"), huge_tree=True, resolve_entities=False, no_network=True)
        for ev, el in ctx:
            ln = _ln(el.tag)
            if ev == "start" and el.getparent() is None:
                if ln != "CityModel":
                    raise ParseError(
                        f"wrong root element <{ln}>: expected a CityGML core:CityModel", file=str(path), line=el.sourceline
                    )
                ns = el.tag[1 : el.tag.find("}")] if el.tag.startswith("{") else ""
                version = "3.0" if ns.endswith("/3.0") else "2.0" if ns.endswith("/2.0") else "1.0" if ns.endswith("/1.0") else "?"
            elif ev == "start" and ln in ("cityObjectMember", "featureMember"):
                break
            elif ev == "end" and ln == "Envelope":
                srs_name = el.get("srsName")
                for c in el:
                    if _ln(c.tag) == "lowerCorner":
                        lower = tuple(float(v) for v in (c.text or "").split())
                    elif _ln(c.tag) == "upperCorner":
                        upper = tuple(float(v) for v in (c.text or "").split())
                break
    except etree.XMLSyntaxError as e:
        raise _xml_error(path, e) from None
    except ValueError:
        raise ParseError("unreadable Envelope corners", file=str(path)) from None
    srs = DEFAULT_SRS
    if srs_name:
        try:
            srs = parse_srs_name(srs_name)
        except ParseError:
            raise
        except Exception as e:  # CrsError carries no file; re-raise with it
            raise type(e)(getattr(e, "reason", str(e)), file=str(path)) from None
    return Header(srs=srs, lower=lower, upper=upper, citygml_version=version, srs_declared=bool(srs_name))


class _Counter:
    """Wraps the input so progress can report bytes consumed without re-stat'ing."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.n = 0

    def read(self, size: int = -1) -> bytes:
        b = self.f.read(size)
        self.n += len(b)
        return b


@dataclass
class Chunk:
    """A byte range of one file that parses on its own: [start, end) begins at a member's start
    tag (or at 0) and ends at another's (or at EOF). ``prefix`` bytes (XML declaration, root
    start tag, boundedBy) are replayed before it, then ``pad_lines`` newlines so libxml2's line
    numbers match the whole file, and ``close`` (the root end tag) after it unless it is last."""

    start: int
    end: int
    prefix: int  # length of the file's header (offset of the first member)
    pad_lines: int
    close: bytes


_MEMBER_RE = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?(?:cityObjectMember|featureMember))[\s>]")
_ROOT_RE = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?CityModel)[\s>]")


def plan_chunks(path: Path, n: int) -> list[Chunk] | None:
    """Cut a file into about ``n`` independently parsable chunks at member start tags, or None
    when it cannot be cut safely (no member/root found in the first MiB, n < 2, tiny file)."""
    size = os.path.getsize(path)
    if n < 2:
        return None
    with open(path, "rb") as f:
        head = f.read(1 << 20)
        m = _MEMBER_RE.search(head)
        if m is None or b"<!--" in head[: m.start()] or b"<![CDATA[" in head[: m.start()]:
            return None
        r = _ROOT_RE.search(head, 0, m.start())
        if r is None:
            return None
        first, member_tag, root_tag = m.start(), m.group(1), r.group(1)
        pat = re.compile(b"<" + re.escape(member_tag) + rb"[\s>]")
        bounds = [first]
        for k in range(1, n):
            t = max(k * size // n, bounds[-1] + 1)
            f.seek(t)
            buf = f.read(1 << 20)
            mm = pat.search(buf)
            if mm is not None and t + mm.start() < size:
                bounds.append(t + mm.start())
        if len(bounds) < 2:
            return None
        # Line numbers at each boundary: one pass over the file up to the last one.
        lines = []
        f.seek(0)
        pos = 0
        nl = 0
        for b in bounds:
            while pos < b:
                blk = f.read(min(1 << 22, b - pos))
                if not blk:
                    break
                nl += blk.count(b"\n")
                pos += len(blk)
            lines.append(nl)
    close = b"</" + root_tag + b">"
    out = [Chunk(0, bounds[1], first, 0, close)]
    for i in range(1, len(bounds)):
        end = bounds[i + 1] if i + 1 < len(bounds) else size
        out.append(Chunk(bounds[i], end, first, lines[i] - lines[0], close if i + 1 < len(bounds) else b""))
    return out


class _ChunkReader:
    """File-like over prefix + padding + [start, end) + close; ``n`` counts only real bytes of
    the range, so progress sums to the file size over all chunks."""

    def __init__(self, f: BinaryIO, c: Chunk) -> None:
        self.f = f
        self.c = c
        self.pad = b"\n" * c.pad_lines if c.start else b""
        self.stage = 0
        self.n = 0
        self.left = c.end - c.start

    def read(self, size: int = -1) -> bytes:
        size = 1 << 16 if size is None or size < 0 else size
        while True:
            if self.stage == 0:
                self.stage = 1
                if self.c.start:
                    self.f.seek(0)
                    head = self.f.read(self.c.prefix)
                    return head + self.pad
                continue
            if self.stage == 1:
                at = self.c.end - self.left
                if self.f.tell() != at:
                    self.f.seek(at)
                if self.left > 0:
                    b = self.f.read(min(size, self.left))
                    if b:
                        self.left -= len(b)
                        self.n += len(b)
                        return b
                self.stage = 2
                if self.c.close:
                    return self.c.close
                continue
            return b""


def iter_buildings(
    path: Path,
    warn: Warn,
    progress: Callable[[int], None] | None = None,
    chunk: Chunk | None = None,
) -> Iterator[RawBuilding]:
    """Yield one RawBuilding per top-level bldg:Building; other city objects are skipped.

    Raises ParseError (with file and line) for malformed XML, a wrong root or a 0-byte file;
    buildings already yielded stay valid, so a caller may keep them (partial import).
    ``chunk``: parse only that part of the file (see plan_chunks); lines stay file lines.
    """
    _check_nonempty(path)
    with open(path, "rb") as raw:
        src = _Counter(raw) if chunk is None else _ChunkReader(raw, chunk)
        ctx = etree.iterparse(
            src,
            events=("end",),
            tag=("{*}cityObjectMember", "{*}featureMember"),
            huge_tree=True,
            resolve_entities=False,
            no_network=True,
            remove_comments=True,
        )
        root_checked = False
        last_reported = 0
        try:
            for _, member in ctx:
                if not root_checked:
                    root = member.getroottree().getroot()
                    if _ln(root.tag) != "CityModel":
                        raise ParseError(
                            f"wrong root element <{_ln(root.tag)}>: expected core:CityModel", file=str(path), line=root.sourceline
                        )
                    root_checked = True
                for feat in member:
                    ln = _ln(feat.tag)
                    if ln == "Building":
                        yield _building(feat, False, warn)
                    elif ln:
                        warn("skipped_feature", f"{ln} at line {feat.sourceline} is not a building")
                # Free the finished member and everything before it (the root holds them).
                member.clear(keep_tail=False)
                parent = member.getparent()
                if parent is not None:
                    while member.getprevious() is not None:
                        del parent[0]
                if progress is not None and src.n - last_reported >= 1 << 20:
                    progress(src.n - last_reported)
                    last_reported = src.n
            if not root_checked:
                root = getattr(ctx, "root", None)
                if root is not None and _ln(root.tag) != "CityModel":
                    raise ParseError(f"wrong root element <{_ln(root.tag)}>: expected core:CityModel", file=str(path), line=1)
        except etree.XMLSyntaxError as e:
            raise _xml_error(path, e) from None
        if progress is not None:
            progress(src.n - last_reported)


def _num(el: etree._Element, warn: Warn, what: str) -> float | None:
    t = (el.text or "").strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        warn("bad_value", f"{what} {t!r} at line {el.sourceline} is not a number")
        return None


def _store_value(rec: RawBuilding, key: str, kind: str, el: etree._Element, warn: Warn) -> None:
    if kind == "code":
        t = (el.text or "").strip()
        if t:
            rec.codes[key] = (t, el.get("codeSpace"))
        return
    if kind == "str":
        t = (el.text or "").strip()
        if t:
            rec.attrs[key] = t
        return
    if kind == "year":
        # Years come as "1975" or as dates ("2021-01-01"); "0001" is PLATEAU's unknown.
        t = (el.text or "").strip()
        if len(t) >= 4 and t[:4].isdigit() and (len(t) == 4 or t[4] == "-"):
            y = int(t[:4])
            if 1 < y < 9999:
                rec.attrs[key] = y
            return
    v = _num(el, warn, key)
    if v is None:
        return
    # PLATEAU sentinels mean "not surveyed": keep them unknown rather than as numbers.
    if kind in ("height", "area") and v <= -9999:
        return
    if kind == "storeys":
        if v >= 9999 or v < 0:
            return
        rec.attrs[key] = int(v)
        return
    if kind == "year":
        if v <= 1 or v >= 9999:
            return
        rec.attrs[key] = int(v)
        return
    rec.attrs[key] = v


_DIRECT: dict[str, tuple[str, str]] = {
    "measuredHeight": ("measured_height", "height"),
    "storeysAboveGround": ("storeys_above", "storeys"),
    "storeysBelowGround": ("storeys_below", "storeys"),
    "yearOfConstruction": ("year", "year"),
    "usage": ("usage_code", "code"),
    "class": ("class_code", "code"),
}


def _building(el: etree._Element, is_part: bool, warn: Warn) -> RawBuilding:
    rec = RawBuilding(gml_id=_gml_id(el), line=el.sourceline or 0, is_part=is_part)
    ids: dict[str, PolygonRings] = {}
    lod0_fp: list[PolygonRings] = []
    lod0_re: list[PolygonRings] = []
    lod2_direct: list[etree._Element] = []
    for child in el:
        ln = _ln(child.tag)
        if not ln:
            continue
        d = _DIRECT.get(ln)
        if d is not None:
            if ln == "usage" and "usage_code" in rec.codes:
                continue  # several usages: the first is the main one
            _store_value(rec, d[0], d[1], child, warn)
        elif ln in _LOD0:
            polys = _polygons(child, rec, ids, warn)
            (lod0_fp if ln != "lod0RoofEdge" else lod0_re).extend(polys)
        elif ln in _LOD1:
            rec.lod1.extend(_polygons(child, rec, ids, warn))
        elif ln in _LOD2:
            lod2_direct.append(child)
        elif ln in ("boundedBy", "boundary"):
            for surf in child:
                kind = _SURFACE_KIND.get(_ln(surf.tag))
                if kind is None and not _ln(surf.tag).endswith("Surface"):
                    continue
                for g in surf:
                    if _ln(g.tag) == "lod2MultiSurface":
                        for rings in _polygons(g, rec, ids, warn):
                            rec.lod2.append(Surface(kind or "other", rings))
        elif ln in ("consistsOfBuildingPart", "buildingPart"):
            for p in child:
                if _ln(p.tag) == "BuildingPart":
                    rec.parts.append(_building(p, True, warn))
        elif ln == "height":  # CityGML 3.0 con:height/con:Height
            _height30(child, rec, warn)
        elif child.tag.startswith("{https://www.geospatial.jp/iur/") or ln.startswith("adeOf"):
            for leaf in child.iter():
                spec = _URO_LEAVES.get(_ln(leaf.tag))
                if spec is not None and spec[0] not in rec.attrs and spec[0] not in rec.codes:
                    _store_value(rec, spec[0], spec[1], leaf, warn)
    if lod0_fp:
        rec.lod0, rec.lod0_kind = lod0_fp, "footprint"
    elif lod0_re:
        rec.lod0, rec.lod0_kind = lod0_re, "roof_edge"
    if not rec.lod2 and lod2_direct:
        # No thematic surfaces: take the solid/multisurface itself, resolving xlink:href into
        # polygons defined elsewhere in this building.
        for g in lod2_direct:
            for rings in _polygons(g, rec, ids, warn, resolve=True):
                rec.lod2.append(Surface("other", rings))
    return rec


def _height30(el: etree._Element, rec: RawBuilding, warn: Warn) -> None:
    for h in el:
        high = value = None
        for c in h:
            ln = _ln(c.tag)
            if ln == "highReference":
                high = (c.text or "").strip()
            elif ln == "value":
                value = c
        if value is not None and high in ("highestRoofEdge", "highestPoint") and "measured_height" not in rec.attrs:
            _store_value(rec, "measured_height", "height", value, warn)


def _ring(lr: etree._Element, dim: int, warn: Warn) -> Ring | None:
    texts = []
    for c in lr:
        ln = _ln(c.tag)
        if ln == "posList":
            d = c.get("srsDimension")
            if d is not None:
                dim = int(d)
            texts.append(c.text or "")
        elif ln == "pos":
            texts.append(c.text or "")
    try:
        a = np.array((texts[0] if len(texts) == 1 else " ".join(texts)).split(), dtype=np.float64)
    except ValueError:
        warn("bad_coordinates", f"non-numeric coordinates at line {lr.sourceline}")
        return None
    if dim not in (2, 3) or len(a) % dim:
        warn("bad_coordinates", f"coordinate count {len(a)} not a multiple of {dim} at line {lr.sourceline}")
        return None
    a = a.reshape(-1, dim)
    if len(a) > 1 and a[0].tolist() == a[-1].tolist():
        a = a[:-1]
    if len(a) < 3:
        warn("degenerate_ring", f"ring with {len(a)} distinct points at line {lr.sourceline}")
        return None
    return a


def _polygons(
    prop: etree._Element, rec: RawBuilding, ids: dict[str, PolygonRings], warn: Warn, resolve: bool = False
) -> list[PolygonRings]:
    out: list[PolygonRings] = []
    if len(prop):
        srs = prop[0].get("srsName")
        if srs and rec.srs is None:
            rec.srs = parse_srs_name(srs)
    dim = int(prop[0].get("srsDimension", 3)) if len(prop) else 3
    for poly in prop.iter("{*}Polygon"):
        rings: PolygonRings = []
        for part in poly:
            pln = _ln(part.tag)
            if pln not in ("exterior", "interior"):
                continue
            for lr in part:
                if _ln(lr.tag) == "LinearRing":
                    r = _ring(lr, dim, warn)
                    if r is not None:
                        rings.append(r)
                    elif pln == "exterior":
                        rings = []
                        break
            if not rings:
                break
        pid = _gml_id(poly)
        if rings:
            out.append(rings)
            if pid:
                ids[pid] = rings
    if resolve:
        for sm in prop.iter("{*}surfaceMember", "{*}baseSurface"):
            href = sm.get(XLINK_HREF)
            if href and not len(sm):
                target = ids.get(href.lstrip("#"))
                if target is None:
                    warn("unresolved_href", f"xlink:href {href} at line {sm.sourceline} not found in its building")
                else:
                    out.append(target)
    return out
