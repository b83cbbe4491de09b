"""The coarse levels above the fine tiles (lod_tree, pure): where they pay and where not."""

from __future__ import annotations

import numpy as np

from yakuba.gis.sink.lod_tree import MIN_FINE_BYTES_BELOW, Boxes, Node, build_tree, walk


def _city(tile_bytes: int) -> tuple[dict, Boxes, np.ndarray]:
    """Four fine tiles (level 0, cells 0..1 x 0..1) of 10 buildings each; building k is k m tall."""
    rng = np.random.default_rng(0)
    n = 40
    cell = np.array([[i // 20, (i // 10) % 2] for i in range(n)], np.int64)
    boxes = Boxes(np.arange(n), cell[:, 0] * 250.0 + rng.uniform(0, 250, n), cell[:, 1] * 250.0 + rng.uniform(0, 250, n),
                  np.zeros(n), np.full(n, 0.5), np.full(n, 0.5), np.zeros(n), np.arange(1, n + 1, dtype=np.float64))
    fine = {(0, x, y): {"uri": f"tiles/t{x}{y}.glb", "lo": [x * 250.0, y * 250.0, 0.0], "hi": [x * 250.0 + 250, y * 250.0 + 250, 40.0],
                        "bytes": tile_bytes} for x in (0, 1) for y in (0, 1)}
    return fine, boxes, cell


def test_a_small_town_gets_no_coarse_tiles() -> None:
    fine, boxes, cell = _city(MIN_FINE_BYTES_BELOW // 8)
    root = build_tree(fine, boxes, cell)
    assert [n for n in walk(root) if n.content is not None] == []
    # Nothing drawn from afar: the root's error is the biggest building, so the viewer loads the
    # fine tiles as soon as that building would be seen.
    assert root.error == 40.0 and len(root.children) == 4 and root.fine_bytes == 4 * (MIN_FINE_BYTES_BELOW // 8)


def test_heavy_tiles_get_a_coarse_level_of_the_biggest_buildings() -> None:
    fine, boxes, cell = _city(MIN_FINE_BYTES_BELOW // 2)
    root = build_tree(fine, boxes, cell)
    assert isinstance(root, Node) and root.content is not None
    assert sorted(root.content.row.tolist()) == list(range(30, 40))  # the biggest quarter
    assert root.error == 30.0  # the biggest building it leaves out
