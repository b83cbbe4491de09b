"""Documents are judged by their content, not their name or declared type."""

from __future__ import annotations

import pytest

from yakuba.server.media.documents import DocumentError, DocumentShelf, check, sniff

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
PDF = b"%PDF-1.7\n<< /Type /Pages /Count 1 >>\n<< /Type /Page >>\n%%EOF\n"


@pytest.mark.parametrize("data,kind", [(PDF, "pdf"), (PNG, "png"), (b"\xff\xd8\xff\xe0" + b"\0" * 8, "jpeg"),
                                       (b"RIFF\0\0\0\0WEBPVP8 ", "webp"), (b"<html><script>", None),
                                       (b"MZ\x90\0", None), (b"GIF89a", None), (b" %PDF-1.4", None)])
def test_sniff(data, kind):
    assert sniff(data) == kind


@pytest.mark.parametrize("data,code", [(b"", "empty"), (b"<svg onload=alert(1)>", "unsupported_document"),
                                       (PDF[:-7], "unsupported_document"), (PNG * 100, "too_large")])
def test_refused(data, code):
    with pytest.raises(DocumentError) as e:
        check(data, 1000)
    assert e.value.code == code


def test_page_count_ignores_the_pages_node():
    assert check(PDF, 1000) == ("pdf", 1)


def test_keep_writes_a_private_file_once(tmp_path):
    shelf = DocumentShelf(1000, tmp_path / "docs")
    doc = shelf.add("booth1", PDF, "staff:1")
    p = shelf.keep(doc)
    assert p.read_bytes() == PDF and (p.stat().st_mode & 0o777) == 0o600
    assert shelf.keep(doc) == p and len(list((tmp_path / "docs").iterdir())) == 1


def test_a_room_holds_a_bounded_number_of_documents():
    shelf = DocumentShelf(1000)
    ids = [shelf.add("booth1", PNG, "staff:1").id for _ in range(12)]
    assert [i for i in ids if shelf.get(i)] == ids[-8:]
