// The attribute panel of the selected building, and the ignition point chosen from it.
import { apiJson } from '../api.js';
import { $, S, tr, hooks } from './ctx.js';
import { describeBuilding, onIgnitionChosen } from './ignition.js';

export async function select(fid) {
  S.selected = fid;
  S.selectedInfo = null;
  hooks.recolour();
  renderAttributes();
  if (fid < 0) return;
  const gid = S.attrs[fid]?.gml_id;
  if (!gid) return;
  try {
    const info = await apiJson(`/api/datasets/${encodeURIComponent(S.ds)}/buildings/${encodeURIComponent(gid)}`);
    if (S.selected === fid) { S.selectedInfo = info; renderAttributes(); }
  } catch (e) {
    if (S.selected === fid) { S.selectedInfo = { error: e.message, gml_id: gid }; renderAttributes(); }
  }
}

export function renderAttributes() {
  const dl = $('m-attr-list');
  dl.replaceChildren();
  const info = S.selectedInfo;
  $('m-attr-hint').hidden = S.selected >= 0;
  $('m-attr-actions').hidden = !(info && !info.error);
  if (S.selected < 0) return;
  const rows = [];
  const num = (v, unit, d = 1) => (v === null || v === undefined ? tr('unknown') : `${Number(v).toFixed(d)} ${unit}`.trim());
  const fid = S.selected;
  rows.push(['gml_id', info?.gml_id || S.attrs[fid]?.gml_id || '—']);
  if (info?.error) rows.push(['attributes', info.error]);
  if (info && !info.error) {
    const code = (col) => {
      const c = info.codes?.[col];
      if (!c || !c.code) return tr('unknown');
      const label = S.lang === 'en' ? c.en || c.ja : c.ja || c.en;
      return `${label || tr('unknown')}（${c.code}）`;
    };
    rows.push(['building_id', info.attributes?.building_id || tr('unknown')]);
    rows.push(['height', num(info.height, 'm')]);
    rows.push(['storeys_above', info.storeys_above ?? tr('unknown')]);
    rows.push(['storeys_below', info.storeys_below ?? tr('unknown')]);
    rows.push(['year', info.year ?? tr('unknown')]);
    rows.push(['total_floor_area', num(info.total_floor_area, 'm²')]);
    rows.push(['footprint_area', num(info.footprint_area, 'm²')]);
    rows.push(['structure_code', code('structure_code')]);
    rows.push(['fireproof_code', code('fireproof_code')]);
    rows.push(['usage_code', code('usage_code')]);
    rows.push(['class_code', code('class_code')]);
    if (S.classes) rows.push(['mode_fireclass', tr(`class_${S.classes[fid]}`)]);
    rows.push(['feature_id', info.feature_id]);
  }
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = tr(k);
    const dd = document.createElement('dd');
    dd.textContent = String(v);
    if (k === 'gml_id') dd.id = 'm-attr-gmlid';
    dl.append(dt, dd);
  }
}

$('m-set-ign').addEventListener('click', () => {
  const gid = S.selectedInfo?.gml_id;
  if (!gid) return;
  S.ignition = gid;
  updateIgnitionText();
});
$('m-ign-clear').addEventListener('click', () => { S.ignition = null; updateIgnitionText(); });
export function updateIgnitionText() {
  $('m-ign').textContent = S.ignition ? tr('ignition_set', { label: describeBuilding(S.ignition) }) : tr('ignition_auto');
  $('m-ign').title = S.ignition || '';
  $('m-ign-clear').hidden = !S.ignition;
}
// Chosen by keyboard: it is also the selected building (attributes, highlight).
onIgnitionChosen((fid) => { updateIgnitionText(); select(fid); });
