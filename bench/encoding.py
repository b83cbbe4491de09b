"""Snapshot encoding choices, measured: bytes on the wire and server CPU per frame.

Compares, for a delta of K moving avatars and a full snapshot of K avatars:
  json-text      socket.io default parser, positions as JSON arrays (one text frame)
  binary-attach  default parser, msgpack map with packed 9-byte upd records (placeholder text
                 frame + binary frame) -- what yakuba sends
  yakuba-fastpath the same frames built by realtime/transport.py (the placeholder packet once)
  msgpack-parser python-socketio's msgpack serializer (one binary frame; clients need
                 socket.io-msgpack-parser)
"""

from __future__ import annotations

import json
import random
import time

import numpy as np
from engineio import packet as eio_packet
from socketio import msgpack_packet, packet as sio_packet

from yakuba.server.protocol import UPD_DTYPE, encode_snapshot
from yakuba.server.realtime.transport import snap_packets


def frames_json(k, rows, adds):
    return [sio_packet.Packet(sio_packet.EVENT, namespace="/", data=["snap", {"t": 1, "f": 0, "add": adds, "upd": rows, "del": []}]).encode()]


def frames_binary(k, rows, adds):
    arr = np.array([tuple(r) for r in rows], dtype=UPD_DTYPE).tobytes()
    return sio_packet.Packet(sio_packet.EVENT, namespace="/", data=["snap", encode_snapshot(1, False, adds, arr, [])]).encode()


def frames_fastpath(k, rows, adds):
    # What the server really does: the same binary-attach frames, built by hand (transport.py).
    arr = np.array([tuple(r) for r in rows], dtype=UPD_DTYPE).tobytes()
    return [p.data for p in snap_packets(encode_snapshot(1, False, adds, arr, []))]


def frames_msgpack(k, rows, adds):
    return [msgpack_packet.MsgPackPacket(sio_packet.EVENT, namespace="/", data=["snap", {"t": 1, "f": 0, "add": adds, "upd": rows, "del": []}]).encode()]


def wire_bytes(frames) -> int:
    # engine.io over websocket: a text frame gets a 1-byte type prefix; each frame ~2-4 bytes of
    # websocket header (server->client frames are unmasked).
    return sum(len(f) + (1 if isinstance(f, str) else 0) + 2 for f in frames)


def main() -> None:
    rnd = random.Random(1)
    for k, label in ((10, "delta"), (50, "delta"), (50, "full")):
        rows = [[rnd.randint(1, 5000), rnd.randint(0, 6400), rnd.randint(0, 4000), rnd.randint(0, 255)] for _ in range(k)]
        adds = [[r[0], "来庁者%03d" % i, "round", "#2b6cb0", "resident", r[1], r[2], r[3], "entrance"] for i, r in enumerate(rows)] if label == "full" else []
        upd = [] if label == "full" else rows
        for name, fn in (("json-text", frames_json), ("binary-attach", frames_binary), ("yakuba-fastpath", frames_fastpath), ("msgpack-parser", frames_msgpack)):
            n = 3000
            t0 = time.perf_counter()
            for _ in range(n):
                frames = fn(k, upd, adds)
                if not isinstance(frames, list):
                    frames = [frames]
                [eio_packet.Packet(eio_packet.MESSAGE, f).encode() for f in frames]
            us = (time.perf_counter() - t0) / n * 1e6
            print(json.dumps({"bench": "encoding", "snapshot": label, "avatars": k, "encoding": name, "frames": len(frames), "wire_bytes": wire_bytes(frames), "encode_us": round(us, 1)}))


if __name__ == "__main__":
    main()
