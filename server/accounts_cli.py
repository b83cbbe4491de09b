"""`yakuba municipality ...`, `yakuba staff ...`, `yakuba db ...`: accounts and schema from the
command line. Every command migrates the database first, so it works on a fresh data directory.

User errors (unknown municipality, duplicate username, weak password) print one line on stderr
and exit 2. Disabling an account or changing its password also publishes a revocation on Redis
when one is configured, so every node drops the staff role at once; the servers' periodic
account re-check is the slow path when Redis is down or not used."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys

EXIT_USER = 2


class UserError(Exception):
    pass


class DatabaseUnavailable(Exception):
    pass


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="data directory holding the default SQLite database (YAKUBA_DATA, default var)")
    p.add_argument("--database-url", default=None, help="SQLAlchemy URL, e.g. postgresql://user@host/db (YAKUBA_DATABASE_URL)")


def _redis_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--redis", default=None, help="redis://host:port/db to publish the revocation on (YAKUBA_REDIS_URL)")


def register(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("municipality", help="municipalities (全国地方公共団体コード)").add_subparsers(dest="sub", required=True)
    p = m.add_parser("add", help="add a municipality")
    p.add_argument("code"), p.add_argument("name"), _common(p)
    p.set_defaults(func=_entry(_municipality_add))
    p = m.add_parser("list", help="list municipalities")
    p.add_argument("--json", action="store_true"), _common(p)
    p.set_defaults(func=_entry(_municipality_list))

    s = sub.add_parser("staff", help="staff accounts").add_subparsers(dest="sub", required=True)
    p = s.add_parser("add", help="add a staff account; the password is read from standard input")
    p.add_argument("username"), p.add_argument("--municipality", required=True, metavar="CODE")
    p.add_argument("--admin", action="store_true", help="also an administrator (datasets, accounts)"), _common(p)
    # the server-issued identity shown in the salon (issue #20): only an operator sets it
    p.add_argument("--display-name", default=None, help="name shown in the salon (at most 100 characters)")
    p.add_argument("--department", default=None, help="department shown in the salon (at most 60 characters)")
    p.set_defaults(func=_entry(_staff_add))
    p = s.add_parser("list", help="list staff accounts (never their password hashes)")
    p.add_argument("--json", action="store_true"), _common(p)
    p.set_defaults(func=_entry(_staff_list))
    for name, disabled in (("disable", True), ("enable", False)):
        p = s.add_parser(name, help=f"{name} a staff account" + (" and end its sessions" if disabled else ""))
        p.add_argument("username"), _common(p), _redis_flag(p)
        p.set_defaults(func=_entry(_staff_disable), disabled=disabled)
    p = s.add_parser("passwd", help="set a new password (read from standard input) and end the account's sessions")
    p.add_argument("username"), _common(p), _redis_flag(p)
    p.set_defaults(func=_entry(_staff_passwd))

    d = sub.add_parser("db", help="database schema (Alembic migrations)").add_subparsers(dest="sub", required=True)
    p = d.add_parser("upgrade", help="migrate to REV (default: the newest)")
    p.add_argument("revision", nargs="?", default="head"), _common(p)
    p.set_defaults(func=_entry(_db_upgrade, migrate=False))
    p = d.add_parser("downgrade", help="migrate down to REV (default: base, an empty schema)")
    p.add_argument("revision", nargs="?", default="base"), _common(p)
    p.set_defaults(func=_entry(_db_downgrade, migrate=False))
    p = d.add_parser("current", help="print the database's revision and the newest one")
    _common(p)
    p.set_defaults(func=_entry(_db_current, migrate=False))
    p = d.add_parser("revision", help="(developers) write the next migration from the changes in models.py")
    p.add_argument("message", help="what the migration does, e.g. 'jobs: cancel_requested'")
    p.set_defaults(func=_db_revision)


def _entry(fn, migrate: bool = True):
    def run(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(_with_db(fn, args, migrate)) or 0
        except UserError as e:
            print(f"yakuba: error: {e}", file=sys.stderr)
            return EXIT_USER
        except DatabaseUnavailable as e:
            print(f"yakuba: error: {e}", file=sys.stderr)
            return 1

    return run


async def _with_db(fn, args: argparse.Namespace, migrate: bool) -> int | None:
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from yakuba.server.auth import passwords
    from yakuba.server.auth.passwords import PasswordPolicyError
    from yakuba.server.db.engine import Database
    from yakuba.server.db.errors import RecordError
    from yakuba.server.settings import Settings

    settings = Settings.load(data_dir=args.data, database_url=args.database_url, redis_url=getattr(args, "redis", None))
    try:
        passwords.set_profile(settings.argon2_profile)
    except ValueError as e:  # YAKUBA_ARGON2_PROFILE=typo
        raise UserError(str(e)) from e
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    try:
        if migrate:
            await db.migrate()
        return await fn(args, db, settings)
    except (RecordError, PasswordPolicyError, CommandError) as e:  # CommandError: an unknown revision
        raise UserError(str(e)) from e
    except (OSError, SQLAlchemyError) as e:
        # The database cannot be reached or refused us: one line, not a traceback.
        raise DatabaseUnavailable(f"database not usable: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
    finally:
        await db.close()


def read_password(prompt: str = "Password: ") -> str:
    """getpass (asked twice) on a terminal; otherwise one line from stdin, for scripts."""
    if sys.stdin.isatty():
        pw = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != pw:
            raise UserError("passwords do not match")
    else:
        pw = sys.stdin.readline().rstrip("\r\n")
    if not pw:
        raise UserError("empty password")
    return pw


async def _audit(s, kind: str, staff_id: int) -> None:
    from yakuba.server.db.audit_store import insert_events

    await insert_events(s, [{"kind": kind, "principal": "cli", "resource": f"staff:{staff_id}"}])


async def _municipality_add(args, db, settings) -> None:
    from yakuba.server.db import accounts

    async with db.session() as s:
        m = await accounts.add_municipality(s, args.code, args.name)
    print(f"municipality {m.code} added")


async def _municipality_list(args, db, settings) -> None:
    from yakuba.server.db import accounts

    async with db.session() as s:
        rows = [{"code": m.code, "name": m.name} for m in await accounts.list_municipalities(s)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for r in rows:
            print(f"{r['code']}\t{r['name']}")


async def _staff_add(args, db, settings) -> None:
    from yakuba.server.auth.passwords import check_policy, hash_password
    from yakuba.server.db import accounts

    accounts.check_username(args.username)
    async with db.session() as s:  # check before asking for a password the command would throw away
        if await accounts.get_municipality(s, args.municipality) is None:
            raise UserError(f"unknown municipality {args.municipality} (add it with `yakuba municipality add`)")
        if await accounts.get_staff_by_username(s, args.username) is not None:
            raise UserError(f"username {accounts.normalise_username(args.username)} already exists")
    pw = read_password()
    check_policy(pw)
    h = await hash_password(pw)
    async with db.session() as s:
        a = await accounts.add_staff(s, args.username, args.municipality, h, admin=args.admin)
        name, dept = getattr(args, "display_name", None), getattr(args, "department", None)
        if (name and len(name) > 100) or (dept and len(dept) > 60):
            raise UserError("display name at most 100 characters, department at most 60")
        a.display_name, a.department = name or None, dept or None
        await _audit(s, "staff_added", a.id)
    print(f"staff {a.id} added ({'admin' if a.is_admin else 'staff'}, municipality {a.municipality_code})")


async def _staff_list(args, db, settings) -> None:
    from yakuba.server.db import accounts

    async with db.session() as s:
        rows = [{"id": a.id, "username": a.username, "municipality": a.municipality_code, "admin": a.is_admin,
                 "disabled": a.disabled, "created_at": a.created_at.isoformat(timespec="seconds"),
                 "password_changed_at": a.password_changed_at.isoformat(timespec="seconds")}
                for a in await accounts.list_staff(s)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    print("id\tusername\tmunicipality\trole\tstate\tpassword_changed_at")
    for r in rows:
        print(f"{r['id']}\t{r['username']}\t{r['municipality']}\t{'admin' if r['admin'] else 'staff'}\t"
              f"{'disabled' if r['disabled'] else 'active'}\t{r['password_changed_at']}")


async def _staff_disable(args, db, settings) -> None:
    from yakuba.server.db import accounts

    async with db.session() as s:
        a = await accounts.set_disabled(s, args.username, args.disabled)
        await _audit(s, "staff_disabled" if args.disabled else "staff_enabled", a.id)
    print(f"staff {a.id} {'disabled' if args.disabled else 'enabled'}")
    if args.disabled:
        await publish_revocation(settings.redis_url, a.id)


async def _staff_passwd(args, db, settings) -> None:
    from yakuba.server.auth.passwords import check_policy, hash_password
    from yakuba.server.db import accounts

    async with db.session() as s:
        if await accounts.get_staff_by_username(s, args.username) is None:
            raise UserError(f"unknown staff account {accounts.normalise_username(args.username)}")
    pw = read_password("New password: ")
    check_policy(pw)
    h = await hash_password(pw)
    async with db.session() as s:
        a = await accounts.set_password_hash(s, args.username, h)
        await _audit(s, "staff_password_changed", a.id)
    print(f"staff {a.id} password changed")
    await publish_revocation(settings.redis_url, a.id)


async def publish_revocation(redis_url: str | None, staff_id: int) -> bool:
    """Tell every node to drop this account's sessions now. False when it could not be sent (the
    account change stands; nodes pick it up at their next account re-check)."""
    if not redis_url:
        return False
    import msgpack
    import redis.asyncio as aioredis

    from yakuba.server.store.base import CONTROL_CHANNEL

    r = aioredis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        await r.publish(CONTROL_CHANNEL, msgpack.packb({"n": "cli", "revoke": {"staff": staff_id}}))
        return True
    except Exception as e:  # redis down: say so, do not undo the change
        print(f"yakuba: warning: revocation not published on Redis ({type(e).__name__}); "
              "nodes will drop the session at their next account check", file=sys.stderr)
        return False
    finally:
        await r.aclose()


async def _db_upgrade(args, db, settings) -> None:
    from yakuba.server.db.migrate import current_revision, upgrade

    await upgrade(db, args.revision)
    print(f"database at {await current_revision(db) or 'base'}")


async def _db_downgrade(args, db, settings) -> None:
    from yakuba.server.db.migrate import current_revision, downgrade

    await downgrade(db, args.revision)
    print(f"database at {await current_revision(db) or 'base'}")


async def _db_current(args, db, settings) -> None:
    from yakuba.server.db.migrate import current_revision, head_revision

    print(f"database at {await current_revision(db) or 'base'} (newest {head_revision()})")


def _db_revision(args: argparse.Namespace) -> int:
    # No database of the operator's is touched: the diff is taken on a scratch SQLite file.
    from yakuba.server.db.migrate import NothingToGenerate, new_revision

    try:
        path = asyncio.run(new_revision(args.message))
    except NothingToGenerate as e:
        print(f"yakuba: error: {e}", file=sys.stderr)
        return EXIT_USER
    print(f"wrote {path}")
    return 0


__all__ = ["publish_revocation", "read_password", "register"]
