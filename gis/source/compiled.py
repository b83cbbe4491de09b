"""The compiled reader (gis/gmlfast/, built by setup.py; optional): a building's common case
read in C, and ring texts parsed in C. Measured worth (docs/gis.md): +40% import time at 100k
buildings without it. None where it is not built or lxml now runs another libxml2."""

from __future__ import annotations

import os

try:
    from .. import _gmlfast
except ImportError:
    _gmlfast = None

# YAKUBA_GML_FAST=0 reads every building in Python (for comparisons; the output is the same).
building = _gmlfast.building if _gmlfast is not None and os.environ.get("YAKUBA_GML_FAST", "1") != "0" else None
# Plain 3D ring texts, parsed in one call per batch (None: rings.read_rings parses in numpy).
parse_rings = _gmlfast.parse_rings if building is not None else None
