// Translation files live in ./i18n/<lang>.json; add a language by adding a file and a radio button.
import ja from './i18n/ja.json';
import en from './i18n/en.json';

export const LANGS = { ja, en };
let current = 'ja';

export function setLang(lang) {
  current = LANGS[lang] ? lang : 'ja';
  document.documentElement.lang = current;
  return current;
}
export function getLang() { return current; }

export function t(key, vars) {
  let s = LANGS[current][key] ?? LANGS.ja[key] ?? key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

/** Fill every data-i18n / data-i18n-aria / data-i18n-ph element under root. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  for (const el of root.querySelectorAll('[data-i18n-ph]')) el.setAttribute('placeholder', t(el.dataset.i18nPh));
}

/** A zone's display name from the plan, in the current language. */
export function zoneName(plan, id) {
  const z = plan && plan.zones.find((q) => q.id === id);
  if (!z) return t('zone.unknown');
  return z.name[current] || z.name.ja;
}
