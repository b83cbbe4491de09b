// Signs of the 3D city hall (zone names, the welcome board) and the booths' doors with their
// 相談中 sign. Split from world.js: the scene asks ``update(camera, me)`` once per frame.
import {
  Group, Mesh, MeshBasicMaterial, PlaneGeometry, BoxGeometry, CanvasTexture, SRGBColorSpace, Vector3,
} from 'three';
import { P } from './plan-space.js';

const DOOR_H = 2.2; // world/gltf.py DOOR_HEIGHT: the door fills the frame's opening
const FADED = 0.18; // a sign between the camera and your avatar: seen through, still readable as a board
const SIGN_BACK = new MeshBasicMaterial({ color: 0x33475b });
const BUSY = { ja: '相談中', en: 'In consultation' };

export function createSigns({ scene, plan, soft }) {
  const group = new Group();
  scene.add(group);
  const [bx0, by0] = plan.bounds;
  const entrance = findEntrance(plan);
  const extra = entrance ? [{ zone: 'entrance', at: [entrance, by0 - 0.25], facing: 180, text: plan.name, big: true, h: 3.5 }] : [];
  const boothDoors = plan.doors.filter((d) => plan.zones.some((z) => z.id === d.zone && z.kind === 'booth'));
  const doors = new Map(); // booth -> {door mesh, busy sign}
  const locked = new Set();
  let lang = 'ja';

  function build(l) {
    lang = l;
    for (const m of group.children) disposeSign(m);
    group.clear();
    for (const s of [...plan.signs, ...extra]) {
      const text = s.text[lang] || s.text.ja;
      const mesh = signMesh(text, s.big ? 0.55 : s.zone === 'infodesk' ? 1.0 : 0.5, s.big ? 7 : 5.6, soft ? 1 : 4);
      const [x, y] = s.at;
      mesh.position.copy(P(x, y, s.h || (s.zone === 'infodesk' ? 2.4 : 2.72)));
      mesh.rotation.y = Math.PI - (s.facing * Math.PI) / 180;
      mesh.userData.zone = s.zone;
      group.add(mesh);
    }
    buildDoors();
  }

  /** A closed door in the frame of each booth, and a red 相談中 board on it (shown when locked). */
  function buildDoors() {
    for (const { door, sign } of doors.values()) {
      scene.remove(door); door.geometry.dispose();
      disposeSign(sign);
    }
    doors.clear();
    for (const d of boothDoors) {
      const [ax, ay] = d.a, [bx, by] = d.b;
      const horizontal = Math.abs(ay - by) < 1e-6;
      const len = Math.hypot(bx - ax, by - ay);
      const door = new Mesh(new BoxGeometry(horizontal ? len : 0.08, DOOR_H, horizontal ? 0.08 : len), DOOR_MAT);
      door.position.copy(P((ax + bx) / 2, (ay + by) / 2, DOOR_H / 2));
      door.visible = locked.has(d.zone);
      door.userData.booth = d.zone;
      scene.add(door);
      // the corridor side: booths open south onto it in the plan; the board faces out of the booth
      const zone = plan.zones.find((z) => z.id === d.zone);
      const cy = zone.polygon.reduce((s, p) => s + p[1], 0) / zone.polygon.length;
      const cx = zone.polygon.reduce((s, p) => s + p[0], 0) / zone.polygon.length;
      const facing = horizontal ? (cy > ay ? 180 : 0) : (cx > ax ? 270 : 90);
      const sign = signMesh(BUSY[lang] || BUSY.ja, 0.42, len - 0.1, soft ? 1 : 4, '#a4261b');
      const out = 0.07; // in front of the door's face
      const nx = Math.sin((facing * Math.PI) / 180), ny = Math.cos((facing * Math.PI) / 180);
      sign.position.copy(P((ax + bx) / 2 + nx * out, (ay + by) / 2 + ny * out, 1.55));
      sign.rotation.y = Math.PI - (facing * Math.PI) / 180;
      sign.visible = door.visible;
      sign.userData.zone = d.zone;
      sign.userData.busy = true;
      scene.add(sign);
      doors.set(d.zone, { door, sign });
    }
  }

  function setLocked(booth, on) {
    if (on) locked.add(booth); else locked.delete(booth);
    const d = doors.get(booth);
    if (d) { d.door.visible = on; d.sign.visible = on; }
  }

  const seg = new Vector3();
  /**
   * Per frame: a sign right next to the camera is a blurred board filling the view (at the spawn
   * point the camera stands between the entrance and the back of the welcome sign): hidden while the
   * camera is behind it within 3 m, or within 1.2 m of its face. A sign between the camera and your
   * own avatar (the 総合案内 board seen from behind the desk) is faded so you see yourself.
   */
  function update(camera, me) {
    const cx = camera.position.x, cy = camera.position.y, cz = camera.position.z;
    for (const m of group.children) {
      const ry = m.rotation.y, nx = Math.sin(ry), nz = Math.cos(ry);
      const rx = cx - m.position.x, rz = cz - m.position.z;
      const along = rx * nx + rz * nz;
      const w = m.geometry.parameters.width, h = m.geometry.parameters.height;
      const side = Math.max(0, Math.abs(rx * nz - rz * nx) - w / 2);
      const d = Math.hypot(along, side);
      m.visible = !(along < 0 ? d < 3 : d < 1.2);
      let hides = false;
      if (m.visible && me) {
        // the segment camera -> the avatar's feet, chest and head against the board's rectangle
        for (const hy of [0.2, 0.9, 1.6]) {
          seg.set(me.x - cx, hy - cy, -me.y - cz);
          const den = seg.x * nx + seg.z * nz;
          if (Math.abs(den) < 1e-6) continue;
          const t = -along / den;
          if (t <= 0 || t >= 1) continue;
          const px = cx + seg.x * t - m.position.x, py = cy + seg.y * t - m.position.y, pz = cz + seg.z * t - m.position.z;
          const u = px * nz - pz * nx; // across the board
          if (Math.abs(u) < w / 2 + 0.3 && Math.abs(py) < h / 2 + 0.3) { hides = true; break; }
        }
      }
      fade(m, hides ? FADED : 1);
    }
  }

  return {
    build, update, setLocked,
    /** For tests: each sign's zone, visibility and opacity; the booths drawn closed. */
    debug() {
      return {
        signs: group.children.map((m) => ({ zone: m.userData.zone, visible: m.visible, opacity: m.material.opacity })),
        closed: [...doors].filter(([, d]) => d.door.visible).map(([b]) => b),
      };
    },
  };
}

