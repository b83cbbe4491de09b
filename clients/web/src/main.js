// Entry screen, HUD and glue. The 3D world (three.js) is a separate chunk loaded on entry.
import { t, setLang, getLang, applyI18n, zoneName } from './i18n.js';
import { Net } from './net.js';
import { LIMITS } from './protocol.gen.js';
import { apiJson, whoami } from './api.js';
import { makeHud } from './hud.js';
import { installBenchHook } from './bench-hook.js';
import { mountConsult } from './consult/resident.js';
import { mountMedia } from './media/index.js';
import { mountHallTools, offerHallWatch } from './hall/tools.js'; // hall tools
import { mountHallScreen } from './hall/screen.js'; // hall screen
import { mountSalon } from './salon/index.js'; // the inter-municipal salon (issue #20)

const $ = (id) => document.getElementById(id);
const PREFS = 'yakuba.prefs';
const WALK = 2.0; // m/s, the server's walking speed
const STYLES = LIMITS.STYLES;
const COLORS = [
  ['blue', '#2f6fd0'], ['red', '#d0453a'], ['green', '#2e9a4e'],
  ['orange', '#e8892b'], ['purple', '#8a55c8'], ['teal', '#1f9aa0'],
];
const params = new URLSearchParams(location.search);
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
const isTouch = window.matchMedia('(pointer: coarse)').matches || 'ontouchstart' in window || params.has('touch');

// ---------- state (read-only view exposed for tests) ----------
const S = {
  screen: 'entry', connection: 'offline', zone: null, me: null, plan: null,
  staff: null, snaps: 0, firstFrameAt: null, frames: 0, renderer: null, building: null, lastError: null, banner: null,
};
let net = null;
let world = null;
let consult = null; // the consultation desk (consult/resident.js, with the staff console)
let media = null; // voice, screen and documents in booths, the hall and salons (media/index.js)
// hall tools: the event hall's agenda, questions, reactions and polls (hall/tools.js); it follows
// the hall room through net.on('room' / 'room_patch' / 'zone'); hook lines below say "hall tools"
let hall = null;
let salon = null; // the salon: conduct at the door, who is here, reports, locks (salon/index.js)
const worldChunk = import('./world.js'); // start fetching while the visitor fills the form
const planReady = loadPlan();

window.__yakuba = Object.freeze({
  screenOf: (x, y) => (world ? world.screenOf(x, y) : null),
  get state() {
    const avatars = net ? [...net.avatars.values()].map((a) => ({
      id: a.id, name: a.name, role: a.role, style: a.style, color: a.color, zone: a.zone,
      x: a.x, y: a.y, heading: a.h,
    })) : [];
    const me = S.me && avatars.find((a) => a.id === S.me.id);
    return {
      screen: S.screen, connection: S.connection, zone: S.zone, lang: getLang(),
      size: document.documentElement.dataset.size || 'normal',
      me: S.me ? { id: S.me.id, role: S.me.role, name: me ? me.name : S.me.name, x: me?.x, y: me?.y, zone: S.zone, principal: S.me.principal } : null,
      staff: S.staff,
      avatars, firstFrameAt: S.firstFrameAt, frames: S.frames, renderer: S.renderer, building: S.building,
      lastError: S.lastError, banner: S.banner, yaw: world ? world.yaw : 0,
      walk: S.walkPlan || null, view: world ? world.debug() : null, consult: consult ? consult.state() : null,
      media: media ? media.state() : null,
      hall: hall ? hall.state() : null, // hall tools
      hallScreen: hallScreen ? hallScreen.state() : null, // hall screen
      salon: salon ? salon.state() : null,
    };
  },
  /** The media peers' RTP counters (getStats), for tests and support. */
  mediaStats: () => (media ? media.stats() : Promise.resolve([])),
  /** Where a point of the hall screen's district is on the page (tests draw shapes there). */
  hallPageOf: (x, y) => (hallScreen ? hallScreen.pageOfLocal(x, y) : null), // hall screen
});

