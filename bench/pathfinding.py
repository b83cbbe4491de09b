"""Go-to path finding benchmark: prints one JSON line per measurement.

The server's layout (assets/cityhall/plan.json, as server/app.py loads it). "before" is the
committed implementation (A* per request) read with ``git show HEAD:world/...`` into a throwaway
module, so both run in one process on the same starts; "after" is the working tree (one flood
per goal, cached). Cold = the goto that computes a flood; warm = the flood already exists.
Goal: a warm goto well under 1 ms (issue #15: 12 sockets x 30 gotos/s starved the 10 Hz tick).

    .venv/bin/python bench/pathfinding.py [--starts 60] [--rev HEAD]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from yakuba.world.layout import load_layout
from yakuba.world.state import Avatar, World
from yakuba.world.zones import Role

ROOT = Path(__file__).resolve().parent.parent
GOALS = ["hall", "booth3", "infodesk", "entrance", "booth6", "corridor"]


def emit(**kw) -> None:
    print(json.dumps(kw, ensure_ascii=False), flush=True)


def load_old_world(rev: str):
    """World class of ``rev``, with that revision's movement module (not the working tree's)."""
    tmp = Path(tempfile.mkdtemp(prefix="yakuba-bench-"))
    mods = {}
    for name in ("movement", "state"):
        src = subprocess.run(["git", "show", f"{rev}:world/{name}.py"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
        src = src.replace("from .movement import", "from ._head_movement import")
        path = tmp / f"_head_{name}.py"
        path.write_text(src, encoding="utf-8")
        # Named inside yakuba.world so the old code's relative imports (.layout, .zones) resolve.
        spec = importlib.util.spec_from_file_location(f"yakuba.world._head_{name}", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
        spec.loader.exec_module(mod)
        mods[name] = mod
    return mods["state"].World, mods["state"].Avatar


def starts(world: World, n: int, seed: int) -> list[tuple[float, float, str]]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        x, y = rng.uniform(0, 64), rng.uniform(0, 40)
        z = world.layout.zone_at(x, y)
        if z is not None and z.access == "public" and world.collider.is_free(x, y):
            out.append((x, y, z.id))
    return out


def timed_gotos(world, avatar, pairs) -> list[float]:
    ms = []
    for (x, y, zid), goal in pairs:
        avatar.x, avatar.y, avatar.zone = x, y, zid
        t0 = time.perf_counter()
        reason = world.set_goto(avatar.id, goal)
        ms.append((time.perf_counter() - t0) * 1e3)
        assert reason is None, (x, y, goal, reason)
    return ms


def summary(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 3), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 3), "max_ms": round(ms[-1], 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=60)
    ap.add_argument("--rev", default="HEAD", help="git revision of the 'before' implementation")
    a = ap.parse_args()
    layout = load_layout()  # what server/app.py loads
    probe = World(layout, seed=1)
    pts = starts(probe, a.starts, seed=3)
    pairs = [(p, g) for p in pts for g in GOALS]

    OldWorld, OldAvatar = load_old_world(a.rev)
    old = OldWorld(layout, seed=1)
    oa = OldAvatar(1, "a", "round", "#000000", Role.RESIDENT, 0.0, 0.0, 0.0, "hall")
    old.add(oa)
    before = timed_gotos(old, oa, pairs)
    emit(bench="pathfinding", impl=f"before ({a.rev}, A* per goto)", **summary(before))

    new = World(layout, seed=1)
    na = Avatar(1, "a", "round", "#000000", Role.RESIDENT, 0.0, 0.0, 0.0, "hall")
    new.add(na)
    first = timed_gotos(new, na, [(pts[0], GOALS[0])])  # builds the cell graph, then one flood
    cold = timed_gotos(new, na, [(pts[0], g) for g in GOALS[1:]])  # one flood each
    warm = timed_gotos(new, na, pairs)
    emit(bench="pathfinding", impl="after, first goto (cell graph + flood)", **summary(first))
    emit(bench="pathfinding", impl="after, cold (one flood)", **summary(cold))
    emit(bench="pathfinding", impl="after, warm", **summary(warm), floods=new.collider.floods)

    # A booth lock closes a door: every field goes; the next goto per goal pays a flood again.
    new.lock_booth("booth1", {999})
    relock = timed_gotos(new, na, [(pts[1], g) for g in GOALS])
    emit(bench="pathfinding", impl="after, first gotos after a booth lock", **summary(relock), floods=new.collider.floods)

    # The load: 12 sockets at the 30 events/s cap, all gotos: event-loop ms per second.
    per_s = 12 * 30
    emit(bench="pathfinding", load="12 sockets x 30 gotos/s", loop_ms_per_s_before=round(per_s * statistics.mean(before), 1),
         loop_ms_per_s_after_warm=round(per_s * statistics.mean(warm), 1))


if __name__ == "__main__":
    main()
