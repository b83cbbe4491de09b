"""The batched import path: rings parsed a batch at a time, simple LOD1 buildings footprinted and
extruded per batch, the table streamed from worker parts. Each is checked against the
per-building path it replaces, on real samples, and on the inputs where the two could differ."""

from __future__ import annotations

import copy
import io
import json
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from yakuba.gis.buildings import BuildingTable
from yakuba.gis.source import citygml
from yakuba.gis.source.citygml import iter_buildings
from yakuba.gis.source.records import SolidValues
from yakuba.gis.source.rings import materialize
from yakuba.gis.transform.localize import read_local
from yakuba.gis.transform.lod1_batch import lod1_batch
from yakuba.gis.crs import LocalFrame
from yakuba.gis.transform.mesh import process
from yakuba.gis.pipeline import Feedback, choose_frame, import_dataset
from yakuba.gis.sink.table_parts import PartFiles, PartRef, TablePart, attr_lines, copy_attrs, rename_duplicates, summarize_parts, write_table

from .conftest import SAMPLES
from .test_citygml import building, doc, footprint, ring

BLDG = SAMPLES / "udx" / "bldg"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "plateau" / "udx" / "bldg"


def solid(pos_lists: list[str]) -> str:
    members = "".join(
        f"<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>{p}</gml:posList>"
        "</gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
        for p in pos_lists
    )
    return f"<bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface>{members}</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid>"


def parse(tmp_path: Path, *buildings: str) -> tuple[list, dict]:
    p = tmp_path / "t_bldg_6697_op.gml"
    p.write_text(doc(*buildings))
    fb = Feedback()
    return list(iter_buildings(p, fb.warn)), dict(fb.warnings)


# --------------------------------------------------------------------------- ring parsing


def test_irregular_whitespace_parses_like_single_spaces(tmp_path: Path) -> None:
    clean = ring(34.59, 135.49, 3.0)
    messy = "\n   " + clean.replace(" ", "\n\t  ") + "  \n"
    recs, warns = parse(tmp_path, building("a", footprint(clean)), building("b", footprint(messy)))
    assert warns == {}
    assert np.array_equal(recs[0].lod0[0][0], recs[1].lod0[0][0])
    assert recs[0].lod0[0][0].shape == (4, 3)  # closing point removed


@pytest.mark.parametrize("bad", ["abc", "true", "null", "1,5"])
def test_non_numeric_coordinates_warn_and_spare_the_batch(tmp_path: Path, bad: str) -> None:
    # "true"/"null" would be valid JSON: the fast (orjson) parse must not turn them into numbers.
    broken = ring(34.59, 135.49).replace("135.4901", bad, 1)
    assert bad in broken
    recs, warns = parse(tmp_path, building("ok1", footprint(ring(34.591, 135.49))), building("bad", footprint(broken)),
                        building("ok2", footprint(ring(34.592, 135.49))))
    assert warns.get("bad_coordinates") == 1
    assert [r.gml_id for r in recs] == ["ok1", "bad", "ok2"]
    assert recs[1].lod0 == [] and len(recs[0].lod0) == 1 and len(recs[2].lod0) == 1
    assert abs(recs[2].lod0[0][0][0, 0] - 34.592) < 1e-9


def test_count_not_a_multiple_of_three_and_degenerate_rings(tmp_path: Path) -> None:
    odd = ring(34.59, 135.49) + " 7"
    two = "34.59 135.49 0 34.5901 135.49 0 34.59 135.49 0"
    recs, warns = parse(tmp_path, building("odd", footprint(odd)), building("two", footprint(two)),
                        building("ok", footprint(ring(34.592, 135.49))))
    assert warns == {"bad_coordinates": 1, "degenerate_ring": 1}
    assert recs[0].lod0 == [] and recs[1].lod0 == [] and len(recs[2].lod0) == 1


def test_nan_coordinates_take_the_numpy_path(tmp_path: Path) -> None:
    recs, _ = parse(tmp_path, building("n", footprint(ring(34.59, 135.49).replace("0.0", "NaN", 1))))
    assert np.isnan(recs[0].lod0[0][0]).sum() == 1


