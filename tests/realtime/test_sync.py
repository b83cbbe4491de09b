"""Per-view frames, pure: view limits, encode once per view, nothing sent when nothing changed."""

from __future__ import annotations

from yakuba.server.protocol import decode_snapshot
from yakuba.server.realtime.sync import Sync, ViewState
from yakuba.world.layout import load_layout

from .helpers import avatar

LAYOUT = load_layout()


def world(*avs):
    return {a.id: a for a in avs}


def test_first_frame_is_full_then_deltas_then_nothing():
    s = Sync(view_limit=50)
    avs = world(avatar(1, x=5.0), avatar(2, x=6.0), avatar(3, zone="hall", x=30.0, y=40.0))
    v1, v2 = ViewState(), ViewState()
    changed = s.quantise_changes(avs)
    out = s.frames(1, LAYOUT, avs, [("c1", 1, v1), ("c2", 2, v2)], changed, set(avs))
    f1 = decode_snapshot(out[0][1])
    assert f1["f"] == 1 and sorted(r[0] for r in f1["add"]) == [1, 2]  # the hall is another area
    assert v1.known == {1, 2} and not v1.needs_full
    # nothing moved: nothing sent, nothing encoded
    n = s.encoded
    assert s.frames(2, LAYOUT, avs, [("c1", 1, v1), ("c2", 2, v2)], s.quantise_changes(avs), set()) == []
    assert s.encoded == n
    # one avatar moves: both viewers get the same delta, encoded once (the very same bytes)
    avs[2].x = 7.0
    out = s.frames(3, LAYOUT, avs, [("c1", 1, v1), ("c2", 2, v2)], s.quantise_changes(avs), set())
    assert [k for k, _ in out] == ["c1", "c2"] and out[0][1] is out[1][1] and s.encoded == n + 1
    d = decode_snapshot(out[0][1])
    assert d == {"t": 3, "f": 0, "add": [], "upd": [(2, 700, 500, 0)], "del": []}


def test_leaving_the_area_is_a_delete_and_changed_meta_is_an_add():
    s = Sync(view_limit=50)
    avs = world(avatar(1), avatar(2, x=6.0))
    v = ViewState()
    s.frames(1, LAYOUT, avs, [("c", 1, v)], s.quantise_changes(avs), set(avs))
    avs[2].zone = "hall"
    avs[1].color = "#ffffff"
    out = s.frames(2, LAYOUT, avs, [("c", 1, v)], s.quantise_changes(avs), {1, 2})
    d = decode_snapshot(out[0][1])
    assert d["del"] == [2] and [r[0] for r in d["add"]] == [1] and d["add"][0][3] == "#ffffff"


def test_view_limit_keeps_the_nearest_and_is_per_viewer():
    s = Sync(view_limit=3)
    avs = world(*(avatar(i, x=2.0 + i, y=5.0) for i in range(1, 9)))
    va, vb = ViewState(), ViewState()
    out = dict(s.frames(1, LAYOUT, avs, [("a", 1, va), ("b", 8, vb)], s.quantise_changes(avs), set(avs)))
    assert va.known == {1, 2, 3} and vb.known == {6, 7, 8}
    assert out["a"] is not out["b"]
    # 8 walks towards 1: a's view swaps 3 out for 8
    avs[8].x = 3.5
    out = dict(s.frames(2, LAYOUT, avs, [("a", 1, va), ("b", 8, vb)], s.quantise_changes(avs), set()))
    d = decode_snapshot(out["a"])
    assert va.known == {1, 2, 8} and d["del"] == [3] and [r[0] for r in d["add"]] == [8]
