// Questions: the one on the screen (big), the list with 👍 upvotes, the 「質問する」 form with
// 「匿名で質問する」, and for the presenter and co-presenters 「画面に出す」 and 「回答済み」.
// Events: hall.ask (ack {ok, id}), hall.upvote, hall.pick, hall.answered.
import { h, el, btn, icon, errText } from './util.js';

const QUESTION_MAX = 200; // server/protocol/hall_events.py QUESTION_MAX

export function makeQuestions(ctx) {
  // --- the question on the screen ---
  const screen = el('section', 'ht-card ht-onscreen', { id: 'hall-onscreen', 'aria-labelledby': 'hall-onscreen-title', hidden: true });
  const sTitle = el('h3', 'ht-h', { id: 'hall-onscreen-title' });
  const sText = el('p', 'ht-onscreen-text', { id: 'hall-onscreen-text' });
  const sMeta = el('p', 'ht-meta', { id: 'hall-onscreen-meta' });
  const sMod = el('div', 'ht-row');
  const bAnswered = btn('hall-onscreen-answered', '', 'btn-primary ht-grow', 'check');
  const bDown = btn('hall-onscreen-clear', '', 'btn-quiet');
  sMod.append(bAnswered, bDown);
  screen.append(sTitle, sText, sMeta, sMod);

  // --- the list and the form ---
  const sec = el('section', 'ht-card ht-questions', { id: 'hall-questions', 'aria-labelledby': 'hall-q-title' });
  const title = el('h3', 'ht-h', { id: 'hall-q-title' });
  const form = el('form', 'ht-ask', { id: 'hall-ask' });
  const lab = el('label', 'ht-label-block', { for: 'hall-ask-text' });
  const area = el('textarea', 'ht-input', { id: 'hall-ask-text', rows: 2, maxLength: QUESTION_MAX });
  const count = el('p', 'ht-hint', { id: 'hall-ask-count' });
  area.setAttribute('aria-describedby', 'hall-ask-count');
  const anonL = el('label', 'ht-check');
  const anon = el('input', null, { type: 'checkbox', id: 'hall-ask-anon' });
  const anonT = el('span');
  anonL.append(anon, anonT);
  const bAsk = btn('hall-ask-send', '', 'btn-primary ht-wide');
  bAsk.type = 'submit';
  form.append(lab, area, count, anonL, bAsk);
  const list = el('ul', 'ht-q-list', { id: 'hall-q-list' });
  const empty = el('p', 'ht-empty');
  sec.append(title, form, list, empty);

  let Q = [], onScreen = null, role = { ro: true }, key = '', sKey = '';
  const mine = new Set(); // ids of the questions I asked (this page)
  const voted = new Set(); // ids I upvoted (the server counts one vote each anyway)

  const send = async (ev, data, okText) => {
    const ack = await ctx.send(ev, { room: ctx.room(), ...data });
    if (!ack?.ok) ctx.say(errText(ack?.error?.code), true);
    else if (okText) ctx.say(okText);
    return ack;
  };
  const counter = () => { count.textContent = h('q.count', { n: QUESTION_MAX - area.value.length }); };
  area.addEventListener('input', counter);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = area.value.trim();
    if (!text) { ctx.say(h('q.emptyText'), true); area.focus(); return; }
    bAsk.disabled = true;
    const ack = await send('hall.ask', { text, anonymous: anon.checked }, h(anon.checked ? 'q.sentAnon' : 'q.sent'));
    bAsk.disabled = false;
    if (ack?.ok) { mine.add(ack.id); area.value = ''; counter(); render(null, role, true); }
  });
  bAnswered.addEventListener('click', () => send('hall.answered', { question: onScreen }));
  bDown.addEventListener('click', () => send('hall.pick', { question: null }));
  list.addEventListener('click', async (e) => {
    const b = e.target.closest('button[data-act]');
    if (!b) return;
    const id = Number(b.closest('li').dataset.q);
    if (b.dataset.act === 'up') {
      if (voted.has(id)) return;
      voted.add(id);
      render(null, role, true);
      const ack = await send('hall.upvote', { question: id }, h('q.upvoted'));
      if (!ack?.ok) { voted.delete(id); render(null, role, true); }
    } else if (b.dataset.act === 'pick') send('hall.pick', { question: id }, h('q.picked'));
    else if (b.dataset.act === 'answered') send('hall.answered', { question: id });
  });

  const who = (q) => (q.by ? h('q.by', { name: q.by }) : h('q.anonymous'));

  function renderScreen() {
    const q = Q.find((x) => x.id === onScreen);
    const k = JSON.stringify([q, role.mod, h('q.onScreen')]);
    if (k === sKey) return;
    sKey = k;
    screen.hidden = !q;
    if (!q) return;
    sTitle.textContent = h('q.onScreen');
    sText.textContent = q.text;
    const v = el('span', 'ht-votes');
    v.append(icon('agree'), el('span', null, { text: h('q.votes', { n: q.votes }) }));
    sMeta.replaceChildren(el('span', null, { text: who(q) }), ' · ', v);
    if (q.answered) sMeta.append(' · ', el('strong', 'ht-badge ht-done', { text: h('q.answered') }));
    screen.classList.toggle('ht-answered', q.answered);
    sMod.hidden = !role.mod;
    bAnswered.querySelector('.ht-label').textContent = h('q.markAnswered');
    bAnswered.hidden = q.answered;
    bDown.querySelector('.ht-label').textContent = h('q.takeDown');
  }

  function render(state, r, force = false) {
    if (state) { Q = Array.isArray(state.questions) ? state.questions : []; onScreen = state.on_screen ?? null; }
    role = r;
    renderScreen();
    const k = JSON.stringify([Q, onScreen, role.mod, role.ro, [...voted], [...mine], h('q.title')]);
    if (k === key && !force) return;
    key = k;
    form.hidden = role.ro;
    title.textContent = h('q.title') + (Q.length ? ` (${Q.length})` : '');
    lab.textContent = h('q.label');
    counter();
    anonT.textContent = h('q.anonymousAsk');
    bAsk.querySelector('.ht-label').textContent = h('q.ask');
    empty.textContent = h('q.empty');
    empty.hidden = !!Q.length;
    const focused = document.activeElement?.id; // a patch rebuilds the list: keep the keyboard's place
    list.replaceChildren(...Q.map(item));
    if (focused && !document.activeElement?.id) document.getElementById(focused)?.focus();
  }

  function item(q) {
    const li = el('li', 'ht-q' + (q.answered ? ' ht-answered' : '') + (q.id === onScreen ? ' ht-shown' : ''));
    li.dataset.q = String(q.id);
    const text = el('p', 'ht-q-text', { text: q.text });
    const meta = el('p', 'ht-meta');
    meta.append(el('span', 'ht-who', { text: mine.has(q.id) ? h('q.mine') : who(q) }));
    if (q.id === onScreen) meta.append(' · ', el('strong', 'ht-badge', { text: h('q.shownBadge') }));
    if (q.answered) meta.append(' · ', el('strong', 'ht-badge ht-done', { text: h('q.answered') }));
    li.append(text, meta);
    const row = el('div', 'ht-row');
    if (!role.ro) {
      const up = btn('hall-up-' + q.id, h('q.upvote', { n: q.votes }), 'ht-up', 'agree');
      up.dataset.act = 'up';
      up.setAttribute('aria-pressed', String(voted.has(q.id)));
      up.disabled = voted.has(q.id) || mine.has(q.id);
      row.append(up);
    } else {
      const v = el('span', 'ht-votes');
      v.append(icon('agree'), el('span', null, { text: h('q.votes', { n: q.votes }) }));
      row.append(v);
    }
    if (role.mod) {
      if (q.id !== onScreen) { const b = btn('hall-pick-' + q.id, h('q.pick'), 'btn-quiet'); b.dataset.act = 'pick'; row.append(b); }
      if (!q.answered) { const b = btn('hall-answered-' + q.id, h('q.markAnswered'), 'btn-quiet'); b.dataset.act = 'answered'; row.append(b); }
    }
    li.append(row);
    return li;
  }

  return {
    screenEl: screen, el: sec, render,
    state: () => ({ onScreen, questions: Q.map((q) => ({ ...q, mine: mine.has(q.id), voted: voted.has(q.id) })) }),
  };
}
