// The city model view as a component: mountCityModel(el, {dataset, lang, controls}) puts the
// 3D district (tiles.js), its colouring (paint.js), the playback of simulation runs and the
// policy overlays into any element. Used by the model page (controls: 'full'), by the hall's
// presenter ('presenter': their changes come out of onChange as `hall.show` patches) and by the
// hall's audience ('follow': applyShow() sets the view; dragging detaches until snapBack()).
//
// The view draws only when something changed (a follower's page also draws the whole city hall).
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { newState } from './ctx.js';
import { fireCounts, fidOfGml, isSplit, paint, resizeArrays, splitMaterial } from './paint.js';
import { frameDistrict, getCamera, groundAt, pageOf, setCamera } from './camera.js';
import { drawDraft, drawMeasures } from './overlay.js';
import { loadTiles, unloadTiles } from './tiles.js';
import { fetchSim } from './sims.js';
import { apiJson } from '../api.js';

export function mountCityModel(el, { dataset = null, lang = 'ja', controls: initialKind = 'full' } = {}) {
  let kind = initialKind; // 'full' | 'presenter' | 'follow'; a hall visitor may take or leave the stage
  const S = newState({ dataset, lang });
  const listeners = { change: [], pick: [], ground: [], detach: [], tiles: [], frame: [], status: [] };
  const emit = (ev, a) => { for (const f of listeners[ev]) f(a); };
  const on = (ev) => (f) => { listeners[ev].push(f); return () => { listeners[ev] = listeners[ev].filter((g) => g !== f); }; };

  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  renderer.outputColorSpace = THREE.SRGBColorSpace;
  renderer.domElement.classList.add('cm-canvas');
  el.appendChild(renderer.domElement);
  const scene = new THREE.Scene();
  const camera = new THREE.PerspectiveCamera(40, 1, 1, 20000);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8a8577, 2.2));
  const sun = new THREE.DirectionalLight(0xffffff, 1.6);
  sun.position.set(-0.5, 1, 0.35);
  scene.add(sun);
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.enableDamping = true;
  controls.dampingFactor = 0.12; // settles in well under a second, also on slow machines
  controls.maxPolarAngle = Math.PI * 0.48;
  controls.minPolarAngle = 0.02; // never exactly top-down: the heading would be undefined there
  scene.background = new THREE.Color(0xdfe8f1); // sky where the ground ends, not black
  controls.listenToKeyEvents(el); // arrow keys pan while the view has focus
  const material = splitMaterial();
  const measures = new THREE.Group(); // the shown run's policy shapes
  const draft = new THREE.Group(); // the shape being drawn
  scene.add(measures, draft);

  let needsRender = true;
  let destroyed = false;
  let paused = false;
  const V = {
    S, scene, camera, renderer, material, tiles: null, ground: null,
    dirty() { needsRender = true; },
    emit,
    recolour,
  };

  // ---------------------------------------------------------------- colours and time
  function recolour() {
    paint(S);
    emit('status', 'colours');
    needsRender = true;
  }
  function horizon() {
    const hs = [S.runs.A, S.runs.B].filter(Boolean).map((r) => r.hours * 3600);
    return hs.length ? Math.max(...hs) : 6 * 3600;
  }
  function setTime(t) {
    S.t = Math.max(0, Math.min(horizon(), t));
    if (S.mode === 'fire') recolour();
  }
  function updateSplit() {
    const w = renderer.domElement.width;
    material.userData.uSplitX.value = isSplit(S) ? S.split * w : 1e9;
    needsRender = true;
  }
  function setMode(mode) {
    S.mode = mode;
    measures.visible = mode === 'fire';
    if ((mode === 'cluster' || mode === 'fireclass' || mode === 'fire') && !S.clusters && S.meta) loadClusters().catch(() => {});
    updateSplit();
    recolour();
  }
  async function loadClusters() {
    if (S.clusters || !S.ds) return;
    const ds = S.ds;
    const cl = await apiJson(`/api/datasets/${encodeURIComponent(ds)}/clusters`);
    if (ds !== S.ds) return;
    S.clusters = cl;
    S.classes = cl.class;
    resizeArrays(S, cl.feature_count);
    if (['cluster', 'fireclass', 'fire'].includes(S.mode)) recolour();
  }
  function showMeasures() {
    const run = S.runs[isSplit(S) ? 'A' : S.shown];
    const ms = run?.request?.scenario?.measures;
    if (ms && S.meta) drawMeasures(measures, ms, S.meta.extent.local_min[2] + 0.05);
    else drawMeasures(measures, [], 0);
    needsRender = true;
  }
  /** A run into slot A or B (a result from sims.js), or null to empty it. */
  function setRun(slot, res, simId = null) {
    S.runs[slot] = res;
    S.sims[slot] = res ? simId : null;
    if (res) resizeArrays(S, res.feature_count);
    showMeasures();
    updateSplit();
    setTime(S.t);
  }

  // ---------------------------------------------------------------- datasets
  let loading = null;
  async function setDataset(ds) {
    if (ds === S.ds && (S.meta || loading)) return loading;
    unloadTiles(V);
    // a new district: its arrays and runs go; what the viewer chose (mode, time, camera) stays
    const keep = ['mode', 'showCamera', 'detached', 'split', 't', 'speed', 'playing', 'highlight', 'show', 'largeFire'];
    Object.assign(S, newState({ dataset: ds, lang: S.lang }), Object.fromEntries(keep.map((k) => [k, S[k]])));
    drawMeasures(measures, [], 0);
    drawDraft(draft, null, 0, 1);
    recolour();
    if (!ds) { loading = null; return null; }
    emit('status', 'loading');
    const mine = loading = (async () => {
      if (!(await loadTiles(V)) || ds !== S.ds) return; // another district was asked for meanwhile
      resize();
      frameDistrict(camera, controls, S.meta);
      if (kind === 'follow' && S.showCamera && !S.detached) setCamera(camera, controls, S.showCamera);
      loadClusters().catch(() => {});
      showMeasures(); // runs that arrived while the tiles loaded
      emit('status', 'meta');
      needsRender = true;
    })();
    try { await mine; } catch (e) { if (ds === S.ds) { S.loadError = e.message; emit('status', 'error'); } throw e; } finally { if (loading === mine) loading = null; }
    return null;
  }

  // ---------------------------------------------------------------- sizing and camera
  function resize() {
    const w = el.clientWidth, h = el.clientHeight;
    if (!w || !h) return;
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
    if (V.tiles) V.tiles.setResolutionFromRenderer(camera, renderer);
    updateSplit();
    needsRender = true;
  }
  let userMoved = false;
  const ro = new ResizeObserver(() => {
    resize();
    if (S.meta && !userMoved && !(kind === 'follow' && S.showCamera)) frameDistrict(camera, controls, S.meta);
  });
  ro.observe(el);

  // A person's own camera move (not one we set): OrbitControls says start/end around input.
  // After 'end' the damping still turns the camera for a while: those moves are the person's
  // too (the presenter's last camera must go out), until controls.update() reports no change.
  let userActive = false, userEnding = false, applying = false;
  controls.addEventListener('start', () => { userActive = true; userEnding = false; userMoved = true; });
  controls.addEventListener('end', () => { userEnding = true; });
  controls.addEventListener('change', () => {
    needsRender = true;
    if (applying || !userActive || !S.meta) return;
    if (kind === 'follow' && !S.detached) detach();
    if (kind === 'presenter') emit('change', { camera: getCamera(camera, controls) });
  });
  function applyCamera(c) {
    applying = true;
    // a follower's own drag may still be easing out: drop it, or it would carry the camera on
    controls._sphericalDelta?.set(0, 0, 0);
    controls._panOffset?.set(0, 0, 0);
    if (controls._scale !== undefined) controls._scale = 1;
    if (c) setCamera(camera, controls, c); else if (S.meta) frameDistrict(camera, controls, S.meta);
    controls.update();
    applying = false;
    needsRender = true;
  }
  function detach() {
    if (S.detached) return;
    S.detached = true;
    emit('detach', true);
  }
  function snapBack() {
    S.detached = false;
    userActive = false;
    userEnding = false;
    applyCamera(S.showCamera);
    emit('detach', false);
  }

  // ---------------------------------------------------------------- picking and drawing
  const ray = new THREE.Raycaster();
  let down = null;
  renderer.domElement.addEventListener('pointerdown', (e) => { down = [e.clientX, e.clientY]; });
  renderer.domElement.addEventListener('pointerup', (e) => {
    if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 5 || !S.meta) return;
    down = null;
    if (listeners.ground.length && drawing) {
      const p = groundAt(camera, renderer.domElement, S.meta, e.clientX, e.clientY);
      if (p) emit('ground', p);
      return;
    }
    if (kind === 'follow') return;
    const r = renderer.domElement.getBoundingClientRect();
    ray.setFromCamera(new THREE.Vector2(((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1), camera);
    const hit = ray.intersectObjects(S.meshes, false)[0];
    const fid = hit ? hit.object.userData.fids[hit.face.a] : -1;
    emit('pick', fid);
    if (kind === 'presenter') {
      const gml = fid >= 0 ? S.attrs[fid]?.gml_id ?? null : null;
      setHighlight(gml);
      emit('change', gml ? { highlight: gml } : { clear: ['highlight'] });
    }
  });
  let drawing = false;
  function setHighlight(gml) {
    S.highlight = gml || null;
    recolour();
  }

  // ---------------------------------------------------------------- the presenter's view document
  let showSeq = 0;
  /** Follow a hall `show` (dataset, colour, sim/sim_b + split, t/speed/playing, camera, highlight). */
  async function applyShow(show) {
    if (!show) return;
    const seq = ++showSeq;
    const prev = S.show;
    const changed = (...ks) => !prev || ks.some((k) => JSON.stringify(prev[k] ?? null) !== JSON.stringify(show[k] ?? null));
    S.show = show;
    S.showCamera = show.camera || null;
    S.speed = show.speed ?? S.speed;
    // the time only when it (or play/pause) changed: a camera patch during playback carries the
    // time of the last sync and must not pull the clock back
    if (changed('t', 'playing')) { S.t = show.t ?? 0; S.playing = !!show.playing; }
    if (!S.detached && changed('camera', 'dataset')) applyCamera(S.showCamera);
    if (changed('t', 'playing', 'colour', 'split', 'highlight')) {
      S.split = show.split ?? null;
      S.highlight = show.highlight || null;
      if (show.colour && show.colour !== S.mode) setMode(show.colour); else updateSplit();
      setTime(S.t); // repaints: not on every camera patch (ten a second)
    }
    if ((show.dataset || null) !== S.ds) {
      try { await setDataset(show.dataset || null); } catch { return; } // the status says why
    }
    if (seq !== showSeq) return;
    for (const [slot, key] of [['A', 'sim'], ['B', 'sim_b']]) {
      const id = show[key] || null;
      if (id === S.sims[slot]) continue;
      if (!id) { setRun(slot, null); continue; }
      S.sims[slot] = id;
      S.runs[slot] = null;
      S.simError = null;
      emit('status', 'sim_loading');
      try {
        const res = await fetchSim(id);
        if (seq !== showSeq && S.show?.[key] !== id) return;
        setRun(slot, res, id);
      } catch (e) {
        // not retried on every patch (the camera moves ten times a second): a new id tries again
        S.simError = e.code || e.message;
        emit('status', 'sim_error');
      }
    }
    if (seq === showSeq) emit('status', 'show'); // (a run that arrived has repainted already)
  }

  // ---------------------------------------------------------------- loop
  let last = performance.now();
  let raf = 0;
  function frame(now) {
    if (destroyed) return;
    raf = requestAnimationFrame(frame);
    const dt = Math.min(0.25, (now - last) / 1000);
    last = now;
    if (paused) return;
    if (S.playing && S.meta) {
      const t = S.t + dt * S.speed;
      if (t >= horizon()) {
        S.playing = false;
        setTime(horizon());
        if (kind === 'presenter') emit('change', { playing: false, t: S.t });
      } else setTime(t);
      emit('frame', S.t);
    }
    if (controls.update()) needsRender = true;
    else if (userEnding) { userActive = false; userEnding = false; }
    // tiles.update() queues downloads and picks levels: every frame while loading, else on change
    const loadingTiles = V.tiles && (!S.tilesetReady || V.tiles.loadProgress < 1);
    if (!needsRender && !loadingTiles) return;
    if (V.tiles) { camera.updateMatrixWorld(); V.tiles.update(); }
    renderer.render(scene, camera);
    needsRender = false;
  }
  raf = requestAnimationFrame(frame);

  if (dataset) setDataset(dataset).catch(() => {});

  // ---------------------------------------------------------------- the public face
  const out = (patch) => { if (kind === 'presenter') emit('change', patch); };
  return {
    S, V, el, camera, renderer,
    get kind() { return kind; },
    /** Presenter or follower from now on (the hall's stage changed hands). */
    setControls(k) { kind = k; if (k !== 'follow' && S.detached) { S.detached = false; emit('detach', false); } },
    get ready() { return loading || Promise.resolve(); },
    get detached() { return S.detached; },
    setDataset,
    setLang(l) { S.lang = l === 'en' ? 'en' : 'ja'; recolour(); },
    setMode(mode) { setMode(mode); out({ colour: mode }); },
    setLargeFire(on) { S.largeFire = !!on; recolour(); },
    setRun(slot, res, simId = null) {
      setRun(slot, res, simId);
      if (simId) out(slot === 'A' ? { sim: simId } : { sim_b: simId });
    },
    setShown(slot) { S.shown = slot; showMeasures(); recolour(); },
    setSplit(x) {
      S.split = x === null ? null : Math.max(0, Math.min(1, x));
      updateSplit(); recolour();
      out(x === null ? { clear: ['split'] } : { split: Math.round(S.split * 1000) / 1000 });
    },
    setTime(t) { S.playing = false; setTime(t); out({ t: Math.round(S.t), playing: false }); },
    play(on) {
      if (on && S.t >= horizon()) setTime(0);
      S.playing = !!on;
      out({ playing: S.playing, t: Math.round(S.t), speed: S.speed });
    },
    setSpeed(v) { S.speed = Number(v) || 60; out({ speed: S.speed, t: Math.round(S.t) }); },
    horizon,
    select(fid) { S.selected = fid; recolour(); },
    setHighlight(gml) { setHighlight(gml); out(gml ? { highlight: gml } : { clear: ['highlight'] }); },
    fidOfGml: (g) => fidOfGml(S, g),
    camera3: () => (S.meta ? getCamera(camera, controls) : null),
    frame() { if (S.meta) { frameDistrict(camera, controls, S.meta); needsRender = true; out({ camera: getCamera(camera, controls) }); } },
    applyShow,
    applyCamera,
    detach,
    snapBack,
    recolour,
    drawMeasures(ms) { drawMeasures(measures, ms, S.meta ? S.meta.extent.local_min[2] + 0.05 : 0); needsRender = true; },
    showMeasures,
    /** A drawn shape ({kind: road|open|rebuild, points, width}) or null; with ``capture`` the
     * view's clicks add points (onGround) instead of picking buildings. */
    setDraft(d, capture = false) {
      drawing = !!d && capture;
      if (S.meta) {
        const e = S.meta.extent;
        drawDraft(draft, d, e.local_min[2] + 0.12, Math.max(e.local_max[0] - e.local_min[0], e.local_max[1] - e.local_min[1]));
      }
      needsRender = true;
    },
    pageOf: (x, y, z) => pageOf(camera, renderer.domElement, x, y, z ?? (S.meta ? S.meta.extent.local_min[2] : 0)),
    fireCounts: (which) => fireCounts(S, which),
    onChange: on('change'),
    onPick: on('pick'),
    onGround: on('ground'),
    onDetach: on('detach'),
    onTiles: on('tiles'),
    onFrame: on('frame'),
    onStatus: on('status'),
    pause(p) { paused = !!p; if (!p) { resize(); needsRender = true; } },
    render() { needsRender = true; },
    resize,
    destroy() {
      destroyed = true;
      cancelAnimationFrame(raf);
      ro.disconnect();
      controls.dispose();
      unloadTiles(V);
      material.dispose();
      renderer.dispose();
      renderer.forceContextLoss?.();
      renderer.domElement.remove();
      for (const k of Object.keys(listeners)) listeners[k] = [];
    },
  };
}
