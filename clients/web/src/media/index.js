// Voice, screen and document sharing in the rooms that allow it (a consultation booth, the
// event hall, a staff salon; issue #17). Follows the room state (`room` / `room_patch`: streams,
// doc, page, pointer), subscribes to every stream that is not ours, and ends everything on the
// way out. What the server refuses comes back as plain words; `media.ended` closes the peer.
import './media.css';
import { t } from '../i18n.js';
import { Rtc } from './rtc.js';
import { makeVoice } from './voice.js';
import { makeScreen, canShareScreen } from './screen.js';
import { makeDocs } from './docs.js';
import { makePanel } from './panel.js';

const MEDIA_ROOMS = new Set(['booth', 'hall', 'salon']);
const NONE = Object.freeze({ show: false, voice: false, screen: false, doc: false });
const RETRY_MS = 4000;
const MARGIN_M = 2; // server/media/service.py HEARING_MARGIN_M

export function mountMedia({ S, getNet, toast }) {
  const M = {
    room: null, type: null, state: null, subs: new Map(), refused: new Set(), blocked: false,
    audioBlocked: false, msg: '', said: [], enlarged: false, ended: [], errors: [],
  };
  M.streams = () => (M.state && Array.isArray(M.state.streams) ? M.state.streams.filter((s) => s && s.id) : []);
  const meId = () => S.me?.id ?? null;
  const isStaff = () => !!(S.me?.principal && S.me.principal.kind !== 'resident');
  const nameOf = (id) => {
    if (id === meId()) return t('media.me');
    return getNet()?.avatars.get(id)?.name || t('media.someone');
  };
  nameOf.staff = (id) => getNet()?.avatars.get(id)?.role === 'staff';

  const rtc = new Rtc(getNet, { onEnded, onQuality: (p, l) => screen.quality(p, l) });
  const getRoom = () => M.room;
  const changed = () => panel?.render();
  const say = (text, alert) => panel?.say(text, alert);
  const request = (ev, data) => rtc.request(ev, data);
  const voice = makeVoice({ rtc, M, getRoom, getNet, changed, say });
  const screen = makeScreen({ rtc, M, getRoom, changed, say, nameOf });
  const docs = makeDocs({ M, getRoom, getNet, request, config: () => rtc.config(), changed, say, meId, nameOf });
  const panel = makePanel({ M, S, voice, screen, docs, allowed, nameOf, toast });

  /** What the UI offers here; the server decides in the end (server/auth/policy.py, media). */
  function allowed() {
    if (!M.room || !MEDIA_ROOMS.has(M.type)) return NONE;
    if (M.type === 'salon' && !isStaff()) return NONE;
    if (M.blocked) return { show: true, voice: false, screen: false, doc: false, blocked: true };
    if (M.type === 'hall') {
      const p = M.state?.presenter != null && M.state.presenter === meId();
      return { show: true, voice: p, screen: p && canShareScreen(), doc: p };
    }
    return { show: true, voice: true, screen: isStaff() && canShareScreen(), doc: isStaff() };
  }

  // --- following the room ---
  let early = null; // a room that came before its zone event (a join or resume puts us in one)
  function onRoom(id, r) {
    if (id !== S.zone) { early = { id, r }; return; }
    early = null;
    if (id !== M.room) leave();
    M.room = id;
    M.type = r.type;
    M.state = r.state || {};
    if (M.blocked && M.state.locked === false) { M.blocked = false; M.refused.clear(); }
    sync();
  }
  function onZone(z) {
    if (M.room && z !== M.room) { leave(); changed(); }
    if (early && early.id === z) onRoom(z, early.r);
  }

  function sync() {
    const a = allowed();
    if (!a.show) { stopAll(); changed(); return; }
    const me = meId();
    const want = new Map(M.streams().filter((s) => s.owner !== me && inHearing(s.owner, M.subs.has(s.id) ? MARGIN_M : 0)).map((s) => [s.id, s]));
    for (const [sid, entry] of M.subs) {
      if (want.has(sid)) continue;
      M.subs.delete(sid);
      if (entry.peer) { closeSub(entry.peer); if (entry.peer.source === 'screen') say(t('media.screenEnded', { name: nameOf(entry.peer.owner) })); }
    }
    if (!M.blocked) for (const [sid, s] of want) if (!M.subs.has(sid) && !M.refused.has(sid)) subscribe(s);
    // no longer allowed (locked out, the hall's stage changed hands): the server ends these itself
    if (!a.voice && (M.voice.pub || M.voice.starting)) voice.stop(false);
    if (!a.screen && M.screen.pub) screen.stop(false);
    if (M.voice.want && !M.voice.on && !M.voice.starting && a.voice) voice.start(); // back after a reconnect
    docs.update(M.state);
    voice.run(true);
    changed();
  }

  // In an open-plan room (the salon's lounge: `hearing_m` in its state) one hears those within
  // hearing, as one reads their chat; the server ends a subscription a little beyond that.
  function inHearing(owner, margin) {
    const hear = M.state?.hearing_m;
    if (!hear) return true;
    const net = getNet();
    const a = net?.avatars.get(owner);
    const me = net?.avatars.get(meId());
    return !!(a && me && Math.hypot(a.x - me.x, a.y - me.y) <= hear + margin);
  }
  setInterval(() => { // people walk: who is within hearing changes without a room patch
    if (!M.room || !M.state?.hearing_m) return;
    M.refused.clear(); // refused as out of hearing a moment ago: ask again when near
    sync();
  }, 1000);

  async function subscribe(s) {
    const entry = { peer: null, stream: s };
    const room = M.room;
    M.subs.set(s.id, entry);
    try {
      const peer = await rtc.subscribe(room, s, (p, track) => { voice.attach(p, track); changed(); });
      if (M.subs.get(s.id) !== entry || M.room !== room) { closeSub(peer); return; } // the server ended it with the stream or the room
      entry.peer = peer;
    } catch (e) {
      if (M.subs.get(s.id) === entry) M.subs.delete(s.id);
      M.errors.push({ stream: s.id, code: e.code });
      if (M.room !== room || e.code === 'stopped') return;
      M.refused.add(s.id); // not again in a loop: once the room changes, or after a pause for a failure
      if (['media_failed', 'timeout', 'internal', 'offline'].includes(e.code)) {
        setTimeout(() => { if (M.refused.delete(s.id) && M.room === room) sync(); }, RETRY_MS);
      }
      if (e.code !== 'unknown_stream') say(errText(e.code), true);
    }
    changed();
  }
  function closeSub(peer) { voice.detach(peer); rtc.close(peer.id); }

  function onEnded(peer, reason) {
    M.ended.push({ id: peer.id, kind: peer.kind, source: peer.source, reason, pc: peer.pc.signalingState });
    if (M.ended.length > 20) M.ended.shift();
    if (peer.kind === 'pub') {
      voice.ended(peer);
      screen.ended(peer);
      if (M.voice.pub == null && ['locked', 'removed', 'denied', 'left', 'moderated'].includes(reason)) M.voice.want = false;
    } else {
      voice.detach(peer);
      for (const [sid, e] of M.subs) if (e.peer === peer || sid === peer.stream) M.subs.delete(sid);
      if (reason === 'failed') setTimeout(() => { if (M.room === peer.room) sync(); }, RETRY_MS);
      else M.refused.add(peer.stream);
    }
    if (reason === 'locked' || reason === 'removed' || reason === 'denied') {
      M.blocked = reason === 'locked' ? true : M.blocked;
      for (const [sid, e] of M.subs) { M.subs.delete(sid); if (e.peer) closeSub(e.peer); M.refused.add(sid); }
    }
    const key = 'media.ended.' + reason;
    // walked away from the speaker (the lounge): nothing to announce
    if (!(reason === 'stopped' && peer.kind === 'sub') && reason !== 'out_of_hearing') sayOnce(t(key) === key ? t('media.failed') : t(key), reason !== 'stopped' && reason !== 'left');
    changed();
  }
  let lastSaid = '', lastSaidAt = 0;
  function sayOnce(text, alert) { // several peers end at once for one reason: say it once
    if (text === lastSaid && performance.now() - lastSaidAt < 3000) return;
    lastSaid = text;
    lastSaidAt = performance.now();
    say(text, alert);
  }

  /** Leaving the room: our publications and subscriptions end. The server ended them already
   * (it does when a member leaves), so they close here without a word to it. */
  function stopAll() {
    if (M.voice.pub || M.voice.starting) voice.stop(false);
    if (M.screen.pub) screen.stop(false);
    for (const e of M.subs.values()) if (e.peer) closeSub(e.peer);
    M.subs.clear();
    docs.clear();
  }
  function leave() {
    stopAll();
    voice.run(false);
    M.room = null;
    M.type = null;
    M.state = null;
    M.blocked = false;
    M.refused.clear();
    if (M.enlarged) { M.enlarged = false; panel.stage.classList.remove('md-enlarged'); }
  }

  return {
    wire(net) {
      net.on('media.ended', (m) => {
        if (!m || !m.id) return;
        if (rtc.ended(m.id, m.reason)) return;
        // already closed here (we walked out before the word came): still say why, once
        M.ended.push({ id: m.id, kind: null, reason: m.reason, pc: 'closed' });
        if (['locked', 'removed', 'denied'].includes(m.reason)) sayOnce(t('media.ended.' + m.reason), true);
      });
    },
    onRoom, onZone,
    /** (Re)joined: after a reconnect the server has forgotten our peers; its `room` follows. */
    joined(resumed) {
      if (!resumed) return;
      for (const e of M.subs.values()) if (e.peer) voice.detach(e.peer);
      rtc.closeAll();
      M.subs.clear();
      voice.lost();
      screen.lost();
      docs.clear();
      M.room = null;
      const r = S.zone && getNet()?.rooms.get(S.zone); // its `room` may have come before this ack
      if (r) onRoom(S.zone, r);
      else changed();
    },
    refresh: changed,
    stats: () => rtc.stats(),
    state() {
      return {
        room: M.room, type: M.type, allowed: allowed(), blocked: M.blocked, msg: M.msg, said: M.said.slice(), enlarged: M.enlarged,
        voice: { on: M.voice.on, want: M.voice.want, muted: M.voice.muted, ptt: M.voice.ptt, held: M.voice.held, speaking: M.voice.speaking, pub: M.voice.pub?.id ?? null },
        screen: { sharing: !!M.screen.pub, pub: M.screen.pub?.id ?? null, level: M.screen.level },
        subs: [...M.subs.entries()].map(([sid, e]) => ({ stream: sid, id: e.peer?.id ?? null, source: e.stream.source, owner: e.stream.owner })),
        peers: [...rtc.peers.values()].map((p) => ({ id: p.id, kind: p.kind, source: p.source, state: p.pc.connectionState })),
        speaking: [...M.speaking.keys()],
        doc: { shown: M.doc.shown, type: M.doc.type, by: M.doc.by, page: M.doc.page, pages: M.doc.pages, rendered: M.doc.rendered, pointer: M.doc.pointer, loading: M.doc.loading, failed: M.doc.failed },
        ended: M.ended.slice(), errors: M.errors.slice(-10), audioBlocked: M.audioBlocked,
      };
    },
  };
}

function errText(code) {
  const k = 'error.' + code;
  const s = t(k);
  return s === k ? t('media.failed') : s;
}
