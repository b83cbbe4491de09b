// The 3D city hall: loaded only after the entry screen, as its own chunk.
import {
  WebGLRenderer, Scene, PerspectiveCamera, Color, HemisphereLight, DirectionalLight, MeshLambertMaterial,
  MeshBasicMaterial, InstancedMesh, CapsuleGeometry, SphereGeometry, BoxGeometry, RingGeometry,
  Mesh, Object3D, Vector3, Raycaster, Plane, Vector2, SRGBColorSpace, DoubleSide, Fog,
  InstancedBufferAttribute, DynamicDrawUsage, Group, ShaderMaterial, UniformsUtils, UniformsLib,
} from 'three';
import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
import { createSigns } from './signs.js';
import { P } from './plan-space.js';
import { makeHall } from './hall/room3d.js';

const STYLE_SCALE = {
  round: [1.3, 0.85, 1.3],
  tall: [0.9, 1.18, 0.9],
  child: [0.78, 0.66, 0.78],
  senior: [1.0, 0.93, 1.0],
};
const SMALL_ROOMS = ['booth']; // zone kinds that get the close, top-down camera
const BODY_H = 1.15; // capsule total height (unscaled), feet at 0
const HEAD_Y = 1.42;

// Light: a sky/ground hemisphere and one sun, evaluated per vertex (see vertexLit).
const LIGHT = {
  sky: new Color(0xffffff).multiplyScalar(2.2),
  ground: new Color(0x9a8f80).multiplyScalar(2.2),
  sun: new Color(0xffffff).multiplyScalar(1.4),
  sunDir: new Vector3(-20, 40, 25).normalize(),
};
const LAMBERT = /[?&]lambert\b/.test(location.search); // the old per-fragment path, for comparisons

const VLIT_VERTEX = /* glsl */ `
uniform vec3 diffuse, uSky, uGround, uSun, uSunDir;
#ifdef USE_FOG
uniform vec3 fogColor;
uniform float fogNear, fogFar;
#endif
varying vec3 vRGB;
void main() {
  vec3 c = diffuse;
  #if defined(USE_COLOR_ALPHA)
    c *= color.rgb;
  #elif defined(USE_COLOR)
    c *= color;
  #endif
  #ifdef USE_INSTANCING_COLOR
    c *= instanceColor;
  #endif
  vec3 n = normal;
  vec4 p = vec4(position, 1.0);
  #ifdef USE_INSTANCING
    mat3 im = mat3(instanceMatrix);
    n /= vec3(dot(im[0], im[0]), dot(im[1], im[1]), dot(im[2], im[2]));
    n = im * n;
    p = instanceMatrix * p;
  #endif
  n = normalize(mat3(modelMatrix) * n);
  // MeshLambertMaterial: (hemisphere irradiance + sun * max(N.L, 0)) * diffuse / PI
  vec3 lin = c * (mix(uGround, uSky, 0.5 * n.y + 0.5) + uSun * max(dot(n, uSunDir), 0.0)) * 0.3183099;
  lin = clamp(lin, 0.0, 1.0);
  vec3 rgb = mix(pow(lin, vec3(0.41666)) * 1.055 - 0.055, lin * 12.92, vec3(lessThanEqual(lin, vec3(0.0031308))));
  vec4 mv = modelViewMatrix * p;
  gl_Position = projectionMatrix * mv;
  #ifdef USE_FOG
    rgb = mix(rgb, fogColor, smoothstep(fogNear, fogFar, -mv.z)); // three mixes fog in output space too
  #endif
  vRGB = rgb;
}`;
const VLIT_FRAGMENT = /* glsl */ `
varying vec3 vRGB;
void main() { gl_FragColor = vec4(vRGB, 1.0); }`;

/**
 * MeshLambertMaterial's light formula (hemisphere + sun, diffuse only), sRGB encoding and fog, all
 * evaluated per vertex; the fragment shader only writes the interpolated colour. For the flat-faced
 * building this is the same picture as Lambert; the avatars get Gouraud shading. Software
 * renderers (SwiftShader) pay per fragment, and Lambert's per-fragment lighting + sRGB pow() + fog
 * were most of the frame there.
 */
