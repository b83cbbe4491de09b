// Reservation page (no account): department -> topic -> a free slot -> optional name/e-mail ->
// the code, big, with the calendar file and a cancel button. ?code=XXXX-XXXX opens a booking.
// Times are shown in Japan time whatever the device's zone: the city hall keeps Japan's hours.
// This page's strings live here and are merged into the shared tables (i18n.js) at start.
import { t, setLang, applyI18n, getLang, LANGS } from './i18n.js';
import { apiJson } from './api.js';

const STRINGS = {
  ja: {
    'rsv.title': '相談の予約', 'rsv.lead': '窓口での相談の日時を予約できます。アカウントは要りません。当日は予約番号を総合案内でお伝えください。',
    'rsv.size': '文字の大きさ', 'rsv.size.normal': '標準', 'rsv.size.large': '大', 'rsv.size.xlarge': '特大',
    'rsv.step.department': '1. 担当の課を選んでください', 'rsv.step.topic': '2. 相談の内容を選んでください',
    'rsv.step.slot': '3. 日時を選んでください', 'rsv.step.details': 'お名前と連絡先（任意）', 'rsv.back': '戻る',
    'rsv.noslots': '今のところ予約できる日時がありません。別の内容を選ぶか、後でもう一度ご覧ください。',
    'rsv.free': '残り{n}', 'rsv.minutes': '約{n}分',
    'rsv.name': 'お名前（任意）', 'rsv.email': 'メールアドレス（任意）',
    'rsv.email.hint': '入力すると、予約の確認と前日のお知らせをメールで送ります。相談日から30日後に消去します。',
    'rsv.book': '予約する', 'rsv.working': '予約しています…', 'rsv.done': '予約しました', 'rsv.code.label': '予約番号',
    'rsv.code.howto': '当日はメタバース区役所に入り、総合案内でこの番号をお伝えください。優先してご案内します。メモするか、画面を保存してください。',
    'rsv.ics': 'カレンダー用ファイルをダウンロード', 'rsv.cancel': '予約を取り消す', 'rsv.again': '別の予約をする',
    'rsv.confirm.cancel': 'この予約を取り消しますか？', 'rsv.cancelled': 'この予約は取り消されています。',
    'rsv.status.booked': '予約済み', 'rsv.status.cancelled': '取消済み', 'rsv.status.checked_in': '受付済み', 'rsv.status.no_show': '来庁なし',
    'rsv.yourbooking': 'ご予約', 'rsv.lookup': '予約番号で確認・取消', 'rsv.lookup.go': '確認する', 'rsv.home': '入口に戻る',
    'rsv.cancel.until': 'インターネットでの取消は {when} まで',
    'rsv.error.slot_full': 'その日時は満員になりました。別の日時を選んでください。',
    'rsv.error.slot_started': 'その日時はもう始まっています。別の日時を選んでください。',
    'rsv.error.unknown_booking': 'その予約番号は見つかりません。番号をお確かめください。',
    'rsv.error.too_late_to_cancel': 'インターネットでの取消期限を過ぎました。窓口にご連絡ください。',
    'rsv.error.booking_closed': 'この予約はすでに取り消されたか、使われています。',
    'rsv.error.rate_limited': '試行が多すぎます。しばらくしてからもう一度お試しください。',
    'rsv.error.invalid_request': '入力内容をお確かめください（メールアドレスの形など）。',
    'rsv.error.network': 'サーバーに接続できません。通信環境をお確かめください。', 'rsv.error.other': 'うまくいきませんでした。もう一度お試しください。',
  },
  en: {
    'rsv.title': 'Book a consultation', 'rsv.lead': 'Reserve a time at a counter. No account needed. On the day, give your reservation code at the information desk.',
    'rsv.size': 'Text size', 'rsv.size.normal': 'Normal', 'rsv.size.large': 'Large', 'rsv.size.xlarge': 'Extra large',
    'rsv.step.department': '1. Choose the department', 'rsv.step.topic': '2. Choose what it is about',
    'rsv.step.slot': '3. Choose a time', 'rsv.step.details': 'Name and contact (optional)', 'rsv.back': 'Back',
    'rsv.noslots': 'No times are open for booking yet. Choose another topic or look again later.',
    'rsv.free': '{n} left', 'rsv.minutes': 'about {n} min',
    'rsv.name': 'Name (optional)', 'rsv.email': 'E-mail (optional)',
    'rsv.email.hint': 'If given, we send a confirmation and a reminder the day before. Erased 30 days after the consultation.',
    'rsv.book': 'Book', 'rsv.working': 'Booking…', 'rsv.done': 'You are booked', 'rsv.code.label': 'Reservation code',
    'rsv.code.howto': 'On the day, enter the metaverse city hall and give this code at the information desk: you will be served first. Write it down or save this screen.',
    'rsv.ics': 'Download calendar file', 'rsv.cancel': 'Cancel this booking', 'rsv.again': 'Make another booking',
    'rsv.confirm.cancel': 'Cancel this booking?', 'rsv.cancelled': 'This booking is cancelled.',
    'rsv.status.booked': 'Booked', 'rsv.status.cancelled': 'Cancelled', 'rsv.status.checked_in': 'Checked in', 'rsv.status.no_show': 'Not attended',
    'rsv.yourbooking': 'Your booking', 'rsv.lookup': 'Check or cancel by code', 'rsv.lookup.go': 'Check', 'rsv.home': 'Back to the entrance',
    'rsv.cancel.until': 'Online cancellation until {when}',
    'rsv.error.slot_full': 'That time has just been fully booked. Please choose another.',
    'rsv.error.slot_started': 'That time has already started. Please choose another.',
    'rsv.error.unknown_booking': 'No booking has that code. Please check it.',
    'rsv.error.too_late_to_cancel': 'It is too late to cancel online. Please contact the office.',
    'rsv.error.booking_closed': 'This booking has already been cancelled or used.',
    'rsv.error.rate_limited': 'Too many attempts. Please wait a while and try again.',
    'rsv.error.invalid_request': 'Please check what you entered (the e-mail address, for example).',
    'rsv.error.network': 'Cannot reach the server. Please check your connection.', 'rsv.error.other': 'Something went wrong. Please try again.',
  },
};
for (const [lang, s] of Object.entries(STRINGS)) Object.assign(LANGS[lang], s);

