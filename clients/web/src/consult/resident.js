// The consultation desk for residents: pick a department and a topic, take a numbered ticket,
// follow its place in the queue, and be called into a booth (a modal, a chime, a flash and an
// assertive announcement, so nobody misses it). Also the booths' 相談中 state in the 3D view and
// the procedure cards staff push. Events: server/protocol/consult_events.py.
import './panels.css';
import { t, getLang } from '../i18n.js';
import { mountStaff } from './staff.js';

const $ = (id) => document.getElementById(id);

/** A button with text (and an optional hint line), big enough for a thumb at every text size. */
export function bigButton(text, hint, cls = '') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'btn cbtn ' + cls;
  const main = document.createElement('span');
  main.textContent = text;
  b.appendChild(main);
  if (hint) { const h = document.createElement('small'); h.textContent = hint; b.appendChild(h); }
  return b;
}

export const nameOf = (o) => (o && (o.name[getLang()] || o.name.ja)) || '';

export function mountConsult({ S, getNet, world, toast, showError, zoneName }) {
  const C = {
    catalogue: null, booths: {}, ticket: null, invite: null, card: null, dept: null,
    announced: '', invitedAt: null, chimes: 0,
  };
  // --- DOM: a toolbar button, the ticket card, the desk dialog, the invitation dialog, a live region
  const tb = document.querySelector('.toolbar');
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.id = 'btn-desk';
  btn.className = 'btn';
  btn.setAttribute('aria-haspopup', 'dialog');
  btn.innerHTML = '<svg aria-hidden="true" viewBox="0 0 24 24" class="ico"><path d="M5 3h14v4H5zm-2 6h18v3H3zm2 5h14v7H5z" fill="currentColor"/></svg><span></span>';
  tb.insertBefore(btn, $('btn-chat'));

  const card = document.createElement('section');
  card.id = 'consult-card';
  card.className = 'consult-card';
  card.hidden = true;
  card.setAttribute('aria-labelledby', 'consult-card-title');
  $('world').appendChild(card);

  const live = document.createElement('div');
  live.id = 'consult-announce';
  live.className = 'sr-only';
  live.setAttribute('aria-live', 'assertive');
  live.setAttribute('role', 'alert');
  $('world').appendChild(live);

  const flash = document.createElement('div');
  flash.className = 'consult-flash';
  flash.hidden = true;
  flash.setAttribute('aria-hidden', 'true');
  $('world').appendChild(flash);

  const desk = document.createElement('dialog');
  desk.id = 'dlg-desk';
  desk.className = 'dlg dlg-desk';
  desk.setAttribute('aria-labelledby', 'desk-title');
  $('world').appendChild(desk);

  const inv = document.createElement('dialog');
  inv.id = 'dlg-invite';
  inv.className = 'dlg dlg-invite';
  inv.setAttribute('role', 'alertdialog');
  inv.setAttribute('aria-labelledby', 'invite-title');
  inv.setAttribute('aria-describedby', 'invite-body');
  $('world').appendChild(inv);

  btn.addEventListener('click', openDesk);

  // --- the socket ---
  function wire(net) {
    net.on('queue.ticket', (m) => setTicket(m));
    net.on('queue.invite', (m) => invited(m));
    net.on('booth.state', (m) => setBooth(m));
    net.on('booth.card', (m) => { C.card = m; render(); announce(t('consult.cardArrived', { title: m.title })); });
    net.on('booth.notice', (m) => notice(m));
  }
  /** On (re)join: the catalogue and every booth's sign (desk.info); the HTTP catalogue if that fails. */
  async function joined() {
    const net = getNet();
    const ack = await net.request('desk.info', {});
    if (ack.ok) {
      C.catalogue = ack.catalogue;
      for (const b of ack.booths) setBooth(b);
    } else if (!C.catalogue) {
      try { C.catalogue = await (await fetch(new URL('api/consult/catalogue', document.baseURI))).json(); } catch (e) { /* offline */ }
    }
    render();
  }

  function setBooth(m) {
    if (!m || !m.booth) return;
    C.booths[m.booth] = m;
    world()?.setBoothLocked(m.booth, !!m.locked);
    staff?.boothChanged();
  }

  function setTicket(m) {
    if (!m) return;
    const was = C.ticket;
    if (['done', 'left', 'expired'].includes(m.state)) {
      C.ticket = null;
      C.invite = null;
      if (inv.open) inv.close();
      if (m.state === 'expired') announce(t('consult.expired', { code: codeOf(m) }));
    } else {
      C.ticket = m;
      if (m.state === 'waiting' && was && was.state === 'called') { // recalled: the invitation lapsed once
        C.invite = null;
        if (inv.open) inv.close();
        announce(t('consult.recalled'));
      }
    }
    render();
  }

  const codeOf = (m) => (m.code ? (m.code[getLang()] || m.code.ja) : m.ticket);
  const boothName = (id) => zoneName(S.plan, id);

  // --- the invitation: impossible to miss, easy to accept ---
  function invited(m) {
    C.invite = m;
    C.invitedAt = performance.now();
    if (C.ticket && C.ticket.ticket === m.ticket) C.ticket = { ...C.ticket, state: 'called', booth: m.booth };
    render();
    inv.replaceChildren();
    const h = document.createElement('h2');
    h.id = 'invite-title';
    h.textContent = t('consult.inviteTitle');
    const code = document.createElement('p');
    code.className = 'ticket-code';
    code.textContent = codeOf(m);
    const body = document.createElement('p');
    body.id = 'invite-body';
    body.className = 'invite-body';
    body.textContent = t('consult.inviteBody', { booth: boothName(m.booth) });
    const go = bigButton(t('consult.accept'), t('consult.acceptHint', { booth: boothName(m.booth) }), 'btn-primary cbtn-huge');
    go.id = 'invite-accept';
    go.addEventListener('click', accept);
    const later = document.createElement('button');
    later.type = 'button';
    later.className = 'btn btn-quiet';
    later.textContent = t('consult.later');
    later.addEventListener('click', () => inv.close());
    inv.append(h, code, body, go, later);
    if (!inv.open) inv.showModal();
    go.focus();
    announce(t('consult.inviteAnnounce', { code: codeOf(m), booth: boothName(m.booth) }));
    chime();
    flashScreen();
  }
  async function accept() {
    const m = C.invite;
    if (!m) return;
    const ack = await getNet().request('invite.accept', { ticket: m.ticket });
    if (!ack.ok) return; // the HUD shows the server's error (error event)
    if (inv.open) inv.close();
    C.invite = null;
    setTicket(ack.ticket);
    toast(t('consult.walking', { booth: boothName(m.booth) }));
    world()?.canvas.focus();
  }

  function announce(text) {
    // the same text twice is still announced: clear first, set on the next frame
    live.textContent = '';
    requestAnimationFrame(() => { live.textContent = text; C.announced = text; });
  }
  function chime() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      const ac = chime.ac || (chime.ac = new Ctx());
      ac.resume?.();
      const t0 = ac.currentTime + 0.02;
      // ピンポーン: two clear tones, twice, loud enough over a television
      [[880, 0], [659, 0.35], [880, 1.0], [659, 1.35]].forEach(([f, dt]) => {
        const o = ac.createOscillator(), g = ac.createGain();
        o.type = 'sine';
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, t0 + dt);
        g.gain.exponentialRampToValueAtTime(0.5, t0 + dt + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t0 + dt + 0.6);
        o.connect(g).connect(ac.destination);
        o.start(t0 + dt);
        o.stop(t0 + dt + 0.65);
      });
      C.chimes++;
    } catch (e) { /* no audio: the modal, the flash and the announcement remain */ }
  }
  function flashScreen() {
    flash.hidden = false;
    flash.classList.remove('on');
    void flash.offsetWidth; // restart the animation
    flash.classList.add('on');
    clearTimeout(flashScreen.timer);
    flashScreen.timer = setTimeout(() => { flash.hidden = true; flash.classList.remove('on'); }, 3000);
  }

  function notice(m) {
    const key = 'consult.notice.' + m.kind;
    const text = t(key, { booth: boothName(m.booth) });
    if (text !== key) { toast(text); announce(text); }
    if (m.kind === 'closed' || m.kind === 'removed') { C.card = null; render(); }
  }

  // --- the desk dialog: departments -> topics -> a ticket ---
  function openDesk() {
    C.dept = null;
    renderDesk();
    if (!desk.open) desk.showModal();
  }
  function renderDesk() {
    desk.replaceChildren();
    const h = document.createElement('h2');
    h.id = 'desk-title';
    const list = document.createElement('div');
    list.className = 'desk-list';
    const cat = C.catalogue;
    if (C.ticket) {
      h.textContent = t('consult.deskTitle');
      const p = document.createElement('p');
      p.textContent = t('consult.haveTicket', { code: codeOf(C.ticket) });
      list.appendChild(p);
    } else if (!cat) {
      h.textContent = t('consult.deskTitle');
      const p = document.createElement('p');
      p.textContent = t('consult.loading');
      list.appendChild(p);
    } else if (!C.dept) {
      h.textContent = t('consult.pickDept');
      list.appendChild(checkinForm());
      for (const d of cat.departments) {
        const b = bigButton(nameOf(d), t('consult.topicsCount', { n: d.topics.length }));
        b.dataset.dept = d.id;
        b.addEventListener('click', () => { C.dept = d; renderDesk(); desk.querySelector('.desk-list button')?.focus(); });
        list.appendChild(b);
      }
    } else {
      h.textContent = t('consult.pickTopic', { dept: nameOf(C.dept) });
      for (const tp of C.dept.topics) {
        const b = bigButton(nameOf(tp), t('consult.minutes', { n: tp.minutes }));
        b.dataset.topic = tp.id;
        b.addEventListener('click', () => take(tp));
        list.appendChild(b);
      }
      const back = document.createElement('button');
      back.type = 'button';
      back.className = 'btn btn-quiet';
      back.textContent = t('consult.back');
      back.addEventListener('click', () => { C.dept = null; renderDesk(); desk.querySelector('.desk-list button')?.focus(); });
      list.appendChild(back);
    }
    const close = document.createElement('form');
    close.method = 'dialog';
    close.innerHTML = '<button class="btn"></button>';
    close.firstChild.textContent = t('goto.close');
    desk.append(h, list, close);
  }
  /** "I have a reservation": the code becomes a priority ticket (queue.checkin). */
  function checkinForm() {
    const f = document.createElement('form');
    f.className = 'desk-checkin';
    f.innerHTML = '<label><span></span><input name="code" autocomplete="off" autocapitalize="characters" maxlength="24" inputmode="text"></label><button class="btn btn-primary" type="submit"></button><p class="desk-checkin-error" role="alert"></p>';
    f.querySelector('span').textContent = t('consult.checkinLabel');
    f.querySelector('button').textContent = t('consult.checkinButton');
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      const code = f.elements.code.value.trim();
      if (!code) return;
      const ack = await getNet().request('queue.checkin', { code });
      if (!ack.ok) { f.querySelector('.desk-checkin-error').textContent = errorLine(ack.error); return; }
      setTicket(ack.ticket);
      desk.close();
      announce(t('consult.taken', { code: codeOf(ack.ticket) }));
      card.querySelector('button')?.focus();
    });
    return f;
  }
  function errorLine(err) {
    const code = err && err.code;
    const key = 'error.' + code;
    const s = t(key);
    return s === key ? t('consult.checkinFailed') : s;
  }
  async function take(tp) {
    const ack = await getNet().request('queue.take', { topic: tp.id });
    if (!ack.ok) return;
    setTicket(ack.ticket);
    desk.close();
    announce(t('consult.taken', { code: codeOf(ack.ticket) }));
    card.querySelector('button')?.focus();
  }
  async function leave() {
    if (!C.ticket) return;
    const ack = await getNet().request('queue.leave', {});
    if (ack.ok) { C.ticket = null; C.invite = null; render(); toast(t('consult.left')); }
  }

  // --- the ticket card (always on screen while there is something to show) ---
  function render() {
    btn.querySelector('span').textContent = t('consult.button');
    card.replaceChildren();
    const tk = C.ticket;
    const atDesk = S.zone === 'infodesk';
    card.hidden = !(tk || C.card || atDesk || C.nearLocked);
    card.dataset.state = tk ? tk.state : C.card ? 'card' : 'desk';
    if (tk) {
      const title = document.createElement('h2');
      title.id = 'consult-card-title';
      title.textContent = t('consult.yourNumber');
      const code = document.createElement('p');
      code.className = 'ticket-code';
      code.id = 'ticket-code';
      code.textContent = codeOf(tk);
      const info = document.createElement('p');
      info.className = 'ticket-info';
      info.id = 'ticket-info';
      if (tk.state === 'waiting') {
        info.textContent = tk.position === 1 ? t('consult.next') : t('consult.position', { n: tk.position ?? '—' });
        if (tk.eta_s != null) info.textContent += ' ' + t('consult.eta', { n: Math.max(1, Math.round(tk.eta_s / 60)) });
      } else if (tk.state === 'called') info.textContent = t('consult.called', { booth: boothName(tk.booth) });
      else if (tk.state === 'serving') info.textContent = t('consult.serving', { booth: boothName(tk.booth) });
      card.append(title, code, info);
      if (tk.state === 'called' && C.invite) {
        const go = bigButton(t('consult.accept'), null, 'btn-primary');
        go.addEventListener('click', accept);
        card.appendChild(go);
      }
      if (tk.state !== 'serving') {
        const lv = document.createElement('button');
        lv.type = 'button';
        lv.id = 'ticket-leave';
        lv.className = 'btn btn-quiet';
        lv.textContent = t('consult.leave');
        lv.addEventListener('click', leave);
        card.appendChild(lv);
      }
    } else if (atDesk && !C.card) {
      const title = document.createElement('h2');
      title.id = 'consult-card-title';
      title.textContent = t('consult.deskWelcome');
      const b = bigButton(t('consult.takeTicket'), null, 'btn-primary');
      b.id = 'desk-open';
      b.addEventListener('click', openDesk);
      card.append(title, b);
    }
    if (C.nearLocked && !(tk && tk.state === 'serving')) {
      // at the closed door of a booth in use: knock, and the staff member inside admits or declines
      const p = document.createElement('p');
      p.className = 'ticket-info';
      p.textContent = t('consult.lockedHere', { booth: boothName(C.nearLocked) });
      const k = bigButton(t('consult.knock'), null, 'btn-quiet');
      k.id = 'booth-knock';
      k.dataset.booth = C.nearLocked;
      k.addEventListener('click', async () => {
        const ack = await getNet().request('booth.knock', { booth: k.dataset.booth });
        if (ack.ok) { toast(t('consult.knocked')); announce(t('consult.knocked')); }
      });
      card.append(p, k);
    }
    if (C.card) {
      const a = document.createElement('a');
      a.className = 'btn btn-primary cbtn card-link';
      a.id = 'procedure-card';
      a.href = C.card.url; // https or a site path only: the server's protocol checks it
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      const s1 = document.createElement('span'); s1.textContent = C.card.title;
      const s2 = document.createElement('small'); s2.textContent = t('consult.cardOpen');
      a.append(s1, s2);
      card.appendChild(a);
    }
  }

  /** The locked booth whose door I stand at (within 3 m, outside it), or null. */
  function lockedDoorNear() {
    const me = S.me && getNet()?.avatars.get(S.me.id);
    if (!me || !S.plan || me.x === undefined) return null;
    for (const d of S.plan.doors || []) {
      const b = C.booths[d.zone];
      if (!b || !b.locked || S.zone === d.zone) continue;
      const mx = (d.a[0] + d.b[0]) / 2, my = (d.a[1] + d.b[1]) / 2;
      if (Math.hypot(me.x - mx, me.y - my) < 3) return d.zone;
    }
    return null;
  }

  const staff = mountStaff({ S, getNet, C, toast, zoneName, announce });

  return {
    wire, joined, render,
    onZone() { render(); staff?.zoneChanged(); },
    tick() {
      staff?.tick();
      const z = lockedDoorNear();
      if (z !== C.nearLocked) { C.nearLocked = z; render(); }
    },
    /** The 3D view came after desk.info: give them the booths' state. */
    syncWorld() { for (const b of Object.values(C.booths)) setBooth(b); },
    refresh() { render(); staff?.refresh(); if (desk.open) renderDesk(); },
    state() {
      return { ticket: C.ticket, invite: C.invite, booths: C.booths, card: C.card, announced: C.announced, chimes: C.chimes,
        staff: staff ? staff.state() : null };
    },
  };
}
