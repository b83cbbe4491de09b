"""Per-worker parts of the building table, merged by the parent without holding the table.

A worker collects a task's rows as columns (``TablePart``) and appends them, as one blob (gis.sink.packed), to
its process's rows file, and the task's attribute lines to its attributes file (``PartFiles``:
every task of a process shares the two files, as creating a file costs ~0.5 ms on some disks);
a closed part is a ``PartRef``, the byte ranges of both. The parent reads the parts one at a
time for counts and a hash per gml:id (``summarize_parts``, ``rename_duplicates``), then
streams them column by column into ``buildings.npz`` (``write_table``: the keys, order and
dtypes ``BuildingTable.save`` writes, so ``BuildingTable.load`` reads either), so its memory does
not grow with the dataset.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import orjson

from shapely.geometry import Polygon

from . import packed
from ..buildings import CODE_COLUMNS, FLOAT_COLUMNS, INT_COLUMNS

COLUMNS = FLOAT_COLUMNS + INT_COLUMNS + CODE_COLUMNS
_JSON_OPTS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY


@dataclass(frozen=True)
class PartRef:
    """A closed TablePart: (path, offset, length) of its rows blob and of its attribute lines."""

    rows: tuple[str, int, int]
    attrs: tuple[str, int, int]


class PartFiles:
    """The rows file and the attributes file that one process's TableParts append to."""

    def __init__(self, base: str) -> None:
        self.rows_path, self.attrs_path = base + ".rows", base + ".attrs"
        self.rows = open(self.rows_path, "wb")
        self.attrs = open(self.attrs_path, "wb")

    def close(self) -> None:
        self.rows.close()
        self.attrs.close()


class TablePart:
    """One worker task's rows as growing columns; attribute lines go to the attributes file as
    they come, so a worker never holds a dict per building. ``close`` appends the rows, with the
    same columns ``BuildingTable`` would give, and returns where both lie."""

    def __init__(self, files: PartFiles, default: Callable[[Any], Any]) -> None:
        self.files = files
        self.default = default
        self.f = files.attrs
        self.attrs_start = files.attrs.tell()
        self.gml_id: list[str] = []
        self.rings: list[np.ndarray] = []
        self.area: list[float] = []
        self.cols: dict[str, list] = {c: [] for c in COLUMNS if c != "footprint_area"}
        self.n_building_id = 0
        # Bound appends, looked up once: add_values runs once per building.
        self._height, self._floor_area = self.cols["height"].append, self.cols["total_floor_area"].append
        self._ints = [(name, self.cols[name].append) for name in INT_COLUMNS]
        self._codes = [(name, self.cols[name].append) for name in CODE_COLUMNS]

    def __len__(self) -> int:
        return len(self.gml_id)

    def add(self, row: dict, attrs: dict) -> None:
        """A row dict (BuildingTable.from_rows keys); ``row["footprint"]`` is a shapely Polygon,
        or a closed (n, 2) ring with ``row["footprint_area"]``."""
        fp = row["footprint"]
        if isinstance(fp, Polygon):
            ring = np.asarray(fp.exterior.coords, dtype=np.float64)[:, :2] if not fp.is_empty else np.zeros((0, 2))
            area = fp.area
        else:
            ring, area = fp, row["footprint_area"]
        gml_id = str(row["gml_id"])
        self.add_values(gml_id, ring, area, row.get("height"), row, row, {"gml_id": gml_id, **attrs})

    def add_values(
        self, gml_id: str, ring: np.ndarray, area: float, height: float | None, values: dict, codes: dict, attrs: dict
    ) -> None:
        """One building: ``values`` holds total_floor_area, storeys and year, ``codes`` the code
        columns (missing means unknown), ``attrs`` its attribute line, gml_id first."""
        self.gml_id.append(gml_id)
        self.rings.append(ring)
        self.area.append(area)
        self._height(np.nan if height is None else float(height))
        v = values.get("total_floor_area")
        self._floor_area(np.nan if v is None else float(v))
        for name, append in self._ints:
            v = values.get(name)
            append(-1 if v is None else int(v))
        for name, append in self._codes:
            append(str(codes.get(name) or ""))
        if attrs.get("building_id"):
            self.n_building_id += 1
        self.f.write(orjson.dumps(attrs, default=self.default, option=_JSON_OPTS))

    def close(self) -> PartRef:
        offsets = np.zeros(len(self.rings) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(r) for r in self.rings])
        coords = np.concatenate(self.rings) if self.rings else np.zeros((0, 2))
        cols = {c: np.array(v, dtype=np.int32 if c in INT_COLUMNS else np.float64) for c, v in self.cols.items() if c not in CODE_COLUMNS}
        cols["footprint_area"] = np.array(self.area, dtype=np.float64)
        columns = {
            "gml_id": np.array(self.gml_id, dtype=np.str_),
            "coords": coords.astype(np.float64, copy=False),
            "ring_offsets": offsets,
            **{c: cols[c] for c in FLOAT_COLUMNS + INT_COLUMNS},
            **{c: np.array(self.cols[c], dtype=np.str_) for c in CODE_COLUMNS},
        }
        # Read back only by this import's parent, each part several times: gis.sink.packed reads
        # it as views of one blob, where npz opened a zip and parsed a header per column.
        fs = self.files
        at = fs.rows.tell()
        fs.rows.write(packed.pack(columns))
        # Flushed: the parent reads the part as soon as the task's result arrives.
        fs.rows.flush()
        fs.attrs.flush()
        end = fs.attrs.tell()
        return PartRef((fs.rows_path, at, fs.rows.tell() - at), (fs.attrs_path, self.attrs_start, end - self.attrs_start))


