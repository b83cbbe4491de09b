"""docs/protocol.md documents every event of the registry, every error code and the join ack."""

from __future__ import annotations

import re
from pathlib import Path

from yakuba.server.protocol import HTTP_STATUS, ErrorCode, JoinAck
from yakuba.server.protocol.events import EVENTS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = DOC.index("\n## " + title)
    nxt = DOC.find("\n## ", start + 4)
    return DOC[start:nxt if nxt != -1 else None]


def _rows(section: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z_.]+)` \|", section, flags=re.M))  # dotted: queue.take


def test_every_event_has_a_row_in_its_direction():
    to_server = _rows(_section("Client → server events"))
    to_client = _rows(_section("Server → client events"))
    missing = [f"{e.direction}:{e.name}" for e in EVENTS
               if e.name not in (to_server if e.direction == "in" else to_client)]
    assert not missing, f"docs/protocol.md misses {missing}"
    # and the rows name the model that holds the payload
    for e in EVENTS:
        sec = _section("Client → server events" if e.direction == "in" else "Server → client events")
        row = re.search(rf"^\| `{re.escape(e.name)}` \|.*$", sec, flags=re.M).group(0)
        assert e.model.__name__ in row, f"row of {e.name} does not name {e.model.__name__}"


def test_every_error_code_is_listed_with_its_status():
    sec = _section("Error codes")
    for c in ErrorCode:
        status = str(HTTP_STATUS[c]) if c in HTTP_STATUS else "—"
        assert re.search(rf"^\| `{c.value}` \| {status} \|", sec, flags=re.M), f"{c.value} ({status}) not in docs"


def test_join_ack_fields_are_documented():
    sec = DOC[DOC.index("### The join ack"):]
    documented = {f for row in re.findall(r"^\| (`[^|]+`) \|", sec, flags=re.M) for f in re.findall(r"`([a-z_]+)`", row)}
    assert set(JoinAck.model_fields) <= documented