def test_holes_and_2d_poslists_are_read_element_by_element(tmp_path: Path) -> None:
    outer, inner = ring(34.59, 135.49, d=0.001), ring(34.5903, 135.4903, d=0.0002)
    holed = ("<bldg:lod0FootPrint><gml:MultiSurface><gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
             f"<gml:posList>{outer}</gml:posList></gml:LinearRing></gml:exterior><gml:interior><gml:LinearRing>"
             f"<gml:posList>{inner}</gml:posList></gml:LinearRing></gml:interior></gml:Polygon></gml:surfaceMember>"
             "</gml:MultiSurface></bldg:lod0FootPrint>")
    flat = footprint(" ".join(ring(34.59, 135.49).split()[i] for i in range(15) if i % 3 != 2)).replace(
        "<gml:posList>", '<gml:posList srsDimension="2">')
    recs, warns = parse(tmp_path, building("holed", holed), building("flat", flat))
    assert warns == {}
    assert len(recs[0].lod0) == 1 and len(recs[0].lod0[0]) == 2  # one polygon, exterior + hole
    assert recs[1].lod0[0][0].shape == (4, 2)


def test_a_batch_with_a_2d_ring_is_transformed_ring_by_ring_in_one_call(tmp_path: Path) -> None:
    """A 2D ring sends the batch off the vectorised path; its rings still move in one pyproj call
    per CRS, each exactly as a transform of that ring alone (2D at z 0)."""
    flat = footprint(" ".join(ring(34.59, 135.49).split()[i] for i in range(15) if i % 3 != 2)).replace(
        "<gml:posList>", '<gml:posList srsDimension="2">')
    p = tmp_path / "t_bldg_6697_op.gml"
    p.write_text(doc(building("flat", flat), building("box", footprint(ring(34.591, 135.491, 2.0)))))
    zone, origin, srs = choose_frame([p])
    frame = LocalFrame(srs[p], zone, origin)
    src = list(iter_buildings(p, lambda k, m: None, lazy=True))
    materialize(src, lambda k, m: None)
    calls: list[int] = []

    def to_local(s):
        def f(pts):
            calls.append(len(pts))
            return frame.to_local(pts)
        return f

    recs = list(iter_buildings(p, lambda k, m: None, lazy=True))
    read_local(recs, lambda k, m: None, to_local)
    assert len(calls) == 1 and all(r.local for r in recs)
    for a, b in zip(src, recs):
        x = a.lod0[0][0]
        want = frame.to_local(x if x.shape[1] == 3 else np.column_stack((x, np.zeros(len(x)))))
        assert np.array_equal(b.lod0[0][0], want)


# --------------------------------------------------------------------------- batch geometry


def _sample_files() -> list[Path]:
    files = sorted(SHARED.glob("*.gml")) if SHARED.is_dir() else []
    return files or sorted(BLDG.glob("*.gml"))


def test_lod1_batch_equals_per_building_process() -> None:
    """For every building the batch takes, the same footprint, area, centroid, z range, height
    and mesh as process() gives the same building."""
    checked = 0
    for f in _sample_files():
        zone, origin, srs = choose_frame([f])
        frame = LocalFrame(srs[f], zone, origin)
        recs = list(iter_buildings(f, lambda k, m: None, lazy=True))
        read_local(recs, lambda k, m: None, lambda s: LocalFrame(s or srs[f], zone, origin).to_local)
        for lod in (1, 2):
            fast = lod1_batch(recs, lod)
            for k, i in enumerate(fast.index):
                rec = copy.deepcopy(recs[i])
                pb = process(rec, lambda s: frame, lod, lambda k_, m: None, rec.gml_id or "x")
                assert pb is not None
                ring_ = np.asarray(pb.row["footprint"].exterior.coords)[:, :2]
                assert np.array_equal(fast.rings[k], ring_)
                assert fast.area[k] == pytest.approx(pb.row["footprint"].area, rel=1e-12)
                assert tuple(fast.centroid[k]) == pytest.approx(pb.centroid, abs=1e-9)
                assert (fast.z0[k], fast.z1[k]) == pytest.approx(pb.zrange, abs=1e-9)
                assert fast.height[k] == pb.row["height"] and fast.height_source[k] == pb.attrs["height_source"]
                assert np.array_equal(fast.meshes[k].positions, pb.mesh.positions)
                assert np.array_equal(fast.meshes[k].indices, pb.mesh.indices)
                checked += 1
    assert checked > 50


