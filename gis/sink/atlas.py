"""LOD2 facade textures, the sink side: one atlas per tile, compressed to WebP, and the
vertices' texture coordinates moved into it (the rings' coordinates come from source.appearance).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("yakuba.gis.atlas")

MAX_IMAGE_PX = 1024  # a source image's longer side in the atlas (PLATEAU's are 512-4096 px)
MAX_ATLAS_PX = 4096  # what every WebGL device takes
PAD_PX = 2  # between images in the atlas: mipmaps do not bleed a neighbour's colours in
WEBP_QUALITY = 80


@dataclass
class Atlas:
    webp: bytes
    size: tuple[int, int]
    place: dict[str, tuple[float, float, float, float]]  # image path -> (u0, v0, du, dv) in the atlas


def build_atlas(paths: list[str]) -> Atlas | None:
    """One atlas of the images a tile uses: each scaled to at most MAX_IMAGE_PX, shelf-packed,
    the whole scaled down when it would pass MAX_ATLAS_PX. None when no image can be read."""
    from PIL import Image

    imgs = []
    for p in paths:
        try:
            im = Image.open(p)
            im.draft("RGB", (MAX_IMAGE_PX, MAX_IMAGE_PX))  # JPEG: decode at a reduced size
            im = im.convert("RGB")
        except (OSError, ValueError) as e:
            log.warning("texture unreadable path=%s error=%s", Path(p).name, e)
            continue
        im.thumbnail((MAX_IMAGE_PX, MAX_IMAGE_PX))
        imgs.append((p, im))
    if not imgs:
        return None
    # Shelves, tallest first, in a square-ish width.
    area = sum((im.width + 2 * PAD_PX) * (im.height + 2 * PAD_PX) for _, im in imgs)
    width = max(max(im.width for _, im in imgs) + 2 * PAD_PX, int(area ** 0.5) + 1)
    order = sorted(imgs, key=lambda t: -t[1].height)
    x = y = shelf = 0
    spots = []
    for p, im in order:
        w, h = im.width + 2 * PAD_PX, im.height + 2 * PAD_PX
        if x + w > width:
            x, y, shelf = 0, y + shelf, 0
        spots.append((p, im, x + PAD_PX, y + PAD_PX))
        x += w
        shelf = max(shelf, h)
    height = y + shelf
    atlas = Image.new("RGB", (width, height), (200, 200, 200))
    for p, im, ax, ay in spots:
        atlas.paste(im, (ax, ay))
        # Edge pixels repeated into the padding, so sampling at a border stays on this image.
        atlas.paste(im.crop((0, 0, im.width, 1)).resize((im.width, PAD_PX)), (ax, ay - PAD_PX))
        atlas.paste(im.crop((0, im.height - 1, im.width, im.height)).resize((im.width, PAD_PX)), (ax, ay + im.height))
    scale = min(1.0, MAX_ATLAS_PX / max(width, height))
    if scale < 1.0:
        atlas = atlas.resize((max(1, int(width * scale)), max(1, int(height * scale))), Image.LANCZOS)
    buf = io.BytesIO()
    atlas.save(buf, "WEBP", quality=WEBP_QUALITY, method=4)
    place = {p: (ax / width, ay / height, im.width / width, im.height / height) for p, im, ax, ay in spots}
    return Atlas(buf.getvalue(), atlas.size, place)


def atlas_uv(uv: np.ndarray, tex: np.ndarray, paths: list[str], atlas: Atlas) -> tuple[np.ndarray, np.ndarray]:
    """Vertices' (s, t) into the atlas's (u, v), and which vertices are textured there.
    ``tex``: each vertex's index into ``paths`` (-1: none)."""
    out = np.zeros((len(uv), 2), np.float32)
    ok = np.zeros(len(uv), bool)
    for i, p in enumerate(paths):
        spot = atlas.place.get(p)
        if spot is None:
            continue
        m = tex == i
        u0, v0, du, dv = spot
        st = np.clip(uv[m], 0.0, 1.0)  # PLATEAU's atlases do not wrap; a stray value stays on its image
        out[m, 0] = u0 + st[:, 0] * du
        out[m, 1] = v0 + (1.0 - st[:, 1]) * dv
        ok |= m
    return out, ok
