// The fire's origin without a mouse, and in words: a combobox that finds buildings by their
// number (feature id) or part of their id, arrow keys to move through the matches, Enter to
// choose; the chosen building is named by what it is (structure, height, use) and its number,
// not by a raw gml:id alone.
import { $, S, tr } from './ctx.js';
import { labelOf } from './colours.js';

const MAX_MATCHES = 12;
let matches = [];
let active = -1;

function fidOf(gid) {
  if (!S._fidByGid || S._fidByGidN !== S.attrs.length) {
    S._fidByGid = new Map(S.attrs.map((a, i) => [a?.gml_id, i]));
    S._fidByGidN = S.attrs.length;
  }
  return S._fidByGid.get(gid) ?? -1;
}

/** "木造・高さ 7.0 m・店舗（建物 1234）" for a building id. */
export function describeBuilding(gid) {
  const fid = fidOf(gid);
  const a = fid >= 0 ? S.attrs[fid] : null;
  if (!a) return tr('building_n', { n: gid });
  const parts = [];
  if (a.structure_code) parts.push(labelOf(S, 'structure_code', a.structure_code));
  if (a.height > 0) parts.push(tr('height_m', { h: Number(a.height).toFixed(1) }));
  if (a.usage_code) parts.push(labelOf(S, 'usage_code', a.usage_code));
  return `${parts.join('・') || tr('unknown')}（${tr('building_n', { n: fid })}）`;
}

function find(q) {
  q = q.trim().toLowerCase();
  if (!q) return [];
  const out = [];
  const n = Number(q);
  if (Number.isInteger(n) && n >= 0 && n < S.attrs.length && S.attrs[n]) out.push(n);
  for (let i = 0; i < S.attrs.length && out.length < MAX_MATCHES; i++) {
    const g = S.attrs[i]?.gml_id;
    if (g && i !== n && g.toLowerCase().includes(q)) out.push(i);
  }
  return out;
}

function render() {
  const ul = $('m-ign-list');
  ul.replaceChildren();
  const input = $('m-ign-search');
  matches.forEach((fid, k) => {
    const li = document.createElement('li');
    li.id = `m-ign-opt-${k}`;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(k === active));
    li.textContent = describeBuilding(S.attrs[fid].gml_id);
    li.addEventListener('mousedown', (ev) => { ev.preventDefault(); choose(fid); });
    ul.appendChild(li);
  });
  if (input.value.trim() && !matches.length) {
    const li = document.createElement('li');
    li.className = 'm-hint';
    li.textContent = tr('ign_none_found');
    ul.appendChild(li);
  }
  ul.hidden = !input.value.trim();
  input.setAttribute('aria-expanded', String(!ul.hidden));
  if (active >= 0) input.setAttribute('aria-activedescendant', `m-ign-opt-${active}`);
  else input.removeAttribute('aria-activedescendant');
}

let onChosen = () => {};
export function onIgnitionChosen(fn) { onChosen = fn; }

function choose(fid) {
  S.ignition = S.attrs[fid].gml_id;
  $('m-ign-search').value = '';
  matches = [];
  active = -1;
  render();
  onChosen(fid);
}

$('m-ign-search').addEventListener('input', () => {
  matches = find($('m-ign-search').value);
  active = matches.length ? 0 : -1;
  render();
});
$('m-ign-search').addEventListener('keydown', (ev) => {
  if (ev.key === 'ArrowDown' && matches.length) { active = (active + 1) % matches.length; render(); ev.preventDefault(); }
  else if (ev.key === 'ArrowUp' && matches.length) { active = (active - 1 + matches.length) % matches.length; render(); ev.preventDefault(); }
  else if (ev.key === 'Enter') { ev.preventDefault(); if (active >= 0) choose(matches[active]); }
  else if (ev.key === 'Escape') { $('m-ign-search').value = ''; matches = []; active = -1; render(); }
});
$('m-ign-search').addEventListener('blur', () => { $('m-ign-list').hidden = true; $('m-ign-search').setAttribute('aria-expanded', 'false'); });
