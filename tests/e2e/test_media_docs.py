"""A document shown in a booth (issue #17): staff upload a PDF from the media bar, turn to page 2
and point at it; the resident's page draws that page with pdf.js (in the browser, no server-side
rendering) and the shared pointer over it. The staff page runs in English, the resident's in
Japanese: the screenshots show the media bar in both."""

from __future__ import annotations

import time

import pytest

from .conftest import MEDIA_ENV, axe_serious, staffed_node
from .test_media_booth import media, open_page, start_walk, wait_zone
from .test_web_client import PHONE, enter

pytestmark = [pytest.mark.browser, pytest.mark.slow]
BOOTH = "booth3"
COLOURS = [(0.10, 0.35, 0.65), (0.80, 0.25, 0.15), (0.15, 0.55, 0.25)]


def tiny_pdf(pages: int = 3) -> bytes:
    """A valid PDF of ``pages`` Letter pages, each a coloured band with "Page N" and a box whose
    width grows with N; written by hand (objects, a cross-reference table with real offsets)."""
    objs: list[bytes] = []
    n_fixed = 3  # catalog, page tree, font
    kids = " ".join(f"{n_fixed + 1 + 2 * i} 0 R" for i in range(pages))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i in range(pages):
        r, g, b = COLOURS[i % len(COLOURS)]
        content = (f"{r} {g} {b} rg 36 560 540 196 re f\n"
                   f"BT /F1 72 Tf 1 1 1 rg 72 620 Td (Page {i + 1}) Tj ET\n"
                   f"0 0 0 rg BT /F1 28 Tf 72 480 Td (Yakuba document test, page {i + 1} of {pages}) Tj ET\n"
                   f"0.9 0.6 0.1 rg 72 120 {120 * (i + 1)} 240 re f\n").encode()
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                    f"/Contents {n_fixed + 2 + 2 * i} 0 R >>".encode())
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    yield from staffed_node(tmp_path_factory, "yakuba-media-docs", "sato", env=MEDIA_ENV)


INK = """() => {
  const c = document.querySelector('#media-doc-canvas');
  if (!c || !c.width) return {w: 0, ink: 0, colour: null};
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0, red = 0;
  for (let i = 0; i < d.length; i += 16) {
    const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
    if (r + g + b < 700) ink++;
    if (r > 150 && g < 110 && b < 90) red++;  // page 2's band is red
  }
  return {w: c.width, h: c.height, ink: ink / (d.length / 16), red: red / (d.length / 16), page: c.dataset.page};
}"""


