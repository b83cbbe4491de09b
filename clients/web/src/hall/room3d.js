// The event hall in the 3D city hall (world.js): the big screens on the wall behind the stage and
// the model table's top. The city model itself is drawn by hall/screen.js (an overlay placed on
// screenRect()) and hall/view-table.js (fills the table's group).
import { BoxGeometry, Group, Mesh, MeshBasicMaterial, Vector3 } from 'three';
import { P } from '../plan-space.js';

/**
 * The event hall's big screen (a dark panel on the wall behind the stage, where the presenter's
 * city model view is shown as a page overlay: screenRect() says where it is on the page) and the
 * model table's top (furniture ``model-table`` of the plan), a group hall/view-table.js fills.
 */
export function makeHall(plan, scene, camera, canvas) {
  const zone = plan.zones.find((z) => z.kind === 'hall');
  if (!zone) return null;
  const xs = zone.polygon.map((p) => p[0]), ys = zone.polygon.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y1 = Math.max(...ys);
  const stage = plan.furniture.find((f) => f.kind === 'stage' && f.zone === zone.id);
  const z0 = (stage ? stage.height : 0) + 0.45, z1 = (plan.wall_height || 3.2) - 0.15;
  const y = y1 - (plan.wall_thickness || 0.2) / 2 - 0.04; // on the back wall's inner face
  // one screen on each stretch of the back wall (the doorway behind the stage stays clear): twin
  // screens, as in a real hall, both showing the presenter's view
  const segs = plan.walls.filter(([a, b]) => a[1] === y1 && b[1] === y1)
    .map(([a, b]) => [Math.max(x0, Math.min(a[0], b[0])), Math.min(x1, Math.max(a[0], b[0]))]).filter(([a, b]) => b - a >= 4);
  if (!segs.length) segs.push([x0, x1]);
  const corners = [];
  const frameMat = new MeshBasicMaterial({ color: 0x222a35 }), faceMat = new MeshBasicMaterial({ color: 0x3c5a7a });
  for (const [a, b] of segs) {
    const w = Math.min(8, b - a - 1.5), cx = (a + b) / 2;
    const frame = new Mesh(new BoxGeometry(w + 0.3, z1 - z0 + 0.3, 0.05), frameMat);
    frame.position.copy(P(cx, y, (z0 + z1) / 2));
    const face = new Mesh(new BoxGeometry(w, z1 - z0, 0.02), faceMat);
    face.position.copy(P(cx, y - 0.03, (z0 + z1) / 2));
    scene.add(frame, face);
    corners.push(P(cx - w / 2, y, z0), P(cx + w / 2, y, z0), P(cx - w / 2, y, z1), P(cx + w / 2, y, z1));
  }
  const t = plan.furniture.find((f) => f.id === 'model-table') || plan.furniture.find((f) => f.kind === 'model_table');
  let table = null;
  if (t) {
    const group = new Group();
    group.position.copy(P((t.box[0] + t.box[2]) / 2, (t.box[1] + t.box[3]) / 2, t.height + 0.01));
    scene.add(group);
    table = { group, box: t.box.slice(), height: t.height };
  }
  const v = new Vector3();
  return {
    zone: zone.id,
    table,
    /** The screen on the page (CSS px): {left, top, right, bottom, visible}. */
    screenRect() {
      const r = canvas.getBoundingClientRect();
      let l = Infinity, tp = Infinity, rt = -Infinity, b = -Infinity, front = 0;
      for (const c of corners) {
        v.copy(c).project(camera);
        if (v.z < 1) front++;
        const px = r.left + (v.x * 0.5 + 0.5) * r.width, py = r.top + (-v.y * 0.5 + 0.5) * r.height;
        l = Math.min(l, px); rt = Math.max(rt, px); tp = Math.min(tp, py); b = Math.max(b, py);
      }
      return { left: l, top: tp, right: rt, bottom: b, visible: front === corners.length && rt > r.left && l < r.right };
    },
  };
}
