"""Writes PLATEAU-style CityGML 2.0 + uro 3.1 for synthetic districts (scale tests, demos).

Rows come from ``gis.district.district_rows`` (local metres, x east / y north) and are placed on
the globe around ``center`` (lat, lon) through the JGD2011 plane rectangular zone of that place,
then written as EPSG:6697 lat/lon/h exactly as PLATEAU does: LOD0 footprint, LOD1 solid, optional
LOD2 thematic surfaces (gable roofs on rectangular houses), codeSpace references and the
codelists themselves next to the file (``<root>/codelists``), so the importer resolves codes the
same way it does for real data. Written as a stream: 100k buildings never sit in memory as XML.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import IO, Iterable
from xml.sax.saxutils import escape

import numpy as np

from .source.codelists import DEFAULT_FILES
from .crs import LocalFrame, origin_for, pick_plane_zone

DEFAULT_CENTER = (34.5907, 135.4994)  # 大阪市住吉区, next to the shipped real sample

_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<core:CityModel xmlns:gml="http://www.opengis.net/gml" xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:bldg="http://www.opengis.net/citygml/building/2.0" xmlns:uro="https://www.geospatial.jp/iur/uro/3.1" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:gen="http://www.opengis.net/citygml/generics/2.0" xmlns:app="http://www.opengis.net/citygml/appearance/2.0" xmlns:xAL="urn:oasis:names:tc:ciq:xsdschema:xAL:2.0">
<gml:boundedBy><gml:Envelope srsName="http://www.opengis.net/def/crs/EPSG/0/6697" srsDimension="3"><gml:lowerCorner>{lo}</gml:lowerCorner><gml:upperCorner>{hi}</gml:upperCorner></gml:Envelope></gml:boundedBy>
"""
_CL = "../../codelists/"


def _shipped_codelists() -> Path:
    import yakuba.assets

    return Path(yakuba.assets.__file__).parent / "samples" / "plateau" / "codelists"


def _pos(ll: np.ndarray, z: Iterable[float]) -> str:
    # lat lon h: PLATEAU's axis order for EPSG:6697. 1e-9 degrees is ~0.1 mm.
    return " ".join(f"{lat:.9f} {lon:.9f} {h:.3f}" for (lon, lat), h in zip(ll, z))


def _poly(ll: np.ndarray, z: Iterable[float], gid: str | None = None) -> str:
    ida = f' gml:id="{gid}"' if gid else ""
    return (f"<gml:Polygon{ida}><gml:exterior><gml:LinearRing><gml:posList>{_pos(ll, z)}</gml:posList>"
            "</gml:LinearRing></gml:exterior></gml:Polygon>")


def _ms(polys: list[str]) -> str:
    return "<gml:MultiSurface>" + "".join(f"<gml:surfaceMember>{p}</gml:surfaceMember>" for p in polys) + "</gml:MultiSurface>"


def write_citygml(
    out: IO[str],
    rows: list[dict],
    frame: LocalFrame,
    *,
    offset: tuple[float, float] = (0.0, 0.0),
    ground_z: float = 3.0,
    lod2: bool = False,
) -> None:
    """Stream a CityModel with one bldg:Building per row. ``offset`` shifts the rows' local
    coordinates into ``frame``'s local frame (e.g. to centre the district on the origin)."""
    all_xy = np.concatenate([np.asarray(r["footprint"], dtype=np.float64)[:, :2] for r in rows]) if rows else np.zeros((1, 2))
    all_xy = all_xy + offset
    ll = frame.to_lonlat(np.array([all_xy.min(0), all_xy.max(0)]))
    hmax = max([float(r.get("height") or 0) for r in rows] + [0.0])
    out.write(_HEADER.format(lo=f"{ll[0,1]:.9f} {ll[0,0]:.9f} {ground_z:.3f}", hi=f"{ll[1,1]:.9f} {ll[1,0]:.9f} {ground_z + hmax + 3:.3f}"))
    for r in rows:
        out.write(_building(r, frame, offset, ground_z, lod2))
    out.write("</core:CityModel>\n")


