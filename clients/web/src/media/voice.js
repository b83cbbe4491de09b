// Voice: the microphone on and off, mute, push-to-talk (hold Space or the big button), the
// received voices played, and who is speaking: our own level from a WebAudio AnalyserNode (on a
// copy of the track, so "you are muted but speaking" can be said), the others' from getStats
// audioLevel of what we receive.
import { t } from '../i18n.js';
import { MediaError, receivedLevels } from './rtc.js';

const CONSTRAINTS = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true }, video: false };
const PTT_KEY = 'yakuba.media.ptt';
const LEVEL_MS = 200;
const SPEAK_LOCAL = 0.02; // RMS of the time-domain signal
const SPEAK_REMOTE = 0.02; // getStats audioLevel (0..1)
const HOLD_MS = 700; // "speaking" stays on this long after the last loud moment

export function makeVoice({ rtc, M, getRoom, getNet, changed, say }) {
  const V = {
    on: false, starting: false, want: false, muted: false, ptt: loadPtt(), held: false,
    pub: null, stream: null, speaking: false, mutedSpeaking: false,
  };
  M.voice = V;
  M.speaking = new Map(); // avatar id -> true while their voice is heard
  const lastLoud = new Map(); // avatar id (or 'me') -> time
  const box = document.createElement('div'); // received voices play here
  box.hidden = true;
  box.id = 'media-audio';
  document.body.appendChild(box);
  let ac = null, analyser = null, meterTrack = null, buf = null, timer = null;

  const track = () => V.stream?.getAudioTracks()[0] || null;
  const live = () => V.on && !!V.pub;
  /** The microphone is heard (not muted; with push-to-talk only while held). */
  const open = () => (V.ptt ? V.held : !V.muted);

  async function start() {
    if (V.on || V.starting) return;
    const room = getRoom();
    if (!room) return;
    V.starting = true;
    V.want = true;
    changed();
    say(t('media.micAsk'));
    try {
      if (!track() || track().readyState === 'ended') V.stream = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
      apply();
      const pub = await rtc.publish(room, 'mic', V.stream, { audioOnly: true });
      if (getRoom() !== room || !V.want) { (getRoom() === room ? rtc.stop(pub.id) : rtc.close(pub.id)); throw new MediaError('left'); }
      V.pub = pub;
      V.on = true;
      meter();
      if (!open()) sendMute();
      say(t(V.ptt ? 'media.pttReady' : 'media.micReady'));
    } catch (e) {
      V.want = false;
      release();
      if (!(e instanceof MediaError && e.code === 'left')) say(micError(e), true);
    } finally {
      V.starting = false;
      changed();
    }
  }

  /** The microphone off: the publication ends (``tell``: say so to the server; not when it
   * ended it already, as on leaving the room), the device is released. */
  function stop(tell = true) {
    V.want = false;
    if (V.pub) (tell ? rtc.stop(V.pub.id) : rtc.close(V.pub.id));
    release();
    changed();
  }
  function release() {
    V.on = false;
    V.pub = null;
    V.held = false;
    V.speaking = false;
    V.mutedSpeaking = false;
    for (const tr of V.stream?.getTracks() || []) tr.stop();
    meterTrack?.stop();
    meterTrack = null;
    analyser = null;
    V.stream = null;
  }
  /** Our publication ended on the server (or the connection dropped it). */
  function ended(peer) {
    if (V.pub && peer.id === V.pub.id) { release(); changed(); }
  }
  /** The socket came back: the server forgot our publication; publish again in the next room. */
  function lost() {
    if (!V.pub) return;
    V.pub = null;
    V.on = false;
    meterTrack?.stop();
    meterTrack = null;
    analyser = null;
  }

  function apply() { const tr = track(); if (tr) tr.enabled = open(); }
  function sendMute() { if (V.pub) getNet()?.emit('media.mute', { id: V.pub.id, muted: !open() }); }
  function setMuted(m) {
    if (V.muted === m && !V.ptt) return;
    V.muted = m;
    V.ptt = false;
    savePtt(false);
    apply();
    sendMute();
    say(t(m ? 'media.state.muted' : 'media.state.on'));
    changed();
  }
  function setPtt(on) {
    V.ptt = on;
    V.held = false;
    savePtt(on);
    apply();
    sendMute();
    say(t(on ? 'media.pttReady' : 'media.pttOffSaid'));
    changed();
  }
  function hold(on) {
    if (!V.ptt || !live() || V.held === on) return;
    V.held = on;
    apply();
    sendMute();
    changed();
  }

  // Space held = talk, when push-to-talk is on and the key is not typing or pressing a button
  function spaceTarget(el) {
    if (!el || el === document.body) return true;
    if (el.id === 'media-talk') return true;
    return !el.closest('input, textarea, select, button, a, [contenteditable], dialog');
  }
  window.addEventListener('keydown', (e) => {
    if (e.code !== 'Space' || !V.ptt || !live() || e.ctrlKey || e.altKey || e.metaKey || !spaceTarget(e.target)) return;
    e.preventDefault();
    if (!e.repeat) hold(true);
  });
  window.addEventListener('keyup', (e) => { if (e.code === 'Space' && V.held) { e.preventDefault(); hold(false); } });
  window.addEventListener('blur', () => hold(false));

  // --- levels ---
  function audioCtx() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!ac) ac = new Ctx();
    ac.resume?.().catch(() => {});
    return ac;
  }
  function meter() {
    const ctx = audioCtx();
    const tr = track();
    if (!ctx || !tr) return;
    meterTrack = tr.clone(); // enabled even while muted: we can tell someone they speak into a muted mic
    meterTrack.enabled = true;
    const src = ctx.createMediaStreamSource(new MediaStream([meterTrack]));
    analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    buf = new Float32Array(analyser.fftSize);
    src.connect(analyser);
  }
  function localLevel() {
    if (!analyser) return 0;
    analyser.getFloatTimeDomainData(buf);
    let s = 0;
    for (let i = 0; i < buf.length; i++) s += buf[i] * buf[i];
    return Math.sqrt(s / buf.length);
  }
  async function tick() {
    const now = performance.now();
    let dirty = false;
    const loud = (key, yes) => { if (yes) lastLoud.set(key, now); return now - (lastLoud.get(key) ?? -1e9) < HOLD_MS; };
    if (live()) {
      const lv = localLevel();
      const sp = loud('me', lv > SPEAK_LOCAL && open());
      const ms = loud('me-muted', lv > SPEAK_LOCAL * 1.5 && !open() && !V.ptt);
      if (sp !== V.speaking || ms !== V.mutedSpeaking) { V.speaking = sp; V.mutedSpeaking = ms; dirty = true; }
    }
    const subs = [...rtc.peers.values()].filter((p) => p.kind === 'sub' && p.source === 'mic');
    const levels = subs.length ? await receivedLevels(subs) : new Map();
    const next = new Map();
    for (const p of subs) if (loud(p.owner, (levels.get(p.id) || 0) > SPEAK_REMOTE)) next.set(p.owner, true);
    if (next.size !== M.speaking.size || [...next.keys()].some((k) => !M.speaking.has(k))) { M.speaking = next; dirty = true; }
    if (dirty) changed('levels');
  }
  function run(on) {
    if (!!timer === on) return;
    clearInterval(timer);
    timer = on ? setInterval(() => { tick().catch(() => {}); }, LEVEL_MS) : null;
    if (!on && M.speaking.size) M.speaking = new Map();
  }

  // --- received voices ---
  function attach(peer, tr) {
    if (tr.kind !== 'audio') return;
    audioCtx(); // created in a user gesture's wake: later levels and chimes may play
    const a = document.createElement('audio');
    a.autoplay = true;
    a.dataset.sub = peer.id;
    a.srcObject = new MediaStream([tr]);
    box.appendChild(a);
    peer.audioEl = a;
    a.play().catch(() => { M.audioBlocked = true; changed(); });
  }
  function detach(peer) { peer.audioEl?.remove(); peer.audioEl = null; }
  /** The "listen" button, when the browser held back sound until a click. */
  function unblock() {
    M.audioBlocked = false;
    audioCtx();
    for (const a of box.querySelectorAll('audio')) a.play().catch(() => { M.audioBlocked = true; });
    changed();
  }

  return { V, start, stop, ended, lost, setMuted, setPtt, hold, attach, detach, unblock, run, open };
}

function micError(e) {
  if (e instanceof MediaError) { const k = 'error.' + e.code; const s = t(k); return s === k ? t('media.failed') : s; }
  if (e && (e.name === 'NotAllowedError' || e.name === 'SecurityError')) return t('media.micDenied');
  if (e && (e.name === 'NotFoundError' || e.name === 'OverconstrainedError')) return t('media.micMissing');
  if (e && e.name === 'NotReadableError') return t('media.micBusy');
  return t('media.failed');
}
export { micError as mediaErrorText };

function loadPtt() { try { return localStorage.getItem(PTT_KEY) === '1'; } catch (e) { return false; } }
function savePtt(on) { try { localStorage.setItem(PTT_KEY, on ? '1' : '0'); } catch (e) { /* private mode */ } }
