"""The import pipeline's orchestration: source (source/citygml.iter_buildings) -> transforms
(CRS: transform/localize; footprints, repair, extrude, triangulate: transform/lod1_batch and
transform/mesh.process) -> sinks (tile chunks -> GLB +
tileset.json; BuildingTable npz; attributes.jsonl; dataset.json). The per-file stage that
workers run is gis/file_task.py; this module plans the tasks, runs the pool and merges.

One ``Feedback`` object carries warnings by kind, progress and cancellation through every stage.
Files are parsed by a process pool forked from a single-threaded process (in the process otherwise);
a large file is cut at member boundaries into byte ranges (gml_file.plan_chunks, at most
MAX_CHUNK_BYTES each) so one file keeps every core busy and a worker's memory is one chunk's.

Workers go a batch of BATCH buildings at a time: the rings' posList texts are parsed in one call
(source/rings.read_rings) and transformed in one pyproj call (transform/localize); the common
simple LOD1 building (one hole-free footprint, an LOD1 solid, no parts) is footprinted,
validated and extruded for the whole batch at once (transform/lod1_batch); the rest take
mesh.process, one by one. Meshes spill into
chunks, one per grid cell, with their buildings' tile properties; rows and attribute lines go to
table parts (gis.sink.table_parts). A process appends all its tasks' chunks and parts to the same
three files (creating a file costs ~0.5 ms on some disks). The parent then hashes the gml:ids
to find duplicates, groups the cells into tiles (tiles.group_cells), streams the table into
buildings.npz on a thread and concatenates the attribute lines while the workers write the
tiles, and finally moves the finished dataset directory into place in one rename.

Dataset directory layout (``DATA/datasets/<id>/``)::

    dataset.json        metadata: name, sources + sha256, CRS/origin, extent, counts, coverage,
                        warnings by kind, code labels (ja/en)
    buildings.npz       gis.buildings.BuildingTable; row i == feature id i (_FEATURE_ID_0)
    attributes.jsonl    one JSON object per row (all parsed attributes), same order
    tileset.json        3D Tiles 1.1
    tiles/t<level>_<x>_<y>.glb    a block of 2^level x 2^level grid cells (tiles.group_cells)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson

from .crs import GEOID_MODEL, LocalFrame, origin_for, pick_plane_zone, vertical_model
from .errors import Cancelled, CrsError, DatasetError, InputError, ParseError
from .file_task import Feedback, FileResult, FileTask, _close_process_files, _init_worker, _json_default, _run_file_proc, run_file
from .sink import tiles as tiles_mod
from .sink.table_parts import attr_lines, copy_attrs, rename_duplicates, summarize_parts, write_table
from .sink.tile_writer import TileOptions, cell_extent, tile_tasks, write_tile, write_tileset
from .source.citygml import iter_buildings
from .source.gml_file import LineCounter, plan_chunks, read_header
from .source.codelists import merge_labels

log = logging.getLogger("yakuba.gis.pipeline")

DATASET_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_dataset_id(dataset_id: str) -> str:
    if not isinstance(dataset_id, str) or not DATASET_ID_RE.match(dataset_id):
        raise DatasetError(f"invalid dataset id {dataset_id!r}: must match {DATASET_ID_RE.pattern}")
    return dataset_id


def slugify(name: str) -> str:
    s = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:64]
    return s or "dataset"


@dataclass
class ImportResult:
    dataset: str
    path: Path
    buildings: int
    building_parts: int
    tiles: int
    lods: dict[str, int]
    coverage: dict[str, int]
    warnings: dict[str, int]
    seconds: float
    skipped: bool = False

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "path": str(self.path),
            "buildings": self.buildings,
            "building_parts": self.building_parts,
            "tiles": self.tiles,
            "lods": self.lods,
            "coverage": self.coverage,
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
        }


# ----------------------------------------------------------------------------- frame choice


def _latlon_of(epsg: int, pts: list[tuple[float, ...]]) -> np.ndarray:
    """(N, 2) lat, lon of source points, in one pyproj call."""
    from .crs import first_axis_is_northing, horizontal, transformer

    horiz = horizontal(epsg)
    p = np.array([q[:2] for q in pts], dtype=np.float64)
    a, b = (p[:, 1], p[:, 0]) if first_axis_is_northing(epsg) else (p[:, 0], p[:, 1])
    lon, lat = transformer(horiz, 6668).transform(a, b)
    return np.column_stack((np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)))


def choose_frame(paths: list[Path], zone: int | None = None) -> tuple[int, tuple[float, float], dict[Path, int]]:
    """(zone EPSG, integer origin, per-file source EPSG) from the files' Envelopes (or first building)."""
    srs: dict[Path, int] = {}
    corners: dict[int, list[tuple[Path, tuple[float, ...]]]] = {}  # source EPSG -> (file, corner)
    for p in paths:
        h = read_header(p)
        srs[p] = h.srs
        cs = [c for c in (h.lower, h.upper) if c]
        if not cs:
            for rec in iter_buildings(p, lambda k, m: None):
                rings = [r for poly in rec.lod0 + rec.lod1 for r in poly] + [r for s in rec.lod2 for r in s.rings]
                if rings:
                    cs = [tuple(rings[0][0])]
                    srs[p] = rec.srs or h.srs
                    break
        corners.setdefault(srs[p], []).extend((p, c) for c in cs)
    lats: list[float] = []
    lons: list[float] = []
    for epsg, items in corners.items():
        try:
            ll = _latlon_of(epsg, [c for _, c in items])
        except Exception as e:  # pyproj raises several types for out-of-domain points
            raise CrsError(f"cannot place {items[0][1]} from EPSG:{epsg}: {e}", file=str(items[0][0])) from None
        for (p, c), (lat, lon) in zip(items, ll.tolist()):
            if not (math.isfinite(lat) and math.isfinite(lon)):
                raise CrsError(f"coordinates {c} are outside EPSG:{epsg}", file=str(p))
            lats.append(lat)
            lons.append(lon)
    if not lats:
        raise ParseError("no buildings with coordinates found", file=str(paths[0]) if paths else None)
    lat0, lon0 = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    if not (20.0 <= lat0 <= 46.0 and 122.0 <= lon0 <= 154.0):
        raise CrsError(f"data centre lat {lat0:.4f} lon {lon0:.4f} is outside Japan; no plane rectangular zone applies", file=str(paths[0]))
    z = zone or pick_plane_zone(lat0, lon0)
    return z, origin_for(lat0, lon0, z), srs


