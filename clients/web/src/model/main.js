// The city model page: model.html?dataset=<id>. The 3D view is the CityModelView component
// (view.js, also used on the city hall's big screen); this file wires the page's panels to it:
// colour mode and legend, attributes of a clicked building, the scenario form with shapes drawn
// on the map, playback and A/B comparison.
//
// window.__model is a read-only hook for tests (counts, screen positions, colour counts).
import { mountCityModel } from './view.js';
import { $, S, bindState, hooks, tr } from './ctx.js';
import { renderLegend } from './colours.js';
import { countColoured, screenPointOf } from './probe.js';
import { renderAttributes, select, updateIgnitionText } from './attributes.js';
import { showPolicyFields } from './scenario.js';
import { drawState, initDraw } from './draw.js';
import { drawChartNow, updateAbSummary, updateTimeUi, updateWind } from './playback.js';
import './model.css';

const params = new URLSearchParams(location.search);
const view = mountCityModel($('m-view'), {
  dataset: params.get('dataset'), lang: params.get('lang') === 'en' ? 'en' : 'ja', controls: 'full',
});
bindState(view.S);
S.speed = Number($('m-speed').value) || 300;

const credit = () => (S.credit && S.lang === 'ja' ? S.credit : tr('credit')); // the dataset's own line (same text for PLATEAU)

function applyI18n() {
  document.documentElement.lang = S.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = tr(el.dataset.i18n);
  $('m-lang').textContent = tr('lang_toggle');
  $('m-lang').setAttribute('lang', S.lang === 'ja' ? 'en' : 'ja');
  $('m-lang').setAttribute('aria-label', tr('lang_toggle_aria'));
  $('m-credit').textContent = credit();
  $('m-view').setAttribute('aria-label', tr('view_aria'));
  $('m-chart').setAttribute('aria-label', tr('chart_aria'));
  $('m-progress').setAttribute('aria-label', tr('progress_aria'));
  document.title = `${tr('title')} — Yakuba`;
  if (S.meta) $('m-status').textContent = tr('buildings_loaded', { n: S.seen.size });
  updateIgnitionText();
  renderLegend($('m-legend'), S);
  renderAttributes();
  updateTimeUi();
  updateAbSummary();
  showPolicyFields();
}

function setMode(mode) {
  $('m-mode').value = mode;
  $('m-large-wrap').hidden = mode !== 'cluster';
  $('m-playback').hidden = mode !== 'fire';
  $('m-wind').hidden = mode !== 'fire' || !S.runs[S.shown];
  view.setMode(mode);
  drawChartNow();
}

// What the page's panels call back into (see ctx.js hooks).
Object.assign(hooks, {
  recolour: () => view.recolour(),
  render: () => view.render(),
  showMeasures: () => view.showMeasures(),
  setRun: (slot, res, id) => view.setRun(slot, res, id),
  setMode,
});

view.onStatus((what) => {
  if (what === 'colours') renderLegend($('m-legend'), S);
});
view.onTiles(() => { if (S.meta) $('m-status').textContent = tr('buildings_loaded', { n: S.seen.size }); });
view.onPick((fid) => select(fid));
// playing: the view moves the time; the bar, the clock and the chart follow
view.onFrame(() => {
  $('m-time').value = String(Math.round(S.t));
  updateTimeUi();
  drawChartNow();
});
new ResizeObserver(() => drawChartNow()).observe($('m-view'));

$('m-mode').addEventListener('change', () => setMode($('m-mode').value));
$('m-large').addEventListener('change', () => view.setLargeFire($('m-large').checked));
$('m-reset').addEventListener('click', () => view.frame());
$('m-lang').addEventListener('click', () => {
  S.lang = S.lang === 'ja' ? 'en' : 'ja';
  const u = new URL(location.href);
  u.searchParams.set('lang', S.lang);
  history.replaceState(null, '', u);
  applyI18n();
  updateWind();
  drawChartNow();
});

async function start() {
  applyI18n();
  if (!S.ds) {
    $('m-status').textContent = tr('no_dataset');
    $('m-status').classList.add('m-error');
    return;
  }
  $('m-status').textContent = tr('loading');
  try {
    await view.ready;
    if (!S.meta) throw new Error(S.loadError || '?');
  } catch (e) {
    $('m-status').textContent = `${tr('load_failed')}: ${e.message}`;
    $('m-status').classList.add('m-error');
    return;
  }
  $('m-dsname').textContent = S.meta.name;
  $('m-credit').textContent = credit();
  $('m-status').textContent = tr('buildings_loaded', { n: S.seen.size });
  renderLegend($('m-legend'), S);
  showPolicyFields();
}

// ------------------------------------------------------------------ read-only test hook
Object.defineProperty(window, '__model', {
  value: Object.freeze({
    get dataset() { return S.ds; },
    get buildingCount() { return S.meta?.counts?.buildings ?? 0; },
    get featureCount() { return S.seen.size; },
    get tilesLoaded() { return S.tilesLoaded; },
    get mode() { return S.mode; },
    get time() { return S.t; },
    get playing() { return S.playing; },
    get shown() { return S.shown; },
    get selectedGmlId() { return S.selected >= 0 ? S.attrs[S.selected]?.gml_id ?? null : null; },
    get runs() { return { A: S.runs.A?.summary ?? null, B: S.runs.B?.summary ?? null }; },
    get measures() { return { A: S.runs.A?.measures ?? null, B: S.runs.B?.measures ?? null }; },
    get clusters() { return S.clusters ? S.clusters.clusters.n_clusters : null; },
    get lastRequest() { return S.lastRequest ? JSON.parse(JSON.stringify(S.lastRequest)) : null; },
    get draw() { return drawState(); },
    get extent() { return S.meta ? JSON.parse(JSON.stringify(S.meta.extent)) : null; },
    gmlIdOf(fid) { return S.attrs[fid]?.gml_id ?? null; },
    structureOf(fid) { return S.attrs[fid]?.structure_code ?? null; },
    get ignition() { return S.ignition; },
    screenPointOf: (fid) => screenPointOf(view, fid),
    /** Page position of the ground point (x, y) in the dataset's local metres. */
    pageOfLocal: (x, y) => view.pageOf(x, y),
    countColoured: () => countColoured(view),
  }),
  writable: false,
  configurable: false,
});

initDraw(view);
start().catch((e) => {
  $('m-status').textContent = `${tr('load_failed')}: ${e.message}`;
  $('m-status').classList.add('m-error');
});
showPolicyFields();
