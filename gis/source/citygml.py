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

from pathlib import Path
from typing import Any, Callable, Iterator

from lxml import etree

from ..crs import parse_srs_name
from ..errors import ParseError
from .compiled import building as _fast_building
from .gml_file import Chunk, _check_nonempty, _ChunkReader, _Counter, _ln, _xml_error
from .records import LazyRing, PolygonRings, RawBuilding, SolidValues, Surface, Warn
from .rings import materialize
from .values import _DIRECT, _IUR, _URO_STORE, _URO_TAGS, _v_measure

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
GML_IDS = ("{http://www.opengis.net/gml}id", "{http://www.opengis.net/gml/3.2}id")

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


_BATCH = 64  # buildings whose rings are parsed together


def _gml_id(el: etree._Element) -> str | None:
    for k in GML_IDS:
        v = el.get(k)
        if v:
            return v
    return None


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
    caller to parse and move to local metres in one go (transform.localize.read_local). ``lod`` < 2 skips LOD2 geometry
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
        # placeholders until undefer_lod1) and its z range, as localize's z_only would.
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


def _dim(v: str | None, default: int) -> int:
    """An srsDimension attribute; 0 for one that is not a number (its rings are then dropped
    with a bad_coordinates warning by rings.read_rings)."""
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
    text until rings.read_rings parses a whole batch. ``ids``: where to register polygons by
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
