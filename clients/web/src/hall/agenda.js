// The agenda: the items with the current one highlighted and a countdown (agenda.timer_end, the
// server's epoch seconds). The presenter and co-presenters edit it, move to the next item and
// start a 5, 10 or 15 minute timer (`hall.agenda`).
import { h, el, btn, clock, serverNow } from './util.js';

const TIMERS = [5, 10, 15];
const MAX_ITEMS = 20;

export function makeAgenda(ctx) {
  const sec = el('section', 'ht-card ht-agenda', { id: 'hall-agenda', 'aria-labelledby': 'hall-agenda-title' });
  const head = el('div', 'ht-head');
  const title = el('h3', 'ht-h', { id: 'hall-agenda-title' });
  const timer = el('p', 'ht-timer', { id: 'hall-timer', role: 'timer', hidden: true });
  head.append(title, timer);
  const list = el('ol', 'ht-agenda-list', { id: 'hall-agenda-list' });
  const empty = el('p', 'ht-empty', { id: 'hall-agenda-empty' });
  sec.append(head, list, empty);

  // the moderators' controls
  const mod = el('div', 'ht-mod', { id: 'hall-agenda-mod', hidden: true });
  const row = el('div', 'ht-row');
  const bPrev = btn('hall-agenda-prev', '', 'btn-quiet');
  const bNext = btn('hall-agenda-next', '', 'btn-primary ht-grow');
  row.append(bPrev, bNext);
  const trow = el('div', 'ht-row', { role: 'group', 'aria-labelledby': 'hall-timer-title' });
  const tTitle = el('span', 'ht-row-title', { id: 'hall-timer-title' });
  const bTimers = TIMERS.map((m) => btn('hall-timer-' + m, '', 'ht-timer-btn'));
  const bStop = btn('hall-timer-stop', '', 'btn-quiet');
  trow.append(tTitle, ...bTimers, bStop);
  const edit = el('details', 'ht-details', { id: 'hall-agenda-edit' });
  const sum = el('summary', 'ht-summary');
  const lab = el('label', 'ht-label-block', { for: 'hall-agenda-items' });
  const area = el('textarea', 'ht-input', { id: 'hall-agenda-items', rows: 4 });
  const bSave = btn('hall-agenda-save', '', 'btn-primary');
  edit.append(sum, lab, area, bSave);
  mod.append(row, trow, edit);
  sec.append(mod);

  let A = { items: [], current: 0, timer_end: null };
  let key = '';
  let warned = null; // the timer_end we have announced "1 minute left" / "time is up" for
  const set = (patch) => ctx.send('hall.agenda', { room: ctx.room(), ...patch });

  bNext.addEventListener('click', () => set({ current: Math.min(A.current + 1, Math.max(A.items.length - 1, 0)) }));
  bPrev.addEventListener('click', () => set({ current: Math.max(A.current - 1, 0) }));
  TIMERS.forEach((m, i) => bTimers[i].addEventListener('click', () => set({ timer_s: m * 60 })));
  bStop.addEventListener('click', () => set({ timer_s: 0 }));
  edit.addEventListener('toggle', () => { if (edit.open) area.value = A.items.join('\n'); });
  bSave.addEventListener('click', async () => {
    const items = area.value.split('\n').map((s) => s.trim().slice(0, 80)).filter(Boolean).slice(0, MAX_ITEMS);
    const ack = await set({ items, current: Math.min(A.current, Math.max(items.length - 1, 0)) });
    if (ack?.ok) { edit.open = false; ctx.say(h('agenda.saved')); }
  });

  function tick() {
    const end = A.timer_end;
    timer.hidden = !end;
    if (!end) return;
    const left = end - serverNow() / 1000;
    const text = left > 0 ? h('agenda.left', { time: clock(left) }) : h('agenda.timeUp');
    if (timer.textContent !== text) timer.textContent = text;
    timer.classList.toggle('ht-soon', left > 0 && left <= 60);
    timer.classList.toggle('ht-over', left <= 0);
    // said once, politely: a screen reader does not read a timer every second
    if (left <= 60 && left > 0 && warned !== end + ':1') { warned = end + ':1'; ctx.say(h('agenda.oneMinute')); }
    if (left <= 0 && warned !== end + ':0' && left > -5) { warned = end + ':0'; ctx.say(h('agenda.timeUp')); }
  }
  setInterval(tick, 500);

  function render(state, role) {
    A = state.agenda || A;
    const k = JSON.stringify([A.items, A.current, role.mod, h('agenda.title')]);
    tick();
    if (k === key) return;
    key = k;
    title.textContent = h('agenda.title');
    list.replaceChildren();
    A.items.forEach((text, i) => {
      const li = el('li', 'ht-item');
      if (i === A.current) {
        li.classList.add('ht-current');
        li.setAttribute('aria-current', 'step');
        li.append(el('span', 'ht-badge', { text: h('agenda.now') }), ' ');
      }
      li.append(el('span', null, { text }));
      list.append(li);
    });
    list.hidden = !A.items.length;
    empty.hidden = !!A.items.length;
    empty.textContent = h('agenda.empty');
    mod.hidden = !role.mod;
    if (!role.mod) return;
    setLabelAll();
    bNext.disabled = A.current >= A.items.length - 1;
    bPrev.disabled = A.current <= 0;
  }
  function setLabelAll() {
    bPrev.querySelector('.ht-label').textContent = h('agenda.prev');
    bNext.querySelector('.ht-label').textContent = h('agenda.next');
    tTitle.textContent = h('agenda.timer');
    TIMERS.forEach((m, i) => { bTimers[i].querySelector('.ht-label').textContent = h('agenda.minutes', { n: m }); });
    bStop.querySelector('.ht-label').textContent = h('agenda.stop');
    sum.textContent = h('agenda.edit');
    lab.textContent = h('agenda.itemsLabel');
    bSave.querySelector('.ht-label').textContent = h('agenda.save');
  }

  return { el: sec, render, state: () => ({ items: A.items.slice(), current: A.current, timer: A.timer_end ? timer.textContent : null }) };
}