def _building(r: dict, frame: LocalFrame, offset: tuple[float, float], g: float, lod2: bool) -> str:
    gid = escape(str(r["gml_id"]))
    ring = np.asarray(r["footprint"], dtype=np.float64)[:, :2]
    if np.array_equal(ring[0], ring[-1]):
        ring = ring[:-1]
    # PLATEAU rings are counter-clockwise seen from above for footprints.
    area2 = np.sum(ring[:, 0] * np.roll(ring[:, 1], -1) - np.roll(ring[:, 0], -1) * ring[:, 1])
    if area2 < 0:
        ring = ring[::-1]
    h = r.get("height")
    height = float(h) if h is not None else 6.0
    n = len(ring)
    closed = np.vstack((ring, ring[:1])) + offset
    ll = frame.to_lonlat(closed)
    top = g + height
    parts = [f'<core:cityObjectMember><bldg:Building gml:id="{gid}">']
    parts.append(f'<bldg:class codeSpace="{_CL}Building_class.xml">3001</bldg:class>')
    if r.get("usage_code"):
        parts.append(f'<bldg:usage codeSpace="{_CL}{DEFAULT_FILES["usage_code"]}">{escape(str(r["usage_code"]))}</bldg:usage>')
    parts.append(f"<bldg:yearOfConstruction>{int(r['year']) if r.get('year') else 1:04d}</bldg:yearOfConstruction>")
    parts.append(f'<bldg:measuredHeight uom="m">{height:.2f}</bldg:measuredHeight>' if h is not None
                 else '<bldg:measuredHeight uom="m">-9999</bldg:measuredHeight>')
    parts.append(f"<bldg:storeysAboveGround>{int(r['storeys_above']) if r.get('storeys_above') else 9999}</bldg:storeysAboveGround>")
    parts.append("<bldg:storeysBelowGround>0</bldg:storeysBelowGround>")
    parts.append("<bldg:lod0FootPrint>" + _ms([_poly(ll, [g] * (n + 1))]) + "</bldg:lod0FootPrint>")
    faces = [_poly(ll[::-1], [g] * (n + 1)), _poly(ll, [top] * (n + 1))]
    for i in range(n):
        a, b = ll[i], ll[i + 1]
        faces.append(_poly(np.array([a, b, b, a, a]), [g, g, top, top, g]))
    parts.append("<bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface>"
                 + "".join(f"<gml:surfaceMember>{p}</gml:surfaceMember>" for p in faces)
                 + "</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid>")
    if lod2:
        parts.append(_lod2(gid, ring + offset, frame, g, height))
    parts.append("<uro:buildingIDAttribute><uro:BuildingIDAttribute>"
                 f"<uro:buildingID>{gid}</uro:buildingID></uro:BuildingIDAttribute></uro:buildingIDAttribute>")
    parts.append("<uro:buildingDetailAttribute><uro:BuildingDetailAttribute>")
    if r.get("total_floor_area"):
        parts.append(f'<uro:totalFloorArea uom="m2">{float(r["total_floor_area"]):.2f}</uro:totalFloorArea>')
    if r.get("structure_code"):
        parts.append(f'<uro:buildingStructureType codeSpace="{_CL}{DEFAULT_FILES["structure_code"]}">{escape(str(r["structure_code"]))}</uro:buildingStructureType>')
    if r.get("fireproof_code"):
        parts.append(f'<uro:fireproofStructureType codeSpace="{_CL}{DEFAULT_FILES["fireproof_code"]}">{escape(str(r["fireproof_code"]))}</uro:fireproofStructureType>')
    parts.append("</uro:BuildingDetailAttribute></uro:buildingDetailAttribute>")
    parts.append("</bldg:Building></core:cityObjectMember>\n")
    return "".join(parts)


