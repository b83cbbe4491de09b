// The realtime connection: socket.io-client + msgpack snapshots. The wire format comes from
// protocol.gen.js, generated from server/protocol/ (`yakuba protocol export`): no copied constants.
import { io } from 'socket.io-client';
import { decode } from '@msgpack/msgpack';
import { DEFAULT_TICK_HZ, SNAPSHOT } from './protocol.gen.js';

const TOKEN_KEY = 'yakuba.resume';
const K = SNAPSHOT.keys;
const ADD = Object.fromEntries(SNAPSHOT.add.map((name, i) => [name, i])); // field -> record index
const UPD = Object.fromEntries(SNAPSHOT.upd.fields.map((f) => [f.name, f.offset])); // field -> byte offset
const UPD_SIZE = SNAPSHOT.upd.size;
const POS = SNAPSHOT.posScale;
const TURN = 360 / SNAPSHOT.headingSteps;

export class Net {
  constructor(handlers) {
    this.h = handlers; // {onState, onJoined, onJoinError, onZone, onChat, onError, onNotice, onRoom}
    this.socket = null;
    this.profile = null;
    this.me = null; // join ack
    this.avatars = new Map(); // id -> avatar
    this.rooms = new Map(); // room id -> {type, version, state}: the rooms the server put us in
    this.state = 'offline';
    this.leaving = false;
    this.lastMove = 0;
    this.pendingMove = null;
    this.moveTimer = null;
    this.setTickHz(DEFAULT_TICK_HZ);
  }

  /** The server's snapshot rate (the join ack's tick_hz): interpolation follows it. */
  setTickHz(hz) {
    this.tickMs = 1000 / (hz > 0 ? hz : DEFAULT_TICK_HZ);
    // Render 1.5 snapshots behind the newest (never under 100 ms) so one late frame does not stall.
    this.interpDelay = Math.max(100, 1.5 * this.tickMs);
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.h.onState?.(s);
  }

