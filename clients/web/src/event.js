// Event registration page (no account): the upcoming events in the hall -> an optional name for
// the name tag (and e-mail) -> the code, big, and whether you attend (an avatar in the hall) or
// watch as a spectator (the same view without an avatar: hall-watch.html). ?event=ID&code=XXXX-XXXX
// opens a registration. Times in Japan time whatever the device's zone. API: docs/protocol.md.
import { t, setLang, applyI18n, getLang, LANGS } from './i18n.js';
import { apiJson } from './api.js';

const STRINGS = {
  ja: {
    'ev.title': '説明会・イベントの参加登録',
    'ev.lead': 'メタバース区役所の説明会ホールで開くイベントに参加登録できます。アカウントは要りません。定員を超えた場合も、アバターなしで同じ画面を見る「観覧」で参加できます。',
    'ev.size': '文字の大きさ', 'ev.size.normal': '標準', 'ev.size.large': '大', 'ev.size.xlarge': '特大',
    'ev.step.pick': '1. 参加するイベントを選んでください', 'ev.step.details': '2. お名前（任意）', 'ev.back': '戻る',
    'ev.none': '今のところ登録できるイベントはありません。後でもう一度ご覧ください。',
    'ev.kind.meeting': '説明会・会議', 'ev.kind.briefing': '採用説明会',
    'ev.places': '残り{n}席', 'ev.full': '満席（観覧で参加できます）', 'ev.running': '開催中',
    'ev.name': 'お名前（任意・名札に表示）', 'ev.email': 'メールアドレス（任意）',
    'ev.email.hint': '職員からの連絡（中止など）にだけ使います。イベントの30日後に消去します。',
    'ev.register': '参加を登録する', 'ev.working': '登録しています…', 'ev.done': '登録しました', 'ev.yours': 'ご登録',
    'ev.code.label': '登録番号',
    'ev.role.attendee': '参加者として登録されています（アバターで会場に入れます）',
    'ev.role.spectator': '観覧で登録されています（定員に達したため、アバターなしで同じ画面をご覧いただけます）',
    'ev.role.cancelled': 'この登録は取り消されています',
    'ev.howto.attendee': '当日はメタバース区役所に入り、行き先メニューから「説明会ホール」へお進みください。この番号はメモするか、画面を保存してください。',
    'ev.howto.spectator': '当日は下の「観覧ページを開く」からご覧ください。参加者に取消が出ると、先に登録した方から順に参加者になります（この番号で確認できます）。',
    'ev.event.cancelled': 'このイベントは中止になりました。', 'ev.event.ended': 'このイベントは終了しました。',
    'ev.watch': '観覧ページを開く', 'ev.enter': 'メタバース区役所に入る', 'ev.cancel': '登録を取り消す', 'ev.again': 'ほかのイベントを見る',
    'ev.confirm.cancel': 'この登録を取り消しますか？',
    'ev.lookup': '登録番号で確認・取消', 'ev.lookup.event': 'イベント', 'ev.lookup.go': '確認する', 'ev.home': '入口に戻る',
    'ev.error.event_closed': 'このイベントは終了したか、中止になりました。',
    'ev.error.unknown_hall_event': 'そのイベントは見つかりません。',
    'ev.error.unknown_registration': 'その登録番号は見つかりません。イベントと番号をお確かめください。',
    'ev.error.registration_cancelled': 'この登録はすでに取り消されています。',
    'ev.error.rate_limited': '試行が多すぎます。しばらくしてからもう一度お試しください。',
    'ev.error.busy': 'このイベントはこれ以上登録できません。',
    'ev.error.invalid_request': '入力内容をお確かめください（メールアドレスの形など）。',
    'ev.error.network': 'サーバーに接続できません。通信環境をお確かめください。', 'ev.error.other': 'うまくいきませんでした。もう一度お試しください。',
  },
  en: {
    'ev.title': 'Register for an event',
    'ev.lead': 'Register for events in the metaverse city hall\'s event hall. No account needed. When the places are taken you can still take part as a spectator: the same view, without an avatar.',
    'ev.size': 'Text size', 'ev.size.normal': 'Normal', 'ev.size.large': 'Large', 'ev.size.xlarge': 'Extra large',
    'ev.step.pick': '1. Choose an event', 'ev.step.details': '2. Your name (optional)', 'ev.back': 'Back',
    'ev.none': 'No events are open for registration yet. Please look again later.',
    'ev.kind.meeting': 'Meeting', 'ev.kind.briefing': 'Recruiting briefing',
    'ev.places': '{n} places left', 'ev.full': 'Full (you can watch as a spectator)', 'ev.running': 'Now on',
    'ev.name': 'Name (optional, shown on your name tag)', 'ev.email': 'E-mail (optional)',
    'ev.email.hint': 'Used only if staff need to reach you (a cancellation, for example). Erased 30 days after the event.',
    'ev.register': 'Register', 'ev.working': 'Registering…', 'ev.done': 'You are registered', 'ev.yours': 'Your registration',
    'ev.code.label': 'Registration code',
    'ev.role.attendee': 'You are an attendee (you can enter the hall with your avatar)',
    'ev.role.spectator': 'You are a spectator (the places are taken: you see the same view, without an avatar)',
    'ev.role.cancelled': 'This registration is cancelled',
    'ev.howto.attendee': 'On the day, enter the metaverse city hall and choose "Event hall" in the destinations menu. Write this code down or save this screen.',
    'ev.howto.spectator': 'On the day, open the spectator page below. If an attendee cancels, spectators become attendees in the order they registered (check with this code).',
    'ev.event.cancelled': 'This event has been cancelled.', 'ev.event.ended': 'This event has ended.',
    'ev.watch': 'Open the spectator page', 'ev.enter': 'Enter the city hall', 'ev.cancel': 'Cancel this registration', 'ev.again': 'See other events',
    'ev.confirm.cancel': 'Cancel this registration?',
    'ev.lookup': 'Check or cancel by code', 'ev.lookup.event': 'Event', 'ev.lookup.go': 'Check', 'ev.home': 'Back to the entrance',
    'ev.error.event_closed': 'This event has ended or has been cancelled.',
    'ev.error.unknown_hall_event': 'That event cannot be found.',
    'ev.error.unknown_registration': 'No registration has that code for this event. Please check both.',
    'ev.error.registration_cancelled': 'This registration has already been cancelled.',
    'ev.error.rate_limited': 'Too many attempts. Please wait a while and try again.',
    'ev.error.busy': 'This event takes no more registrations.',
    'ev.error.invalid_request': 'Please check what you entered (the e-mail address, for example).',
    'ev.error.network': 'Cannot reach the server. Please check your connection.', 'ev.error.other': 'Something went wrong. Please try again.',
  },
};
for (const [lang, s] of Object.entries(STRINGS)) Object.assign(LANGS[lang], s);

