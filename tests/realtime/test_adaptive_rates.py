"""Adaptive rates (issue #23): in a crowded area the nearest avatars move every tick, farther
ones every 2nd or 4th, and a held-back move is delivered later, never lost; viewers of one crowd
cell share frames. Congested viewers are skipped without their view advancing."""

from __future__ import annotations

import random

import pytest

from yakuba.server.protocol import decode_snapshot
from yakuba.server.realtime.sync import FAR_PERIOD, RATE_TIERS, Sync, ViewState
from yakuba.world.interest import AreaPositions
from yakuba.world.layout import load_layout

from .helpers import avatar

LAYOUT = load_layout()
NEAR, MID = RATE_TIERS[0][0], RATE_TIERS[1][0]


def crowd(n: int) -> dict:
    # one area, in a line from (6, 6), the centre of a 4 m crowd cell: avatar i is the
    # i-th nearest to avatar 0 and to the centre of its cell, from which a crowd view is ranked;
    # 0.25 m apart, fewer than RATE_TIERS[0] are within CELL_NEAR_M (always sent) of the centre
    return {i: avatar(i, x=6.0 + 0.25 * i, y=6.0) for i in range(n)}


def apply(view: dict, frame: bytes) -> None:
    m = decode_snapshot(frame)
    if m["f"]:
        view.clear()
    for r in m["add"]:
        view[r[0]] = (r[5], r[6])
    for aid, x, y, _ in m["upd"]:
        view[aid] = (x, y)
    for aid in m["del"]:
        view.pop(aid, None)


def test_far_avatars_in_a_crowd_update_less_often_and_catch_up():
    s = Sync(view_limit=50)
    avs = crowd(120)
    vs, seen = ViewState(), {}
    (_, f), = s.frames(0, LAYOUT, avs, [("me", 0, vs)], s.quantise_changes(avs), set(avs))
    apply(seen, f)
    assert len(seen) == 50
    ranks = {aid: r for r, aid in enumerate(sorted(seen))}  # x grows with the id: id order is rank order
    counts = dict.fromkeys(seen, 0)
    for tick in range(1, 9):  # everyone walks (slowly: the nearest 50 stay the nearest 50)
        for a in avs.values():
            a.y += 0.05
        out = s.frames(tick, LAYOUT, avs, [("me", 0, vs)], s.quantise_changes(avs), set())
        (_, f), = out
        m = decode_snapshot(f)
        assert not m["add"] and not m["del"]
        for aid, *_ in m["upd"]:
            counts[aid] += 1
        apply(seen, f)
    for aid, n in counts.items():
        expect = 8 if ranks[aid] < NEAR else 8 // 2 if ranks[aid] < MID else 8 // FAR_PERIOD
        assert n == expect, (aid, ranks[aid], n)
    # they stop: within FAR_PERIOD ticks every held-back move has arrived
    for tick in range(9, 9 + FAR_PERIOD):
        for (_, f) in s.frames(tick, LAYOUT, avs, [("me", 0, vs)], s.quantise_changes(avs), set()):
            apply(seen, f)
    assert seen == {aid: s.q[aid][:2] for aid in seen}
    assert not vs.held


def test_a_small_area_is_not_throttled():
    s = Sync(view_limit=50)
    avs = crowd(30)
    vs = ViewState()
    s.frames(0, LAYOUT, avs, [("me", 0, vs)], s.quantise_changes(avs), set(avs))
    for a in avs.values():
        a.y += 0.05
    (_, f), = s.frames(1, LAYOUT, avs, [("me", 0, vs)], s.quantise_changes(avs), set())
    assert len(decode_snapshot(f)["upd"]) == 30


def test_a_congested_viewer_is_skipped_and_then_gets_a_full_frame():
    s = Sync(view_limit=50)
    avs = crowd(10)
    va, vb = ViewState(), ViewState()
    s.frames(0, LAYOUT, avs, [("a", 0, va), ("b", 1, vb)], s.quantise_changes(avs), set(avs))
    known = vb.known
    for t in (1, 2):
        avs[5].x += 1.0
        out = s.frames(t, LAYOUT, avs, [("a", 0, va), ("b", 1, vb)], s.quantise_changes(avs), set(), congested={1})
        assert [k for k, _ in out] == ["a"] and vb.known is known and vb.needs_full
    out = dict(s.frames(3, LAYOUT, avs, [("a", 0, va), ("b", 1, vb)], s.quantise_changes(avs), set()))
    m = decode_snapshot(out["b"])
    assert m["f"] == 1 and len(m["add"]) == 10 and "a" not in out  # nothing new for a


