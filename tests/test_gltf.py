"""world/gltf.py: the city hall GLB generated from the floor plan."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import trimesh

from yakuba.world.gltf import cityhall_glb, cityhall_meshes

PLAN = json.loads((Path(__file__).resolve().parents[1] / "assets" / "cityhall" / "plan.json").read_text("utf-8"))


def _gltf_json(data: bytes) -> dict:
    assert data[:4] == b"glTF"
    assert struct.unpack("<I", data[4:8])[0] == 2
    n, kind = struct.unpack("<II", data[12:20])
    assert kind == 0x4E4F534A  # "JSON"
    return json.loads(data[20:20 + n])


def test_glb_is_valid_and_has_few_meshes():
    data = cityhall_glb(PLAN)
    doc = _gltf_json(data)
    names = {m["name"] for m in doc["meshes"]}
    assert {"floors", "walls", "furniture", "frames"} <= names
    assert len(doc["meshes"]) <= 6  # merged by material: a handful of draw calls
    for mesh in doc["meshes"]:
        assert len(mesh["primitives"]) == 1
        assert "COLOR_0" in mesh["primitives"][0]["attributes"]
    assert len(data) < 200_000


def test_deterministic():
    assert cityhall_glb(PLAN) == cityhall_glb(PLAN)


def test_geometry_matches_plan_axes_and_bounds():
    scene = trimesh.load(io.BytesIO(cityhall_glb(PLAN)), file_type="glb")
    walls = scene.geometry["walls"]
    lo, hi = walls.bounds
    x0, y0, x1, y1 = PLAN["bounds"]
    t = PLAN["wall_thickness"] / 2
    # plan (x, y) -> glTF (x, h, -y)
    assert abs(lo[0] - (x0 - t)) < 1e-3 and abs(hi[0] - (x1 + t)) < 1e-3
    assert abs(hi[2] - (-y0 + t)) < 1e-3 and abs(lo[2] - (-y1 - t)) < 1e-3
    assert abs(hi[1] - PLAN["wall_height"]) < 1e-3 and abs(lo[1]) < 1e-3


def test_floor_colour_per_zone_kind_and_furniture_heights():
    meshes = cityhall_meshes(PLAN)
    colours = {tuple(c[:3]) for c in meshes["floors"].visual.vertex_colors}
    kinds = {z["kind"] for z in PLAN["zones"]}
    assert len(colours) >= len(kinds)  # each kind distinguishable
    top = meshes["furniture"].bounds[1][1]
    assert abs(top - max(f["height"] for f in PLAN["furniture"])) < 1e-6


def test_door_gaps_stay_open():
    """A point in the middle of every door, at walking height, is not inside any wall box."""
    boxes = [b.bounds for b in cityhall_meshes(PLAN)["walls"].split(only_watertight=False)]
    assert len(boxes) >= len(PLAN["walls"])

    def inside(p):
        return any(all(lo[i] - 1e-9 <= p[i] <= hi[i] + 1e-9 for i in range(3)) for lo, hi in boxes)

    for d in PLAN["doors"]:
        mx = (d["a"][0] + d["b"][0]) / 2
        my = (d["a"][1] + d["b"][1]) / 2
        assert not inside([mx, 1.0, -my]), d["id"]
        assert inside([mx, 2.8, -my]), d["id"]  # lintel above the door
    (ax, ay), (bx, by) = PLAN["walls"][0]
    assert inside([(ax + bx) / 2, 1.0, -(ay + by) / 2])
