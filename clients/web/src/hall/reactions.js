// Reactions: 👏 拍手 / 👍 賛成 / ❓ わからない (drawn as SVG icons), with the room's live counters. `hall.react` has no
// ack and the server allows 1 a second (a burst of 5): the same budget here, so a held finger
// gets a plain word instead of an error.
import { h, el, btn, icon } from './util.js';

export const KINDS = ['clap', 'agree', 'unclear'];

export function makeReactions(ctx) {
  const sec = el('section', 'ht-card ht-reactions', { id: 'hall-reactions', 'aria-labelledby': 'hall-react-title' });
  const title = el('h3', 'ht-h', { id: 'hall-react-title' });
  const row = el('div', 'ht-react-row');
  const items = KINDS.map((kind) => {
    const b = btn('hall-react-' + kind, '', 'ht-react', kind);
    b.dataset.kind = kind;
    const n = el('span', 'ht-react-n', { 'data-count': '0' });
    b.append(n);
    const ro = el('p', 'ht-react ht-react-ro', { id: 'hall-react-ro-' + kind });
    ro.dataset.kind = kind;
    const roText = el('span');
    ro.append(icon(kind), roText);
    return { kind, b, n, ro, roText };
  });
  for (const it of items) row.append(it.b, it.ro);
  sec.append(title, row);

  let tokens = 5, last = performance.now(), key = '';
  const R = { clap: 0, agree: 0, unclear: 0 };
  for (const it of items) {
    it.b.addEventListener('click', () => {
      const now = performance.now();
      tokens = Math.min(5, tokens + (now - last) / 1000);
      last = now;
      if (tokens < 1) { ctx.say(h('react.wait')); return; }
      tokens -= 1;
      ctx.emit('hall.react', { room: ctx.room(), kind: it.kind });
      it.b.classList.remove('ht-pop');
      void it.b.offsetWidth; // restart the little bounce
      it.b.classList.add('ht-pop');
    });
  }

  function render(state, role) {
    Object.assign(R, state.reactions || {});
    const k = JSON.stringify([R, role.ro, h('react.title')]);
    if (k === key) return;
    key = k;
    title.textContent = h('react.title');
    for (const it of items) {
      const n = R[it.kind] || 0;
      const word = h('react.' + it.kind);
      it.b.hidden = role.ro;
      it.ro.hidden = !role.ro;
      it.b.querySelector('.ht-label').textContent = word;
      it.n.textContent = String(n);
      it.n.dataset.count = String(n);
      it.roText.textContent = `${word} ${n}`;
      it.ro.dataset.count = String(n);
    }
  }

  return { el: sec, render, state: () => ({ ...R }) };
}
