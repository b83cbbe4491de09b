// What a run assumed, in words, from its result (no DOM: the model page's panel and legend and the
// hall's screen use it): the model, the brigades and their outcome, firebrands, the run's notes;
// and the class legend the server sent (gis/firespread/run.py class_legend), so the legend says
// what the simulation assumed (不明 spreads as 防火造; 耐火 does not burn and shields).
import { trIn } from './ctx.js';

function hm(lang, seconds) {
  const m = Math.round(seconds / 60);
  return trIn(lang, 'h_m', { h: Math.floor(m / 60), m: m % 60 });
}

export function runAssumptions(result, lang) {
  const tr = (k, v) => trIn(lang, k, v);
  if (!result) return [];
  const lines = [tr(result.model === 'physics' ? 'model_used_physics' : 'model_used_hamada')];
  const sup = result.suppression;
  if (sup) {
    lines.push(tr('sup_stated', { d: sup.delay_min, n: sup.brigades, f: sup.front_m, i: sup.interval_min }));
    if (result.contained_s != null) lines.push(tr('sup_contained', { t: hm(lang, result.contained_s) }));
    else if ((result.summary?.buildings_burnt ?? 0) > 1) lines.push(tr('sup_not_contained'));
  }
  if (result.spotting) lines.push(tr('spotting_on'));
  for (const n of result.notes || []) lines.push(lang === 'en' ? n.en : n.ja);
  return lines;
}

const KEYS = ['fireproof', 'quasi_fireproof', 'protected_wood', 'bare_wood', 'unknown', 'removed'];

/** The legend label of structure class k: from the run's class_legend when there is one. */
export function classLabel(k, lang, legend) {
  const tr = (key, v) => trIn(lang, key, v);
  const base = tr(`class_${k}`);
  const item = legend?.[String(k)];
  const burns = item ? item.burns : !(k === 0 || k === 5);
  const spreadsAs = item ? item.spreads_as : (k === 4 ? 'protected_wood' : null);
  if (k === 5) return base;
  if (!burns) return tr('class_noburn', { c: base });
  if (spreadsAs) return tr('class_spreads_as', { c: base, as: tr(`class_${KEYS.indexOf(spreadsAs)}`) });
  return base;
}
