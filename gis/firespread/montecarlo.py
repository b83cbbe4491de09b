"""Burn probability: many runs from random ignition points, on both cores.

Each run picks one building that can burn (uniformly, from a seeded generator) and searches
the same :class:`SpreadGraph`; the probability of a building is the share of runs in which it
ignites within the horizon. Runs are split into chunks over a process pool; each chunk is one
``dijkstra`` call with many sources (one row each), so the Python overhead is per chunk.
The physics model (physics.py) steps its runs in batches instead: run r's buildings are one
block of a larger state, so a batch costs little more than its biggest fire. Runs do not
throw firebrands here: the probability is of spread from each ignition.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .simulate import SpreadGraph

MAX_RUNS = 10_000
PHYSICS_BATCH = 25  # runs stepped together (state of batch x buildings)

_worker: object | None = None  # the CSR (Hamada) or the prepared physics model, per worker


def _init_worker(prepared) -> None:
    global _worker
    _worker = prepared


def _count_chunk(sources: np.ndarray, horizon_s: float, prepared=None) -> tuple[np.ndarray, np.ndarray]:
    """(per-building ignition counts, buildings burnt per run) for a chunk of single-source runs."""
    g = prepared if prepared is not None else _worker
    if isinstance(g, csr_matrix):
        d = dijkstra(g, directed=True, indices=sources, limit=horizon_s)
    else:
        d = g.run_many([np.array([s]) for s in sources], horizon_s)
    hit = np.isfinite(d)
    return hit.sum(axis=0).astype(np.int64), hit.sum(axis=1).astype(np.int64)


@dataclass
class MonteCarloResult:
    probability: np.ndarray  # per building, 0..1
    runs: int
    burnt_per_run: np.ndarray
    ignitions: np.ndarray  # the ignition building of each run

    def to_dict(self) -> dict:
        return {
            "runs": self.runs,
            "probability": [round(float(x), 4) for x in self.probability],
            "buildings_burnt_mean": float(self.burnt_per_run.mean()) if self.runs else 0.0,
            "buildings_burnt_p95": float(np.percentile(self.burnt_per_run, 95)) if self.runs else 0.0,
        }


def burn_probability(
    spread,
    runs: int,
    *,
    hours: float = 24.0,
    seed: int = 0,
    workers: int | None = None,
    candidates: np.ndarray | None = None,
    chunk: int | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> MonteCarloResult:
    """``runs`` single-ignition runs; ``candidates``: optional bool mask of possible ignition
    buildings (default: every building that can burn). ``workers``: processes (default: cores,
    1 = in this process)."""
    if not 0 < runs <= MAX_RUNS:
        raise ValueError(f"runs must be within 1..{MAX_RUNS}")
    pool_mask = spread.burns if candidates is None else (spread.burns & candidates)
    choices = np.flatnonzero(pool_mask)
    n = spread.n
    if len(choices) == 0:
        return MonteCarloResult(np.zeros(n), runs, np.zeros(runs, np.int64), np.zeros(0, np.int64))
    rng = np.random.default_rng(seed)
    ignitions = rng.choice(choices, size=runs, replace=True)
    horizon = float(hours) * 3600.0
    hamada = isinstance(spread, SpreadGraph)
    work = spread.csr if hamada else spread
    if workers is None:
        # A pool costs ~1 s to start (forkserver, numpy/scipy imports); below ~ 5e7 edge
        # relaxations one process is faster, so only big jobs go to both cores. A physics run
        # costs far more than a search: those always use both cores past a handful of runs.
        big = runs * spread.csr.nnz > 5e7 if hamada else runs > 20
        workers = min(2, os.cpu_count() or 1) if big else 1
    # Chunks bounded so a (chunk x n) distance matrix stays ~ 40 MB.
    chunk = chunk or max(1, min(100 if hamada else PHYSICS_BATCH, 5_000_000 // max(n, 1), -(-runs // (workers * 4))))
    chunks = [ignitions[k:k + chunk] for k in range(0, runs, chunk)]
    counts = np.zeros(n, dtype=np.int64)
    per_run: list[np.ndarray] = []
    done = 0
    if workers <= 1:
        for c in chunks:
            cnt, pr = _count_chunk(c, horizon, work)
            counts += cnt
            per_run.append(pr)
            done += len(c)
            if progress:
                progress(done / runs, "montecarlo")
    else:
        # forkserver: safe to start from a threaded server process (plain fork can copy a held
        # lock); the graph travels once per worker through the initializer.
        ctx = mp.get_context("forkserver") if "forkserver" in mp.get_all_start_methods() else None
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(work,)) as ex:
            for c, (cnt, pr) in zip(chunks, ex.map(_count_chunk, chunks, [horizon] * len(chunks))):
                counts += cnt
                per_run.append(pr)
                done += len(c)
                if progress:
                    progress(done / runs, "montecarlo")
    return MonteCarloResult(counts / runs, runs, np.concatenate(per_run), ignitions)
