// Staff login page: posts JSON to /api/auth/login (same-origin cookie), then returns to the
// entrance, where the socket connection picks up the session and the HUD shows the staff badge.
// Errors are told by code (wrong password, throttled), never by the server's English message.
import { t, setLang, applyI18n } from './i18n.js';

const $ = (id) => document.getElementById(id);
const PREFS = 'yakuba.prefs';

function prefs() {
  try { return JSON.parse(localStorage.getItem(PREFS)) || {}; } catch (e) { return {}; }
}
function applyLang(lang) {
  const p = prefs();
  p.lang = setLang(lang);
  try { localStorage.setItem(PREFS, JSON.stringify(p)); } catch (e) { /* private mode */ }
  applyI18n();
  document.title = t('login.title');
  for (const el of document.querySelectorAll('input[name=lang]')) el.checked = el.value === p.lang;
}

async function api(path, body) {
  const r = await fetch(new URL(path, document.baseURI), {
    method: body ? 'POST' : 'GET',
    credentials: 'same-origin',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await r.json(); } catch (e) { /* not JSON: handled by status */ }
  return { status: r.status, data };
}

function showError(code) {
  const known = ['login_failed', 'login_throttled', 'csrf_failed', 'network'];
  $('login-error').textContent = t('login.error.' + (known.includes(code) ? code : 'other'));
  document.documentElement.dataset.loginError = code;
}

async function submit() {
  const username = $('username').value.trim();
  const password = $('password').value;
  $('login-error').textContent = '';
  if (!username || !password) { $('login-error').textContent = t('login.missing'); return; }
  const btn = $('login-submit');
  btn.disabled = true;
  btn.textContent = t('login.working');
  try {
    const { status, data } = await api('api/auth/login', { username, password });
    if (status === 200) {
      $('login-status').textContent = t('login.done');
      document.documentElement.dataset.loggedIn = '1';
      // back to the page that sent us here: only a page of this site (no open redirect)
      const next = new URLSearchParams(location.search).get('next') || '';
      location.assign(new URL(/^[a-z0-9_-]+\.html(\?[^#]*)?$/i.test(next) ? next : './', document.baseURI));
      return;
    }
    showError((data && data.error && data.error.code) || 'other');
    $('password').value = '';
    $('password').focus();
  } catch (e) {
    showError('network');
  } finally {
    btn.disabled = false;
    btn.textContent = t('login.submit');
  }
}

function init() {
  const lang = new URLSearchParams(location.search).get('lang') || prefs().lang || 'ja';
  applyLang(lang);
  document.addEventListener('change', (e) => { if (e.target.name === 'lang') applyLang(e.target.value); });
  $('login-form').addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  api('api/auth/me').then(({ data }) => {
    const p = data && data.principal;
    if (p && p.kind !== 'resident') $('login-status').textContent = t('login.already', { municipality: p.municipality || '' });
  }).catch(() => {});
  $('username').focus();
  document.documentElement.dataset.ready = '1';
}
init();
