// The staff member's day (reservations, issue #16): the slots of a date with their bookings
// (codes, status, names if given; never e-mail addresses), publishing slots and withdrawing
// them. Staff only: without a staff session the page sends you to the login page.
import { apiJson, whoami } from './api.js';

const JA = {
  title: '相談枠と予約', date: '日付', dept: '課', show: '表示', publish: '相談枠を公開する', topic: '相談内容',
  start: '開始', len: '長さ(分)', count: '枠の数(連続)', cap: '定員', doPublish: '公開する', day: 'この日の枠と予約',
  none: 'この日の枠はありません。', published: '{n}件の枠を公開しました。', withdraw: '取り下げる', withdrawn: '取り下げ済み',
  confirm: 'この枠を取り下げますか？予約は取り消されます。', free: '空き {n}/{cap}', who: '職員としてログイン中(団体コード {name})',
  code: 'コード', status: '状態', name: 'お名前', mail: 'メール', yes: 'あり', no: '—',
  st: { booked: '予約中', cancelled: '取消', checked_in: '受付済み', no_show: '来庁なし' }, all: 'すべて',
};
const EN = {
  title: 'Consultation slots and bookings', date: 'Date', dept: 'Department', show: 'Show', publish: 'Publish slots', topic: 'Topic',
  start: 'Start', len: 'Length (min)', count: 'Slots in a row', cap: 'Places', doPublish: 'Publish', day: 'Slots and bookings of the day',
  none: 'No slots on this day.', published: '{n} slot(s) published.', withdraw: 'Withdraw', withdrawn: 'Withdrawn',
  confirm: 'Withdraw this slot? Its bookings are cancelled.', free: '{n}/{cap} free', who: 'Signed in as staff (municipality {name})',
  code: 'Code', status: 'Status', name: 'Name', mail: 'E-mail', yes: 'given', no: '—',
  st: { booked: 'Booked', cancelled: 'Cancelled', checked_in: 'Checked in', no_show: 'No-show' }, all: 'All',
};
const lang = new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'ja';
const T = lang === 'en' ? EN : JA;
const f = (s, v) => s.replace(/\{(\w+)\}/g, (_, k) => v[k]);
const $ = (id) => document.getElementById(id);
let catalogue = null;

function jstToday() {
  return new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 10);
}
function hm(iso) { return iso.slice(11, 16); } // the server answers in Japan time with its offset
function topicName(id) {
  for (const d of catalogue.departments) for (const t of d.topics) if (t.id === id) return t.name[lang] || t.name.ja;
  return id;
}

function label() {
  document.documentElement.lang = lang;
  document.title = T.title;
  for (const [id, k] of [['day-title', 'title'], ['l-date', 'date'], ['l-dept', 'dept'], ['day-show', 'show'], ['h-publish', 'publish'],
    ['l-topic', 'topic'], ['l-start', 'start'], ['l-len', 'len'], ['l-count', 'count'], ['l-cap', 'cap'], ['f-publish', 'doPublish'], ['h-day', 'day']]) {
    $(id).textContent = T[k];
  }
}

function fillSelects() {
  const dept = $('day-dept');
  dept.replaceChildren(new Option(T.all, ''));
  for (const d of catalogue.departments) dept.appendChild(new Option(d.name[lang] || d.name.ja, d.id));
  fillTopics();
  dept.addEventListener('change', fillTopics);
}
function fillTopics() {
  const sel = $('f-topic');
  sel.replaceChildren();
  for (const d of catalogue.departments) {
    if ($('day-dept').value && d.id !== $('day-dept').value) continue;
    const g = document.createElement('optgroup');
    g.label = d.name[lang] || d.name.ja;
    for (const t of d.topics) g.appendChild(new Option(t.name[lang] || t.name.ja, t.id));
    sel.appendChild(g);
  }
}

async function show() {
  const q = new URLSearchParams({ date: $('day-date').value });
  if ($('day-dept').value) q.set('department', $('day-dept').value);
  const day = await apiJson('api/consult/day?' + q);
  const list = $('day-slots');
  list.replaceChildren();
  if (!day.slots.length) { const li = document.createElement('li'); li.textContent = T.none; list.appendChild(li); }
  for (const s of day.slots) list.appendChild(slotItem(s));
  document.documentElement.dataset.slots = String(day.slots.length);
}

function slotItem(s) {
  const li = document.createElement('li');
  li.className = 'day-slot' + (s.withdrawn ? ' withdrawn' : '');
  li.dataset.slot = s.id;
  const h = document.createElement('h3');
  const a = document.createElement('span');
  a.textContent = `${hm(s.start)}–${hm(s.end)} ${topicName(s.topic)}`;
  const b = document.createElement('span');
  b.textContent = s.withdrawn ? T.withdrawn : f(T.free, { n: s.free, cap: s.capacity });
  h.append(a, b);
  li.appendChild(h);
  if (s.bookings.length) {
    const tb = document.createElement('table');
    const head = tb.insertRow();
    for (const k of ['code', 'status', 'name', 'mail']) { const th = document.createElement('th'); th.textContent = T[k]; head.appendChild(th); }
    for (const bk of s.bookings) {
      const r = tb.insertRow();
      r.dataset.code = bk.code;
      for (const v of [bk.code, T.st[bk.status] || bk.status, bk.name || T.no, bk.email_given ? T.yes : T.no]) r.insertCell().textContent = v;
    }
    li.appendChild(tb);
  }
  if (!s.withdrawn) {
    const w = document.createElement('button');
    w.type = 'button';
    w.className = 'btn btn-danger';
    w.textContent = T.withdraw;
    w.addEventListener('click', async () => {
      if (!confirm(T.confirm)) return;
      await run(() => apiJson(`api/consult/slots/${s.id}`, { method: 'DELETE' }));
      await show();
    });
    li.appendChild(w);
  }
  return li;
}

async function publish(e) {
  e.preventDefault();
  const date = $('day-date').value;
  const start = new Date(`${date}T${$('f-start').value}:00+09:00`);
  const len = Number($('f-len').value);
  const count = Number($('f-count').value);
  const end = new Date(start.getTime() + len * 60e3);
  const iso = (d) => new Date(d.getTime() + 9 * 3600e3).toISOString().slice(0, 19) + '+09:00';
  const body = { topic: $('f-topic').value, start: iso(start), end: iso(end), capacity: Number($('f-cap').value) };
  if (count > 1) body.series = { count };
  const out = await run(() => apiJson('api/consult/slots', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
  if (out) { $('day-msg').textContent = f(T.published, { n: out.slots.length }); await show(); }
}

async function run(fn) {
  try {
    return await fn();
  } catch (err) {
    $('day-msg').textContent = err.message;
    return null;
  }
}

async function main() {
  label();
  const me = await whoami();
  if (!me || !me.principal || me.principal.kind === 'resident') {
    location.href = 'login.html?next=' + encodeURIComponent('staff-day.html' + location.search);
    return;
  }
  $('day-who').textContent = f(T.who, { name: me.principal.municipality || '' });
  catalogue = await apiJson('api/consult/catalogue');
  fillSelects();
  $('day-date').value = jstToday();
  $('day-bar').addEventListener('submit', (e) => { e.preventDefault(); run(show); });
  $('day-form').addEventListener('submit', publish);
  await run(show);
  document.documentElement.dataset.ready = '1';
}
main();
