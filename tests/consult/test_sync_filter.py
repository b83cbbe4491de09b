"""The per-viewer snapshot filter: a locked booth's members are in no outsider's frame, even when
the booth shares an area with the viewer (a plan may put a booth in an open-plan area)."""

from __future__ import annotations

from yakuba.server.protocol import decode_snapshot
from yakuba.server.realtime.sync import Sync, ViewState
from yakuba.world.layout import load_layout

from realtime.helpers import avatar


def test_hidden_members_are_filtered_per_viewer_and_come_back_on_unlock():
    layout = load_layout()
    avs = {i: avatar(i, x=5.0 + i, y=5.0) for i in (1, 2, 3)}  # one area (the lobby)
    s = Sync(50)
    views = {i: ViewState() for i in avs}
    s.hidden = {2: frozenset({2, 3}), 3: frozenset({2, 3})}  # 2 and 3: a locked booth's members

    def ids(tick):
        frames = dict(s.frames(tick, layout, avs, [(i, i, views[i]) for i in avs], s.quantise_changes(avs), set()))
        return {k: {rec[0] for rec in decode_snapshot(f)["add"]} for k, f in frames.items()}

    first = ids(1)
    assert first[1] == {1} and first[2] == {1, 2, 3} and first[3] == {1, 2, 3}
    avs[2].x += 1.0
    s.frames(2, layout, avs, [(i, i, views[i]) for i in avs], s.quantise_changes(avs), set())
    assert views[1].known == frozenset({1})  # still nothing of the members
    s.hidden = {}
    assert ids(3)[1] == {2, 3}  # unlocked: they appear


def test_a_crowded_area_never_shows_the_hidden_and_outsiders_share_one_encoding():
    """More avatars than the view limit: the "nearest N" view must still leave the booth's
    members out (they stand right next to the viewer here), and the outsiders who are in sync
    get one shared encoded delta, not one each."""
    layout = load_layout()
    avs = {i: avatar(i, x=5.0 + 0.1 * i, y=5.0) for i in range(1, 31)}
    s = Sync(10)  # view limit 10 < 30 in the area
    views = {i: ViewState() for i in avs}
    s.hidden = {1: frozenset({1, 2}), 2: frozenset({1, 2})}

    def run(tick):
        return dict(s.frames(tick, layout, avs, [(i, i, views[i]) for i in avs], s.quantise_changes(avs), set()))

    run(1)
    for i in range(3, 31):
        assert not (views[i].known & {1, 2}), i
    assert {1, 2} <= views[1].known
    s2 = Sync(50)  # small area: outsiders share frames
    views2 = {i: ViewState() for i in avs}
    s2.hidden = s.hidden
    for t in (1, 2):
        dict(s2.frames(t, layout, avs, [(i, i, views2[i]) for i in avs], s2.quantise_changes(avs), set()))
    for a in avs.values():
        a.x += 1.0
    before = s2.encoded
    frames = dict(s2.frames(3, layout, avs, [(i, i, views2[i]) for i in avs], s2.quantise_changes(avs), set()))
    assert len(frames) == 30
    assert s2.encoded - before <= 3  # outsiders one frame, the two members theirs (shared or not)
    assert all(not (views2[i].known & {1, 2}) for i in range(3, 31))
