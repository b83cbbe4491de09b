"""The per-file stage of the import, run in pool workers: one file (or byte range of one) is
parsed (source), transformed and meshed (transforms), and spilled: meshes by grid cell with
their tile properties, table rows as column parts, attribute lines (gis/sink). Also the
``Feedback`` every stage reports to. gis/pipeline.py plans the tasks and merges the results.
"""

from __future__ import annotations

import gc
import hashlib
import os
import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from shapely.errors import GEOSException

from .crs import LocalFrame
from .errors import Cancelled, CrsError, InputError
from .sink import packed
from .sink import tiles as tiles_mod
from .sink.table_parts import PartFiles, PartRef, TablePart
from .sink.tile_writer import TILE_PROPS
from .source.appearance import texture_index
from .source.citygml import iter_buildings
from .source.gml_file import Chunk
from .source.records import RawBuilding
from .source.codelists import UNKNOWN, CodelistResolver
from .transform.localize import lod1_z_only, read_local
from .transform.lod1_batch import lod1_batch
from .transform.mesh import ROW_CODES, Mesh, Processed, attrs_of, process

log = logging.getLogger("yakuba.gis.pipeline")

SPILL_VERTICES = 1_500_000  # per worker, ~18 MB of float32 positions before flushing to disk
MAX_SAMPLES = 5
BATCH = 256  # buildings per pyproj call in a worker
# LOD1 solids of simple buildings keep their source x, y (only their z is used) and are parsed
# by the compiled reader as it reads them: set False to read and transform every ring as text
# (the tests compare both). Worth 11% of a 100k LOD1 import (docs/gis.md).
LOD1_Z_ONLY = True


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


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, set):
        return sorted(o)
    raise TypeError(type(o).__name__)


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
    table_part: PartRef | None = None  # where the task's rows and attribute lines lie (gis.sink.table_parts)
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
            read_local(batch, local_fb.warn, lambda srs: frame_for(srs).to_local, z_only if LOD1_Z_ONLY else None)
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