const $ = (id) => document.getElementById(id);
const PREFS = 'yakuba.prefs';
const state = { catalogue: null, dept: null, topic: null, slots: [], slot: null, booking: null };
window.__reserve = state; // for tests

function prefs() {
  try { return JSON.parse(localStorage.getItem(PREFS)) || {}; } catch (e) { return {}; }
}
function savePrefs(p) {
  try { localStorage.setItem(PREFS, JSON.stringify(p)); } catch (e) { /* private mode */ }
}
const nameOf = (o) => (o.name && (o.name[getLang()] || o.name.ja)) || o.id;

function fmt(iso, opts) {
  return new Intl.DateTimeFormat(getLang() === 'en' ? 'en-GB' : 'ja-JP', { timeZone: 'Asia/Tokyo', ...opts }).format(new Date(iso));
}
const dayText = (iso) => fmt(iso, { month: 'long', day: 'numeric', weekday: 'short' });
const timeText = (iso) => fmt(iso, { hour: '2-digit', minute: '2-digit', hour12: false });
const slotText = (s) => `${dayText(s.start)} ${timeText(s.start)}–${timeText(s.end)}`;

function showError(code) {
  const known = ['slot_full', 'slot_started', 'unknown_booking', 'too_late_to_cancel', 'booking_closed', 'rate_limited', 'invalid_request', 'network'];
  $('rsv-error').textContent = code ? t('rsv.error.' + (known.includes(code) ? code : 'other')) : '';
  if (code) document.documentElement.dataset.error = code;
}
async function call(url, opts) {
  showError(null);
  try {
    return await apiJson(url, opts);
  } catch (e) {
    showError(e.code || (e.status ? 'other' : 'network'));
    throw e;
  }
}

function button(label, sub, onClick) {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'btn';
  const main = document.createElement('span');
  main.textContent = label;
  b.append(main);
  if (sub) { const s = document.createElement('small'); s.textContent = sub; b.append(s); }
  b.addEventListener('click', onClick);
  li.append(b);
  return li;
}

function show(step) {
  $('step-pick').hidden = step !== 'pick';
  $('step-details').hidden = step !== 'details';
  $('step-done').hidden = step !== 'done';
  $('lookup').hidden = step === 'done';
}

function renderPick() {
  show('pick');
  const box = $('choices');
  box.replaceChildren();
  const picked = [state.dept && nameOf(state.dept), state.topic && nameOf(state.topic)].filter(Boolean);
  $('picked').textContent = picked.join(' › ');
  $('back').hidden = !state.dept;
  const ul = document.createElement('ul');
  ul.className = 'rsv-list';
  if (!state.dept) {
    $('step-title').textContent = t('rsv.step.department');
    for (const d of state.catalogue.departments) ul.append(button(nameOf(d), null, () => { state.dept = d; renderPick(); }));
  } else if (!state.topic) {
    $('step-title').textContent = t('rsv.step.topic');
    for (const tp of state.dept.topics) ul.append(button(nameOf(tp), t('rsv.minutes', { n: tp.minutes }), () => pickTopic(tp)));
  } else {
    $('step-title').textContent = t('rsv.step.slot');
    if (!state.slots.length) {
      const p = document.createElement('p');
      p.textContent = t('rsv.noslots');
      box.append(p);
    }
    let day = null;
    for (const s of state.slots) {
      const d = dayText(s.start);
      if (d !== day) {
        day = d;
        const h = document.createElement('h3');
        h.className = 'rsv-day';
        h.textContent = d;
        box.append(h);
        const list = document.createElement('ul');
        list.className = 'rsv-list';
        box.append(list);
      }
      box.lastElementChild.append(button(`${timeText(s.start)}–${timeText(s.end)}`, t('rsv.free', { n: s.free }), () => pickSlot(s)));
    }
    return;
  }
  box.append(ul);
}

