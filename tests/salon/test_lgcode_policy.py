"""Pure parts: the 全国地方公共団体コード check digit, and the policy's salon and tenant rules."""

from __future__ import annotations

import pytest

from yakuba.server.auth.policy import Action, decide
from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.auth.sessions import SessionRecord
from yakuba.server.salon import lgcode


@pytest.mark.parametrize("code", ["131016", "271209", "271403", "011002", "472018"])
def test_real_codes_pass(code):
    assert lgcode.is_valid(code)


@pytest.mark.parametrize("code,why", [("131017", "check digit"), ("13101", "6 digits"), ("1310160", "6 digits"),
                                      ("13101a", "6 digits"), ("１３１０１６", "6 digits"), ("481001", "prefecture"),
                                      ("001007", "prefecture"), (131016, "6 digits")])
def test_bad_codes_say_why(code, why):
    assert why in lgcode.problem(code)


def test_every_single_digit_typo_of_the_check_digit_is_caught():
    for d in "0123456789":
        assert lgcode.is_valid("13101" + d) == (d == "6")


VERIFIED = Principal(kind=Kind.STAFF, staff_id=3, municipality="271403", verified=True, display_name="堺 花子",
                     municipality_name="堺市", department="危機管理課")


def test_salon_admits_only_verified_staff_of_a_municipality():
    assert decide(VERIFIED, Action.ENTER_SALON)
    assert decide(resident("1.2.3.4"), Action.ENTER_SALON).code == "salon_staff_only"
    assert decide(Principal(), Action.ENTER_SALON).code == "salon_staff_only"  # anonymous guest
    # staff without the server's mark (a session from before issue #20), or without a municipality
    assert not decide(Principal(kind=Kind.STAFF, staff_id=3, municipality="271403"), Action.ENTER_SALON)
    assert not decide(Principal(kind=Kind.ADMIN, roles=frozenset({"admin"}), verified=True), Action.ENTER_SALON)


def test_tenants_are_managed_by_administrators_only():
    assert decide(Principal(kind=Kind.ADMIN, staff_id=1, municipality="131016"), Action.MANAGE_TENANTS)
    assert not decide(VERIFIED, Action.MANAGE_TENANTS)
    assert not decide(resident(), Action.MANAGE_TENANTS)


def test_the_identity_comes_only_from_the_session_record():
    rec = SessionRecord("x" * 43, 3, "271403", ("staff",), "staff", "c", 0.0, 1e12,
                        {"name": "堺 花子", "mname": "堺市", "dept": "危機管理課", "verified": True, "via": "oidc"})
    back = SessionRecord.unpack(rec.id, rec.pack())
    assert back.principal().card() == {"staff": 3, "display_name": "堺 花子", "department": "危機管理課",
                                       "municipality": {"code": "271403", "name": "堺市"}, "verified": True}
    # a record with a non-boolean mark (tampered or old) is not verified
    import msgpack

    d = msgpack.unpackb(rec.pack())
    d["ident"]["verified"] = "yes"
    assert SessionRecord.unpack(rec.id, msgpack.packb(d)).principal().verified is False
    del d["ident"]
    assert SessionRecord.unpack(rec.id, msgpack.packb(d)).principal().card()["verified"] is False