const $ = (id) => document.getElementById(id);
const PREFS = 'yakuba.prefs';
const state = { events: [], event: null, reg: null };
window.__event = state; // for tests

function prefs() {
  try { return JSON.parse(localStorage.getItem(PREFS)) || {}; } catch (e) { return {}; }
}
function savePrefs(p) {
  try { localStorage.setItem(PREFS, JSON.stringify(p)); } catch (e) { /* private mode */ }
}

function fmt(iso, opts) {
  return new Intl.DateTimeFormat(getLang() === 'en' ? 'en-GB' : 'ja-JP', { timeZone: 'Asia/Tokyo', ...opts }).format(new Date(iso));
}
const dayText = (iso) => fmt(iso, { month: 'long', day: 'numeric', weekday: 'short' });
const timeText = (iso) => fmt(iso, { hour: '2-digit', minute: '2-digit', hour12: false });
const whenText = (e) => `${dayText(e.starts)} ${timeText(e.starts)}–${timeText(e.ends)}`;
const placesText = (e) => (e.attendees < e.capacity ? t('ev.places', { n: e.capacity - e.attendees }) : t('ev.full'));

const KNOWN = ['event_closed', 'unknown_hall_event', 'unknown_registration', 'registration_cancelled', 'rate_limited', 'busy', 'invalid_request', 'network'];
function showError(code) {
  $('ev-error').textContent = code ? t('ev.error.' + (KNOWN.includes(code) ? code : 'other')) : '';
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

function show(step) {
  $('step-pick').hidden = step !== 'pick';
  $('step-details').hidden = step !== 'details';
  $('step-done').hidden = step !== 'done';
  $('lookup').hidden = step === 'done';
}

function renderPick() {
  show('pick');
  const box = $('events');
  box.replaceChildren();
  if (!state.events.length) {
    const p = document.createElement('p');
    p.textContent = t('ev.none');
    box.append(p);
  }
  const ul = document.createElement('ul');
  ul.className = 'ev-list';
  for (const e of state.events) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn';
    const title = document.createElement('span');
    title.textContent = e.title;
    const sub = document.createElement('small');
    sub.textContent = [t('ev.kind.' + e.kind), whenText(e), e.status === 'running' ? t('ev.running') : null, placesText(e)].filter(Boolean).join(' · ');
    b.append(title, sub);
    b.addEventListener('click', () => pick(e));
    li.append(b);
    ul.append(li);
  }
  box.append(ul);
  const sel = $('lookup-event');
  sel.replaceChildren(...state.events.map((e) => new Option(`${e.title} (${dayText(e.starts)})`, String(e.id))));
}

