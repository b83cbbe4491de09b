"""The city hall as one draw-call-friendly GLB, generated from ``assets/cityhall/plan.json``.

``cityhall_glb(plan)`` is a pure function: same plan in, same bytes out. The server serves the
result at ``GET /assets/cityhall.glb``; the browser client loads it once.

Coordinates: glTF is Y-up, so plan ``(x, y)`` in metres maps to ``(x, height, -y)``: plan north
is glTF -Z, plan east is +X. The GLB holds a handful of meshes, each merged from many boxes and
coloured per vertex so that one material covers a whole mesh:

- ``floors``   every zone's floor slab, coloured by zone kind, plus the plaza outside the entrance
- ``walls``    every wall segment as a box (thickness and height from the plan), with lintels
               over doorways so openings read as doors
- ``frames``   door frames (posts + head) and the entrance canopy with its pillars
- ``furniture`` counters, desks, tables, chairs, partitions, the stage (walkable, still drawn)

Signage text is *not* baked in: the client draws it from ``plan["signs"]`` in the chosen
language.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import trimesh

# Floor colours per zone kind (sRGB, 0-255). Soft, warm public-building tones.
FLOOR_COLOURS: dict[str, tuple[int, int, int]] = {
    "entrance": (214, 206, 190),
    "infodesk": (196, 214, 226),
    "corridor": (222, 218, 208),
    "booth": (206, 226, 200),
    "staffroom": (200, 200, 206),
    "hall": (226, 204, 176),
    "salon": (214, 202, 228),
}
DEFAULT_FLOOR = (210, 210, 210)
PLAZA = (168, 172, 168)
WALL = (240, 236, 228)
LINTEL = (228, 222, 212)
FRAME = (120, 92, 64)
CANOPY = (92, 104, 120)
FURNITURE_COLOURS: dict[str, tuple[int, int, int]] = {
    "counter": (150, 110, 76),
    "desk": (170, 128, 86),
    "table": (170, 128, 86),
    "model_table": (120, 140, 150),
    "sofa": (90, 120, 170),
    "chairs": (70, 96, 150),
    "partition": (180, 186, 192),
    "stage": (150, 96, 70),
}
DEFAULT_FURNITURE = (160, 150, 140)

FLOOR_THICKNESS = 0.1
DOOR_HEIGHT = 2.3
FRAME_WIDTH = 0.08


def _box(x0: float, y0: float, x1: float, y1: float, z0: float, z1: float,
         colour: tuple[int, int, int]) -> trimesh.Trimesh:
    """An axis-aligned box between plan corners (x0,y0)-(x1,y1) and heights z0..z1, in glTF axes."""
    xa, xb = sorted((float(x0), float(x1)))
    ya, yb = sorted((float(y0), float(y1)))
    za, zb = sorted((float(z0), float(z1)))
    ext = [max(xb - xa, 1e-3), max(zb - za, 1e-3), max(yb - ya, 1e-3)]
    centre = [(xa + xb) / 2, (za + zb) / 2, -(ya + yb) / 2]
    m = trimesh.creation.box(extents=ext, transform=trimesh.transformations.translation_matrix(centre))
    m.visual = trimesh.visual.ColorVisuals(
        mesh=m, vertex_colors=np.tile(np.array([*colour, 255], dtype=np.uint8), (len(m.vertices), 1)))
    return m


def _wall_box(a, b, thickness: float, z0: float, z1: float, colour) -> trimesh.Trimesh:
    """A wall segment a->b (plan) as a box; works for any direction."""
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    length = math.hypot(dx, dy)
    if abs(dx) < 1e-9 or abs(dy) < 1e-9:  # axis-aligned: extend by half a thickness at the ends
        h = thickness / 2
        return _box(min(ax, bx) - h, min(ay, by) - h, max(ax, bx) + h, max(ay, by) + h, z0, z1, colour)
    m = trimesh.creation.box(extents=[length + thickness, z1 - z0, thickness])
    angle = math.atan2(dy, dx)  # plan angle; glTF rotation about +Y of the same angle (since z = -y)
    m.apply_transform(trimesh.transformations.rotation_matrix(angle, [0, 1, 0]))
    m.apply_translation([(ax + bx) / 2, (z0 + z1) / 2, -(ay + by) / 2])
    m.visual = trimesh.visual.ColorVisuals(
        mesh=m, vertex_colors=np.tile(np.array([*colour, 255], dtype=np.uint8), (len(m.vertices), 1)))
    return m


def _doorways(walls: list, doors: list) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Openings: every door of the plan, plus gaps between collinear axis-aligned wall segments
    (0.6 m to 6 m wide), which is how the plan draws the entrance and the hall's doorways."""
    out: list[tuple[tuple[float, float], tuple[float, float]]] = []
    seen: set[tuple] = set()

    def add(a, b):
        key = tuple(sorted([tuple(round(v, 3) for v in a), tuple(round(v, 3) for v in b)]))
        if key not in seen:
            seen.add(key)
            out.append((tuple(a), tuple(b)))

    for d in doors:
        add(d["a"], d["b"])
    segs = [tuple(map(tuple, w)) for w in walls]
    for i, (a1, b1) in enumerate(segs):
        for j, (a2, b2) in enumerate(segs):
            if i == j:
                continue
            for axis in (0, 1):  # 0: horizontal line (same y), 1: vertical (same x)
                other = 1 - axis
                if not (abs(a1[other] - b1[other]) < 1e-6 and abs(a2[other] - b2[other]) < 1e-6
                        and abs(a1[other] - a2[other]) < 1e-6):
                    continue
                end1 = max(a1[axis], b1[axis])
                start2 = min(a2[axis], b2[axis])
                gap = start2 - end1
                if 0.6 <= gap <= 6.0:
                    # nothing else on this line may cover the gap
                    covered = any(
                        abs(s[0][other] - s[1][other]) < 1e-6 and abs(s[0][other] - a1[other]) < 1e-6
                        and min(s[0][axis], s[1][axis]) < start2 - 1e-6
                        and max(s[0][axis], s[1][axis]) > end1 + 1e-6
                        for s in segs)
                    if covered:
                        continue
                    p, q = [0.0, 0.0], [0.0, 0.0]
                    p[axis], q[axis] = end1, start2
                    p[other] = q[other] = a1[other]
                    add(p, q)
    return out