def _lod2(gid: str, ring: np.ndarray, frame: LocalFrame, g: float, height: float) -> str:
    """Gable roof on 4-corner footprints (eaves at 75 % of the height), flat roof otherwise."""
    surf: list[tuple[str, np.ndarray, list[float]]] = []
    n = len(ring)
    if n == 4:
        eave = g + 0.75 * height
        ridge_z = g + height
        # Ridge along the longer side: corners a,b,c,d with |ab| >= |bc|.
        if np.linalg.norm(ring[1] - ring[0]) < np.linalg.norm(ring[2] - ring[1]):
            ring = np.roll(ring, -1, axis=0)
        a, b, c, d = ring
        m1, m2 = (a + d) / 2, (b + c) / 2  # ridge ends above the short sides
        surf.append(("GroundSurface", np.array([a, d, c, b, a]), [g] * 5))
        surf.append(("WallSurface", np.array([a, b, b, a, a]), [g, g, eave, eave, g]))
        surf.append(("WallSurface", np.array([c, d, d, c, c]), [g, g, eave, eave, g]))
        surf.append(("WallSurface", np.array([b, c, c, m2, b, b]), [g, g, eave, ridge_z, eave, g]))
        surf.append(("WallSurface", np.array([d, a, a, m1, d, d]), [g, g, eave, ridge_z, eave, g]))
        surf.append(("RoofSurface", np.array([a, b, m2, m1, a]), [eave, eave, ridge_z, ridge_z, eave]))
        surf.append(("RoofSurface", np.array([c, d, m1, m2, c]), [eave, eave, ridge_z, ridge_z, eave]))
    else:
        closed = np.vstack((ring, ring[:1]))
        top = g + height
        surf.append(("GroundSurface", closed[::-1], [g] * (n + 1)))
        surf.append(("RoofSurface", closed, [top] * (n + 1)))
        for i in range(n):
            p, q = closed[i], closed[i + 1]
            surf.append(("WallSurface", np.array([p, q, q, p, p]), [g, g, top, top, g]))
    out = []
    # One pyproj call per building, not per surface.
    lls = frame.to_lonlat(np.concatenate([xy for _, xy, _ in surf]))
    cuts = np.cumsum([len(xy) for _, xy, _ in surf])[:-1]
    for k, ((kind, xy, z), ll) in enumerate(zip(surf, np.split(lls, cuts))):
        out.append(f"<bldg:boundedBy><bldg:{kind}><bldg:lod2MultiSurface>"
                   + _ms([_poly(ll, z, f"{gid}_p{k}")])
                   + f"</bldg:lod2MultiSurface></bldg:{kind}></bldg:boundedBy>")
    return "".join(out)


def write_dataset(
    root: Path,
    rows: list[dict],
    *,
    name: str = "synthetic_bldg_6697_op.gml",
    center: tuple[float, float] = DEFAULT_CENTER,
    lod2: bool = False,
) -> Path:
    """Write ``root/udx/bldg/<name>`` + ``root/codelists/*``; returns the GML path."""
    zone = pick_plane_zone(*center)
    frame = LocalFrame(6697, zone, origin_for(center[0], center[1], zone))
    xy = np.concatenate([np.asarray(r["footprint"], dtype=np.float64)[:, :2] for r in rows]) if rows else np.zeros((1, 2))
    offset = (-float(xy[:, 0].mean()), -float(xy[:, 1].mean()))
    gml = Path(root) / "udx" / "bldg" / name
    gml.parent.mkdir(parents=True, exist_ok=True)
    cl = Path(root) / "codelists"
    cl.mkdir(parents=True, exist_ok=True)
    for f in _shipped_codelists().glob("*.xml"):
        shutil.copyfile(f, cl / f.name)
    with open(gml, "w", encoding="utf-8", buffering=1 << 20) as out:
        write_citygml(out, rows, frame, offset=offset, lod2=lod2)
    return gml


def synthetic_district(root: Path, n_buildings: int, *, seed: int = 0, lod2: bool = False, street_width: float = 4.0) -> Path:
    from .district import district_rows

    rows = district_rows(n_buildings, seed=seed, street_width=street_width)
    return write_dataset(root, rows, name=f"synthetic_{n_buildings}_{'lod2' if lod2 else 'lod1'}_bldg_6697_op.gml", lod2=lod2)
