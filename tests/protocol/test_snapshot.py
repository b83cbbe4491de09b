"""The `snap` codec round-trips and its layout data agrees with the struct and numpy forms."""

from __future__ import annotations

import struct

import msgpack
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from yakuba.server.protocol import UPD, UPD_DTYPE, SnapshotOut, decode_snapshot, encode_snapshot, quantise
from yakuba.server.protocol.snapshot import ADD_FIELDS, KEYS, upd_offsets

u16 = st.integers(0, 65535)
records = st.lists(st.tuples(st.integers(0, 2**32 - 1), u16, u16, st.integers(0, 255)), max_size=40)


@given(tick=st.integers(0, 2**40), full=st.booleans(), upd=records, dels=st.lists(st.integers(0, 2**32 - 1), max_size=10))
def test_round_trip(tick, full, upd, dels):
    add = [[5, "来庁者005", "round", "#2b6cb0", "resident", 120, 340, 64, "entrance", False]]
    frame = encode_snapshot(tick, full, add, b"".join(UPD.pack(*r) for r in upd), dels)
    m = decode_snapshot(frame)
    assert m == {"t": tick, "f": int(full), "add": add, "upd": upd, "del": dels}
    raw = msgpack.unpackb(frame, raw=False)
    assert set(raw) == set(KEYS.values())
    assert SnapshotOut.model_validate(raw).dels == dels  # the schema matches the real frame
    # numpy view of the same bytes (the hub and bench read records this way)
    arr = np.frombuffer(raw["upd"], dtype=UPD_DTYPE)
    assert arr.tolist() == upd


def test_layout_is_consistent():
    assert UPD.size == 9 == np.dtype(UPD_DTYPE).itemsize
    offsets = upd_offsets()
    assert offsets == [("id", "u32", 0), ("x_cm", "u16", 4), ("y_cm", "u16", 6), ("heading_u8", "u8", 8)]
    rec = UPD.pack(0xA1B2C3D4, 513, 1027, 200)
    for name, typ, off in offsets:
        fmt = {"u32": "<I", "u16": "<H", "u8": "<B"}[typ]
        assert struct.unpack_from(fmt, rec, off)[0] == {"id": 0xA1B2C3D4, "x_cm": 513, "y_cm": 1027, "heading_u8": 200}[name]
    assert ADD_FIELDS[0] == "id" and len(ADD_FIELDS) == 10 and ADD_FIELDS[-1] == "away"


def test_quantise_clamps_and_wraps():
    assert quantise(1.234, 5.0, 90) == (123, 500, 64)
    assert quantise(-3, 1000, 360) == (0, 65535, 0)
    assert quantise(0, 0, 359)[2] == 255
