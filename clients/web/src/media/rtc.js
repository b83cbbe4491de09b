// Peer connections for a room's media (server/protocol/media_events.py). Publish: our sendonly
// offer, the server's answer. Subscribe: the server's offer, our answer. Both wait for ICE
// gathering (bounded) so the SDP carries the candidates; later ones go as `media.ice`. The ICE
// servers (time-limited TURN credentials) come from `media.config` and are refreshed before
// they expire. A publisher's video follows its connection: lower bitrate, then no video, then
// back, from getStats (loss reported by the server, the browser's available bitrate).

const GATHER_MS = 3000;
const ADAPT_MS = 2000;
const MIN_VIDEO_BPS = 120_000;
const WARMUP_MS = 10_000; // the browser's bandwidth estimate starts low and ramps up
const STARVED_BPS = 150_000; // under this the estimate itself says the link is weak

/** A refusal or failure with the wire error code (for `error.<code>` messages). */
export class MediaError extends Error {
  constructor(code, message) { super(message || code); this.code = code || 'internal'; }
}

/** Resolve when ICE gathering is complete, or after ``ms`` (then the rest trickle as media.ice). */
export function waitGathering(pc, ms = GATHER_MS) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve(true);
  return new Promise((resolve) => {
    let timer = null;
    const done = (complete) => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onState);
      pc.removeEventListener('icecandidate', onCand);
      resolve(complete);
    };
    const onState = () => { if (pc.iceGatheringState === 'complete') done(true); };
    const onCand = (e) => { if (!e.candidate) done(true); };
    timer = setTimeout(() => done(false), ms);
    pc.addEventListener('icegatheringstatechange', onState);
    pc.addEventListener('icecandidate', onCand);
  });
}

export class Rtc {
  /** ``hooks``: {onEnded(peer, reason), onQuality(peer, level)} */
  constructor(getNet, hooks = {}) {
    this.getNet = getNet;
    this.hooks = hooks;
    this.cfg = null;
    this.cfgUntil = 0;
    this.refreshTimer = null;
    this.peers = new Map(); // our id (publication or subscription) -> peer
  }

  async request(ev, data, ms = 15000) {
    const net = this.getNet();
    if (!net) throw new MediaError('offline');
    const ack = await net.request(ev, data, ms);
    if (!ack || !ack.ok) throw new MediaError(ack?.error?.code, ack?.error?.message);
    return ack;
  }

  /** `media.config`, cached until shortly before its credentials expire. */
  async config(force = false) {
    if (!force && this.cfg && Date.now() < this.cfgUntil) return this.cfg;
    const cfg = await this.request('media.config', {});
    const ttl = Math.max(20, Number(cfg.ttl_s) || 600);
    this.cfg = cfg;
    this.cfgUntil = Date.now() + ttl * 800; // 80 % of the lifetime
    clearTimeout(this.refreshTimer);
    // live connections get fresh credentials before the old ones lapse (an ICE restart needs them)
    this.refreshTimer = setTimeout(() => this.refresh(), ttl * 800);
    return cfg;
  }
  async refresh() {
    if (!this.peers.size) return;
    try {
      const cfg = await this.config(true);
      for (const p of this.peers.values()) p.pc.setConfiguration({ ...p.pc.getConfiguration(), iceServers: iceServers(cfg) });
    } catch (e) { /* offline: tried again with the next config() */ }
  }

  pc(cfg) {
    return new RTCPeerConnection({ iceServers: iceServers(cfg), bundlePolicy: 'max-bundle' });
  }

