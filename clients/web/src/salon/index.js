// The inter-municipal salon in the browser (issue #20): the code of conduct asked once at the door,
// the list of who is in this salon room (the server's cards: name, municipality / department,
// verified mark), hiding oneself from it, reporting someone, and locking a booked meeting room.
// Everything shown of a person comes from the room state the server sends; nothing here can set it.
import { t } from '../i18n.js';
import { cardLine } from '../hud.js';
import { mountSpaces } from './spaces.js';

const $ = (id) => document.getElementById(id);
const CONDUCT_VERSION = 1; // server/salon/records.py CONDUCT_VERSION

export function mountSalon({ S, getNet, toast, showError }) {
  let room = null; // {id, state} of the salon room we are in
  let retry = null; // where we were going when the door asked for the code of conduct

  const panel = document.createElement('aside');
  panel.id = 'salon-panel';
  panel.className = 'salon-panel';
  panel.hidden = true;
  panel.setAttribute('aria-labelledby', 'salon-people-title');
  panel.innerHTML = `<h2 id="salon-people-title"></h2><p id="salon-lock-state" hidden></p>
    <ul id="salon-people"></ul>
    <label class="salon-hide"><input type="checkbox" id="salon-hide"> <span></span></label>
    <button type="button" class="btn" id="salon-lock" hidden></button>`;
  document.body.appendChild(panel);
  const spaces = mountSpaces(panel, { S, getNet, toast, showError });
  const dlg = document.createElement('dialog');
  dlg.id = 'dlg-conduct';
  dlg.className = 'dlg';
  dlg.setAttribute('aria-labelledby', 'conduct-title');
  dlg.innerHTML = `<h2 id="conduct-title"></h2><p id="conduct-text"></p>
    <div class="dlg-actions"><button type="button" class="btn primary" id="conduct-accept"></button>
    <button type="button" class="btn" id="conduct-cancel"></button></div>`;
  document.body.appendChild(dlg);

  function texts() {
    $('salon-people-title').textContent = t('salon.people');
    panel.querySelector('.salon-hide span').textContent = t('salon.hide');
    $('conduct-title').textContent = t('salon.conductTitle');
    $('conduct-text').textContent = t('salon.conductText');
    $('conduct-accept').textContent = t('salon.conductAccept');
    $('conduct-cancel').textContent = t('salon.conductCancel');
  }

  function render() {
    texts();
    panel.hidden = !room;
    spaces.render(room);
    if (!room) return;
    const people = room.state.people || [];
    const list = $('salon-people');
    list.replaceChildren();
    for (const p of people) {
      const li = document.createElement('li');
      li.dataset.avatar = p.avatar;
      li.dataset.municipality = p.municipality?.code || '';
      li.append(cardLine(p));
      if (S.me && p.avatar !== S.me.id) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'btn small salon-report';
        b.textContent = t('salon.report');
        b.addEventListener('click', () => report(p));
        li.append(b);
      }
      list.append(li);
    }
    if (!people.length) list.innerHTML = `<li class="empty">${t('salon.peopleEmpty')}</li>`;
    const locked = room.state.locked || null;
    $('salon-lock-state').hidden = !locked;
    if (locked) $('salon-lock-state').textContent = t('salon.locked', { municipality: locked });
    const lock = $('salon-lock');
    lock.hidden = !room.id.includes('meeting');
    lock.textContent = locked ? t('salon.unlock') : t('salon.lock');
  }

  async function report(p) {
    if (!window.confirm(t('salon.reportConfirm', { name: p.display_name || '?' }))) return;
    const ack = await getNet()?.request('salon.report', { avatar: p.avatar });
    if (ack?.ok) toast(t('salon.reported'));
    else showError(ack?.error?.code);
  }

  $('salon-hide').addEventListener('change', async (e) => {
    const ack = await getNet()?.request('salon.hide', { hidden: e.target.checked });
    if (!ack?.ok) showError(ack?.error?.code);
  });
  $('salon-lock').addEventListener('click', async () => {
    if (!room) return;
    const ack = await getNet()?.request('salon.lock', { room: room.id, locked: !room.state.locked });
    if (!ack?.ok) showError(ack?.error?.code);
  });
  $('conduct-accept').addEventListener('click', async () => {
    const net = getNet();
    const ack = await net?.request('salon.conduct', { accept: true, version: CONDUCT_VERSION });
    dlg.close();
    if (!ack?.ok) { showError(ack?.error?.code); return; }
    toast(t('salon.conductAccepted'));
    if (retry) net.goto(retry);
    retry = null;
  });
  $('conduct-cancel').addEventListener('click', () => { retry = null; dlg.close(); });

  function onRoom(id, r) {
    room = r && r.type === 'salon' && id === S.zone ? { id, state: r.state } : (id === S.zone ? null : room);
    render();
  }

  return {
    wire(net) {
      net.on('room', (m) => onRoom(m.room, net.rooms.get(m.room)));
      net.on('room_patch', (m) => onRoom(m.room, net.rooms.get(m.room)));
      net.on('zone', (m) => { const r = net.rooms.get(m.zone); room = r && r.type === 'salon' ? { id: m.zone, state: r.state } : null; render(); });
      net.on('error', (m) => {
        if (m?.code !== 'conduct_required') return;
        // The door asks once per account: show the code, then walk on to the salon's lounge
        retry = S.walkPlan?.goto || 'salon-lounge';
        texts(); // in the language chosen now
        if (!dlg.open) dlg.showModal();
      });
    },
    /** avatar id -> card, for the name tags while in a salon room (null elsewhere). */
    cards: () => (room ? new Map((room.state.people || []).map((p) => [p.avatar, p])) : null),
    state: () => ({ room: room ? room.id : null, people: room ? room.state.people || [] : [], locked: room?.state.locked || null,
      conductOpen: dlg.open }),
  };
}
