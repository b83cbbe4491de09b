"""Parameters of the physics model (physics.py), per structure class and global, with where each
number comes from. docs/firespread.md has the table, the sources and the calibration.

Values marked *calibrated* were set within their published range so that the two hindcasts
(towns.py: Itoigawa 2016, Sakata 1976) land in the observed head speeds; the others are taken
from the literature as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from .classes import StructureClass

MIN = 60.0


@dataclass(frozen=True)
class Burning:
    """How one structure class burns, and how it takes heat as a target."""

    burns: bool
    develop_base_s: float = 0.0  # ignition to full involvement: a constant ...
    develop_per_m_s: float = 0.0  # ... plus this per metre of plan side (fire crossing the plan)
    full_s: float = 0.0  # fully developed stage
    decay_s: float = 0.0  # then the intensity falls linearly to 0
    emissive_share: float = 0.0  # share of the facing facade radiating when fully involved
    critical_flux_kw: float = 1e9  # as a target: below this a wall does not heat towards ignition
    ftp: float = 1e18  # flux-time product (kW/m2)^2 s to ignite (n = 2)


_NO = Burning(burns=False)
DEFAULT_BURNING: dict[int, Burning] = {
    StructureClass.FIREPROOF: _NO,
    # 準耐火: fire-rated walls and floors hold the fire inside for most of an hour.
    StructureClass.QUASI_FIREPROOF: Burning(True, 15 * MIN, 45.0, 40 * MIN, 30 * MIN, 0.22, 20.0, 60_000.0),
    # 防火造: mortar-clad wooden; the mortar keeps the walls standing, fire shows at the openings.
    StructureClass.PROTECTED_WOOD: Burning(True, 5 * MIN, 37.5, 25 * MIN, 20 * MIN, 0.29, 15.0, 25_000.0),
    # 裸木造: bare wooden walls burn through; the whole facade radiates.
    StructureClass.BARE_WOOD: Burning(True, 3 * MIN, 22.5, 20 * MIN, 15 * MIN, 0.6, 12.0, 12_000.0),
    StructureClass.UNKNOWN: Burning(True, 5 * MIN, 37.5, 25 * MIN, 20 * MIN, 0.29, 15.0, 25_000.0),
    StructureClass.REMOVED: _NO,
}


@dataclass(frozen=True)
class PhysicsConstants:
    emissive_power_kw: float = 120.0  # kW/m2 of a fully involved opening/flame (sigma T^4, T ~ 1200 K)
    roof_flame_m: float = 3.0  # flames above the eaves when fully involved
    plume_velocity_ms: float = 3.0  # u_c of the flame-tilt correlation, ~(g Q / rho cp T D)^(1/3) for ~10 MW
    convective_kw: float = 20.0  # kW/m2 into a wall inside a leaning flame (h ~ 25 W/m2K x ~800 K)
    min_gap_m: float = 0.5  # a leaning flame touches; no closer than this
    corner_view_share: float = 0.2  # buildings meeting corner to corner see this share of a side
    default_height_m: float = 6.0  # two storeys when the height is unknown
    max_height_m: float = 30.0
    # Wind forces air through a burning house: it is fully involved sooner (calibrated).
    wind_development_per_ms: float = 0.01
    preflashover_share: float = 0.1
    min_edge_share: float = 0.1  # drop edges giving less than this share of the target's critical flux
