"""A whole consultation over real socket.io clients on one real node, and every way an outsider
or the wrong staff member tries to get in, listen in, or take over: each refused and counted."""

from __future__ import annotations

from yakuba.server.app import DB_KEY, HUB_KEY

from auth.helpers import add_staff
from server.realtime_client import running_app, until

from .helpers import DeskPeer, Refusals, staff_cookie

BOOTH = "booth1"  # education
TOPIC = "education.school_enrolment"


async def _put(app, aid: int, x: float, y: float) -> None:
    """Test set-up only: stand an avatar somewhere at once (the walk itself is tested elsewhere)."""
    hub = app[HUB_KEY]
    await hub.consult._place(hub.world.avatars[aid], (x, y))


async def test_full_consultation_and_outsiders_are_refused(tmp_path):
    r = Refusals("one_node")
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        hub = app[HUB_KEY]
        topic = TOPIC if TOPIC in hub.consult.service.catalogue.topics else hub.consult.service.catalogue.departments["education"].topics[0]
        await add_staff(app[DB_KEY], "sato", code="131016")
        await add_staff(app[DB_KEY], "kato", code="131016")
        staff = await DeskPeer(url, await staff_cookie(url, "sato")).connect()
        other = await DeskPeer(url, await staff_cookie(url, "kato")).connect()
        res, third = await DeskPeer(url).connect(), await DeskPeer(url).connect()
        peers = [staff, other, res, third]
        try:
            for p, n in zip(peers, ("sato", "kato", "res", "third")):
                assert (await p.join(name=n))["ok"]
            info = await res.call("desk.info")
            assert info["ok"] and {b["booth"] for b in info["booths"]} == {f"booth{i}" for i in range(1, 7)}
            # forged identity: fields the schema does not have are refused, no ticket is made
            r.expect("forged_ticket_field", await res.call("queue.take", {"topic": topic, "owner": "staff:1"}), "invalid_payload")
            r.expect("forged_ticket_field", await res.call("queue.take", {"topic": topic, "avatar": staff.id}), "invalid_payload")
            r.expect("forged_staff_field", await res.call("queue.board", {"role": "staff"}), "invalid_payload")
            r.expect("resident_views_board", await res.call("queue.board", {}), "forbidden")
            # 1. a ticket
            ack = await res.call("queue.take", {"topic": topic})
            assert ack["ok"] and ack["ticket"]["state"] == "waiting" and ack["ticket"]["position"] == 1
            tid = ack["ticket"]["ticket"]
            assert ack["ticket"]["code"]["en"] == tid and ack["ticket"]["code"]["ja"].startswith("教")
            await until(lambda: res.got["queue.ticket"], what="queue.ticket pushed")
            t3 = (await third.call("queue.take", {"topic": topic}))["ticket"]
            assert t3["position"] == 2 and t3["eta_s"] > 0
            r.expect("accept_someone_elses_ticket", await third.call("invite.accept", {"ticket": tid}), "not_invited", "not_found")
            # 2. the call: staff only, from inside the booth
            r.expect("resident_calls", await res.call("queue.call", {"booth": BOOTH}), "forbidden")
            r.expect("staff_calls_from_outside", await staff.call("queue.call", {"booth": BOOTH}), "not_in_booth")
            await _put(app, staff.id, 3.0, 36.0)
            board = await staff.call("queue.board", {"topic": topic})
            assert [t["ticket"] for t in board["topics"][0]["tickets"]] == [tid, t3["ticket"]]
            ack = await staff.call("queue.call", {"booth": BOOTH})
            assert ack["ok"] and ack["ticket"]["ticket"] == tid
            await until(lambda: res.got["queue.invite"], what="invitation")
            assert res.got["queue.invite"][0]["booth"] == BOOTH
            await until(lambda: third.got["queue.ticket"] and third.got["queue.ticket"][-1]["position"] == 1, what="third moves up")
            # another staff member in the (unlocked) booth may not run it
            await _put(app, other.id, 4.5, 37.0)
            r.expect("unlock_someone_elses_booth", await other.call("booth.unlock", {"booth": BOOTH}), "not_booth_staff")
            r.expect("admit_in_someone_elses_booth", await other.call("booth.admit", {"booth": BOOTH, "avatar": third.id}), "not_booth_staff")
            r.expect("call_in_someone_elses_booth", await other.call("queue.call", {"booth": BOOTH}), "not_booth_staff")
            # 3. accept: the resident walks in by the path
            await _put(app, res.id, 3.0, 29.0)
            ack = await res.call("invite.accept", {"ticket": tid})
            assert ack["ok"] and ack["ticket"]["state"] == "serving"
            await until(lambda: res.zones and res.zones[-1] == BOOTH, timeout=10, what="resident walks into the booth")
            # 4. lock: residents may not, nor staff outside it; the other staff member is put out
            r.expect("resident_locks", await res.call("booth.lock", {"booth": BOOTH}), "forbidden")
            r.expect("lock_booth_not_in", await other.call("booth.lock", {"booth": "booth2"}), "not_in_booth")
            assert (await staff.call("booth.lock", {"booth": BOOTH}))["ok"]
            await until(lambda: other.zones[-1] == "corridor", what="a non-member inside is put outside the door")
            await until(lambda: any(s["booth"] == BOOTH and s["locked"] for s in third.got["booth.state"]), what="sign")
            for s in third.got["booth.state"]:
                assert set(s) == {"booth", "state", "locked", "occupied"}  # never who is inside
            await _put(app, third.id, 3.0, 30.5)  # right outside the door
            # 5. outsiders: join/walk/goto/target/chat/see
            y0 = hub.world.avatars[third.id].y
            await third.emit("move", {"vx": 0.0, "vy": 2.0})
            await until(lambda: any(e["code"] in ("blocked", "booth_locked") for e in third.errors), what="walk refused")
            await third.emit("move", {"stop": True})
            r.count("walk_into_locked", hub.world.avatars[third.id].zone == "corridor" and hub.world.avatars[third.id].y < 32.0 and hub.world.avatars[third.id].y >= y0 - 0.01)
            n = len(third.errors)
            await third.emit("move", {"goto": BOOTH})
            await until(lambda: len(third.errors) > n, what="goto refused")
            r.count("goto_locked", third.errors[-1]["code"] == "booth_locked")
            n = len(third.errors)
            await third.emit("move", {"target": [3.0, 36.0]})
            await until(lambda: len(third.errors) > n, what="target refused")
            r.count("target_locked", third.errors[-1]["code"] == "booth_locked")
            assert (await third.call("booth.knock", {"booth": BOOTH}))["ok"]
            await until(lambda: staff.got["booth.knocked"], what="knock reaches the staff member")
            assert staff.got["booth.knocked"][0] == {"booth": BOOTH, "avatar": third.id}
            assert (await staff.call("booth.decline", {"booth": BOOTH, "avatar": third.id}))["ok"]
            await until(lambda: any(x["kind"] == "declined" for x in third.got["booth.notice"]), what="declined")
            # both inside chat; nobody outside hears it, and outside chat does not get in
            await res.emit("chat", {"text": "相談内容です"})
            await staff.emit("chat", {"text": "承知しました"})
            await until(lambda: len(res.chats) >= 2 and len(staff.chats) >= 2, what="both chat")
            await third.emit("chat", {"text": "聞こえますか"})
            await other.emit("chat", {"text": "from outside"})
            await until(lambda: any(c["text"] == "聞こえますか" for c in third.chats), what="third's own chat")
            r.count("eavesdrop_chat", not any(c["zone"] == BOOTH for c in third.chats + other.chats))
            r.count("chat_into_locked", not any(c["text"] in ("聞こえますか", "from outside") for c in res.chats + staff.chats))
            inside = {res.id, staff.id}
            r.count("see_inside_snapshots", not (inside & set(third.view)) and not (inside & set(other.view)))
            r.count("see_inside_room_state", not any(m["room"] == BOOTH for m in third.got["room"] + third.got["room_patch"]))
            # a procedure card: https or a site path only
            r.expect("card_bad_url", await staff.call("booth.card", {"booth": BOOTH, "title": "x", "url": "javascript:alert(1)"}), "invalid_payload")
            r.expect("resident_pushes_card", await third.call("booth.card", {"booth": BOOTH, "title": "x", "url": "/forms/1"}), "forbidden")
            assert (await staff.call("booth.card", {"booth": BOOTH, "title": "就学手続き", "url": "/forms/enrol"}))["ok"]
            await until(lambda: res.got["booth.card"], what="card")
            assert res.got["booth.card"][0] == {"booth": BOOTH, "title": "就学手続き", "url": "/forms/enrol"}
            # resume into the locked booth by a non-member: placed outside
            tok = other.me["token"]
            await other.close()
            other2 = await DeskPeer(url, await staff_cookie(url, "kato")).connect()
            peers.append(other2)
            j = await other2.join(resume=tok)
            r.count("resume_into_locked", j["ok"] and j["zone"] != BOOTH)
            # 6. unlock, and the resident walks out: the booth empties, the consultation ends
            r.expect("resident_unlocks", await res.call("booth.unlock", {"booth": BOOTH}), "forbidden")
            assert (await staff.call("booth.unlock", {"booth": BOOTH}))["ok"]
            await until(lambda: not hub.world.booths[BOOTH].locked, what="unlocked")
            await res.emit("move", {"goto": "corridor"})
            await until(lambda: res.zones[-1] == "corridor", timeout=10, what="resident leaves")
            await until(lambda: hub.consult.service.booth(BOOTH).ticket is None, what="consultation ended")
            assert tid not in hub.consult.service.dept("education").tickets
            assert hub.consult.service.booth(BOOTH).state == "open"  # the staff member is still in it
            # nothing of the conversation was kept: the desk's documents hold ids and times only
            docs = repr(hub.consult.service.docs)
            assert "相談内容" not in docs and "就学手続き" not in docs
        finally:
            for p in peers:
                await p.close()
    r.report()
    assert sum(r.counts.values()) >= 20
