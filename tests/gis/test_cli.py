from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import REPO, SAMPLES

CLI = [sys.executable, "-m", "yakuba.server.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_import_json_summary(tmp_path: Path) -> None:
    files = sorted((SAMPLES / "udx" / "bldg").glob("*.gml"))
    r = run("import", *map(str, files), "--name", "Samples", "--lod", "2", "--data", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["dataset"] == "samples"
    assert out["buildings"] == 63 + 13 + 3 + 1 + 48 and out["building_parts"] == 2
    assert isinstance(out["warnings"], dict) and out["seconds"] > 0
    assert (tmp_path / "datasets" / "samples" / "tileset.json").is_file()


def test_failed_file_names_file_line_reason_without_traceback(tmp_path: Path) -> None:
    good = SAMPLES / "udx" / "bldg" / "53392546_bldg_6697_2_op.gml"
    bad = tmp_path / "broken.gml"
    bad.write_text(good.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    r = run("import", str(good), str(bad), "--name", "x", "--data", str(tmp_path / "d"))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert f"{bad}:" in r.stderr and "malformed XML" in r.stderr
    assert not (tmp_path / "d" / "datasets" / "x").exists()


def test_import_defaults_is_idempotent(tmp_path: Path) -> None:
    r1 = run("import-defaults", "--data", str(tmp_path))
    assert r1.returncode == 0 and "63 buildings" in r1.stdout
    meta = tmp_path / "datasets" / "osaka-sumiyoshi" / "dataset.json"
    before = meta.stat().st_mtime_ns
    r2 = run("import-defaults", "--data", str(tmp_path))
    assert r2.returncode == 0 and "already imported" in r2.stdout
    assert meta.stat().st_mtime_ns == before
    assert (tmp_path / "datasets" / "osaka-sumiyoshi" / "buildings.npz").is_file()