async function loadPlan() {
  try {
    const r = await fetch(new URL('assets/cityhall/plan.json', document.baseURI));
    if (!r.ok) throw new Error(String(r.status));
    return await r.json();
  } catch (e) {
    return (await import('../../../assets/cityhall/plan.json')).default;
  }
}

// ---------- preferences ----------
function loadPrefs() {
  try { return JSON.parse(localStorage.getItem(PREFS)) || {}; } catch (e) { return {}; }
}
const prefs = Object.assign({ lang: 'ja', size: 'normal', style: 'round', color: COLORS[0][1], n: 100 + Math.floor(Math.random() * 900) }, loadPrefs());
if (params.get('lang')) prefs.lang = params.get('lang');
function savePrefs() { try { localStorage.setItem(PREFS, JSON.stringify(prefs)); } catch (e) { /* private mode */ } }

function applyLang(lang) {
  prefs.lang = setLang(lang);
  savePrefs();
  applyI18n();
  document.title = t('app.title');
  $('name-hint').textContent = t('entry.nameHint', { name: defaultName() });
  $('name').placeholder = defaultName();
  for (const el of document.querySelectorAll('input[name=lang], input[name=lang2]')) el.checked = el.value === prefs.lang;
  buildChoices();
  planReady.then((plan) => { $('hall-name').textContent = plan.name[prefs.lang] || plan.name.ja; });
  if (world) world.setLang(prefs.lang);
  if (S.staff) $('staff-as').textContent = t('entry.staffAs', { municipality: S.staff.municipality || '' });
  refreshHud();
  buildGoto();
  consult?.refresh();
  media?.refresh();
  hall?.refresh(); // hall tools
  hallScreen?.refresh(); // hall screen
  const help = $('help-body');
  help.replaceChildren($('howto-card').querySelector('.howto-list').cloneNode(true));
}
function applySize(size) {
  prefs.size = ['normal', 'large', 'xlarge'].includes(size) ? size : 'normal';
  document.documentElement.dataset.size = prefs.size;
  for (const el of document.querySelectorAll('input[name=size], input[name=size2]')) el.checked = el.value === prefs.size;
  savePrefs();
}
function defaultName() { return t('entry.defaultName', { n: prefs.n }); }

const STYLE_SVG = {
  round: '<ellipse cx="20" cy="36" rx="14" ry="14"/><circle cx="20" cy="13" r="8"/>',
  tall: '<rect x="12" y="18" width="16" height="32" rx="8"/><circle cx="20" cy="10" r="7"/>',
  child: '<rect x="13" y="32" width="14" height="18" rx="7"/><circle cx="20" cy="25" r="7"/>',
  senior: '<rect x="11" y="20" width="18" height="30" rx="9"/><circle cx="20" cy="12" r="7.5"/><path d="M33 28v22" stroke-width="3" stroke="currentColor" fill="none"/>',
};
function buildChoices() {
  const sc = $('style-choices');
  sc.replaceChildren();
  for (const s of STYLES) {
    const l = document.createElement('label');
    l.className = 'choice';
    l.innerHTML = `<input type="radio" name="style" value="${s}"><span><svg viewBox="0 0 40 52" aria-hidden="true" fill="currentColor" style="color:${prefs.color}">${STYLE_SVG[s]}</svg>${t('style.' + s)}</span>`;
    l.querySelector('input').checked = prefs.style === s;
    sc.appendChild(l);
  }
  const cc = $('color-choices');
  cc.replaceChildren();
  for (const [name, hex] of COLORS) {
    const l = document.createElement('label');
    l.className = 'choice';
    l.innerHTML = `<input type="radio" name="color" value="${hex}"><span><i class="swatch" style="background:${hex}"></i>${t('color.' + name)}</span>`;
    l.querySelector('input').checked = prefs.color === hex;
    cc.appendChild(l);
  }
}