const DOOR_MAT = new MeshBasicMaterial({ color: 0x8a5a2b });

function fade(m, opacity) {
  if (m.material.opacity === opacity) return;
  const see = opacity < 1;
  m.material.opacity = opacity;
  m.material.transparent = see;
  m.material.depthWrite = !see; // what is behind a faded board must still be drawn
  m.material.needsUpdate = true;
  const back = m.children[0];
  if (back) {
    if (see && back.material === SIGN_BACK) back.material = SIGN_BACK.clone();
    back.material.opacity = opacity;
    back.material.transparent = see;
    back.material.depthWrite = !see;
    back.material.needsUpdate = true;
  }
  m.renderOrder = see ? 2 : 0; // after the opaque scene, so the blend has the avatar behind it
  if (back) back.renderOrder = m.renderOrder;
}

function disposeSign(m) {
  m.material.map?.dispose();
  m.material.dispose();
  m.geometry.dispose();
  const back = m.children[0];
  if (back && back.material !== SIGN_BACK) back.material.dispose();
}

/** x of the entrance gap in the south outer wall (for the outdoor name board), or null. */
function findEntrance(plan) {
  const y0 = plan.bounds[1];
  const xs = plan.walls.filter(([a, b]) => a[1] === y0 && b[1] === y0).map(([a, b]) => [Math.min(a[0], b[0]), Math.max(a[0], b[0])]).sort((p, q) => p[0] - q[0]);
  for (let i = 0; i < xs.length - 1; i++) if (xs[i + 1][0] - xs[i][1] > 0.5) return (xs[i][1] + xs[i + 1][0]) / 2;
  return null;
}

function signMesh(text, heightM, maxWidthM, anisotropy, bg = '#0b3f6e') {
  const H = 128;
  const font = (px) => `700 ${px}px "Noto Sans CJK JP", "Noto Sans JP", "Hiragino Sans", "Yu Gothic", system-ui, sans-serif`;
  const c = document.createElement('canvas');
  const ctx = c.getContext('2d');
  let px = 76;
  ctx.font = font(px);
  let tw = ctx.measureText(text).width;
  const maxPx = (maxWidthM / heightM) * H - 64;
  if (tw > maxPx) { px = Math.floor((px * maxPx) / tw); ctx.font = font(px); tw = ctx.measureText(text).width; }
  c.width = Math.ceil(tw + 64);
  c.height = H;
  ctx.fillStyle = bg;
  ctx.fillRect(0, 0, c.width, c.height);
  ctx.strokeStyle = '#ffffff';
  ctx.lineWidth = 5;
  ctx.strokeRect(8, 8, c.width - 16, c.height - 16);
  ctx.fillStyle = '#ffffff';
  ctx.font = font(px);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, c.width / 2, H / 2 + 3);
  const tex = new CanvasTexture(c);
  tex.colorSpace = SRGBColorSpace;
  tex.anisotropy = anisotropy; // software renderers pay dearly for anisotropic filtering
  const w = (heightM * c.width) / H;
  // front: the text; back: a plain board (never mirrored text)
  const geo = new PlaneGeometry(w, heightM);
  const mesh = new Mesh(geo, new MeshBasicMaterial({ map: tex, fog: false }));
  const back = new Mesh(geo, SIGN_BACK);
  back.rotation.y = Math.PI;
  mesh.add(back);
  return mesh;
}
