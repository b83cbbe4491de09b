"""A building-to-building physics model of fire spread, in the line of the national institutes'
program (NILIM / BRI; Iwami et al. 2004, Himoto & Tanaka 2008): each building burns through
stages set by its structure, radiates from the facade that faces a neighbour with the view
factor between the two walls, its flames lean downwind and heat the buildings there by
convection, and a neighbour ignites when the heat it has received adds up to its ignition
threshold. Heat from every burning building adds up, which a shortest path cannot express, so
time is stepped (``dt_s``), vectorised over the buildings alight.

Pieces (parameters and their sources: physics_params.py and docs/firespread.md):

* **Burning behaviour** (:class:`~.physics_params.Burning`): before flashover the fire is inside
  and little radiates out (intensity ``preflashover_share * (tau / t_dev)^2``); at
  ``t_dev = (develop_base_s + develop_per_m_s * a) / (1 + wind_development_per_ms * U)`` (the
  fire crossing a plan of side a, sooner when wind drives air through the broken openings) the
  building is fully involved and radiates fully (1) for ``full_s``, then decays linearly over
  ``decay_s``.
* **Radiation**: q = E0 * emissive_share * phi * F * visible, with F the view factor from the
  centre of the target's facing wall to a parallel emitting rectangle (facing width x
  (height + roof flame)) at the gap (graph.py gives the facing width and the sight lines).
* **Wind-tilted flames**: the flame leans by theta with cos(theta) = min(1, (U / u_c)^-1/2)
  (Thomas / AGA correlation); downwind the emitting plane comes ``lean = L_f sin(theta)``
  closer (cosine of the angle to the wind), upwind it goes away; downwind targets within the
  lean also get convective heating ``conv_kw * cos * exp(-gap / lean)``.
* **Ignition**: a target's dose grows by (q - q_cr)^2 dt while q exceeds its critical flux
  (the thermally-thick flux-time product, n = 2); it ignites when the dose reaches ``ftp``.
  耐火 does not burn and, being in the way, blocks sight lines (graph.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .classes import StructureClass
from .graph import NeighbourGraph
from .model import EdgeTimes
from .physics_params import DEFAULT_BURNING, Burning, PhysicsConstants
from .weather import Weather


def view_factor(width, height, gap) -> np.ndarray:
    """Element at the centre of a wall to a parallel, centred rectangle width x height at ``gap``
    (four quadrants of the standard element-to-rectangle formula, e.g. Howell's catalogue B-3)."""
    g = np.maximum(np.asarray(gap, dtype=np.float64), 1e-3)
    x = np.asarray(width, dtype=np.float64) / (2 * g)
    y = np.asarray(height, dtype=np.float64) / (2 * g)
    sx, sy = np.sqrt(1 + x * x), np.sqrt(1 + y * y)
    return np.clip((2 / np.pi) * (x / sx * np.arctan(y / sx) + y / sy * np.arctan(x / sy)), 0.0, 1.0)


def flame_lean_m(wind_ms: float, flame_m: np.ndarray, u_c: float) -> np.ndarray:
    """Horizontal lean of a flame of length ``flame_m`` in a wind (0 in calm)."""
    if wind_ms <= u_c:
        cos_t = 1.0
    else:
        cos_t = (wind_ms / u_c) ** -0.5
    return np.asarray(flame_m) * np.sqrt(max(0.0, 1.0 - cos_t * cos_t))


def _table(burning: dict[int, Burning], attr: str) -> np.ndarray:
    return np.array([float(getattr(burning[c], attr)) for c in range(len(StructureClass))])


@dataclass
class PhysicsPrepared:
    """Directed edges sorted by source with their flux at full intensity (kW/m2), and what each
    building needs to burn; runs one or many ignitions (:meth:`run_many`)."""

    n: int
    burns: np.ndarray
    burn_duration_s: np.ndarray
    area: np.ndarray
    t_dev: np.ndarray  # s, ignition to full involvement
    t_full_end: np.ndarray  # s, end of the fully developed stage
    q_cr: np.ndarray  # kW/m2 per building (as a target)
    ftp: np.ndarray  # (kW/m2)^2 s per building
    indptr: np.ndarray
    dst: np.ndarray
    k: np.ndarray  # kW/m2 at the target when the source is fully involved
    lag: np.ndarray  # s per edge: the facade facing the target is involved this much later than the building's mean
    active_s: np.ndarray  # s per building: until its last facade has burnt out
    dt_s: float
    pre_share: float = 0.1  # intensity just before flashover (flames inside, not yet out of the openings)

    def phi(self, b: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """Intensity 0..1 of buildings ``b`` at ``tau`` seconds after their ignition."""
        td, tf, tend = self.t_dev[b], self.t_full_end[b], self.burn_duration_s[b]
        grow = self.pre_share * np.clip(tau / np.maximum(td, 1.0), 0.0, 1.0) ** 2
        decay = np.clip((tend - tau) / np.maximum(tend - tf, 1.0), 0.0, 1.0)
        return np.where(tau < td, grow, np.where(tau < tf, 1.0, decay))

    def ignition_times(self, sources: np.ndarray, horizon_s: float, brands: EdgeTimes | None = None) -> np.ndarray:
        return self.run_many([np.asarray(sources, dtype=np.int64)], horizon_s, [brands])[0]

    def run_many(self, sources: list[np.ndarray], horizon_s: float, brands: list[EdgeTimes | None] | None = None) -> np.ndarray:
        """Ignition times (runs x buildings) for several independent runs stepped together: run r's
        building b is state index r * n + b, so one set of array operations serves them all."""
        n, runs = self.n, len(sources)
        total = n * runs
        ign = np.full(total, np.inf)
        dose = np.zeros(total)
        for r, s in enumerate(sources):
            s = np.asarray(s, dtype=np.int64)
            s = s[self.burns[s]]
            ign[r * n + s] = 0.0
        # Spot fires: (state index of source, of target, delay); fired when the source is alight.
        ev_src = ev_dst = ev_delay = np.zeros(0)
        if brands is not None:
            parts = [(b.src.astype(np.int64) + r * n, b.dst.astype(np.int64) + r * n, b.seconds)
                     for r, b in enumerate(brands) if b is not None and len(b.src)]
            if parts:
                ev_src, ev_dst, ev_delay = (np.concatenate(x) for x in zip(*parts))
                ok = self.burns[ev_dst % n]
                ev_src, ev_dst, ev_delay = ev_src[ok].astype(np.int64), ev_dst[ok].astype(np.int64), ev_delay[ok]
        burning = np.flatnonzero(np.isfinite(ign))
        q_cr = np.tile(self.q_cr, runs)
        ftp = np.tile(self.ftp, runs)
        dt = self.dt_s
        t = 0.0
        while t < horizon_s:
            if len(ev_src):
                et = ign[ev_src] + ev_delay
                due = et < t + dt
                if due.any():
                    np.minimum.at(ign, ev_dst[due], np.maximum(et[due], t))
                    burning = np.union1d(burning, ev_dst[due])
                    ev_src, ev_dst, ev_delay = ev_src[~due], ev_dst[~due], ev_delay[~due]
            b = burning % n
            tau = t + 0.5 * dt - ign[burning]
            alive = tau < self.active_s[b]
            if not alive.all():
                burning, b, tau = burning[alive], b[alive], tau[alive]
            if len(burning) == 0:
                if not len(ev_src) or not np.isfinite(ign[ev_src]).any():
                    break
                t += dt
                continue
            start, stop = self.indptr[b], self.indptr[b + 1]
            cnt = stop - start
            m = int(cnt.sum())
            if m:
                rep = np.repeat(np.arange(len(b)), cnt)
                eidx = np.arange(m) - np.repeat(np.cumsum(cnt) - cnt, cnt) + np.repeat(start, cnt)
                tgt = self.dst[eidx] + (burning[rep] - b[rep])  # same run as the source
                flux = self.phi(b[rep], np.maximum(tau[rep] - self.lag[eidx], 0.0)) * self.k[eidx]
                tg, inv = np.unique(tgt, return_inverse=True)
                q = np.bincount(inv, weights=flux, minlength=len(tg))
                cand = ~np.isfinite(ign[tg]) & (q > q_cr[tg])
                tg, q = tg[cand], q[cand]
                before = dose[tg]
                after = before + (q - q_cr[tg]) ** 2 * dt
                dose[tg] = after
                lit = after >= ftp[tg]
                if lit.any():
                    tl = tg[lit]
                    frac = (ftp[tl] - before[lit]) / np.maximum(after[lit] - before[lit], 1e-12)
                    ign[tl] = t + dt * np.clip(frac, 0.0, 1.0)
                    burning = np.concatenate([burning, tl])
            t += dt
        ign[ign > horizon_s] = np.inf
        return ign.reshape(runs, n)


@dataclass
class PhysicsModel:
    """The physics model behind ``model.SpreadModel`` (module docstring)."""

    burning: dict[int, Burning] = field(default_factory=lambda: dict(DEFAULT_BURNING))
    constants: PhysicsConstants = field(default_factory=PhysicsConstants)
    dt_s: float = 30.0
    name: str = "physics"

    def burns(self, classes: np.ndarray) -> np.ndarray:
        return _table(self.burning, "burns").astype(bool)[np.asarray(classes, dtype=np.int64)]

    def _times(self, classes: np.ndarray, side: np.ndarray, wind_ms: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = np.asarray(classes, dtype=np.int64)
        t_dev = _table(self.burning, "develop_base_s")[c] + _table(self.burning, "develop_per_m_s")[c] * side
        t_dev = t_dev / (1.0 + self.constants.wind_development_per_ms * wind_ms)
        t_full_end = t_dev + _table(self.burning, "full_s")[c]
        end = t_full_end + _table(self.burning, "decay_s")[c]
        return t_dev, t_full_end, end

    def heights(self, n: int, height: np.ndarray | None) -> np.ndarray:
        h = np.full(n, self.constants.default_height_m) if height is None else np.asarray(height, dtype=np.float64)
        return np.where(np.isfinite(h) & (h > 0), np.minimum(h, self.constants.max_height_m), self.constants.default_height_m)

    def edge_flux(self, graph: NeighbourGraph, classes: np.ndarray, weather: Weather,
                  height: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(src, dst, kW/m2 at the target with the source fully involved, the source's depth
        along the edge) over the directed edges between buildings that can burn."""
        k = self.constants
        classes = np.asarray(classes, dtype=np.int64)
        burns = self.burns(classes)
        src, dst, gap, bearing = graph.directed()
        ok = burns[src] & burns[dst]
        src, dst, gap, bearing = src[ok], dst[ok], gap[ok], bearing[ok]
        width = graph.both(graph.width)[ok]
        visible = graph.both(graph.visible)[ok]
        depth = graph.source_depth()[ok]
        h = self.heights(graph.n, height)
        flame = h[src] + k.roof_flame_m
        v = weather.speed_ms
        cos_w = np.cos(np.radians(bearing - weather.downwind_bearing_deg)) if v > 0 else np.zeros(len(src))
        lean = flame_lean_m(v, flame, k.plume_velocity_ms)
        gap_eff = np.maximum(gap - lean * cos_w, k.min_gap_m)
        side = np.minimum(graph.side[src], graph.side[dst])
        w_eff = np.maximum(width, k.corner_view_share * side)  # corner to corner: an oblique glimpse
        share = _table(self.burning, "emissive_share")[classes[src]]
        q = k.emissive_power_kw * share * view_factor(w_eff, flame, gap_eff) * visible
        downwind = np.maximum(cos_w, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            conv = np.where(lean > 0, k.convective_kw * downwind * np.exp(-gap / np.maximum(lean, 1e-9)), 0.0)
        return src, dst, q + conv, depth

    def prepare(self, graph: NeighbourGraph, classes: np.ndarray, weather: Weather,
                height: np.ndarray | None = None) -> PhysicsPrepared:
        classes = np.asarray(classes, dtype=np.int64)
        src, dst, q, depth = self.edge_flux(graph, classes, weather, height)
        q_cr = _table(self.burning, "critical_flux_kw")[classes]
        # Edges too weak to matter even with several neighbours adding up are dropped.
        keep = q >= self.constants.min_edge_share * q_cr[dst]
        src, dst, q, depth = src[keep], dst[keep], q[keep], depth[keep]
        order = np.argsort(src, kind="stable")
        src, dst, q, depth = src[order], dst[order], q[order], depth[order]
        indptr = np.zeros(graph.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=graph.n), out=indptr[1:])
        side = np.clip(graph.side, 3.0, 30.0)
        t_dev, t_full_end, end = self._times(classes, side, weather.speed_ms)
        # The fire crosses the building to reach the facade facing a target: a deep building
        # passes fire on along its depth later than across its width (Hamada's a is for squares).
        t_edge = self._times(classes[src], np.clip(depth, 3.0, 30.0), weather.speed_ms)[0]
        lag = t_edge - t_dev[src]
        active = end.copy()
        np.maximum.at(active, src, end[src] + lag)
        burns = self.burns(classes)
        return PhysicsPrepared(
            n=graph.n, burns=burns, burn_duration_s=np.where(burns, end, 0.0), area=graph.area,
            t_dev=t_dev, t_full_end=t_full_end, q_cr=q_cr, ftp=_table(self.burning, "ftp")[classes],
            indptr=indptr, dst=dst.astype(np.int64), k=q, lag=lag, active_s=np.where(burns, active, 0.0), dt_s=self.dt_s, pre_share=self.constants.preflashover_share,
        )

    # ------------------------------------------------------------------ the model's own yardsticks
    def _pair_graph(self, gap: float, side: float = 10.0) -> NeighbourGraph:
        from shapely.geometry import box

        from .graph import build_graph

        return build_graph([box(0, 0, side, side), box(0, side + gap, side, 2 * side + gap)])

    def reach_m(self, cls: int, wind_ms: float, side: float = 10.0) -> float:
        """The widest gap across which one fully involved house (``side`` m square, default
        height) downwind still heats a house of the same class above its critical flux: beyond
        it nothing ignites without firebrands or several burning houses adding up."""
        lo, hi = 0.0, 60.0
        crit = self.burning[cls].critical_flux_kw
        for _ in range(30):
            mid = (lo + hi) / 2
            g = self._pair_graph(mid, side)
            _, dst, q, _ = self.edge_flux(g, np.full(2, cls), Weather(wind_ms, 180.0))
            lo, hi = (mid, hi) if q[dst == 1].max(initial=0.0) >= crit else (lo, mid)
        return lo

    def pair_time_s(self, cls: int, gap: float, wind_ms: float, side: float = 10.0) -> float:
        """Seconds from a house's ignition to its downwind neighbour's (same class, ``side`` m
        squares, the wind along the pair), integrated at 1 s: the row speed (side + gap) / this
        is the model's own formula for a row of identical houses."""
        g = self._pair_graph(gap, side)
        fine = PhysicsModel(self.burning, self.constants, dt_s=1.0)
        t = fine.prepare(g, np.full(2, cls), Weather(wind_ms, 180.0)).ignition_times(np.array([0]), 6 * 3600.0)
        return float(t[1])
