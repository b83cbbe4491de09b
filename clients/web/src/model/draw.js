// Drawing a policy's shape on the map (model page): a road's centreline (a polyline, with the
// width field), an open space or a rebuilding area (polygons), by clicking or tapping points on
// the ground. The shapes live in S.drawn (local metres) and go into the scenario request
// (scenario.js) instead of the preset centre-based shapes.
import { $, S, tr } from './ctx.js';

const KIND = { road: 'road', open: 'open', rebuild: 'rebuild' }; // policy select value -> shape kind
const MIN = { road: 2, open: 3, rebuild: 3 };
let view = null;
let drawing = null; // the kind being drawn, or null

export function drawnShape(kind) {
  const pts = S.drawn?.[kind];
  return pts && pts.length >= MIN[kind] ? pts : null;
}

function kindNow() { return KIND[$('m-policy').value] || null; }
function draft(kind) {
  return kind ? { kind, points: S.drawn[kind] || [], width: Number($('m-width').value) || 8 } : null;
}

/** Show the drawing bar and the current policy's shape (called when the policy changes). */
export function refreshDraw() {
  const kind = kindNow();
  $('m-draw').hidden = !kind;
  if (drawing && drawing !== kind) stop();
  const n = kind ? (S.drawn[kind] || []).length : 0;
  const bar = $('m-draw');
  bar.dataset.state = drawing ? 'drawing' : drawnShape(kind) ? 'drawn' : 'empty';
  $('m-draw-start').hidden = !!drawing;
  $('m-draw-done').hidden = !drawing;
  $('m-draw-undo').disabled = !n;
  $('m-draw-clear').disabled = !n;
  $('m-draw-start').textContent = n ? tr('draw_again') : tr('draw_start');
  let msg = '';
  if (drawing) msg = tr(`draw_hint_${kind}`, { n });
  else if (drawnShape(kind)) msg = tr('draw_done_n', { n });
  else if (kind) msg = tr('draw_none');
  $('m-draw-status').textContent = msg;
  // the preset fields stand in only while nothing is drawn
  $('m-p-road-preset').hidden = !!drawnShape('road');
  $('m-p-open').hidden = kind !== 'open' || !!drawnShape('open');
  $('m-share-row').hidden = !!drawnShape('rebuild');
  view?.setDraft(draft(kind), !!drawing);
}

function start() {
  const kind = kindNow();
  if (!kind || !S.meta) return;
  if (drawnShape(kind) || (S.drawn[kind] || []).length) S.drawn[kind] = [];
  drawing = kind;
  refreshDraw();
  $('m-view').focus();
}
function stop() {
  drawing = null;
  refreshDraw();
}

export function initDraw(v) {
  view = v;
  S.drawn = { road: [], open: [], rebuild: [] };
  v.onGround((p) => {
    if (!drawing) return;
    S.drawn[drawing].push(p);
    refreshDraw();
  });
  $('m-draw-start').addEventListener('click', start);
  $('m-draw-done').addEventListener('click', stop);
  $('m-draw-undo').addEventListener('click', () => { const k = kindNow(); if (k) S.drawn[k].pop(); refreshDraw(); });
  $('m-draw-clear').addEventListener('click', () => { const k = kindNow(); if (k) S.drawn[k] = []; drawing = null; refreshDraw(); });
  $('m-width').addEventListener('input', () => { if (kindNow() === 'road') refreshDraw(); });
  // keyboard: Enter finishes, Backspace takes the last point back, Escape stops
  $('m-view').addEventListener('keydown', (e) => {
    if (!drawing) return;
    if (e.key === 'Enter' || e.key === 'Escape') { e.preventDefault(); stop(); }
    else if (e.key === 'Backspace') { e.preventDefault(); S.drawn[drawing].pop(); refreshDraw(); }
  });
  refreshDraw();
}

/** Hide the drawn shape from the map (a run now shows it as a measure); it stays in S.drawn. */
export function hideDraft() { drawing = null; view?.setDraft(null); }

export const drawState = () => ({ drawing, road: S.drawn.road.length, open: S.drawn.open.length, rebuild: S.drawn.rebuild.length });
