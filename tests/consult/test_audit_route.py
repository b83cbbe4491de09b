"""Administrators read the audit trail over HTTP (GET /api/audit): a booth lock by staff is
there by ids (no names, nothing said); staff and residents are refused."""

from __future__ import annotations

import aiohttp

from yakuba.server.app import AUDIT_KEY, DB_KEY, HUB_KEY

from auth.helpers import add_staff
from server.realtime_client import running_app, until

from .helpers import DeskPeer, staff_cookie


async def test_admin_reads_booth_events_by_ids_others_are_refused(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        hub = app[HUB_KEY]
        sid = await add_staff(app[DB_KEY], "sato", code="131016")
        await add_staff(app[DB_KEY], "boss", code="131016", admin=True)
        staff = await DeskPeer(url, await staff_cookie(url, "sato")).connect()
        try:
            assert (await staff.join(name="佐藤"))["ok"]
            await hub.consult._place(hub.world.avatars[staff.id], hub.world.layout.zones["booth1"].anchor)
            await until(lambda: hub.world.avatars[staff.id].zone == "booth1" or staff.zones[-1:] == ["booth1"], what="in booth")
            ack = await staff.call("booth.lock", {"booth": "booth1"})
            assert ack["ok"], ack
            await app[AUDIT_KEY].flush()
            for who, status in (("boss", 200), ("sato", 403), (None, 403)):
                cookies = {"yakuba_session": await staff_cookie(url, who)} if who else {}
                async with aiohttp.ClientSession(cookies=cookies) as http:
                    async with http.get(url + "/api/audit?kind=booth&limit=50") as r:
                        assert r.status == status, (who, r.status, await r.text())
                        body = await r.json()
                if status == 200:
                    locks = [e for e in body["events"] if e["action"] == "booth.lock"]
                    assert locks and locks[0]["principal"] == f"staff:{sid}" and locks[0]["resource"] == "booth1"
                    assert "佐藤" not in str(body) and "sato" not in str(body)
                else:
                    assert body["error"]["code"] in ("forbidden", "unauthenticated")
        finally:
            await staff.close()
