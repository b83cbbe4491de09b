"""The import pipeline: source (citygml.iter_buildings) -> transforms (codes, CRS, repair,
triangulate: mesh.process) -> sinks (tile chunks -> GLB + tileset.json; BuildingTable npz;
attributes.jsonl; dataset.json).

One ``Feedback`` object carries warnings by kind, progress and cancellation through every stage.
Files are parsed by a process pool forked from a single-threaded process (in the process otherwise);
a large file is cut at member boundaries into byte ranges (citygml.plan_chunks, at most
MAX_CHUNK_BYTES each) so one file keeps every core busy and a worker's memory is one chunk's.

Workers go a batch of BATCH buildings at a time: the rings' posList texts are parsed in one call
and transformed in one pyproj call (citygml.materialize); the common simple LOD1 building (one
hole-free footprint, an LOD1 solid, no parts) is footprinted, validated and extruded for the
whole batch at once (mesh.lod1_batch); the rest take mesh.process, one by one. Meshes spill into
chunks, one per grid cell, with their buildings' tile properties; rows and attribute lines go to
table parts (gis.table_parts). A process appends all its tasks' chunks and parts to the same
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
import gc
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson

from .sink import packed
from .sink import tiles as tiles_mod
from .sink.tile_writer import TILE_PROPS, TileOptions, cell_extent, tile_tasks, write_tile, write_tileset
from .source.citygml import Chunk, LineCounter, RawBuilding, iter_buildings, materialize, plan_chunks, read_header
from .source.codelists import UNKNOWN, CodelistResolver, merge_labels
from .crs import GEOID_MODEL, LocalFrame, origin_for, pick_plane_zone, vertical_model
from .errors import Cancelled, CrsError, DatasetError, InputError, ParseError
from .transform.mesh import ROW_CODES, Mesh, Processed, attrs_of, lod1_batch, lod1_z_only, process
from .source.appearance import texture_index
from .sink.table_parts import PartFiles, PartRef, TablePart, attr_lines, copy_attrs, rename_duplicates, summarize_parts, write_table
from shapely.errors import GEOSException

log = logging.getLogger("yakuba.gis.pipeline")

DATASET_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SPILL_VERTICES = 1_500_000  # per worker, ~18 MB of float32 positions before flushing to disk
MAX_SAMPLES = 5
BATCH = 256  # buildings per pyproj call in a worker
# LOD1 solids of simple buildings keep their source x, y (only their z is used) and are parsed
# by the compiled reader as it reads them: set False to read and transform every ring as text
# (the tests compare both).
LOD1_Z_ONLY = True


def check_dataset_id(dataset_id: str) -> str:
    if not isinstance(dataset_id, str) or not DATASET_ID_RE.match(dataset_id):
        raise DatasetError(f"invalid dataset id {dataset_id!r}: must match {DATASET_ID_RE.pattern}")
    return dataset_id


def slugify(name: str) -> str:
    s = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:64]
    return s or "dataset"


class Feedback:
    """Warnings by kind (+ a few samples), progress in bytes, cancellation. Thread-safe."""

    def __init__(self, on_progress: Callable[[int], None] | None = None, cancel: Any = None) -> None:
        self.warnings: Counter[str] = Counter()
        self.samples: dict[str, list[str]] = {}
        self.on_progress = on_progress
        self.cancel_event = cancel if cancel is not None else threading.Event()
        self.done_bytes = 0
        self.total_bytes = 0
        self._lock = threading.Lock()

    def warn(self, kind: str, message: str) -> None:
        with self._lock:
            self.warnings[kind] += 1
            s = self.samples.setdefault(kind, [])
            if len(s) < MAX_SAMPLES:
                s.append(message)

    def merge(self, warnings: dict[str, int], samples: dict[str, list[str]]) -> None:
        with self._lock:
            self.warnings.update(warnings)
            for k, v in samples.items():
                s = self.samples.setdefault(k, [])
                s.extend(v[: MAX_SAMPLES - len(s)])

    def progress(self, nbytes: int) -> None:
        self.done_bytes += nbytes
        if self.on_progress is not None:
            self.on_progress(nbytes)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


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


@dataclass
class FileTask:
    index: int
    path: str
    src_epsg: int
    zone: int
    origin: tuple[float, float]
    lod: int
    tile_size: float
    spill_dir: str
    chunk: Chunk | None = None  # a byte range of the file (large files are split across workers)
    part: int = 0
    textures: bool = False  # LOD2: read the file's facade textures (whole-file tasks only)


@dataclass
class FileResult:
    index: int
    path: str
    part: int = 0
    bytes: int = 0
    sha256: str = ""
    table_part: PartRef | None = None  # where the task's rows and attribute lines lie (gis.table_parts)
    n_rows: int = 0
    n_building_id: int = 0
    chunks: dict[tuple[int, int], list[tuple[str, int, int]]] = field(default_factory=dict)  # cell -> (spill file, offset, length)
    cells: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # cell -> [buildings, vertices]
    warnings: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    labels_en: dict[str, dict[str, str]] = field(default_factory=dict)
    n_parts: int = 0
    lods: dict[int, int] = field(default_factory=dict)
    zrange: tuple[float, float] = (math.inf, -math.inf)
    error: dict | None = None
    images: list[str] = field(default_factory=list)  # texture images its chunks' "tex" index




class _ProcessFiles:
    """The files a process appends every task's output to: spill chunks, table rows, attribute
    lines. A file per task (or per tile chunk) cost ~0.5 ms each to create on this disk."""

    def __init__(self, spill_dir: str) -> None:
        base = os.path.join(spill_dir, f"p{os.getpid()}")
        self.spill_path = base + ".spill"
        self.spill = open(self.spill_path, "wb")
        self.table = PartFiles(base)

    def close(self) -> None:
        self.spill.close()
        self.table.close()


_PROCESS_FILES: dict[str, _ProcessFiles] = {}


def _process_files(spill_dir: str) -> _ProcessFiles:
    # Keyed by the import's spill directory: the web server runs upload imports inline (one
    # worker), several at once on threads, and each closes only its own (_close_process_files).
    f = _PROCESS_FILES.get(spill_dir)
    if f is None:
        f = _PROCESS_FILES[spill_dir] = _ProcessFiles(spill_dir)
    return f


def _close_process_files(spill_dir: str) -> None:
    f = _PROCESS_FILES.pop(spill_dir, None)
    if f is not None:
        f.close()


class _Spill:
    """Per-cell mesh buffers of one worker task, appended to its process's spill file when
    large. A chunk also carries its buildings' tile properties (from the task's TablePart), so
    any process can write the tile without the dataset's table."""

    def __init__(self, res: FileResult, files: _ProcessFiles, part: TablePart) -> None:
        self.res = res
        self.path = files.spill_path
        self.f = files.spill
        self.part = part
        self.buf: dict[tuple[int, int], list[tuple[Mesh, int]]] = {}
        self.nverts = 0
        self.first = len(part)  # the buffer holds buildings of rows [first, len(part))

    def add(self, key: tuple[int, int], mesh: Mesh, local_id: int) -> None:
        self.buf.setdefault(key, []).append((mesh, local_id))
        n = len(mesh.positions)
        self.nverts += n
        w = self.res.cells.setdefault(key, [0, 0])
        w[0] += 1
        w[1] += n
        if self.nverts >= SPILL_VERTICES:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        part = self.part
        lo, hi = self.first, len(part)
        # The tile properties of the buffered rows, as arrays once per flush (not per cell).
        cols = {"gml_id": np.array(part.gml_id[lo:hi], dtype=np.str_)}
        for c in TILE_PROPS[1:]:
            cols[c] = np.array(part.cols[c][lo:hi])
        for key, items in self.buf.items():
            meshes, locs = zip(*items)
            ps = [m.positions for m in meshes]
            ixs = [m.indices for m in meshes]
            counts = np.fromiter(map(len, ps), dtype=np.int64, count=len(ps))
            offs = np.zeros(len(ps), dtype=np.uint32)  # each building's first vertex in the chunk
            np.cumsum(counts[:-1], out=offs[1:])
            pos = np.concatenate(ps)
            idx = np.concatenate(ixs) + np.repeat(offs, np.fromiter(map(len, ixs), dtype=np.int64, count=len(ixs)))
            local = np.array(locs, dtype=np.int64)
            ids = np.repeat(local, counts)
            props = {f"p_{c}": v[local - lo] for c, v in cols.items()}
            # Our own temporary file, read back only by this import's processes (gis.sink.packed:
            # pickle spent ~10 us reducing each array; npz ~15 us per building on zip headers).
            arrays = {"pos": pos, "idx": idx, "ids": ids, "p_id": local, **props}
            if any(m.tex is not None for m in meshes):  # textured LOD2: (s, t) and image per vertex
                uv = np.concatenate([m.uv if m.uv is not None else np.zeros((len(m.positions), 2), np.float32) for m in meshes])
                tex = np.concatenate([m.tex if m.tex is not None else np.full(len(m.positions), -1, np.int32) for m in meshes])
                arrays.update(uv=uv, tex=tex, tex_paths=np.array(self.res.images, dtype=np.str_))
            blob = packed.pack(arrays)
            self.res.chunks.setdefault(key, []).append((self.path, self.f.tell(), len(blob)))
            self.f.write(blob)
        self.buf.clear()
        self.nverts = 0
        self.first = hi

    def close(self) -> None:
        self.flush()
        self.f.flush()  # the tiles are written by other processes


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def run_file(task: FileTask, fb: Feedback, label_cache: dict | None = None) -> FileResult:
    """Parse + transform + mesh one file; rows use file-local indices. Never raises InputError:
    it is returned in ``error`` so the parent can name the file."""
    # Parsing allocates millions of short-lived, acyclic objects: a rarer young-generation
    # collection saves ~2% of the CPU and changes nothing else.
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 20_000), *threshold[1:])
    try:
        return _run_file(task, fb, label_cache)
    finally:
        gc.set_threshold(*threshold)


