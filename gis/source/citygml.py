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
from typing import Any, BinaryIO, Callable, Iterator, NamedTuple

import numpy as np
import orjson
from lxml import etree

from ..crs import DEFAULT_SRS, parse_srs_name
from ..errors import ParseError

try:  # the compiled common case of _building (setup.py builds it; optional)
    from .. import _gmlfast
except ImportError:  # no compiler at install time, or lxml now runs another libxml2
    _gmlfast = None

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
_BATCH = 64  # buildings whose rings are parsed together


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
    ring_ids: list[str | None] | None = None  # each ring's gml:id (texture lookup), when read


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
    lazy: list[tuple[list, int]] = field(default_factory=list)  # text rings not yet parsed
    lod2_skipped: bool = False  # has LOD2 geometry that an LOD1 import did not read
    # Where the record's coordinates are. ``local``: everything is in local metres already
    # (materialize transformed it). ``lod1_source``: the LOD1 rings are still in source
    # coordinates (only their z was needed so far; mesh.localize_lod1 moves them when used).
    local: bool = False
    lod1_source: bool = False
    # An LOD1 solid the compiled reader parsed but has not cut into rings (undefer_lod1), and
    # its z range, which is all a simple LOD1 building needs.
    lod1_deferred: "SolidValues | None" = None
    lod1_z: tuple[float, float] | None = None
    # mesh._lod1_base's answer, kept with the rings it was computed from (footprint and mesh
    # both ask for it).
    lod1_base: tuple | None = field(default=None, repr=False)

    def lods(self) -> set[int]:
        s = set()
        if self.lod0:
            s.add(0)
        if self.lod1:
            s.add(1)
        if self.lod2 or self.lod2_skipped:
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


class _SmallReads:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f

    def read(self, size: int = -1) -> bytes:
        return self.f.read(4096)


def read_header(path: Path) -> Header:
    """Root element, CityGML version and the Envelope's srsName/corners; stops early."""
    _check_nonempty(path)
    srs_name = None
    lower = upper = None
    version = "?"
    try:
        f = open(path, "rb")
    except OSError as e:
        raise ParseError(f"cannot read file: {e.strerror}", file=str(path)) from None
    try:
        # Small reads: libxml2 parses all it is fed before iterparse yields, and the Envelope
        # sits in the first few kB (a 32 kB feed parsed ~6x more than needed, per file).
        ctx = etree.iterparse(_SmallReads(f), events=("start", "end"), huge_tree=True, resolve_entities=False, no_network=True)
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
    finally:
        f.close()
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
    """Wraps the input so progress can report bytes consumed without re-stat'ing, and a digest
    can hash the bytes the parser reads (the file is not read a second time to hash it)."""

    def __init__(self, f: BinaryIO, digest: Any = None) -> None:
        self.f = f
        self.n = 0
        self.digest = digest

    def read(self, size: int = -1) -> bytes:
        b = self.f.read(size)
        self.n += len(b)
        if self.digest is not None:
            self.digest.update(b)
        return b


@dataclass
class Chunk:
    """A byte range of one file that parses on its own: [start, end) begins at a member's start
    tag (or at 0) and ends at another's (or at EOF). ``prefix`` bytes (XML declaration, root
    start tag, boundedBy) are replayed before it, then ``pad_lines`` newlines so libxml2's line
    numbers match the whole file (-1: not counted yet, see LineCounter), and ``close`` (the root
    end tag) after it unless it is last."""

    start: int
    end: int
    prefix: int  # length of the file's header (offset of the first member)
    pad_lines: int
    close: bytes


_MEMBER_RE = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?(?:cityObjectMember|featureMember))[\s>]")
_ROOT_RE = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?CityModel)[\s>]")


