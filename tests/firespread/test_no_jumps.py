"""The graph links only buildings that face each other, so a front never outruns its formula and
fire-resistant buildings and walls shield (issue: fire spread that planners can defend)."""

import numpy as np
import pytest
from shapely.geometry import box

from yakuba.gis.firespread.classes import StructureClass as C
from yakuba.gis.firespread.graph import build_graph
from yakuba.gis.firespread.model import HamadaModel, hamada_speeds
from yakuba.gis.firespread.physics import PhysicsModel
from yakuba.gis.firespread.simulate import simulate
from yakuba.gis.firespread.weather import Weather

from .lattices import front_speed_m_per_min, lattice, southmost_centre

SOUTH_WIND = 180.0  # blowing from the south: the front runs north (bearing 0)


@pytest.mark.parametrize("gap", [0.5, 2.0, 4.0, 6.0])
@pytest.mark.parametrize("wind", [0.0, 6.0, 13.0])
@pytest.mark.parametrize("rotate", [0.0, 45.0])
@pytest.mark.parametrize("wooden", [C.BARE_WOOD, C.PROTECTED_WOOD])
def test_hamada_front_speed_is_the_formula_on_lattices(gap, wind, rotate, wooden):
    """Rows and lattices of identical 10 m houses, the wind along the grid or along its diagonal:
    the simulated downwind front speed is within 10 % of Hamada's own downwind speed."""
    fps = lattice(16, 16, 10.0, gap, rotate_deg=rotate)
    res = simulate(build_graph(fps), np.full(len(fps), wooden), Weather(wind, SOUTH_WIND), [southmost_centre(fps)], hours=24)
    c_prime = 1.0 if wooden == C.PROTECTED_WOOD else 0.0
    formula = float(hamada_speeds(10.0, gap, wind, c_prime)[0])
    measured = front_speed_m_per_min(fps, res.ignition_s)
    assert measured == pytest.approx(formula, rel=0.10), (measured, formula)


def test_hamada_row_speed_independent_of_a_jump_over_the_neighbour():
    """A single row along the wind: before, a house two doors down was linked directly and the
    front ran ~1.55x the formula at 10 m/s; now it is the formula."""
    fps = [box(x * 13.0, 0, x * 13.0 + 10, 10) for x in range(30)]
    g = build_graph(fps)
    assert set(np.abs(g.j - g.i).tolist()) == {1}, "only next-door neighbours face each other"
    res = simulate(g, np.full(30, C.BARE_WOOD), Weather(10.0, 270.0), [0], hours=24)
    measured = front_speed_m_per_min(fps, res.ignition_s, bearing_deg=90.0)
    assert measured == pytest.approx(float(hamada_speeds(10.0, 3.0, 10.0, 0.0)[0]), rel=0.05)


@pytest.mark.parametrize("model", [HamadaModel(), PhysicsModel()], ids=["hamada", "physics"])
def test_a_fire_resistant_building_in_a_row_stops_the_fire(model):
    fps = [box(x * 13.0, 0, x * 13.0 + 10, 10) for x in range(9)]
    classes = np.full(9, C.BARE_WOOD)
    classes[4] = C.FIREPROOF
    res = simulate(build_graph(fps), classes, Weather(13.0, 270.0), [0], hours=24, model=model)
    assert np.isfinite(res.ignition_s[:4]).all(), "the fire reaches the 耐火 building"
    assert not np.isfinite(res.ignition_s[4:]).any(), "and nothing behind it burns"


@pytest.mark.parametrize("model", [HamadaModel(), PhysicsModel()], ids=["hamada", "physics"])
def test_a_fire_wall_between_two_rows_shields(model):
    south = lattice(6, 3, 10.0, 3.0)
    north = lattice(6, 3, 10.0, 3.0, y0=3 * 13.0 + 1.0)  # a 4 m lane between the blocks
    fps = south + north
    classes = np.full(len(fps), C.BARE_WOOD)
    weather = Weather(8.0, 180.0)
    open_run = simulate(build_graph(fps), classes, weather, [southmost_centre(south)], hours=12, model=model)
    assert np.isfinite(open_run.ignition_s[len(south):]).any(), "without the wall the fire crosses the lane"
    wall = [shapely_line([(-5, 38.5), (80, 38.5)])]
    walled = simulate(build_graph(fps, walls=wall), classes, weather, [southmost_centre(south)], hours=12, model=model)
    assert np.isfinite(walled.ignition_s[: len(south)]).all()
    assert not np.isfinite(walled.ignition_s[len(south):]).any()


def shapely_line(points):
    from shapely.geometry import LineString

    return LineString(points)


def test_graph_links_diagonal_neighbours_meeting_at_corners():
    """In a lattice the houses at the diagonal see each other across the crossing (so a front
    driven along the diagonal has a path), but not a house two rows away behind another."""
    fps = lattice(3, 3, 10.0, 3.0)
    g = build_graph(fps)
    pairs = {(int(a), int(b)) for a, b in zip(g.i, g.j)}
    assert (0, 4) in pairs and (0, 2) not in pairs and (0, 6) not in pairs
    diag = [k for k, (a, b) in enumerate(zip(g.i, g.j)) if (a, b) == (0, 4)][0]
    assert g.width[diag] == 0.0 and g.gap[diag] == pytest.approx(3.0 * 2 ** 0.5)
