// The poll: big option buttons, an optional 「理由（任意）」, and the result as a bar chart (counts;
// 「結果」 once closed). The presenter and co-presenters open one (a question and 2 to 6 options,
// prefilled with the scenarios on the screen) and close it. Events: hall.poll (ack {ok, id}),
// hall.poll_close, hall.vote {poll, option, why?}.
import { h, el, btn, setLabel, errText } from './util.js';

const MAX_OPTIONS = 6;
const WHY_MAX = 300;

/** The result chart: one row per option, the count in words and a bar (decoration). */
export function resultRows(poll) {
  const total = poll.counts.reduce((a, b) => a + b, 0);
  const top = Math.max(1, ...poll.counts);
  return poll.options.map((o, i) => {
    const n = poll.counts[i] || 0;
    const pct = total ? Math.round((100 * n) / total) : 0;
    const li = el('li', 'ht-res' + (n === top && total ? ' ht-top' : ''));
    li.dataset.option = String(i);
    li.dataset.count = String(n);
    const label = el('span', 'ht-res-label', { text: o });
    const bar = el('span', 'ht-bar', { 'aria-hidden': 'true' });
    bar.append(el('span', 'ht-bar-fill'));
    bar.firstChild.style.width = `${total ? (100 * n) / total : 0}%`;
    const num = el('span', 'ht-res-num', { text: h('poll.count', { n, pct }) });
    li.append(label, bar, num);
    return li;
  });
}

