"""The generated browser module and JSON Schema are up to date, deterministic, and say what the
Python side says (the JS module is loaded by node, not pattern-matched)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from yakuba.server.cli import main as yakuba_main
from yakuba.server.protocol import CHAT_MAX, CHAT_RADIUS_M, LANGS, MAX_FRAME_BYTES, MESSAGES, NAME_MAX, PROTOCOL_VERSION, STYLES, UPD, ErrorCode
from yakuba.server.protocol import export
from yakuba.server.protocol.events import EVENTS
from yakuba.server.protocol.snapshot import ADD_FIELDS, KEYS

ROOT = Path(__file__).resolve().parents[2]


def test_committed_files_are_up_to_date():
    # Regenerated in memory and compared byte for byte with the files in the tree.
    for rel, text in export.outputs().items():
        assert (ROOT / rel).read_text(encoding="utf-8") == text, f"{rel} is stale: run `yakuba protocol export`"


def test_output_is_deterministic():
    assert export.render_js() == export.render_js()
    assert export.render_schema() == export.render_schema()
    schema = json.loads(export.render_schema())
    assert export.render_schema() == json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_check_names_a_stale_file_and_export_repairs_it(tmp_path, capsys):
    # Into an empty tree (so this test is about the command, not about the committed files).
    assert yakuba_main(["protocol", "export", "--root", str(tmp_path)]) == 0
    assert "wrote clients/web/src/protocol.gen.js" in capsys.readouterr().out
    assert yakuba_main(["protocol", "export", "--check", "--root", str(tmp_path)]) == 0
    js = tmp_path / export.JS_PATH
    js.write_text(js.read_text().replace("CHAT_MAX\": 500", "CHAT_MAX\": 501"))
    (tmp_path / export.SCHEMA_PATH).unlink()
    assert yakuba_main(["protocol", "export", "--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "stale: clients/web/src/protocol.gen.js" in err and "stale: docs/protocol.schema.json" in err
    assert "yakuba protocol export" in err
    assert export.main(["export", "--root", str(tmp_path)]) == 0  # python -m yakuba.server.protocol.export
    assert export.stale(tmp_path) == []


def test_module_entry_point_runs(tmp_path):
    r = subprocess.run([sys.executable, "-m", "yakuba.server.protocol.export", "export", "--check",
                        "--root", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "stale: clients/web/src/protocol.gen.js" in r.stderr


def test_node_reads_the_module_as_python_says(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    src = tmp_path / "protocol.gen.mjs"
    src.write_text(export.render_js())
    r = subprocess.run([node, "--input-type=module", "-e",
                        f"import * as P from {json.dumps(src.as_uri())}; console.log(JSON.stringify(P))"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    P = json.loads(r.stdout)
    assert P["PROTOCOL_VERSION"] == PROTOCOL_VERSION
    assert P["DEFAULT_TICK_HZ"] == export.default_tick_hz() == 10
    assert P["LIMITS"] == {"NAME_MAX": NAME_MAX, "CHAT_MAX": CHAT_MAX, "CHAT_RADIUS_M": CHAT_RADIUS_M, "MAX_FRAME_BYTES": MAX_FRAME_BYTES,
                           "STYLES": list(STYLES), "LANGS": list(LANGS)}
    assert P["ERROR_CODES"] == {c.value: MESSAGES[c] for c in ErrorCode}
    assert set(P["EVENTS"]["toServer"]) == {e.name for e in EVENTS if e.direction == "in"}
    assert set(P["EVENTS"]["toClient"]) == {e.name for e in EVENTS if e.direction == "out"}
    snap = P["SNAPSHOT"]
    assert snap["keys"] == KEYS and snap["add"] == list(ADD_FIELDS)
    assert snap["upd"]["size"] == UPD.size
    # Decode one packed record with the exported offsets, as net.js does.
    rec = UPD.pack(123456, 4321, 999, 77)
    got = {f["name"]: int.from_bytes(rec[f["offset"]:f["offset"] + {"u32": 4, "u16": 2, "u8": 1}[f["type"]]], "little")
           for f in snap["upd"]["fields"]}
    assert got == {"id": 123456, "x_cm": 4321, "y_cm": 999, "heading_u8": 77}


def test_schema_describes_every_event_and_code():
    schema = export.build_schema()
    for e in EVENTS:
        entry = schema["events"][e.direction][e.name]
        assert entry["payload"]["$ref"].split("/")[-1] in schema["$defs"]
        for ref in entry.get("ack", {}).get("oneOf", []):
            assert ref["$ref"].split("/")[-1] in schema["$defs"]
    assert set(schema["errors"]) == {c.value for c in ErrorCode}
    ack = schema["$defs"]["JoinAck"]
    assert {"tick_hz", "principal", "protocol"} <= set(ack["properties"]) and "tick_hz" in ack["required"]
    assert schema["$defs"]["JoinIn"]["additionalProperties"] is False
    for name in ("LoginIn", "MeOut", "ErrorBody", "JobOut", "SimulationIn", "UploadParams"):
        assert name in schema["$defs"]


def test_doc_error_table_is_regenerated_in_place(tmp_path, capsys):
    doc = tmp_path / export.DOC_PATH
    doc.parent.mkdir(parents=True)
    page = (ROOT / export.DOC_PATH).read_text(encoding="utf-8")
    doc.write_text(page.replace("| `login_throttled` | 429 |", "| `login_throttled` | 400 |"), encoding="utf-8")
    export.write(tmp_path)
    assert yakuba_main(["protocol", "export", "--check", "--root", str(tmp_path)]) == 0
    assert doc.read_text(encoding="utf-8") == page  # only the table changed back; prose untouched
    # A code added to ErrorCode shows up in the table by the next export.
    table = export.render_error_table()
    assert all(f"| `{c.value}` |" in table for c in ErrorCode)
    doc.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="lacks the lines"):
        export.outputs(tmp_path)