def load_part(ref: PartRef) -> dict[str, np.ndarray]:
    return packed.unpack(packed.read_at(*ref.rows))


def attr_lines(ref: PartRef) -> Iterator[bytes]:
    """The part's attribute lines, each with its newline."""
    path, at, n = ref.attrs
    with open(path, "rb") as f:
        f.seek(at)
        while n > 0:
            line = f.readline(n)
            if not line:
                raise OSError(f"{path} ends before its part does")
            n -= len(line)
            yield line


def copy_attrs(ref: PartRef, out: Any, block: int = 1 << 20) -> None:
    """Append the part's attribute lines to the open binary file ``out``."""
    path, at, n = ref.attrs
    with open(path, "rb") as f:
        f.seek(at)
        while n > 0:
            b = f.read(min(block, n))
            if not b:
                raise OSError(f"{path} ends before its part does")
            out.write(b)
            n -= len(b)


@dataclass
class PartsSummary:
    """What the parent needs of all parts without holding their columns: row count, string
    widths, coverage counts and a 64-bit hash per gml:id (8 bytes a building) to find
    duplicates."""

    n: int
    n_coords: int
    widths: dict[str, int]
    coverage: dict[str, int]
    hashes: np.ndarray


STRING_COLUMNS = ("gml_id",) + CODE_COLUMNS


def _hash_ids(ids: np.ndarray) -> np.ndarray:
    """Polynomial hash of each fixed-width unicode string (padding code points are 0, so the
    hash does not depend on the array's width)."""
    n = len(ids)
    w = ids.dtype.itemsize // 4
    if n == 0 or w == 0:
        return np.zeros(n, dtype=np.uint64)
    cps = np.ascontiguousarray(ids).view(np.uint32).reshape(n, w).astype(np.uint64)
    powers = np.cumprod(np.full(w, 1_000_003, dtype=np.uint64), dtype=np.uint64)  # wraps mod 2**64
    with np.errstate(over="ignore"):
        return (cps * powers).sum(axis=1, dtype=np.uint64)


