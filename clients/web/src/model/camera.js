// The view's camera in the dataset's own terms, so every viewer can share it: the point looked
// at (local metres: x east, y north, z up), the distance to it, the heading the camera looks
// towards (degrees clockwise from north) and its pitch (degrees, negative looking down).
// three.js is y-up: local (x, y, z) is world (x, z, -y).
import * as THREE from 'three';

export const toWorld = (x, y, z) => new THREE.Vector3(x, z, -y);
const R = Math.PI / 180;
const r1 = (v) => Math.round(v * 10) / 10;

export function getCamera(camera, controls) {
  const t = controls.target;
  const off = camera.position.clone().sub(t);
  const d = off.length() || 1;
  // looking direction in local axes (east, north, up)
  const lx = -off.x / d, ly = off.z / d, lz = -off.y / d;
  return {
    x: r1(t.x), y: r1(-t.z), z: r1(t.y), distance: r1(d),
    heading: r1((Math.atan2(lx, ly) / R + 360) % 360),
    pitch: r1(Math.asin(Math.max(-1, Math.min(1, lz))) / R),
  };
}

export function setCamera(camera, controls, c) {
  // straight down (or up) has no heading: keep a sliver of tilt so the orbit keeps its bearing
  const h = (c.heading ?? 0) * R, p = Math.max(-89.5, Math.min(89.5, c.pitch ?? -45)) * R;
  const look = new THREE.Vector3(Math.sin(h) * Math.cos(p), Math.cos(h) * Math.cos(p), Math.sin(p)); // local
  const target = toWorld(c.x, c.y, c.z ?? 0);
  const back = toWorld(look.x, look.y, look.z).multiplyScalar(-c.distance);
  controls.target.copy(target);
  camera.position.copy(target).add(back);
  nearFar(camera, c.distance);
  camera.lookAt(target);
  camera.updateMatrixWorld();
}

function nearFar(camera, d) {
  camera.near = Math.max(0.5, d / 200);
  camera.far = d * 20 + 5000;
  camera.updateProjectionMatrix();
}

/** The whole district in view, looking down 55 degrees from the south (north is up). */
export function frameDistrict(camera, controls, meta) {
  const lo = meta.extent.local_min, hi = meta.extent.local_max;
  const c = toWorld((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2);
  const corners = [];
  for (const x of [lo[0], hi[0]]) for (const y of [lo[1], hi[1]]) for (const z of [lo[2], hi[2]]) corners.push(toWorld(x, y, z));
  const pitch = 55 * R;
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
  nearFar(camera, b);
  controls.update();
}

/** The ground point (local x, y) under a page position, on the district's lowest level. */
export function groundAt(camera, el, meta, clientX, clientY) {
  const r = el.getBoundingClientRect();
  const ndc = new THREE.Vector2(((clientX - r.left) / r.width) * 2 - 1, -((clientY - r.top) / r.height) * 2 + 1);
  const ray = new THREE.Raycaster();
  ray.setFromCamera(ndc, camera);
  const plane = new THREE.Plane(new THREE.Vector3(0, 1, 0), -meta.extent.local_min[2]);
  const hit = new THREE.Vector3();
  if (!ray.ray.intersectPlane(plane, hit)) return null;
  return [Math.round(hit.x * 10) / 10, Math.round(-hit.z * 10) / 10];
}

/** Page position of local point (x, y, z) in element ``el``'s view. */
export function pageOf(camera, el, x, y, z) {
  const v = toWorld(x, y, z).project(camera);
  const r = el.getBoundingClientRect();
  return { x: r.left + ((v.x + 1) / 2) * r.width, y: r.top + ((1 - v.y) / 2) * r.height, behind: v.z > 1 };
}