def plan_chunks(path: Path, n: int, count_lines: bool = True) -> list[Chunk] | None:
    """Cut a file into about ``n`` independently parsable chunks at member start tags, or None
    when it cannot be cut safely (no member/root found in the first MiB, n < 2, tiny file).
    Without ``count_lines`` every chunk after the first has ``pad_lines`` -1, for a LineCounter
    to fill in."""
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
        lines = _lines_before(f, bounds) if count_lines else None  # line numbers at each boundary
    close = b"</" + root_tag + b">"
    out = [Chunk(0, bounds[1], first, 0, close)]
    for i in range(1, len(bounds)):
        end = bounds[i + 1] if i + 1 < len(bounds) else size
        out.append(Chunk(bounds[i], end, first, lines[i] - lines[0] if lines else -1, close if i + 1 < len(bounds) else b""))
    return out


_COUNT_BUFFER = 4 << 20  # bytes read at a time: the counter's memory does not grow with the file


def _lines_before(f: BinaryIO, bounds: list[int], pos: int = 0, nl: int = 0) -> list[int]:
    """Newlines in f before each of the ascending offsets ``bounds``, given ``nl`` newlines
    before ``pos`` (where counting starts): one buffer refilled by readinto, counted by
    bytearray.count within it (no copy). As fast as the compiled mmap counter it replaced
    (47-58 ms against 52-76 ms for 87 MB)."""
    out: list[int] = []
    f.seek(pos)
    buf = bytearray(_COUNT_BUFFER)
    view = memoryview(buf)
    for b in bounds:
        while pos < b:
            k = f.readinto(view[: min(len(buf), b - pos)])
            if not k:
                break
            nl += buf.count(b"\n", 0, k)
            pos += k
        out.append(nl)
    return out


class LineCounter:
    """The ``pad_lines`` of one file's chunks planned with ``count_lines=False``, counted on
    demand: the import fills in each chunk's just before it hands the chunk to a worker, so the
    first workers parse while the rest of the file is counted (35 MB took 20-50 ms here, before
    any worker could start). Counting resumes where it stopped for later chunks."""

    def __init__(self, path: str | Path) -> None:
        self.f = open(path, "rb")
        self.pos = self.nl = 0
        self.header: int | None = None  # newlines before the first member (the chunks' prefix)

    def _to(self, offset: int) -> int:
        if offset < self.pos:
            self.pos = self.nl = 0
        self.nl = _lines_before(self.f, [offset], self.pos, self.nl)[0]
        self.pos = offset
        return self.nl

    def pad_lines(self, chunk: Chunk) -> int:
        if chunk.start == 0:
            return 0  # the first chunk is the file's own start
        if self.header is None:
            self.header = self._to(chunk.prefix)
        return self._to(chunk.start) - self.header

    def close(self) -> None:
        self.f.close()


