// The spectator page (hall-watch.html): follow the event hall without an avatar and without a
// name (a full hall, a phone, someone who only wants to listen in). Connects, sends `hall.watch`
// (no `join`), then applies the hall's `room_patch` events. Everything is read-only; asking and
// voting happen inside the city hall. Reuses the panel's views (agenda, questions, poll, reactions).
import { io } from 'socket.io-client';
import '../style.css';
import './tools.css';
import { setLang, getLang } from '../i18n.js';
import { h, el, btn, setLabel, errText, syncClock } from './util.js';
import { makeAgenda } from './agenda.js';
import { makeQuestions } from './questions.js';
import { makePoll } from './poll.js';
import { makeReactions } from './reactions.js';

const $ = (id) => document.getElementById(id);
const PREFS = 'yakuba.prefs'; // the main page's preferences: language and text size
const SIZES = ['normal', 'large', 'xlarge'];
const params = new URLSearchParams(location.search);
let prefs = {};
try { prefs = JSON.parse(localStorage.getItem(PREFS)) || {}; } catch (e) { /* private mode */ }
const savePrefs = () => { try { localStorage.setItem(PREFS, JSON.stringify(prefs)); } catch (e) { /* private mode */ } };
setLang(params.get('lang') || prefs.lang || 'ja');
document.documentElement.dataset.size = SIZES.includes(prefs.size) ? prefs.size : 'normal';

const W = { status: 'connecting', version: -1, state: null, pending: [], error: null, screen: false };
const ro = { ro: true, mod: false, presenter: false, staff: false, me: null };
const ctx = { room: () => 'hall', send: async () => ({ ok: false, error: { code: 'forbidden' } }), emit: () => {}, say, show: () => W.state?.show || null };
const agenda = makeAgenda(ctx);
const questions = makeQuestions(ctx);
const poll = makePoll(ctx);
const reactions = makeReactions(ctx);

// --- the page ---
const header = el('header', 'hw-header');
const h1 = el('h1', null, { id: 'hw-title' });
const status = el('p', 'hw-status', { id: 'hw-status', role: 'status', 'aria-live': 'polite' });
const bSize = btn('hw-size', '', 'btn-quiet');
const bLang = btn('hw-lang', '', 'btn-quiet');
header.append(h1, status, bSize, bLang);
const main = el('main', 'hw-main', { id: 'hw-main' });
const lead = el('p', 'hw-lead');
const colA = el('div', 'hw-col');
const colB = el('div', 'hw-col');
const screenBox = el('div', 'hw-screen', { id: 'hw-screen' });
const msg = el('p', 'ht-msg', { id: 'hall-msg', 'aria-live': 'polite' });
colA.append(screenBox, questions.screenEl, poll.el);
colB.append(agenda.el, reactions.el, questions.el);
main.append(lead, msg, colA, colB);
document.body.append(header, main);

bLang.addEventListener('click', () => {
  prefs.lang = setLang(getLang() === 'ja' ? 'en' : 'ja');
  savePrefs();
  render();
});
bSize.addEventListener('click', () => {
  const i = (SIZES.indexOf(document.documentElement.dataset.size) + 1) % SIZES.length;
  prefs.size = document.documentElement.dataset.size = SIZES[i];
  savePrefs();
  render();
});

function say(text) { msg.textContent = text; }

function render() {
  document.title = h('watch.title');
  h1.textContent = h('watch.title');
  status.dataset.state = W.status;
  status.textContent = W.status === 'busy' ? errText('busy') : h('watch.status.' + W.status);
  setLabel(bLang, getLang() === 'ja' ? 'English' : '日本語');
  bLang.lang = getLang() === 'ja' ? 'en' : 'ja';
  setLabel(bSize, h('watch.size', { size: h('watch.size.' + (document.documentElement.dataset.size || 'normal')) }));
  lead.replaceChildren(h('watch.lead'), ' ', el('a', 'ht-watch-link', { href: './', text: h('watch.enter') }));
  if (!W.state) { main.dataset.ready = ''; return; }
  agenda.render(W.state, ro);
  questions.render(W.state, ro);
  poll.render(W.state, ro);
  reactions.render(W.state, ro);
  screenHook?.update?.(W.state);
  main.dataset.ready = '1';
}

// --- the synced model view (hall/screen.js, the big screen's half of issue #18), when it is there ---
let screenHook = null;
const screenMods = import.meta.glob('./screen.js');
async function mountScreen() {
  const load = screenMods['./screen.js'];
  if (!load) return;
  try {
    const m = await load();
    if (typeof m.mountHallScreen !== 'function') return;
    // no avatar (me: null) and no socket to write with: it only follows the room's `show`
    const hook = m.mountHallScreen({ S: { me: null, zone: 'hall' }, getNet: () => null, toast: say, getWorld: () => null });
    // its panel (and its 「大型スクリーンを見る」 button) into this page's own place, not over it
    for (const e of document.querySelectorAll('body > .hs-panel, body > .hs-reopen')) screenBox.append(e);
    hook.onZone?.('hall');
    screenHook = { update: (st) => hook.onRoom?.(st), state: () => hook.state?.() ?? null };
    W.screen = true;
    if (W.state) screenHook.update(W.state);
  } catch (e) { console.error(e); }
}

// --- the socket: no join, only `hall.watch` ---
const socket = io(location.origin, { path: '/socket.io', transports: ['websocket', 'polling'], reconnectionDelay: 500, reconnectionDelayMax: 3000 });
let retry = null;
function watch() {
  clearTimeout(retry);
  W.version = -1;
  W.pending = [];
  socket.timeout(8000).emit('hall.watch', { room: 'hall' }, (err, ack) => {
    if (err || !ack || !ack.ok) {
      W.error = err ? 'timeout' : ack?.error?.code || 'internal';
      W.status = W.error === 'busy' ? 'busy' : 'failed';
      render();
      retry = setTimeout(() => { if (socket.connected) watch(); }, W.error === 'busy' ? 15000 : 5000);
      return;
    }
    W.error = null;
    W.status = 'live';
    W.state = { ...(ack.room.state || {}) };
    W.version = ack.room.version;
    for (const p of W.pending) apply(p);
    W.pending = [];
    render();
  });
}
function apply(m) {
  if (!(m.version > W.version)) return;
  for (const [k, v] of Object.entries(m.patch || {})) W.state[k] = v;
  W.version = m.version;
}
socket.on('connect', () => { W.status = 'connecting'; render(); watch(); });
socket.on('disconnect', () => { W.status = 'reconnecting'; render(); });
socket.on('connect_error', () => { W.status = 'reconnecting'; render(); });
socket.on('room_patch', (m) => {
  if (!m || m.room !== 'hall') return;
  if (W.version < 0) { W.pending.push(m); return; } // before the snapshot's ack
  apply(m);
  render();
});
socket.on('room', (m) => { // the same shape, should the server send the whole state again
  if (!m || m.room !== 'hall' || !(m.version >= W.version)) return;
  W.state = { ...(m.state || {}) };
  W.version = m.version;
  render();
});

window.__hallWatch = Object.freeze({
  get state() {
    return {
      status: W.status, version: W.version, error: W.error, screen: W.screen ? screenHook?.state() ?? true : null, lang: getLang(), avatar: null,
      agenda: agenda.state(), questions: questions.state(), poll: poll.state(), reactions: reactions.state(),
    };
  },
});

syncClock();
render();
mountScreen();
document.documentElement.dataset.ready = '1';
