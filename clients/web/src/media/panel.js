// The media bar (voice state in plain words, big buttons: microphone, mute or push-to-talk,
// screen, document; who is speaking) and the media stage (shared screens and the document,
// large, and larger on request). Only what the room allows is offered (``allowed()``).
import { t } from '../i18n.js';

const el = (tag, cls, attrs = {}) => { const e = document.createElement(tag); if (cls) e.className = cls; Object.assign(e, attrs); return e; };
const ICON = {
  mic: '<svg aria-hidden="true" viewBox="0 0 24 24" class="ico"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9z" fill="currentColor"/></svg>',
  micOff: '<svg aria-hidden="true" viewBox="0 0 24 24" class="ico"><path d="M19 11a7 7 0 0 1-1.2 3.9l-1.4-1.4A5 5 0 0 0 17 11zM15 11V5a3 3 0 0 0-5.9-.8L15 10.1zM4.3 3 3 4.3l6 6V11a3 3 0 0 0 4.4 2.7l1.6 1.6A5 5 0 0 1 7 11H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 3.4-1.3l3.3 3.3 1.3-1.3z" fill="currentColor"/></svg>',
  screen: '<svg aria-hidden="true" viewBox="0 0 24 24" class="ico"><path d="M3 4h18v12H3zm2 2v8h14V6zM8 20h8v-2H8z" fill="currentColor"/></svg>',
  doc: '<svg aria-hidden="true" viewBox="0 0 24 24" class="ico"><path d="M6 2h8l5 5v15H6zm7 1.5V8h4.5zM8 12h8v1.5H8zm0 3h8v1.5H8z" fill="currentColor"/></svg>',
  hand: '<svg aria-hidden="true" viewBox="0 0 24 24" class="ico"><path d="M9 2a1.5 1.5 0 0 1 1.5 1.5V11h1V2.5a1.5 1.5 0 0 1 3 0V11h1V4.5a1.5 1.5 0 0 1 3 0V15a7 7 0 0 1-13.3 3L3.4 12.6a1.5 1.5 0 0 1 2.5-1.6L7.5 13V3.5A1.5 1.5 0 0 1 9 2z" fill="currentColor"/></svg>',
  big: '<svg aria-hidden="true" viewBox="0 0 24 24" class="ico"><path d="M3 3h7v2H5v5H3zm11 0h7v7h-2V5h-5zM3 14h2v5h5v2H3zm16 0h2v7h-7v-2h5z" fill="currentColor"/></svg>',
  sound: '<svg aria-hidden="true" viewBox="0 0 24 24" class="ico"><path d="M3 9h4l5-5v16l-5-5H3zm13.5 3a4.5 4.5 0 0 0-2.5-4v8a4.5 4.5 0 0 0 2.5-4z" fill="currentColor"/></svg>',
};

function button(id, cls = '') {
  const b = el('button', 'btn md-btn ' + cls, { type: 'button', id });
  b.innerHTML = '<span class="md-ico"></span><span class="md-label"></span>';
  return b;
}
/** Icon and text of a button, written only when they change (the room patches up to 10 times a second). */
function label(b, icon, text) {
  if (b.dataset.icon !== icon) { b.dataset.icon = icon; b.querySelector('.md-ico').innerHTML = ICON[icon] || ''; }
  const l = b.querySelector('.md-label');
  if (l.textContent !== text) l.textContent = text;
}

