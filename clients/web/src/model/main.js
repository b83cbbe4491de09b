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
import * as P from './palette.js';
import { apiJson } from '../api.js';
import { $, DICT, S, tr, fireRun, hooks } from './ctx.js';
import { STATE_KEYS, categorical, clusterCtx, colourFor, fireStateAt, renderLegend } from './colours.js';
import { renderAttributes, select, updateIgnitionText } from './attributes.js';
import { showPolicyFields } from './scenario.js';
import { drawChartNow, horizon, setTime, showRun, updateAbSummary, updateTimeUi, updateWind } from './playback.js';
import './model.css';

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


async function start() {
  applyI18n();
  if (!S.ds) {
    $('m-status').textContent = tr('no_dataset');
    $('m-status').classList.add('m-error');
    return;
  }
  $('m-status').textContent = tr('loading');
  try {
    S.meta = await apiJson(`/api/datasets/${encodeURIComponent(S.ds)}`);
  } catch (e) {
    $('m-status').textContent = `${tr('load_failed')}: ${e.message}`;
    $('m-status').classList.add('m-error');
    return;
  }
  $('m-dsname').textContent = S.meta.name;
  if (S.meta.credit) DICT.ja.credit = S.meta.credit; // the dataset's own credit line (same text for PLATEAU)
  $('m-credit').textContent = tr('credit');
  resizeArrays(S.meta.counts.buildings);
  const tsUrl = `/datasets/${encodeURIComponent(S.ds)}/tileset.json`;
  const tileset = await apiJson(tsUrl);
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

async function loadClusters() {
  if (S.clusters) return;
  S.clusters = await apiJson(`/api/datasets/${encodeURIComponent(S.ds)}/clusters`);
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

// What the other modules call back into (see ctx.js hooks).
Object.assign(hooks, {
  recolour,
  render() { needsRender = true; },
  drawOverlay,
  clearOverlay() { overlay.clear(); needsRender = true; },
  resizeArrays,
  setMode,
});

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
