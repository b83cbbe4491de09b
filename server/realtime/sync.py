"""Per-view snapshot building and frame encoding. Pure: no sockets, no clock, no store.

Each tick: ``quantise_changes`` finds the avatars whose quantised position changed (and packs
their 9-byte ``upd`` record once); ``frames`` then gives every viewer the frame for its area of
interest. Viewers of a small area who are in sync see the same delta, so it is encoded once and
the same ``bytes`` object is handed to each of them (the transport builds its packets once per
distinct object). Nothing changed in a view: no frame at all.

Congested viewers (their transport could not take more: transport.Outlet) get nothing this tick
and need a full frame next: their state does not advance, so nothing they missed is lost.

Crowds: in an area holding more than ``view_limit`` avatars a view is the nearest N. Viewers in
one crowd cell (``CELL_SIZES``) share the nearest N to the cell's centre and one encoded delta; the
few that cannot share (locked booths, very dense spots) get their own nearest N.

Adaptive rates: in a crowded view the nearest ``RATE_TIERS[0]`` move every tick and farther ones
every 2nd or 4th tick (phased by cell or viewer so that a crowd's far updates spread over the
ticks): a far avatar's held-back move waits in the cell's (or the viewer's) ``held`` set until
its tier is due, so it is late by at most 3 ticks but never lost. The ``upd`` records of a
50-avatar view fall by ~40% while the avatars next to you keep their latency.
"""

from __future__ import annotations

from collections.abc import Container, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from yakuba.server.protocol import UPD, encode_snapshot, quantise
from yakuba.world.interest import AreaPositions, group_by_area
from yakuba.world.layout import Layout
from yakuba.world.state import Avatar

K = TypeVar("K", bound=Hashable)
OUT = "\x00out:"  # shared-frame key prefix: an area's view from outside its locked booths
# (rank below which, update period in ticks), nearest first; beyond the last: every 4th tick.
RATE_TIERS = ((20, 1), (35, 2))
FAR_PERIOD = 4
# A crowded view's nearest N is re-ranked every 2nd tick (phased per viewer): who is nearest
# changes slowly at walking speed, and the ranking was the largest single cost of a crowded tick.
RERANK_EVERY = 2
# Crowd cells: in an area holding more than view_limit avatars, the viewers within one 4 m
# square share the view of the nearest N to its centre (you are at most 2.8 m from it) and one
# encoded delta per tick. Per-viewer nearest-N frames cost ~30 us each, a third of a 1,000-avatar
# tick; a cell of a 500-avatar hall holds ~6 viewers. A viewer entering a cell gets one frame of
# its own to the cell's view, then shares. Locked booths and spots denser than N per cell keep
# per-viewer views.
# A dense cell (its nearest N leave the viewer out) is split in four, then again.
CELL_SIZES = (4.0, 2.0, 1.0)
# A cell's viewers are anywhere in its square: whoever is within CELL_NEAR_M of the square's
# corners (from its centre: 2.8 m + 1.5 m for a 4 m cell) moves every tick, whatever their rank
# -- your own avatar and those next to you are never held back.
CELL_NEAR_M = 1.5
CellKey = tuple[str, float, int, int]  # (area, cell size, column, row)
CELL_STAY = 0.25  # a viewer keeps its cell until this share of the cell's size beyond its edge


def _near_cell(ck: CellKey, x: float, y: float) -> bool:
    _, size, ix, iy = ck
    m = size * CELL_STAY
    return ix * size - m <= x < (ix + 1) * size + m and iy * size - m <= y < (iy + 1) * size + m


@dataclass
class ViewState:
    """What one viewer was last sent."""

    known: frozenset[int] = frozenset()
    needs_full: bool = True
    held: set[int] = field(default_factory=set)  # far avatars whose last move waits for their tier
    ranked: tuple[str, list[int]] | None = None  # a crowded view: its area, its members nearest first
    cell: tuple[str, float, int, int] | None = None  # the crowd cell whose shared frames it gets

    def reset(self) -> None:
        self.known, self.needs_full, self.ranked, self.cell = frozenset(), True, None, None
        self.held.clear()