class _ChunkReader:
    """File-like over prefix + padding + [start, end) + close; ``n`` counts only real bytes of
    the range, so progress sums to the file size over all chunks."""

    def __init__(self, f: BinaryIO, c: Chunk) -> None:
        self.f = f
        self.c = c
        if c.start and c.pad_lines < 0:
            raise ValueError("the chunk's pad_lines are not counted yet (LineCounter)")
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
    lazy: bool = False,
    lod: int = 2,
    digest: Any = None,
    z_only: bool = False,
) -> Iterator[RawBuilding]:
    """Yield one RawBuilding per top-level bldg:Building; other city objects are skipped.

    Rings are parsed in batches (``materialize``); with ``lazy`` they are left as text for the
    caller to materialize together with a coordinate transform. ``lod`` < 2 skips LOD2 geometry
    where LOD0/LOD1 exist (see _building).

    Raises ParseError (with file and line) for malformed XML, a wrong root or a 0-byte file;
    buildings already yielded stay valid, so a caller may keep them (partial import).
    ``chunk``: parse only that part of the file (see plan_chunks); lines stay file lines.
    ``digest`` (a hashlib object, whole files only) is fed every byte of the file once the
    last building is yielded. ``z_only`` (with ``lod`` < 2): a building whose LOD1 solid is
    wanted only for its z range (mesh.lod1_z_only) may come with that range and its LOD1 values
    already parsed, its rings cut later (``lod1_z``, ``lod1_source``, undefer_lod1).
    """
    if digest is not None and chunk is not None:
        raise ValueError("digest needs the whole file")
    _check_nonempty(path)
    with open(path, "rb") as raw:
        src = _Counter(raw, digest) if chunk is None else _ChunkReader(raw, chunk)
        ctx = etree.iterparse(
            src,
            events=("end",),
            tag=("{*}cityObjectMember", "{*}featureMember"),
            huge_tree=True,
            resolve_entities=False,
            no_network=True,
            remove_comments=True,
            # Pretty-printed files (most real ones) have a whitespace node between every two
            # elements; not building them parses ~8% faster. Leaf texts are kept as they are.
            remove_blank_text=True,
        )
        root_checked = False
        last_reported = 0
        pending: list[RawBuilding] = []
        cleared = 0
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
                        pending.append(_building(feat, False, warn, lod, z_only))
                        if len(pending) >= _BATCH:
                            if not lazy:
                                materialize(pending, warn)
                            yield from pending
                            pending = []
                    elif ln:
                        warn("skipped_feature", f"{ln} at line {feat.sourceline} is not a building")
                # A live proxy inside the member makes clear() move its whole subtree to a new
                # document, reconciling namespaces node by node (~25% of the parse on real files).
                feat = None
                # Free the finished member and everything before it (the root holds them).
                member.clear(keep_tail=False)
                cleared += 1
                if cleared >= 64:  # the emptied members themselves, in one slice deletion
                    cleared = 0
                    parent = member.getparent()
                    if parent is not None:
                        del parent[: parent.index(member)]
                if progress is not None and src.n - last_reported >= 1 << 20:
                    progress(src.n - last_reported)
                    last_reported = src.n
            if not root_checked:
                root = getattr(ctx, "root", None)
                if root is not None and _ln(root.tag) != "CityModel":
                    raise ParseError(f"wrong root element <{_ln(root.tag)}>: expected core:CityModel", file=str(path), line=1)
        except etree.XMLSyntaxError as e:
            err = _xml_error(path, e)
        else:
            err = None
        finally:
            # What parsed before an error is still delivered (partial import).
            if not lazy:
                materialize(pending, warn)
        yield from pending
        if err is not None:
            raise err
        if digest is not None:
            while src.read(1 << 20):  # whatever follows the root element, if libxml2 stopped early
                pass
        if progress is not None:
            progress(src.n - last_reported)


def _num(text: str | None, warn: Warn, what: str, el: etree._Element) -> float | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        warn("bad_value", f"{what} {t!r} at line {el.sourceline} is not a number")
        return None


# One small function per kind of value, called ~10 times per building: each reads only what it
# needs of the element (the line only for a warning).
Store = Callable[[RawBuilding, str, etree._Element, Warn], None]


