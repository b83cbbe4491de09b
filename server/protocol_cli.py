"""`yakuba protocol export [--check]`: the generated client module and JSON Schema
(server/protocol/export.py). Kept apart from that module so building the `yakuba` parser does
not import every model: that import (pydantic schemas, and through the HTTP bodies numpy and
scipy) cost ~0.3 s on every command, most of `yakuba import`'s fixed cost on small inputs."""

from __future__ import annotations

import argparse
from pathlib import Path


def _cmd(args: argparse.Namespace) -> int:
    from yakuba.server.protocol import export

    return export.run(Path(args.root) if args.root else export.repo_root(), args.check)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("protocol", help="the wire protocol: generated client module and JSON Schema")
    psub = p.add_subparsers(dest="protocol_command", required=True)
    e = psub.add_parser("export", help="write clients/web/src/protocol.gen.js and docs/protocol.schema.json")
    e.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file is stale")
    e.add_argument("--root", default=None, help="the checkout to write into (default: this source tree)")
    e.set_defaults(func=_cmd)


__all__ = ["register"]