def _run_file(task: FileTask, fb: Feedback, label_cache: dict | None) -> FileResult:
    path = Path(task.path)
    res = FileResult(index=task.index, path=task.path, part=task.part)
    local_fb = Feedback()  # warnings of this file only; merged by the parent
    try:
        digest = None
        if task.part == 0:  # a split file's size and hash are reported once, by its first part
            res.bytes = path.stat().st_size
            if task.chunk is None:
                digest = hashlib.sha256()  # fed by the parse as it reads
            else:
                res.sha256 = _sha256(task.path)
        frames: dict[int, LocalFrame] = {}

        def frame_for(epsg: int | None) -> LocalFrame:
            e = epsg or task.src_epsg
            if e not in frames:
                frames[e] = LocalFrame(e, task.zone, task.origin)
            return frames[e]

        codes = CodelistResolver(path, local_fb.warn, label_cache)
        textures = texture_index(path, local_fb.warn) if task.textures and task.lod >= 2 else None
        if textures is not None:
            res.images = textures.images
        lods: Counter[int] = Counter()
        zr = [math.inf, -math.inf]
        files = _process_files(task.spill_dir)
        part = TablePart(files.table, _json_default)
        spill = _Spill(res, files, part)

        known: set[tuple[str, str, str | None]] = set()  # resolved to a label: nothing more to do
        # A building's codes as a whole, when every one of them is known: most buildings of a
        # file share a few combinations, so one lookup instead of one per code.
        known_sets: set[tuple] = set()
        source_name = path.name  # a property computed on each access: once per task

        def name_of(rec: RawBuilding) -> str:
            gml_id = rec.gml_id or f"{path.stem}_L{rec.line}"
            if rec.gml_id is None:
                local_fb.warn("missing_gml_id", f"building at line {rec.line} has no gml:id; named {gml_id}")
            if rec.codes:
                items = tuple(rec.codes.items())
                if items not in known_sets:
                    all_known = True
                    for column, (code, space) in items:
                        if column in ROW_CODES and (column, code, space) not in known:
                            # An unknown code is resolved (and warned about) for every building that has it.
                            if codes.resolve(column, code, space) != UNKNOWN:
                                known.add((column, code, space))
                            else:
                                all_known = False
                    if all_known:
                        known_sets.add(items)
            return gml_id

        def emit(pb: Processed) -> None:
            local_id = len(part)
            pb.attrs["source"] = source_name
            part.add(pb.row, pb.attrs)
            res.n_parts += pb.n_parts
            for l in pb.lods:
                lods[l] += 1
            zr[0], zr[1] = min(zr[0], pb.zrange[0]), max(zr[1], pb.zrange[1])
            key = tiles_mod.tile_key(pb.centroid[0] + task.origin[0], pb.centroid[1] + task.origin[1], task.tile_size)
            if len(pb.mesh.indices):
                spill.add(key, pb.mesh, local_id)

        def handle(rec: RawBuilding) -> None:
            gml_id = name_of(rec)
            try:
                pb = process(rec, frame_for, task.lod, local_fb.warn, gml_id, textures)
            except CrsError:
                raise
            except (ValueError, ArithmeticError, GEOSException) as e:
                # One malformed building must not sink the file; count and move on.
                local_fb.warn("bad_geometry", f"{gml_id} (line {rec.line}): {e}")
                return
            if pb is not None:
                emit(pb)

        def z_only(rec: RawBuilding) -> bool:
            return lod1_z_only(rec, task.lod)

        def run_batch(batch: list[RawBuilding]) -> None:
            # One parse and one pyproj call for the whole batch; if the transform fails the
            # records stay in source coordinates and process() transforms (and reports) them
            # one by one.
            try:
                materialize(batch, local_fb.warn, lambda srs: frame_for(srs).to_local, z_only if LOD1_Z_ONLY else None)
            except CrsError:
                raise
            except (ValueError, ArithmeticError):
                materialize(batch, local_fb.warn)
            fast = lod1_batch(batch, task.lod)
            at = dict(zip(fast.index, range(len(fast.index))))
            if fast.index:
                keys = np.floor((fast.centroid + np.asarray(task.origin)) / task.tile_size).astype(np.int64).tolist()
                zr[0], zr[1] = min(zr[0], float(fast.z0.min())), max(zr[1], float(fast.z1.max()))
                areas = fast.area.tolist()
            for i, rec in enumerate(batch):
                k = at.get(i)
                if k is None:
                    handle(rec)
                    continue
                gml_id = name_of(rec)
                # gml_id first in the attribute line, as TablePart.add writes it.
                attrs = attrs_of(rec, fast.height_source[k], into={"gml_id": gml_id})
                attrs["source"] = source_name
                local_id = len(part)
                codes_ = {c: v[0] for c, v in rec.codes.items()}
                part.add_values(gml_id, fast.rings[k], areas[k], fast.height[k], rec.attrs, codes_, attrs)
                for l in attrs["lods"]:
                    lods[l] += 1
                m = fast.meshes[k]
                spill.add(tuple(keys[k]), m, local_id)

        batch: list[RawBuilding] = []
        recs = iter_buildings(path, local_fb.warn, fb.progress, task.chunk, lazy=True, lod=task.lod, digest=digest, z_only=LOD1_Z_ONLY)
        for n, rec in enumerate(recs):
            if n % 256 == 0 and fb.cancelled:
                raise Cancelled("import cancelled")
            batch.append(rec)
            if len(batch) >= BATCH:
                run_batch(batch)
                batch = []
        if batch:
            run_batch(batch)
        if digest is not None:
            res.sha256 = digest.hexdigest()
        zlo, zhi = zr
        spill.close()
        res.n_rows = len(part)
        res.n_building_id = part.n_building_id
        res.table_part = part.close()
        res.lods = dict(lods)
        res.zrange = (zlo, zhi)
        res.labels = codes.used
        res.labels_en = {
            col: {c: (codes.english(col, c, None) or "") for c in m} for col, m in codes.used.items()
        }
    except InputError as e:
        if e.file is None:
            e.file = task.path
        res.error = {"file": e.file, "line": e.line, "reason": e.reason}
    except Cancelled:
        res.error = {"file": task.path, "line": None, "reason": "cancelled"}
    res.warnings = dict(local_fb.warnings)
    res.samples = local_fb.samples
    return res


# Worker-process side: progress goes through a multiprocessing queue, cancel through an event,
# both handed to each worker once by the pool initializer (no Manager process to start).
class _ProxyFeedback(Feedback):
    def __init__(self, q: Any, cancel: Any) -> None:
        super().__init__(cancel=cancel)
        self.q = q

    def progress(self, nbytes: int) -> None:
        self.q.put(nbytes)


_WORKER: dict[str, Any] = {}


def _init_worker(q: Any, cancel: Any) -> None:
    _WORKER["q"], _WORKER["cancel"] = q, cancel


def _run_file_proc(task: FileTask) -> FileResult:
    # Codelists are read once per worker process, not once per task (a file is several tasks).
    return run_file(task, _ProxyFeedback(_WORKER["q"], _WORKER["cancel"]), _WORKER.setdefault("labels", {}))


# ----------------------------------------------------------------------------- parent


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
    ranges at member boundaries (citygml.plan_chunks) so one file keeps every core busy; rows
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


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, set):
        return sorted(o)
    raise TypeError(type(o).__name__)


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