export function makePoll(ctx) {
  const sec = el('section', 'ht-card ht-poll', { id: 'hall-poll', 'aria-labelledby': 'hall-poll-title' });
  const title = el('h3', 'ht-h', { id: 'hall-poll-title' });
  const q = el('p', 'ht-poll-q', { id: 'hall-poll-question' });
  const opts = el('div', 'ht-opts', { id: 'hall-poll-options', role: 'group', 'aria-labelledby': 'hall-poll-question' });
  const whyL = el('label', 'ht-label-block', { for: 'hall-poll-why' });
  const why = el('textarea', 'ht-input', { id: 'hall-poll-why', rows: 2, maxLength: WHY_MAX });
  const bWhy = btn('hall-poll-why-send', '', 'btn-quiet');
  const mineP = el('p', 'ht-hint ht-strong', { id: 'hall-poll-mine' });
  const voteBox = el('div', 'ht-vote');
  voteBox.append(opts, mineP, whyL, why, bWhy);
  const resT = el('h4', 'ht-h4', { id: 'hall-poll-res-title' });
  const res = el('ul', 'ht-results', { id: 'hall-poll-results', 'aria-labelledby': 'hall-poll-res-title' });
  const total = el('p', 'ht-hint', { id: 'hall-poll-total' });
  const resBox = el('div', 'ht-res-box');
  resBox.append(resT, res, total);
  const body = el('div');
  body.append(q, voteBox, resBox);

  // the moderators' controls
  const mod = el('div', 'ht-mod', { hidden: true });
  const bClose = btn('hall-poll-close', '', 'btn-primary ht-wide');
  const nw = el('details', 'ht-details', { id: 'hall-poll-new' });
  const sum = el('summary', 'ht-summary');
  const qL = el('label', 'ht-label-block', { for: 'hall-poll-q' });
  const qIn = el('input', 'ht-input', { id: 'hall-poll-q', type: 'text', maxLength: 200 });
  const optL = el('p', 'ht-label-block', { id: 'hall-poll-opts-label' });
  const optIns = Array.from({ length: MAX_OPTIONS }, (_, i) => {
    const inp = el('input', 'ht-input', { id: 'hall-poll-opt-' + i, type: 'text', maxLength: 60 });
    inp.addEventListener('input', showOptionInputs);
    return inp;
  });
  const optBox = el('div', 'ht-opt-inputs', { role: 'group', 'aria-labelledby': 'hall-poll-opts-label' });
  optBox.append(...optIns);
  const bOpen = btn('hall-poll-open', '', 'btn-primary ht-wide');
  nw.append(sum, qL, qIn, optL, optBox, bOpen);
  mod.append(bClose, nw);
  sec.append(title, body, mod);

  let P = null, role = { ro: true }, key = '';
  const myVote = new Map(); // poll id -> option index (this page)

  async function send(ev, data, okText) {
    const ack = await ctx.send(ev, { room: ctx.room(), ...data });
    if (!ack?.ok) ctx.say(errText(ack?.error?.code), true);
    else if (okText) ctx.say(okText);
    return ack;
  }
  async function vote(option) {
    if (!P || !P.open) return;
    const text = why.value.trim();
    const data = { poll: P.id, option };
    if (text) data.why = text;
    const prev = myVote.get(P.id);
    myVote.set(P.id, option);
    render(null, role, true);
    const ack = await send('hall.vote', data, h(text ? 'poll.votedWhy' : 'poll.voted', { option: P.options[option] }));
    if (ack?.ok) { if (text) why.value = ''; } else { if (prev === undefined) myVote.delete(P.id); else myVote.set(P.id, prev); }
    render(null, role, true);
  }
  opts.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-option]');
    if (b) vote(Number(b.dataset.option));
  });
  bWhy.addEventListener('click', () => {
    if (!why.value.trim()) { ctx.say(h('poll.whyEmpty'), true); why.focus(); return; }
    if (P && myVote.has(P.id)) vote(myVote.get(P.id));
    else ctx.say(h('poll.pickFirst'), true);
  });
  bClose.addEventListener('click', () => send('hall.poll_close', {}, h('poll.closedSaid')));
  nw.addEventListener('toggle', () => { if (nw.open && !qIn.value) prefill(); });
  bOpen.addEventListener('click', async () => {
    const question = qIn.value.trim();
    const options = optIns.map((i) => i.value.trim()).filter(Boolean);
    if (!question) { ctx.say(h('poll.needQuestion'), true); qIn.focus(); return; }
    if (options.length < 2) { ctx.say(h('poll.needOptions'), true); optIns[options.length].focus(); return; }
    const ack = await send('hall.poll', { question, options }, h('poll.openedSaid'));
    if (ack?.ok) { nw.open = false; qIn.value = ''; for (const i of optIns) i.value = ''; }
  });

  /** Options from what the screen shows (the other engineer's synced view writes `show`): the
   * scenario in the caption, A/B when two simulations are compared; else 賛成 / 反対. */
  function prefill() {
    const show = ctx.show() || {};
    let o;
    if (show.sim_b) o = [h('poll.planA', { name: show.scenario || '' }).trim(), h('poll.planB')];
    else if (show.scenario) o = [show.scenario, h('poll.asIs')];
    else o = [h('poll.yes'), h('poll.no')];
    qIn.value = h('poll.defaultQ');
    o.forEach((v, i) => { optIns[i].value = v.slice(0, 60); });
    showOptionInputs();
  }
  function showOptionInputs() {
    // two always; one empty field after the last filled one, up to six
    let last = -1;
    optIns.forEach((inp, i) => { if (inp.value.trim()) last = i; });
    optIns.forEach((inp, i) => { inp.hidden = i > Math.max(1, last + 1); });
  }
  showOptionInputs();

  function render(state, r, force = false) {
    if (state) P = state.poll || null;
    role = r;
    const mine = P ? myVote.get(P.id) : undefined;
    const k = JSON.stringify([P, mine, role.mod, role.ro, h('poll.title')]);
    if (k === key && !force) return;
    key = k;
    sec.hidden = !P && !role.mod;
    title.textContent = P && !P.open ? h('poll.titleClosed') : h('poll.title');
    body.hidden = !P;
    if (P) {
      q.textContent = P.question;
      voteBox.hidden = role.ro || !P.open;
      const focused = document.activeElement?.dataset?.option;
      opts.replaceChildren(...P.options.map((o, i) => {
        const b = btn('hall-opt-' + i, o, 'ht-opt' + (mine === i ? ' ht-chosen' : ''), mine === i ? 'check' : '');
        b.dataset.option = String(i);
        b.setAttribute('aria-pressed', String(mine === i));
        return b;
      }));
      if (focused !== undefined) opts.querySelector(`[data-option="${focused}"]`)?.focus();
      mineP.textContent = mine === undefined ? h('poll.choose') : h('poll.mine', { option: P.options[mine] });
      whyL.textContent = h('poll.why');
      setLabel(bWhy, h('poll.whySend'));
      resT.textContent = P.open ? h('poll.sofar') : h('poll.result');
      res.replaceChildren(...resultRows(P));
      total.textContent = h('poll.total', { n: P.counts.reduce((a, b) => a + b, 0) }) + (P.open ? '' : ' — ' + h('poll.closed'));
    }
    mod.hidden = !role.mod;
    if (role.mod) {
      bClose.hidden = !(P && P.open);
      setLabel(bClose, h('poll.close'));
      sum.textContent = h('poll.new');
      qL.textContent = h('poll.question');
      optL.textContent = h('poll.options');
      optIns.forEach((inp, i) => { inp.setAttribute('aria-label', h('poll.option', { n: i + 1 })); inp.placeholder = h('poll.option', { n: i + 1 }); });
      setLabel(bOpen, h('poll.open'));
    }
  }

  return { el: sec, render, state: () => (P ? { ...P, mine: myVote.get(P.id) ?? null } : null) };
}
