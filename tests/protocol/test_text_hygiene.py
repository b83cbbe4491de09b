"""Names and chat are cleaned the same way: no control, bidi or other invisible characters,
combining marks bounded, whitespace collapsed. Chat keeps what the resident typed otherwise."""

from __future__ import annotations

import pytest

from yakuba.server.protocol import ErrorCode, ProtocolError, parse
from yakuba.server.protocol.events import MAX_MARKS, clean_chat, clean_text

ATTACKS = [
    "\u202eevil\u202c",  # RLO ... PDF
    "a\u2066b\u2067c\u2068d\u2069",  # bidi isolates
    "x\u061cy",  # Arabic letter mark
    "\x1b[31mred\x1b[0m",  # ESC sequences
    "nul\x00byte",
    "line\r\nbreak",
    "zero\u200bwidth\u2060joiner\ufeff",
    "soft\u00adhyphen",
    "mongolian\u180evowel",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_invisible_and_control_characters_are_removed(text: str) -> None:
    for out in (clean_text(text), clean_chat(text), parse("chat", {"text": text}).text, parse("join", {"name": text[:24]}).name or ""):
        assert all(ord(ch) >= 0x20 and ch not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c\u200b\u2060\ufeff\u00ad\u180e\x7f" for ch in out), repr(out)


def test_combining_marks_are_bounded_and_japanese_is_untouched() -> None:
    zalgo = "a" + "\u0301" * 300 + "b"
    assert clean_chat(zalgo) == "a" + "\u0301" * MAX_MARKS + "b"
    for text in ("住吉区役所へようこそ", "ガギグゲゴ", "Việt Nam", "👨\u200d👩\u200d👧 family"):
        assert clean_chat(text) == text  # ZWJ emoji sequences and real marks stay
    assert clean_chat("１２３　ｶﾀｶﾅ") == "１２３ ｶﾀｶﾅ"  # chat: no NFKC, only the space collapsed
    assert clean_text("１２３ｶﾀｶﾅ") == "123カタカナ"  # names: NFKC


def test_chat_of_only_invisible_characters_is_refused_over_the_handler_rule() -> None:
    msg = parse("chat", {"text": "\u202e\u2066\x00"})
    assert msg.text == ""  # the handler answers invalid_payload "empty message" for this
    with pytest.raises(ProtocolError) as e:
        parse("chat", {"text": 5})
    assert e.value.code is ErrorCode.INVALID_PAYLOAD
