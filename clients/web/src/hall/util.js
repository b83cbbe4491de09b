// Small helpers shared by the hall's meeting tools (tools.js) and the spectator page (watch.js).
import { t } from '../i18n.js';

/** t() for this feature's keys (i18n/*.json, prefix hall_tools.). */
export const h = (key, vars) => t('hall_tools.' + key, vars);

export function el(tag, cls, attrs = {}) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k.includes('-') || k === 'role' || k === 'for') e.setAttribute(k, v);
    else e[k] = v;
  }
  return e;
}

// Icons as inline SVG, not emoji: not every device (or kiosk) has a colour emoji font.
const P = {
  clap: 'M7.2 3.2 11 9.8l-1.3.8L6 4.3a1 1 0 0 1 1.2-1.1zm3.1-.9 4.2 7.2-1.3.8-4.2-7.3a1 1 0 0 1 1.3.3zM4.6 6.1l4.6 7.9 1.3-.8-2.8-4.8a1 1 0 1 1 1.8-1l4.5 7.7a5 5 0 0 1-8.6 5.1L2.8 13a1 1 0 0 1 1.7-1l1.4 2.4 1.3-.8-3.2-5.5a1 1 0 0 1 .6-2zM17 2l.8-1.8 1.3.6-.8 1.8zm2.3 2.9 1.8-.8.6 1.3-1.8.8zM18.6 8h2v1.4h-2z',
  agree: 'M2 21h4V9H2v12zm21-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.5-1.1L14.2 1 7.6 7.6C7.2 8 7 8.5 7 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z',
  unclear: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 17h-2v-2h2v2zm2.1-7.7-.9.9C13.4 12.9 13 13.5 13 15h-2v-.5c0-1.1.4-2.1 1.2-2.8l1.2-1.3c.4-.4.6-.9.6-1.4a2 2 0 0 0-4 0H8a4 4 0 0 1 8 0c0 .9-.4 1.7-.9 2.3z',
  check: 'M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4z',
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9z',
  save: 'M17 3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V7zm-5 16a3 3 0 1 1 0-6 3 3 0 0 1 0 6zm3-10H5V5h10z',
};
export function icon(name) {
  const s = el('span', 'ht-ico', { 'aria-hidden': 'true' });
  s.innerHTML = `<svg viewBox="0 0 24 24" class="ico"><path d="${P[name]}" fill="currentColor"/></svg>`;
  return s;
}

/** A big button: an optional icon (hidden from screen readers) and a text. */
export function btn(id, text, cls = '', ico = '') {
  const b = el('button', 'btn ht-btn ' + cls, { type: 'button' });
  if (id) b.id = id;
  if (ico) b.append(icon(ico));
  b.append(el('span', 'ht-label', { text }));
  return b;
}
/** Change a button's text (keeps its icon). */
export function setLabel(b, text) {
  const l = b.querySelector('.ht-label');
  if (l.textContent !== text) l.textContent = text;
}

/** Plain words for a refusal (the server's code): ours first, then the client's general ones. */
export function errText(code) {
  for (const k of ['hall_tools.error.' + code, 'error.' + code]) {
    const s = t(k);
    if (s !== k) return s;
  }
  return h('error.other');
}

/** A countdown's text, m:ss (h:mm:ss over an hour). */
export function clock(s) {
  s = Math.max(0, Math.round(s));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** The server's clock minus ours, in ms, from an HTTP Date header (1 s resolution): the agenda's
 * timer_end is the server's epoch time, and a resident's device may be minutes off. Small
 * differences (< 1.5 s) are not corrected. */
let skew = 0;
export const serverNow = () => Date.now() + skew;
export async function syncClock(url = 'healthz') {
  try {
    const t0 = Date.now();
    const r = await fetch(new URL(url, document.baseURI), { method: 'GET', cache: 'no-store' });
    const t1 = Date.now();
    const d = Date.parse(r.headers.get('Date') || '');
    if (!Number.isFinite(d)) return;
    const s = d + 500 - (t0 + t1) / 2;
    skew = Math.abs(s) > 1500 ? s : 0;
  } catch (e) { /* offline: our own clock */ }
}

/** Save text as a file (the summary for the minutes). */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el('a', null, { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return url;
}