def test_lod1_batch_leaves_the_unusual_to_process(tmp_path: Path) -> None:
    box = ring(34.59, 135.49, 0.0)
    walls = [ring(34.59, 135.49, 0.0), ring(34.59, 135.49, 9.0)]
    bowtie = "34.59 135.49 0 34.5901 135.4901 0 34.59 135.4901 0 34.5901 135.49 0 34.59 135.49 0"
    p = tmp_path / "t_bldg_6697_op.gml"
    p.write_text(doc(
        building("simple", footprint(box) + solid(walls)),
        building("no_lod1", footprint(box)),
        building("bowtie", footprint(bowtie) + solid(walls)),
        building("lod1_only", solid(walls)),
    ))
    zone, origin, srs = choose_frame([p])
    recs = list(iter_buildings(p, lambda k, m: None, lazy=True))
    read_local(recs, lambda k, m: None, lambda s: LocalFrame(srs[p], zone, origin).to_local)
    fast = lod1_batch(recs, 1)
    # The self-intersecting footprint needs repair (and a warning): that is process()'s job.
    assert [recs[i].gml_id for i in fast.index] == ["simple", "lod1_only"]
    assert fast.height_source == ["lod1_geometry", "lod1_geometry"] and fast.height[0] == pytest.approx(9.0)


def _odd_lod1_file(tmp_path: Path) -> Path:
    """Buildings whose LOD1 x, y are wanted after all: a self-intersecting LOD0 (repaired), a
    degenerate LOD0 ring (dropped: the footprint is then the solid's base), a zero-area LOD0."""
    box = ring(34.59, 135.49, 0.0)
    walls = [ring(34.59, 135.49, 0.0), ring(34.59, 135.49, 9.0)]
    bowtie = "34.59 135.49 0 34.5901 135.4901 0 34.59 135.4901 0 34.5901 135.49 0 34.59 135.49 0"
    two_points = "34.59 135.49 0 34.5901 135.4901 0 34.59 135.49 0"
    flat = "34.59 135.49 0 34.5901 135.4901 0 34.5902 135.4902 0 34.59 135.49 0"
    p = tmp_path / "odd_bldg_6697_op.gml"
    p.write_text(doc(
        building("simple", footprint(box) + solid(walls)),
        building("bowtie", footprint(bowtie) + solid(walls)),
        building("dropped_lod0", footprint(two_points) + solid(walls)),
        building("zero_area_lod0", footprint(flat) + solid(walls)),
        building("lod1_only", solid(walls)),
    ))
    return p


def test_a_failed_transform_leaves_the_batch_in_source_coordinates(tmp_path: Path) -> None:
    """The transform stage fails as a whole or not at all: the rings stay as parsed, nothing is
    marked local or z-only (process() then transforms and reports building by building)."""
    from yakuba.gis.transform.localize import lod1_z_only

    p = _odd_lod1_file(tmp_path)
    plain = list(iter_buildings(p, lambda k, m: None, lazy=True))
    materialize(plain, lambda k, m: None)

    def broken(srs):
        def to_local(pts):
            raise ValueError("transform failed")
        return to_local

    warned: list[str] = []
    recs = list(iter_buildings(p, lambda k, m: None, lazy=True))
    read_local(recs, lambda k, m: warned.append(k), broken, lambda r: lod1_z_only(r, 1))
    assert not any(r.local or r.lod1_source for r in recs)
    for a, b in zip(plain, recs):
        for pa, pb in zip(a.lod0 + a.lod1, b.lod0 + b.lod1):
            assert all(np.array_equal(x, y) for x, y in zip(pa, pb))
    assert warned.count("degenerate_ring") == 1  # the two-point LOD0 ring, warned once


