// Read-only probes for tests and the hall's state: where a building is on the page, and what
// the vertex colours actually show (per fire-state colour, counted per building).
import * as THREE from 'three';
import * as P from './palette.js';
import { STATE_KEYS } from './colours.js';
import { meshFids } from './paint.js';

/** Centre of the building's roof, projected to page coordinates (null when not loaded). */
export function screenPointOf(view, fid) {
  const box = new THREE.Box3();
  const v = new THREE.Vector3();
  for (const m of view.S.meshes) {
    const fids = meshFids(m);
    const pos = m.geometry.getAttribute('position');
    m.updateWorldMatrix(true, false);
    for (let i = 0; i < fids.length; i++) {
      if (fids[i] !== fid) continue;
      v.fromBufferAttribute(pos, i).applyMatrix4(m.matrixWorld);
      box.expandByPoint(v);
    }
  }
  if (box.isEmpty()) return null;
  const c = box.getCenter(new THREE.Vector3());
  c.y = box.max.y;
  c.project(view.camera);
  const r = view.renderer.domElement.getBoundingClientRect();
  return { x: r.left + ((c.x + 1) / 2) * r.width, y: r.top + ((1 - c.y) / 2) * r.height };
}

/** Buildings per fire-state colour in the drawn vertex colours (``attr``: color = A, colorB = B). */
export function countColoured(view, attr = 'color') {
  const want = {};
  for (const k of STATE_KEYS) {
    const c = new THREE.Color(); const [r, g, b] = P.rgb(P.FIRE_STATE[k]);
    c.setRGB(r, g, b, THREE.SRGBColorSpace);
    want[k] = c;
  }
  const perFid = new Map();
  for (const m of view.S.meshes) {
    const fids = meshFids(m);
    const col = m.geometry.getAttribute(attr);
    for (let i = 0; i < fids.length; i++) {
      const fid = fids[i];
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
