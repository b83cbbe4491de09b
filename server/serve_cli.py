"""`yakuba serve`. Flags default to None so that an unset flag leaves the environment's value
(YAKUBA_*) or the settings default in force: flags > environment > defaults."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the city hall server")
    p.add_argument("--host", default=None, help="address to listen on (YAKUBA_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (YAKUBA_PORT, default 8080)")
    p.add_argument("--redis", default=None, help="redis://host:port/db — share state with other nodes (YAKUBA_REDIS_URL)")
    p.add_argument("--data", default=None, help="data directory: datasets, jobs, the SQLite database (YAKUBA_DATA, default var)")
    p.add_argument("--database-url", default=None, help="SQLAlchemy URL, e.g. postgresql://user@host/db (YAKUBA_DATABASE_URL; default: SQLite under the data directory)")
    p.set_defaults(func=_run)


def settings_from_args(args: argparse.Namespace):
    from yakuba.server.settings import Settings

    return Settings.load(host=args.host, port=args.port, redis_url=args.redis, data_dir=args.data,
                         database_url=getattr(args, "database_url", None))


def _run(args: argparse.Namespace) -> int:
    from yakuba.server.app import run

    return run(settings_from_args(args))
