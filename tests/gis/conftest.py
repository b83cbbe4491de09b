"""Fixtures for the GIS tests: shared PLATEAU samples (skip when absent), shipped samples,
the Khronos glTF validator (npm, test-local), and the 3D Tiles 1.1 JSON schema validator."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SHARED_PLATEAU = SHARED / "data" / "plateau"
SAMPLES = REPO / "assets" / "samples" / "plateau"
NODE_DIR = Path(__file__).resolve().parent / "node"
SCHEMA_DIR = REPO / "gis" / "schemas" / "3dtiles"


def shared_counts() -> dict[str, tuple[int, int]]:
    """file -> (buildings, parts) from the shared SOURCES.md table ("13 (+2 parts)")."""
    md = (SHARED_PLATEAU / "SOURCES.md").read_text(encoding="utf-8")
    out = {}
    for m in re.finditer(r"^\| `([^`]+\.gml)` \| [\d,]+ \| (\d+)(?: \(\+(\d+) parts\))? \|", md, re.M):
        out[m.group(1)] = (int(m.group(2)), int(m.group(3) or 0))
    return out


def read_glb(path: Path) -> tuple[dict, bytes]:
    b = path.read_bytes()
    magic, version, total = struct.unpack_from("<4sII", b)
    assert magic == b"glTF" and version == 2 and total == len(b)
    jlen, _ = struct.unpack_from("<I4s", b, 12)
    js = json.loads(b[20 : 20 + jlen])
    blen, btype = struct.unpack_from("<I4s", b, 20 + jlen)
    assert btype == b"BIN\0"
    return js, b[28 + jlen : 28 + jlen + blen]


def accessor(js: dict, blob: bytes, i: int) -> np.ndarray:
    a = js["accessors"][i]
    v = js["bufferViews"][a["bufferView"]]
    if a["componentType"] == 5120:  # int8 (quantised normals), rows padded to byteStride
        n = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[a["type"]]
        stride = v.get("byteStride", n)
        raw = np.frombuffer(blob, np.int8, count=a["count"] * stride, offset=v["byteOffset"]).reshape(-1, stride)[:, :n]
        return np.maximum(raw / 127.0, -1.0) if a.get("normalized") else raw
    dt = {5126: np.float32, 5125: np.uint32}[a["componentType"]]
    n = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[a["type"]]
    return np.frombuffer(blob, dtype=dt, count=a["count"] * n, offset=v["byteOffset"]).reshape(-1, n) if n > 1 else np.frombuffer(
        blob, dtype=dt, count=a["count"], offset=v["byteOffset"]
    )


def walk_tiles(ts: dict):
    """Every tile of a tileset.json, parents before children."""
    stack = [ts["root"]]
    while stack:
        t = stack.pop()
        yield t
        stack.extend(reversed(t.get("children", [])))


def fine_tiles(ts: dict) -> list[dict]:
    """The leaves with content: full detail, one feature per building (tiles/t*.glb)."""
    return [t for t in walk_tiles(ts) if not t.get("children") and "content" in t]


def tile_ints(path: Path, name: str) -> list[int]:
    """A UINT32 property of a tile's EXT_structural_metadata table."""
    js, blob = read_glb(path)
    table = js["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
    view = js["bufferViews"][table["properties"][name]["values"]]
    return np.frombuffer(blob, np.uint32, count=table["count"], offset=view["byteOffset"]).tolist()


def tile_strings(path: Path, name: str) -> list[str]:
    """A string property of a tile's EXT_structural_metadata table, row by row."""
    js, blob = read_glb(path)
    table = js["extensions"]["EXT_structural_metadata"]["propertyTables"][0]
    prop = table["properties"][name]
    values, offsets = js["bufferViews"][prop["values"]], js["bufferViews"][prop["stringOffsets"]]
    o = np.frombuffer(blob, np.uint32, count=table["count"] + 1, offset=offsets["byteOffset"]).tolist()
    data = blob[values["byteOffset"] : values["byteOffset"] + values["byteLength"]]
    return [data[o[i] : o[i + 1]].decode("utf-8") for i in range(table["count"])]


@pytest.fixture(scope="session")
def shared_plateau() -> Path:
    if not (SHARED_PLATEAU / "udx" / "bldg").is_dir():
        pytest.skip(f"shared PLATEAU samples not present at {SHARED_PLATEAU}")
    return SHARED_PLATEAU


@pytest.fixture(scope="session")
def gltf_validator():
    """Callable(paths) -> list of per-file reports from the Khronos validator."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not available: cannot run the Khronos glTF validator")
    if not (NODE_DIR / "node_modules" / "gltf-validator").is_dir():
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, text=True, timeout=240)
        if r.returncode != 0:
            pytest.skip(f"npm ci for gltf-validator failed: {r.stderr[-500:]}")

    def run(paths: list[Path]) -> list[dict]:
        out = []
        for i in range(0, len(paths), 200):
            r = subprocess.run(
                ["node", str(NODE_DIR / "validate_gltf.mjs"), *map(str, paths[i : i + 200])],
                capture_output=True, text=True, timeout=300,
            )
            assert r.returncode == 0, r.stderr
            out.extend(json.loads(line) for line in r.stdout.splitlines() if line.strip())
        return out

    return run


@pytest.fixture(scope="session")
def tileset_validator():
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = []
    for p in SCHEMA_DIR.rglob("*.schema.json"):
        doc = json.loads(p.read_text(encoding="utf-8"))
        res = Resource.from_contents(doc, default_specification=__import__("referencing.jsonschema").jsonschema.DRAFT202012)
        # $refs are relative file names ("tile.schema.json", "common/rootProperty.schema.json").
        resources.append((p.relative_to(SCHEMA_DIR).as_posix(), res))
        if "$id" in doc:
            resources.append((doc["$id"], res))
    registry = Registry().with_resources(resources)
    root = json.loads((SCHEMA_DIR / "tileset.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(root, registry=registry)