  connect(profile) {
    this.profile = profile;
    this.setState('connecting');
    const socket = io(location.origin, {
      path: '/socket.io',
      auth: {},
      transports: ['websocket', 'polling'],
      reconnectionDelay: 400,
      reconnectionDelayMax: 2000,
      timeout: 8000,
    });
    this.socket = socket;
    socket.on('connect', () => this.join());
    socket.on('disconnect', (reason) => {
      if (this.leaving) { this.setState('offline'); return; }
      this.setState('reconnecting');
      // A server-side disconnect is not retried by socket.io itself; we do.
      if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 1000);
    });
    socket.on('connect_error', () => { if (this.me && !this.leaving) this.setState('reconnecting'); });
    socket.on('snap', (buf) => this.onSnap(buf));
    socket.on('zone', (m) => m && this.h.onZone?.(m.zone));
    socket.on('chat', (m) => this.h.onChat?.(m));
    socket.on('error', (m) => this.h.onError?.(m));
    socket.on('notice', (m) => this.h.onNotice?.(m));
    socket.on('room', (m) => this.onRoom(m));
    socket.on('room_patch', (m) => this.onRoomPatch(m));
  }

  join(retry = false) {
    const p = this.profile;
    const payload = { lang: p.lang };
    if (p.name) payload.name = p.name;
    if (p.style) payload.style = p.style;
    if (p.color) payload.color = p.color;
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token && !retry) payload.resume = token;
    this.socket.timeout(8000).emit('join', payload, (err, ack) => {
      if (err) { // no ack in time: the transport is probably gone; socket.io will reconnect
        if (!this.me) this.h.onJoinError?.({ code: 'internal', message: 'timeout' });
        return;
      }
      if (!ack || !ack.ok) {
        const e = (ack && ack.error) || { code: 'internal' };
        // A stale or unknown resume token: join again as a fresh visitor with the same profile.
        if (payload.resume && !retry) { sessionStorage.removeItem(TOKEN_KEY); this.join(true); return; }
        // Many arrivals from one address (a hall's Wi-Fi) are let in at a steady rate: wait and
        // try again rather than fail; the message says we are queuing.
        if (e.code === 'rate_limited') {
          this.joinTries = (this.joinTries || 0) + 1;
          if (this.joinTries <= 60) {
            this.h.onJoinWait?.(e);
            setTimeout(() => this.join(true), Math.min(2000 + 500 * this.joinTries, 8000));
            return;
          }
        }
        this.h.onJoinError?.(e);
        return;
      }
      this.joinTries = 0;
      if (ack.token) sessionStorage.setItem(TOKEN_KEY, ack.token);
      const resumed = !!this.me;
      this.me = ack;
      this.setTickHz(ack.tick_hz);
      this.setState('connected');
      this.h.onJoined?.(ack, resumed);
      if (ack.zone) this.h.onZone?.(ack.zone);
    });
  }

  // --- room state (`room` on join, then `room_patch` at the room's own rate) ---
  onRoom(m) {
    if (!m || typeof m.room !== 'string') return;
    const r = { type: m.type, version: m.version, state: { ...(m.state || {}) } };
    this.rooms.set(m.room, r);
    this.h.onRoom?.(m.room, r);
  }
  onRoomPatch(m) {
    const r = m && this.rooms.get(m.room);
    // Versions count every change and one patch carries a whole patch period's changes, so
    // they can jump; a patch only replaces top-level keys, so any newer one applies (an older
    // one is already in the `room` state we got). null is a value here, not a removal.
    if (!r || !(m.version > r.version)) return;
    for (const [k, v] of Object.entries(m.patch || {})) r.state[k] = v;
    r.version = m.version;
    this.h.onRoom?.(m.room, r);
  }

  // --- snapshots ---
  onSnap(buf) {
    let m;
    try {
      m = decode(buf instanceof ArrayBuffer ? new Uint8Array(buf) : buf);
    } catch (e) { return; }
    const now = performance.now();
    const seen = m[K.full] ? new Set() : null;
    for (const a of m[K.add] || []) {
      const id = a[ADD.id];
      let av = this.avatars.get(id);
      if (!av) {
        av = { id, samples: [] };
        this.avatars.set(id, av);
      }
      Object.assign(av, { name: a[ADD.name], style: a[ADD.style], color: a[ADD.color], role: a[ADD.role], zone: a[ADD.zone] });
      // ``away`` (disconnected, inside its grace period) when the server's snapshot carries it
      if (ADD.away !== undefined) av.away = !!a[ADD.away];
      this.push(av, now, a[ADD.x_cm] / POS, a[ADD.y_cm] / POS, a[ADD.heading_u8] * TURN);
      seen?.add(id);
    }
    const upd = m[K.upd];
    if (upd && upd.byteLength) {
      // Little-endian records (SNAPSHOT.upd): u32 id, u16 x_cm, u16 y_cm, u8 heading.
      const dv = new DataView(upd.buffer, upd.byteOffset, upd.byteLength);
      for (let o = 0; o + UPD_SIZE <= upd.byteLength; o += UPD_SIZE) {
        const id = dv.getUint32(o + UPD.id, true);
        const av = this.avatars.get(id);
        if (!av) continue;
        this.push(av, now, dv.getUint16(o + UPD.x_cm, true) / POS, dv.getUint16(o + UPD.y_cm, true) / POS,
          dv.getUint8(o + UPD.heading_u8) * TURN);
        seen?.add(id);
      }
    }
    for (const id of m[K.del] || []) this.avatars.delete(id);
    if (seen) for (const id of [...this.avatars.keys()]) if (!seen.has(id)) this.avatars.delete(id);
    this.h.onSnap?.();
    // The own zone arrives as the `zone` event, not in the snapshot.
  }

  push(av, t, x, y, h) {
    const s = av.samples;
    const last = s[s.length - 1];
    if (last && t - last.t > this.tickMs * 2) {
      // Standing still produced no snapshots: start the move from "one tick ago", not from then.
      s.push({ t: t - this.tickMs, x: last.x, y: last.y, h: last.h });
    }
    s.push({ t, x, y, h });
    while (s.length > 8) s.shift();
    if (av.x === undefined) { av.x = x; av.y = y; av.h = h; }
  }

  /** Positions interpDelay (1.5 ticks, at least 100 ms) behind the newest snapshot, interpolated. */
  interpolate(now) {
    const rt = now - this.interpDelay;
    for (const av of this.avatars.values()) {
      const s = av.samples;
      if (!s.length) continue;
      let a = s[0];
      let b = s[s.length - 1];
      if (rt >= b.t) { av.x = b.x; av.y = b.y; av.h = b.h; continue; }
      if (rt <= a.t) { av.x = a.x; av.y = a.y; av.h = a.h; continue; }
      for (let i = 0; i < s.length - 1; i++) {
        if (s[i].t <= rt && rt <= s[i + 1].t) { a = s[i]; b = s[i + 1]; break; }
      }
      const k = (rt - a.t) / Math.max(1, b.t - a.t);
      av.x = a.x + (b.x - a.x) * k;
      av.y = a.y + (b.y - a.y) * k;
      let dh = ((b.h - a.h + 540) % 360) - 180;
      av.h = (a.h + dh * k + 360) % 360;
    }
  }

  // --- outgoing ---
  /** Velocity intents are throttled to 10/s; the last one always goes out. */
  moveVelocity(vx, vy) {
    this.pendingMove = { vx: Math.round(vx * 100) / 100, vy: Math.round(vy * 100) / 100 };
    const wait = 100 - (performance.now() - this.lastMove);
    if (wait <= 0) this.flushMove();
    else if (!this.moveTimer) this.moveTimer = setTimeout(() => this.flushMove(), wait);
  }
  flushMove() {
    this.moveTimer = null;
    if (!this.pendingMove) return;
    this.emit('move', this.pendingMove);
    this.pendingMove = null;
    this.lastMove = performance.now();
  }
  moveTarget(x, y) { this.pendingMove = null; this.emit('move', { target: [Math.round(x * 100) / 100, Math.round(y * 100) / 100] }); }
  goto(zone) { this.pendingMove = null; this.emit('move', { goto: zone }); }
  stop() { this.pendingMove = null; this.emit('move', { stop: true }); }
  chat(text) { this.emit('chat', { text }); }
  emit(ev, data) { if (this.socket && this.socket.connected && this.me) this.socket.emit(ev, data); }
  /** An event with an ack, as a promise of the ack ({ok: true, ...} or {ok: false, error}). */
  request(ev, data, ms = 8000) {
    return new Promise((resolve) => {
      if (!this.socket || !this.socket.connected || !this.me) { resolve({ ok: false, error: { code: 'offline' } }); return; }
      this.socket.timeout(ms).emit(ev, data, (err, ack) => resolve(err ? { ok: false, error: { code: 'timeout' } } : ack || { ok: false, error: { code: 'internal' } }));
    });
  }
  /** Listen to a server event (the consultation desk's; the socket outlives reconnects). */
  on(ev, fn) { this.socket?.on(ev, fn); }

  leave() {
    this.leaving = true;
    sessionStorage.removeItem(TOKEN_KEY);
    return new Promise((resolve) => {
      if (!this.socket || !this.socket.connected) { resolve(); return; }
      this.socket.emit('leave', {});
      setTimeout(() => { this.socket.disconnect(); resolve(); }, 150);
    });
  }
}
