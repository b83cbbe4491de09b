// The realtime connection: socket.io-client + msgpack snapshots (see server/protocol.py).
import { io } from 'socket.io-client';
import { decode } from '@msgpack/msgpack';

const TOKEN_KEY = 'yakuba.resume';
const INTERP_DELAY = 100; // ms behind the newest snapshot
const TICK_MS = 1000 / 15;

export class Net {
  constructor(handlers) {
    this.h = handlers; // {onState, onJoined, onJoinError, onZone, onChat, onError, onNotice}
    this.socket = null;
    this.profile = null;
    this.me = null; // join ack
    this.avatars = new Map(); // id -> avatar
    this.state = 'offline';
    this.leaving = false;
    this.lastMove = 0;
    this.pendingMove = null;
    this.moveTimer = null;
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
        this.h.onJoinError?.(e);
        return;
      }
      if (ack.token) sessionStorage.setItem(TOKEN_KEY, ack.token);
      const resumed = !!this.me;
      this.me = ack;
      this.setState('connected');
      this.h.onJoined?.(ack, resumed);
      if (ack.zone) this.h.onZone?.(ack.zone);
    });
  }

  // --- snapshots ---
  onSnap(buf) {
    let m;
    try {
      m = decode(buf instanceof ArrayBuffer ? new Uint8Array(buf) : buf);
    } catch (e) { return; }
    const now = performance.now();
    const seen = m.f ? new Set() : null;
    for (const a of m.add || []) {
      const [id, name, style, color, role, x, y, h, zone] = a;
      let av = this.avatars.get(id);
      if (!av) {
        av = { id, samples: [] };
        this.avatars.set(id, av);
      }
      Object.assign(av, { name, style, color, role, zone });
      this.push(av, now, x / 100, y / 100, (h * 360) / 256);
      seen?.add(id);
    }
    const upd = m.upd;
    if (upd && upd.byteLength) {
      const dv = new DataView(upd.buffer, upd.byteOffset, upd.byteLength);
      for (let o = 0; o + 9 <= upd.byteLength; o += 9) {
        const id = dv.getUint32(o, true);
        const av = this.avatars.get(id);
        if (!av) continue;
        this.push(av, now, dv.getUint16(o + 4, true) / 100, dv.getUint16(o + 6, true) / 100, (dv.getUint8(o + 8) * 360) / 256);
        seen?.add(id);
      }
    }
    for (const id of m.del || []) this.avatars.delete(id);
    if (seen) for (const id of [...this.avatars.keys()]) if (!seen.has(id)) this.avatars.delete(id);
    if (m.z) this.h.onZone?.(m.z);
  }

  push(av, t, x, y, h) {
    const s = av.samples;
    const last = s[s.length - 1];
    if (last && t - last.t > TICK_MS * 2) {
      // Standing still produced no snapshots: start the move from "one tick ago", not from then.
      s.push({ t: t - TICK_MS, x: last.x, y: last.y, h: last.h });
    }
    s.push({ t, x, y, h });
    while (s.length > 8) s.shift();
    if (av.x === undefined) { av.x = x; av.y = y; av.h = h; }
  }

  /** Positions ~100 ms behind the newest snapshot, interpolated. */
  interpolate(now) {
    const rt = now - INTERP_DELAY;
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
