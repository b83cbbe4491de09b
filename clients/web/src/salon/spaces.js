// The salon's spaces in the browser (issue #20), under the people list of the salon panel:
// - the event running in this room (title, hybrid: the venue's feed is the room's shared screen),
//   with mute / remove for its organiser;
// - the department booths' pinned topics and links (in the booths' area), and pinning one's own
//   booth's topic while standing at it;
// - the board of who is online in the whole salon, by municipality;
// - upcoming events: register or cancel a place, and schedule one (title, room, time, places).
// Everything shown comes from the server (room state, /api/salon/events); links are https only
// (the server checks) and open in a new tab without the opener.
import { t } from '../i18n.js';
import { apiJson } from '../api.js';

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
};

export function mountSpaces(panel, { S, getNet, toast, showError }) {
  const box = el('div', 'salon-spaces'); // redrawn from the room state
  const evBox = el('div'); // the events list: redrawn when loaded, not on every patch
  const form = scheduleForm(); // kept, so a patch never clears what is being typed
  panel.append(box, evBox, form);
  let events = [];
  let loadedAt = 0;

  async function loadEvents(force = false) {
    if (!force && Date.now() - loadedAt < 10000) return; // a list, not a live view: every 10 s at most
    loadedAt = Date.now();
    try { events = (await apiJson('api/salon/events')).events; } catch (e) { events = []; }
  }

  async function call(method, url, body) {
    try {
      await apiJson(url, { method, headers: { 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      return true;
    } catch (e) {
      showError(e.code);
      return false;
    }
  }

  async function moderate(avatar, action) {
    const ack = await getNet()?.request('salon.moderate', { avatar, action });
    if (!ack?.ok) showError(ack?.error?.code);
  }

  function eventSection(room) {
    const ev = room.state.event;
    if (!ev) return null;
    const sec = el('section', 'salon-event');
    sec.append(el('h3', null, t('salon.eventNow', { title: ev.title })));
    if (ev.hybrid) sec.append(el('p', 'note', t('salon.hybridNote')));
    const mine = S.me && (room.state.people || []).find((p) => p.avatar === S.me.id)?.staff === ev.organiser;
    if (!mine) return sec;
    const ul = el('ul');
    for (const p of room.state.people || []) {
      if (p.staff === ev.organiser) continue;
      const li = el('li');
      li.append(el('span', null, p.display_name || '?'));
      const muted = (ev.muted || []).includes(p.staff);
      const m = el('button', 'btn small', muted ? t('salon.unmute') : t('salon.mute'));
      m.type = 'button';
      m.addEventListener('click', () => moderate(p.avatar, muted ? 'unmute' : 'mute'));
      const r = el('button', 'btn small', t('salon.remove'));
      r.type = 'button';
      r.addEventListener('click', () => { if (window.confirm(t('salon.removeConfirm', { name: p.display_name || '?' }))) moderate(p.avatar, 'remove'); });
      li.append(m, r);
      ul.append(li);
    }
    sec.append(ul);
    return sec;
  }

  function boothSection(booths) {
    const sec = el('section', 'salon-booths');
    sec.append(el('h3', null, t('salon.booths')));
    const lang = document.documentElement.lang === 'en' ? 'en' : 'ja';
    for (const b of booths) {
      const div = el('div', 'salon-booth');
      div.dataset.booth = b.id;
      div.append(el('b', null, b.name[lang] || b.name.ja), el('p', null, b.topic || t('salon.noTopic')));
      for (const l of b.links || []) {
        const a = el('a', null, l.title);
        a.href = l.url;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        div.append(a);
      }
      { // the server checks that one stands at the booth (not_member otherwise)
        const pin = el('button', 'btn small', t('salon.pinTopic'));
        pin.type = 'button';
        pin.addEventListener('click', async () => {
          const topic = window.prompt(t('salon.pinPrompt'), b.topic || '');
          if (!topic) return;
          const url = window.prompt(t('salon.pinLinkPrompt'), b.links?.[0]?.url || 'https://');
          const links = url && url !== 'https://' ? [{ title: t('salon.linkTitle'), url }] : [];
          const ack = await getNet()?.request('salon.pin', { booth: b.id, topic, links });
          if (ack?.ok) toast(t('salon.pinned')); else showError(ack?.error?.code);
        });
        div.append(pin);
      }
      sec.append(div);
    }
    return sec;
  }

  function boardSection(board) {
    const sec = el('section', 'salon-board');
    sec.append(el('h3', null, t('salon.board')));
    const ul = el('ul');
    for (const g of board) {
      const li = el('li', 'salon-board-muni');
      li.dataset.municipality = g.code || '';
      li.append(el('b', null, `${g.name || '?'}（${g.people.length}）`));
      li.append(el('span', 'org', g.people.map((p) => [p.display_name, p.department].filter(Boolean).join(' / ')).join('、')));
      ul.append(li);
    }
    if (!board.length) ul.append(el('li', 'empty', t('salon.peopleEmpty')));
    sec.append(ul);
    return sec;
  }

  function eventsSection() {
    const sec = el('section', 'salon-events');
    sec.append(el('h3', null, t('salon.events')));
    const ul = el('ul');
    for (const e of events) {
      const li = el('li');
      li.dataset.event = e.id;
      const when = new Date(e.start).toLocaleString(document.documentElement.lang || 'ja', { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' });
      li.append(el('span', null, `${when} ${e.title}（${e.taken}/${e.capacity}）`));
      const b = el('button', 'btn small', e.registered ? t('salon.unregister') : t('salon.register'));
      b.type = 'button';
      b.disabled = !e.registered && e.taken >= e.capacity;
      b.addEventListener('click', async () => {
        if (await call(e.registered ? 'DELETE' : 'POST', `api/salon/events/${e.id}/registration`)) await refreshEvents(true);
      });
      li.append(b);
      ul.append(li);
    }
    if (!events.length) ul.append(el('li', 'empty', t('salon.noEvents')));
    sec.append(ul);
    return sec;
  }

  async function refreshEvents(force = false) {
    await loadEvents(force);
    evBox.replaceChildren(eventsSection());
  }

  function scheduleForm() {
    const d = el('details', 'salon-schedule');
    d.append(el('summary', null, t('salon.schedule')));
    const f = el('form');
    f.innerHTML = `<label>${t('salon.eventTitle')} <input name="title" required maxlength="100"></label>
      <label>${t('salon.eventRoom')} <select name="room"><option value="salon-meeting1">${t('salon.room1')}</option>
      <option value="salon-meeting2">${t('salon.room2')}</option></select></label>
      <label>${t('salon.eventStart')} <input name="start" type="datetime-local" required></label>
      <label>${t('salon.eventMinutes')} <input name="minutes" type="number" min="15" max="480" step="15" value="60" required></label>
      <label>${t('salon.eventCapacity')} <input name="capacity" type="number" min="1" max="200" value="20" required></label>
      <label><input name="hybrid" type="checkbox"> ${t('salon.eventHybrid')}</label>
      <button class="btn primary" type="submit">${t('salon.scheduleSubmit')}</button>`;
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const fd = new FormData(f);
      const start = new Date(fd.get('start'));
      const end = new Date(start.getTime() + Number(fd.get('minutes')) * 60000);
      const ok = await call('POST', 'api/salon/events', {
        title: fd.get('title'), room: fd.get('room'), start: start.toISOString(), end: end.toISOString(),
        capacity: Number(fd.get('capacity')), hybrid: fd.get('hybrid') === 'on',
      });
      if (ok) { toast(t('salon.scheduled')); f.reset(); await refreshEvents(true); }
    });
    d.append(f);
    return d;
  }

  function render(room) {
    box.replaceChildren();
    evBox.hidden = form.hidden = !room;
    if (!room) return;
    const parts = [eventSection(room), room.state.booths ? boothSection(room.state.booths) : null,
      boardSection(room.state.board || [])];
    for (const p of parts) if (p) box.append(p);
    refreshEvents(); // at most every 10 s unless something changed here
  }

  setInterval(() => { if (!evBox.hidden) refreshEvents(); }, 10000); // places taken change elsewhere
  return { render };
}
