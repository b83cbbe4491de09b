"""The `yakuba` command: serve, import, simulate, clusters.

Each subcommand lives next to the code it drives and exposes ``register(subparsers)``; this
module only assembles them, so `yakuba import` stays in gis/ and `yakuba serve` in server/.
"""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from yakuba.gis import cli as gis_cli
    from yakuba.gis.firespread import cli as fire_cli
    from yakuba.server import accounts_cli, serve_cli
    from yakuba.server import protocol_cli

    parser = argparse.ArgumentParser(prog="yakuba", description="Yakuba metaverse city hall (役場)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cli.register(sub)
    accounts_cli.register(sub)  # municipality, staff, db
    gis_cli.register(sub)
    fire_cli.register(sub)
    protocol_cli.register(sub)  # protocol export [--check]
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Every subcommand sets `func`, returning an exit code; user errors are printed without a
    # traceback by the subcommand itself. A bad setting (flag or YAKUBA_* variable) is one line.
    from pydantic import ValidationError

    try:
        return int(args.func(args) or 0)
    except ValidationError as e:
        if e.title != "Settings":
            raise
        err = e.errors()[0]
        name = "YAKUBA_" + str(err["loc"][0]).upper() if err.get("loc") else "settings"
        print(f"yakuba: error: invalid setting {name}: {err['msg']}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