export function makePanel({ M, S, voice, screen, docs, allowed, nameOf, toast }) {
  const dock = el('div', 'md-dock', { id: 'media-dock', hidden: true });
  const bar = el('section', 'md-bar', { id: 'media-bar' });
  bar.setAttribute('aria-labelledby', 'media-bar-title');
  const top = el('div', 'md-top');
  const h = el('h2', 'md-title', { id: 'media-bar-title' });
  const stateLine = el('p', 'md-state', { id: 'media-state' });
  top.append(h, stateLine);
  const row = el('div', 'md-row');
  const bVoice = button('media-voice', 'btn-primary md-main');
  const bMute = button('media-mute');
  const bTalk = button('media-talk', 'md-talk');
  const bPtt = button('media-ptt', 'btn-quiet');
  const bScreen = button('media-screen');
  const bDoc = button('media-doc');
  const bListen = button('media-listen', 'btn-primary');
  row.append(bVoice, bMute, bTalk, bPtt, bScreen, bDoc, bListen);
  const people = el('ul', 'md-people', { id: 'media-people' });
  const msg = el('p', 'md-msg', { id: 'media-msg' });
  msg.setAttribute('role', 'status');
  msg.setAttribute('aria-live', 'polite');
  bar.append(top, row, people, msg);

  const stage = el('section', 'md-stage', { id: 'media-stage', hidden: true });
  stage.setAttribute('aria-labelledby', 'media-stage-title');
  const sHead = el('div', 'md-stage-head');
  const sTitle = el('h2', 'md-title', { id: 'media-stage-title' });
  const bBig = button('media-enlarge', 'btn-quiet');
  sHead.append(sTitle, bBig);
  const sBody = el('div', 'md-stage-body');
  const videos = el('div', 'md-videos');
  sBody.append(videos, docs.view);
  stage.append(sHead, sBody);
  dock.append(bar, stage);
  document.getElementById('world').appendChild(dock);

  bVoice.addEventListener('click', () => (M.voice.on ? voice.stop() : voice.start()));
  bMute.addEventListener('click', () => voice.setMuted(!M.voice.muted));
  bPtt.addEventListener('click', () => voice.setPtt(!M.voice.ptt));
  // push-to-talk: held with the mouse, a finger, or Space/Enter while the button has focus
  bTalk.addEventListener('pointerdown', (e) => { e.preventDefault(); bTalk.setPointerCapture?.(e.pointerId); voice.hold(true); });
  for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) bTalk.addEventListener(ev, () => voice.hold(false));
  bTalk.addEventListener('keydown', (e) => { if ((e.key === 'Enter' || e.key === ' ') && !e.repeat) { e.preventDefault(); voice.hold(true); } });
  bTalk.addEventListener('keyup', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); voice.hold(false); } });
  bTalk.addEventListener('contextmenu', (e) => e.preventDefault()); // a long press is not a menu
  bScreen.addEventListener('click', () => (M.screen.pub ? screen.stop() : screen.start()));
  bDoc.addEventListener('click', () => docs.pick()); // another file replaces the one shown; the stage has the stop
  bListen.addEventListener('click', () => voice.unblock());
  bBig.addEventListener('click', () => enlarge(!M.enlarged));
  videos.addEventListener('dblclick', () => enlarge(!M.enlarged)); // a double click or tap on a screen, too
  window.addEventListener('keydown', (e) => { if (e.key === 'Escape' && M.enlarged) { enlarge(false); bBig.focus(); } });

  function enlarge(on) {
    M.enlarged = on;
    stage.classList.toggle('md-enlarged', on);
    render();
  }

  let sayTimer = null;
  function say(text, alert = false) {
    M.said.push(text);
    if (M.said.length > 10) M.said.shift();
    if (dock.hidden) { toast?.(text); return; } // out of the room already: the HUD's toast says it
    M.msg = text;
    msg.textContent = text;
    msg.classList.toggle('md-alert', !!alert);
    clearTimeout(sayTimer);
    sayTimer = setTimeout(() => { msg.textContent = ''; M.msg = ''; }, alert ? 12000 : 6000);
  }

  /** My voice in plain words: off, getting ready, on, muted, speaking. */
  function myState() {
    const V = M.voice;
    if (V.starting) return 'starting';
    if (!V.on) return 'off';
    if (V.ptt && !V.held) return 'ptt';
    if (!V.ptt && V.muted) return 'muted';
    return V.speaking ? 'speaking' : 'on';
  }

  function render() {
    const a = allowed();
    // the hall's audience sees the bar once there is something to hear or see
    const busy = a.voice || a.screen || a.doc || a.blocked || M.voice.on || M.streams().length || M.doc.shown || M.audioBlocked;
    dock.hidden = !(a.show && busy);
    screen.render();
    if (dock.hidden) return;
    const V = M.voice;
    const st = myState();
    h.textContent = t('media.title');
    stateLine.dataset.state = st;
    stateLine.textContent = a.voice || V.on ? t('media.state.' + st) : t(a.blocked ? 'media.blocked' : 'media.listenOnly');
    if (V.mutedSpeaking) stateLine.textContent += ' — ' + t('media.mutedSpeaking');

    bVoice.hidden = !(a.voice || V.on);
    label(bVoice, V.on ? 'micOff' : 'mic', t(V.on ? 'media.micOff' : 'media.micOn'));
    bVoice.classList.toggle('btn-primary', !V.on);
    bVoice.disabled = V.starting;
    bVoice.setAttribute('aria-pressed', String(V.on));
    bMute.hidden = !V.on || V.ptt;
    label(bMute, V.muted ? 'micOff' : 'mic', t(V.muted ? 'media.unmute' : 'media.mute'));
    bMute.setAttribute('aria-pressed', String(V.muted));
    bMute.classList.toggle('md-on', V.muted);
    bTalk.hidden = !V.on || !V.ptt;
    label(bTalk, 'hand', t(V.held ? 'media.talking' : 'media.pttHold'));
    bTalk.setAttribute('aria-pressed', String(V.held));
    bTalk.setAttribute('aria-keyshortcuts', 'Space');
    bTalk.classList.toggle('md-on', V.held);
    bPtt.hidden = !V.on;
    label(bPtt, 'hand', t(V.ptt ? 'media.pttOff' : 'media.pttMode'));
    bPtt.setAttribute('aria-pressed', String(V.ptt));

    const sharing = !!M.screen.pub;
    bScreen.hidden = !(a.screen || sharing);
    label(bScreen, 'screen', t(sharing ? 'media.screenStop' : 'media.screenShare'));
    bScreen.classList.toggle('md-on', sharing);
    bScreen.disabled = M.screen.starting;
    bScreen.setAttribute('aria-pressed', String(sharing));
    const myDoc = !!M.doc.shown && M.doc.by === S.me?.id;
    bDoc.hidden = !(a.doc || myDoc);
    label(bDoc, 'doc', t(M.doc.uploading ? 'media.docUploading' : myDoc ? 'media.docAnother' : 'media.docShare'));
    bDoc.disabled = M.doc.uploading;
    bListen.hidden = !M.audioBlocked;
    label(bListen, 'sound', t('media.listen'));

    renderPeople();

    // the stage: received screens, then the document
    const subs = [...M.subs.values()].map((x) => x.peer).filter(Boolean);
    const nVideo = screen.renderViewers(videos, subs);
    docs.render();
    stage.hidden = !(nVideo || M.doc.shown);
    stage.classList.toggle('md-two', !!(nVideo && M.doc.shown));
    if (stage.hidden && M.enlarged) { M.enlarged = false; stage.classList.remove('md-enlarged'); }
    sTitle.textContent = t('media.stage');
    label(bBig, 'big', t(M.enlarged ? 'media.shrink' : 'media.enlarge'));
    bBig.setAttribute('aria-pressed', String(!!M.enlarged));
  }

  /** Everyone with a voice here, and what it is doing now. */
  function renderPeople() {
    const me = S.me?.id;
    const rows = [];
    if (M.voice.on) rows.push({ id: me, name: t('media.me'), state: myState() === 'ptt' ? 'muted' : myState() });
    for (const s of M.streams()) {
      if (s.source !== 'mic' || s.owner === me) continue;
      const name = nameOf.staff(s.owner) ? t('media.staffName', { name: nameOf(s.owner) }) : nameOf(s.owner);
      rows.push({ id: s.owner, name, state: s.muted ? 'muted' : M.speaking.has(s.owner) ? 'speaking' : 'on' });
    }
    const key = rows.map((r) => `${r.id}:${r.name}:${r.state}`).join('|') + t('media.people');
    if (people.dataset.key === key) return;
    people.dataset.key = key;
    people.replaceChildren();
    people.hidden = !rows.length;
    people.setAttribute('aria-label', t('media.people'));
    for (const r of rows) {
      const li = el('li', 'md-person');
      li.dataset.avatar = String(r.id);
      li.dataset.state = r.state;
      const dot = el('span', 'md-dot');
      dot.setAttribute('aria-hidden', 'true');
      const n = el('strong', null, { textContent: r.name });
      const s = el('span', 'md-person-state', { textContent: t('media.state.' + r.state) });
      li.append(dot, n, s);
      people.appendChild(li);
    }
  }

  return { render, say, dock, stage };
}