def summarize_parts(parts: list[PartRef], coverage_keys: tuple[str, ...]) -> PartsSummary:
    n = n_coords = 0
    widths = dict.fromkeys(STRING_COLUMNS, 1)
    coverage = dict.fromkeys(coverage_keys, 0)
    hashes = []
    for p in parts:
        z = load_part(p)
        ids = z["gml_id"]
        n += len(ids)
        n_coords += len(z["coords"])
        hashes.append(_hash_ids(ids))
        for c in STRING_COLUMNS:
            widths[c] = max(widths[c], z[c].dtype.itemsize // 4)
        for k in coverage_keys:
            v = z[k]
            if v.dtype.kind == "f":
                coverage[k] += int(np.count_nonzero(~np.isnan(v)))
            elif v.dtype.kind == "U":
                coverage[k] += int(np.count_nonzero(v != ""))
            else:
                coverage[k] += int(np.count_nonzero(v >= 0))
    return PartsSummary(n, n_coords, widths, coverage, np.concatenate(hashes) if hashes else np.zeros(0, np.uint64))


def rename_duplicates(parts: list[PartRef], summary: PartsSummary) -> dict[int, str]:
    """Row -> new gml:id for every repeat of an id (``id__2``, ``id__3``... never a name
    already in the dataset). Candidates come from equal hashes; the strings decide."""
    h = summary.hashes
    if len(h) < 2:
        return {}
    order = np.argsort(h, kind="stable")
    hs = h[order]
    eq = hs[1:] == hs[:-1]
    if not eq.any():
        return {}
    cand = np.zeros(len(h), dtype=bool)
    cand[order[1:][eq]] = True
    cand[order[:-1][eq]] = True
    rows = np.flatnonzero(cand)
    ids: dict[int, str] = {}
    base = 0
    for p in parts:
        z = load_part(p)
        g = z["gml_id"]
        sel = rows[(rows >= base) & (rows < base + len(g))]
        ids.update(zip(sel.tolist(), g[sel - base].tolist()))
        base += len(g)
    taken = set(ids.values())

    def free(name: str) -> bool:
        if name in taken:
            return False
        hn = _hash_ids(np.array([name]))[0]
        i = int(np.searchsorted(hs, hn))
        return not (i < len(hs) and hs[i] == hn)  # a name some row has (or a hash collision)

    renamed: dict[int, str] = {}
    count: dict[str, int] = {}
    first: set[str] = set()
    for r in sorted(ids):
        gid = ids[r]
        if gid not in first:
            first.add(gid)
            continue
        k = count.get(gid, 1)
        while True:
            k += 1
            new = f"{gid}__{k}"
            if free(new):
                break
        count[gid] = k
        taken.add(new)
        renamed[r] = new
    return renamed


SPOOL_BYTES = 1 << 20
# Members written without deflate: footprint coordinates and areas are 60-95% of their size
# after deflate and took ~2/3 of the table's compression time (~20 ms per 10k buildings, on the
# import's critical path); every other column shrinks 3-20x.
STORED_COLUMNS = frozenset({"coords", "footprint_area"})


def write_table(
    path: Path, parts: list[PartRef], summary: PartsSummary, renamed: dict[int, str], crs: str, origin: tuple[float, float],
    code_labels: dict,
) -> None:
    """buildings.npz streamed from the parts, so memory does not grow with the dataset."""
    write_columns(path, (load_part(p) for p in parts), summary.n, summary.n_coords, summary.widths, renamed, crs, origin, code_labels)


def write_columns(
    path: Path, parts: Iterable[dict[str, np.ndarray]], n_rows: int, n_coords: int, widths: dict[str, int],
    renamed: dict[int, str], crs: str, origin: tuple[float, float], code_labels: dict,
) -> None:
    """The one writer of buildings.npz (the import's parts, and BuildingTable.save's single
    part): each part's columns (gml_id, coords, ring_offsets from 0, the table's columns) are
    appended in turn. zlib level 1 (level 6 took a second at 100k buildings for a file ~10%
    smaller), coordinates stored (STORED_COLUMNS)."""
    w = dict(widths)
    if renamed:
        w["gml_id"] = max(w["gml_id"], max(len(v) for v in renamed.values()))
    specs: list[tuple[str, np.dtype, tuple]] = [
        ("gml_id", np.dtype(f"<U{max(w['gml_id'], 1)}"), (n_rows,)),
        ("coords", np.dtype("<f8"), (n_coords, 2)),
        ("ring_offsets", np.dtype("<i8"), (n_rows + 1,)),
        *[(c, np.dtype("<f8"), (n_rows,)) for c in FLOAT_COLUMNS],
        *[(c, np.dtype("<i4"), (n_rows,)) for c in INT_COLUMNS],
        *[(c, np.dtype(f"<U{max(w[c], 1)}"), (n_rows,)) for c in CODE_COLUMNS],
    ]
    # Each part is read once: its columns are appended to one spool per column, which are then
    # copied into the zip (its members must be written one after the other). A spool stays in
    # memory up to SPOOL_BYTES (at most 14 of them), so a small import creates no spool files
    # (~0.5 ms each on some disks) and a large one's memory stays bounded.
    spool = {name: tempfile.SpooledTemporaryFile(SPOOL_BYTES, "w+b", dir=Path(path).parent) for name, _, _ in specs}
    try:
        spool["ring_offsets"].write(np.zeros(1, dtype="<i8").tobytes())
        base = coord_base = 0
        for z in parts:
            n = len(z["gml_id"])
            for name, dtype, _ in specs:
                a = z[name]
                if name == "ring_offsets":
                    a = a[1:] + coord_base
                a = a.astype(dtype, copy=False)
                if name == "gml_id" and renamed:
                    a = a.copy()
                    for r, new in renamed.items():
                        if base <= r < base + n:
                            a[r - base] = new
                spool[name].write(np.ascontiguousarray(a).tobytes())
            coord_base += int(z["ring_offsets"][-1])
            base += n
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as zf:
            for name, dtype, shape in specs:
                member = zipfile.ZipInfo(name + ".npy")
                member.compress_type = zipfile.ZIP_STORED if name in STORED_COLUMNS else zipfile.ZIP_DEFLATED
                member._compresslevel = 1  # type: ignore[attr-defined]  # what ZipFile.open(str) sets
                with zf.open(member, "w", force_zip64=True) as f:
                    np.lib.format.write_array_header_1_0(
                        f, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
                    )
                    spool[name].seek(0)
                    shutil.copyfileobj(spool[name], f, 1 << 20)
            meta = np.array(json.dumps({"crs": crs, "origin": list(origin), "code_labels": code_labels}))
            with zf.open("meta.npy", "w") as f:
                np.lib.format.write_array(f, meta, allow_pickle=False)
    finally:
        for f in spool.values():
            f.close()
