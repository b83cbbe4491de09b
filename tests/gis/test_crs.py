from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from yakuba.gis import crs
from yakuba.gis.errors import CrsError


@pytest.mark.parametrize(
    "name",
    ["http://www.opengis.net/def/crs/EPSG/0/6697", "urn:ogc:def:crs:EPSG::6697", "EPSG:6697", "http://www.opengis.net/gml/srs/epsg.xml#6697"],
)
def test_srs_name_forms(name: str) -> None:
    assert crs.parse_srs_name(name) == 6697


@pytest.mark.parametrize("name", ["http://example.com/crs/42", "EPSG:999999", "urn:ogc:def:crs:OGC:1.3:CRS84x"])
def test_unknown_srs_is_a_clear_error(name: str) -> None:
    with pytest.raises(CrsError) as e:
        crs.parse_srs_name(name)
    assert "srsName" in str(e.value) or "unknown CRS" in str(e.value)


def test_6697_is_lat_first() -> None:
    assert crs.first_axis_is_northing(6697)


@pytest.mark.parametrize(
    "lat,lon,zone",
    [
        (34.59, 135.499, 6674),  # Osaka: VI
        (35.68, 139.70, 6677),  # Tokyo: IX
        (32.94, 130.57, 6670),  # Kumamoto: II
        (34.14, 131.73, 6671),  # Yamaguchi: III
        (36.65, 137.06, 6675),  # Toyama: VII
        (35.80, 137.98, 6676),  # Nagano: VIII
        (42.94, 141.44, 6680),  # Sapporo: XII
        (26.21, 127.68, 6683),  # Naha: XV
        (33.56, 133.53, 6672),  # Kochi: IV
    ],
)
def test_zone_choice(lat: float, lon: float, zone: int) -> None:
    assert crs.pick_plane_zone(lat, lon) == zone


def test_round_trip_is_centimetre_accurate() -> None:
    rng = np.random.default_rng(3)
    lat = 34.59 + rng.uniform(-0.05, 0.05, 500)
    lon = 135.50 + rng.uniform(-0.05, 0.05, 500)
    zone = crs.pick_plane_zone(34.59, 135.5)
    frame = crs.LocalFrame(6697, zone, crs.origin_for(34.59, 135.5, zone))
    local = frame.to_local(np.column_stack((lat, lon, np.full(500, 12.0))))
    assert np.all(np.abs(local[:, :2]) < 6000)  # metres near the origin, not absolute plane coords
    assert np.allclose(local[:, 2], 12.0)
    back = frame.to_lonlat(local)
    # Compare on the ground in metres (through the zone itself, independent of our code).
    t = Transformer.from_crs("EPSG:6668", f"EPSG:{zone}", always_xy=True)
    x1, y1 = t.transform(lon, lat)
    x2, y2 = t.transform(back[:, 0], back[:, 1])
    assert np.max(np.hypot(np.asarray(x1) - x2, np.asarray(y1) - y2)) < 0.01
    # And local coordinates agree with an independent pyproj call to the centimetre.
    ox, oy = frame.origin
    assert np.max(np.abs((np.asarray(x1) - ox) - local[:, 0])) < 0.01
    assert np.max(np.abs((np.asarray(y1) - oy) - local[:, 1])) < 0.01


def test_root_transform_places_origin_on_the_globe() -> None:
    zone = 6674
    frame = crs.LocalFrame(6697, zone, crs.origin_for(34.59, 135.5, zone))
    m = np.array(crs.local_to_ecef_matrix(frame)).reshape(4, 4).T  # column-major
    r = m[:3, :3]
    assert np.allclose(r.T @ r, np.eye(3), atol=1e-9)
    lon, lat = frame.to_lonlat(np.zeros((1, 2)))[0]
    x, y, z = Transformer.from_crs("EPSG:4326", "EPSG:4978", always_xy=True).transform(lon, lat, 0.0)
    assert np.allclose(m[:3, 3], [x, y, z], atol=0.01)
    # A point 100 m up the local z axis is 100 m further from the Earth's centre.
    assert np.linalg.norm(m[:3, 3] + 100 * m[:3, 2]) - np.linalg.norm(m[:3, 3]) == pytest.approx(100, abs=0.5)
    # Local +y points (grid) north within the meridian convergence (< 1° here).
    assert abs(crs.meridian_convergence_deg(frame)) < 1.0