class Sync:
    def __init__(self, view_limit: int) -> None:
        self.view_limit = view_limit
        self.q: dict[int, tuple[int, int, int]] = {}  # avatar id -> quantised (x_cm, y_cm, h) last sent
        self.rec: dict[int, bytes] = {}  # the same, packed as a 9-byte upd record
        # area (or crowd cell, or an area's view from outside its locked booths) -> its view at the last tick
        self.area_prev: dict[Hashable, frozenset[int]] = {}
        self.encoded = 0  # frames encoded (a test checks encode-once per view)
        self._adds: dict[int, list[Any]] = {}  # this tick's add records (frames)
        self.cell_held: dict[CellKey, set[int]] = {}  # crowd cell -> moves it held back
        # Avatars in a locked booth -> who may see them (its members); set by the booth service.
        self.hidden: dict[int, frozenset[int]] = {}

    def forget(self, aid: int) -> None:
        self.q.pop(aid, None)
        self.rec.pop(aid, None)

    def quantise_changes(self, avatars: Mapping[int, Avatar]) -> set[int]:
        changed: set[int] = set()
        q, rec, pack = self.q, self.rec, UPD.pack
        for aid, a in avatars.items():
            v = quantise(a.x, a.y, a.heading)
            if q.get(aid) != v:
                q[aid] = v
                rec[aid] = pack(aid, *v)
                changed.add(aid)
        return changed

    def record(self, a: Avatar) -> list[Any]:
        """The `add` record: [id, name, style, color, role, x_cm, y_cm, heading_u8, zone, away]."""
        qx, qy, qh = self.q.get(a.id) or quantise(a.x, a.y, a.heading)
        return [a.id, a.name, a.style, a.color, a.role.value, qx, qy, qh, a.zone, bool(a.away)]

    def pack_upd(self, ids: Iterable[int]) -> bytes:
        # Records are packed once per avatar per tick (quantise_changes) and joined per view.
        rec = self.rec
        return b"".join([rec[i] for i in ids])

    def frames(
        self,
        tick: int,
        layout: Layout,
        avatars: Mapping[int, Avatar],
        viewers: Iterable[tuple[K, int, ViewState]],
        changed: set[int],
        meta_dirty: set[int],
        congested: Container[int] = (),
    ) -> list[tuple[K, bytes]]:
        """(viewer key, frame) for every viewer with something to receive; viewers' states are
        updated to what they were sent. ``viewers`` holds (key, own avatar id, state); the
        viewers whose own avatar id is in ``congested`` are skipped and will get a full frame."""
        self._adds: dict[int, list[Any]] = {}
        areas = group_by_area(layout, avatars.values())
        members = {area: frozenset(ids) for area, ids in areas.items()}
        shared: dict[str, bytes | None] = {}
        positions: dict[str, AreaPositions] = {}
        limit = self.view_limit
        out: list[tuple[K, bytes]] = []
        zones = layout.zones
        hidden, in_area = self.hidden, {}
        prev: dict[Hashable, frozenset[int]] = dict(members)  # next tick's area_prev
        cells: dict[CellKey, tuple[frozenset[int], set[int] | None, ViewState]] = {}
        held_before = self.cell_held  # last tick's (never mutated: _cell copies)
        for key, aid, vs in viewers:
            if aid in congested:
                vs.needs_full = True  # known stays: the next frame sent replaces it whole
                continue
            me = avatars.get(aid)
            if me is None:
                continue
            z = zones.get(me.zone)
            area = z.area if z else me.zone
            view = members.get(area, frozenset())
            # A locked booth's members are seen only by its members. Outsiders of an area all
            # see the same filtered view, so they still share one encoded delta (key OUT+area);
            # only the few members of a locked booth get frames of their own.
            skey: str | None = area
            hid: list[int] = []
            if hidden:
                if area not in in_area:  # the locked booths' members in this area, found once
                    in_area[area] = [i for i in view if i in hidden]
                hid = in_area[area]
                if all(aid not in hidden[i] for i in hid):  # outside every locked booth here
                    if hid:
                        skey = OUT + area
                        if skey not in prev:
                            prev[skey] = frozenset(i for i in view if i not in hidden)
                        view = prev[skey]
                elif any(aid not in hidden[i] for i in hid):  # inside one, another is locked too
                    view = frozenset(i for i in view if i not in hidden or aid in hidden[i])
                    skey = None
                else:  # a member of every locked booth in the area: sees all
                    hid = []
            small = len(view) <= limit
            due: set[int] | None = None
            # A crowd: viewers in the same cell share one view (the nearest N to the cell's
            # centre) and, once in sync, one encoded delta -- as a small area does. Where a cell
            # is so dense that its view leaves the viewer out, a quarter of it is tried.
            ck = cell = None
            if not small and not hid:
                if area not in positions:
                    positions[area] = AreaPositions(areas[area], avatars)
                old = vs.cell
                if old is not None and old[0] == area and _near_cell(old, me.x, me.y):
                    # Hysteresis: walking along a cell's edge does not switch cells every step
                    # (each switch is a frame of its own, with the adds and deletes between them).
                    cell = cells.get(old)
                    if cell is None:
                        cell = cells[old] = self._cell(old, positions[area], tick)
                        prev[old] = cell[0]
                    ck = old if aid in cell[0] else None
                if ck is None:
                    for size in CELL_SIZES:
                        ck = (area, size, int(me.x // size), int(me.y // size))
                        cell = cells.get(ck)
                        if cell is None:
                            cell = cells[ck] = self._cell(ck, positions[area], tick)
                            prev[ck] = cell[0]
                        if aid in cell[0]:
                            break
                    else:
                        ck = cell = None  # denser still: a view of its own
            if vs.cell is not None and vs.cell != ck:
                # Leaving a cell: the moves it held back are owed to this viewer now.
                vs.held |= held_before.get(vs.cell, ())
                vs.cell = None
            if cell is not None:
                cview, cdue, cvs = cell
                if not vs.needs_full and not vs.held and vs.known == self.area_prev.get(ck):
                    if ck not in shared:
                        shared[ck] = self._frame(tick, avatars, cvs.known, cview, changed, meta_dirty, full=False, vs=cvs, due=cdue)
                    frame = shared[ck]
                else:  # entering the cell: a frame of its own to the cell's view, every owed move in it
                    frame = self._frame(tick, avatars, vs.known, cview, changed, meta_dirty, full=vs.needs_full, vs=vs, due=None)
                    vs.needs_full = False
                vs.known, vs.cell, vs.ranked = cview, ck, None  # (a view of its own later re-ranks at once)
                if frame is not None:
                    out.append((key, frame))
                continue
            if small and skey is not None and not vs.needs_full and not vs.held and vs.known == self.area_prev.get(skey):
                # Everyone in a small area who is in sync sees the same delta: encode once.
                if skey not in shared:
                    shared[skey] = self._frame(tick, avatars, vs.known, view, changed, meta_dirty, full=False)
                frame = shared[skey]
                vs.known = view
            else:
                if not small:
                    if area not in positions:
                        positions[area] = AreaPositions(areas[area], avatars)
                    last = vs.ranked
                    if last is None or last[0] != area or hid or vs.needs_full or (tick + aid) % RERANK_EVERY == 0:
                        ranked = positions[area].ranked(me, limit + len(hid))
                        if hid:  # never the hidden ones, even when the crowd makes the view "nearest N"
                            ranked = [i for i in ranked if i not in hidden or aid in hidden[i]]
                        vs.ranked = (area, ranked)
                        view = frozenset(ranked)
                    else:  # between re-rankings: last tick's nearest, less those who left the area
                        ranked = last[1]
                        view = vs.known & view
                    due = self._due(ranked, tick + aid)
                frame = self._frame(tick, avatars, vs.known, view, changed, meta_dirty, full=vs.needs_full, vs=vs, due=due)
                vs.known, vs.needs_full = view, False
            if frame is not None:
                out.append((key, frame))
        self.area_prev = prev
        self.cell_held = {ck: c[2].held for ck, c in cells.items()}
        return out

    def _cell(self, ck: CellKey, pos: AreaPositions, tick: int) -> tuple[frozenset[int], set[int] | None, ViewState]:
        """A crowd cell's view, the ids whose moves are due this tick, and the state its shared
        frames are built from: last tick's view (what its viewers in sync know) and the moves
        it held back (kept while the cell had viewers last tick)."""
        _, size, ix, iy = ck
        near_m = size * 0.7072 + CELL_NEAR_M  # the square's corners, and around them
        ranked, close = pos.ranked_within((ix + 0.5) * size, (iy + 0.5) * size, self.view_limit, near_m)
        known = self.area_prev.get(ck, frozenset())
        held = set(self.cell_held.get(ck, ())) if ck in self.area_prev else set()
        return frozenset(ranked), self._due(ranked, tick + ix + 3 * iy, close), ViewState(known, False, held)

    @staticmethod
    def _due(ranked: list[int], phase: int, close: int = 0) -> set[int] | None:
        """The avatars of a crowded view whose moves go this tick (None: all of them); the
        first ``close`` ones (a cell's own square and its surroundings) always go."""
        lo, due = 0, []
        near = max(RATE_TIERS[0][0], close)
        tiers = ((near, 1), *((max(hi, near + hi - RATE_TIERS[0][0]), p) for hi, p in RATE_TIERS[1:]))
        for hi, period in (*tiers, (len(ranked), FAR_PERIOD)):
            if phase % period == 0:
                due.extend(ranked[lo:hi])
            lo = hi
            if lo >= len(ranked):
                break
        return None if len(due) >= len(ranked) else set(due)

    def _frame(self, tick: int, avatars: Mapping[int, Avatar], known: frozenset[int], view: frozenset[int], changed: set[int],
               meta_dirty: set[int], full: bool, vs: ViewState | None = None, due: set[int] | None = None) -> bytes | None:
        # Set operations (in C) rather than loops over the view: a crowded tick builds ~1,000
        # per-viewer frames, and these were a fifth of it (bench/presence.py N=1000 profile).
        held = vs.held if vs is not None else None
        if full:
            add_ids, upd_ids, dels = view, (), ()
            if held:
                held.clear()
        else:
            add_ids = view - known
            if meta_dirty:
                add_ids |= view & meta_dirty
            dels = known - view
            kept = view & known
            upd_ids = kept & changed if changed else frozenset()
            if held:  # moves held back earlier, and still owed: they go now unless not yet due
                upd_ids |= kept & held
            if meta_dirty and upd_ids:
                upd_ids -= meta_dirty
            if due is not None and upd_ids:
                late = upd_ids - due
                if late:
                    upd_ids = upd_ids & due
                    held = vs.held = set(late)  # type: ignore[union-attr]
                elif held:
                    held.clear()
            elif held:
                held.clear()
        if not (full or add_ids or upd_ids or dels):
            return None  # nothing changed: nothing sent
        self.encoded += 1
        adds = self._adds  # an avatar's add record is the same for every viewer this tick: built once
        recs = [adds[i] if i in adds else adds.setdefault(i, self.record(avatars[i])) for i in add_ids]
        return encode_snapshot(tick, full, recs, self.pack_upd(upd_ids), list(dels))


__all__ = ["Sync", "ViewState"]
