"""LOD2 facade textures, the source side: which image and texture coordinates each ring has.

PLATEAU writes textures three ways, all read here by local name:
- CityGML 2.0, an ``app:appearance`` inside each building or ``app:appearanceMember`` on the
  city model: ``ParameterizedTexture/imageURI`` + ``target[@uri]/TexCoordList/
  textureCoordinates[@ring]``;
- CityGML 3.0, ``core:appearanceMember`` at the end of the file: ``ParameterizedTexture/
  textureParameterization/TextureAssociation/target`` + ``TexCoordList`` whose
  ``textureCoordinates`` and ``ring`` children pair up in order.
Texture coordinates are (s, t) with t up from the image's bottom; the atlas (sink.atlas) turns
them into glTF's (u, v), v down.
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