function vertexLit({ color = 0xffffff, vertexColors = false } = {}) {
  if (LAMBERT) return new MeshLambertMaterial({ color, vertexColors });
  return new ShaderMaterial({
    uniforms: {
      ...UniformsUtils.clone(UniformsLib.fog),
      diffuse: { value: new Color(color) },
      uSky: { value: LIGHT.sky }, uGround: { value: LIGHT.ground }, uSun: { value: LIGHT.sun }, uSunDir: { value: LIGHT.sunDir },
    },
    vertexShader: VLIT_VERTEX,
    fragmentShader: VLIT_FRAGMENT,
    vertexColors,
    fog: true,
  });
}


export function createWorld({ container, plan, canvasLabel, reducedMotion, onTapFloor, onDragYaw }) {
  // Software renderers (SwiftShader, llvmpipe) get no MSAA and 1x pixels: phones and old PCs first.
  const soft = /swiftshader|llvmpipe|software|basic render/i.test(probeRenderer());
  // alpha: false lets the compositor treat the canvas as opaque (the scene always has a background)
  const renderer = new WebGLRenderer({ antialias: !soft, alpha: false, powerPreference: 'high-performance' });
  // Software rendering reads every frame back for compositing: draw fewer pixels and let CSS scale
  // them (?scale=1 forces full resolution).
  const q = Number(new URLSearchParams(location.search).get('scale'));
  renderer.setPixelRatio(q > 0 ? q : soft ? 0.5 : Math.min(window.devicePixelRatio || 1, 2));
  renderer.outputColorSpace = SRGBColorSpace;
  const canvas = renderer.domElement;
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'application');
  canvas.setAttribute('aria-label', canvasLabel);
  canvas.id = 'view3d';
  container.appendChild(canvas);

  const scene = new Scene();
  scene.background = new Color(0xcfe3f2);
  scene.fog = new Fog(0xcfe3f2, 45, 110);
  const camera = new PerspectiveCamera(55, 1, 0.1, 200);
  if (LAMBERT) {
    scene.add(new HemisphereLight(0xffffff, 0x9a8f80, 2.2));
    const sun = new DirectionalLight(0xffffff, 1.4);
    sun.position.copy(LIGHT.sunDir);
    scene.add(sun);
  }

  // --- building: the server's GLB, or the same boxes built here if that route is missing ---
  const building = new Group();
  scene.add(building);
  const ready = loadBuilding(plan, building).then((how) => { info.building = how; });

  // --- signs, booth doors and their 相談中 boards (signs.js) ---
  const [bx0, by0, bx1, by1] = plan.bounds;
  const signs = createSigns({ scene, plan, soft });

  // --- avatars: three instanced meshes (body, head, nose) whatever the crowd size ---
  let cap = 0;
  let bodies, heads, noses;
  const bodyMat = vertexLit({ color: 0xffffff });
  const headMat = vertexLit({ color: 0xf1d2b6 });
  const noseMat = vertexLit({ color: 0x33312e });
  // 8 sides are still round at avatar size; software renderers pay per triangle
  const bodyGeo = new CapsuleGeometry(0.26, BODY_H - 0.52, 2, 8).translate(0, BODY_H / 2, 0);
  const headGeo = new SphereGeometry(0.2, 8, 6);
  const noseGeo = new BoxGeometry(0.12, 0.06, 0.1);
  function ensureCapacity(n) {
    if (n <= cap) return;
    const next = Math.max(64, 2 ** Math.ceil(Math.log2(n)));
    for (const m of [bodies, heads, noses]) if (m) { scene.remove(m); m.dispose(); }
    bodies = new InstancedMesh(bodyGeo, bodyMat, next);
    bodies.instanceColor = new InstancedBufferAttribute(new Float32Array(next * 3), 3);
    heads = new InstancedMesh(headGeo, headMat, next);
    noses = new InstancedMesh(noseGeo, noseMat, next);
    for (const m of [bodies, heads, noses]) {
      m.instanceMatrix.setUsage(DynamicDrawUsage);
      m.frustumCulled = false;
      m.renderOrder = -1; // avatars stand in front of the building: draw them first (early depth test)
      m.count = 0;
      scene.add(m);
    }
    cap = next;
  }
  ensureCapacity(64);

  const meRing = new Mesh(new RingGeometry(0.38, 0.5, 32).rotateX(-Math.PI / 2),
    new MeshBasicMaterial({ color: 0xffb300, transparent: true, opacity: 0.9 }));
  meRing.position.y = 0.02;
  meRing.visible = false;
  scene.add(meRing);
  const tapRing = new Mesh(new RingGeometry(0.3, 0.42, 32).rotateX(-Math.PI / 2),
    new MeshBasicMaterial({ color: 0xc0392b, side: DoubleSide }));
  tapRing.position.y = 0.025;
  tapRing.visible = false;
  scene.add(tapRing);

  const dummy = new Object3D();
  const col = new Color();
  const order = [];
  function drawAvatars(list, meId) {
    ensureCapacity(list.length);
    // nearest first, so the depth test rejects the hidden parts of the avatars behind them
    const cx = camera.position.x, cz = camera.position.z;
    order.length = 0;
    for (const a of list) { a._d = (a.x - cx) ** 2 + (-a.y - cz) ** 2; order.push(a); }
    order.sort((p, q) => p._d - q._d);
    let i = 0;
    for (const a of order) {
      const s = STYLE_SCALE[a.style] || STYLE_SCALE.round;
      const yaw = -(a.h * Math.PI) / 180; // clockwise-from-north heading -> rotation about +y
      dummy.position.set(a.x, 0, -a.y);
      dummy.rotation.set(0, yaw, 0);
      dummy.scale.set(s[0], s[1], s[2]);
      dummy.updateMatrix();
      bodies.setMatrixAt(i, dummy.matrix);
      col.set(a.color || '#3a7bd5');
      bodies.setColorAt(i, col);
      const hy = HEAD_Y * s[1] + (a.style === 'round' ? 0.05 : 0);
      dummy.position.set(a.x, hy, -a.y);
      dummy.scale.setScalar(a.style === 'child' ? 1.05 : 1);
      dummy.updateMatrix();
      heads.setMatrixAt(i, dummy.matrix);
      // nose: 0.2 m ahead of the head centre, in the heading direction (north = -z)
      const hr = (a.h * Math.PI) / 180;
      dummy.position.set(a.x + Math.sin(hr) * 0.19, hy - 0.02, -a.y - Math.cos(hr) * 0.19);
      dummy.updateMatrix();
      noses.setMatrixAt(i, dummy.matrix);
      a._tagY = hy + 0.32;
      if (a.id === meId) { meRing.visible = true; meRing.position.x = a.x; meRing.position.z = -a.y; }
      i++;
    }
    for (const m of [bodies, heads, noses]) { m.count = i; m.instanceMatrix.needsUpdate = true; }
    if (bodies.instanceColor) bodies.instanceColor.needsUpdate = true;
  }

  // --- camera: third person, yaw 0 looks north; pulled in front of any wall in between ---
  const cam = { yaw: 0, yawTarget: 0, dist: 7.5, height: 4.6, tx: 10, ty: 3, init: false };
  const wallSegs = plan.walls.map(([a, b]) => [a[0], a[1], b[0], b[1]]);
  function cameraPos(tx, ty, yaw) {
    const dx = -Math.sin(yaw);
    const dy = -Math.cos(yaw);
    let d = cam.dist;
    for (const [ax, ay, bx, by] of wallSegs) {
      const t = segHit(tx, ty, tx + dx * d, ty + dy * d, ax, ay, bx, by);
      if (t !== null) d = Math.min(d, t * d);
    }
    d = Math.max(0.9, d - 0.45);
    // stay inside the building (the entrance is an opening, not a window to film through)
    const m = 0.35;
    const lim = (v, lo, hi, dv) => (dv > 0 ? (hi - m - v) / dv : dv < 0 ? (lo + m - v) / dv : Infinity);
    d = Math.max(0.6, Math.min(d, lim(tx, bx0, bx1, dx), lim(ty, by0, by1, dy)));
    const h = 1.8 + (cam.height - 1.8) * (d / cam.dist);
    return [tx + dx * d, ty + dy * d, h];
  }
  /**
   * In a small room (a booth: 6 x 8 m behind a door) the third-person camera would stand in the
   * corridor, looking at the booth's wall through the door. There it comes in close and high,
   * above the room (no ceiling), looking down on the avatar and the room at once; its xy stays
   * inside the room so no wall stands in between.
   */
  const rooms = plan.zones.filter((z) => SMALL_ROOMS.includes(z.kind)).map((z) => {
    const xs = z.polygon.map((p) => p[0]), ys = z.polygon.map((p) => p[1]);
    return { id: z.id, x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) };
  });
  const roomAt = (x, y) => rooms.find((r) => x > r.x0 && x < r.x1 && y > r.y0 && y < r.y1) || null;
  let room = null;
  let roomK = 0; // 0 = the hall camera, 1 = the room camera; eased between them
  function roomCamera(tx, ty, yaw) {
    const back = 1.6, m = 0.4;
    const x = Math.min(room.x1 - m, Math.max(room.x0 + m, tx - Math.sin(yaw) * back));
    const y = Math.min(room.y1 - m, Math.max(room.y0 + m, ty - Math.cos(yaw) * back));
    return [x, y, 7.2];
  }
  function updateCamera(dt, me) {
    const inRoom = me ? roomAt(me.x, me.y) : null;
    if (inRoom) room = inRoom;
    const k = reducedMotion ? 1 : 1 - Math.exp(-dt * 4);
    roomK += ((inRoom ? 1 : 0) - roomK) * k;
    if (roomK < 0.01) room = null;
    if (me) {
      if (!cam.init || reducedMotion) { cam.tx = me.x; cam.ty = me.y; cam.init = true; }
      else {
        const k = 1 - Math.exp(-dt * 8);
        cam.tx += (me.x - cam.tx) * k;
        cam.ty += (me.y - cam.ty) * k;
      }
    }
    let dyaw = cam.yawTarget - cam.yaw;
    if (reducedMotion) cam.yaw = cam.yawTarget;
    else cam.yaw += dyaw * (1 - Math.exp(-dt * 10));
    let [cx, cy, ch] = cameraPos(cam.tx, cam.ty, cam.yaw);
    if (room) {
      const [rx, ry, rh] = roomCamera(cam.tx, cam.ty, cam.yaw);
      cx += (rx - cx) * roomK; cy += (ry - cy) * roomK; ch += (rh - ch) * roomK;
    }
    camera.position.set(cx, ch, -cy);
    camera.lookAt(cam.tx, 1.1, -cam.ty);
  }

  // --- picking the floor for tap-to-walk ---
  const ray = new Raycaster();
  const ground = new Plane(new Vector3(0, 1, 0), 0);
  const v2 = new Vector2();
  const hit = new Vector3();
  function floorAt(clientX, clientY) {
    const r = canvas.getBoundingClientRect();
    v2.set(((clientX - r.left) / r.width) * 2 - 1, -((clientY - r.top) / r.height) * 2 + 1);
    ray.setFromCamera(v2, camera);
    if (!ray.ray.intersectPlane(ground, hit)) return null;
    const x = hit.x, y = -hit.z;
    if (x < bx0 || x > bx1 || y < by0 || y > plan.bounds[3]) return null;
    return [x, y];
  }
  let down = null;
  canvas.addEventListener('pointerdown', (e) => {
    down = { x: e.clientX, y: e.clientY, t: performance.now(), yaw: cam.yawTarget, id: e.pointerId, drag: false };
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!down || e.pointerId !== down.id) return;
    const dx = e.clientX - down.x;
    if (Math.abs(dx) > 12 || down.drag) {
      down.drag = true;
      cam.yawTarget = down.yaw + dx * 0.008;
      onDragYaw?.();
    }
  });
  const up = (e) => {
    if (!down || e.pointerId !== down.id) return;
    const d = down; down = null;
    if (d.drag || performance.now() - d.t > 700 || e.type === 'pointercancel') return;
    const p = floorAt(e.clientX, e.clientY);
    if (p) {
      tapRing.visible = true;
      tapRing.position.set(p[0], 0.025, -p[1]);
      onTapFloor?.(p[0], p[1]);
    }
  };
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointercancel', up);

  // --- name tags: DOM labels for the nearest avatars only ---
  const tagLayer = document.getElementById('tags');
  const tagPool = new Map();
  const pv = new Vector3();
  function drawTags(list, meId, labels) {
    const w = canvas.clientWidth, h = canvas.clientHeight;
    const near = list
      .map((a) => ({ a, d: (a.x - cam.tx) ** 2 + (a.y - cam.ty) ** 2 }))
      .filter((o) => o.d < 22 * 22 || o.a.id === meId)
      .sort((p, q) => p.d - q.d)
      .slice(0, 24);
    const keep = new Set();
    for (const { a } of near) {
      pv.set(a.x, a._tagY || 2, -a.y).project(camera);
      if (pv.z > 1 || pv.x < -1.2 || pv.x > 1.2 || pv.y < -1.2 || pv.y > 1.2) continue;
      keep.add(a.id);
      let el = tagPool.get(a.id);
      const card = labels.cards?.get(a.id); // in the salon: the server-issued name, municipality and mark
      const name = card ? `${card.display_name || '?'}（${card.municipality?.name || ''}）${card.verified ? ' ✔' : ''}` : a.name;
      const key = `${name}|${a.role}|${a.id === meId}|${labels.staff}`;
      if (!el) { el = document.createElement('div'); el.className = 'tag'; el.dataset.id = a.id; tagLayer.appendChild(el); tagPool.set(a.id, el); }
      if (el._key !== key) {
        el._key = key;
        el.textContent = '';
        if (a.role === 'staff') { const b = document.createElement('span'); b.className = 'badge'; b.textContent = labels.staff; el.appendChild(b); }
        el.appendChild(document.createTextNode(name || '?'));
        if (a.id === meId) { const y = document.createElement('span'); y.className = 'you'; y.textContent = `(${labels.you})`; el.appendChild(y); el.classList.add('me'); }
        else el.classList.remove('me');
      }
      const sx = (pv.x * 0.5 + 0.5) * w, sy = (-pv.y * 0.5 + 0.5) * h;
      el.style.transform = `translate(${sx.toFixed(1)}px, ${sy.toFixed(1)}px) translate(-50%, -100%)`;
    }
    for (const [id, el] of tagPool) if (!keep.has(id)) { el.remove(); tagPool.delete(id); }
  }

  function resize() {
    const w = container.clientWidth || window.innerWidth, h = container.clientHeight || window.innerHeight;
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.fov = w < h ? 70 : 55;
    camera.updateProjectionMatrix();
  }
  window.addEventListener('resize', resize);
  resize();

  // --- the event hall: its big screen and the model table (hall/screen.js shows the city model) ---
  const hall = makeHall(plan, scene, camera, canvas);

  const info = { renderer: rendererName(renderer), building: 'loading' };
  return {
    hall,
    canvas, camera, info, ready,
    setLang: signs.build,
    setBoothLocked: signs.setLocked,
    rotate(delta) { cam.yawTarget += delta; },
    get yaw() { return cam.yawTarget; },
    hideTapMarker() { tapRing.visible = false; },
    /** Where the floor point (x, y) is on screen, in CSS pixels of the page (tests tap there). */
    screenOf(x, y) {
      const r = canvas.getBoundingClientRect();
      const v = P(x, y, 0).project(camera);
      return [r.left + (v.x * 0.5 + 0.5) * r.width, r.top + (-v.y * 0.5 + 0.5) * r.height];
    },
    /** For tests: where the camera is (plan coordinates) and what the signs show. */
    debug() {
      return { camera: { x: camera.position.x, y: -camera.position.z, h: camera.position.y, room: room && room.id }, ...signs.debug() };
    },
    frame(dt, list, me, labels) {
      drawAvatars(list, me ? me.id : -1);
      if (!me) meRing.visible = false;
      updateCamera(dt, me);
      signs.update(camera, me);
      renderer.render(scene, camera);
      drawTags(list, me ? me.id : -1, labels);
    },
  };
}

