// The event hall's meeting tools (issue #18): a panel shown while the visitor is in the hall
// zone, following the hall room's state (`room` / `room_patch`): who presents, the question on
// the screen, the agenda and its timer, the open poll, reactions and the questions. The
// presenter and co-presenters (my avatar id against `presenter` / `copresenters`) get the
// moderating controls; staff can take a free stage. Server: server/rooms/hall.py,
// server/protocol/hall_events.py. The spectator page (hall-watch.html, watch.js) reuses the views.
import './tools.css';
import { getLang } from '../i18n.js';
import { h, el, btn, setLabel, syncClock } from './util.js';
import { makeAgenda } from './agenda.js';
import { makeQuestions } from './questions.js';
import { makePoll } from './poll.js';
import { makeReactions } from './reactions.js';
import { makeStage } from './stage.js';

const $ = (id) => document.getElementById(id);

/** A link to the spectator page (no avatar, no name): in the panel, and wherever the server
 * answered `busy` (a full hall or node). */
export function watchLink(id = 'hall-watch-link') {
  const a = el('a', 'ht-watch-link', { id, href: `./hall-watch.html?lang=${getLang()}`, target: '_blank', rel: 'noopener' });
  a.textContent = h('watch.link');
  return a;
}
export function offerHallWatch(after) {
  if (!after || document.getElementById('hall-watch-offer')) return;
  const p = el('p', 'ht-busy', { id: 'hall-watch-offer' });
  p.append(h('watch.busy'), ' ', watchLink('hall-watch-busy'));
  after.after(p);
}

export function mountHallTools({ S, getNet, toast }) {
  const panel = el('section', 'ht-panel', { id: 'hall-panel', hidden: true, 'aria-labelledby': 'hall-panel-title' });
  const head = el('div', 'ht-panel-head');
  const title = el('h2', 'ht-panel-title', { id: 'hall-panel-title' });
  const bToggle = btn('hall-toggle', '', 'btn-quiet ht-toggle');
  bToggle.setAttribute('aria-controls', 'hall-body');
  head.append(title, bToggle);
  const msg = el('p', 'ht-msg', { id: 'hall-msg', role: 'status', 'aria-live': 'polite' });
  const body = el('div', 'ht-body', { id: 'hall-body' });
  panel.append(head, msg, body);

  const H = { room: null, state: null, stale: null, collapsed: false, said: [] };
  const meId = () => S.me?.id ?? null;
  const ctx = {
    room: () => H.room,
    send: (ev, data) => getNet()?.request(ev, data) ?? Promise.resolve({ ok: false, error: { code: 'offline' } }),
    emit: (ev, data) => getNet()?.emit(ev, data),
    say,
    show: () => H.state?.show || null,
    nameOf: (id) => (id == null ? '' : id === meId() ? h('me') : getNet()?.avatars.get(id)?.name || h('someone')),
    people: () => [...(getNet()?.avatars.values() || [])].filter((a) => a.zone === H.room)
      .map((a) => ({ id: a.id, name: a.name, staff: a.role === 'staff' })),
  };
  const stage = makeStage(ctx);
  const questions = makeQuestions(ctx);
  const agenda = makeAgenda(ctx);
  const poll = makePoll(ctx);
  const reactions = makeReactions(ctx);
  const foot = el('p', 'ht-foot');
  const footText = el('span');
  const link = watchLink();
  foot.append(footText, ' ', link);
  body.append(stage.el, questions.screenEl, agenda.el, poll.el, reactions.el, questions.el, foot);
  $('world').appendChild(panel);

  bToggle.addEventListener('click', () => { H.collapsed = !H.collapsed; render(); });

  let sayTimer = null;
  function say(text, alert = false) {
    H.said.push(text);
    if (H.said.length > 12) H.said.shift();
    if (panel.hidden || H.collapsed) { toast?.(text); return; }
    msg.textContent = text;
    msg.classList.toggle('ht-alert', !!alert);
    clearTimeout(sayTimer);
    sayTimer = setTimeout(() => { msg.textContent = ''; }, alert ? 10000 : 6000);
  }

  function role() {
    const st = H.state || {};
    const me = meId();
    const presenter = me != null && st.presenter === me;
    const mod = presenter || (me != null && (st.copresenters || []).includes(me));
    return { me, staff: !!(S.me?.principal && S.me.principal.kind !== 'resident'), presenter, mod, ro: false };
  }

  /** The hall room of the zone we are in, unless it is the state we had before walking out
   * (its fresh `room` is on its way). */
  function follow() {
    const net = getNet();
    const r = S.zone && net?.rooms.get(S.zone);
    const ok = r && r.type === 'hall' && r !== H.stale;
    if (!ok && H.room && net) H.stale = net.rooms.get(H.room) || null; // walked out: that state is old now
    H.room = ok ? S.zone : null;
    H.state = ok ? r.state : null;
    render();
  }

  function render() {
    const shown = !!H.state;
    if (panel.hidden === shown) { panel.hidden = !shown; if (shown) syncClock(); }
    title.textContent = h('title');
    setLabel(bToggle, h(H.collapsed ? 'open' : 'fold'));
    bToggle.setAttribute('aria-expanded', String(!H.collapsed));
    body.hidden = H.collapsed;
    panel.classList.toggle('ht-collapsed', H.collapsed);
    if (!shown) return;
    const r = role();
    panel.dataset.role = r.presenter ? 'presenter' : r.mod ? 'copresenter' : 'attendee';
    stage.render(H.state, r);
    questions.render(H.state, r);
    agenda.render(H.state, r);
    poll.render(H.state, r);
    reactions.render(H.state, r);
    footText.textContent = h('watch.hint');
    link.textContent = h('watch.link');
    link.href = `./hall-watch.html?lang=${getLang()}`;
  }
  // the people in the hall change without a patch: the presenter's co-presenter list follows
  setInterval(() => { if (H.state && role().presenter) stage.render(H.state, role()); }, 1500);

  return {
    wire(net) {
      net.on('room', () => follow());
      net.on('room_patch', (m) => { if (m && m.room === H.room) follow(); });
      net.on('zone', () => follow());
      net.on('error', (m) => { if (m && m.code === 'busy') offerHallWatch($('alert-text')); });
    },
    joined: () => { H.stale = null; follow(); },
    refresh: () => { render(); },
    state: () => ({
      room: H.room, shown: !panel.hidden, collapsed: H.collapsed, role: H.state ? role() : null,
      presenter: H.state?.presenter ?? null, copresenters: H.state?.copresenters || [],
      agenda: agenda.state(), questions: questions.state(), poll: poll.state(), reactions: reactions.state(),
      summary: stage.state(), msg: msg.textContent, said: H.said.slice(),
    }),
  };
}
