"""gis.sink.packed: the import's temporary container for dicts of arrays."""

from __future__ import annotations

import numpy as np
import pytest

from yakuba.gis.sink.packed import pack, unpack


def test_round_trip_keeps_names_dtypes_shapes_and_values() -> None:
    arrays = {
        "pos": np.random.default_rng(1).random((7, 3)).astype(np.float32),
        "idx": np.arange(21, dtype=np.uint32),
        "ids": np.arange(-3, 4, dtype=np.int64),
        "flags": np.array([True, False, True]),
        "gml_id": np.array(["bldg_1", "建物_二", ""], dtype=np.str_),
        "empty": np.zeros((0, 2)),
        "empty_str": np.array([], dtype=np.str_),
        "scalar": np.array(2.5),
        "strided": np.arange(12.0).reshape(3, 4)[:, ::2],  # not contiguous: packed as a copy
        "height": np.array([3.0, np.nan, -1.0]),
    }
    out = unpack(pack(arrays))
    assert list(out) == list(arrays)
    for name, a in arrays.items():
        assert out[name].dtype == a.dtype and out[name].shape == a.shape, name
        assert np.array_equal(out[name], a, equal_nan=a.dtype.kind == "f"), name
    assert unpack(pack({})) == {}


def test_arrays_are_aligned_views_of_the_blob() -> None:
    blob = pack({"a": np.arange(3, dtype=np.uint8), "b": np.arange(5, dtype=np.float64)})
    out = unpack(blob)
    assert out["b"].ctypes.data % 8 == (np.frombuffer(blob, np.uint8).ctypes.data % 8)
    assert not out["b"].flags.writeable  # a view of the bytes, not a copy


def test_object_arrays_and_foreign_bytes_are_refused() -> None:
    with pytest.raises(TypeError, match="object"):
        pack({"o": np.array([1, "a"], dtype=object)})
    with pytest.raises(ValueError, match="packed"):
        unpack(b"\x80\x05garbage")


def test_read_at_returns_the_range_and_refuses_a_short_read(tmp_path) -> None:
    from yakuba.gis.sink.packed import read_at

    p = tmp_path / "blobs"
    a, b = pack({"x": np.arange(3)}), pack({"y": np.array(["z"])})
    p.write_bytes(a + b)
    assert unpack(read_at(str(p), len(a), len(b)))["y"].tolist() == ["z"]
    with pytest.raises(OSError, match="short read"):
        read_at(str(p), len(a), len(b) + 1)
