// The HUD (where you are, connection, staff badge, people nearby), banners, toasts, alerts and
// the zone's chat log. ``S`` is main.js's state; ``getNet`` gives the live connection (or null).
import { t, zoneName } from './i18n.js';
import { LIMITS } from './protocol.gen.js';

const $ = (id) => document.getElementById(id);

export function makeHud(S, getNet) {
  function setZone(z) {
    if (!z || z === S.zone) return;
    const first = S.zone === null;
    S.zone = z;
    refreshHud();
    const name = zoneName(S.plan, z);
    if (!first) {
      toast(t('zone.entered', { zone: name }));
      addSystemLine(t('zone.entered', { zone: name }));
    }
  }
  function refreshHud() {
    const hz = $('hud-zone');
    if (!hz) return;
    hz.dataset.zone = S.zone || '';
    $('hud-zone-name').textContent = S.zone ? zoneName(S.plan, S.zone) : '—';
    const conn = $('hud-conn');
    conn.dataset.state = S.connection;
    $('hud-conn-text').textContent = t('conn.' + S.connection);
    const p = S.me && S.me.principal;
    const badge = $('hud-staff');
    badge.hidden = !(p && p.kind !== 'resident');
    if (!badge.hidden) badge.textContent = t('hud.staff', { municipality: p.municipality || '' });
    if (S.connection === 'reconnecting' && S.screen === 'world') showBanner(t('banner.reconnecting'));
    else if (S.connection === 'connected') hideBanner();
    const net = getNet();
    if (net) refreshNearby([...net.avatars.values()]);
  }
  function refreshNearby(list) {
    const net = getNet();
    const me = S.me && net ? net.avatars.get(S.me.id) : null;
    const n = me ? countNearby(S.plan, list, { id: me.id, x: me.x, y: me.y, zone: S.zone || me.zone }) : 0;
    const el = $('hud-nearby');
    const txt = t('hud.nearby', { n });
    if (el.textContent !== txt) { el.textContent = txt; el.dataset.count = n; }
  }
  function showBanner(text) { const b = $('banner'); b.textContent = text; b.hidden = false; S.banner = text; }
  function hideBanner() { $('banner').hidden = true; S.banner = null; }
  let toastTimer = null;
  function toast(text) {
    const el = $('toast');
    el.textContent = text;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { el.textContent = ''; }, 4000);
  }
  function errorText(code) {
    const k = 'error.' + code;
    const s = t(k);
    return s === k ? t('error.unknown') : s;
  }
  function showError(code) {
    S.lastError = code || 'unknown';
    $('alert-text').textContent = errorText(code);
    $('alert').hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => { $('alert').hidden = true; }, 8000);
  }

  function addChat(m) {
    if (!m || (m.zone && S.zone && m.zone !== S.zone)) return;
    const log = $('chat-log');
    log.querySelector('.empty')?.remove();
    const li = document.createElement('p');
    li.className = S.me && m.id === S.me.id ? 'msg mine' : 'msg';
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = (m.name || '?') + ':';
    if (m.card) li.append(cardLine(m.card)); // in the salon: the server-issued identity, not the avatar's name
    else li.append(who);
    li.append(document.createTextNode(m.text));
    log.appendChild(li);
    while (log.children.length > 100) log.firstElementChild.remove();
    log.scrollTop = log.scrollHeight;
  }
  function addSystemLine(text) {
    const log = $('chat-log');
    const li = document.createElement('p');
    li.className = 'empty';
    li.textContent = text;
    log.replaceChildren(li); // the chat is scoped to the zone: a new zone starts a new conversation
  }
  return { setZone, refreshHud, refreshNearby, showBanner, hideBanner, toast, showError, errorText, addChat, addSystemLine };
}

/** A salon card (server-issued: display name, municipality / department, verified mark) as a line head. */
export function cardLine(card) {
  const who = document.createElement('span');
  who.className = 'who salon-card';
  const name = document.createElement('b');
  name.textContent = card.display_name || '?';
  const org = document.createElement('span');
  org.className = 'org';
  org.textContent = [card.municipality?.name, card.department].filter(Boolean).join(' / ');
  who.append(name, org);
  if (card.verified) {
    const mark = document.createElement('span');
    mark.className = 'verified';
    mark.title = t('salon.verifiedTitle');
    mark.textContent = '✔ ' + t('salon.verified');
    who.append(mark);
  }
  return who;
}

// world/layout.py DEFAULT_AREAS: zones seen as one open-plan area (a plan zone may name its own)
const DEFAULT_AREAS = { entrance: 'lobby', infodesk: 'lobby', corridor: 'lobby' };
const areaOf = (plan, zoneId) => plan?.zones.find((z) => z.id === zoneId)?.area || DEFAULT_AREAS[zoneId] || zoneId;

/**
 * The people who would hear you (the server's world.interest.hearers): in an open-plan area the
 * others within LIMITS.CHAT_RADIUS_M, whatever zone line they stand across; in a room (one zone:
 * a booth, the hall) everyone in it. Someone disconnected (``away``, if the snapshot says so) or
 * without a position yet is not counted; whoever left is gone from ``list`` already.
 */
export function countNearby(plan, list, me) {
  const area = areaOf(plan, me.zone);
  const open = plan ? plan.zones.filter((z) => areaOf(plan, z.id) === area).length > 1 : true;
  const r2 = LIMITS.CHAT_RADIUS_M ** 2;
  let n = 0;
  for (const a of list) {
    if (a.id === me.id || a.away || a.x === undefined || areaOf(plan, a.zone) !== area) continue;
    if (!open || (a.x - me.x) ** 2 + (a.y - me.y) ** 2 <= r2) n++;
  }
  return n;
}
