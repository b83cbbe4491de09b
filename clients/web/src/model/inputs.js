// Checked inputs of the scenario form: a number that is empty, not a number or out of range gets
// a message next to its field (and aria-invalid, and the focus), and no request is sent. Never
// clamped: a planner who typed 500 hours must learn that 72 is the limit, not get 72 silently.
import { $, S, tr } from './ctx.js';
import { runAssumptions } from './assumptions.js';

export class FieldError extends Error {
  constructor(el, message) {
    super(message);
    this.el = el;
  }
}

function labelOf(el) {
  return (el.labels?.[0]?.textContent || el.id).replace(/\s*\(.*\)\s*$/, '').trim();
}

/** The field's value as a number within [lo, hi] (integer if asked), or a FieldError. */
export function checkedNumber(id, lo, hi, { integer = false } = {}) {
  const el = $(id);
  const raw = String(el.value ?? '').trim();
  const name = labelOf(el);
  if (raw === '' || el.validity?.badInput) throw new FieldError(el, tr('err_empty', { name, lo, hi }));
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new FieldError(el, tr('err_empty', { name, lo, hi }));
  if (v < lo || v > hi) throw new FieldError(el, tr('err_range', { name, lo, hi, v: raw }));
  if (integer && !Number.isInteger(v)) throw new FieldError(el, tr('err_integer', { name }));
  return v;
}

function errorNode(el) {
  const id = `${el.id}-err`;
  let n = document.getElementById(id);
  if (!n) {
    n = document.createElement('p');
    n.id = id;
    n.className = 'm-field-error m-error';
    n.setAttribute('role', 'alert');
    el.insertAdjacentElement('afterend', n);
  }
  return n;
}

export function showFieldError(err) {
  const el = err.el;
  el.setAttribute('aria-invalid', 'true');
  const n = errorNode(el);
  n.textContent = err.message;
  const described = new Set((el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
  described.add(n.id);
  el.setAttribute('aria-describedby', [...described].join(' '));
  el.focus();
}

export function clearFieldError(el) {
  el.removeAttribute('aria-invalid');
  const n = document.getElementById(`${el.id}-err`);
  if (n) n.remove();
}

export function clearFieldErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) clearFieldError(el);
}

// Typing in a field takes its message away.
$('m-fire-form').addEventListener('input', (ev) => {
  if (ev.target?.getAttribute?.('aria-invalid') === 'true') clearFieldError(ev.target);
});

// Brigades: off by default; the fields show when it is on.
$('m-sup').addEventListener('change', () => { $('m-sup-fields').hidden = !$('m-sup').checked; });

/** {model, suppression?} for the request body. */
export function modelAndSuppression() {
  const out = { model: $('m-model').value === 'physics' ? 'physics' : 'hamada' };
  if ($('m-sup').checked) {
    out.suppression = {
      delay_min: checkedNumber('m-sup-delay', 0, 180),
      brigades: checkedNumber('m-sup-n', 1, 200, { integer: true }),
      front_m: checkedNumber('m-sup-front', 5, 200),
      interval_min: checkedNumber('m-sup-int', 0, 60),
    };
  }
  return out;
}

export function renderRunNotes(result) {
  const ul = $('m-run-notes');
  ul.replaceChildren();
  if (!result) return;
  for (const line of runAssumptions(result, S.lang)) {
    const li = document.createElement('li');
    li.textContent = line;
    ul.appendChild(li);
  }
}