def test_non_zone_target_refused() -> None:
    with pytest.raises(CrsError):
        crs.LocalFrame(6697, 4326, (0, 0))


def test_zone_origins_match_pyproj() -> None:
    """The typed-in origins of zones I-XIX are the ones pyproj's EPSG database defines."""
    from pyproj import CRS

    from yakuba.gis.crs import PLANE_ZONES, ZONE_ORIGINS

    assert sorted(ZONE_ORIGINS) == list(PLANE_ZONES)
    for code in PLANE_ZONES:
        params = {p.name: p.value for p in CRS.from_epsg(code).coordinate_operation.params}
        want = (params["Latitude of natural origin"], params["Longitude of natural origin"])
        assert ZONE_ORIGINS[code] == pytest.approx(want, abs=1e-12), code


def test_vertical_model_bends_heights_onto_the_globe() -> None:
    """A point 10 km from the origin at orthometric height 0 sits about 7.8 m below the tangent
    plane (the globe's curvature), plus the geoid's change; at the origin the offset is 0 and
    the geoid height goes into the root transform."""
    frame = crs.LocalFrame(6697, 6674, crs.origin_for(35.68, 139.76, 6674))  # Tokyo, on land
    n0, transform, grid = crs.vertical_model(frame, np.array([-10_000.0, -10_000.0]), np.array([10_000.0, 10_000.0]))
    assert 35 < n0 < 40
    assert abs(float(grid.at(np.array([0.0]), np.array([0.0]))[0])) < 0.05
    edge = float(grid.at(np.array([10_000.0]), np.array([0.0]))[0])
    ll = frame.to_lonlat(np.array([[10_000.0, 0.0]]))
    dn = float(crs.geoid_height(ll[:, 0], ll[:, 1])[0]) - n0
    assert abs(edge - (dn - 10_000.0**2 / (2 * 6_371_000))) < 0.2


def test_vertical_model_with_the_origin_at_sea() -> None:
    """Sagami Bay: no geoid value at the origin; the nearest grid point with one stands in, and
    the sea cells of the grid are filled from their neighbours (no NaN reaches the tiles)."""
    frame = crs.LocalFrame(6697, 6677, crs.origin_for(34.9, 139.5, 6677))
    ll0 = frame.to_lonlat(np.zeros((1, 2)))
    assert np.isnan(crs.geoid_height(ll0[:, 0], ll0[:, 1])[0])
    n0, _, grid = crs.vertical_model(frame, np.array([-30_000.0, -30_000.0]), np.array([30_000.0, 30_000.0]))
    assert n0 is not None and 30 < n0 < 45
    assert np.isfinite(grid.values).all()


def test_geoid_cache_gives_the_embedded_model_and_survives_a_bad_file(tmp_path, monkeypatch) -> None:
    """The cached binary answers as the copy embedded in japan-geoid does; a truncated cache is
    replaced, and an unwritable cache directory only costs the unpacking."""
    import japan_geoid

    lon = np.array([139.7671, 135.5023, 141.3544, 130.4017, 127.6809])
    lat = np.array([35.6812, 34.6937, 43.0621, 33.5902, 26.2124])
    want = japan_geoid.load_embedded_gsigeo2011().get_heights(lon, lat)
    monkeypatch.setenv("YAKUBA_CACHE_DIR", str(tmp_path / "cache"))
    try:
        for state in ("missing", "written", "truncated"):
            crs._geoid.cache_clear()
            files = list((tmp_path / "cache").glob("gsigeo2011-*.bin"))
            assert (state == "missing") == (not files)
            if state == "truncated":
                files[0].write_bytes(files[0].read_bytes()[:1000])
            np.testing.assert_array_equal(crs.geoid_height(lon, lat), want)
            (cached,) = (tmp_path / "cache").glob("gsigeo2011-*.bin")
            assert cached.stat().st_size > 1_000_000, state
        (tmp_path / "ro").write_text("a file where the directory would be")
        monkeypatch.setenv("YAKUBA_CACHE_DIR", str(tmp_path / "ro"))
        crs._geoid.cache_clear()
        np.testing.assert_array_equal(crs.geoid_height(lon, lat), want)
    finally:
        crs._geoid.cache_clear()