def test_lod1_solids_left_in_source_coordinates_only_for_their_z(tmp_path: Path) -> None:
    """read_local(z_only=...) leaves the LOD1 rings of simple buildings in source coordinates
    (marked), transforms everything else; localize_lod1 then gives what a full transform gives."""
    from yakuba.gis.transform.localize import localize_lod1, lod1_z_only

    p = _odd_lod1_file(tmp_path)
    zone, origin, srs = choose_frame([p])
    frame = LocalFrame(srs[p], zone, origin)
    full = list(iter_buildings(p, lambda k, m: None, lazy=True))
    read_local(full, lambda k, m: None, lambda s: frame.to_local)
    part = list(iter_buildings(p, lambda k, m: None, lazy=True))
    read_local(part, lambda k, m: None, lambda s: frame.to_local, lambda r: lod1_z_only(r, 1))
    marked = [r.gml_id for r in part if r.lod1_source]
    assert marked == ["simple", "bowtie", "dropped_lod0", "zero_area_lod0"]
    for a, b in zip(full, part):
        assert all(np.array_equal(x, y) for pa, pb in zip(a.lod0, b.lod0) for x, y in zip(pa, pb))
        for pa, pb in zip(a.lod1, b.lod1):
            for x, y in zip(pa, pb):
                assert np.array_equal(x[:, 2], y[:, 2])  # z is the same in both frames
                if b.gml_id in marked:
                    assert 30 < y[0, 0] < 40 and 130 < y[0, 1] < 140  # still latitude, longitude
        localize_lod1(b, lambda s: frame)
        assert not b.lod1_source
        assert all(np.array_equal(x, y) for pa, pb in zip(a.lod1, b.lod1) for x, y in zip(pa, pb))
    # The compiled reader does the same at parse time (iter_buildings' z_only): the solid comes
    # parsed, with its z range, for every simple building (the degenerate LOD0 ring is dropped
    # by materialize as before); localized, the same rings.
    if citygml._fast_building is None:
        return
    parsed = list(iter_buildings(p, lambda k, m: None, lazy=True, lod=1, z_only=True))
    assert [r.gml_id for r in parsed if isinstance(r.lod1_deferred, SolidValues)] == marked
    read_local(parsed, lambda k, m: None, lambda s: frame.to_local, lambda r: lod1_z_only(r, 1))
    for a, b in zip(full, parsed):
        if b.gml_id in marked:
            z = np.concatenate([p[0][:, 2] for p in a.lod1])
            assert b.lod1_z == (z.min(), z.max()) and b.lod1_source
        localize_lod1(b, lambda s: frame)
        assert all(np.array_equal(x, y) for pa, pb in zip(a.lod1, b.lod1) for x, y in zip(pa, pb))
        assert all(np.array_equal(x, y) for pa, pb in zip(a.lod0, b.lod0) for x, y in zip(pa, pb))


def test_solids_parsed_at_read_time_process_like_the_rest(tmp_path: Path) -> None:
    """process() on a building whose solid the compiled reader kept as values (z_only), when
    the batch left it in source coordinates (the fallback after a failed batch transform): the
    same result as on the building read the usual way."""
    if citygml._fast_building is None:
        pytest.skip("no compiled reader")
    p = _odd_lod1_file(tmp_path)
    zone, origin, srs = choose_frame([p])
    frame = LocalFrame(srs[p], zone, origin)
    usual = list(iter_buildings(p, lambda k, m: None))
    parsed = list(iter_buildings(p, lambda k, m: None, lazy=True, lod=1, z_only=True))
    assert sum(isinstance(r.lod1_deferred, SolidValues) for r in parsed) >= 3
    materialize(parsed, lambda k, m: None)  # left in source coordinates
    for a, b in zip(usual, parsed):
        wa: list = []
        wb: list = []
        pa = process(a, lambda s: frame, 1, lambda k, m: wa.append(k), a.gml_id)
        pb = process(b, lambda s: frame, 1, lambda k, m: wb.append(k), b.gml_id)
        assert wa == wb and (pa is None) == (pb is None)
        if pa is not None:
            assert pa.row["footprint"].equals_exact(pb.row["footprint"], 0) and pa.zrange == pb.zrange
            assert np.array_equal(pa.mesh.positions, pb.mesh.positions) and np.array_equal(pa.mesh.indices, pb.mesh.indices)
            assert pa.attrs == pb.attrs


@pytest.mark.parametrize("lod", [1, 2])
def test_import_same_with_and_without_transforming_lod1_solids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lod: int) -> None:
    """The datasets (table, attributes, tiles, warnings) are the same whether LOD1 solids of
    simple buildings are transformed or not, odd buildings included."""
    import yakuba.gis.file_task as pl

    files = [*_sample_files()[:4], _odd_lod1_file(tmp_path)]
    results = {}
    for flag in (True, False):
        monkeypatch.setattr(pl, "LOD1_Z_ONLY", flag)
        r = import_dataset(files, "x", tmp_path, dataset_id=f"z{int(flag)}", lod=lod, workers=1)
        results[flag] = r
    a, b = results[True].path, results[False].path
    assert results[True].warnings == results[False].warnings and results[True].warnings.get("repaired_footprint")
    with np.load(a / "buildings.npz") as x, np.load(b / "buildings.npz") as y:
        assert set(x) == set(y) and all(np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f") for k in x)
    assert (a / "attributes.jsonl").read_bytes() == (b / "attributes.jsonl").read_bytes()
    tiles = sorted(t.name for t in (a / "tiles").iterdir())
    assert tiles == sorted(t.name for t in (b / "tiles").iterdir())
    for t in tiles:
        assert (a / "tiles" / t).read_bytes() == (b / "tiles" / t).read_bytes()
    gids = _table(tmp_path, "z1").gml_id
    assert {"simple", "bowtie", "dropped_lod0", "zero_area_lod0", "lod1_only"} <= set(gids)


# --------------------------------------------------------------------------- streamed table


def _part(files: PartFiles, ids: list[str]) -> PartRef:
    part = TablePart(files, lambda o: str(o))
    for i, g in enumerate(ids):
        sq = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float) * (i + 1)
        part.add({"gml_id": g, "footprint": sq, "footprint_area": float((i + 1) ** 2), "height": 3.0 + i, "year": 1990 + i,
                  "structure_code": "601" if i % 2 else "", "usage_code": "411"}, {"line": i})
    return part.close()


