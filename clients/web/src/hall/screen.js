// The event hall's big screen (issue #18): while the visitor is in the hall, the city model view
// (model/view.js) is shown large over the 3D scene, where the hall's screens hang, following the
// room's `show` (the presenter's view document: dataset, colouring, runs, time, camera, mark).
// The presenter drives it: every change of theirs goes out as a `hall.show` patch (camera at most
// 10 a second); an attendee who drags the view looks round alone until 「発表者の視点に戻る」.
// The model table in the hall shows the same district, coloured the same (view-table.js).
//
// Light on purpose: main.js imports this file in its first chunk; three.js and the model view
// come in screen-view.js, loaded the first time the visitor walks into the hall.
import './screen.css';
import { t, getLang } from '../i18n.js';

const hs = (key, vars) => t('hall_screen.' + key, vars);
const CAMERA_MS = 100; // the presenter's camera: at most 10 patches a second
const PLAY_SYNC_MS = 2000; // while playing, the presenter re-sends the time (late arrivals, drift)

function el(tag, cls, attrs = {}) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  return e;
}

export function mountHallScreen({ S, getNet, toast, getWorld = () => null }) {
  const H = {
    zone: null, state: null, sv: null, loading: null, presenter: false, appliedV: -1,
    enlarged: false, hidden: false, sent: 0, refused: [], controls: null,
  };
  // ---------------------------------------------------------------- the panel
  const panel = el('section', 'hs-panel', { id: 'hall-screen', 'aria-labelledby': 'hs-title' });
  panel.hidden = true;
  const head = el('header', 'hs-head');
  const title = el('h2', 'hs-title', { id: 'hs-title' });
  const caption = el('p', 'hs-caption', { id: 'hs-caption' });
  const bEnlarge = el('button', 'btn hs-btn', { type: 'button', id: 'hs-enlarge', 'aria-pressed': 'false' });
  const bHide = el('button', 'btn btn-quiet hs-btn', { type: 'button', id: 'hs-hide' });
  const btns = el('div', 'hs-head-btns');
  btns.append(bEnlarge, bHide);
  head.append(title, caption, btns);
  const stage = el('div', 'hs-stage');
  const viewEl = el('div', 'hs-view', { id: 'hs-view', tabindex: '0', role: 'img' });
  const splitBar = el('div', 'hs-split', { id: 'hs-split-bar', 'aria-hidden': 'true' });
  splitBar.hidden = true;
  const splitA = el('span', 'hs-split-a'), splitB = el('span', 'hs-split-b');
  splitBar.append(splitA, splitB);
  const msg = el('p', 'hs-msg', { id: 'hs-msg', role: 'status', 'aria-live': 'polite' });
  const legend = el('ul', 'hs-legend', { id: 'hs-legend' });
  const note = el('p', 'hs-note', { id: 'hs-note' });
  const mode = el('p', 'hs-mode', { id: 'hs-mode' });
  const bSnap = el('button', 'btn btn-primary hs-snap', { type: 'button', id: 'hs-snap' });
  bSnap.hidden = true;
  stage.append(viewEl, splitBar, msg, legend, note, mode, bSnap);
  const controlsBox = el('div', 'hs-controls', { id: 'hs-controls', 'aria-labelledby': 'hs-controls-title' });
  controlsBox.hidden = true;
  panel.append(head, stage, controlsBox);
  const bShow = el('button', 'btn btn-primary hs-reopen', { type: 'button', id: 'hs-show' });
  bShow.hidden = true;
  const host = document.getElementById('world') || document.body;
  host.append(panel, bShow);

  bEnlarge.addEventListener('click', () => { H.enlarged = !H.enlarged; render(); place(); });
  bHide.addEventListener('click', () => { H.hidden = true; H.enlarged = false; render(); });
  bShow.addEventListener('click', () => { H.hidden = false; render(); place(); viewEl.focus(); });
  bSnap.addEventListener('click', () => { H.sv?.view.snapBack(); viewEl.focus(); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && H.enlarged && !panel.hidden) { H.enlarged = false; render(); place(); } });

  // ---------------------------------------------------------------- where it goes on the page
  /** Over the hall's screens (world.js hall.screenRect), at least 60 % of the viewport, beside
   * the meeting tools' panel when there is room for both. */
  function place() {
    if (panel.hidden || H.enlarged) { panel.style.cssText = ''; return; }
    const W = window.innerWidth, rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    let lo = 0.5 * rem, hi = W - 0.5 * rem;
    const tools = document.getElementById('hall-panel');
    const tr = tools && !tools.hidden ? tools.getBoundingClientRect() : null;
    if (tr && tr.width && tr.left - rem - lo >= 0.6 * W) hi = tr.left - 0.5 * rem;
    const width = Math.max(Math.min(hi - lo, W - rem), Math.min(0.6 * W, W - rem));
    const sr = getWorld()?.hall?.screenRect?.();
    const centre = sr && sr.visible ? (sr.left + sr.right) / 2 : (lo + hi) / 2;
    const left = Math.max(lo, Math.min(hi - width, centre - width / 2));
    panel.style.left = `${Math.round(left)}px`;
    panel.style.width = `${Math.round(width)}px`;
    // under the media bar (voice, shared screen) when it is up: both stay usable
    let top = 5.5 * rem;
    const dock = document.getElementById('media-dock');
    const bar = dock && !dock.hidden ? dock.querySelector('.md-bar') || dock : null;
    const br = bar ? bar.getBoundingClientRect() : null;
    if (br && br.height && br.right > left && br.left < left + width) top = Math.max(top, br.bottom + 0.4 * rem);
    panel.style.top = `${Math.round(top)}px`;
  }
  window.addEventListener('resize', place);
  const placeTimer = setInterval(() => { if (!panel.hidden) place(); }, 1000); // the bars beside it come and go

  // ---------------------------------------------------------------- the model view, loaded lazily
  function ensureView() {
    if (H.sv || H.loading) return H.loading;
    msg.textContent = hs('loading');
    H.loading = import('./screen-view.js').then(({ createScreenView }) => {
      const w = getWorld();
      H.sv = createScreenView(viewEl, { lang: getLang(), kind: H.presenter ? 'presenter' : 'follow', table: w?.hall?.table || null });
      const v = H.sv.view;
      v.onChange(queue);
      v.onDetach(() => render());
      v.onStatus(() => render());
      v.onFrame(() => renderCaption());
      H.loading = null;
      if (H.state) follow(true);
      render();
    }).catch((e) => { H.loading = null; msg.textContent = `${hs('load_failed')} (${e.message})`; });
    return H.loading;
  }

  // ---------------------------------------------------------------- presenter -> hall.show
  let pending = null, pendingClear = new Set(), camTimer = null, lastCam = 0, flushQueued = false;
  /** A change from the view or the controls: merged with the others of this moment, camera
   * moves held back to 10 a second (the last one always goes). */
  function queue(patch) {
    if (!H.presenter) return;
    const { clear, ...rest } = patch;
    pending = { ...(pending || {}), ...rest };
    for (const k of clear || []) { pendingClear.add(k); delete pending[k]; }
    for (const k of Object.keys(rest)) pendingClear.delete(k);
    const onlyCamera = Object.keys(pending).every((k) => k === 'camera') && !pendingClear.size;
    if (onlyCamera) {
      const wait = CAMERA_MS - (performance.now() - lastCam);
      if (wait > 0) { if (!camTimer) camTimer = setTimeout(flush, wait); return; }
    }
    if (!flushQueued) { flushQueued = true; queueMicrotask(flush); }
  }
  async function flush() {
    flushQueued = false;
    clearTimeout(camTimer);
    camTimer = null;
    if (!pending && !pendingClear.size) return;
    const patch = pending || {}, clear = [...pendingClear];
    pending = null;
    pendingClear = new Set();
    if (patch.camera) lastCam = performance.now();
    const net = getNet();
    if (!net || !H.zone) return;
    H.sent++;
    const ack = await net.request('hall.show', { room: H.zone, patch, clear });
    if (!ack?.ok) {
      const code = ack?.error?.code || 'unknown';
      H.refused.push(code);
      toast?.(hs('sent_failed', { msg: ack?.error?.message || code }));
    }
  }
  setInterval(() => {
    const v = H.sv?.view;
    if (H.presenter && v && v.S.playing) queue({ t: Math.round(v.S.t), playing: true, speed: v.S.speed });
  }, PLAY_SYNC_MS);

  // ---------------------------------------------------------------- following the room
  /** The room's state changed (or the view just arrived): presenter or audience, and the show. */
  function follow(fresh = false) {
    const st = H.state;
    const me = S.me?.id ?? null;
    const nowPresenter = !!st && me !== null && st.presenter === me;
    const v = H.sv?.view;
    if (nowPresenter !== H.presenter) {
      H.presenter = nowPresenter;
      fresh = true; // a new role starts from the room's show
      if (v) v.setControls(nowPresenter ? 'presenter' : 'follow');
      mountControls();
    }
    if (!v || !st) { render(); return; }
    // the presenter's own view is the truth: the echo of their patches is not applied back
    // (a fast scrub would jump back to an older time); everyone else follows each version
    if ((!H.presenter || fresh) && (st.show_v !== H.appliedV || fresh)) {
      H.appliedV = st.show_v;
      v.applyShow(st.show);
    } else if (H.presenter) H.appliedV = st.show_v;
    render();
  }
  async function mountControls() {
    H.controls?.destroy();
    H.controls = null;
    controlsBox.replaceChildren();
    controlsBox.hidden = !H.presenter;
    if (!H.presenter) return;
    await ensureView();
    if (!H.presenter || H.controls) return;
    const { mountPresenterControls } = await import('./screen-presenter.js');
    if (!H.presenter || H.controls) return;
    H.controls = mountPresenterControls(controlsBox, { sv: H.sv, hs, send: queue, say: (s) => toast?.(s), room: () => H.state });
    render();
  }

  // ---------------------------------------------------------------- drawing the panel
  function renderCaption() {
    const sv = H.sv, v = sv?.view;
    const parts = [];
    if (v && v.S.meta) {
      const S2 = v.S;
      const A = S2.runs.A, B = S2.runs.B, ab = S2.split !== null && A && B;
      if (S2.mode === 'fire' && A) {
        parts.push(ab ? hs('caption_ab', { a: A.label || '', b: B.label || '' }) : hs('caption_sim', { name: (S2.runs[S2.shown] || A).label || '' }));
        parts.push(hs('caption_time', { time: sv.fmtTime(S2.t) }));
        const cA = v.fireCounts('A'), cB = v.fireCounts('B');
        parts.push(ab ? hs('caption_burnt_ab', { a: cA.burnt + cA.burning, b: cB.burnt + cB.burning }) : hs('caption_burnt', { n: cA.burnt + cA.burning }));
      } else parts.push(`${S2.meta.name}・${sv.label(`mode_${S2.mode}`)}`);
    }
    const key = parts.join('|');
    if (caption.dataset.key === key) return;
    caption.dataset.key = key;
    // each part whole on its line: a wrapped caption never breaks a time or a count in two
    caption.replaceChildren(...parts.map((p) => el('span', 'hs-cap', { text: p })));
  }

  function render() {
    const inHall = !!H.state;
    const show = inHall && !H.hidden;
    panel.hidden = !show;
    bShow.hidden = !(inHall && H.hidden);
    panel.classList.toggle('hs-enlarged', H.enlarged);
    panel.dataset.role = H.presenter ? 'presenter' : 'audience';
    title.textContent = hs('title');
    bShow.textContent = hs('show');
    bEnlarge.textContent = hs(H.enlarged ? 'shrink' : 'enlarge');
    bEnlarge.setAttribute('aria-pressed', String(H.enlarged));
    bHide.textContent = hs('hide');
    bSnap.textContent = hs('snap_back');
    viewEl.setAttribute('aria-label', hs('view_aria'));
    note.textContent = hs('note');
    H.sv?.view.pause(!show);
    if (!show) return;
    const v = H.sv?.view;
    const S2 = v?.S;
    bSnap.hidden = !(v && S2.detached && !H.presenter);
    mode.textContent = !v ? '' : H.presenter ? hs('presenting') : S2.detached ? hs('detached') : hs('following');
    mode.dataset.state = H.presenter ? 'presenting' : S2?.detached ? 'detached' : 'following';
    let m = '';
    if (H.loading) m = hs('loading');
    else if (v && !S2.ds) m = hs('waiting');
    else if (v && S2.loadError) m = hs('load_failed');
    else if (v && !S2.meta) m = hs('loading');
    else if (v && S2.simError) m = hs(S2.simError === 'unknown_simulation' ? 'sim_forbidden' : 'sim_failed');
    else if (v && ((S2.show?.sim && !S2.runs.A) || (S2.show?.sim_b && !S2.runs.B))) m = hs('sim_loading');
    msg.textContent = m;
    msg.hidden = !m;
    note.hidden = !(S2 && S2.mode === 'fire' && S2.runs.A);
    const ab = S2 && S2.split !== null && S2.split !== undefined && S2.mode === 'fire' && S2.runs.A && S2.runs.B;
    splitBar.hidden = !ab;
    if (ab) {
      splitBar.style.left = `${(S2.split * 100).toFixed(2)}%`;
      splitA.textContent = `A ${S2.runs.A.label || ''}`;
      splitB.textContent = `B ${S2.runs.B.label || ''}`;
    }
    if (H.sv) { H.sv.renderLegend(legend); if (!H.sv.table) H.sv.attachTable(getWorld()?.hall?.table); }
    renderCaption();
    H.controls?.render();
  }

  // read-only test hook (like the model page's window.__model): where buildings are on the screen
  if (!window.__hallScreen) {
    Object.defineProperty(window, '__hallScreen', {
      value: Object.freeze({
        screenPointOf: (fid) => H.sv?.probe.screenPointOf(fid) ?? null,
        gmlIdOf: (fid) => H.sv?.probe.gmlIdOf(fid) ?? null,
        get buildings() { return H.sv?.probe.buildings ?? 0; },
      }),
    });
  }

  return {
    /** The hall room's state (the `room` state, or it after a `room_patch`), or null: left. */
    onRoom(state) {
      H.state = state || null;
      if (H.state && !H.hidden) ensureView();
      follow();
      place();
    },
    onZone(zone) {
      H.zone = zone;
      const hallZone = getWorld()?.hall?.zone || 'hall';
      if (zone !== hallZone) {
        H.state = null;
        H.enlarged = false;
        render();
      }
    },
    refresh() {
      H.sv?.view.setLang(getLang());
      if (H.presenter && H.controls) mountControls(); // its labels are written once: build it again
      render();
    },
    state() {
      const v = H.sv?.view, S2 = v?.S;
      return {
        mounted: !!v, shown: !panel.hidden, presenter: H.presenter, enlarged: H.enlarged,
        following: !!v && !H.presenter && !S2.detached, detached: !!S2?.detached,
        show_v: H.appliedV, dataset: S2?.ds ?? null, loaded: !!(S2?.meta && S2.tilesLoaded > 0 && S2.seen.size >= (S2.meta.counts?.buildings || 0)),
        sim: S2?.sims.A ?? null, sim_b: S2?.sims.B ?? null, simsLoaded: { A: !!S2?.runs.A, B: !!S2?.runs.B },
        split: S2?.split ?? null, t: S2 ? Math.round(S2.t) : null, playing: !!S2?.playing, mode: S2?.mode ?? null,
        highlight: S2?.highlight ?? null, counts: v ? v.fireCounts('A') : null, countsB: v ? v.fireCounts('B') : null,
        camera: v ? v.camera3() : null, simError: S2?.simError ?? null, sent: H.sent, refused: H.refused.slice(),
        table: H.sv?.table ? H.sv.table.stats() : null, rect: panel.hidden ? null : panel.getBoundingClientRect().toJSON(),
        draw: H.controls?.drawState ? H.controls.drawState() : null, extent: S2?.meta?.extent ?? null,
      };
    },
    /** Page coordinates of a point of the district (local metres, on the ground): tests click there. */
    pageOfLocal(x, y) { return H.sv ? H.sv.view.pageOf(x, y) : null; },
    destroy() {
      H.controls?.destroy();
      H.sv?.destroy();
      window.removeEventListener('resize', place);
      clearInterval(placeTimer);
      panel.remove();
      bShow.remove();
    },
  };
}
