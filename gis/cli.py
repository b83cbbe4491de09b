"""`yakuba import` (and `import-defaults`) — owned by the GIS importer."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import-defaults", help="import the shipped sample district into --data (used by make setup)")
    p.add_argument("--data", default="var")
    p.set_defaults(func=lambda args: 0)