def test_duplicates_across_parts_get_free_names_and_the_table_streams(tmp_path: Path) -> None:
    # Two parts in the same pair of files (as one worker writes its tasks), one in another pair.
    shared, other = PartFiles(str(tmp_path / "w1")), PartFiles(str(tmp_path / "w2"))
    parts = [_part(shared, ["x", "y", "x"]), _part(other, ["q"]), _part(shared, ["x__2", "x", "z" * 40])]
    assert [json.loads(line)["line"] for p in parts for line in attr_lines(p)] == [0, 1, 2, 0, 0, 1, 2]
    buf = io.BytesIO()
    copy_attrs(parts[2], buf, block=5)
    assert buf.getvalue() == b"".join(attr_lines(parts[2])) and buf.getvalue().count(b"\n") == 3
    del parts[1]
    s = summarize_parts(parts, ("height", "year", "structure_code"))
    assert s.n == 6 and s.coverage == {"height": 6, "year": 6, "structure_code": 2}
    renamed = rename_duplicates(parts, s)
    # "x__2" is a real id in the data, so the repeats of "x" skip it.
    assert renamed == {2: "x__3", 4: "x__4"}
    write_table(tmp_path / "buildings.npz", parts, s, renamed, "EPSG:6674", (1.0, 2.0), {"usage_code": {"411": "商業"}})
    t = BuildingTable.load(tmp_path / "buildings.npz")
    assert t.gml_id == ["x", "y", "x__3", "x__2", "x__4", "z" * 40]
    assert t.height.tolist() == [3.0, 4.0, 5.0, 3.0, 4.0, 5.0]
    assert t.structure_code == ["", "601", "", "", "601", ""]
    assert [p.area for p in t.footprints] == [1.0, 4.0, 9.0, 1.0, 4.0, 9.0]
    assert t.code_labels == {"usage_code": {"411": "商業"}} and t.origin == (1.0, 2.0)
    # Coordinates are stored (deflate gained little and cost most of the time), the rest deflated.
    with zipfile.ZipFile(tmp_path / "buildings.npz") as z:
        kinds = {i.filename: i.compress_type for i in z.infolist()}
    assert kinds["coords.npy"] == kinds["footprint_area.npy"] == zipfile.ZIP_STORED
    assert {k for k, v in kinds.items() if v == zipfile.ZIP_DEFLATED} == set(kinds) - {"coords.npy", "footprint_area.npy"}
    assert {"gml_id.npy", "ring_offsets.npy", "height.npy", "structure_code.npy", "meta.npy"} <= set(kinds)


def test_no_duplicates_no_renames(tmp_path: Path) -> None:
    files = PartFiles(str(tmp_path / "w"))
    parts = [_part(files, ["a", "b"]), _part(files, ["ab", "ba"])]
    assert rename_duplicates(parts, summarize_parts(parts, ())) == {}


# --------------------------------------------------------------------------- worker pool


def _table(root: Path, ds: str) -> BuildingTable:
    return BuildingTable.load(root / "datasets" / ds / "buildings.npz")


