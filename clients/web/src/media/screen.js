// Screen sharing: getDisplayMedia, published as source "screen"; while it runs a red
// 「画面共有中」 strip with a big stop button stays on top, and the browser's own "stop sharing"
// ends it too. The received screens (and cameras) play as <video> in the media stage.
import { t } from '../i18n.js';
import { MediaError } from './rtc.js';

const DISPLAY = { video: { frameRate: { ideal: 15, max: 30 }, width: { max: 1920 }, height: { max: 1080 } }, audio: false };

/** Phones and tablets view only: no screen share where there is no fine pointer or no API. */
export function canShareScreen() {
  if (!navigator.mediaDevices?.getDisplayMedia) return false;
  if (new URLSearchParams(location.search).has('touch')) return false;
  const mm = (q) => window.matchMedia(q).matches;
  return !(mm('(pointer: coarse)') && !mm('(any-pointer: fine)'));
}

export function makeScreen({ rtc, M, getRoom, changed, say, nameOf }) {
  const X = { pub: null, stream: null, starting: false, level: 0 };
  M.screen = X;

  // the strip: impossible to forget that others see your screen
  const strip = document.createElement('div');
  strip.id = 'media-sharing';
  strip.className = 'md-sharing';
  strip.setAttribute('role', 'status');
  strip.hidden = true;
  strip.innerHTML = '<span class="md-rec" aria-hidden="true"></span><span class="md-sharing-text"><strong></strong><small></small></span>';
  const stopBtn = document.createElement('button');
  stopBtn.type = 'button';
  stopBtn.id = 'media-screen-stop';
  stopBtn.className = 'btn md-stop';
  stopBtn.addEventListener('click', () => stop());
  strip.appendChild(stopBtn);
  document.getElementById('world').appendChild(strip);

  async function start() {
    if (X.pub || X.starting) return;
    const room = getRoom();
    if (!room) return;
    X.starting = true;
    changed();
    try {
      X.stream = await navigator.mediaDevices.getDisplayMedia(DISPLAY);
      const tr = X.stream.getVideoTracks()[0];
      tr.addEventListener('ended', () => { if (X.pub || X.starting) { stop(); say(t('media.screenStopped')); } }); // the browser's own stop
      const pub = await rtc.publish(room, 'screen', X.stream);
      if (getRoom() !== room || !X.stream) { (getRoom() === room ? rtc.stop(pub.id) : rtc.close(pub.id)); throw new MediaError('left'); }
      X.pub = pub;
      X.level = 0;
      say(t('media.sharingSaid'));
    } catch (e) {
      release();
      if (e && e.name === 'NotAllowedError') say(t('media.screenCancelled'));
      else if (!(e instanceof MediaError && e.code === 'left')) say(errorText(e), true);
    } finally {
      X.starting = false;
      changed();
    }
  }
  function stop(tell = true) {
    if (X.pub) (tell ? rtc.stop(X.pub.id) : rtc.close(X.pub.id));
    release();
    changed();
  }
  function release() {
    for (const tr of X.stream?.getTracks() || []) tr.stop();
    X.stream = null;
    X.pub = null;
  }
  function ended(peer) { if (X.pub && peer.id === X.pub.id) { release(); changed(); } }
  function lost() { if (X.pub || X.stream) { release(); changed(); } }
  /** The connection got weak (rtc.adapt): tell the sharer in plain words what the others see. */
  function quality(peer, level) {
    if (!X.pub || peer.id !== X.pub.id) return;
    const was = X.level;
    X.level = level;
    if (level === 3) say(t('media.weakOff'), true);
    else if (level > was) say(t('media.weak'));
    else if (level === 0) say(t('media.weakBack'));
    changed();
  }

  function render() {
    strip.hidden = !X.pub;
    strip.querySelector('strong').textContent = t('media.sharing');
    strip.querySelector('small').textContent = X.level === 3 ? t('media.weakOff') : t('media.sharingHint');
    stopBtn.textContent = t('media.screenStop');
  }

  /** The received screens and cameras, in ``box`` (the media stage), one figure each. */
  function renderViewers(box, subs) {
    const want = subs.filter((p) => p.remote.getVideoTracks().length);
    for (const fig of [...box.querySelectorAll('figure.md-video')]) if (!want.some((p) => p.id === fig.dataset.sub)) fig.remove();
    for (const p of want) {
      let fig = box.querySelector(`figure.md-video[data-sub="${p.id}"]`);
      if (!fig) {
        fig = document.createElement('figure');
        fig.className = 'md-video';
        fig.dataset.sub = p.id;
        fig.dataset.source = p.source;
        const v = document.createElement('video');
        v.autoplay = true;
        v.muted = true; // voices play from their own <audio>; a screen has no sound
        v.playsInline = true;
        v.srcObject = p.remote;
        v.addEventListener('loadedmetadata', () => v.play().catch(() => {}));
        fig.append(v, document.createElement('figcaption'));
        box.appendChild(fig);
      }
      const name = nameOf(p.owner);
      fig.querySelector('figcaption').textContent = t(p.source === 'screen' ? 'media.screenOf' : 'media.cameraOf', { name });
      fig.querySelector('video').setAttribute('aria-label', fig.querySelector('figcaption').textContent);
    }
    return want.length;
  }

  return { X, start, stop, ended, lost, quality, render, renderViewers };
}

function errorText(e) {
  if (e instanceof MediaError) { const k = 'error.' + e.code; const s = t(k); return s === k ? t('media.failed') : s; }
  return t('media.failed');
}
