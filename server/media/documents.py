"""Documents staff show in a room (資料共有): checked by content, kept for the session only.

A document is bytes in memory tied to one room. It is never rendered here: the browser renders
it (pdf.js), so an untrusted file never runs through a parser on the server. What the server
checks is the content's signature (not the name or the declared type), the size, and for a PDF
that it looks like one (header, an end-of-file marker) and its page count for the viewer.

It is deleted when its room empties, when staff upload a replacement beyond the per-room cap,
or at the end of the session; ``keep`` (staff's explicit save) writes it to the data folder.
Members fetch it through a signed address that names the avatar and expires (``sign``/``check``):
a member who leaves or is locked out cannot fetch it again even with an old link.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

DOC_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
MAX_DOCS_PER_ROOM = 8
_PAGES = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


class DocumentError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sniff(data: bytes) -> str | None:
    """The document type by its first bytes, or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check(data: bytes, max_bytes: int) -> tuple[str, int | None]:
    """(type, pages) of an acceptable document; DocumentError otherwise."""
    if not data:
        raise DocumentError("empty", "the document is empty")
    if len(data) > max_bytes:
        raise DocumentError("too_large", f"documents are limited to {max_bytes // (1024 * 1024)} MB")
    kind = sniff(data)
    if kind is None:
        raise DocumentError("unsupported_document", "only PDF, PNG, JPEG and WebP documents can be shared")
    pages = None
    if kind == "pdf":
        if b"%%EOF" not in data[-2048:]:
            raise DocumentError("unsupported_document", "the PDF is incomplete (no end-of-file marker)")
        # A count for the viewer's "page N of M"; pdf.js has the last word (objects in streams
        # are not counted here, so this may be low: the browser corrects it).
        pages = len(_PAGES.findall(data)) or None
    return kind, pages


@dataclass
class Document:
    id: str
    room: str
    type: str
    data: bytes
    owner: str  # the uploading principal's key (an id, not a name)
    pages: int | None = None
    created: float = field(default_factory=time.time)

    def public(self) -> dict:
        return {"id": self.id, "type": self.type, "bytes": len(self.data), "pages": self.pages}


class DocumentShelf:
    """The session's documents, by id; per room at most MAX_DOCS_PER_ROOM (oldest go first)."""

    def __init__(self, max_bytes: int, keep_dir: Path | None = None, key: bytes | None = None) -> None:
        self.max_bytes = max_bytes
        self.keep_dir = keep_dir
        self.key = key or secrets.token_bytes(32)  # signs addresses; a restart invalidates them
        self.docs: dict[str, Document] = {}

    def add(self, room: str, data: bytes, owner: str, checked: tuple[str, int | None] | None = None) -> Document:
        """``checked``: check(data)'s answer when the caller ran it already (off the event loop:
        a 20 MB PDF's page count is a scan of every byte)."""
        kind, pages = checked or check(data, self.max_bytes)
        in_room = sorted((d for d in self.docs.values() if d.room == room), key=lambda d: d.created)
        for old in in_room[: max(0, len(in_room) - MAX_DOCS_PER_ROOM + 1)]:
            del self.docs[old.id]
        doc = Document(secrets.token_urlsafe(12), room, kind, data, owner, pages)
        self.docs[doc.id] = doc
        return doc

    def get(self, doc_id: str) -> Document | None:
        return self.docs.get(doc_id)

    def drop_room(self, room: str) -> int:
        """The room emptied: its documents go (nothing kept after the session)."""
        gone = [k for k, d in self.docs.items() if d.room == room]
        for k in gone:
            del self.docs[k]
        return len(gone)

    def keep(self, doc: Document) -> Path:
        """Staff's explicit save: the file in the data folder (0600), named by its hash."""
        if self.keep_dir is None:
            raise DocumentError("not_found", "saving documents is not configured")
        self.keep_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.keep_dir / f"{hashlib.sha256(doc.data).hexdigest()[:32]}.{doc.type}"
        if not path.exists():
            tmp = path.with_suffix(".part")
            tmp.write_bytes(doc.data)
            tmp.chmod(0o600)
            tmp.replace(path)
        return path

    # -- signed addresses ----------------------------------------------------------------------
    def sign(self, doc_id: str, avatar: int, ttl_s: int, now: float | None = None) -> str:
        exp = int((time.time() if now is None else now) + ttl_s)
        mac = hmac.new(self.key, f"{doc_id}:{avatar}:{exp}".encode(), hashlib.sha256).hexdigest()[:32]
        return f"{avatar}.{exp}.{mac}"

    def verify(self, doc_id: str, token: str, now: float | None = None) -> int | None:
        """The avatar a valid, unexpired token was issued to; None otherwise."""
        try:
            a, e, mac = token.split(".")
            avatar, exp = int(a), int(e)
        except ValueError:
            return None
        good = hmac.new(self.key, f"{doc_id}:{avatar}:{exp}".encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(good, mac) or exp < (time.time() if now is None else now):
            return None
        return avatar


__all__ = ["DOC_TYPES", "Document", "DocumentError", "DocumentShelf", "check", "sniff"]