def test_import_from_a_threaded_process_stays_in_it_and_matches_one_process(tmp_path: Path, caplog) -> None:
    """An import started on an executor thread must not fork workers from a threaded process:
    it runs in the process, and the result is the one a single process gives."""
    files = sorted(BLDG.glob("*.gml"))
    caplog.set_level("INFO", logger="yakuba.gis.pipeline")
    import_dataset(files, "one", tmp_path, dataset_id="one", workers=1)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        with ThreadPoolExecutor(1) as ex:
            r = ex.submit(import_dataset, files, "pool", tmp_path, dataset_id="pool", workers=2).result(timeout=240)
    finally:
        stop.set()
    assert "workers are not forked (asked for 2)" in caplog.text and "import pool workers=2" not in caplog.text
    a, b = _table(tmp_path, "one"), _table(tmp_path, "pool")
    assert r.buildings == len(a) and a.gml_id == b.gml_id
    assert np.array_equal(a.height, b.height, equal_nan=True)
    one = (tmp_path / "datasets" / "one" / "attributes.jsonl").read_text()
    assert one == (tmp_path / "datasets" / "pool" / "attributes.jsonl").read_text()
    tiles = sorted(p.name for p in (tmp_path / "datasets" / "one" / "tiles").iterdir())
    assert tiles == sorted(p.name for p in (tmp_path / "datasets" / "pool" / "tiles").iterdir())
    for t in tiles:
        assert (tmp_path / "datasets" / "one" / "tiles" / t).read_bytes() == (tmp_path / "datasets" / "pool" / "tiles" / t).read_bytes()


def test_inline_imports_on_two_threads_keep_their_own_files(tmp_path: Path) -> None:
    """The server runs upload imports inline (one worker) on threads, several at once. Each
    import closes only its own spill and table files: here the second import is held inside its
    parse (its files open) until the first has finished, and both still give the datasets that
    one import at a time gives."""
    files = sorted(BLDG.glob("*.gml"))
    import_dataset(files, "alone", tmp_path, dataset_id="alone", workers=1)
    first_done = threading.Event()

    class Held(Feedback):
        def progress(self, nbytes: int) -> None:
            assert first_done.wait(60)
            super().progress(nbytes)

    with ThreadPoolExecutor(2) as ex:
        second = ex.submit(import_dataset, files, "b", tmp_path, dataset_id="b", workers=1, feedback=Held())
        first = ex.submit(import_dataset, files, "a", tmp_path, dataset_id="a", workers=1)
        first.result(timeout=120)
        assert not second.done()
        first_done.set()
        second.result(timeout=120)
    root = tmp_path / "datasets"
    want = (root / "alone" / "attributes.jsonl").read_bytes()
    tiles = sorted(p.name for p in (root / "alone" / "tiles").iterdir())
    for ds in ("a", "b"):
        assert (root / ds / "attributes.jsonl").read_bytes() == want
        assert _table(tmp_path, ds).gml_id == _table(tmp_path, "alone").gml_id
        assert sorted(p.name for p in (root / ds / "tiles").iterdir()) == tiles
        for t in tiles:
            assert (root / ds / "tiles" / t).read_bytes() == (root / "alone" / "tiles" / t).read_bytes()
    assert not any(p.name.startswith(".tmp-") for p in root.iterdir())


def _lod2_ground(pos: str) -> str:
    return ("<bldg:boundedBy><bldg:GroundSurface><bldg:lod2MultiSurface><gml:MultiSurface><gml:surfaceMember><gml:Polygon>"
            f"<gml:exterior><gml:LinearRing><gml:posList>{pos}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
            "</gml:surfaceMember></gml:MultiSurface></bldg:lod2MultiSurface></bldg:GroundSurface></bldg:boundedBy>")


def test_lod1_import_reads_lod2_only_where_it_is_needed(tmp_path: Path) -> None:
    """An LOD1 import skips LOD2 surfaces of buildings that have LOD0/LOD1 (most of the XML of an
    LOD2 file) but still reads them for a building that has nothing else."""
    box = ring(34.59, 135.49, 0.0)
    p = tmp_path / "t_bldg_6697_op.gml"
    p.write_text(doc(building("both", footprint(box) + _lod2_ground(box)), building("lod2_only", _lod2_ground(box))))
    one = list(iter_buildings(p, lambda k, m: None, lod=1))
    two = list(iter_buildings(p, lambda k, m: None, lod=2))
    assert one[0].lod2 == [] and one[0].lod2_skipped and one[0].lods() == {0, 2}
    assert len(two[0].lod2) == 1 and two[0].lods() == {0, 2}
    assert len(one[1].lod2) == 1 and one[1].lod2[0].kind == "ground"
    r = import_dataset([p], "t", tmp_path, dataset_id="t", lod=1, workers=1)
    assert r.buildings == 2 and set(r.warnings) == {"no_height"}  # no measuredHeight in this snippet
    attrs = [line for line in (tmp_path / "datasets" / "t" / "attributes.jsonl").read_text().splitlines()]
    assert all('"lods":[0,2]' in a or '"lods":[2]' in a for a in attrs)