// ---------- entry ----------
function initEntry() {
  $('name').value = prefs.name || '';
  $('name').maxLength = LIMITS.NAME_MAX;
  applySize(prefs.size);
  applyLang(prefs.lang);
  document.addEventListener('change', (e) => {
    const el = e.target;
    if (el.name === 'lang' || el.name === 'lang2') applyLang(el.value);
    else if (el.name === 'size' || el.name === 'size2') applySize(el.value);
    else if (el.name === 'style') { prefs.style = el.value; savePrefs(); }
    else if (el.name === 'color') {
      prefs.color = el.value; savePrefs();
      for (const svg of document.querySelectorAll('#style-choices svg')) svg.style.color = el.value;
    }
  });
  $('entry-form').addEventListener('submit', (e) => { e.preventDefault(); enter(); });
  $('staff-logout').addEventListener('click', staffLogout);
  refreshStaff();
  document.documentElement.dataset.ready = '1';
}

async function enter() {
  const btn = $('enter');
  btn.disabled = true;
  btn.textContent = t('entry.entering');
  $('entry-error').textContent = '';
  prefs.name = $('name').value.trim().slice(0, LIMITS.NAME_MAX);
  savePrefs();
  const profile = { name: prefs.name || defaultName(), style: prefs.style, color: prefs.color, lang: prefs.lang };
  const plan = await planReady;
  S.plan = plan;
  net = new Net({
    onState: (s) => { S.connection = s; refreshHud(); },
    onJoined: (ack, resumed) => {
      // principal: what the server's session says we are (never a field we sent)
      S.me = { id: ack.id, role: ack.role, name: profile.name, principal: ack.principal || null };
      if (!resumed) showWorld();
      else hideBanner();
      if (!consult) {
        consult = mountConsult({ S, getNet: () => net, world: () => world, toast, showError, zoneName });
        consult.wire(net);
      }
      consult.joined();
      if (!media) {
        media = mountMedia({ S, getNet: () => net, toast });
        media.wire(net);
      }
      media.joined(resumed);
      if (!hall) { hall = mountHallTools({ S, getNet: () => net, toast }); hall.wire(net); } // hall tools
      hall.joined(); // hall tools
      hallScreenJoined(); // hall screen
      if (!salon) { salon = mountSalon({ S, getNet: () => net, toast, showError }); salon.wire(net); }
      refreshHud();
      buildGoto();
    },
    onJoinWait: () => {
      if (S.screen === 'entry') $('entry-error').textContent = t('join.wait');
    },
    onJoinError: (err) => {
      if (S.screen === 'entry') {
        $('entry-error').textContent = t('join.failed', { msg: errorText(err.code) });
        if (err.code === 'busy') offerHallWatch($('entry-error')); // hall tools: watch as a spectator instead
        btn.disabled = false;
        btn.textContent = t('entry.enter');
        net.leaving = true;
        net.socket?.disconnect();
        net = null;
      } else showError(err.code);
    },
    onZone: (z) => { setZone(z); consult?.onZone(z); media?.onZone(z); },
    onRoom: (id, r) => media?.onRoom(id, r),
    onSnap: () => { if ((++S.snaps & 3) === 0) refreshNearby([...net.avatars.values()]); },
    onChat: (m) => addChat(m),
    onError: (m) => {
      showError(m && m.code);
      if (m && m.code === 'hall_full') offerHallWatch($('alert-text')); // hall tools: a full hall can still be watched
    },
    onNotice: (m) => {
      if (m && m.kind === 'draining') showBanner(t('banner.draining'));
      if (m && m.kind === 'session_ended') { if (S.me) S.me.principal = null; S.staff = null; refreshHud(); toast(t('notice.session_ended')); }
    },
  });
  net.connect(profile);
}

