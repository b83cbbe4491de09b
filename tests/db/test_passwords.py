"""argon2id hashing: correct verify, clear refusals, work done off the event loop."""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher

from yakuba.server.auth import passwords


async def test_hash_and_verify() -> None:
    h = await passwords.hash_password("correct horse battery")
    assert h.startswith("$argon2id$")
    assert await passwords.verify_password(h, "correct horse battery")
    assert not await passwords.verify_password(h, "correct horse batterY")
    assert h != await passwords.hash_password("correct horse battery")  # salted


async def test_bad_input_is_false_not_an_error(caplog) -> None:
    assert not await passwords.verify_password("not-a-hash", "whatever12345")
    assert not await passwords.verify_password("", "whatever12345")
    h = await passwords.hash_password("correct horse battery")
    assert not await passwords.verify_password(h, "x" * (passwords.MAX_LENGTH + 1))
    assert "not a valid argon2 hash" in caplog.text and "whatever" not in caplog.text


async def test_policy() -> None:
    for pw in ("", "short", "x" * 9, "x" * (passwords.MAX_LENGTH + 1)):
        with pytest.raises(passwords.PasswordPolicyError):
            await passwords.hash_password(pw)
    assert await passwords.hash_password("x" * 10)


async def test_dummy_verify_is_always_false_and_does_the_work(monkeypatch) -> None:
    calls: list[str] = []
    real = PasswordHasher.verify

    def spy(self, hash_, password):
        calls.append(threading.current_thread().name)
        return real(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    assert await passwords.verify_dummy("anything at all") is False
    h = await passwords.hash_password("correct horse battery")
    await passwords.verify_password(h, "correct horse battery")
    # The dummy ran a real argon2 verify, like a known username would, and both ran in the
    # hashing pool, never on the event loop's thread.
    assert len(calls) == 2 and all(n.startswith("argon2") for n in calls)
    assert threading.current_thread().name not in calls


async def test_profiles_and_rehash() -> None:
    cheap = await passwords.hash_password("correct horse battery")
    assert "m=8,t=1,p=1" in cheap and not passwords.needs_rehash(cheap)
    passwords.set_profile("default")
    try:
        assert passwords.needs_rehash(cheap)  # made with other parameters: rehash at next login
        assert await passwords.verify_password(cheap, "correct horse battery")  # still verifies
        assert passwords.needs_rehash("garbage")
    finally:
        passwords.set_profile("test")
    with pytest.raises(ValueError):
        passwords.set_profile("fast")