function pick(e) {
  state.event = e;
  show('details');
  $('picked').textContent = `${e.title} — ${whenText(e)} · ${placesText(e)}`;
  $('ev-name').focus();
}

function renderDone(r, fresh = false) {
  state.reg = r;
  show('done');
  document.documentElement.dataset.code = r.code;
  document.documentElement.dataset.role = r.role;
  $('done-title').textContent = fresh ? t('ev.done') : t('ev.yours');
  $('code').textContent = r.code;
  $('done-event').textContent = `${r.event.title} — ${whenText(r.event)}`;
  const over = r.event.status === 'cancelled' || r.event.status === 'ended';
  const role = r.status === 'cancelled' ? 'cancelled' : r.role;
  $('done-role').className = 'ev-role ev-role-' + role;
  $('done-role').textContent = t('ev.role.' + role);
  $('done-howto').textContent = over ? t('ev.event.' + r.event.status) : (r.status === 'cancelled' ? '' : t('ev.howto.' + r.role));
  const live = r.status === 'registered' && !over;
  $('watch').hidden = !(live && r.role === 'spectator');
  $('watch').href = `./hall-watch.html?lang=${getLang()}`;
  $('enter').hidden = !(live && r.role === 'attendee');
  $('cancel').hidden = !live;
  history.replaceState(null, '', `?event=${r.event.id}&code=${r.code}`);
}

async function register(ev) {
  ev.preventDefault();
  const btn = $('register');
  btn.disabled = true;
  btn.textContent = t('ev.working');
  const body = {};
  const name = $('ev-name').value.trim();
  const email = $('ev-email').value.trim();
  if (name) body.name = name;
  if (email) body.email = email;
  try {
    renderDone(await call(`api/events/${state.event.id}/registrations`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }), true);
  } catch (err) {
    if (err.code === 'event_closed') await load();
  } finally {
    btn.disabled = false;
    btn.textContent = t('ev.register');
  }
}

async function lookup(eventId, code) {
  try { renderDone(await call(`api/events/${encodeURIComponent(eventId)}/registrations/${encodeURIComponent(code)}`)); } catch (e) { /* told */ }
}

async function cancel() {
  if (!confirm(t('ev.confirm.cancel'))) return;
  const r = state.reg;
  try { renderDone(await call(`api/events/${r.event.id}/registrations/${encodeURIComponent(r.code)}`, { method: 'DELETE' })); } catch (e) { /* told */ }
}

async function load() {
  try {
    state.events = (await call('api/events')).events.filter((e) => e.status === 'scheduled' || e.status === 'running');
  } catch (e) { state.events = []; }
  renderPick();
}

function applyLang(lang) {
  const p = prefs();
  p.lang = setLang(lang);
  savePrefs(p);
  applyI18n();
  document.title = t('ev.title');
  for (const el of document.querySelectorAll('input[name=lang]')) el.checked = el.value === p.lang;
  if (!$('step-pick').hidden) renderPick();
  if (state.reg && !$('step-done').hidden) renderDone(state.reg);
  if (state.event && !$('step-details').hidden) pick(state.event);
}
function applySize(size) {
  const p = prefs();
  p.size = ['normal', 'large', 'xlarge'].includes(size) ? size : 'large'; // large text unless chosen otherwise
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
  $('back').addEventListener('click', () => renderPick());
  $('step-details').addEventListener('submit', register);
  $('cancel').addEventListener('click', cancel);
  $('lookup').addEventListener('submit', (e) => {
    e.preventDefault();
    const c = $('lookup-code').value.trim();
    if (c && $('lookup-event').value) lookup($('lookup-event').value, c);
  });
  await load();
  if (q.get('event') && q.get('code')) await lookup(q.get('event'), q.get('code'));
  document.documentElement.dataset.ready = '1';
}
init();
