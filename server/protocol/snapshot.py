"""The binary movement snapshot (event ``snap``, one binary argument), its layout as data.

A frame is a msgpack map ``{t, f, add, upd, del}``:

* ``t``   tick number
* ``f``   1 = full (replace everything you know), 0 = delta
* ``add`` records ``[id, name, style, color, role, x_cm, y_cm, heading_u8, zone]`` (new in view,
  or whose name/appearance/zone changed: an upsert)
* ``upd`` bytes: 9-byte little-endian records ``<u32 id, u16 x_cm, u16 y_cm, u8 heading>``
* ``del`` ids that left the view

The layout below is the single description: ``UPD`` (struct) and ``UPD_DTYPE`` (numpy) are
built from ``UPD_FIELDS``, and the exporter writes the same tuples into the browser's module, so
the three cannot drift apart.
"""

from __future__ import annotations

import struct
from typing import Annotated, Any, Literal

import msgpack
from pydantic import BaseModel, ConfigDict, Field

# Map keys of a frame: meaning -> wire key.
KEYS = {"tick": "t", "full": "f", "add": "add", "upd": "upd", "del": "del"}
# Field order of one `add` record.
# away: disconnected, kept for its grace period (drawn idle, not counted as someone present)
ADD_FIELDS = ("id", "name", "style", "color", "role", "x_cm", "y_cm", "heading_u8", "zone", "away")
# One `upd` record: (name, type, struct code, numpy dtype). Little-endian, no padding.
UPD_FIELDS = (
    ("id", "u32", "I", "<u4"),
    ("x_cm", "u16", "H", "<u2"),
    ("y_cm", "u16", "H", "<u2"),
    ("heading_u8", "u8", "B", "u1"),
)
UPD = struct.Struct("<" + "".join(f[2] for f in UPD_FIELDS))
# numpy names stay short (id, x, y, h): bench/ and the hub index records by them.
UPD_DTYPE = [(n, f[3]) for n, f in zip(("id", "x", "y", "h"), UPD_FIELDS)]
POS_SCALE = 100  # positions are centimetres (the hall is < 655 m across)
HEADING_STEPS = 256  # 0..255 = 0..360 degrees clockwise from plan north (+y)


def upd_offsets() -> list[tuple[str, str, int]]:
    """(name, type, byte offset) of each `upd` field."""
    out, off = [], 0
    for name, typ, code, _ in UPD_FIELDS:
        out.append((name, typ, off))
        off += struct.calcsize("<" + code)
    return out


def quantise(x: float, y: float, heading: float) -> tuple[int, int, int]:
    """Centimetres and 256 heading steps, clamped to what the record can hold."""
    return (
        max(0, min(65535, int(round(x * POS_SCALE)))),
        max(0, min(65535, int(round(y * POS_SCALE)))),
        int(round(heading / 360 * HEADING_STEPS)) & 0xFF,
    )


def encode_snapshot(tick: int, full: bool, add: list[list[Any]], upd: bytes, dels: list[int]) -> bytes:
    # No per-receiver field: one encoded frame serves every client that shares a view.
    return msgpack.packb({"t": tick, "f": 1 if full else 0, "add": add, "upd": upd, "del": dels}, use_bin_type=True)


def decode_snapshot(frame: bytes) -> dict[str, Any]:
    """For tests and tools: the frame with `upd` expanded to (id, x_cm, y_cm, heading_u8) tuples."""
    m = msgpack.unpackb(frame, raw=False)
    m["upd"] = [UPD.unpack_from(m["upd"], i) for i in range(0, len(m["upd"]), UPD.size)]
    return m


AddRecord = tuple[int, str, str, str, str, int, int, int, str, bool]  # ADD_FIELDS, in order


class SnapshotOut(BaseModel):
    """The decoded `snap` frame, for the JSON Schema (the wire form is msgpack, see above)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    t: Annotated[int, Field(ge=0, description="tick number")]
    f: Literal[0, 1] = Field(description="1 = full view, 0 = delta")
    add: list[AddRecord] = Field(description="records: " + ", ".join(ADD_FIELDS))
    upd: bytes = Field(description=f"{UPD.size}-byte little-endian records <u32 id, u16 x_cm, u16 y_cm, u8 heading>")
    dels: list[int] = Field(alias="del", description="ids that left the view")


__all__ = [
    "ADD_FIELDS", "HEADING_STEPS", "KEYS", "POS_SCALE", "UPD", "UPD_DTYPE", "UPD_FIELDS", "SnapshotOut",
    "decode_snapshot", "encode_snapshot", "quantise", "upd_offsets",
]
