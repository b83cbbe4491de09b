"""GET /api/audit pages newest first (next_before), filters by kind and since, and refuses bad
parameters with a clear 400 (the server keeps serving)."""

from __future__ import annotations

import aiohttp

from yakuba.server.app import AUDIT_KEY, DB_KEY

from auth.helpers import add_staff
from server.realtime_client import running_app

from .helpers import staff_cookie


async def test_paging_filters_and_bad_parameters(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await add_staff(app[DB_KEY], "boss", code="131016", admin=True)
        audit = app[AUDIT_KEY]
        for i in range(5):
            audit.record("booth", "staff:7", action="booth.lock", resource=f"booth{i + 1}")
        audit.record("refused", "resident:3", action="booth.lock", code="forbidden", resource="booth1")
        await audit.flush()
        async with aiohttp.ClientSession(cookies={"yakuba_session": await staff_cookie(url, "boss")}) as http:
            async def get(query: str) -> tuple[int, dict]:
                async with http.get(url + "/api/audit" + query) as r:
                    return r.status, await r.json()

            st, first = await get("?kind=booth&limit=3")
            assert st == 200 and [e["resource"] for e in first["events"]] == ["booth5", "booth4", "booth3"]
            st, rest = await get(f"?kind=booth&limit=3&before={first['next_before']}")
            assert st == 200 and [e["resource"] for e in rest["events"]] == ["booth2", "booth1"] and rest["next_before"] is None
            st, refused = await get("?kind=refused")
            assert st == 200 and [(e["principal"], e["code"]) for e in refused["events"]] == [("resident:3", "forbidden")]
            st, later = await get("?kind=booth&since=2999-01-01T00:00:00%2B00:00")
            assert st == 200 and later["events"] == []
            for since in ("2000-01-01T00:00:00%2B00:00", "2000-01-01"):  # with and without a zone
                st, earlier = await get("?kind=booth&since=" + since)
                assert st == 200 and len(earlier["events"]) == 5, (since, earlier)
            for bad in ("?limit=0", "?limit=x", "?limit=100000", "?since=yesterday", "?before=-1"):
                st, body = await get(bad)
                assert st == 400 and body["error"]["code"] == "invalid_request", (bad, st, body)
            st, _ = await get("?limit=1")
            assert st == 200  # still serving
