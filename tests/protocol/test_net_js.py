"""The browser's Net decodes frames the server encodes, with the generated layout, and takes
its interpolation period from the join ack's tick_hz (node runs clients/web/src/net.js)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from yakuba.server.protocol import UPD, encode_snapshot, quantise

WEB = Path(__file__).resolve().parents[2] / "clients" / "web"

SCRIPT = r"""
import { Net } from './src/net.js';
const [full, delta] = JSON.parse(process.argv[1]).map((h) => Buffer.from(h, 'hex'));
const n = new Net({});
const before = n.tickMs;
n.onSnap(new Uint8Array(full));
const afterFull = [...n.avatars.values()].map((a) => ({ id: a.id, name: a.name, zone: a.zone, role: a.role, s: a.samples.at(-1) }));
n.onSnap(new Uint8Array(delta));
const afterDelta = [...n.avatars.values()].map((a) => ({ id: a.id, s: a.samples.at(-1) }));
n.setTickHz(20);
const r = { before, after: n.tickMs, delay: n.interpDelay, afterFull, afterDelta };
n.onRoom({ room: 'hall', type: 'hall', version: 3, state: { presenter: 4, view: { slide: 2 } } });
n.onRoomPatch({ room: 'hall', version: 3, patch: { presenter: 9 } });  // not newer: ignored
const stale = JSON.stringify(n.rooms.get('hall'));
// versions jump (every change counts, one patch per period); null is a value, not a removal
n.onRoomPatch({ room: 'hall', version: 6, patch: { presenter: null, view: null } });
r.rooms = [JSON.parse(stale), n.rooms.get('hall')];
console.log(JSON.stringify(r));
"""


def test_net_decodes_server_frames_and_follows_tick_hz():
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "@msgpack").is_dir():
        pytest.skip("node or the web client's node_modules missing (make web)")
    x, y, h = quantise(12.34, 5.5, 90)
    add = [[7, "来庁者007", "tall", "#2b6cb0", "staff", x, y, h, "hall"], [9, "b", "round", "#000000", "resident", 0, 0, 0, "hall"]]
    full = encode_snapshot(1, True, add, b"", [])
    delta = encode_snapshot(2, False, [], UPD.pack(7, 2000, 3000, 192), [9])
    r = subprocess.run([node, "--input-type=module", "-e", SCRIPT, json.dumps([full.hex(), delta.hex()])],
                       cwd=WEB, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["before"] == 100  # DEFAULT_TICK_HZ until an ack says otherwise (not 15 Hz)
    assert out["after"] == 50 and out["delay"] == 100  # 20 Hz: 1.5 ticks = 75 ms, floor 100 ms
    first = {a["id"]: a for a in out["afterFull"]}
    assert first[7]["name"] == "来庁者007" and first[7]["zone"] == "hall" and first[7]["role"] == "staff"
    assert (first[7]["s"]["x"], first[7]["s"]["y"], first[7]["s"]["h"]) == (12.34, 5.5, 90)
    (only,) = out["afterDelta"]  # 9 was deleted
    assert only["id"] == 7 and (only["s"]["x"], only["s"]["y"], only["s"]["h"]) == (20, 30, 270)
    # The rule server/rooms/base.py needs (see RoomPatchOut): any newer patch applies.
    stale, patched = out["rooms"]
    assert stale == {"type": "hall", "version": 3, "state": {"presenter": 4, "view": {"slide": 2}}}
    assert patched == {"type": "hall", "version": 6, "state": {"presenter": None, "view": None}}
