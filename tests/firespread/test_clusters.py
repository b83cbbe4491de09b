import numpy as np
import pytest
from shapely.geometry import box

from yakuba.gis.firespread.classes import StructureClass as C
from yakuba.gis.firespread.clusters import cluster_probability, find_clusters, nonflammable_area_ratio
from yakuba.gis.firespread.graph import build_graph


def row(gap: float, n: int = 10, size: float = 10.0):
    return [box(k * (size + gap), 0, k * (size + gap) + size, size) for k in range(n)]


def test_ten_bare_wooden_houses_5m_apart_are_one_cluster():
    g = build_graph(row(5.0))
    cl = find_clusters(g, np.full(10, C.BARE_WOOD, dtype=np.int8))
    assert cl.sizes.tolist() == [10]
    assert set(cl.labels.tolist()) == {0}


def test_rebuilding_the_fifth_as_fireproof_splits_into_4_and_5():
    g = build_graph(row(5.0))
    classes = np.full(10, C.BARE_WOOD, dtype=np.int8)
    classes[4] = C.FIREPROOF
    cl = find_clusters(g, classes)
    assert sorted(cl.sizes.tolist()) == [4, 5]
    assert cl.labels[4] == -1  # a barrier, never a member


def test_protected_wood_8m_apart_singletons_unless_large_fire():
    g = build_graph(row(8.0))
    classes = np.full(10, C.PROTECTED_WOOD, dtype=np.int8)
    assert find_clusters(g, classes).sizes.tolist() == [1] * 10
    assert find_clusters(g, classes, large_fire=True).sizes.tolist() == [10]


def test_probability_and_nonflammable_ratio():
    assert cluster_probability(100, 0.00075) == pytest.approx(0.0723, abs=5e-5)
    assert nonflammable_area_ratio(20, 30) == pytest.approx(44.0)
    with pytest.raises(ValueError):
        nonflammable_area_ratio(120, 30)


def test_graph_gaps_and_bearings_match_geometry():
    g = build_graph([box(0, 0, 10, 10), box(13, 0, 23, 10), box(0, 40, 10, 50)], max_gap=25)
    assert g.n_edges == 1  # the third is 30 m away
    assert g.gap[0] == pytest.approx(3.0)
    assert g.bearing[0] == pytest.approx(90.0)  # east of the first
