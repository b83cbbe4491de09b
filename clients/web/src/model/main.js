// City model view: model.html?dataset=<id>
//
// three.js + 3DTilesRendererJS load /datasets/<id>/tileset.json. The tileset's root transform
// places the dataset's local frame (x east, y north, z up, metres) on the globe; we undo it so the
// district sits flat at the origin (three.js y-up: world = (x, z, -y)). Every vertex carries its
// building's feature id (_FEATURE_ID_0 = row in buildings.npz = index of the simulation arrays),
// so recolouring writes a vertex-colour attribute from a per-feature colour table: no geometry is
// downloaded again. Attributes for the colour modes come from each tile's EXT_structural_metadata
// property table; the attribute panel asks the server (GET /api/datasets/<id>/buildings/<gml_id>).
//
// window.__model is a read-only hook for tests (counts, screen positions, colour counts).
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { TilesRenderer } from '3d-tiles-renderer';
import { GLTFExtensionsPlugin } from '3d-tiles-renderer/plugins';
import ja from './i18n/ja.json';
import en from './i18n/en.json';
import { drawChart } from './chart.js';
import * as P from './palette.js';
import './model.css';

const DICT = { ja, en };
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const S = {
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

function tr(key, vars) {
  let s = DICT[S.lang][key] ?? DICT.ja[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

function applyI18n() {
  document.documentElement.lang = S.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = tr(el.dataset.i18n);
  $('m-lang').textContent = tr('lang_toggle');
  $('m-lang').setAttribute('lang', S.lang === 'ja' ? 'en' : 'ja');
  $('m-lang').setAttribute('aria-label', tr('lang_toggle_aria'));
  $('m-credit').textContent = tr('credit');
  $('m-view').setAttribute('aria-label', S.lang === 'ja' ? '3D都市モデル（ドラッグで回転、ホイールで拡大縮小）' : '3D city model (drag to orbit, wheel to zoom)');
  $('m-chart').setAttribute('aria-label', tr('chart_aria'));
  $('m-progress').setAttribute('aria-label', S.lang === 'ja' ? '計算の進捗' : 'Simulation progress');
  document.title = `${tr('title')} — Yakuba`;
  if (S.meta) $('m-status').textContent = tr('buildings_loaded', { n: S.seen.size });
  updateIgnitionText();
  renderLegend();
  renderAttributes();
  updateTimeUi();
  updateAbSummary();
}

// ------------------------------------------------------------------ three.js scene
const view = $('m-view');
const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
renderer.outputColorSpace = THREE.SRGBColorSpace;
view.appendChild(renderer.domElement);
const scene = new THREE.Scene();
const camera = new THREE.PerspectiveCamera(40, 1, 1, 20000);
scene.add(new THREE.HemisphereLight(0xffffff, 0x8a8577, 2.2));
const sun = new THREE.DirectionalLight(0xffffff, 1.6);
sun.position.set(-0.5, 1, 0.35);
scene.add(sun);
const controls = new OrbitControls(camera, renderer.domElement);
controls.enableDamping = true;
controls.maxPolarAngle = Math.PI * 0.48;
controls.listenToKeyEvents(view);
controls.addEventListener('start', () => { userMoved = true; }); // arrow keys pan while the view has focus
const material = new THREE.MeshLambertMaterial({ vertexColors: true, flatShading: true, side: THREE.DoubleSide });
const overlay = new THREE.Group(); // policy footprints (road corridor, open space)
scene.add(overlay);
let ground = null;
let tiles = null;
let needsRender = true;

function resize() {
  const w = view.clientWidth, h = view.clientHeight;
  if (!w || !h) return;
  renderer.setSize(w, h, false);
  camera.aspect = w / h;
  camera.updateProjectionMatrix();
  if (tiles) tiles.setResolutionFromRenderer(camera, renderer);
  needsRender = true;
  drawChartNow();
}
let userMoved = false;
new ResizeObserver(() => { resize(); if (S.meta && !userMoved) frameDistrict(); }).observe(view);

// local (x east, y north, z up) -> three world (x, z, -y)
const toWorld = (x, y, z) => new THREE.Vector3(x, z, -y);

function frameDistrict() {
  const e = S.meta.extent;
  const lo = e.local_min, hi = e.local_max;
  const c = toWorld((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2);
  const corners = [];
  for (const x of [lo[0], hi[0]]) for (const y of [lo[1], hi[1]]) for (const z of [lo[2], hi[2]]) corners.push(toWorld(x, y, z));
  const pitch = (55 * Math.PI) / 180; // looking down 55 degrees, from the south (north is up)
  const dir = new THREE.Vector3(0, Math.sin(pitch), Math.cos(pitch));
  const fits = (d) => {
    camera.position.copy(c).addScaledVector(dir, d);
    camera.lookAt(c);
    camera.updateMatrixWorld();
    camera.updateProjectionMatrix();
    return corners.every((p) => { const q = p.clone().project(camera); return Math.abs(q.x) < 0.92 && Math.abs(q.y) < 0.9 && q.z < 1; });
  };
  let a = 10, b = 20000;
  for (let i = 0; i < 40; i++) { const m = (a + b) / 2; if (fits(m)) b = m; else a = m; }
  controls.target.copy(c);
  camera.position.copy(c).addScaledVector(dir, b);
  camera.near = Math.max(0.5, b / 200);
  camera.far = b * 20 + 5000;
  camera.updateProjectionMatrix();
  controls.update();
  needsRender = true;
}

let csrfToken; // the staff session's CSRF token (null for residents), read once from /api/auth/me

async function getJson(url, opts) {
  if (opts?.method && opts.method !== 'GET') {
    if (csrfToken === undefined) {
      try { csrfToken = (await (await fetch('/api/auth/me')).json()).csrf ?? null; } catch { csrfToken = null; }
    }
    if (csrfToken) opts = { ...opts, headers: { ...(opts.headers || {}), 'X-CSRF-Token': csrfToken } };
  }
  const r = await fetch(url, opts);
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const msg = body?.error?.message || `${r.status} ${r.statusText}`;
    throw new Error(msg);
  }
  return body;
}

async function start() {
  applyI18n();
  if (!S.ds) {
    $('m-status').textContent = tr('no_dataset');
    $('m-status').classList.add('m-error');
    return;
  }
  $('m-status').textContent = tr('loading');
  try {
    S.meta = await getJson(`/api/datasets/${encodeURIComponent(S.ds)}`);
  } catch (e) {
    $('m-status').textContent = `${tr('load_failed')}: ${e.message}`;
    $('m-status').classList.add('m-error');
    return;
  }
  $('m-dsname').textContent = S.meta.name;
  if (S.meta.credit) ja.credit = S.meta.credit; // the dataset's own credit line (same text for PLATEAU)
  $('m-credit').textContent = tr('credit');
  resizeArrays(S.meta.counts.buildings);
  const tsUrl = `/datasets/${encodeURIComponent(S.ds)}/tileset.json`;
  const tileset = await getJson(tsUrl);
  // Undo the root transform (ECEF placement) and turn z-up into three's y-up.
  const rootM = new THREE.Matrix4();
  if (Array.isArray(tileset.root.transform)) rootM.fromArray(tileset.root.transform);
  tiles = new TilesRenderer(tsUrl);
  tiles.registerPlugin(new GLTFExtensionsPlugin({ metadata: true, rtc: true }));
  tiles.errorTarget = 2;
  tiles.group.matrixAutoUpdate = false;
  tiles.group.matrix.copy(new THREE.Matrix4().makeRotationX(-Math.PI / 2).multiply(rootM.clone().invert()));
  tiles.group.matrixWorldNeedsUpdate = true;
  tiles.setCamera(camera);
  tiles.setResolutionFromRenderer(camera, renderer);
  tiles.addEventListener('load-model', (ev) => onTile(ev.scene));
  tiles.addEventListener('load-tile-set', () => { S.tilesetReady = true; });
  tiles.addEventListener('tiles-load-end', () => { needsRender = true; });
  scene.add(tiles.group);
  addGround();
  resize();
  frameDistrict();
  // Fire classes and clusters are cheap; loaded up front so the fire-class legend is ready.
  loadClusters().catch(() => {});
  renderLegend();
}

function addGround() {
  const e = S.meta.extent;
  const lo = e.local_min, hi = e.local_max;
  const size = Math.max(hi[0] - lo[0], hi[1] - lo[1]) * 3 + 200;
  const geo = new THREE.PlaneGeometry(size, size);
  geo.rotateX(-Math.PI / 2);
  ground = new THREE.Mesh(geo, new THREE.MeshLambertMaterial({ color: 0xd8d4c8 }));
  const c = toWorld((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2] - 0.3);
  ground.position.copy(c);
  scene.add(ground);
}

function resizeArrays(n) {
  if (n <= S.n) return;
  const c = new Float32Array(n * 3);
  c.set(S.colours);
  const st = new Uint8Array(n);
  st.set(S.state);
  S.colours = c;
  S.state = st;
  S.attrs.length = n;
  S.n = n;
}

function onTile(tileScene) {
  const meta = tileScene.userData.structuralMetadata;
  tileScene.traverse((o) => {
    if (!o.isMesh) return;
    const g = o.geometry;
    const f0 = g.getAttribute('_feature_id_0');
    if (!f0) return;
    const f1 = g.getAttribute('_feature_id_1');
    let maxId = 0;
    const localOf = new Map();
    for (let i = 0; i < f0.count; i++) {
      const fid = Math.round(f0.getX(i));
      if (fid > maxId) maxId = fid;
      if (!localOf.has(fid)) localOf.set(fid, f1 ? Math.round(f1.getX(i)) : -1);
    }
    resizeArrays(maxId + 1);
    for (const [fid, local] of localOf) {
      S.seen.add(fid);
      if (meta && local >= 0 && !S.attrs[fid]) {
        try { S.attrs[fid] = meta.getPropertyTableData(0, local); } catch { /* no metadata: attributes stay unknown */ }
      }
    }
    g.setAttribute('color', new THREE.BufferAttribute(new Float32Array(f0.count * 3), 3));
    o.material = material;
    S.meshes.push(o);
  });
  S.tilesLoaded++;
  $('m-status').textContent = tr('buildings_loaded', { n: S.seen.size });
  recolour();
}

// ------------------------------------------------------------------ colouring
function labelOf(col, code) {
  if (!code) return tr('unknown');
  const ja_ = S.meta?.code_labels?.[col]?.[code];
  const en_ = S.meta?.code_labels_en?.[col]?.[code];
  return (S.lang === 'en' ? en_ || ja_ : ja_ || en_) || `${tr('unknown')} (${code})`;
}

function categorical(col, table) {
  // colour per code: fixed table first, a deterministic fallback palette for the rest
  const codes = [...new Set(S.attrs.filter(Boolean).map((a) => a[col]).filter(Boolean))].sort();
  const map = {};
  let k = 0;
  for (const c of codes) map[c] = table[c] || P.CATEGORICAL[k++ % P.CATEGORICAL.length];
  return map;
}

function heightBin(h) {
  if (!(h > 0)) return -1;
  return P.HEIGHT_BINS.findIndex((b) => h >= b.lo && h < b.hi);
}

function fireRun() { return S.runs[S.shown]; }

// Fire state per feature at time t: ignition_s null = never reached.
function fireStateAt(run, fid, t) {
  const cls = run.class[fid];
  if (cls === 5) return 3;
  const ign = run.ignition_s[fid];
  if (ign === null || ign === undefined || ign > t) return cls === 0 ? 4 : 0;
  return t < ign + run.burn_duration_s[fid] ? 1 : 2;
}

const STATE_KEYS = ['unburnt', 'burning', 'burnt', 'removed', 'fireproof'];

function colourFor(fid, ctx) {
  const a = S.attrs[fid];
  switch (S.mode) {
    case 'structure': return ctx.map[a?.structure_code] || P.UNKNOWN;
    case 'fireproof': return P.FIREPROOF[a?.fireproof_code] || P.UNKNOWN;
    case 'usage': return ctx.map[a?.usage_code] || P.UNKNOWN;
    case 'height': { const b = heightBin(a?.height); return b < 0 ? P.UNKNOWN : P.HEIGHT_BINS[b].c; }
    case 'fireclass': return S.classes ? P.FIRE_CLASS[S.classes[fid]] || P.UNKNOWN : P.UNKNOWN;
    case 'cluster': {
      if (!ctx.cl) return P.UNKNOWN;
      const lab = ctx.cl.labels[fid];
      if (lab < 0 || lab === undefined) return S.classes && S.classes[fid] === 5 ? P.FIRE_CLASS[5] : P.CLUSTER_BARRIER;
      const rank = ctx.rank.get(lab);
      return rank === undefined ? P.CLUSTER_SINGLE : P.CLUSTER[rank % P.CLUSTER.length];
    }
    case 'fire': {
      const run = fireRun();
      if (!run) return S.classes && S.classes[fid] === 0 ? P.FIRE_STATE.fireproof : P.FIRE_STATE.unburnt;
      return P.FIRE_STATE[STATE_KEYS[S.state[fid]]];
    }
    default: return P.UNKNOWN;
  }
}

function clusterCtx() {
  const cl = S.clusters ? ($('m-large').checked ? S.clusters.clusters_large_fire : S.clusters.clusters) : null;
  const rank = new Map();
  if (cl) {
    const order = cl.sizes.map((n, i) => [n, i]).filter(([n]) => n >= 2).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    order.forEach(([, i], r) => rank.set(i, r));
  }
  return { cl, rank };
}

function recolour() {
  const ctx = { map: {} };
  if (S.mode === 'structure') ctx.map = categorical('structure_code', P.STRUCTURE);
  if (S.mode === 'usage') ctx.map = categorical('usage_code', P.USAGE);
  if (S.mode === 'cluster') Object.assign(ctx, clusterCtx());
  const run = S.mode === 'fire' ? fireRun() : null;
  const counts = {};
  for (let fid = 0; fid < S.n; fid++) {
    if (run) S.state[fid] = fid < run.class.length ? fireStateAt(run, fid, S.t) : 0;
    else S.state[fid] = 0;
    let hex = colourFor(fid, ctx);
    if (S.seen.has(fid)) counts[hex] = (counts[hex] || 0) + 1;
    if (fid === S.selected) hex = P.SELECTED;
    const [r, g, b] = P.rgb(hex);
    S.colours[fid * 3] = r; S.colours[fid * 3 + 1] = g; S.colours[fid * 3 + 2] = b;
  }
  const lin = new THREE.Color();
  const linTable = new Float32Array(S.n * 3);
  for (let fid = 0; fid < S.n; fid++) {
    lin.setRGB(S.colours[fid * 3], S.colours[fid * 3 + 1], S.colours[fid * 3 + 2], THREE.SRGBColorSpace);
    linTable[fid * 3] = lin.r; linTable[fid * 3 + 1] = lin.g; linTable[fid * 3 + 2] = lin.b;
  }
  for (const m of S.meshes) {
    const f0 = m.geometry.getAttribute('_feature_id_0');
    const col = m.geometry.getAttribute('color');
    const arr = col.array;
    for (let i = 0; i < f0.count; i++) {
      const fid = Math.round(f0.getX(i)) * 3;
      arr[i * 3] = linTable[fid]; arr[i * 3 + 1] = linTable[fid + 1]; arr[i * 3 + 2] = linTable[fid + 2];
    }
    col.needsUpdate = true;
  }
  S.legendCounts = counts;
  renderLegend();
  needsRender = true;
}

function legendItems() {
  const items = [];
  const add = (hex, label) => items.push({ hex, label });
  if (S.mode === 'structure' || S.mode === 'usage') {
    const col = S.mode === 'structure' ? 'structure_code' : 'usage_code';
    const map = categorical(col, S.mode === 'structure' ? P.STRUCTURE : P.USAGE);
    for (const [code, hex] of Object.entries(map)) add(hex, `${labelOf(col, code)}`);
    add(P.UNKNOWN, tr('unknown'));
  } else if (S.mode === 'fireproof') {
    for (const [code, hex] of Object.entries(P.FIREPROOF)) add(hex, labelOf('fireproof_code', code) === `${tr('unknown')} (${code})` ? { 1001: tr('class_0'), 1002: tr('class_1'), 1003: S.lang === 'ja' ? 'その他' : 'Other' }[code] : labelOf('fireproof_code', code));
    add(P.UNKNOWN, tr('unknown'));
  } else if (S.mode === 'height') {
    for (const b of P.HEIGHT_BINS) add(b.c, b.hi === Infinity ? tr('height_over', { a: b.lo }) : tr('height_bin', { a: b.lo, b: b.hi }));
    add(P.UNKNOWN, tr('unknown'));
  } else if (S.mode === 'fireclass') {
    P.FIRE_CLASS.forEach((hex, k) => add(hex, tr(`class_${k}`)));
  } else if (S.mode === 'cluster') {
    const { cl, rank } = clusterCtx();
    if (cl) {
      const top = [...rank.entries()].sort((a, b) => a[1] - b[1]).slice(0, 8);
      for (const [lab, r] of top) {
        const p = cl.probability ? cl.probability[lab] : null;
        add(P.CLUSTER[r % P.CLUSTER.length], tr('cluster_item', { n: cl.sizes[lab], p: p === null ? '—' : p.toFixed(4) }));
      }
    }
    add(P.CLUSTER_SINGLE, tr('cluster_none'));
    add(P.CLUSTER_BARRIER, tr('cluster_barrier'));
  } else if (S.mode === 'fire') {
    add(P.FIRE_STATE.burning, tr('state_burning'));
    add(P.FIRE_STATE.burnt, tr('state_burnt'));
    add(P.FIRE_STATE.unburnt, tr('state_unburnt'));
    add(P.FIRE_STATE.fireproof, tr('state_fireproof'));
    add(P.FIRE_STATE.removed, tr('state_removed'));
  }
  return items;
}

function renderLegend() {
  const ul = $('m-legend');
  if (!ul) return;
  ul.replaceChildren();
  const seenKey = new Set();
  if (S.mode === 'cluster') {
    const li = document.createElement('li');
    li.className = 'm-small';
    li.textContent = tr('cluster_legend');
    ul.appendChild(li);
  }
  for (const it of legendItems()) {
    if (seenKey.has(it.hex + it.label) || (it.hex === P.UNKNOWN && [...seenKey].some((k) => k.startsWith(P.UNKNOWN)))) continue;
    seenKey.add(it.hex + it.label);
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'sw';
    sw.style.background = it.hex;
    const lab = document.createElement('span');
    lab.textContent = it.label;
    li.append(sw, lab);
    const n = S.legendCounts?.[it.hex];
    if (n && S.mode !== 'cluster') {
      const c = document.createElement('span');
      c.className = 'n';
      c.textContent = `${n}`;
      li.appendChild(c);
    }
    ul.appendChild(li);
  }
}

async function loadClusters() {
  if (S.clusters) return;
  S.clusters = await getJson(`/api/datasets/${encodeURIComponent(S.ds)}/clusters`);
  S.classes = S.clusters.class;
  resizeArrays(S.clusters.feature_count);
  if (S.mode === 'cluster' || S.mode === 'fireclass' || S.mode === 'fire') recolour();
}

function setMode(mode) {
  S.mode = mode;
  $('m-mode').value = mode;
  $('m-large-wrap').hidden = mode !== 'cluster';
  $('m-playback').hidden = mode !== 'fire';
  $('m-wind').hidden = mode !== 'fire' || !fireRun();
  overlay.visible = mode === 'fire';
  if ((mode === 'cluster' || mode === 'fireclass') && !S.clusters) loadClusters().catch((e) => { $('m-status').textContent = e.message; });
  recolour();
  requestAnimationFrame(resize);
}

// ------------------------------------------------------------------ picking + attributes
const ray = new THREE.Raycaster();
let down = null;
renderer.domElement.addEventListener('pointerdown', (e) => { down = [e.clientX, e.clientY]; });
renderer.domElement.addEventListener('pointerup', (e) => {
  if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 5) return;
  const r = renderer.domElement.getBoundingClientRect();
  const ndc = new THREE.Vector2(((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1);
  ray.setFromCamera(ndc, camera);
  const hit = ray.intersectObjects(S.meshes, false)[0];
  if (!hit) { select(-1); return; }
  const f0 = hit.object.geometry.getAttribute('_feature_id_0');
  select(Math.round(f0.getX(hit.face.a)));
});

async function select(fid) {
  S.selected = fid;
  S.selectedInfo = null;
  recolour();
  renderAttributes();
  if (fid < 0) return;
  const gid = S.attrs[fid]?.gml_id;
  if (!gid) return;
  try {
    const info = await getJson(`/api/datasets/${encodeURIComponent(S.ds)}/buildings/${encodeURIComponent(gid)}`);
    if (S.selected === fid) { S.selectedInfo = info; renderAttributes(); }
  } catch (e) {
    if (S.selected === fid) { S.selectedInfo = { error: e.message, gml_id: gid }; renderAttributes(); }
  }
}

function renderAttributes() {
  const dl = $('m-attr-list');
  dl.replaceChildren();
  const info = S.selectedInfo;
  $('m-attr-hint').hidden = S.selected >= 0;
  $('m-attr-actions').hidden = !(info && !info.error);
  if (S.selected < 0) return;
  const rows = [];
  const num = (v, unit, d = 1) => (v === null || v === undefined ? tr('unknown') : `${Number(v).toFixed(d)} ${unit}`.trim());
  const fid = S.selected;
  rows.push(['gml_id', info?.gml_id || S.attrs[fid]?.gml_id || '—']);
  if (info?.error) rows.push(['attributes', info.error]);
  if (info && !info.error) {
    const code = (col) => {
      const c = info.codes?.[col];
      if (!c || !c.code) return tr('unknown');
      const label = S.lang === 'en' ? c.en || c.ja : c.ja || c.en;
      return `${label || tr('unknown')}（${c.code}）`;
    };
    rows.push(['building_id', info.attributes?.building_id || tr('unknown')]);
    rows.push(['height', num(info.height, 'm')]);
    rows.push(['storeys_above', info.storeys_above ?? tr('unknown')]);
    rows.push(['storeys_below', info.storeys_below ?? tr('unknown')]);
    rows.push(['year', info.year ?? tr('unknown')]);
    rows.push(['total_floor_area', num(info.total_floor_area, 'm²')]);
    rows.push(['footprint_area', num(info.footprint_area, 'm²')]);
    rows.push(['structure_code', code('structure_code')]);
    rows.push(['fireproof_code', code('fireproof_code')]);
    rows.push(['usage_code', code('usage_code')]);
    rows.push(['class_code', code('class_code')]);
    if (S.classes) rows.push(['mode_fireclass', tr(`class_${S.classes[fid]}`)]);
    rows.push(['feature_id', info.feature_id]);
  }
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = tr(k);
    const dd = document.createElement('dd');
    dd.textContent = String(v);
    if (k === 'gml_id') dd.id = 'm-attr-gmlid';
    dl.append(dt, dd);
  }
}

$('m-set-ign').addEventListener('click', () => {
  const gid = S.selectedInfo?.gml_id;
  if (!gid) return;
  S.ignition = gid;
  updateIgnitionText();
});
$('m-ign-clear').addEventListener('click', () => { S.ignition = null; updateIgnitionText(); });
function updateIgnitionText() {
  $('m-ign').textContent = S.ignition ? tr('ignition_set', { id: S.ignition }) : tr('ignition_auto');
  $('m-ign-clear').hidden = !S.ignition;
}

// ------------------------------------------------------------------ fire scenario form + job
function showPolicyFields() {
  const p = $('m-policy').value;
  $('m-p-road').hidden = p !== 'road';
  $('m-p-open').hidden = p !== 'open';
  $('m-p-rebuild').hidden = p !== 'rebuild';
  $('m-custom').hidden = $('m-preset').value !== 'custom';
}
$('m-policy').addEventListener('change', showPolicyFields);
$('m-preset').addEventListener('change', showPolicyFields);

function numField(id, lo, hi) {
  const v = Number($(id).value);
  if (!Number.isFinite(v)) throw new Error(`${$(id).labels?.[0]?.textContent || id}: ?`);
  return Math.min(hi, Math.max(lo, v));
}

// The scenario JSON the API accepts (gis/firespread/scenarios.py); coordinates in the local frame.
export function buildRequest() {
  const e = S.meta.extent;
  const lo = e.local_min, hi = e.local_max;
  const cx = (lo[0] + hi[0]) / 2, cy = (lo[1] + hi[1]) / 2;
  const preset = $('m-preset').value;
  const weather = preset === 'custom'
    ? { speed: numField('m-ws', 0, 40), direction: numField('m-wd', 0, 359.9), humidity: numField('m-hum', 0, 100) }
    : { preset };
  const measures = [];
  const p = $('m-policy').value;
  let name = tr(`policy_${p}`);
  if (p === 'road') {
    const off = numField('m-off', -5000, 5000), w = numField('m-width', 1, 100);
    const line = $('m-axis').value === 'ew'
      ? [[lo[0] - 30, cy + off], [hi[0] + 30, cy + off]]
      : [[cx + off, lo[1] - 30], [cx + off, hi[1] + 30]];
    measures.push({ type: 'road_widening', centreline: line, width: w, action: 'remove' });
    name += ` ${w}m`;
  } else if (p === 'open') {
    const s = numField('m-size', 5, 500) / 2;
    measures.push({ type: 'open_space', polygon: [[cx - s, cy - s], [cx + s, cy - s], [cx + s, cy + s], [cx - s, cy + s]] });
    name += ` ${2 * s}m`;
  } else if (p === 'rebuild') {
    const share = numField('m-share', 0, 100) / 100;
    measures.push({ type: 'rebuild', to: $('m-to').value, share });
    name += ` ${Math.round(share * 100)}%`;
  }
  const body = {
    weather,
    hours: numField('m-hours', 1, 72),
    seed: 1,
    scenario: { name, wooden: $('m-wooden').value, measures },
  };
  if (S.ignition) body.ignition = [S.ignition];
  return body;
}

function drawOverlay(body) {
  overlay.clear();
  const z = S.meta.extent.local_min[2] + 0.05;
  const mat = new THREE.MeshBasicMaterial({ color: 0x6fbf5a, transparent: true, opacity: 0.45, depthWrite: false, side: THREE.DoubleSide });
  for (const m of body.scenario.measures) {
    let pts = null;
    if (m.type === 'road_widening') {
      const [[x0, y0], [x1, y1]] = m.centreline;
      const dx = x1 - x0, dy = y1 - y0, L = Math.hypot(dx, dy), nx = (-dy / L) * m.width / 2, ny = (dx / L) * m.width / 2;
      pts = [[x0 + nx, y0 + ny], [x1 + nx, y1 + ny], [x1 - nx, y1 - ny], [x0 - nx, y0 - ny]];
      mat.color.set(0x8c8c8c);
    } else if (m.type === 'open_space') pts = m.polygon;
    if (!pts) continue;
    const shape = new THREE.Shape(pts.map(([x, y]) => new THREE.Vector2(x, y)));
    const geo = new THREE.ShapeGeometry(shape);
    geo.rotateX(-Math.PI / 2); // (x, y, 0) -> (x, 0, -y)
    const mesh = new THREE.Mesh(geo, mat);
    mesh.position.y = z;
    mesh.renderOrder = 1;
    overlay.add(mesh);
  }
  needsRender = true;
}

let running = false;
$('m-fire-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (running || !S.meta) return;
  const status = $('m-run-status');
  let body;
  try { body = buildRequest(); } catch (e) { status.textContent = tr('run_failed', { msg: e.message }); return; }
  const slot = $('m-slot').value;
  running = true;
  $('m-run').disabled = true;
  const prog = $('m-progress');
  prog.hidden = false;
  prog.value = 0;
  status.classList.remove('m-error');
  try {
    const job = await getJson(`/api/datasets/${encodeURIComponent(S.ds)}/simulations`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    let st;
    for (;;) {
      st = await getJson(job.status_url);
      prog.value = st.progress;
      status.textContent = tr('running', { p: Math.round(st.progress * 100), stage: st.stage });
      if (st.state === 'done' || st.state === 'failed' || st.state === 'cancelled') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (st.state !== 'done') throw new Error(st.error?.message || st.state);
    const res = st.result;
    res.request = body;
    res.label = body.scenario.name;
    S.runs[slot] = res;
    status.textContent = tr('run_done', { n: res.summary.buildings_burnt, s: (st.elapsed_s ?? 0).toFixed(1) });
    resizeArrays(res.feature_count);
    S.shown = slot;
    S.t = 0;
    setMode('fire');
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

// ------------------------------------------------------------------ playback
function horizon() {
  const hs = [S.runs.A, S.runs.B].filter(Boolean).map((r) => r.hours * 3600);
  return hs.length ? Math.max(...hs) : 6 * 3600;
}

function showRun() {
  const run = fireRun();
  $('m-show-a').setAttribute('aria-pressed', String(S.shown === 'A'));
  $('m-show-b').setAttribute('aria-pressed', String(S.shown === 'B'));
  $('m-show-a').disabled = !S.runs.A;
  $('m-show-b').disabled = !S.runs.B;
  $('m-time').max = String(horizon());
  if (run) drawOverlay(run.request); else overlay.clear();
  updateWind();
  updateAbSummary();
  setTime(S.t);
  $('m-wind').hidden = S.mode !== 'fire' || !run;
}

function updateWind() {
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

function fmtTime(t) {
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60);
  return tr('time_fmt', { h, m });
}

function setTime(t) {
  S.t = Math.max(0, Math.min(horizon(), t));
  $('m-time').value = String(Math.round(S.t));
  updateTimeUi();
  if (S.mode === 'fire') recolour();
  drawChartNow();
}

function updateTimeUi() {
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

function updateAbSummary() {
  const a = S.runs.A, b = S.runs.B;
  const lab = (r) => (r ? r.label : tr('empty_slot'));
  $('m-show-a').title = `A: ${lab(a)}`;
  $('m-show-b').title = `B: ${lab(b)}`;
  $('m-ab-summary').textContent = a && b
    ? `${tr('summary_ab', { a: a.summary.buildings_burnt, b: b.summary.buildings_burnt, d: a.summary.buildings_burnt - b.summary.buildings_burnt })}　A: ${a.label} / B: ${b.label}`
    : `A: ${lab(a)} / B: ${lab(b)}`;
}

function drawChartNow() {
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
$('m-show-a').addEventListener('click', () => { if (S.runs.A) { S.shown = 'A'; showRun(); } });
$('m-show-b').addEventListener('click', () => { if (S.runs.B) { S.shown = 'B'; showRun(); } });
$('m-mode').addEventListener('change', () => setMode($('m-mode').value));
$('m-large').addEventListener('change', recolour);
$('m-reset').addEventListener('click', () => { if (S.meta) frameDistrict(); });
$('m-lang').addEventListener('click', () => {
  S.lang = S.lang === 'ja' ? 'en' : 'ja';
  const u = new URL(location.href);
  u.searchParams.set('lang', S.lang);
  history.replaceState(null, '', u);
  applyI18n();
  updateWind();
  drawChartNow();
});

// ------------------------------------------------------------------ loop
let last = performance.now();
controls.addEventListener('change', () => { needsRender = true; });
function frame(now) {
  const dt = Math.min(0.25, (now - last) / 1000);
  last = now;
  if (S.playing) {
    const t = S.t + dt * Number($('m-speed').value);
    if (t >= horizon()) { S.playing = false; setTime(horizon()); } else setTime(t);
  }
  controls.update();
  if (tiles) {
    camera.updateMatrixWorld();
    tiles.update();
  }
  renderer.render(scene, camera);
  needsRender = false;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// ------------------------------------------------------------------ read-only test hook
function screenPointOf(fid) {
  // centre of the building's roof, projected to page coordinates
  const box = new THREE.Box3();
  const v = new THREE.Vector3();
  for (const m of S.meshes) {
    const f0 = m.geometry.getAttribute('_feature_id_0');
    const pos = m.geometry.getAttribute('position');
    m.updateWorldMatrix(true, false);
    for (let i = 0; i < f0.count; i++) {
      if (Math.round(f0.getX(i)) !== fid) continue;
      v.fromBufferAttribute(pos, i).applyMatrix4(m.matrixWorld);
      box.expandByPoint(v);
    }
  }
  if (box.isEmpty()) return null;
  const c = box.getCenter(new THREE.Vector3());
  c.y = box.max.y;
  c.project(camera);
  const r = renderer.domElement.getBoundingClientRect();
  return { x: r.left + ((c.x + 1) / 2) * r.width, y: r.top + ((1 - c.y) / 2) * r.height };
}

function countColoured() {
  // what the vertex colours actually show, per fire state colour (features, not vertices)
  const want = {};
  for (const k of STATE_KEYS) {
    const c = new THREE.Color(); const [r, g, b] = P.rgb(P.FIRE_STATE[k]);
    c.setRGB(r, g, b, THREE.SRGBColorSpace);
    want[k] = c;
  }
  const perFid = new Map();
  for (const m of S.meshes) {
    const f0 = m.geometry.getAttribute('_feature_id_0');
    const col = m.geometry.getAttribute('color');
    for (let i = 0; i < f0.count; i++) {
      const fid = Math.round(f0.getX(i));
      if (perFid.has(fid)) continue;
      for (const k of STATE_KEYS) {
        const w = want[k];
        if (Math.abs(col.getX(i) - w.r) < 1e-4 && Math.abs(col.getY(i) - w.g) < 1e-4 && Math.abs(col.getZ(i) - w.b) < 1e-4) { perFid.set(fid, k); break; }
      }
      if (!perFid.has(fid)) perFid.set(fid, 'other');
    }
  }
  const out = { unburnt: 0, burning: 0, burnt: 0, removed: 0, fireproof: 0, other: 0 };
  for (const k of perFid.values()) out[k]++;
  return out;
}

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
    get clusters() { return S.clusters ? S.clusters.clusters.n_clusters : null; },
    gmlIdOf(fid) { return S.attrs[fid]?.gml_id ?? null; },
    screenPointOf,
    countColoured,
  }),
  writable: false,
  configurable: false,
});

start().catch((e) => {
  $('m-status').textContent = `${tr('load_failed')}: ${e.message}`;
  $('m-status').classList.add('m-error');
});
showPolicyFields();