function probeRenderer() {
  try {
    const gl = document.createElement('canvas').getContext('webgl2') || document.createElement('canvas').getContext('webgl');
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const name = ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : String(gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return name;
  } catch (e) { return ''; }
}

function rendererName(renderer) {
  try {
    const gl = renderer.getContext();
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : String(gl.getParameter(gl.RENDERER));
  } catch (e) { return 'unknown'; }
}

/** Segment p->q against a->b: fraction along p->q, or null. */
function segHit(px, py, qx, qy, ax, ay, bx, by) {
  const rx = qx - px, ry = qy - py, sx = bx - ax, sy = by - ay;
  const den = rx * sy - ry * sx;
  if (Math.abs(den) < 1e-9) return null;
  const t = ((ax - px) * sy - (ay - py) * sx) / den;
  const u = ((ax - px) * ry - (ay - py) * rx) / den;
  // widen the wall a little at both ends so the camera does not peek round corners
  const len = Math.hypot(sx, sy) || 1;
  const pad = 0.3 / len;
  return t >= 0 && t <= 1 && u >= -pad && u <= 1 + pad ? t : null;
}

async function loadBuilding(plan, group) {
  try {
    const url = new URL('assets/cityhall.glb', document.baseURI).href;
    const gltf = await new GLTFLoader().loadAsync(url);
    gltf.scene.traverse((o) => {
      if (o.isMesh) {
        // The GLB has no normals (and shares vertices between a box's faces): give every face its
        // own normal so walls, tops and sides are lit differently (flat shading).
        if (!o.geometry.attributes.normal) {
          if (o.geometry.index) o.geometry = o.geometry.toNonIndexed();
          o.geometry.computeVertexNormals();
        }
        o.material = vertexLit({ vertexColors: true });
        if (o.name === 'floors') o.renderOrder = 1; // everything stands on the floor: draw it last
        o.matrixAutoUpdate = false;
        o.updateMatrix();
      }
    });
    group.add(gltf.scene);
    return 'glb';
  } catch (e) {
    buildFromPlan(plan, group);
    return 'plan';
  }
}

/** Fallback when /assets/cityhall.glb is not served: the same boxes as world/gltf.py, instanced. */
function buildFromPlan(plan, group) {
  const box = new BoxGeometry(1, 1, 1);
  const dummy = new Object3D();
  const boxes = (items, color) => {
    const m = new InstancedMesh(box, vertexLit({ color: color || 0xffffff }), items.length);
    items.forEach((b, i) => {
      const [x0, y0, x1, y1, z0, z1, c] = b;
      dummy.position.set((x0 + x1) / 2, (z0 + z1) / 2, -(y0 + y1) / 2);
      dummy.scale.set(Math.max(0.01, Math.abs(x1 - x0)), Math.max(0.01, z1 - z0), Math.max(0.01, Math.abs(y1 - y0)));
      dummy.updateMatrix();
      m.setMatrixAt(i, dummy.matrix);
      if (c) m.setColorAt(i, new Color(c));
    });
    group.add(m);
    return m;
  };
  const FLOOR = { entrance: '#d6cebe', infodesk: '#c4d6e2', corridor: '#dedad0', booth: '#cee2c8', staffroom: '#c8c8ce', hall: '#e2ccb0', salon: '#d6cae4' };
  const floors = boxes([[plan.bounds[0] - 12, plan.bounds[1] - 14, plan.bounds[2] + 12, plan.bounds[1], -0.12, -0.02, '#a8aca8'],
    ...plan.zones.map((z) => {
      const xs = z.polygon.map((p) => p[0]), ys = z.polygon.map((p) => p[1]);
      return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys), -0.1, 0, FLOOR[z.kind] || '#d2d2d2'];
    })]);
  floors.renderOrder = 1;
  const t = (plan.wall_thickness || 0.2) / 2, H = plan.wall_height || 3.2;
  boxes(plan.walls.map(([a, b]) => [Math.min(a[0], b[0]) - t, Math.min(a[1], b[1]) - t, Math.max(a[0], b[0]) + t, Math.max(a[1], b[1]) + t, 0, H]), 0xf0ece4);
  boxes(plan.furniture.map((f) => [f.box[0], f.box[1], f.box[2], f.box[3], 0, f.height, '#96704c']));
}

