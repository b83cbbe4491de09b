// Documents shown to a room: staff (the hall: the presenter) upload a PDF or an image
// (POST /api/media/docs), show it (`media.doc`), turn its pages and point at it (`media.pointer`,
// at most 10 a second). Everyone in the room follows the room state's `doc`, `page` and
// `pointer`: the file comes from a short-lived address (`media.doc_url`) and is drawn here, PDFs
// with pdf.js (loaded only when a PDF is shown; its worker is a Vite asset), images as <img>.
import { t } from '../i18n.js';
import { apiJson } from '../api.js';

const TYPES = { 'application/pdf': 'pdf', 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/webp': 'webp' };
const EXT = { pdf: 'pdf', png: 'png', jpg: 'jpeg', jpeg: 'jpeg', webp: 'webp' };
const MIME = { pdf: 'application/pdf', png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
const POINTER_MS = 100; // the server takes about 10 a second
const OWN_POINTER_MS = 1500; // the sharer's own dot follows the hand, not the echo

let pdfjs = null;
function loadPdfjs() {
  pdfjs ||= Promise.all([import('pdfjs-dist'), import('pdfjs-dist/build/pdf.worker.min.mjs?url')]).then(([lib, worker]) => {
    lib.GlobalWorkerOptions.workerSrc = worker.default;
    return lib;
  });
  return pdfjs;
}

const el = (tag, cls, attrs = {}) => { const e = document.createElement(tag); if (cls) e.className = cls; Object.assign(e, attrs); return e; };

export function makeDocs({ M, getRoom, getNet, request, config, changed, say, meId, nameOf }) {
  const D = { shown: null, type: null, by: null, pdf: null, img: null, pages: 1, page: 1, loading: false, uploading: false, failed: false, rendered: 0, pointer: null };
  M.doc = D;
  let seq = 0, task = null, ownAt = 0;

  // --- DOM: the view (in the media stage) and the file picker ---
  const view = el('section', 'md-doc', { id: 'media-doc-view', hidden: true });
  view.setAttribute('aria-labelledby', 'media-doc-title');
  const head = el('div', 'md-doc-head');
  const title = el('h3', null, { id: 'media-doc-title' });
  const pageNo = el('span', 'md-page-no', { id: 'media-page' });
  pageNo.setAttribute('aria-live', 'polite');
  head.append(title, pageNo);
  const ctl = el('div', 'md-row md-doc-ctl');
  const prev = el('button', 'btn md-btn', { type: 'button', id: 'media-prev' });
  const next = el('button', 'btn md-btn', { type: 'button', id: 'media-next' });
  const close = el('button', 'btn btn-quiet md-btn', { type: 'button', id: 'media-doc-stop' });
  // Nothing is kept after the session unless staff save it: the one explicit save.
  const keep = el('button', 'btn btn-quiet md-btn', { type: 'button', id: 'media-doc-keep' });
  prev.addEventListener('click', () => turn(-1));
  next.addEventListener('click', () => turn(1));
  close.addEventListener('click', () => stopSharing());
  keep.addEventListener('click', () => keepDoc());
  ctl.append(prev, next, keep, close);
  const hint = el('p', 'md-hint', { id: 'media-pointer-hint' });
  const wrap = el('div', 'md-page-wrap');
  const box = el('div', 'md-page', { id: 'media-page-box', tabIndex: 0 });
  const canvas = el('canvas', 'md-canvas', { id: 'media-doc-canvas' });
  const img = el('img', 'md-img', { id: 'media-doc-img', alt: '', hidden: true });
  const dot = el('div', 'md-pointer', { id: 'media-pointer', hidden: true });
  dot.setAttribute('aria-hidden', 'true');
  const status = el('p', 'md-doc-status', { id: 'media-doc-status' });
  box.append(canvas, img, dot);
  wrap.appendChild(box);
  view.append(head, ctl, hint, status, wrap);

  const file = el('input', 'sr-only', { type: 'file', id: 'media-doc-file', accept: Object.keys(TYPES).join(',') + ',.pdf,.png,.jpg,.jpeg,.webp', tabIndex: -1 });
  file.setAttribute('aria-hidden', 'true');
  document.getElementById('world').appendChild(file);
  file.addEventListener('change', () => { const f = file.files[0]; file.value = ''; if (f) upload(f); });

  const mine = () => D.by != null && D.by === meId();

  // --- sharing (staff, presenter) ---
  function pick() { if (!D.uploading) file.click(); }
  async function upload(f) {
    const room = getRoom();
    const type = TYPES[f.type] || EXT[(f.name.split('.').pop() || '').toLowerCase()];
    if (!room) return;
    if (!type) { say(t('media.docType'), true); return; }
    D.uploading = true;
    changed();
    say(t('media.docUploading'));
    try {
      const max = (await config()).max_doc_bytes;
      if (max && f.size > max) { say(t('media.docTooLarge', { mb: Math.floor(max / 1048576) }), true); return; }
      const r = await apiJson('api/media/docs?room=' + encodeURIComponent(room), { method: 'POST', body: f, headers: { 'Content-Type': MIME[type] } });
      await request('media.doc', { room, doc: r.id, page: 1 });
      say(t('media.docShown'));
    } catch (e) {
      say(errorText(e), true);
    } finally {
      D.uploading = false;
      changed();
    }
  }
  async function turn(d) {
    const room = getRoom();
    const p = Math.min(D.pages, Math.max(1, D.page + d));
    if (!room || !D.shown || p === D.page) return;
    try { await request('media.doc', { room, doc: D.shown, page: p }); } catch (e) { say(errorText(e), true); }
  }
  async function keepDoc() {
    if (!D.shown) return;
    try {
      await apiJson('api/media/docs/' + encodeURIComponent(D.shown) + '/keep', { method: 'POST' });
      say(t('media.docKept'));
    } catch (e) { say(errorText(e), true); }
  }
  async function stopSharing() {
    const room = getRoom();
    if (!room) return;
    sendPointer(null);
    try { await request('media.doc', { room, doc: null }); } catch (e) { say(errorText(e), true); }
  }

  // the sharer points: mouse over the page, or a finger on it
  let lastSent = 0, pending, ptTimer = null;
  function sendPointer(p) {
    pending = p;
    const wait = POINTER_MS - (performance.now() - lastSent);
    if (wait <= 0) flushPointer();
    else if (!ptTimer) ptTimer = setTimeout(flushPointer, wait);
  }
  function flushPointer() {
    ptTimer = null;
    const room = getRoom();
    if (pending === undefined || !room) return;
    const p = pending;
    pending = undefined;
    lastSent = performance.now();
    const r3 = (v) => Math.round(v * 1000) / 1000;
    getNet()?.emit('media.pointer', p ? { room, x: r3(p[0]), y: r3(p[1]) } : { room, x: null, y: null });
  }
  function pointAt(e) {
    if (!mine()) return;
    const r = (D.type === 'pdf' ? canvas : img).getBoundingClientRect();
    if (!r.width || !r.height) return;
    const x = (e.clientX - r.left) / r.width, y = (e.clientY - r.top) / r.height;
    if (x < 0 || x > 1 || y < 0 || y > 1) return;
    ownAt = performance.now();
    drawPointer([x, y]);
    sendPointer([x, y]);
  }
  box.addEventListener('pointermove', pointAt);
  box.addEventListener('pointerdown', (e) => { if (mine()) { pointAt(e); if (e.pointerType !== 'mouse') box.setPointerCapture?.(e.pointerId); } });
  box.addEventListener('pointerleave', (e) => { if (mine() && e.pointerType === 'mouse') { ownAt = performance.now(); drawPointer(null); sendPointer(null); } });
  box.addEventListener('keydown', (e) => {
    if (!mine()) return;
    if (e.key === 'PageDown' || e.key === 'ArrowRight') { e.preventDefault(); turn(1); }
    else if (e.key === 'PageUp' || e.key === 'ArrowLeft') { e.preventDefault(); turn(-1); }
  });

  // --- following the room ---
  /** The room's state changed (or the room did): load, turn and point as it says. */
  function update(state) {
    const doc = state && state.doc;
    if (!doc) { clear(); return; }
    D.by = doc.by;
    D.page = Math.max(1, state.page || 1);
    if (doc.id !== D.shown) load(doc);
    else if (!D.loading) draw();
    if (!(mine() && performance.now() - ownAt < OWN_POINTER_MS)) drawPointer(Array.isArray(state.pointer) ? state.pointer : null);
    render();
  }
  function clear() {
    seq++;
    task?.cancel();
    D.pdf?.destroy?.();
    if (D.img) URL.revokeObjectURL(D.img);
    Object.assign(D, { shown: null, type: null, by: null, pdf: null, img: null, pages: 1, page: 1, loading: false, failed: false, pointer: null });
    img.removeAttribute('src');
    dot.hidden = true;
    render();
  }
  async function load(doc) {
    const room = getRoom();
    const my = ++seq;
    task?.cancel();
    D.pdf?.destroy?.();
    if (D.img) URL.revokeObjectURL(D.img);
    Object.assign(D, { shown: doc.id, type: doc.type, pdf: null, img: null, pages: 1, loading: true, failed: false });
    render();
    try {
      const u = await request('media.doc_url', { room, doc: doc.id });
      const r = await fetch(new URL(u.url, document.baseURI), { credentials: 'same-origin' });
      if (!r.ok) throw new Error(`document ${r.status}`);
      const buf = await r.arrayBuffer();
      if (my !== seq) return;
      D.type = u.type || doc.type;
      if (D.type === 'pdf') {
        const lib = await loadPdfjs();
        const pdf = await lib.getDocument({ data: new Uint8Array(buf), isEvalSupported: false, enableXfa: false }).promise;
        if (my !== seq) { pdf.destroy(); return; }
        D.pdf = pdf;
        D.pages = pdf.numPages;
      } else {
        D.img = URL.createObjectURL(new Blob([buf], { type: MIME[D.type] }));
        D.pages = 1;
      }
      D.loading = false;
      await draw();
    } catch (e) {
      if (my !== seq) return;
      D.loading = false;
      D.failed = true;
      say(t('media.docFailed'), true);
    }
    render();
  }
  /** Draw the room's page as large as the stage allows (sharp on high-density screens). */
  async function draw() {
    if (D.type !== 'pdf') {
      canvas.hidden = true;
      img.hidden = !D.img;
      if (!D.img) return;
      if (img.getAttribute('src') !== D.img) {
        img.src = D.img;
        await img.decode().catch(() => {});
      }
      const [W, H] = space();
      const s = Math.min(W / (img.naturalWidth || W), H / (img.naturalHeight || H), 3);
      img.style.width = `${Math.round((img.naturalWidth || W) * s)}px`;
      img.style.height = `${Math.round((img.naturalHeight || H) * s)}px`;
      D.rendered++;
      return;
    }
    if (!D.pdf) return;
    img.hidden = true;
    canvas.hidden = false;
    const n = Math.min(D.pages, D.page);
    const page = await D.pdf.getPage(n);
    const one = page.getViewport({ scale: 1 });
    const [W, H] = space();
    const dpr = Math.min(3, window.devicePixelRatio || 1);
    const scale = Math.min(W / one.width, H / one.height);
    const vp = page.getViewport({ scale: scale * dpr });
    const key = `${D.shown}:${n}:${Math.round(vp.width)}x${Math.round(vp.height)}`;
    if (canvas.dataset.key === key) return;
    task?.cancel();
    const off = document.createElement('canvas'); // draw aside, then swap: no blank flash between pages
    off.width = Math.round(vp.width);
    off.height = Math.round(vp.height);
    task = page.render({ canvas: off, canvasContext: off.getContext('2d'), viewport: vp });
    try { await task.promise; } catch (e) { return; } // cancelled by a newer page
    canvas.width = off.width;
    canvas.height = off.height;
    canvas.getContext('2d').drawImage(off, 0, 0);
    canvas.style.width = `${Math.round(vp.width / dpr)}px`;
    canvas.style.height = `${Math.round(vp.height / dpr)}px`;
    canvas.dataset.key = key;
    canvas.dataset.page = String(n);
    D.rendered++;
  }
  const space = () => [Math.max(200, wrap.clientWidth - 8), Math.max(200, wrap.clientHeight - 8)];
  let resizeTimer = null;
  new ResizeObserver(() => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => { if ((D.pdf || D.img) && !view.hidden) draw(); }, 150); }).observe(wrap);

  function drawPointer(p) {
    D.pointer = p;
    dot.hidden = !p;
    if (p) { dot.style.left = `${p[0] * 100}%`; dot.style.top = `${p[1] * 100}%`; }
  }

  function render() {
    view.hidden = !D.shown;
    if (!D.shown) return;
    const by = nameOf(D.by);
    title.textContent = mine() ? t('media.docMine') : t('media.docOf', { name: by });
    pageNo.textContent = D.loading ? '' : t('media.page', { n: Math.min(D.page, D.pages), m: D.pages });
    status.textContent = D.loading ? t('media.docLoading') : D.failed ? t('media.docFailed') : '';
    status.hidden = !status.textContent;
    const own = mine();
    ctl.hidden = !own;
    hint.hidden = !own;
    box.classList.toggle('md-pointing', own);
    box.tabIndex = own ? 0 : -1; // the sharer turns pages from the keyboard here (PageUp/PageDown, arrows)
    box.setAttribute('aria-label', t('media.page', { n: Math.min(D.page, D.pages), m: D.pages }) + (own ? ' — ' + t('media.pointerHint') : ''));
    box.setAttribute('role', 'img');
    prev.textContent = '◀ ' + t('media.prev');
    next.textContent = t('media.next') + ' ▶';
    prev.disabled = D.page <= 1;
    next.disabled = D.page >= D.pages;
    close.textContent = t('media.docStop');
    keep.textContent = t('media.docKeep');
    hint.textContent = t('media.pointerHint');
  }

  return { D, view, pick, update, render, clear, stopSharing };
}

function errorText(e) {
  const k = 'error.' + (e && e.code);
  const s = t(k);
  return s === k ? t('media.docFailed') : s;
}
