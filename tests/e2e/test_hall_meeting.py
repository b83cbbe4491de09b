"""A public meeting in the event hall (issue #18, the meeting tools), in headless Chromium against
a real `yakuba serve`: a staff presenter and two attendees (one in Japanese, one in English) walk
into the hall; the presenter takes the stage and sets an agenda with a timer; attendee 1 asks a
question anonymously, attendee 2 upvotes it and asks one with a name; the presenter puts the
first on the screen and marks it answered; a poll is opened, both vote (one with a reason), the
result chart shows the counts on all three pages and 「結果」 once closed; reactions move the
counters; the presenter saves the summary for the minutes (JSON and Markdown, no names); a
spectator page without an avatar follows the same meeting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import axe_serious, staffed_node
from .test_web_client import enter, open_page, state

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AGENDA = ["開会のあいさつ", "延焼シミュレーションの説明", "質疑応答"]
Q1 = "広場はどこにできますか"
Q2 = "When will the plan be decided?"
A1, A2, PRES = "山田はなこ", "Suzuki Taro", "佐藤"
OPTIONS = ["道路の拡幅", "広場をつくる"]
WHY = "避難しやすいから"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    yield from staffed_node(tmp_path_factory, "yakuba-hall", "sato")


def hall(page) -> dict:
    return state(page)["hall"]


def wait_js(page, expr: str, arg=None, timeout: int = 10_000) -> None:
    page.wait_for_function(expr, arg=arg, timeout=timeout)


def wait_text(page, selector: str, text: str, timeout: int = 10_000) -> None:
    wait_js(page, "([s, t]) => { const e = document.querySelector(s); return !!e && e.textContent.includes(t) }", [selector, text], timeout)


def wait_counts(page, counts: list[int]) -> None:
    """The result chart shows these counts (one row per option)."""
    wait_js(page, "c => { const r = [...document.querySelectorAll('#hall-poll-results li')]; "
                  "return r.length === c.length && r.every((li, i) => li.dataset.count === String(c[i])) }", counts)


def top(page) -> None:
    page.evaluate("document.querySelector('#hall-body').scrollTop = 0")


def test_a_public_meeting_in_the_hall(browser, node, shots):
    cp, pres = open_page(browser, node, staff=True)
    c1, a1 = open_page(browser, node)
    c2, a2 = open_page(browser, node)
    cw = None
    try:
        enter(pres, PRES)
        enter(a1, A1)
        enter(a2, A2, lang="en")
        assert state(pres)["me"]["principal"]["kind"] == "staff"
        for p in (pres, a1, a2):
            p.click("#btn-goto")
            p.click("#goto-list button[data-zone=hall]")
        for p in (pres, a1, a2):
            wait_js(p, "() => window.__yakuba.state.zone === 'hall'", timeout=90_000)
            p.wait_for_selector("#hall-panel", state="visible", timeout=10_000)
        # attendees cannot take the stage; the staff member can
        assert not a1.is_visible("#hall-present") and not a1.is_visible("#hall-agenda-mod")
        assert a1.inner_text("#hall-role") == "発表者はまだいません。始まるまでお待ちください。"
        pres.click("#hall-present")
        wait_js(pres, "() => window.__yakuba.state.hall.role.presenter")
        wait_text(a1, "#hall-role", f"発表者: {PRES}さん")
        wait_text(a2, "#hall-role", f"Presenter: {PRES}")

        # the agenda, the next item and a 10-minute timer
        pres.click("#hall-agenda-edit summary")
        pres.fill("#hall-agenda-items", "\n".join(AGENDA))
        pres.click("#hall-agenda-save")
        wait_js(pres, "() => window.__yakuba.state.hall.agenda.items.length === 3")
        pres.click("#hall-agenda-next")
        pres.click("#hall-timer-10")
        for p in (a1, a2):
            wait_text(p, "#hall-agenda-list li.ht-current", AGENDA[1])
            p.wait_for_selector("#hall-timer:not([hidden])")
        assert re.fullmatch(r"残り (9:\d\d|10:00)", a1.inner_text("#hall-timer")), a1.inner_text("#hall-timer")
        assert re.fullmatch(r"(9:\d\d|10:00) left", a2.inner_text("#hall-timer")), a2.inner_text("#hall-timer")
        assert a1.get_attribute("#hall-agenda-list li.ht-current", "aria-current") == "step"
        pres.screenshot(path=str(shots / "hall-meeting-presenter-agenda.png"))

        # attendee 1 asks anonymously (from the keyboard); attendee 2 upvotes it and asks with a name
        a1.fill("#hall-ask-text", Q1)
        a1.check("#hall-ask-anon")
        a1.focus("#hall-ask-send")
        a1.keyboard.press("Enter")
        wait_js(a1, "t => window.__yakuba.state.hall.questions.questions.some(q => q.text === t && q.mine)", Q1)
        qid = next(q["id"] for q in hall(a1)["questions"]["questions"] if q["text"] == Q1)
        a2.wait_for_selector(f"#hall-up-{qid}")
        assert a2.inner_text(f"#hall-q-list li[data-q='{qid}'] .ht-who") == "Anonymous"
        a2.click(f"#hall-up-{qid}")
        a2.fill("#hall-ask-text", Q2)
        a2.click("#hall-ask-send")
        wait_js(pres, "i => window.__yakuba.state.hall.questions.questions.find(q => q.id === i)?.votes === 1", qid)
        wait_text(a1, "#hall-q-list", Q2)
        wait_text(a1, "#hall-q-list", f"{A2}さん")  # asked with a name: shown with it
        assert A1 not in pres.inner_text("#hall-q-list") and A1 not in a2.inner_text("#hall-q-list")
        assert a2.get_attribute(f"#hall-up-{qid}", "aria-pressed") == "true"

        # the presenter puts it on the screen, then marks it answered
        pres.click(f"#hall-pick-{qid}")
        for p in (a1, a2):
            wait_text(p, "#hall-onscreen-text", Q1)
        pres.click("#hall-onscreen-answered")
        wait_text(a1, "#hall-onscreen .ht-done", "回答済み")
        wait_text(a2, "#hall-onscreen .ht-done", "Answered")
        assert next(q for q in hall(a2)["questions"]["questions"] if q["id"] == qid)["answered"] is True
        top(a1)
        a1.screenshot(path=str(shots / "hall-meeting-attendee-question.png"))

        # a poll: prefilled options, replaced by the presenter's; both attendees vote
        pres.click("#hall-poll-new summary")
        assert pres.input_value("#hall-poll-opt-0") and pres.input_value("#hall-poll-opt-1")
        pres.fill("#hall-poll-q", "どちらの案がよいですか")
        pres.fill("#hall-poll-opt-0", OPTIONS[0])
        pres.fill("#hall-poll-opt-1", OPTIONS[1])
        pres.click("#hall-poll-open")
        a1.wait_for_selector("#hall-opt-0", state="visible")
        a2.wait_for_selector("#hall-opt-1", state="visible")
        assert a1.inner_text("#hall-poll-question") == "どちらの案がよいですか"
        a1.fill("#hall-poll-why", WHY)
        a1.click("#hall-opt-0")
        a2.click("#hall-opt-1")
        for p in (pres, a1, a2):
            wait_counts(p, [1, 1])
        assert "1票（50%）" in a1.inner_text("#hall-poll-results")
        assert a1.get_attribute("#hall-opt-0", "aria-pressed") == "true"
        a2.locator("#hall-poll").scroll_into_view_if_needed()
        a2.screenshot(path=str(shots / "hall-meeting-attendee-en-poll.png"))
        pres.click("#hall-poll-close")
        wait_text(a1, "#hall-poll-res-title", "結果")
        wait_text(a2, "#hall-poll-res-title", "Result")
        wait_text(pres, "#hall-poll-res-title", "結果")
        assert not a1.is_visible("#hall-opt-0")  # closed: the chart only

        # reactions: the counters move on every page (one from the keyboard)
        a1.click("#hall-react-clap")
        a1.click("#hall-react-clap")
        a2.click("#hall-react-unclear")
        a2.focus("#hall-react-agree")
        a2.keyboard.press("Enter")
        for p in (pres, a1, a2):
            wait_js(p, "() => ['clap', 'agree', 'unclear'].map(k => document.querySelector('#hall-react-' + k + ' .ht-react-n').dataset.count).join() === '2,1,1'")

        # the summary for the minutes: JSON and Markdown, with the counts and no names
        downloads = []
        pres.on("download", lambda d: downloads.append(d))
        pres.click("#hall-summary")
        wait_js(pres, "() => window.__yakuba.state.hall.summary !== null")
        pres.wait_for_timeout(1500)
        names = sorted(d.suggested_filename for d in downloads)
        assert len(names) == 2 and names[0].endswith(".json") and names[1].endswith(".md"), names
        files = {Path(d.suggested_filename).suffix: Path(d.path()).read_text(encoding="utf-8") for d in downloads}
        s = json.loads(files[".json"])
        assert s["agenda"] == AGENDA
        q = {x["text"]: x for x in s["questions"]}
        assert q[Q1] == {"text": Q1, "votes": 1, "answered": True} and q[Q2]["votes"] == 0
        assert s["polls"][0]["counts"] == [1, 1] and s["polls"][0]["options"] == OPTIONS
        assert s["polls"][0]["reasons"] == [{"option": OPTIONS[0], "why": WHY}]
        assert s["reactions"] == {"clap": 2, "agree": 1, "unclear": 1}
        md = files[".md"]
        assert Q1 in md and Q2 in md and "👍 1人 — 回答済み" in md and f"{OPTIONS[0]}: 1票（50%）" in md and "拍手: 2" in md
        for text in files.values():
            for name in (A1, A2, PRES, "Suzuki", "Taro"):
                assert name not in text, name
        pres.screenshot(path=str(shots / "hall-meeting-presenter.png"))

        # a spectator: no avatar, no name; the same meeting, read-only
        cw, w = open_page(browser, node, path="/hall-watch.html")
        wait_js(w, "() => window.__hallWatch.state.status === 'live'")
        wait_counts(w, [1, 1])
        wait_text(w, "#hall-poll-res-title", "結果")
        wait_text(w, "#hall-onscreen-text", Q1)
        wait_text(w, "#hall-agenda-list li.ht-current", AGENDA[1])
        assert w.inner_text("#hall-react-ro-clap").endswith("2")
        assert w.locator("#hall-ask, #hall-opt-0, #hall-react-clap, #hall-present").evaluate_all(
            "es => es.filter(e => e.offsetParent !== null).length") == 0
        assert A1 not in w.inner_text("body")
        assert len(state(pres)["avatars"]) == 3  # the spectator has no avatar
        assert all(av["zone"] == "hall" for av in state(pres)["avatars"])  # (the co-presenter choice reads these)
        assert pres.inner_text("#hall-presenter-tools .ht-none") == "ホールにほかの職員がいません"
        a1.click("#hall-react-clap")  # it follows live
        wait_js(w, "() => document.querySelector('#hall-react-ro-clap').textContent.endsWith('3')")
        w.screenshot(path=str(shots / "hall-meeting-watch.png"), full_page=True)
        assert axe_serious(w) == []
        w.click("#hw-lang")
        wait_text(w, "#hw-title", "Event hall (watch only)")

        # accessibility of the panel for both roles; then the attendee on a phone-sized window
        assert axe_serious(a1) == []
        assert axe_serious(pres) == []
        a1.click("#btn-settings")
        a1.click("#dlg-settings label:has(input[name=size2][value=xlarge])")
        a1.click("#dlg-settings form button")
        top(a1)
        a1.screenshot(path=str(shots / "hall-meeting-attendee-xlarge.png"))
        small = a1.evaluate("[...document.querySelectorAll('#hall-panel button')].filter(b => b.offsetParent && b.getBoundingClientRect().height < 44).map(b => b.id)")
        assert small == [], small  # every button ≥ 44 px high
        a1.set_viewport_size({"width": 390, "height": 844})
        a1.wait_for_timeout(300)
        top(a1)
        a1.screenshot(path=str(shots / "hall-meeting-attendee-phone.png"))
        a1.click("#hall-toggle")
        assert a1.get_attribute("#hall-toggle", "aria-expanded") == "false" and not a1.is_visible("#hall-body")
        a1.screenshot(path=str(shots / "hall-meeting-attendee-phone-folded.png"))
        # walking out of the hall folds the tools away (into the corridor: its opening in the hall's
        # wall is the nearest, 8 m from the hall's middle; the entrance's is 13 m)
        a2.click("#btn-goto")
        a2.click("#goto-list button[data-zone=corridor]")
        wait_js(a2, "() => window.__yakuba.state.zone !== 'hall'", timeout=90_000)
        a2.wait_for_selector("#hall-panel", state="hidden", timeout=5_000)
        assert hall(a2)["room"] is None
        assert pres.errors == [] and a1.errors == [] and a2.errors == [] and w.errors == []
    finally:
        for c in (cp, c1, c2, cw):
            if c:
                c.close()
