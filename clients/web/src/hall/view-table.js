// The city model on the hall's model table: a small copy of the big screen's district that
// attendees walk round. It costs no parsing and no repainting: each table mesh shares the screen
// view's tile geometry, vertex colours included, so when the view repaints for a new time or run
// the table shows it too (each renderer uploads the changed buffer itself). Faces are lit from
// screen-space derivatives, so the tiles need no normals.
import { Group, Mesh, ShaderMaterial, Vector3 } from 'three';

const VERT = /* glsl */ `
varying vec3 vRGB;
varying vec3 vPos;
void main() {
  vRGB = color;
  vec4 w = modelMatrix * vec4(position, 1.0);
  vPos = w.xyz;
  gl_Position = projectionMatrix * viewMatrix * w;
}`;
const FRAG = /* glsl */ `
varying vec3 vRGB;
varying vec3 vPos;
void main() {
  vec3 n = normalize(cross(dFdx(vPos), dFdy(vPos)));
  if (n.y < -0.01) n = -n; // faces of either winding light as if seen from above
  vec3 sun = normalize(vec3(-0.5, 1.0, 0.35));
  vec3 lin = vRGB * (mix(vec3(0.6, 0.57, 0.52), vec3(1.0), 0.5 * n.y + 0.5) * 0.75 + 0.45 * max(dot(n, sun), 0.0));
  lin = clamp(lin, 0.0, 1.0);
  gl_FragColor = vec4(mix(pow(lin, vec3(0.41666)) * 1.055 - 0.055, lin * 12.92, vec3(lessThanEqual(lin, vec3(0.0031308)))), 1.0);
}`;

/**
 * ``table``: the world's model table ({group, box: [x0, y0, x1, y1], height} in plan metres, the
 * group at the table top's centre). ``view``: the mounted city model view. Returns {sync(),
 * destroy(), stats()}.
 */
export function mountModelTable(table, view) {
  const material = new ShaderMaterial({ vertexShader: VERT, fragmentShader: FRAG, vertexColors: true });
  const holder = new Group(); // scaled district, its centre at the table's
  table.group.add(holder);
  const copies = new Map(); // source mesh -> table mesh
  let fitted = null;

  function fit() {
    const S = view.S;
    const e = S.meta.extent;
    const w = e.local_max[0] - e.local_min[0], d = e.local_max[1] - e.local_min[1];
    const [x0, y0, x1, y1] = table.box;
    const s = Math.min((x1 - x0 - 0.4) / w, (y1 - y0 - 0.4) / d); // a 20 cm margin round the edge
    holder.scale.setScalar(s);
    // the district's local centre (three: x, z up, -y) onto the table top's centre
    holder.position.set(-s * (e.local_min[0] + w / 2), -s * e.local_min[2], s * (e.local_min[1] + d / 2));
    fitted = S.ds;
  }

  function sync() {
    const S = view.S;
    if (!S.meta) { clear(); return; }
    if (fitted !== S.ds) { clear(); fit(); }
    const live = new Set(S.meshes);
    for (const [src, m] of copies) if (!live.has(src)) { holder.remove(m); copies.delete(src); }
    // a tile is announced before the tiles renderer puts it under its group (whose matrix undoes
    // the globe placement): copy only placed tiles, and look again a moment later
    const root = view.V.tiles?.group;
    const placed = (o) => { for (let p = o; p; p = p.parent) if (p === root) return true; return false; };
    let waiting = false;
    for (const src of S.meshes) {
      if (copies.has(src)) continue;
      if (!root || !placed(src)) { waiting = true; continue; }
      src.updateWorldMatrix(true, false);
      const m = new Mesh(src.geometry, material);
      m.matrixAutoUpdate = false;
      m.matrix.copy(src.matrixWorld);
      m.frustumCulled = false; // the shared geometry's bounds are in the screen view's frame
      holder.add(m);
      copies.set(src, m);
    }
    clearTimeout(retry);
    if (waiting) retry = setTimeout(sync, 500);
  }
  let retry = null;
  function clear() {
    for (const m of copies.values()) holder.remove(m);
    copies.clear();
    fitted = null;
  }
  const off = view.onTiles(sync);
  sync();

  return {
    sync,
    stats: () => ({ meshes: copies.size, dataset: fitted, scale: holder.scale.x, at: holder.getWorldPosition(new Vector3()).toArray() }),
    destroy() { off(); clearTimeout(retry); clear(); table.group.remove(holder); material.dispose(); },
  };
}
