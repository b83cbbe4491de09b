// Policy shapes on the map: the measures of a scenario (road corridor, open space, rebuilding
// area) as flat translucent shapes just above the ground, and the shape being drawn (its points
// and outline) while the planner clicks. Local metres; three is y-up (local (x, y) -> (x, -y)).
import * as THREE from 'three';

const STYLE = {
  road_widening: { color: 0x7a7a7a, opacity: 0.55 },
  open_space: { color: 0x4fa845, opacity: 0.45 },
  rebuild: { color: 0x2f6fd0, opacity: 0.3 },
};

/** The corridor of a centreline polyline: one quad per segment (the server buffers the line). */
export function corridor(line, width) {
  const quads = [];
  for (let i = 0; i + 1 < line.length; i++) {
    const [x0, y0] = line[i], [x1, y1] = line[i + 1];
    const L = Math.hypot(x1 - x0, y1 - y0) || 1;
    const nx = (-(y1 - y0) / L) * width / 2, ny = ((x1 - x0) / L) * width / 2;
    quads.push([[x0 + nx, y0 + ny], [x1 + nx, y1 + ny], [x1 - nx, y1 - ny], [x0 - nx, y0 - ny]]);
  }
  return quads;
}

function flat(pts, z, style) {
  const shape = new THREE.Shape(pts.map(([x, y]) => new THREE.Vector2(x, y)));
  const geo = new THREE.ShapeGeometry(shape);
  geo.rotateX(-Math.PI / 2); // (x, y, 0) -> (x, 0, -y)
  const mat = new THREE.MeshBasicMaterial({ color: style.color, transparent: true, opacity: style.opacity, depthWrite: false, side: THREE.DoubleSide });
  const mesh = new THREE.Mesh(geo, mat);
  mesh.position.y = z;
  mesh.renderOrder = 1;
  return mesh;
}

function outline(pts, z, color, closed) {
  const v = pts.map(([x, y]) => new THREE.Vector3(x, z, -y));
  if (closed && v.length > 2) v.push(v[0].clone());
  const line = new THREE.Line(new THREE.BufferGeometry().setFromPoints(v), new THREE.LineBasicMaterial({ color, depthTest: false }));
  line.renderOrder = 3;
  return line;
}

function dots(pts, z, color, size) {
  const g = new THREE.Group();
  const geo = new THREE.CylinderGeometry(size, size, 0.4, 16);
  const mat = new THREE.MeshBasicMaterial({ color, depthTest: false });
  for (const [x, y] of pts) {
    const m = new THREE.Mesh(geo, mat);
    m.position.set(x, z + 0.2, -y);
    m.renderOrder = 4;
    g.add(m);
  }
  return g;
}

function disposeGroup(g) {
  g.traverse((o) => { o.geometry?.dispose(); o.material?.dispose?.(); });
  g.clear();
}

/** Measures -> meshes in ``group`` (cleared first). */
export function drawMeasures(group, measures, z) {
  disposeGroup(group);
  for (const m of measures || []) {
    const st = STYLE[m.type];
    if (!st) continue;
    if (m.type === 'road_widening') for (const q of corridor(m.centreline, m.width)) group.add(flat(q, z, st));
    else if (m.type === 'open_space') group.add(flat(m.polygon, z, st), outline(m.polygon, z + 0.1, 0x2e7d32, true));
    else if (m.type === 'rebuild' && m.area) group.add(flat(m.area, z, st), outline(m.area, z + 0.1, 0x1d4f9a, true));
  }
}

/** A drawn shape: ``kind`` road | open | rebuild, its points, the road width; ``fill`` false draws
 * only its outline and points. */
export function drawDraft(group, draft, z, scale, fill = true) {
  disposeGroup(group);
  if (!draft || !draft.points.length) return;
  const pts = draft.points;
  const size = Math.max(0.8, scale / 150); // visible dots whatever the district's size
  if (draft.kind === 'road') {
    if (pts.length > 1 && fill) for (const q of corridor(pts, draft.width || 8)) group.add(flat(q, z, STYLE.road_widening));
    group.add(outline(pts, z + 0.1, 0x333333, false));
  } else {
    const st = draft.kind === 'open' ? STYLE.open_space : STYLE.rebuild;
    if (pts.length > 2 && fill) group.add(flat(pts, z, st));
    group.add(outline(pts, z + 0.1, draft.kind === 'open' ? 0x2e7d32 : 0x1d4f9a, pts.length > 2));
  }
  group.add(dots(pts, z, 0xd9481c, size));
}
