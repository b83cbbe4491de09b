"""Password hashing: argon2id (argon2-cffi), always off the event loop.

One hash costs ~0.1 s of CPU and 64 MiB with the library defaults (RFC 9106 "low memory"), so
hashing runs in a small dedicated thread pool: the 10 Hz tick keeps its loop, and a burst of
logins queues instead of taking every thread and a GiB of memory.

Profiles: "default" = argon2-cffi's defaults; "test" = the cheapest parameters argon2 allows,
for the test suite only (YAKUBA_ARGON2_PROFILE=test or Settings.argon2_profile). A stored hash
carries its own parameters, so either profile verifies any hash; ``needs_rehash`` says whether
a hash was made with other parameters than the current profile (rehash at the next login).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

log = logging.getLogger("yakuba.auth")

MIN_LENGTH = 10
MAX_LENGTH = 1024  # far above any passphrase; bounds the work one request can ask for

PROFILES = {
    "default": lambda: PasswordHasher(type=Type.ID),
    "test": lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID),
}

_profile = os.environ.get("YAKUBA_ARGON2_PROFILE", "default")
if _profile not in PROFILES:  # a typo must not break imports; set_profile(settings...) names the error
    _profile = "default"
_hashers: dict[str, PasswordHasher] = {}
_dummy: dict[str, str] = {}
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


class PasswordPolicyError(ValueError):
    code = "weak_password"


def set_profile(name: str) -> None:
    """Select the hashing profile (the app and the CLI pass Settings.argon2_profile)."""
    global _profile
    if name not in PROFILES:
        raise ValueError(f"unknown argon2 profile {name!r}; one of {sorted(PROFILES)}")
    _profile = name


def profile() -> str:
    return _profile


def _hasher() -> PasswordHasher:
    h = _hashers.get(_profile)
    if h is None:
        h = _hashers[_profile] = PROFILES[_profile]()
    return h


def check_policy(password: str) -> None:
    """Refuse passwords too short to resist guessing (and absurdly long ones)."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"password must be at most {MAX_LENGTH} characters")


async def _off_loop(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(_pool, fn, *args)


async def hash_password(password: str) -> str:
    check_policy(password)
    return await _off_loop(_hasher().hash, password)


def _verify(hash_: str, password: str) -> bool:
    try:
        return _hasher().verify(hash_, password)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError):
        log.warning("stored password hash is not a valid argon2 hash")
        return False


async def verify_password(hash_: str, password: str) -> bool:
    if not hash_ or len(password) > MAX_LENGTH:
        return False
    return await _off_loop(_verify, hash_, password)


def _dummy_hash() -> str:
    d = _dummy.get(_profile)
    if d is None:
        d = _dummy[_profile] = _hasher().hash(secrets.token_urlsafe(16))
    return d


async def warm() -> None:
    """Make the dummy hash now (at server start), so the first unknown-username login is not
    slower than the others by one hash."""
    await _off_loop(_dummy_hash)


async def verify_dummy(password: str) -> bool:
    """For an unknown username: the same work as a real verify, so response time does not tell
    whether the account exists. Always False."""
    def work() -> bool:
        _verify(_dummy_hash(), password[:MAX_LENGTH])
        return False

    return await _off_loop(work)


def needs_rehash(hash_: str) -> bool:
    try:
        return _hasher().check_needs_rehash(hash_)
    except (InvalidHashError, ValueError):
        return True


__all__ = ["MIN_LENGTH", "PasswordPolicyError", "check_policy", "hash_password", "needs_rehash", "profile",
           "set_profile", "verify_dummy", "verify_password", "warm"]
