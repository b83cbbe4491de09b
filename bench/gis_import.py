"""Benchmark of the PLATEAU importer. Prints one JSON object per line.

For the real samples (shared/data/plateau if present, else the shipped ones) and synthetic
districts of 10k and 100k buildings (LOD1 and LOD2) it measures, each in a fresh subprocess so
peak RSS is per run:

* ``import``: end to end (parse, transform, mesh, tile, write GLB/tileset/table), both cores;
* ``scan``: a bare lxml iterparse that only counts buildings (the practical ceiling, one core);
* ``plateaukit``: plateaukit's PLATEAUCityGMLParser from PyPI, installed by this script into a
  throwaway venv (a JSON line says why when that is not possible).

Synthetic 100k districts are written as 4 files of 25k (PLATEAU ships one file per mesh tile), so
the importer can use both cores; 10k is one file.

    .venv/bin/python bench/gis_import.py [--sizes 10000,100000] [--work DIR] [--quick] [--repeat N]

``--quick`` runs only the synthetic LOD1 inputs (scan, import, plateaukit). ``--repeat N`` runs
each measurement N times, interleaved (scan, import, plateaukit, scan, ...), and reports the
median run; a ``ratios`` line per import gives the issue's goals as numbers (import rate / scan
rate, import rate / plateaukit rate).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "plateau" / "udx" / "bldg"
SHIPPED = REPO / "assets" / "samples" / "plateau" / "udx" / "bldg"
FILE_CHUNK = 25_000


def _vm_hwm_mb() -> float:
    # ru_maxrss survives fork+exec on Linux (a child reports its parent's peak), so read this
    # process's own high-water mark instead.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss() -> dict:
    self_mb = _vm_hwm_mb()
    kids_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(self_mb, 1), "peak_rss_workers_mb": round(kids_mb, 1)}


def _rates(n: int, nbytes: int, seconds: float) -> dict:
    return {
        "buildings": n,
        "mb": round(nbytes / 1e6, 2),
        "seconds": round(seconds, 3),
        "buildings_per_s": round(n / seconds, 1) if seconds else None,
        "mb_per_s": round(nbytes / 1e6 / seconds, 2) if seconds else None,
    }


# ----------------------------------------------------------------------------- children


def child_import(files: list[str], lod: int, workers: int, bare: bool = False) -> dict:
    from yakuba.gis.pipeline import can_fork, import_dataset
    from yakuba.gis.sink.tile_writer import TileOptions

    # What `yakuba import` does: with no other thread in the process its pool forks (a sampling
    # thread here would make it start a fork server, ~0.5 s the CLI never pays). Forked workers
    # are this process's children, so RUSAGE_CHILDREN holds their peak once the pool is shut.
    start = "fork" if can_fork() else "in process"
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        opts = TileOptions(normals=False, hierarchy=False, textures=False) if bare else TileOptions()
        r = import_dataset([Path(f) for f in files], "bench", Path(d), lod=lod, workers=workers, tile_options=opts)
        dt = time.perf_counter() - t0
        tiles = list((r.path / "tiles").glob("*.glb"))
        tiles_mb = round(sum(t.stat().st_size for t in tiles) / 1e6, 2)
        coarse = sum(t.name.startswith("n") for t in tiles)
    import multiprocessing as mp

    for p in mp.active_children():  # the pool's workers exit after the import returns: reap them
        p.join()
    return {**_rates(r.buildings, sum(os.path.getsize(f) for f in files), dt), "tiles": r.tiles, "coarse_tiles": coarse,
            "tiles_mb": tiles_mb, "tile_options": "bare" if bare else "normals+hierarchy+textures", "workers": workers,
            "pool_start": start, "warnings": r.warnings, **_rss()}


def child_scan(files: list[str]) -> dict:
    from lxml import etree

    t0 = time.perf_counter()
    n = 0
    for f in files:
        for _, el in etree.iterparse(f, events=("end",), tag="{*}cityObjectMember", huge_tree=True):
            for c in el:
                if isinstance(c.tag, str) and c.tag.endswith("}Building"):
                    n += 1
            el.clear()
            while el.getprevious() is not None:
                del el.getparent()[0]
    dt = time.perf_counter() - t0
    return {**_rates(n, sum(os.path.getsize(f) for f in files), dt), **_rss()}


def child_plateaukit(files: list[str]) -> dict:
    from plateaukit.readers.citygml import PLATEAUCityGMLParser  # type: ignore[import-not-found]

    import warnings

    warnings.simplefilter("ignore")  # it warns once per building it cannot parse
    t0 = time.perf_counter()
    n = 0
    failed: dict[str, str] = {}
    for f in files:
        parser = PLATEAUCityGMLParser(target_epsg=4326, codelist_file_map={})
        try:
            with open(f, "rb") as fh:
                for obj in parser.iterparse(fh):
                    n += type(obj).__name__ == "Building"
        except Exception as e:  # its own errors: report the file, keep measuring the rest
            failed[os.path.basename(f)] = str(e)[:120]
    dt = time.perf_counter() - t0
    import importlib.metadata as md

    return {**_rates(n, sum(os.path.getsize(f) for f in files), dt), "version": md.version("plateaukit"),
            "files_failed": failed, **_rss()}


# ----------------------------------------------------------------------------- parent


def run_once(python: str, kind: str, files: list[Path], extra: list[str], timeout: float = 3600) -> dict:
    """One measurement in a fresh process: its JSON result, or {"error": ...}."""
    cmd = [python, str(Path(__file__).resolve()), "--child", kind, *extra, "--files", *map(str, files)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout} s"}
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def median_run(label: dict, kind: str, runs: list[dict]) -> dict | None:
    """Print and return the run with the median time (``runs_s`` lists all of them: this
    machine's timings vary by ~30%, and from minute to minute)."""
    errors = [r for r in runs if "error" in r]
    if errors:
        print(json.dumps({**label, "bench": kind, "error": errors[0]["error"]}), flush=True)
        return None
    runs = sorted(runs, key=lambda d: d["seconds"])
    out = {**label, "bench": kind, **runs[len(runs) // 2]}
    if len(runs) > 1:
        out["runs_s"] = [d["seconds"] for d in runs]
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return out


def measure(jobs: list[tuple[str, str, dict, list[str]]], files: list[Path], repeat: int) -> list[dict | None]:
    """Each job (python, kind, label, extra args) ``repeat`` times, interleaved round by round,
    so slow and fast spells of a shared machine fall on the import and its references alike
    and the ratios compare like with like."""
    runs: list[list[dict]] = [[] for _ in jobs]
    for _ in range(repeat):
        for k, (python, kind, _label, extra) in enumerate(jobs):
            runs[k].append(run_once(python, kind, files, extra))
    return [median_run(label, kind, r) for (_, kind, label, _), r in zip(jobs, runs)]


def ratios(label: dict, scan: dict | None, imp: dict | None, pk: dict | None) -> None:
    """The issue's goals as numbers: import rate over the bare scan's and over plateaukit's."""
    if not imp or not imp.get("buildings_per_s"):
        return
    out = {**label, "bench": "ratios", "lod": imp.get("lod")}
    if scan and scan.get("buildings_per_s"):
        out["import_over_scan"] = round(imp["buildings_per_s"] / scan["buildings_per_s"], 3)
    if pk and pk.get("buildings_per_s"):
        out["import_over_plateaukit"] = round(imp["buildings_per_s"] / pk["buildings_per_s"], 2)
    print(json.dumps(out), flush=True)


def plateaukit_python(work: Path) -> tuple[str | None, str]:
    venv = work / "plateaukit-venv"
    py = venv / "bin" / "python"
    if not py.exists():
        r = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        if r.returncode != 0:
            return None, f"venv creation failed: {r.stderr[-300:]}"
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", "plateaukit"], capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            return None, f"pip install plateaukit failed: {r.stderr.strip()[-300:]}"
    r = subprocess.run([str(py), "-c", "from plateaukit.readers.citygml import PLATEAUCityGMLParser"], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"plateaukit import failed: {r.stderr.strip()[-300:]}"
    return str(py), ""


def synthetic_files(work: Path, n: int, lod2: bool) -> list[Path]:
    from yakuba.gis.district import district_rows
    from yakuba.gis.synthetic import write_dataset

    root = work / f"syn_{n}_{'lod2' if lod2 else 'lod1'}"
    marker = root / ".complete"
    if marker.exists():
        return sorted((root / "udx" / "bldg").glob("*.gml"))
    rows = district_rows(n, seed=0)
    files = []
    for k, i in enumerate(range(0, n, FILE_CHUNK)):
        files.append(write_dataset(root, rows[i : i + FILE_CHUNK], name=f"syn{n}_{k}_bldg_6697_op.gml", lod2=lod2))
    marker.touch()
    return files


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=("import", "scan", "plateaukit"))
    ap.add_argument("--files", nargs="*", default=[])
    ap.add_argument("--lod", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "yakuba-gis-bench")
    ap.add_argument("--no-plateaukit", action="store_true")
    ap.add_argument("--quick", action="store_true", help="only the synthetic LOD1 inputs (no real samples, no LOD2)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the median is reported")
    ap.add_argument("--bare", action="store_true", help="(child) tiles without normals, coarse levels or textures")
    a = ap.parse_args()
    if a.child == "import":
        print(json.dumps(child_import(a.files, a.lod, a.workers, a.bare)))
        return 0
    if a.child == "scan":
        print(json.dumps(child_scan(a.files)))
        return 0
    if a.child == "plateaukit":
        print(json.dumps(child_plateaukit(a.files)))
        return 0

    a.work.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"bench": "env", "cpus": os.cpu_count(), "python": sys.version.split()[0], "work": str(a.work)}), flush=True)
    pk, why = (None, "disabled by --no-plateaukit") if a.no_plateaukit else plateaukit_python(a.work)
    if pk is None:
        print(json.dumps({"bench": "plateaukit", "error": why}), flush=True)

    real = sorted(SHARED.glob("*.gml")) or sorted(SHIPPED.glob("*.gml"))
    inputs: list[tuple[dict, list[Path], list[int]]] = (
        [] if a.quick else [({"input": "real-samples", "files": len(real)}, real, [1, 2])]
    )
    for size in [int(s) for s in a.sizes.split(",") if s]:
        for lod2 in (False,) if a.quick else (False, True):
            t0 = time.perf_counter()
            files = synthetic_files(a.work, size, lod2)
            label = {"input": f"synthetic-{size}-{'lod2' if lod2 else 'lod1'}", "files": len(files)}
            print(json.dumps({"bench": "generate", **label, "seconds": round(time.perf_counter() - t0, 1),
                              "mb": round(sum(f.stat().st_size for f in files) / 1e6, 1)}), flush=True)
            inputs.append((label, files, [2 if lod2 else 1]))
    for label, files, lods in inputs:
        jobs = [(sys.executable, "scan", label, [])]
        # Each LOD with the tiles as shipped (normals, coarse levels, textures) and bare, in the
        # same rounds: what the viewer-facing features cost in time and bytes.
        jobs += [(sys.executable, "import", {**label, "lod": lod}, ["--lod", str(lod), "--workers", "2", *flag])
                 for lod in lods for flag in ([], ["--bare"])]
        if pk:
            jobs.append((pk, "plateaukit", label, []))
        res = measure(jobs, files, a.repeat)
        scan, imports, ref = res[0], res[1 : 1 + 2 * len(lods)], (res[-1] if pk else None)
        for imp in imports:
            ratios({**label, "tile_options": imp.get("tile_options") if imp else None}, scan, imp, ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