  /**
   * Publish ``stream``'s tracks (source "mic" | "camera" | "screen") into ``room``.
   * Video senders start capped at the server's max_video_kbps; audio at max_audio_kbps.
   */
  async publish(room, source, stream, { audioOnly = false } = {}) {
    const cfg = await this.config();
    const pc = this.pc(cfg);
    const videoBps = cfg.max_video_kbps * 1000;
    for (const track of stream.getTracks()) {
      if (track.kind === 'video' && audioOnly) continue;
      if (track.kind === 'video' && source === 'screen') track.contentHint = 'detail'; // text stays sharp
      const maxBitrate = track.kind === 'video' ? videoBps : cfg.max_audio_kbps * 1000;
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings: [{ maxBitrate }] });
    }
    const peer = { id: null, kind: 'pub', room, source, pc, stream, late: [], cap: videoBps, level: 0, weak: 0, good: 0 };
    this.trickle(peer);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitGathering(pc);
      peer.sent = true;
      const ack = await this.request('media.publish', { room, source, sdp: pc.localDescription.sdp, audio_only: audioOnly || !stream.getVideoTracks().length });
      peer.id = ack.id;
      this.peers.set(ack.id, peer);
      await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp });
    } catch (e) {
      if (peer.id) this.stop(peer.id); // the server holds it: free it there too
      else pc.close();
      throw e instanceof MediaError ? e : new MediaError('media_failed', e.message);
    }
    this.flushLate(peer);
    this.watch(peer);
    for (const s of pc.getSenders()) if (s.track?.kind === 'video') this.setVideo(peer, s, peer.cap, true);
    if (stream.getVideoTracks().length && !audioOnly) peer.adapt = setInterval(() => this.adapt(peer), ADAPT_MS);
    return peer;
  }

  /** Subscribe to ``stream`` ({id, owner, source}); ``onTrack(peer, track)`` as tracks arrive. */
  async subscribe(room, stream, onTrack) {
    const cfg = await this.config(); // before the server's offer: nothing waits between offer and answer
    const ack = await this.request('media.subscribe', { room, stream: stream.id });
    const pc = this.pc(cfg);
    const peer = { id: ack.id, kind: 'sub', room, source: stream.source, stream: stream.id, owner: stream.owner, pc, remote: new MediaStream(), late: [] };
    this.peers.set(ack.id, peer); // a media.ended may come before the answer
    pc.addEventListener('track', (e) => { peer.remote.addTrack(e.track); onTrack?.(peer, e.track); });
    this.trickle(peer);
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: ack.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await waitGathering(pc);
      peer.sent = true;
      if (peer.closed) throw new MediaError('stopped');
      await this.request('media.answer', { id: ack.id, sdp: pc.localDescription.sdp });
    } catch (e) {
      this.stop(ack.id); // no-op when a media.ended closed it already
      throw e instanceof MediaError ? e : new MediaError('media_failed', e.message);
    }
    this.flushLate(peer);
    this.watch(peer);
    return peer;
  }

  /** Candidates found after the SDP left (gathering ran past its bound): `media.ice`, once the
   * server knows the peer's id. */
  trickle(peer) {
    peer.sent = false;
    peer.pc.addEventListener('icecandidate', (e) => {
      if (!peer.sent) return; // still going inside the SDP
      const c = e.candidate ? { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } : null;
      if (peer.flushed) this.sendIce(peer, c);
      else peer.late.push(c);
    });
  }
  flushLate(peer) {
    peer.flushed = true;
    for (const c of peer.late.splice(0)) this.sendIce(peer, c);
  }
  sendIce(peer, c) { if (peer.id && !peer.closed) this.getNet()?.emit('media.ice', { id: peer.id, candidate: c }); }

  watch(peer) {
    peer.pc.addEventListener('connectionstatechange', () => {
      const s = peer.pc.connectionState;
      if (s === 'failed') this.ended(peer.id, 'failed');
    });
  }

  /** The server (`media.ended`) or the connection ended a peer: close it, tell the UI. */
  ended(id, reason) {
    const peer = this.peers.get(id);
    if (!peer) return null;
    this.close(id);
    this.hooks.onEnded?.(peer, reason);
    return peer;
  }

  /** `media.stop` (our own ending of a publication or subscription), then close. */
  stop(id) {
    if (!this.peers.has(id)) return;
    this.getNet()?.emit('media.stop', { id });
    this.close(id);
  }

  close(id) {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    peer.closed = true;
    clearInterval(peer.adapt);
    try { peer.pc.close(); } catch (e) { /* already closed */ }
  }

  /** Close every peer without telling the server (it forgot them: a reconnect, a new room). */
  closeAll() { for (const id of [...this.peers.keys()]) this.close(id); }

  // --- the publisher's video follows the connection ---
  async setVideo(peer, sender, bps, active) {
    try {
      const p = sender.getParameters();
      if (!p.encodings || !p.encodings.length) p.encodings = [{}];
      for (const e of p.encodings) { e.maxBitrate = Math.round(bps); e.active = active; }
      if (peer.source === 'screen') p.degradationPreference = 'maintain-resolution';
      await sender.setParameters(p);
    } catch (e) { /* a closing connection */ }
  }

  /**
   * Every ADAPT_MS: weak (loss over 8 % in the server's receiver reports, or, once warmed up, a
   * bandwidth estimate under STARVED_BPS) twice in a row -> one step down (cap, 1/2, 1/4, no
   * video); good five times in a row -> one step up. ``level`` 0 = full, 1-2 = lowered, 3 =
   * video off (audio only). A still screen sends little, so a modest estimate alone is no sign.
   */
  async adapt(peer) {
    if (peer.closed) return;
    const q = await quality(peer.pc);
    const steps = [1, 0.5, 0.25];
    peer.since ??= performance.now();
    const warm = performance.now() - peer.since > WARMUP_MS;
    const starved = warm && q.avail != null && q.avail < STARVED_BPS;
    const weak = (q.loss != null && q.loss > 0.08) || starved;
    const good = (q.loss == null || q.loss < 0.02) && (q.avail == null || !warm || q.avail > STARVED_BPS * 2);
    peer.weak = weak ? peer.weak + 1 : 0;
    peer.good = good ? peer.good + 1 : 0;
    peer.lastQuality = q;
    let level = peer.level;
    if (peer.weak >= 2 && level < 3) { level++; peer.weak = 0; }
    else if (peer.good >= 5 && level > 0) { level--; peer.good = 0; }
    if (level === peer.level) return;
    peer.level = level;
    const bps = level < 3 ? Math.max(MIN_VIDEO_BPS, peer.cap * steps[level]) : MIN_VIDEO_BPS;
    for (const s of peer.pc.getSenders()) if (s.track?.kind === 'video') await this.setVideo(peer, s, bps, level < 3);
    this.hooks.onQuality?.(peer, level);
  }

  /** What tests and the panel read: per peer, its inbound and outbound RTP counters. */
  async stats() {
    const out = [];
    for (const p of this.peers.values()) {
      const rep = await p.pc.getStats();
      const inbound = [], outbound = [];
      rep.forEach((r) => {
        if (r.type === 'inbound-rtp') inbound.push(pick(r, ['kind', 'packetsReceived', 'bytesReceived', 'framesDecoded', 'keyFramesDecoded', 'frameWidth', 'frameHeight', 'totalSamplesReceived', 'audioLevel', 'packetsLost']));
        if (r.type === 'outbound-rtp') outbound.push(pick(r, ['kind', 'packetsSent', 'bytesSent', 'framesEncoded', 'frameWidth', 'frameHeight']));
      });
      out.push({ id: p.id, kind: p.kind, source: p.source, owner: p.owner ?? null, stream: p.stream && p.kind === 'sub' ? p.stream : null,
        state: p.pc.connectionState, level: p.level ?? 0, inbound, outbound });
    }
    return out;
  }
}

