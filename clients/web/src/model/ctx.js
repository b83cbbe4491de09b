// The city model page's shared state and helpers. The page's modules (colours, attributes,
// scenario, playback) read and write ``S``; the scene lives in main.js, which fills ``hooks``
// with what the others call back into (recolour, render, overlay) so no module imports main.
import ja from './i18n/ja.json';
import en from './i18n/en.json';

export const DICT = { ja, en };
export const $ = (id) => document.getElementById(id);
export const params = new URLSearchParams(location.search);
export const S = {
  ds: params.get('dataset'),
  lang: params.get('lang') === 'en' ? 'en' : 'ja',
  meta: null,
  mode: 'structure',
  n: 0, // feature count (table rows)
  attrs: [], // per feature id: {gml_id, height, structure_code, fireproof_code, usage_code}
  meshes: [],
  seen: new Set(),
  tilesLoaded: 0,
  tilesetReady: false,
  selected: -1,
  selectedInfo: null,
  ignition: null, // gml_id or null (server picks the burnable building nearest the centre)
  runs: { A: null, B: null },
  shown: 'A',
  t: 0,
  playing: false,
  clusters: null,
  classes: null, // fire-spread class per feature id (from /clusters)
  colours: new Float32Array(0),
  state: new Uint8Array(0), // fire mode: 0 unburnt 1 burning 2 burnt 3 removed 4 fireproof
  legendCounts: null,
};

export function tr(key, vars) {
  let s = DICT[S.lang][key] ?? DICT.ja[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

export function fireRun() { return S.runs[S.shown]; }

/** Set by main.js: the scene-side operations other modules need. */
export const hooks = {
  recolour() {},
  render() {}, // ask for a redraw on the next frame
  drawOverlay(_body) {},
  clearOverlay() {},
  resizeArrays(_n) {},
  setMode(_mode) {},
};