@pytest.mark.parametrize("seed, spread", [(3, 28), (4, 28), (5, 9), (6, 9), (7, 1.5)])
def test_crowd_cells_share_frames_and_every_client_converges(seed, spread):
    """Viewers walking across crowd cells: those in one cell in sync get the very same frame;
    whatever the cell changes and held-back moves, each client's view ends exact."""
    rnd = random.Random(seed)
    s = Sync(view_limit=50)
    # spread 9: 300 in 9 x 9 m, denser than 50 per 4 m cell: quarter cells are used too;
    # spread 1.5: 300 in 1.5 x 1.5 m, some viewers fall back to views of their own
    avs = {i: avatar(i, x=rnd.uniform(2, 2 + spread), y=rnd.uniform(2, 2 + min(spread, 18))) for i in range(300)}
    sizes = set()
    viewers = [(i, i, ViewState()) for i in range(40)]
    states = {k: vs for k, _, vs in viewers}
    seen: dict[int, dict] = {i: {} for i in range(40)}
    vel = {i: (rnd.uniform(-0.3, 0.3), rnd.uniform(-0.3, 0.3)) for i in avs}
    shared_seen = held_seen = False
    for tick in range(60):
        if tick < 50:  # walk, then stand still
            for i, a in avs.items():
                a.x = min(2.0 + spread, max(2.0, a.x + vel[i][0]))
                a.y = min(2.0 + min(spread, 18), max(2.0, a.y + vel[i][1]))
        out = s.frames(tick, LAYOUT, avs, viewers, s.quantise_changes(avs), set(avs) if tick == 0 else set())
        held_seen = held_seen or any(s.cell_held.values()) or any(vs.held for vs in states.values())
        by_frame: dict[int, list[int]] = {}
        sizes |= {vs.cell[1] if vs.cell else 0.0 for vs in states.values()}
        for k, f in out:
            apply(seen[k], f)
            by_frame.setdefault(id(f), []).append(k)
        for ks in by_frame.values():
            cells = {states[k].cell for k in ks}
            if len(ks) > 1 and tick > 0:
                shared_seen = True
                assert len(cells) == 1, "a frame shared across cells"
    assert shared_seen and held_seen
    assert (min(sizes) < 4.0) == (spread < 10) and (0.0 in sizes) == (spread < 4), sizes
    for k, _, vs in viewers:
        assert set(seen[k]) == vs.known and k in vs.known
        assert seen[k] == {aid: s.q[aid][:2] for aid in vs.known}, k


def test_a_cells_own_square_and_surroundings_are_never_held_back():
    """A viewer at the corner of its cell may rank far from the centre in a dense crowd: it and
    those next to it still move every tick."""
    s = Sync(view_limit=50)
    rnd = random.Random(1)
    # 300 avatars in 16 x 16 m (1.2 per m2): the nearest 20 to the centre of cell (1, 1) =
    # [4, 8) x [4, 8) are within ~2.3 m of it; the viewer (avatar 0) stands at the cell's corner
    avs = {i: avatar(i, x=rnd.uniform(0, 16), y=rnd.uniform(0, 16)) for i in range(1, 300)}
    avs[0] = avatar(0, x=4.05, y=4.05)
    vs = ViewState()
    s.frames(0, LAYOUT, avs, [("me", 0, vs)], s.quantise_changes(avs), set(avs))
    assert vs.cell == ("lobby", 4.0, 1, 1) and 0 in vs.known
    ranked = AreaPositions(list(avs), avs).ranked_from(6.0, 6.0, 50)
    assert ranked.index(0) >= NEAR, "the viewer is among the nearest to the centre anyway: no test"
    near = [i for i in vs.known if (avs[i].x - 4.05) ** 2 + (avs[i].y - 4.05) ** 2 < 1.0]
    for tick in range(1, 5):
        for i in near:
            avs[i].y += 0.01
        (_, f), = s.frames(tick, LAYOUT, avs, [("me", 0, vs)], s.quantise_changes(avs), set())
        assert {r[0] for r in decode_snapshot(f)["upd"]} >= set(near)