def _v_code(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    t = el.text
    if t and (t := t.strip()):
        rec.codes[key] = (t, el.get("codeSpace"))


def _v_str(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    t = el.text
    if t and (t := t.strip()):
        rec.attrs[key] = t


def _v_year(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    # Years come as "1975" or as dates ("2021-01-01"); "0001" is PLATEAU's unknown.
    t = (el.text or "").strip()
    if len(t) >= 4 and t[:4].isdigit() and (len(t) == 4 or t[4] == "-"):
        y = int(t[:4])
        if 1 < y < 9999:
            rec.attrs[key] = y
        return
    v = _num(t, warn, key, el)
    if v is not None and 1 < v < 9999:
        rec.attrs[key] = int(v)


def _v_measure(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    t = el.text
    try:
        v = float(t)  # type: ignore[arg-type]  # float() strips whitespace itself
    except (TypeError, ValueError):
        v = _num(t, warn, key, el)  # type: ignore[assignment]
        if v is None:
            return
    # PLATEAU sentinels mean "not surveyed": keep them unknown rather than as numbers.
    if v > -9999:
        rec.attrs[key] = v


def _v_storeys(rec: RawBuilding, key: str, el: etree._Element, warn: Warn) -> None:
    v = _num(el.text, warn, key, el)
    if v is not None and 0 <= v < 9999:
        rec.attrs[key] = int(v)


_STORE: dict[str, Store] = {
    "code": _v_code, "str": _v_str, "year": _v_year, "height": _v_measure, "area": _v_measure, "storeys": _v_storeys,
}


_DIRECT: dict[str, tuple[str, Callable]] = {
    "measuredHeight": ("measured_height", _v_measure),
    "storeysAboveGround": ("storeys_above", _v_storeys),
    "storeysBelowGround": ("storeys_below", _v_storeys),
    "yearOfConstruction": ("year", _v_year),
    "usage": ("usage_code", _v_code),
    "class": ("class_code", _v_code),
}
_URO_STORE = {ln: (key, _STORE[kind]) for ln, (key, kind) in _URO_LEAVES.items()}
_URO_TAGS = tuple("{*}" + ln for ln in _URO_LEAVES)
_IUR = "{https://www.geospatial.jp/iur/"


# YAKUBA_GML_FAST=0 reads every building in Python (for comparisons; the output is the same).
_fast_building = _gmlfast.building if _gmlfast is not None and os.environ.get("YAKUBA_GML_FAST", "1") != "0" else None


def _building(el: etree._Element, is_part: bool, warn: Warn, lod: int = 2, z_only: bool = False) -> RawBuilding:
    """One Building or BuildingPart: the compiled reader takes the common case (~11 µs for a
    synthetic LOD1 building against ~48 µs for the walk below); it returns None for anything it
    would have to warn about or does not read (LOD2 surfaces, holes, CityGML 3.0 heights...),
    and Python reads that building. ``z_only``: see iter_buildings."""
    if _fast_building is not None:
        t = _fast_building(el, lod, z_only)
        if t is not None:
            return _from_fast(t, is_part)
    return _building_py(el, is_part, warn, lod)


def _from_fast(t: tuple, is_part: bool) -> RawBuilding:
    gml_id, line, attrs, codes, lod0, lod0_kind, lod1, parts, lazy, lod2_skipped, srs, z = t
    rec = RawBuilding(
        gml_id, line, is_part, attrs, codes, lod0, lod0_kind, lod1, [], parse_srs_name(srs) if srs else None,
        [_from_fast(p, True) for p in parts] if parts else [], lazy, lod2_skipped,
    )
    if z is not None:
        # The compiled reader kept the LOD1 solid as parsed source values (its rings are
        # placeholders until undefer_lod1) and its z range, as materialize's z_only would.
        rec.lod1_z = (z[0], z[1])
        rec.lod1_deferred = SolidValues(z[2], z[3])
        rec.lod1_source = True
    return rec


def _building_py(el: etree._Element, is_part: bool, warn: Warn, lod: int = 2) -> RawBuilding:
    """One Building or BuildingPart. With ``lod`` < 2, LOD2 geometry is read only when the
    building has no LOD0/LOD1 to draw or to take a footprint from; otherwise it is only noted
    (``lod2_skipped``), which spares most of the work on files with LOD2 (their surfaces are
    most of the XML)."""
    rec = RawBuilding(gml_id=_gml_id(el), line=el.sourceline or 0, is_part=is_part)
    ids: dict[str, PolygonRings] = {}
    lod0_fp: list[PolygonRings] = []
    lod0_re: list[PolygonRings] = []
    lod2_direct: list[etree._Element] = []
    bounded: list[etree._Element] = []
    for child in el:
        tag = child.tag
        ln = _ln(tag)
        if not ln:
            continue
        d = _DIRECT.get(ln)
        if d is not None:
            if ln == "usage" and "usage_code" in rec.codes:
                continue  # several usages: the first is the main one
            d[1](rec, d[0], child, warn)
        elif ln in _LOD0:
            polys = _polygons(child, rec, None, warn)
            (lod0_fp if ln != "lod0RoofEdge" else lod0_re).extend(polys)
        elif ln in _LOD1:
            rec.lod1.extend(_polygons(child, rec, None, warn))
        elif ln in _LOD2:
            lod2_direct.append(child)
        elif ln in ("boundedBy", "boundary"):
            bounded.append(child)
        elif ln in ("consistsOfBuildingPart", "buildingPart"):
            for p in child:
                if _ln(p.tag) == "BuildingPart":
                    rec.parts.append(_building(p, True, warn, lod))
        elif ln == "height":  # CityGML 3.0 con:height/con:Height
            _height30(child, rec, warn)
        elif tag.startswith(_IUR) or ln.startswith("adeOf"):
            for leaf in child.iter(_URO_TAGS):
                key, store = _URO_STORE[_ln(leaf.tag)]
                if key not in rec.attrs and key not in rec.codes:
                    store(rec, key, leaf, warn)
    if lod0_fp:
        rec.lod0, rec.lod0_kind = lod0_fp, "footprint"
    elif lod0_re:
        rec.lod0, rec.lod0_kind = lod0_re, "roof_edge"
    if (bounded or lod2_direct) and lod < 2 and (rec.lod0 or rec.lod1):
        rec.lod2_skipped = True
        return rec
    for child in bounded:
        for surf in child:
            kind = _SURFACE_KIND.get(_ln(surf.tag))
            if kind is None and not _ln(surf.tag).endswith("Surface"):
                continue
            for g in surf:
                if _ln(g.tag) == "lod2MultiSurface":
                    ring_ids: list[list[str | None]] = []
                    for rings, rid in zip(_polygons(g, rec, ids, warn, ring_ids=ring_ids), ring_ids):
                        rec.lod2.append(Surface(kind or "other", rings, rid))
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
            _v_measure(rec, "measured_height", value, warn)


LazyRing = tuple  # (posList text, srsDimension, source line): parsed later by materialize()


def _dim(v: str | None, default: int) -> int:
    """An srsDimension attribute; 0 for one that is not a number (its rings are then dropped
    with a bad_coordinates warning by materialize)."""
    if v is None:
        return default
    try:
        return int(v)
    except ValueError:
        return 0


def _ring_text(lr: etree._Element, dim: int) -> LazyRing:
    """A LinearRing's coordinates as text (one gml:posList, or several gml:pos joined)."""
    if len(lr) == 1:
        c = lr[0]
        return (c.text or "", _dim(c.get("srsDimension"), dim), c.sourceline or 0)
    texts = []
    for c in lr:
        ln = _ln(c.tag)
        if ln == "posList":
            dim = _dim(c.get("srsDimension"), dim)
            texts.append(c.text or "")
        elif ln == "pos":
            texts.append(c.text or "")
    return (" ".join(texts), dim, lr.sourceline or 0)


_GML_TAGS: dict[str, tuple[str, str, str]] = {}


def _gml_tags(tag: str) -> tuple[str, str, str]:
    """posList, interior and pos in the namespace of a geometry element's tag (exact names
    match faster than "{*}" wildcards)."""
    t = _GML_TAGS.get(tag)
    if t is None:
        ns = tag[: tag.index("}") + 1]
        t = _GML_TAGS[tag] = (ns + "posList", ns + "interior", ns + "pos")
    return t


def _polygons(
    prop: etree._Element, rec: RawBuilding, ids: dict[str, PolygonRings] | None, warn: Warn, resolve: bool = False,
    ring_ids: list[list[str | None]] | None = None,
) -> list[PolygonRings]:
    """Polygons under a geometry property, each a list of rings (exterior first). Rings stay
    text until ``materialize`` parses a whole batch. ``ids``: where to register polygons by
    gml:id for xlink:href resolution (LOD2 only; None skips the lookups)."""
    if not len(prop):
        return []
    g = prop[0]
    srs = g.get("srsName")
    if srs and rec.srs is None:
        rec.srs = parse_srs_name(srs)
    dim = _dim(g.get("srsDimension"), 3)
    tag = g.tag
    if ids is None and isinstance(tag, str) and tag[0] == "{":
        # Common case: no holes and no gml:pos, so every posList is one polygon's exterior;
        # only the posList elements get Python proxies.
        pl, interior, pos = _gml_tags(tag)
        if next(prop.iter(interior, pos), None) is None:
            line = prop.sourceline or 0
            out = []
            for e in prop.iter(pl):
                t = e.text
                if not t or e.get("srsDimension") is not None:
                    break  # odd: let _walk read it (and warn about it)
                out.append([(t, dim, line)])
            else:
                rec.lazy.extend([(p, 0) for p in out])
                return out
    return _walk(prop, rec, ids, warn, resolve, dim, ring_ids)


def _walk(
    prop: etree._Element, rec: RawBuilding, ids: dict[str, PolygonRings] | None, warn: Warn, resolve: bool, dim: int,
    ring_ids: list[list[str | None]] | None = None,
) -> list[PolygonRings]:
    """Polygon by polygon: GML orders exterior before interior, so document order of the
    LinearRings gives each polygon's rings without touching exterior/interior elements.
    ``ring_ids``: filled with each returned polygon's rings' gml:ids (textures name rings)."""
    out: list[PolygonRings] = []
    rids: list[list[str | None]] = []
    rings: PolygonRings | None = None
    for e in prop.iter("{*}Polygon", "{*}LinearRing"):
        if _ln(e.tag) == "Polygon":
            rings = []
            out.append(rings)
            rids.append([])
            if ids is not None:
                pid = _gml_id(e)
                if pid:
                    ids[pid] = rings
        elif rings is not None:
            rec.lazy.append((rings, len(rings)))
            rings.append(_ring_text(e, dim))  # type: ignore[arg-type]
            rids[-1].append(_gml_id(e))
    if out and not all(out):
        rids = [i for r, i in zip(out, rids) if r]
        out = [r for r in out if r]  # a Polygon without rings
    if resolve:
        for sm in prop.iter("{*}surfaceMember", "{*}baseSurface"):
            href = sm.get(XLINK_HREF)
            if href and not len(sm):
                target = (ids or {}).get(href.lstrip("#"))
                if target is None:
                    warn("unresolved_href", f"xlink:href {href} at line {sm.sourceline} not found in its building")
                else:
                    out.append(target)
                    rids.append([])
    if ring_ids is not None:
        ring_ids.extend(rids)
    return out


# Between the rings of a batch: a value no coordinate has, so one C-level parse of the joined
# text gives every ring's values and the marks give their boundaries.
_MARK = "-9.87654321e300"
_MARK_VALUE = float(_MARK)
# The compiled parse (plain 3D texts; None sends the batch through _parse_values and its warnings).
_parse_rings = _gmlfast.parse_rings if _fast_building is not None else None


def _ring_slots(recs: list[RawBuilding]) -> tuple[list[tuple[list, int]], list[LazyRing], list[int], list[int]]:
    """Where each text ring sits (registered by the parser), its text, its batch record, and
    how many rings each record (with its parts) has: a record's rings are consecutive."""
    slots: list[tuple[list, int]] = []
    group: list[int] = []
    per: list[int] = []
    for gi, top in enumerate(recs):
        before = len(slots)
        for r in (top, *top.parts) if top.parts else (top,):
            if r.lazy:
                slots.extend(r.lazy)
        k = len(slots) - before
        per.append(k)
        if k:
            group.extend([gi] * k)
    return slots, [poly[k] for poly, k in slots], group, per


def _parse_values(texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """All numbers of all texts and each text's (start, end) in them; None if any is not numeric."""
    if not texts:
        return np.zeros(0), np.zeros((0, 2), dtype=np.int64)
    joined = (" " + _MARK + " ").join(texts) + " " + _MARK
    a = None
    # orjson's float parser is ~3x numpy's. JSON needs exactly one separator between numbers
    # (true of PLATEAU's posLists); anything else (newlines, double spaces, NaN) raises and
    # takes numpy's path. true/false/null would parse, so text with their letters skips it.
    if "u" not in joined and "a" not in joined and "l" not in joined:
        try:
            a = np.array(orjson.loads("[" + joined.replace(" ", ",") + "]"), dtype=np.float64)
        except (orjson.JSONDecodeError, TypeError, ValueError):
            a = None
    if a is None or a.ndim != 1:
        try:
            a = np.fromstring(joined, sep=" ")
        except ValueError:
            return None
    marks = np.flatnonzero(a == _MARK_VALUE)
    if len(marks) != len(texts):
        return None
    starts = np.empty(len(marks), dtype=np.int64)
    starts[0] = 0
    starts[1:] = marks[:-1] + 1
    return a, np.column_stack((starts, marks))


def materialize(
    recs: list[RawBuilding],
    warn: Warn,
    to_local: Callable[[int | None], Callable[[np.ndarray], np.ndarray]] | None = None,
    z_only: Callable[[RawBuilding], bool] | None = None,
) -> None:
    """Parse every text ring of ``recs`` (and their parts) in one pass: (N, dim) float arrays,
    closing point removed; bad rings are warned about and dropped (a polygon whose exterior is
    bad goes with it). ``to_local(srs)`` maps (N, 3) source points to another frame; the whole
    batch is transformed in one call per source CRS and the records are marked local.

    ``z_only(rec)``: true for records whose LOD1 rings are wanted only for their z (see
    mesh.lod1_z_only). Their LOD1 rings then stay in source coordinates, z being the same in
    both frames; such a record is marked ``lod1_source`` and mesh.localize_lod1 transforms
    them if they are wanted after all. (The compiled reader does more for such buildings: it
    hands over their solid already parsed, see iter_buildings' ``z_only``; this covers the
    buildings the Python walk reads.)"""
    slots, lazy, group, per = _ring_slots(recs)
    if slots:
        vals = se = good = None
        fast = _parse_rings(lazy) if _parse_rings is not None else None
        if fast is not None:
            vals = np.frombuffer(fast[0])
            se = np.frombuffer(fast[1], dtype=np.int64).reshape(-1, 2)
        else:
            parsed = _parse_values([t for t, _, _ in lazy])
            dims = np.fromiter((d for _, d, _ in lazy), dtype=np.int64, count=len(lazy))
            if parsed is not None and (dims == 3).all():
                vals, se = parsed
        if se is not None:
            counts = se[:, 1] - se[:, 0]
            good = counts % 3 == 0
        if good is not None and good.all():
            source = None
            if to_local is not None and z_only is not None:
                source = _lod1_in_source(recs, slots, per, z_only)
            pts, p0, n = _split_xyz(vals, se, counts, recs, group, to_local, source)
            short = np.flatnonzero(n < 3).tolist()
            for (poly, k), a, b in zip(slots, p0.tolist(), (p0 + n).tolist()):
                poly[k] = pts[a:b]
            for i in short:
                poly, k = slots[i]
                warn("degenerate_ring", f"ring with {int(n[i])} distinct points at line {lazy[i][2]}")
                poly[k] = None
        else:
            rings = [_one_ring(t, d, line, warn) for t, d, line in lazy]
            if to_local is not None:
                rings = _transform_each(rings, recs, group, to_local)
            short = [i for i, r in enumerate(rings) if r is None or len(r) < 3]
            for (poly, k), ring in zip(slots, rings):
                poly[k] = ring
            for i in short:
                poly, k = slots[i]
                if rings[i] is not None:
                    warn("degenerate_ring", f"ring with {len(rings[i])} distinct points at line {lazy[i][2]}")
                poly[k] = None
        for top in recs:
            for r in (top, *top.parts) if top.parts else (top,):
                r.lazy = []
        if short:
            _drop_bad_rings(recs)
    if to_local is not None:
        for rec in recs:
            rec.local = True


def _lod1_in_source(
    recs: list[RawBuilding], slots: list[tuple[list, int]], per: list[int], z_only: Callable[[RawBuilding], bool]
) -> np.ndarray | None:
    """The rings to leave in source coordinates (a mask over ``slots``): the LOD1 rings of each
    z-only record, taken only where the record's one LOD0 ring comes first and its LOD1 rings
    are all the rest (the schema's order, and the parser's); any other record is transformed
    whole, as without ``z_only``."""
    mask = None
    s = 0
    for r, k in zip(recs, per):
        if k and z_only(r) and k == 1 + sum(map(len, r.lod1)) and slots[s][0] is r.lod0[0]:
            if mask is None:
                mask = np.zeros(len(slots), dtype=bool)
            mask[s + 1 : s + k] = True
            r.lod1_source = True
        s += k
    return mask


class SolidValues(NamedTuple):
    """An LOD1 solid the compiled reader parsed (``lod1_deferred``): float64 x y z values, and per
    ring (one polygon each) its point count and its count without the closing point (int64)."""

    values: bytes
    counts: bytes


def undefer_lod1(rec: RawBuilding) -> None:
    """Cut the LOD1 rings the compiled reader parsed (``lod1_deferred``) into arrays, one polygon
    per ring, closing point dropped, still in source coordinates (``lod1_source``)."""
    d = rec.lod1_deferred
    if d is None:
        return
    pts = np.frombuffer(d.values).reshape(-1, 3).copy()
    counts = np.frombuffer(d.counts, dtype=np.int64).reshape(-1, 2)
    at = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1, 0], out=at[1:])
    rec.lod1 = [[pts[a : a + k]] for a, k in zip(at.tolist(), counts[:, 1].tolist())]
    rec.lod1_deferred = rec.lod1_z = None


def _split_xyz(vals, se, counts, recs, group, to_local, source=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised path (every ring 3D and well formed): one reshape, one closing-point test,
    one transform per CRS. Returns the (N, 3) points, and each ring's first point and its
    count without the closing point. ``source``: rings left untransformed (per ring)."""
    keep = np.ones(len(vals), dtype=bool)
    keep[se[:, 1]] = False
    pts = vals[keep].reshape(-1, 3)
    n = counts // 3
    p0 = np.zeros(len(n), dtype=np.int64)
    np.cumsum(n[:-1], out=p0[1:])
    last = p0 + n - 1
    has = n > 1
    closed = np.zeros(len(n), dtype=bool)
    closed[has] = (pts[p0[has]] == pts[last[has]]).all(axis=1)
    n = n - closed
    if to_local is not None and len(pts):
        want = None if source is None else np.repeat(~source, counts // 3)
        one = {r.srs for r in recs}
        if len(one) == 1 and want is None:
            pts = to_local(one.pop())(pts)
        elif len(one) == 1:
            pts[want] = to_local(one.pop())(pts[want])
        else:
            srs = [recs[g].srs for g in group]
            gid = np.repeat(np.array([hash(s) for s in srs]), counts // 3)
            out = pts.copy()
            for s in set(srs):
                m = gid == hash(s)
                if want is not None:
                    m &= want
                out[m] = to_local(s)(pts[m])
            pts = out
    return pts, p0, n


def _one_ring(text: str, dim: int, line: int, warn: Warn) -> Ring | None:
    try:
        a = np.array(text.split(), dtype=np.float64)
    except ValueError:
        warn("bad_coordinates", f"non-numeric coordinates at line {line}")
        return None
    if dim not in (2, 3):
        warn("bad_coordinates", f"unsupported srsDimension {dim or '(not a number)'} at line {line}")
        return None
    if len(a) % dim:
        warn("bad_coordinates", f"coordinate count {len(a)} not a multiple of {dim} at line {line}")
        return None
    a = a.reshape(-1, dim)
    if len(a) > 1 and a[0].tolist() == a[-1].tolist():
        a = a[:-1]
    return a


def _transform_each(rings, recs, group, to_local) -> list[np.ndarray | None]:
    out = []
    for ring, g in zip(rings, group):
        if ring is None or len(ring) < 3:
            out.append(ring)
            continue
        xyz = ring if ring.shape[1] == 3 else np.column_stack((ring, np.zeros(len(ring))))
        out.append(to_local(recs[g].srs)(xyz))
    return out


def _drop_bad_rings(recs: list[RawBuilding]) -> None:
    def clean(polys: list[PolygonRings]) -> list[PolygonRings]:
        for poly in polys:
            if poly and poly[0] is not None and any(r is None for r in poly):
                poly[:] = [r for r in poly if r is not None]
        return [p for p in polys if p and p[0] is not None]

    for top in recs:
        for r in (top, *top.parts):
            r.lod0 = clean(r.lod0)
            r.lod1 = clean(r.lod1)
            kept = []
            for surf in r.lod2:
                if surf.rings and surf.rings[0] is not None:
                    surf.rings[:] = [x for x in surf.rings if x is not None]
                    kept.append(surf)
            r.lod2 = kept

