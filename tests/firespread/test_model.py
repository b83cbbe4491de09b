import numpy as np
import pytest

from yakuba.gis.firespread.model import directional_speed, hamada_speeds, hamada_times


def test_hamada_times_match_the_worked_example():
    # a=10, d=3, c'=0, V=10, k=1.6 (ELMFIRE form): 1.67 / 6.63 / 8.48 min.
    td, ts, tu = hamada_times(10, 3, 10, 0, k=1.6)
    assert td == pytest.approx(1.67, rel=0.01)
    assert ts == pytest.approx(6.63, rel=0.01)
    assert tu == pytest.approx(8.48, rel=0.01)
    v_d, _, _ = hamada_speeds(10, 3, 10, 0, k=1.6)
    assert v_d * 60 == pytest.approx(466, rel=0.01)  # m/h


def test_v13_down_and_crosswind_speeds():
    for blend in (True, False):  # the low-wind blend must not touch V > 10
        v_d, v_s, _ = hamada_speeds(10, 3, 13, 0, k=1.6, low_wind_blend=blend)
        assert v_d * 60 == pytest.approx(606, rel=0.01)
        assert v_s * 60 == pytest.approx(149, rel=0.01)


def test_firebench_k_is_an_option():
    td16, _, _ = hamada_times(10, 3, 10, 0, k=1.6)
    td15, _, _ = hamada_times(10, 3, 10, 0, k=1.5)
    assert td15 == pytest.approx(td16 * 1.6 / 1.5)


@pytest.mark.parametrize("blend", [True, False])
def test_speed_rises_with_wind_and_falls_with_c_prime(blend):
    v = np.arange(0, 20.5, 0.5)
    for c in (0.0, 0.5, 1.0):
        d, s, u = hamada_speeds(10, 3, v, c, low_wind_blend=blend)
        assert np.all(np.diff(d) > 0)
        assert np.all(np.diff(s) >= 0)
        assert np.all(u <= s + 1e-12) and np.all(s <= d + 1e-12)
    for vv in (0.0, 5.0, 10.0, 15.0):
        speeds = [hamada_speeds(10, 3, vv, c, low_wind_blend=blend) for c in (0.0, 0.25, 0.5, 1.0)]
        for k in range(3):
            seq = [sp[k] for sp in speeds]
            assert all(a > b for a, b in zip(seq, seq[1:]))


def test_calm_is_isotropic_with_the_blend():
    d, s, u = hamada_speeds(10, 3, 0.0, 0.0)
    assert d == pytest.approx(s) and s == pytest.approx(u)


def test_directional_interpolation_hits_the_three_speeds_and_is_monotonic():
    d, s, u = hamada_speeds(10, 3, 12.0, 0.0)
    ang = np.radians(np.arange(0, 181, 5))
    sp = directional_speed(d, s, u, np.cos(ang))
    assert sp[0] == pytest.approx(d) and sp[18] == pytest.approx(s) and sp[-1] == pytest.approx(u)
    assert np.all(np.diff(sp) <= 1e-12)
