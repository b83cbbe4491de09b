// Painting the buildings: a colour per feature id (colours.js rules) written into each tile
// mesh's vertex colours. Two colour sets per vertex: `color` (A, or the only run) and `colorB`
// (the B run of a split view); the material (splitMaterial) picks one per pixel by the split
// line's screen position, so an A/B comparison is one draw, not two.
import * as THREE from 'three';
import * as P from './palette.js';
import { categorical, clusterCtx, colourFor, fireStateAt } from './colours.js';

/** MeshLambert with flat shading and the A/B choice per fragment (uSplitX in device pixels). */
export function splitMaterial() {
  const m = new THREE.MeshLambertMaterial({ vertexColors: true, flatShading: true, side: THREE.DoubleSide });
  const uSplitX = { value: 1e9 }; // everything left of the line: all A
  m.onBeforeCompile = (sh) => {
    sh.uniforms.uSplitX = uSplitX;
    sh.vertexShader = 'attribute vec3 colorB;\nvarying vec3 vColorB;\n' + sh.vertexShader
      .replace('#include <color_vertex>', '#include <color_vertex>\n\tvColorB = colorB;');
    sh.fragmentShader = 'uniform float uSplitX;\nvarying vec3 vColorB;\n' + sh.fragmentShader
      .replace('#include <color_fragment>', '#if defined( USE_COLOR )\n\tdiffuseColor.rgb *= ( gl_FragCoord.x < uSplitX ? vColor.rgb : vColorB );\n#endif');
  };
  m.userData.uSplitX = uSplitX;
  return m;
}

/** Per-mesh feature id of every vertex, read once (getX per vertex per repaint is slow). */
export function meshFids(mesh) {
  if (mesh.userData.fids) return mesh.userData.fids;
  const f0 = mesh.geometry.getAttribute('_feature_id_0');
  const fids = new Int32Array(f0.count);
  for (let i = 0; i < f0.count; i++) fids[i] = Math.round(f0.getX(i));
  mesh.userData.fids = fids;
  return fids;
}

export function resizeArrays(S, n) {
  if (n <= S.n) return;
  const grow = (old, T, k = 1) => { const a = new T(n * k); a.set(old); return a; };
  S.colours = grow(S.colours, Float32Array, 3);
  S.state = grow(S.state, Uint8Array);
  S.stateB = grow(S.stateB, Uint8Array);
  S.attrs.length = n;
  S.n = n;
}

export function fidOfGml(S, gml) {
  if (!gml) return -1;
  if (!S.gmlIndex || S.gmlIndexSize !== S.seen.size) {
    S.gmlIndex = new Map();
    S.attrs.forEach((a, fid) => { if (a?.gml_id) S.gmlIndex.set(a.gml_id, fid); });
    S.gmlIndexSize = S.seen.size;
  }
  return S.gmlIndex.get(gml) ?? -1;
}

const linCache = new Map();
function linear(hex) {
  let c = linCache.get(hex);
  if (!c) {
    const [r, g, b] = P.rgb(hex);
    const l = new THREE.Color().setRGB(r, g, b, THREE.SRGBColorSpace);
    c = [l.r, l.g, l.b];
    linCache.set(hex, c);
  }
  return c;
}

/** Whether the view shows two runs side by side now. */
export function isSplit(S) {
  return S.split !== null && S.split !== undefined && S.mode === 'fire' && !!S.runs.A && !!S.runs.B;
}

function side(S, ctx, counts) {
  const lin = new Float32Array(S.n * 3);
  const mark = fidOfGml(S, S.highlight);
  for (let fid = 0; fid < S.n; fid++) {
    if (ctx.state) ctx.state[fid] = ctx.run && fid < ctx.run.class.length ? fireStateAt(ctx.run, fid, S.t) : 0;
    let hex = colourFor(S, fid, ctx);
    if (counts && S.seen.has(fid)) counts[hex] = (counts[hex] || 0) + 1;
    if (counts) { const [r, g, b] = P.rgb(hex); S.colours[fid * 3] = r; S.colours[fid * 3 + 1] = g; S.colours[fid * 3 + 2] = b; }
    if (fid === S.selected || fid === mark) hex = P.SELECTED;
    const c = linear(hex);
    lin[fid * 3] = c[0]; lin[fid * 3 + 1] = c[1]; lin[fid * 3 + 2] = c[2];
  }
  return lin;
}

/** Repaint every loaded mesh for S's mode, runs, time, split and marks; returns the legend counts. */
export function paint(S) {
  const base = { map: {} };
  if (S.mode === 'structure') base.map = categorical(S, 'structure_code', P.STRUCTURE);
  if (S.mode === 'usage') base.map = categorical(S, 'usage_code', P.USAGE);
  if (S.mode === 'cluster') Object.assign(base, clusterCtx(S));
  const split = isSplit(S);
  const fire = S.mode === 'fire';
  const counts = {};
  const linA = side(S, { ...base, run: fire ? (split ? S.runs.A : S.runs[S.shown]) : null, state: S.state }, counts);
  const linB = split ? side(S, { ...base, run: S.runs.B, state: S.stateB }, null) : linA;
  if (!split) S.stateB.set(S.state);
  for (const m of S.meshes) {
    const fids = meshFids(m);
    const a = m.geometry.getAttribute('color'), b = m.geometry.getAttribute('colorB');
    for (let i = 0; i < fids.length; i++) {
      const k = fids[i] * 3, o = i * 3;
      a.array[o] = linA[k]; a.array[o + 1] = linA[k + 1]; a.array[o + 2] = linA[k + 2];
      b.array[o] = linB[k]; b.array[o + 1] = linB[k + 1]; b.array[o + 2] = linB[k + 2];
    }
    a.needsUpdate = true;
    b.needsUpdate = true;
  }
  S.legendCounts = counts;
  return counts;
}

/** How many buildings are in each fire state now (A side, or B): what a follower checks. */
export function fireCounts(S, which = 'A') {
  const st = which === 'B' ? S.stateB : S.state;
  const out = { unburnt: 0, burning: 0, burnt: 0, removed: 0, fireproof: 0 };
  const keys = ['unburnt', 'burning', 'burnt', 'removed', 'fireproof'];
  for (const fid of S.seen) out[keys[st[fid]] || 'unburnt']++;
  return out;
}
