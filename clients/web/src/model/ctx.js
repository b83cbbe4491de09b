// The city model's state and strings. Each mounted view (view.js) has its own state from
// newState(); the model page (main.js) binds its one view's state here as ``S`` so the page's
// panels (attributes, scenario form, playback bar) read it without being passed it.
import ja from './i18n/ja.json';
import en from './i18n/en.json';

export const DICT = { ja, en };
export const $ = (id) => document.getElementById(id);

export function trIn(lang, key, vars) {
  let s = DICT[lang]?.[key] ?? DICT.ja[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

export function newState({ dataset = null, lang = 'ja' } = {}) {
  return {
    ds: dataset,
    lang: lang === 'en' ? 'en' : 'ja',
    meta: null,
    credit: null, // the dataset's own credit line
    mode: 'structure',
    largeFire: false, // cluster mode: the x1.5 large-fire clusters
    n: 0, // feature count (table rows)
    attrs: [], // per feature id: {gml_id, height, structure_code, fireproof_code, usage_code}
    meshes: [],
    seen: new Set(),
    tilesLoaded: 0,
    tilesetReady: false,
    selected: -1, // the page's selected building (attributes panel)
    selectedInfo: null,
    highlight: null, // a gml id everyone's view marks (the hall presenter's pick)
    ignition: null, // gml_id or null (server picks the burnable building nearest the centre)
    runs: { A: null, B: null },
    sims: { A: null, B: null }, // the simulation (job) ids of the runs, when known
    shown: 'A',
    split: null, // null: one run; 0..1: A left of the split, B right of it
    t: 0,
    speed: 300,
    playing: false,
    clusters: null,
    classes: null, // fire-spread class per feature id (from /clusters)
    colours: new Float32Array(0),
    state: new Uint8Array(0), // fire mode, A side: 0 unburnt 1 burning 2 burnt 3 removed 4 fireproof
    stateB: new Uint8Array(0), // the same for the B side of a split view
    legendCounts: null,
    detached: false, // a follower looking round on their own
    showCamera: null, // the presenter's camera, to snap back to
  };
}

/** The page's state: set once by main.js (model.html has exactly one view). */
export let S = null;
export function bindState(s) { S = s; }

export function tr(key, vars) { return trIn(S?.lang || 'ja', key, vars); }

export function fireRun() { return S.runs[S.shown]; }

/** Set by main.js: the view operations the page's panels call back into. */
export const hooks = {
  recolour() {},
  render() {},
  showMeasures() {},
  setRun(_slot, _result, _id) {},
  setMode(_mode) {},
};
