"""LOD2 facade textures: which image and texture coordinates each ring has (the source side),
and one atlas per tile, compressed to WebP (the sink side).

PLATEAU writes textures three ways, all read here by local name:
- CityGML 2.0, an ``app:appearance`` inside each building or ``app:appearanceMember`` on the
  city model: ``ParameterizedTexture/imageURI`` + ``target[@uri]/TexCoordList/
  textureCoordinates[@ring]``;
- CityGML 3.0, ``core:appearanceMember`` at the end of the file: ``ParameterizedTexture/
  textureParameterization/TextureAssociation/target`` + ``TexCoordList`` whose
  ``textureCoordinates`` and ``ring`` children pair up in order.
Texture coordinates are (s, t) with t up from the image's bottom; glTF's v runs down.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from lxml import etree

log = logging.getLogger("yakuba.gis.textures")
Warn = Callable[[str, str], None]

MAX_IMAGE_PX = 1024  # a source image's longer side in the atlas (PLATEAU's are 512-4096 px)
MAX_ATLAS_PX = 4096  # what every WebGL device takes
PAD_PX = 2  # between images in the atlas: mipmaps do not bleed a neighbour's colours in
WEBP_QUALITY = 80


@dataclass
class RingTexture:
    image: int  # index into TextureIndex.images
    uv: np.ndarray  # (n, 2) float32 (s, t), one per ring position as written (closing one too)


@dataclass
class TextureIndex:
    images: list[str]  # absolute paths, as found
    rings: dict[str, RingTexture]  # LinearRing gml:id -> its texture


def _ln(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _coords(text: str | None) -> np.ndarray | None:
    try:
        a = np.array((text or "").split(), dtype=np.float32)
    except ValueError:
        return None
    return a.reshape(-1, 2) if len(a) >= 6 and len(a) % 2 == 0 else None


def texture_index(gml: Path, warn: Warn) -> TextureIndex:
    """Every textured ring of a file. Images that are not next to the file are left out, with
    one warning each (PLATEAU's distributions often leave the appearance folders behind)."""
    images: list[str] = []
    slot: dict[str, int | None] = {}
    rings: dict[str, RingTexture] = {}
    with open(gml, "rb") as f:
        head = f.read()
    if b"ParameterizedTexture" not in head:
        return TextureIndex(images, rings)
    for _, tex in etree.iterparse(io.BytesIO(head), tag="{*}ParameterizedTexture", huge_tree=True):
        uri = next((c.text.strip() for c in tex if _ln(c.tag) == "imageURI" and c.text), None)
        if uri is None:
            continue
        if uri not in slot:
            p = (gml.parent / uri).resolve()
            if p.is_file() and p.is_relative_to(gml.parent.resolve()):
                slot[uri] = len(images)
                images.append(str(p))
            else:
                slot[uri] = None
                warn("texture_missing", f"{gml.name}: image {uri} not found next to the file")
        img = slot[uri]
        if img is not None:
            for tcl in tex.iter("{*}TexCoordList"):
                coords = [c for c in tcl if _ln(c.tag) == "textureCoordinates"]
                named = [c.text.strip().lstrip("#") for c in tcl if _ln(c.tag) == "ring" and c.text]
                for k, c in enumerate(coords):
                    ring = (c.get("ring") or "").lstrip("#") or (named[k] if k < len(named) else "")
                    uv = _coords(c.text)
                    if ring and uv is not None:
                        rings[ring] = RingTexture(img, uv)
        tex.clear()
    return TextureIndex(images, rings)


def ring_uv(tex: RingTexture, n: int) -> np.ndarray | None:
    """The ring's (s, t) for its ``n`` positions as the mesh holds them (closing one dropped)."""
    uv = tex.uv
    if len(uv) == n + 1:
        uv = uv[:-1]
    return uv if len(uv) == n else None


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