def _concat(parts: Iterable[trimesh.Trimesh]) -> trimesh.Trimesh:
    parts = list(parts)
    mesh = trimesh.util.concatenate(parts)
    return mesh


def cityhall_meshes(plan: dict) -> dict[str, trimesh.Trimesh]:
    """The named, merged meshes of the city hall (see module docstring)."""
    height = float(plan.get("wall_height", 3.2))
    thick = float(plan.get("wall_thickness", 0.2))
    bx0, by0, bx1, by1 = plan.get("bounds", [0, 0, 64, 40])

    floors = [_box(bx0 - 12, by0 - 14, bx1 + 12, by0, -FLOOR_THICKNESS - 0.02, -0.02, PLAZA)]
    for z in plan["zones"]:
        xs = [p[0] for p in z["polygon"]]
        ys = [p[1] for p in z["polygon"]]
        colour = FLOOR_COLOURS.get(z.get("kind", ""), DEFAULT_FLOOR)
        floors.append(_box(min(xs), min(ys), max(xs), max(ys), -FLOOR_THICKNESS, 0.0, colour))

    walls = [_wall_box(w[0], w[1], thick, 0.0, height, WALL) for w in plan["walls"]]

    frames = []
    for a, b in _doorways(plan["walls"], plan.get("doors", [])):
        (ax, ay), (bx, by) = a, b
        horizontal = abs(ay - by) < 1e-6
        # lintel: wall material above the opening
        walls.append(_wall_box(a, b, thick, DOOR_HEIGHT, height, LINTEL))
        fw = FRAME_WIDTH
        ft = thick + 0.06
        if horizontal:
            x0, x1 = sorted((ax, bx))
            frames.append(_box(x0, ay - ft / 2, x0 + fw, ay + ft / 2, 0, DOOR_HEIGHT, FRAME))
            frames.append(_box(x1 - fw, ay - ft / 2, x1, ay + ft / 2, 0, DOOR_HEIGHT, FRAME))
            frames.append(_box(x0, ay - ft / 2, x1, ay + ft / 2, DOOR_HEIGHT - fw, DOOR_HEIGHT, FRAME))
        else:
            y0, y1 = sorted((ay, by))
            frames.append(_box(ax - ft / 2, y0, ax + ft / 2, y0 + fw, 0, DOOR_HEIGHT, FRAME))
            frames.append(_box(ax - ft / 2, y1 - fw, ax + ft / 2, y1, 0, DOOR_HEIGHT, FRAME))
            frames.append(_box(ax - ft / 2, y0, ax + ft / 2, y1, DOOR_HEIGHT - fw, DOOR_HEIGHT, FRAME))
        # the main entrance: an opening in the building's south outer wall gets a canopy
        if horizontal and abs(ay - by0) < 1e-6:
            x0, x1 = sorted((ax, bx))
            frames.append(_box(x0 - 1.5, by0 - 3.5, x1 + 1.5, by0, height - 0.35, height - 0.1, CANOPY))
            for px in (x0 - 1.2, x1 + 1.0):
                frames.append(_box(px, by0 - 3.3, px + 0.2, by0 - 3.1, 0, height - 0.35, CANOPY))
            # a door mat just inside
            floors.append(_box(x0, by0, x1, by0 + 1.6, 0.0, 0.012, (110, 90, 80)))

    furniture = []
    for f in plan.get("furniture", []):
        x0, y0, x1, y1 = f["box"]
        colour = FURNITURE_COLOURS.get(f.get("kind", ""), DEFAULT_FURNITURE)
        furniture.append(_box(x0, y0, x1, y1, 0.0, float(f.get("height", 0.8)), colour))

    out = {"floors": _concat(floors), "walls": _concat(walls), "furniture": _concat(furniture)}
    if frames:
        out["frames"] = _concat(frames)
    return out


def cityhall_glb(plan: dict) -> bytes:
    """The city hall as GLB bytes: a few merged meshes with per-vertex colours (see above)."""
    scene = trimesh.Scene()
    for name, mesh in cityhall_meshes(plan).items():
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    return scene.export(file_type="glb")


if __name__ == "__main__":  # python -m yakuba.world.gltf plan.json out.glb
    import json
    import sys

    with open(sys.argv[1], encoding="utf-8") as fh:
        data = cityhall_glb(json.load(fh))
    with open(sys.argv[2], "wb") as fh:
        fh.write(data)
