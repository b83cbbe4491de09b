"""Area of interest, pure."""

from __future__ import annotations

from yakuba.world.interest import AreaPositions, area_of, group_by_area, zones_of_area
from yakuba.world.layout import load_layout

from .helpers import avatar


def test_zones_of_one_area_are_grouped_and_booths_are_apart():
    layout = load_layout()
    avs = [avatar(1, zone="entrance"), avatar(2, zone="corridor"), avatar(3, zone="booth1"), avatar(4, zone="nowhere")]
    assert group_by_area(layout, avs) == {"lobby": [1, 2], "booth1": [3], "nowhere": [4]}
    assert area_of(layout, "infodesk") == "lobby" and area_of(layout, "nowhere") == "nowhere"
    assert sorted(zones_of_area(layout, "lobby")) == ["corridor", "entrance", "infodesk"]
    assert zones_of_area(layout, "booth2") == ["booth2"]


def test_nearest_n_includes_self_and_the_closest():
    avs = {i: avatar(i, x=float(i), y=0.0) for i in range(1, 11)}
    pos = AreaPositions(list(avs), avs)
    assert pos.nearest(avs[1], 3) == {1, 2, 3}
    assert pos.nearest(avs[10], 2) == {9, 10}
    far = avatar(99, x=100.0, y=0.0)  # a viewer the area holds no position for is still in its own view
    assert pos.nearest(far, 2) == {9, 10, 99}
    assert pos.nearest(avs[5], 50) == set(range(1, 11))