function pick(r, keys) { const o = {}; for (const k of keys) if (r[k] !== undefined) o[k] = r[k]; return o; }

export function iceServers(cfg) {
  return (cfg.iceServers || []).map((s) => (s.username ? { urls: s.urls, username: s.username, credential: s.credential } : { urls: s.urls }));
}

/** {loss: 0..1 (the server's receiver report, video), avail: bits/s the browser thinks it can send}. */
export async function quality(pc) {
  let loss = null, avail = null;
  try {
    const rep = await pc.getStats();
    rep.forEach((r) => {
      if (r.type === 'remote-inbound-rtp' && r.kind === 'video' && typeof r.fractionLost === 'number') loss = Math.max(loss ?? 0, r.fractionLost);
      if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded' && typeof r.availableOutgoingBitrate === 'number') avail = r.availableOutgoingBitrate;
    });
  } catch (e) { /* closed */ }
  return { loss, avail };
}

/** Audio level (0..1) of each received audio track, by subscription id (getStats audioLevel). */
export async function receivedLevels(peers) {
  const out = new Map();
  for (const p of peers) {
    if (p.kind !== 'sub' || p.closed) continue;
    try {
      const rep = await p.pc.getStats();
      rep.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'audio' && typeof r.audioLevel === 'number') out.set(p.id, r.audioLevel); });
    } catch (e) { /* closed meanwhile */ }
  }
  return out;
}