def test_staff_show_a_pdf_page_and_point_the_resident_follows(media_browser, node, shots, artifacts):
    cs, staff = open_page(media_browser, node, staff=True)
    cr, res = open_page(media_browser, node)
    cp, phone = open_page(media_browser, node, **PHONE)  # a resident on a phone watches too
    try:
        enter(staff, "Sato", lang="en")
        start_walk(staff, BOOTH)
        enter(res, "区民たろう")
        start_walk(res, BOOTH)
        enter(phone, "スマホの人")
        start_walk(phone, BOOTH)
        for p in (staff, res, phone):
            wait_zone(p, BOOTH)
        staff.wait_for_selector("#media-doc", state="visible", timeout=10_000)
        res.wait_for_selector("#media-bar", state="visible", timeout=10_000)
        phone.wait_for_selector("#media-bar", state="visible", timeout=10_000)
        assert not phone.is_visible("#media-screen")  # phones view; no screen share offered there
        assert staff.is_visible("#media-screen")
        assert staff.inner_text("#media-doc") == "Show a document"
        assert staff.inner_text("#media-state") == "Microphone off"
        assert not res.is_visible("#media-doc")  # residents watch documents, they do not show them
        staff.screenshot(path=str(shots / "media-bar-en-staff.png"))
        res.screenshot(path=str(shots / "media-bar-ja-resident.png"))

        pdf = tiny_pdf(3)
        with staff.expect_file_chooser() as fc:
            staff.click("#media-doc")
        fc.value.set_files(files=[{"name": "guide.pdf", "mimeType": "application/pdf", "buffer": pdf}])
        # both follow the room: the document is loaded and drawn, page 1 of 3
        for p in (staff, res, phone):
            p.wait_for_function("() => { const d = window.__yakuba.state.media.doc; return d.shown && d.rendered > 0 && d.pages === 3 }",
                                timeout=20_000)
        assert "1 / 3" in res.inner_text("#media-page")
        assert not res.is_visible("#media-next")  # only the one who shows it turns the pages

        staff.click("#media-next")
        res.wait_for_function("() => { const d = window.__yakuba.state.media.doc; return d.page === 2 && "
                              "document.querySelector('#media-doc-canvas').dataset.page === '2' }", timeout=10_000)
        assert "2 / 3" in res.inner_text("#media-page")
        assert staff.inner_text("#media-page") == "Page 2 of 3"

        # the staff member points at a spot on the page with the mouse
        box = staff.locator("#media-doc-canvas").bounding_box()
        assert box and box["width"] > 100
        for k in range(6):  # a short glide to (0.30, 0.40) of the page
            staff.mouse.move(box["x"] + box["width"] * (0.2 + 0.02 * k), box["y"] + box["height"] * (0.3 + 0.02 * k))
            time.sleep(0.12)
        res.wait_for_function("""() => { const p = window.__yakuba.state.media.doc.pointer;
            return p && Math.abs(p[0] - 0.30) < 0.02 && Math.abs(p[1] - 0.40) < 0.02 }""", timeout=10_000)
        res.wait_for_selector("#media-pointer", state="visible")
        # the dot sits where the staff member points, on the resident's own drawing of the page
        rb = res.locator("#media-doc-canvas").bounding_box()
        dot = res.locator("#media-pointer").bounding_box()
        assert rb and dot and dot["width"] >= 30
        cx, cy = dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2
        assert abs((cx - rb["x"]) / rb["width"] - 0.30) < 0.03 and abs((cy - rb["y"]) / rb["height"] - 0.40) < 0.03

        ink = res.evaluate(INK)
        assert ink["w"] > 200 and ink["ink"] > 0.05, ink  # not blank
        assert ink["red"] > 0.05 and ink["page"] == "2", ink  # and it is page 2 (the red band)
        phone.wait_for_selector("#media-pointer", state="visible", timeout=10_000)
        assert phone.evaluate(INK)["page"] == "2"
        time.sleep(0.3)
        res.screenshot(path=str(artifacts / "media_doc_pointer.png"))
        staff.screenshot(path=str(shots / "media-doc-staff-en.png"))
        phone.screenshot(path=str(shots / "media-doc-phone.png"))
        assert axe_serious(res) == []

        # only the staff member may save it; it is kept only when they do (data folder, 0600)
        assert not res.is_visible("#media-doc-keep")
        kept = node.data / "documents"
        assert not kept.exists() or not any(kept.iterdir())
        staff.click("#media-doc-keep")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (kept.exists() and any(kept.iterdir())):
            time.sleep(0.1)
        files = list(kept.iterdir())
        assert len(files) == 1 and files[0].suffix == ".pdf" and files[0].stat().st_mode & 0o777 == 0o600
        # the staff member stops showing it: gone for the resident too
        staff.click("#media-doc-stop")
        res.wait_for_function("() => !window.__yakuba.state.media.doc.shown", timeout=10_000)
        assert not res.is_visible("#media-doc-view")
        assert staff.errors == [] and res.errors == [] and phone.errors == []  # type: ignore[attr-defined]
        assert media(res)["errors"] == []
    finally:
        for c in (cs, cr, cp):
            c.close()


@pytest.fixture(scope="session")
def artifacts():
    from .conftest import REPO

    d = REPO / "artifacts"
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_the_pdf_generator_writes_true_offsets():
    pdf = tiny_pdf(2)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref:xref + 4] == b"xref"
    rows = pdf[xref:].split(b"\n")[3:3 + 7]  # objects 1..7 (catalog, pages, font, 2 x page + content)
    for n, row in enumerate(rows, start=1):
        off = int(row[:10])
        assert pdf[off:].startswith(b"%d 0 obj" % n)