# ----------------------------------------------------------------------------- worker


COVERAGE_KEYS = ("height", "storeys_above", "year", "total_floor_area", "structure_code", "fireproof_code", "usage_code", "class_code")


def import_dataset(
    paths: list[Path],
    name: str,
    data_dir: Path,
    *,
    dataset_id: str | None = None,
    lod: int = 1,
    zone: int | None = None,
    feedback: Feedback | None = None,
    workers: int | None = None,
    tile_size: float = tiles_mod.TILE_SIZE,
    tiling: dict[str, int] | None = None,
    tile_options: TileOptions | None = None,
) -> ImportResult:
    """Import GML files as one dataset into ``data_dir/datasets/<id>``; the public entry point.

    ``tile_size`` is the grid cell; ``tiling`` overrides tiles.group_cells' budget
    (max_level, max_buildings, max_vertices); ``tile_options`` switches normals and the coarse
    levels (both on by default).

    Raises InputError (ParseError/CrsError; ``.errors`` lists every failed file) or Cancelled.
    """
    t0 = time.perf_counter()
    fb = feedback or Feedback()
    topts = tile_options or TileOptions()
    tiling = {"max_level": tiles_mod.MAX_TILE_LEVEL, "max_buildings": tiles_mod.MAX_TILE_BUILDINGS,
              "max_vertices": tiles_mod.MAX_TILE_VERTICES, **(tiling or {})}
    ds_id = check_dataset_id(dataset_id if dataset_id is not None else slugify(name))
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("no input files")
    for p in paths:
        if not p.is_file():
            raise InputError("not a file", file=str(p))
    fb.total_bytes = sum(p.stat().st_size for p in paths)
    zone_epsg, origin, srs = choose_frame(paths, zone)
    frame = LocalFrame(srs[paths[0]], zone_epsg, origin)
    root = Path(data_dir) / "datasets"
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{ds_id}-", dir=root))
    spill_dir = work / "spill"
    spill_dir.mkdir()
    log.info("import start dataset=%s files=%d bytes=%d zone=EPSG:%d", ds_id, len(paths), fb.total_bytes, zone_epsg)
    stack = contextlib.ExitStack()
    try:
        nworkers = workers or os.cpu_count() or 1
        tasks = _plan_tasks(paths, srs, zone_epsg, origin, lod, tile_size, str(spill_dir), nworkers, topts.textures)
        nworkers = min(nworkers, len(tasks))
        pool = stack.enter_context(_Pool(nworkers, fb))
        results = pool.files(tasks)
        t_parsed = time.perf_counter()
        errors = [r.error for r in results if r.error]
        if fb.cancelled:
            raise Cancelled("import cancelled")
        if errors:
            first = errors[0]
            err = ParseError(first["reason"], file=first["file"], line=first["line"])
            err.errors = errors  # type: ignore[attr-defined]
            raise err
        for r in results:
            fb.merge(r.warnings, r.samples)

        # Rows: file order, then document order. Duplicate gml:ids get a suffix, never overwrite.
        # Workers wrote their rows as column parts; only numpy columns and the ids sit here.
        parts = [r.table_part for r in results]
        offsets = np.concatenate(([0], np.cumsum([r.n_rows for r in results])[:-1])).astype(int).tolist() if results else []
        # Tiles are written by the workers while this process finds duplicate ids and writes the
        # table and attributes. Duplicates are rare: the few tiles holding a renamed row are
        # written again once the names are known.
        labels: dict[str, dict[str, str]] = {}
        labels_en: dict[str, dict[str, str]] = {}
        for r in results:
            merge_labels(labels, r.labels, fb.warn)
            merge_labels(labels_en, r.labels_en, lambda k, m: None)
        # Heights: orthometric in the source, above the ellipsoid on the globe. The geoid at the
        # origin goes into the root transform; its change across the city and the globe's
        # curvature go into each vertex (crs.vertical_model).
        n_origin, transform, vgrid = vertical_model(frame, *cell_extent(results, origin, tile_size))
        tile_args = (tiling, labels, vgrid, topts)
        tiles = pool.map(write_tile, tile_tasks(work, results, offsets, {}, *tile_args))
        summary = summarize_parts(parts, COVERAGE_KEYS)
        renamed = rename_duplicates(parts, summary)
        # zlib releases the GIL: the table compresses on a thread while the attributes stream.
        saver = stack.enter_context(ThreadPoolExecutor(1)).submit(
            write_table, work / "buildings.npz", parts, summary, renamed, f"EPSG:{zone_epsg}", origin, labels
        )
        n_building_id = sum(r.n_building_id for r in results)
        with open(work / "attributes.jsonl", "wb") as f:
            for r, base in zip(results, offsets):
                if not renamed:
                    copy_attrs(r.table_part, f)
                    continue
                for i, line in enumerate(attr_lines(r.table_part), start=base):
                    if i in renamed:
                        a = orjson.loads(line)
                        gid = a["gml_id"]
                        fb.warn("duplicate_gml_id", f"{gid} seen again in {Path(r.path).name} line {a.get('line')}; renamed {renamed[i]}")
                        a["gml_id"], a["original_gml_id"] = renamed[i], gid
                        line = orjson.dumps(a, option=orjson.OPT_APPEND_NEWLINE)
                    f.write(line)
        saver.result()
        t_table = time.perf_counter()
        entries = list(tiles)
        if renamed:
            redo = [t for t in tile_tasks(work, results, offsets, renamed, *tile_args) if t.renamed]
            for _ in pool.map(write_tile, redo):
                pass  # the same geometry and bounds, now with the new names
        tree = write_tileset(work, entries, renamed, labels, transform, ds_id, tile_size, topts, pool.map)
        t_tiles = time.perf_counter()
        lo = np.min([e["lo"] for e in entries], axis=0) if entries else np.full(3, np.inf)
        hi = np.max([e["hi"] for e in entries], axis=0) if entries else np.full(3, -np.inf)
        shutil.rmtree(spill_dir, ignore_errors=True)
        (work / "tileset.json").write_bytes(orjson.dumps(tree["tileset"], option=orjson.OPT_INDENT_2))

        n = summary.n
        coverage = dict(summary.coverage)
        coverage["building_id"] = n_building_id
        lods_total: Counter[int] = Counter()
        for r in results:
            lods_total.update(r.lods)
        if entries:
            ll = frame.to_lonlat(np.array([[lo[0], lo[1]], [hi[0], hi[1]]]))
            extent = {
                "lon_min": float(ll[:, 0].min()), "lat_min": float(ll[:, 1].min()),
                "lon_max": float(ll[:, 0].max()), "lat_max": float(ll[:, 1].max()),
                "z_min": float(lo[2]), "z_max": float(hi[2]),
                "local_min": lo.tolist(), "local_max": hi.tolist(),
            }
        else:
            extent = None
        sources = [{"file": Path(r.path).name, "bytes": r.bytes, "sha256": r.sha256} for r in results if r.part == 0]
        seconds = time.perf_counter() - t0
        meta = {
            "id": ds_id,
            "name": name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "source_hash": source_hash(sources),
            "sources": sources,
            "lod": lod,
            "crs": {"source": f"EPSG:{srs[paths[0]]}", "local": f"EPSG:{zone_epsg}", "origin": list(origin),
                    "height": "source heights (orthometric for EPSG:6697)",
                    "vertical_datum": {
                        "tiles": "ellipsoidal (GRS80) heights" if n_origin is not None else "source heights: outside the geoid model, none applied",
                        "geoid_model": GEOID_MODEL if n_origin is not None else None,
                        "geoid_height_at_origin_m": None if n_origin is None else round(n_origin, 4),
                        "extent_z": "tileset frame: local metres, the origin's ellipsoidal height subtracted",
                    }},
            "extent": extent,
            "counts": {"buildings": n, "building_parts": sum(r.n_parts for r in results), "tiles": len(entries),
                       "coarse_tiles": tree["coarse_tiles"],
                       "lods": {str(k): v for k, v in sorted(lods_total.items())}},
            "coverage": coverage,
            "warnings": dict(fb.warnings),
            "warning_samples": fb.samples,
            "code_labels": labels,
            "code_labels_en": labels_en,
            "tile_size": tile_size,
            "tiling": tiling,
            "tile_options": {"normals": topts.normals, "hierarchy": topts.hierarchy},
            "seconds": round(seconds, 3),
            "credit": "出典：国土交通省 Project PLATEAU 3D都市モデル",
        }
        (work / "dataset.json").write_bytes(
            orjson.dumps(meta, default=_json_default, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
        )
        final = root / ds_id
        _replace_dir(work, final)
        log.info("import phases dataset=%s parse=%.2fs table+attributes=%.2fs tiles=%.2fs total=%.2fs", ds_id,
                 t_parsed - t0, t_table - t_parsed, t_tiles - t_parsed, time.perf_counter() - t0)
        log.info("import done dataset=%s buildings=%d tiles=%d seconds=%.2f", ds_id, n, len(entries), seconds)
        return ImportResult(
            dataset=ds_id, path=final, buildings=n, building_parts=meta["counts"]["building_parts"], tiles=len(entries),
            lods=meta["counts"]["lods"], coverage=coverage, warnings=dict(fb.warnings), seconds=seconds,
        )
    finally:
        stack.close()
        _close_process_files(str(spill_dir))  # inline imports (one worker) wrote in this process
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


SPLIT_MIN_BYTES = 8 << 20  # smaller files are not worth a second parser
MAX_CHUNK_BYTES = 16 << 20  # larger files are always cut: a worker holds one chunk's rows, so its memory is flat


def _plan_tasks(
    paths: list[Path], srs: dict[Path, int], zone_epsg: int, origin: tuple[float, float], lod: int, tile_size: float,
    spill_dir: str, nworkers: int, textures: bool = False,
) -> list[FileTask]:
    """One task per file, except that with several workers a large file is cut into byte
    ranges at member boundaries (gml_file.plan_chunks) so one file keeps every core busy; rows
    stay in file then document order because results are merged in task order. Textured LOD2
    files are not cut: a file's texture coordinates can sit anywhere in it."""
    total = sum(p.stat().st_size for p in paths)
    target = max(SPLIT_MIN_BYTES, total / (2 * nworkers)) if nworkers > 1 else math.inf
    target = min(target, MAX_CHUNK_BYTES)  # a worker holds one task's rows: bound it
    tasks = []
    for i, p in enumerate(paths):
        size = p.stat().st_size
        # Line numbers are counted later, chunk by chunk, while workers already parse (_Pool.files).
        split = size > target and not (textures and lod >= 2)
        chunks = plan_chunks(p, math.ceil(size / target), count_lines=False) if split else None
        for part, c in enumerate(chunks or [None]):
            tasks.append(FileTask(i, str(p), srs[p], zone_epsg, origin, lod, tile_size, spill_dir, c, part, textures))
    return tasks


def source_hash(sources: list[dict]) -> str:
    h = hashlib.sha256()
    for s in sources:
        h.update(f"{s['file']}\0{s['sha256']}\n".encode())
    return h.hexdigest()


def _replace_dir(new: Path, final: Path) -> None:
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        os.rename(final, old)
        os.rename(new, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(new, final)


def can_fork() -> bool:
    """Workers are forked, and only from a process that runs no other thread (CLI, benchmark,
    a job process): a fork copies no other thread's held lock then. A threaded caller imports in
    its own process, one worker (the server's upload jobs use one anyway); a fork-server path for
    that case was kept only by its test and went."""
    import multiprocessing as mp

    return threading.active_count() == 1 and "fork" in mp.get_all_start_methods()


def _counted(task: FileTask, counters: dict[str, LineCounter]) -> FileTask:
    """The task with its chunk's pad_lines counted (the parent counts while workers parse)."""
    c = task.chunk
    if c is not None and c.pad_lines < 0:
        counter = counters.get(task.path)
        if counter is None:
            counter = counters[task.path] = LineCounter(task.path)
        c.pad_lines = counter.pad_lines(c)
    return task


class _Pool:
    """The worker processes of one import: file tasks (with progress and cancellation), then
    tile tasks. One process runs everything inline."""

    def __init__(self, nworkers: int, fb: Feedback) -> None:
        self.n = nworkers
        self.fb = fb
        self.ex: ProcessPoolExecutor | None = None

    def __enter__(self) -> "_Pool":
        if self.n > 1 and not can_fork():
            log.info("import in this process: it runs other threads, workers are not forked (asked for %d)", self.n)
            self.n = 1
        if self.n <= 1:
            return self
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        log.info("import pool workers=%d start=fork", self.n)
        self.q = ctx.Queue()
        self.cancel = ctx.Event()
        self.ex = ProcessPoolExecutor(max_workers=self.n, mp_context=ctx, initializer=_init_worker, initargs=(self.q, self.cancel))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ex is not None:
            # The dataset is in place (or the import failed) by now: workers exit on their own
            # and the executor reaps them; waiting here added ~8 ms to every import.
            self.ex.shutdown(wait=False, cancel_futures=True)
            self.q.close()

    def files(self, tasks: list[FileTask]) -> list[FileResult]:
        fb = self.fb
        counters: dict[str, LineCounter] = {}
        try:
            if self.ex is None:
                cache: dict = {}
                return [run_file(_counted(t, counters), fb, cache) for t in tasks]
            # Largest first (a file's byte ranges together, in file order, as their line
            # numbers are counted in that order), so no worker is left with a big task at the end
            # while the other idles; results stay in task order.
            size = [(t.chunk.end - t.chunk.start) if t.chunk else os.path.getsize(t.path) for t in tasks]
            largest: dict[int, int] = {}
            for t, s in zip(tasks, size):
                largest[t.index] = max(largest.get(t.index, 0), s)
            futs: list[Any] = [None] * len(tasks)
            for i in sorted(range(len(tasks)), key=lambda i: (-largest[tasks[i].index], tasks[i].index, tasks[i].part)):
                futs[i] = self.ex.submit(_run_file_proc, _counted(tasks[i], counters))
        finally:
            for c in counters.values():
                c.close()
        pending = set(futs)
        while pending:
            # Returns the moment the last task ends (a blocking read of the progress queue
            # would add up to its timeout to every import).
            pending = wait(pending, timeout=0.05)[1]
            if fb.cancelled:
                self.cancel.set()
            self._drain_progress()
        results = [f.result() for f in futs]
        self._drain_progress()  # what the workers' queue feeders delivered after their task ended
        return results

    def _drain_progress(self) -> None:
        while True:
            try:
                self.fb.progress(self.q.get_nowait())
            except queue.Empty:
                return

    def map(self, fn: Callable[[Any], Any], items: list) -> Any:
        """Results in order; lazily, so the caller can work while the workers do."""
        if self.ex is None:
            return (fn(x) for x in items)
        return self.ex.map(fn, items, chunksize=max(1, len(items) // (4 * self.n)))
