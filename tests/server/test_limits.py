"""Chat limits and the pluggable word filter, unit and over real sockets."""

from __future__ import annotations

import logging

from yakuba.server.app import HUB_KEY
from yakuba.server.realtime.limits import MaskingFilter, TokenBucket

from .realtime_client import Peer, running_app, until


def test_token_bucket_refills_at_its_rate():
    b = TokenBucket(rate=2, burst=3)
    now = b.stamp
    assert [b.take(now=now) for _ in range(4)] == [True, True, True, False]
    assert b.take(now=now + 0.49) is False
    assert b.take(now=now + 0.51 + 0.49) is True


def test_masking_filter_masks_listed_words_case_insensitively():
    f = MaskingFilter(["ばか", "Spam"])
    assert f.apply("ばかだなあ SPAM spam") == "＊＊だなあ ＊＊＊＊ ＊＊＊＊"
    assert MaskingFilter().apply("そのまま") == "そのまま"


async def test_chat_length_rate_and_filter_over_sockets(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with running_app(tmp_path, word_filter=("ばか",)) as (url, app):
        a, b = await Peer(url).connect(), await Peer(url).connect()
        try:
            await a.join()
            await b.join()
            await a.emit("chat", {"text": "x" * 501})
            await until(lambda: any(e["code"] == "too_long" for e in a.errors), what="too_long")
            await a.emit("chat", {"text": "あなたはばかですか"})
            await until(lambda: any("＊＊" in c["text"] for c in b.chats), what="masked chat")
            assert not any("ばか" in c["text"] for c in b.chats)
            for i in range(8):
                await a.emit("chat", {"text": f"連投{i}"})
            await until(lambda: any(e["code"] == "rate_limited" for e in a.errors), what="rate limited")
            got = [c for c in b.chats if c["text"].startswith("連投")]
            assert 1 <= len(got) < 8
            # Chat content never reaches the server's logs or state.
            hub = app[HUB_KEY]
            assert "連投" not in repr(hub.__dict__)
            assert not [r for r in caplog.records if "連投" in r.getMessage() or "ばか" in r.getMessage()]
        finally:
            await a.close()
            await b.close()
