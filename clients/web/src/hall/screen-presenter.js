// The presenter's controls under the hall's big screen: play / pause, the time, the speed, A and
// B side by side, a mark on a building (click it in the view), and what to show: the district,
// its colouring, a fire-spread run (computed now through the simulation API, or an earlier one).
// Each control calls the view, whose onChange sends the `hall.show` patch (screen.js).
import { fetchSim, listSims, presetScenario, runScenario } from '../model/sims.js';
import { apiJson } from '../api.js';

const SPEEDS = [60, 300, 900, 1800];
const MODES = ['structure', 'fireproof', 'height', 'usage', 'fireclass', 'cluster', 'fire'];
const PRESETS = [['最悪', 'preset_worst', 'worst'], ['最頻', 'preset_frequent', 'frequent'], ['静穏', 'preset_calm', 'calm']];
const POLICIES = [['none', 'policy_none', 'as-is'], ['road', 'policy_road', 'road-widening'], ['open', 'policy_open', 'open-space'], ['rebuild', 'policy_rebuild', 'rebuilding']];

function el(tag, cls, attrs = {}, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function labelled(id, text, control) {
  const l = el('label', 'hs-field', { for: id });
  l.append(el('span', 'hs-field-label', {}, text), control);
  return l;
}
function select(id, options) {
  const s = el('select', 'hs-select', { id });
  for (const [value, text] of options) s.append(el('option', '', { value }, text));
  return s;
}

export function mountPresenterControls(box, { sv, hs, send, say }) {
  const v = sv.view, S = v.S, L = sv.label;
  const title = el('h3', 'hs-ctl-title', { id: 'hs-controls-title' }, hs('controls'));
  // --- playback
  const bPlay = el('button', 'btn btn-primary hs-btn hs-play', { type: 'button', id: 'hs-play', 'aria-pressed': 'false' });
  const time = el('input', 'hs-range', { type: 'range', id: 'hs-time', min: '0', max: '21600', step: '60', value: '0' });
  const timeOut = el('output', 'hs-time-out', { id: 'hs-time-out', for: 'hs-time' });
  const speed = select('hs-speed', SPEEDS.map((s) => [String(s), `×${s}`]));
  const rowPlay = el('div', 'hs-row hs-row-play');
  rowPlay.append(bPlay, labelled('hs-time', hs('time'), time), timeOut, labelled('hs-speed', hs('speed'), speed));
  // --- compare, mark, frame
  const splitOn = el('input', '', { type: 'checkbox', id: 'hs-split-on' });
  const splitLab = el('label', 'hs-check', { for: 'hs-split-on' });
  splitLab.append(splitOn, el('span', '', {}, hs('split')));
  const splitPos = el('input', 'hs-range hs-range-short', { type: 'range', id: 'hs-split', min: '0.1', max: '0.9', step: '0.05', value: '0.5' });
  const bFit = el('button', 'btn hs-btn', { type: 'button', id: 'hs-fit' }, hs('fit'));
  const bUnmark = el('button', 'btn hs-btn', { type: 'button', id: 'hs-unmark' }, hs('unmark'));
  const hint = el('p', 'hs-hint', {}, hs('mark_hint'));
  const bWhat = el('button', 'btn hs-btn', { type: 'button', id: 'hs-what-toggle', 'aria-controls': 'hs-what', 'aria-expanded': 'false' }, hs('what'));
  const rowView = el('div', 'hs-row');
  rowView.append(splitLab, labelled('hs-split', hs('split_pos'), splitPos), bFit, bUnmark, bWhat, hint);
  // --- what to show
  const what = el('div', 'hs-what', { id: 'hs-what' });
  const dataset = select('hs-dataset', [['', hs('dataset_none')]]);
  const colour = select('hs-colour', MODES.map((m) => [m, L(`mode_${m}`)]));
  const rowWhat = el('div', 'hs-row');
  rowWhat.append(labelled('hs-dataset', hs('dataset'), dataset), labelled('hs-colour', hs('colour'), colour));
  const preset = select('hs-preset', PRESETS.map(([v2, k]) => [v2, L(k)]));
  const policy = select('hs-policy', POLICIES.map(([v2, k]) => [v2, L(k)]));
  const slot = select('hs-slot', [['A', hs('slot_a')], ['B', hs('slot_b')]]);
  const bRun = el('button', 'btn btn-primary hs-btn', { type: 'button', id: 'hs-run' }, hs('run'));
  const runStatus = el('p', 'hs-hint', { id: 'hs-run-status', role: 'status', 'aria-live': 'polite' });
  // the policy's shape drawn on the map (a road's centreline, an open space, a rebuilding area):
  // clicks on the big screen add points; without a drawing the preset shape at the centre is used
  const bDraw = el('button', 'btn hs-btn', { type: 'button', id: 'hs-draw' }, hs('draw'));
  const bDrawDone = el('button', 'btn btn-primary hs-btn', { type: 'button', id: 'hs-draw-done', hidden: '' }, hs('draw_done'));
  const bDrawClear = el('button', 'btn btn-quiet hs-btn', { type: 'button', id: 'hs-draw-clear' }, hs('draw_clear'));
  const drawStatus = el('p', 'hs-hint', { id: 'hs-draw-status', role: 'status', 'aria-live': 'polite' });
  const rowDraw = el('div', 'hs-row', { id: 'hs-draw-row' });
  rowDraw.append(bDraw, bDrawDone, bDrawClear, drawStatus);
  const fs = el('fieldset', 'hs-fieldset');
  fs.append(el('legend', '', {}, hs('run_title')), labelled('hs-preset', hs('weather'), preset), labelled('hs-policy', hs('policy'), policy),
    rowDraw, labelled('hs-slot', hs('slot'), slot), bRun, runStatus);
  const past = select('hs-past', [['', hs('past_none')]]);
  const bPast = el('button', 'btn hs-btn', { type: 'button', id: 'hs-past-show' }, hs('past_show'));
  const rowPast = el('div', 'hs-row');
  rowPast.append(labelled('hs-past', hs('past'), past), bPast);
  what.append(rowWhat, fs, rowPast);
  box.append(title, rowPlay, rowView, what);
  // what to show: open while there is nothing on the screen, folded away while presenting
  const openWhat = (on) => { what.hidden = !on; bWhat.setAttribute('aria-expanded', String(on)); };
  openWhat(!S.ds || !S.runs.A);
  bWhat.addEventListener('click', () => openWhat(what.hidden));

  // --- wiring: each control calls the view; its onChange sends the patch
  let dragging = false;
  bPlay.addEventListener('click', () => { v.play(!S.playing); render(); });
  time.addEventListener('input', () => { dragging = true; v.setTime(Number(time.value)); renderTime(); });
  time.addEventListener('change', () => { dragging = false; });
  speed.addEventListener('change', () => v.setSpeed(Number(speed.value)));
  splitOn.addEventListener('change', () => { v.setSplit(splitOn.checked ? Number(splitPos.value) : null); render(); });
  splitPos.addEventListener('input', () => { if (splitOn.checked) v.setSplit(Number(splitPos.value)); });
  bFit.addEventListener('click', () => v.frame());
  bUnmark.addEventListener('click', () => { v.setHighlight(null); render(); });
  colour.addEventListener('change', () => { v.setMode(colour.value); render(); });
  dataset.addEventListener('change', async () => {
    const ds = dataset.value || null;
    send({ dataset: ds || undefined, colour: S.mode, t: 0, playing: false, clear: ['sim', 'sim_b', 'split', 'highlight', 'camera', 'scenario', ...(ds ? [] : ['dataset'])] });
    await v.setDataset(ds);
    if (ds && S.ds === ds) v.frame(); // everyone starts from the whole district
    refreshPast();
    render();
  });

  async function show(slotName, res, id, code) {
    if (slotName === 'A') { v.setShown('A'); send({ scenario: code }); }
    v.setRun(slotName, res, id);
    if (S.mode !== 'fire') v.setMode('fire');
    if (slotName === 'B' && S.runs.A) { splitOn.checked = true; v.setSplit(Number(splitPos.value)); }
    v.setTime(0);
    openWhat(false); // the view gets the room back; 「映すもの」 opens it again
    render();
  }
  let lastMeasures = null; // the last run's measures (tests, support)
  const drawn = { road: [], open: [], rebuild: [] };
  const MIN = { road: 2, open: 3, rebuild: 3 };
  let drawing = null;
  const shapeOf = (k) => (k in drawn && drawn[k].length >= MIN[k] ? drawn[k] : null);
  function renderDraw() {
    const k = policy.value in drawn ? policy.value : null;
    rowDraw.hidden = !k;
    bDraw.hidden = !!drawing;
    bDrawDone.hidden = !drawing;
    bDrawClear.disabled = !k || !drawn[k].length;
    drawStatus.textContent = !k ? '' : drawing ? hs('draw_hint', { n: drawn[k].length }) : shapeOf(k) ? hs('draw_n', { n: drawn[k].length }) : hs('draw_none');
    // while drawing the view takes clicks as points (an empty draft still captures them)
    v.setDraft(k && (drawing || drawn[k].length) ? { kind: k, points: drawn[k], width: 16 } : null, !!drawing);
  }
  v.onGround((p) => { if (drawing) { drawn[drawing].push(p); renderDraw(); } });
  bDraw.addEventListener('click', () => { if (policy.value in drawn) { drawn[policy.value] = []; drawing = policy.value; renderDraw(); } });
  bDrawDone.addEventListener('click', () => { drawing = null; renderDraw(); });
  bDrawClear.addEventListener('click', () => { if (policy.value in drawn) drawn[policy.value] = []; drawing = null; renderDraw(); });
  policy.addEventListener('change', () => { drawing = null; renderDraw(); });

  let running = false;
  bRun.addEventListener('click', async () => {
    if (running || !S.meta) return;
    running = true;
    bRun.disabled = true;
    const pr = PRESETS.find((p) => p[0] === preset.value), po = POLICIES.find((p) => p[0] === policy.value);
    const name = `${L(po[1])}・${L(pr[1]).replace(/（.*$/, '')}`;
    const code = `${po[2]}.${pr[2]}`;
    try {
      drawing = null;
      const body = presetScenario(S.meta, { preset: preset.value, policy: policy.value, name, shape: shapeOf(policy.value) });
      lastMeasures = body.scenario.measures;
      v.setDraft(null);
      const { id, result } = await runScenario(S.ds, body, (p) => { runStatus.textContent = hs('running', { p: Math.round(p * 100) }); });
      runStatus.textContent = hs('run_done', { n: result.summary.buildings_burnt });
      await show(slot.value, result, id, code);
      refreshPast();
    } catch (e) {
      runStatus.textContent = hs('run_failed', { msg: e.message });
      say(runStatus.textContent);
    } finally {
      running = false;
      bRun.disabled = false;
    }
  });
  bPast.addEventListener('click', async () => {
    if (!past.value) return;
    try {
      const res = await fetchSim(past.value);
      await show(slot.value, res, past.value, undefined);
    } catch (e) { say(hs('run_failed', { msg: e.message })); }
  });

  async function refreshDatasets() {
    try {
      const d = await apiJson('/api/datasets');
      dataset.replaceChildren(el('option', '', { value: '' }, hs('dataset_none')),
        ...(d.datasets || []).map((x) => el('option', '', { value: x.id }, x.name)));
      dataset.value = S.ds || '';
    } catch { /* the list stays as it is; the API says why on the next try */ }
  }
  async function refreshPast() {
    past.replaceChildren(el('option', '', { value: '' }, hs('past_none')));
    if (!S.ds) return;
    try {
      const jobs = await listSims(S.ds);
      if (jobs.length) past.replaceChildren(...jobs.slice(0, 20).map((j) => el('option', '', { value: j.id },
        hs('past_item', { time: new Date((j.created || 0) * 1000).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) }))));
    } catch { /* staff see their jobs; an error leaves the list empty */ }
  }

  function renderTime() {
    const h = v.horizon();
    if (time.max !== String(h)) time.max = String(h);
    if (!dragging) time.value = String(Math.round(S.t));
    timeOut.textContent = sv.fmtTime(S.t);
    time.setAttribute('aria-valuetext', timeOut.textContent);
    bPlay.textContent = S.playing ? `⏸ ${hs('pause')}` : `▶ ${hs('play')}`;
    bPlay.setAttribute('aria-pressed', String(S.playing));
  }
  function render() {
    renderTime();
    const fire = S.mode === 'fire' && !!S.runs.A;
    bPlay.disabled = !fire;
    time.disabled = !fire;
    const ab = !!(S.runs.A && S.runs.B);
    splitOn.disabled = !ab;
    splitOn.checked = ab && S.split !== null;
    splitPos.disabled = !ab || S.split === null;
    if (S.split !== null) splitPos.value = String(S.split);
    bUnmark.hidden = !S.highlight;
    if (colour.value !== S.mode) colour.value = S.mode;
    if ((dataset.value || null) !== S.ds && [...dataset.options].some((o) => o.value === (S.ds || ''))) dataset.value = S.ds || '';
    speed.value = String(SPEEDS.includes(S.speed) ? S.speed : 300);
  }
  const offFrame = v.onFrame(() => renderTime());
  refreshDatasets();
  refreshPast();
  render();
  renderDraw();
  return {
    render,
    drawState: () => ({ drawing, road: drawn.road.length, open: drawn.open.length, rebuild: drawn.rebuild.length, lastMeasures }),
    destroy() { offFrame(); box.replaceChildren(); },
  };
}