// ---------- hall screen (issue #18): the city model on the hall's big screen and model table ----------
// (hall/screen.js), following the hall room through net.on('zone' / 'room' / 'room_patch')
let hallScreen = null;
function hallScreenJoined() {
  if (hallScreen) return;
  hallScreen = mountHallScreen({ S, getNet: () => net, toast, getWorld: () => world });
  const fwd = () => {
    const r = S.zone && net?.rooms.get(S.zone);
    hallScreen.onRoom(r && r.type === 'hall' ? r.state : null);
  };
  net.on('zone', (m) => { hallScreen.onZone(m?.zone ?? S.zone); fwd(); });
  net.on('room', fwd);
  net.on('room_patch', fwd);
  hallScreen.onZone(S.zone);
  fwd();
}

// ---------- staff session (cookie set by login.html; the socket reads the same session) ----------
async function refreshStaff() {
  const d = await whoami();
  S.staff = d && d.principal && d.principal.kind !== 'resident' ? d.principal : null;
  $('staff-login').hidden = !!S.staff;
  $('staff-logout').hidden = !S.staff;
  $('staff-as').hidden = !S.staff;
  if (S.staff) $('staff-as').textContent = t('entry.staffAs', { municipality: S.staff.municipality || '' });
}
async function staffLogout() {
  if (!S.staff) return;
  try { await apiJson('api/auth/logout', { method: 'POST' }); } catch (e) { /* offline: the session ends at its expiry */ }
  await refreshStaff();
}

// ---------- world ----------
let keys = new Set();
let stickVec = [0, 0];
let lastSent = [0, 0];
async function showWorld() {
  S.screen = 'world';
  $('entry').hidden = true;
  $('world').hidden = false;
  if (isTouch) { $('world').classList.add('touch'); $('stick').hidden = false; }
  applyI18n();
  try {
    const { createWorld } = await worldChunk;
    world = createWorld({
      container: $('stage'), plan: S.plan, canvasLabel: t('canvas.label'), reducedMotion,
      onTapFloor: (x, y) => tapWalk(x, y),
      onDragYaw: () => sendVelocity(true),
    });
    world.setLang(getLang());
    consult?.syncWorld();
    S.renderer = world.info.renderer;
    world.ready.then(() => { S.building = world.info.building; });
    world.canvas.focus();
  } catch (e) {
    console.error(e);
    showError('webgl');
  }
  if (!world) $('btn-goto').focus();
  initControls();
  requestAnimationFrame(loop);
}

let lastT = performance.now();
function loop(now) {
  const dt = Math.min(0.1, (now - lastT) / 1000);
  lastT = now;
  if (net) {
    net.interpolate(now);
    if (benchFake) benchFake.step(now);
    const list = [...net.avatars.values()];
    const me = S.me ? net.avatars.get(S.me.id) : null;
    if (world) {
      world.frame(dt, list, me, { staff: t('tag.staff'), you: t('tag.you'), cards: salon?.cards() });
      // first frame = first one drawn with the building in it (what a visitor actually sees)
      if (!S.firstFrameAt && world.info.building !== 'loading') S.firstFrameAt = performance.now();
      S.frames++;
    }
    if (me && world && S.tapTarget) {
      if (Math.hypot(me.x - S.tapTarget[0], me.y - S.tapTarget[1]) < 0.6) { world.hideTapMarker(); S.tapTarget = null; }
    }
    if ((S.frames & 15) === 0) refreshNearby(list);
    if ((S.frames & 31) === 0) consult?.tick();
  }
  requestAnimationFrame(loop);
}

