"""`yakuba serve`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the city hall server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--redis", default=None, help="redis://host:port/db — share state with other nodes")
    p.add_argument("--data", default="var", help="data directory (datasets, simulation runs)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from yakuba.server.app import run

    return run(args)
