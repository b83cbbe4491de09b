// The fire scenario form (model page): the request the API accepts, the job it starts and its
// progress. A policy's shape is the one drawn on the map (draw.js) when there is one, else the
// preset one around the district's centre.
import { $, S, tr, hooks } from './ctx.js';
import { showRun } from './playback.js';
import { drawnShape, hideDraft, refreshDraw } from './draw.js';
import { runScenario } from './sims.js';
import { FieldError, checkedNumber, clearFieldErrors, modelAndSuppression, renderRunNotes, showFieldError } from './inputs.js';

export function showPolicyFields() {
  const p = $('m-policy').value;
  $('m-p-road').hidden = p !== 'road';
  $('m-p-open').hidden = p !== 'open';
  $('m-p-rebuild').hidden = p !== 'rebuild';
  $('m-custom').hidden = $('m-preset').value !== 'custom';
  if (S?.drawn) refreshDraw();
}
$('m-policy').addEventListener('change', showPolicyFields);
$('m-preset').addEventListener('change', showPolicyFields);

const numField = checkedNumber; // checked, never clamped (inputs.js)

// The scenario JSON the API accepts (gis/firespread/scenarios.py); coordinates in the local frame.
export function buildRequest() {
  const e = S.meta.extent;
  const lo = e.local_min, hi = e.local_max;
  const cx = (lo[0] + hi[0]) / 2, cy = (lo[1] + hi[1]) / 2;
  const preset = $('m-preset').value;
  const weather = preset === 'custom'
    ? { speed: numField('m-ws', 0, 40), direction: numField('m-wd', 0, 360), humidity: numField('m-hum', 0, 100) }
    : { preset };
  const measures = [];
  const p = $('m-policy').value;
  let name = tr(`policy_${p}`);
  const drawn = { road: drawnShape('road'), open: drawnShape('open'), rebuild: drawnShape('rebuild') }[p];
  if (p === 'road') {
    const w = numField('m-width', 1, 100);
    let line = drawn;
    if (!line) {
      const off = numField('m-off', -5000, 5000);
      line = $('m-axis').value === 'ew'
        ? [[lo[0] - 30, cy + off], [hi[0] + 30, cy + off]]
        : [[cx + off, lo[1] - 30], [cx + off, hi[1] + 30]];
    }
    measures.push({ type: 'road_widening', centreline: line, width: w, action: 'remove' });
    name += ` ${w}m`;
  } else if (p === 'open') {
    if (drawn) measures.push({ type: 'open_space', polygon: drawn });
    else {
      const s = numField('m-size', 5, 500) / 2;
      measures.push({ type: 'open_space', polygon: [[cx - s, cy - s], [cx + s, cy - s], [cx + s, cy + s], [cx - s, cy + s]] });
      name += ` ${2 * s}m`;
    }
  } else if (p === 'rebuild') {
    if (drawn) measures.push({ type: 'rebuild', to: $('m-to').value, area: drawn });
    else {
      const share = numField('m-share', 0, 100) / 100;
      measures.push({ type: 'rebuild', to: $('m-to').value, share });
      name += ` ${Math.round(share * 100)}%`;
    }
  }
  if (drawn) name += ` ${tr('drawn_suffix')}`;
  const body = {
    weather,
    hours: numField('m-hours', 0.5, 72),
    seed: 1,
    scenario: { name, wooden: $('m-wooden').value, measures },
    ...modelAndSuppression(),
  };
  if (S.ignition) body.ignition = [S.ignition];
  return body;
}

let running = false;
$('m-fire-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (running || !S.meta) return;
  const status = $('m-run-status');
  let body;
  clearFieldErrors($('m-fire-form'));
  status.classList.remove('m-error');
  try { body = buildRequest(); } catch (e) {
    if (e instanceof FieldError) { showFieldError(e); status.textContent = tr('fix_fields'); status.classList.add('m-error'); return; }
    status.textContent = tr('run_failed', { msg: e.message });
    return;
  }
  const slot = $('m-slot').value;
  S.lastRequest = body;
  running = true;
  $('m-run').disabled = true;
  const prog = $('m-progress');
  prog.hidden = false;
  prog.value = 0;
  status.classList.remove('m-error');
  try {
    const { id, result, elapsed_s: el } = await runScenario(S.ds, body, (p, stage) => {
      prog.value = p;
      status.textContent = tr('running', { p: Math.round(p * 100), stage });
    });
    status.textContent = tr('run_done', { n: result.summary.buildings_burnt, s: (el ?? 0).toFixed(1) });
    renderRunNotes(result);
    S.shown = slot;
    S.t = 0;
    hooks.setRun(slot, result, id);
    hideDraft(); // the run shows the shape now, as its measure
    hooks.setMode('fire');
    showRun();
  } catch (e) {
    status.textContent = tr('run_failed', { msg: e.message });
    status.classList.add('m-error');
  } finally {
    running = false;
    $('m-run').disabled = false;
    prog.hidden = true;
  }
});