// ---------- controls ----------
const KEYMAP = {
  ArrowUp: [0, 1], KeyW: [0, 1], ArrowDown: [0, -1], KeyS: [0, -1],
  ArrowLeft: [-1, 0], KeyA: [-1, 0], ArrowRight: [1, 0], KeyD: [1, 0],
};
function walkKeysAllowed(target) {
  if (!target || target === document.body || target.id === 'view3d' || target.id === 'world') return true;
  if (target.closest('dialog, input, textarea, select, .choices, #chat-log')) return false;
  return target.tagName === 'BUTTON' && !!target.closest('.toolbar');
}
function inputVector() {
  let x = stickVec[0], y = stickVec[1];
  for (const k of keys) { const v = KEYMAP[k]; if (v) { x += v[0]; y += v[1]; } }
  const len = Math.hypot(x, y);
  if (len > 1) { x /= len; y /= len; }
  return [x, y];
}
function sendVelocity(force = false) {
  if (!net) return;
  const [ix, iy] = inputVector();
  const yaw = world ? world.yaw : 0;
  // forward = camera direction (yaw 0 = north), right = 90° clockwise
  const fx = Math.sin(yaw), fy = Math.cos(yaw), rx = Math.cos(yaw), ry = -Math.sin(yaw);
  const vx = (fx * iy + rx * ix) * WALK, vy = (fy * iy + ry * ix) * WALK;
  const moving = Math.hypot(vx, vy) > 0.01;
  const wasMoving = Math.hypot(lastSent[0], lastSent[1]) > 0.01;
  if (!moving && !wasMoving && !force) return;
  if (!moving && !wasMoving) return;
  if (Math.abs(vx - lastSent[0]) < 0.05 && Math.abs(vy - lastSent[1]) < 0.05) return;
  lastSent = [vx, vy];
  if (moving) { S.tapTarget = null; world?.hideTapMarker(); }
  net.moveVelocity(vx, vy);
}
let controlsReady = false;
function initControls() {
  if (controlsReady) return;
  controlsReady = true;
  window.addEventListener('keydown', (e) => {
    if (S.screen !== 'world' || e.ctrlKey || e.metaKey || e.altKey) return;
    if (KEYMAP[e.code] && walkKeysAllowed(e.target)) {
      e.preventDefault();
      keys.add(e.code);
      sendVelocity();
    } else if ((e.code === 'KeyQ' || e.code === 'KeyE') && walkKeysAllowed(e.target)) {
      world?.rotate(e.code === 'KeyQ' ? Math.PI / 4 : -Math.PI / 4);
      sendVelocity(true);
    }
  });
  window.addEventListener('keyup', (e) => { if (keys.delete(e.code)) sendVelocity(); });
  window.addEventListener('blur', () => { keys.clear(); stickVec = [0, 0]; sendVelocity(); });

  $('btn-rot-l').addEventListener('click', () => { world?.rotate(Math.PI / 4); sendVelocity(true); });
  $('btn-rot-r').addEventListener('click', () => { world?.rotate(-Math.PI / 4); sendVelocity(true); });
  $('btn-goto').addEventListener('click', () => { buildGoto(); $('dlg-goto').showModal(); });
  $('btn-help').addEventListener('click', () => $('dlg-help').showModal());
  $('btn-more').addEventListener('click', () => $('dlg-more').showModal());
  for (const b of document.querySelectorAll('#dlg-more [data-proxy]')) {
    b.addEventListener('click', () => { $('dlg-more').close(); $(b.dataset.proxy).click(); });
  }
  // the stick and the chat sit above the toolbar, however many rows the text size makes it
  const tbar = document.querySelector('.toolbar');
  new ResizeObserver(() => $('world').style.setProperty('--tb-h', `${tbar.offsetHeight}px`)).observe(tbar);
  $('btn-settings').addEventListener('click', () => $('dlg-settings').showModal());
  $('btn-chat').addEventListener('click', () => {
    const c = $('chat');
    const open = c.classList.toggle('collapsed') === false;
    $('btn-chat').setAttribute('aria-expanded', String(open));
    if (open) $('chat-input').focus();
  });
  $('btn-leave').addEventListener('click', async () => {
    await net?.leave();
    S.screen = 'left';
    location.reload();
  });
  $('alert-close').addEventListener('click', () => { $('alert').hidden = true; });
  $('chat-input').maxLength = LIMITS.CHAT_MAX; // index.html's maxlength, from the protocol
  $('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('chat-input');
    const text = input.value.trim();
    if (!text) return;
    if (text.length > LIMITS.CHAT_MAX) { showError('too_long'); return; }
    net?.chat(text);
    input.value = '';
  });
  if (isTouch) {
    $('chat').classList.add('collapsed');
    $('btn-chat').setAttribute('aria-expanded', 'false');
  }
  initStick();
}