async function pickTopic(tp) {
  state.topic = tp;
  const r = await call(`api/consult/slots?topic=${encodeURIComponent(tp.id)}`);
  state.slots = r.slots;
  renderPick();
}

function pickSlot(s) {
  state.slot = s;
  show('details');
  $('picked-slot').textContent = `${nameOf(state.topic)} — ${slotText(s)}`;
  $('rsv-name').focus();
}

function renderDone(b) {
  state.booking = b;
  show('done');
  document.documentElement.dataset.code = b.code;
  $('done-title').textContent = b.status === 'booked' && state.slot ? t('rsv.done') : t('rsv.yourbooking');
  $('code').textContent = b.code;
  const topic = state.catalogue?.departments.flatMap((d) => d.topics).find((x) => x.id === b.slot.topic);
  $('done-slot').textContent = `${topic ? nameOf(topic) : b.slot.topic} — ${slotText(b.slot)}`;
  const st = $('done-status');
  st.className = 'rsv-status-' + b.status;
  st.textContent = `${t('rsv.status.' + b.status)}` + (b.status === 'booked' ? ` · ${t('rsv.cancel.until', { when: `${dayText(b.cancel_until)} ${timeText(b.cancel_until)}` })}` : '');
  $('ics').href = new URL(b.ics_url.replace(/^\//, ''), document.baseURI).href;
  $('ics').hidden = b.status === 'cancelled';
  $('cancel').hidden = b.status !== 'booked';
  $('code').focus?.();
}

async function book(e) {
  e.preventDefault();
  const btn = $('book');
  btn.disabled = true;
  btn.textContent = t('rsv.working');
  const body = { slot: state.slot.id, lang: getLang() };
  const name = $('rsv-name').value.trim();
  const email = $('rsv-email').value.trim();
  if (name) body.name = name;
  if (email) body.email = email;
  try {
    renderDone(await call('api/consult/bookings', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
    history.replaceState(null, '', `?code=${state.booking.code}`);
  } catch (err) {
    if (err.code === 'slot_full' || err.code === 'slot_started') await pickTopic(state.topic); // show what is still free
  } finally {
    btn.disabled = false;
    btn.textContent = t('rsv.book');
  }
}

async function lookup(code) {
  try { renderDone(await call(`api/consult/bookings/${encodeURIComponent(code)}`)); } catch (e) { /* told */ }
}

async function cancel() {
  if (!confirm(t('rsv.confirm.cancel'))) return;
  try { renderDone(await call(`api/consult/bookings/${encodeURIComponent(state.booking.code)}`, { method: 'DELETE' })); } catch (e) { /* told */ }
}

function applyLang(lang) {
  const p = prefs();
  p.lang = setLang(lang);
  savePrefs(p);
  applyI18n();
  document.title = t('rsv.title');
  for (const el of document.querySelectorAll('input[name=lang]')) el.checked = el.value === p.lang;
  if (state.catalogue && !$('step-pick').hidden) renderPick();
  if (state.booking && !$('step-done').hidden) renderDone(state.booking);
}
function applySize(size) {
  const p = prefs();
  p.size = ['normal', 'large', 'xlarge'].includes(size) ? size : 'normal';
  savePrefs(p);
  document.documentElement.dataset.size = p.size;
  for (const el of document.querySelectorAll('input[name=size]')) el.checked = el.value === p.size;
}

async function init() {
  const q = new URLSearchParams(location.search);
  applyLang(q.get('lang') || prefs().lang || 'ja');
  applySize(prefs().size);
  document.addEventListener('change', (e) => {
    if (e.target.name === 'lang') applyLang(e.target.value);
    else if (e.target.name === 'size') applySize(e.target.value);
  });
  const back = () => {
    if (state.topic) { state.topic = null; state.slots = []; } else state.dept = null;
    renderPick();
  };
  $('back').addEventListener('click', back);
  $('back2').addEventListener('click', () => renderPick());
  $('step-details').addEventListener('submit', book);
  $('cancel').addEventListener('click', cancel);
  $('lookup').addEventListener('submit', (e) => { e.preventDefault(); const c = $('lookup-code').value.trim(); if (c) lookup(c); });
  try {
    state.catalogue = await call('api/consult/catalogue');
    renderPick();
  } catch (e) { /* told */ }
  if (q.get('code')) await lookup(q.get('code'));
  document.documentElement.dataset.ready = '1';
}
init();
