// The staff console: one panel for a long day in a booth. The booth you stand in, its state and
// one big "call next" button; the queue board of the topics it serves, each ticket callable; who
// knocks (admit / decline) and who is inside (remove); a procedure card to push. Shortcuts with
// Alt so they never clash with walking (WASD, arrows) or typing: Alt+N call next, Alt+L lock or
// unlock, Alt+K admit the first knock, Alt+C the card, Alt+M open or close the console.
import { t, getLang } from '../i18n.js';

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; };

export function mountStaff({ S, getNet, C, toast, zoneName }) {
  const isStaff = () => !!(S.me && S.me.principal && S.me.principal.kind !== 'resident');
  const K = { board: null, knocks: [], open: false, last: '' };
  let wired = false;

  const btn = document.createElement('button');
  btn.type = 'button';
  btn.id = 'btn-staff';
  btn.className = 'btn';
  btn.hidden = true;
  btn.setAttribute('aria-controls', 'staff-console');
  btn.setAttribute('aria-expanded', 'false');
  btn.setAttribute('aria-keyshortcuts', 'Alt+M');
  document.querySelector('.toolbar').insertBefore(btn, $('btn-chat'));
  const panel = el('aside', 'staff-console');
  panel.id = 'staff-console';
  panel.hidden = true;
  panel.setAttribute('aria-labelledby', 'staff-title');
  $('world').appendChild(panel);
  btn.addEventListener('click', () => toggle());

  function toggle(on = !K.open) {
    K.open = on && isStaff();
    panel.hidden = !K.open;
    btn.setAttribute('aria-expanded', String(K.open));
    if (K.open) { subscribe(); render(); panel.querySelector('button')?.focus(); }
  }
  async function subscribe() {
    const net = getNet();
    if (!net) return;
    if (!wired) {
      wired = true;
      net.on('queue.board', (m) => { K.board = m; render(); });
      net.on('booth.knocked', (m) => {
        if (!K.knocks.some((k) => k.avatar === m.avatar && k.booth === m.booth)) K.knocks.push(m);
        toast(t('staff.knock', { who: who(m.avatar) }));
        render();
      });
    }
    const ack = await net.request('queue.board', {});
    if (ack.ok) { K.board = ack; render(); }
  }

  const booth = () => (S.zone && S.plan.zones.find((z) => z.id === S.zone && z.kind === 'booth') ? S.zone : null);
  const who = (id) => getNet()?.avatars.get(id)?.name || `#${id}`;
  const topicName = (id) => {
    for (const d of C.catalogue?.departments || []) for (const tp of d.topics) if (tp.id === id) return tp.name[getLang()] || tp.name.ja;
    return id;
  };
  const serves = (b) => new Set((C.catalogue?.departments || []).flatMap((d) => d.topics.filter((tp) => (tp.booths || []).includes(b)).map((tp) => tp.id)));

  async function act(ev, data, okText) {
    const ack = await getNet().request(ev, data);
    if (ack.ok) { if (okText) { K.last = okText; toast(okText); } }
    else K.last = t('error.' + (ack.error?.code || 'unknown'));
    render();
    return ack;
  }
  const callNext = () => booth() && act('queue.call', { booth: booth() }).then((a) => a.ok && say(t('staff.calledTicket', { code: a.ticket.code[getLang()] || a.ticket.ticket })));
  const call = (ticket) => booth() && act('queue.call', { booth: booth(), ticket }).then((a) => a.ok && say(t('staff.calledTicket', { code: a.ticket.code[getLang()] || a.ticket.ticket })));
  const say = (s) => { K.last = s; toast(s); render(); };
  function lockToggle() {
    const b = booth();
    if (!b) return;
    const locked = C.booths[b]?.locked;
    act(locked ? 'booth.unlock' : 'booth.lock', { booth: b }, t(locked ? 'staff.unlocked' : 'staff.locked'));
  }
  function admit(k, yes) {
    K.knocks = K.knocks.filter((q) => q !== k);
    act(yes ? 'booth.admit' : 'booth.decline', { booth: k.booth, avatar: k.avatar }, t(yes ? 'staff.admitted' : 'staff.declined', { who: who(k.avatar) }));
  }

  // a procedure card for the residents inside: built once, so typing survives the panel's updates
  const cardForm = el('form', 'sc-card');
  {
    const f = cardForm;
    f.appendChild(el('h3', null, ''));
    const ti = el('input');
    ti.id = 'card-title'; ti.maxLength = 80; ti.required = true; ti.setAttribute('aria-keyshortcuts', 'Alt+C');
    const u = el('input');
    u.id = 'card-url'; u.type = 'url'; u.maxLength = 500; u.required = true; u.placeholder = 'https://';
    const s = el('button', 'btn btn-small btn-primary');
    s.type = 'submit';
    s.id = 'card-send';
    f.append(ti, u, s);
    f.addEventListener('submit', (e) => {
      e.preventDefault();
      const b = booth();
      if (!b) return;
      act('booth.card', { booth: b, title: ti.value.trim(), url: u.value.trim() }, t('staff.cardSent')).then((a) => { if (a.ok) { ti.value = ''; u.value = ''; } });
    });
  }
  function labelCardForm() {
    cardForm.querySelector('h3').textContent = t('staff.card');
    const ti = cardForm.querySelector('#card-title');
    ti.setAttribute('aria-label', t('staff.cardTitle')); ti.placeholder = t('staff.cardTitle');
    cardForm.querySelector('#card-url').setAttribute('aria-label', t('staff.cardUrl'));
    cardForm.querySelector('#card-send').textContent = t('staff.cardSend');
  }

  function render() {
    btn.hidden = !isStaff();
    btn.textContent = t('staff.consoleShort');
    btn.title = t('staff.console');
    if (!K.open) return;
    const b = booth();
    // the panel is rebuilt on every change: keep the keyboard where it was
    const refocus = panel.contains(document.activeElement) ? document.activeElement.id : '';
    labelCardForm();
    panel.replaceChildren();
    const head = el('div', 'sc-head');
    const h = el('h2', null, t('staff.console'));
    h.id = 'staff-title';
    const close = el('button', 'btn btn-small btn-quiet', t('staff.close'));
    close.type = 'button';
    close.id = 'staff-close';
    close.addEventListener('click', () => toggle(false));
    head.append(h, close);
    panel.appendChild(head);
    const status = el('p', 'sc-status');
    status.id = 'staff-status';
    status.setAttribute('role', 'status');
    status.textContent = K.last;
    if (!b) {
      panel.appendChild(el('p', 'sc-hint', t('staff.goToBooth')));
      const row = el('div', 'sc-row sc-wrap');
      for (const z of S.plan.zones.filter((q) => q.kind === 'booth')) {
        const g = el('button', 'btn btn-small', zoneName(S.plan, z.id));
        g.type = 'button';
        g.dataset.booth = z.id;
        g.id = `staff-go-${z.id}`;
        g.addEventListener('click', () => getNet()?.goto(z.id));
        row.appendChild(g);
      }
      panel.append(row, status);
      const f = refocus && panel.querySelector('#' + refocus);
      if (f) f.focus();
      return;
    }
    const sign = C.booths[b] || { state: 'closed', locked: false };
    const sec = el('section', 'sc-booth');
    sec.appendChild(el('h3', null, zoneName(S.plan, b)));
    const st = el('p', 'sc-state', t('staff.state.' + sign.state));
    st.dataset.state = sign.state;
    st.id = 'staff-booth-state';
    sec.appendChild(st);
    const row = el('div', 'sc-row');
    const next = el('button', 'btn btn-primary sc-big', t('staff.callNext'));
    next.type = 'button';
    next.id = 'staff-call-next';
    next.setAttribute('aria-keyshortcuts', 'Alt+N');
    next.appendChild(el('kbd', null, 'Alt+N'));
    next.addEventListener('click', callNext);
    const lock = el('button', 'btn sc-big' + (sign.locked ? ' sc-on' : ''), t(sign.locked ? 'staff.unlock' : 'staff.lock'));
    lock.type = 'button';
    lock.id = 'staff-lock';
    lock.setAttribute('aria-pressed', String(!!sign.locked));
    lock.setAttribute('aria-keyshortcuts', 'Alt+L');
    lock.appendChild(el('kbd', null, 'Alt+L'));
    lock.addEventListener('click', lockToggle);
    row.append(next, lock);
    sec.appendChild(row);
    panel.append(sec, status);

    // knocks
    const mine = K.knocks.filter((k) => k.booth === b);
    if (mine.length) {
      const ks = el('section', 'sc-knocks');
      ks.appendChild(el('h3', null, t('staff.knocks')));
      for (const k of mine) {
        const r = el('div', 'sc-row');
        r.appendChild(el('span', 'sc-who', who(k.avatar)));
        const y = el('button', 'btn btn-small btn-primary', t('staff.admit'));
        y.type = 'button';
        y.id = `knock-admit-${k.avatar}`;
        y.addEventListener('click', () => admit(k, true));
        const n = el('button', 'btn btn-small', t('staff.decline'));
        n.type = 'button';
        n.id = `knock-decline-${k.avatar}`;
        n.addEventListener('click', () => admit(k, false));
        r.append(y, n);
        ks.appendChild(r);
      }
      panel.appendChild(ks);
    }

    // who is inside (my snapshot shows the booth's members even when it is locked)
    const net = getNet();
    const inside = net ? [...net.avatars.values()].filter((a) => a.zone === b && a.id !== S.me.id) : [];
    const ms = el('section', 'sc-members');
    ms.appendChild(el('h3', null, t('staff.inside', { n: inside.length })));
    for (const a of inside) {
      const r = el('div', 'sc-row');
      r.appendChild(el('span', 'sc-who', a.name || `#${a.id}`));
      const x = el('button', 'btn btn-small btn-quiet', t('staff.remove'));
      x.type = 'button';
      x.dataset.avatar = a.id;
      x.id = `remove-${a.id}`;
      x.addEventListener('click', () => { if (confirm(t('staff.removeConfirm', { who: a.name }))) act('booth.remove', { booth: b, avatar: a.id }, t('staff.removed', { who: a.name })); });
      r.appendChild(x);
      ms.appendChild(r);
    }
    panel.appendChild(ms);

    // the queue board: the topics this booth serves
    const topics = serves(b);
    const qs = el('section', 'sc-queue');
    qs.appendChild(el('h3', null, t('staff.queue')));
    const rows = (K.board?.topics || []).filter((tp) => topics.has(tp.topic) && tp.tickets.length);
    if (!rows.length) qs.appendChild(el('p', 'sc-hint', t('staff.queueEmpty')));
    for (const tp of rows) {
      const g = el('div', 'sc-topic');
      g.appendChild(el('h4', null, `${topicName(tp.topic)} (${tp.tickets.length})`));
      for (const tk of tp.tickets) {
        const r = el('div', 'sc-row sc-ticket');
        r.dataset.ticket = tk.ticket;
        r.appendChild(el('strong', null, tk.ticket));
        r.appendChild(el('span', null, t('staff.ticket.' + tk.state, { booth: tk.booth ? zoneName(S.plan, tk.booth) : '' }) + (tk.priority ? ' ★' : '')));
        if (tk.state === 'waiting') {
          const c = el('button', 'btn btn-small', t('staff.call'));
          c.type = 'button';
          c.id = `call-${tk.ticket}`;
          c.addEventListener('click', () => call(tk.ticket));
          r.appendChild(c);
        }
        g.appendChild(r);
      }
      qs.appendChild(g);
    }
    panel.appendChild(qs);

    panel.appendChild(cardForm);
    const f = refocus && panel.querySelector('#' + refocus);
    if (refocus && f) f.focus();
  }

  window.addEventListener('keydown', (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey || !isStaff() || S.screen !== 'world') return;
    const k = e.code;
    if (k === 'KeyM') toggle();
    else if (!K.open) return;
    else if (k === 'KeyN') callNext();
    else if (k === 'KeyL') lockToggle();
    else if (k === 'KeyK') { const q = K.knocks.find((x) => x.booth === booth()); if (q) admit(q, true); }
    else if (k === 'KeyC') $('card-title')?.focus();
    else return;
    e.preventDefault();
  });

  return {
    boothChanged: render,
    zoneChanged() { K.knocks = K.knocks.filter((k) => k.booth === booth()); render(); },
    refresh: render,
    /** Called about once a second: the list of who is inside follows people walking in and out. */
    tick() {
      const b = booth(), net = getNet();
      if (!K.open || !b || !net) return;
      const key = [...net.avatars.values()].filter((a) => a.zone === b).map((a) => a.id).join(',');
      if (key !== K.inside) { K.inside = key; render(); }
    },
    state: () => ({ open: K.open, booth: booth(), board: K.board, knocks: K.knocks, last: K.last }),
  };
}