function initStick() {
  const stick = $('stick'), knob = $('stick-knob');
  let pid = null;
  const move = (e) => {
    const r = stick.getBoundingClientRect();
    const R = r.width / 2;
    let dx = e.clientX - (r.left + R), dy = e.clientY - (r.top + R);
    const len = Math.hypot(dx, dy);
    if (len > R) { dx = (dx / len) * R; dy = (dy / len) * R; }
    knob.style.transform = `translate(${dx}px, ${dy}px)`;
    const dead = 0.15;
    const m = Math.hypot(dx, dy) / R;
    stickVec = m < dead ? [0, 0] : [dx / R, -dy / R];
    sendVelocity();
  };
  stick.addEventListener('pointerdown', (e) => { pid = e.pointerId; stick.setPointerCapture(pid); move(e); e.preventDefault(); });
  stick.addEventListener('pointermove', (e) => { if (e.pointerId === pid) move(e); });
  const end = (e) => {
    if (e.pointerId !== pid) return;
    pid = null;
    knob.style.transform = '';
    stickVec = [0, 0];
    sendVelocity();
  };
  stick.addEventListener('pointerup', end);
  stick.addEventListener('pointercancel', end);
}

// ---------- tap-to-walk ----------
// The server routes a tapped point (world/state.py set_target): straight when the line is
// clear, else along its path round the counter and walls. Refusals come back as `error`.
function tapWalk(x, y) {
  const me = S.me && net?.avatars.get(S.me.id);
  if (!me || !net) return;
  S.tapTarget = [x, y];
  S.walkPlan = { target: [x, y] }; // for tests: what the last tap sent
  net.moveTarget(x, y);
}

// ---------- go-to menu ----------
const GOTO_KINDS = ['infodesk', 'booth', 'hall', 'entrance', 'corridor'];
function buildGoto() {
  const list = $('goto-list');
  if (!list || !S.plan) return;
  list.replaceChildren();
  const staff = S.me && S.me.role === 'staff';
  const zones = S.plan.zones
    .filter((z) => (staff || z.access !== 'staff') && (GOTO_KINDS.includes(z.kind) || staff))
    .sort((a, b) => GOTO_KINDS.indexOf(a.kind) - GOTO_KINDS.indexOf(b.kind));
  for (const z of zones) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn' + (z.id === S.zone ? ' here' : '');
    b.dataset.zone = z.id;
    b.textContent = z.name[getLang()] || z.name.ja;
    if (z.id === S.zone) b.setAttribute('aria-current', 'location');
    b.addEventListener('click', () => {
      net?.goto(z.id);
      S.tapTarget = null;
      world?.hideTapMarker();
      $('dlg-goto').close();
      toast(t('goto.walking', { zone: b.textContent }));
      world?.canvas.focus();
    });
    li.appendChild(b);
    list.appendChild(li);
  }
}

// ---------- HUD and chat (hud.js) ----------
const { setZone, refreshHud, refreshNearby, showBanner, hideBanner, toast, showError, errorText, addChat } = makeHud(S, () => net);

// ---------- benchmark hook (only with ?bench; bench-hook.js) ----------
const benchFake = params.has('bench') ? installBenchHook(() => net, STYLES, COLORS) : null;

initEntry();
