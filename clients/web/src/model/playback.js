// Playback of fire-spread runs A and B: time slider, play/pause, wind arrow, burnt area chart.
import { drawChart } from './chart.js';
import { $, S, tr, fireRun, hooks } from './ctx.js';

export function horizon() {
  const hs = [S.runs.A, S.runs.B].filter(Boolean).map((r) => r.hours * 3600);
  return hs.length ? Math.max(...hs) : 6 * 3600;
}

export function showRun() {
  const run = fireRun();
  $('m-show-a').setAttribute('aria-pressed', String(S.shown === 'A'));
  $('m-show-b').setAttribute('aria-pressed', String(S.shown === 'B'));
  $('m-show-a').disabled = !S.runs.A;
  $('m-show-b').disabled = !S.runs.B;
  $('m-time').max = String(horizon());
  hooks.showMeasures();
  updateWind();
  updateAbSummary();
  setTime(S.t);
  $('m-wind').hidden = S.mode !== 'fire' || !run;
}

export function updateWind() {
  const run = fireRun();
  if (!run) return;
  const w = run.weather;
  const el = $('m-wind');
  const dirJa = S.lang === 'ja' ? '風' : 'Wind';
  // the arrow points where the wind blows to (direction is where it blows from)
  const to = (w.direction_deg + 180) % 360;
  el.innerHTML = `${dirJa} ${w.speed_ms} m/s<svg viewBox="-20 -20 40 40" width="40" height="40" aria-hidden="true">`
    + (w.speed_ms > 0 ? `<g transform="rotate(${to})"><path d="M0 16 L0 -12 M-7 -4 L0 -14 L7 -4" stroke="#1d5fb4" stroke-width="4" fill="none" stroke-linecap="round"/></g>` : '<circle r="6" fill="none" stroke="#1d5fb4" stroke-width="3"/>')
    + '</svg>';
}

export function fmtTime(t) {
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60);
  return tr('time_fmt', { h, m });
}

export function setTime(t) {
  S.t = Math.max(0, Math.min(horizon(), t));
  $('m-time').value = String(Math.round(S.t));
  updateTimeUi();
  if (S.mode === 'fire') hooks.recolour();
  drawChartNow();
}

export function updateTimeUi() {
  $('m-time-out').textContent = fmtTime(S.t);
  $('m-time').setAttribute('aria-valuetext', fmtTime(S.t));
  $('m-play').textContent = S.playing ? tr('pause') : tr('play');
  $('m-play').setAttribute('aria-pressed', String(S.playing));
  const run = fireRun();
  if (run) {
    let n = 0, area = 0;
    const idx = run.series.t_s.findIndex((x) => x > S.t);
    const k = idx < 0 ? run.series.t_s.length - 1 : Math.max(0, idx - 1);
    area = run.series.burnt_footprint_area_m2[k] || 0;
    for (let fid = 0; fid < run.ignition_s.length; fid++) { const v = run.ignition_s[fid]; if (v !== null && v <= S.t) n++; }
    $('m-burnt-now').textContent = tr('burnt_now', { n, area: Math.round(area).toLocaleString() });
  } else $('m-burnt-now').textContent = '';
}

export function updateAbSummary() {
  const a = S.runs.A, b = S.runs.B;
  const lab = (r) => (r ? r.label : tr('empty_slot'));
  $('m-show-a').title = `A: ${lab(a)}`;
  $('m-show-b').title = `B: ${lab(b)}`;
  $('m-ab-summary').textContent = a && b
    ? `${tr('summary_ab', { a: a.summary.buildings_burnt, b: b.summary.buildings_burnt, d: a.summary.buildings_burnt - b.summary.buildings_burnt })}　A: ${a.label} / B: ${b.label}`
    : `A: ${lab(a)} / B: ${lab(b)}`;
}

export function drawChartNow() {
  if ($('m-playback').hidden) return;
  drawChart($('m-chart'), S.runs, S.t, horizon(), { shown: S.shown, yLabel: tr('area_unit') });
}

$('m-time').addEventListener('input', () => { S.playing = false; setTime(Number($('m-time').value)); });
$('m-play').addEventListener('click', () => {
  if (!fireRun()) return;
  if (!S.playing && S.t >= horizon()) setTime(0);
  S.playing = !S.playing;
  updateTimeUi();
});
$('m-speed').addEventListener('change', () => { S.speed = Number($('m-speed').value) || 300; });
$('m-show-a').addEventListener('click', () => { if (S.runs.A) { S.shown = 'A'; showRun(); } });
$('m-show-b').addEventListener('click', () => { if (S.runs.B) { S.shown = 'B'; showRun(); } });
