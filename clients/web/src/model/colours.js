// Colouring rules and the legend: which colour a building gets in each mode (from a view's state
// ``S`` and the palette), and the legend that explains them. No DOM ids: any view can use them.
import * as P from './palette.js';
import { trIn } from './ctx.js';
import { classLabel, runAssumptions } from './assumptions.js';

export function labelOf(S, col, code) {
  const tr = (k) => trIn(S.lang, k);
  if (!code) return tr('unknown');
  const ja_ = S.meta?.code_labels?.[col]?.[code];
  const en_ = S.meta?.code_labels_en?.[col]?.[code];
  return (S.lang === 'en' ? en_ || ja_ : ja_ || en_) || `${tr('unknown')} (${code})`;
}

export function categorical(S, col, table) {
  // colour per code: fixed table first, a deterministic fallback palette for the rest
  const codes = [...new Set(S.attrs.filter(Boolean).map((a) => a[col]).filter(Boolean))].sort();
  const map = {};
  let k = 0;
  for (const c of codes) map[c] = table[c] || P.CATEGORICAL[k++ % P.CATEGORICAL.length];
  return map;
}

export function heightBin(h) {
  if (!(h > 0)) return -1;
  return P.HEIGHT_BINS.findIndex((b) => h >= b.lo && h < b.hi);
}

// Fire state per feature at time t: ignition_s null = never reached.
export function fireStateAt(run, fid, t) {
  const cls = run.class[fid];
  if (cls === 5) return 3;
  const ign = run.ignition_s[fid];
  if (ign === null || ign === undefined || ign > t) return cls === 0 ? 4 : 0;
  return t < ign + run.burn_duration_s[fid] ? 1 : 2;
}

export const STATE_KEYS = ['unburnt', 'burning', 'burnt', 'removed', 'fireproof'];

/** The colour of feature ``fid``; ``ctx``: {map, cl, rank} (categorical / cluster tables), ``run``
 * and ``state`` (fire state per feature) for the side being painted. */
export function colourFor(S, fid, ctx) {
  const a = S.attrs[fid];
  switch (S.mode) {
    case 'structure': return ctx.map[a?.structure_code] || P.UNKNOWN;
    case 'fireproof': return P.FIREPROOF[a?.fireproof_code] || P.UNKNOWN;
    case 'usage': return ctx.map[a?.usage_code] || P.UNKNOWN;
    case 'height': { const b = heightBin(a?.height); return b < 0 ? P.UNKNOWN : P.HEIGHT_BINS[b].c; }
    case 'fireclass': return S.classes ? P.FIRE_CLASS[S.classes[fid]] || P.UNKNOWN : P.UNKNOWN;
    case 'cluster': {
      if (!ctx.cl) return P.UNKNOWN;
      const lab = ctx.cl.labels[fid];
      if (lab < 0 || lab === undefined) return S.classes && S.classes[fid] === 5 ? P.FIRE_CLASS[5] : P.CLUSTER_BARRIER;
      const rank = ctx.rank.get(lab);
      return rank === undefined ? P.CLUSTER_SINGLE : P.CLUSTER[rank % P.CLUSTER.length];
    }
    case 'fire': {
      if (!ctx.run) return S.classes && S.classes[fid] === 0 ? P.FIRE_STATE.fireproof : P.FIRE_STATE.unburnt;
      return P.FIRE_STATE[STATE_KEYS[ctx.state[fid]]];
    }
    default: return P.UNKNOWN;
  }
}

export function clusterCtx(S) {
  const cl = S.clusters ? (S.largeFire ? S.clusters.clusters_large_fire : S.clusters.clusters) : null;
  const rank = new Map();
  if (cl) {
    const order = cl.sizes.map((n, i) => [n, i]).filter(([n]) => n >= 2).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    order.forEach(([, i], r) => rank.set(i, r));
  }
  return { cl, rank };
}

export function legendItems(S) {
  const tr = (k, v) => trIn(S.lang, k, v);
  const labelOf_ = (col, code) => labelOf(S, col, code);
  const items = [];
  const add = (hex, label) => items.push({ hex, label });
  if (S.mode === 'structure' || S.mode === 'usage') {
    const col = S.mode === 'structure' ? 'structure_code' : 'usage_code';
    const map = categorical(S, col, S.mode === 'structure' ? P.STRUCTURE : P.USAGE);
    for (const [code, hex] of Object.entries(map)) add(hex, `${labelOf_(col, code)}`);
    add(P.UNKNOWN, tr('unknown'));
  } else if (S.mode === 'fireproof') {
    for (const [code, hex] of Object.entries(P.FIREPROOF)) add(hex, labelOf_('fireproof_code', code) === `${tr('unknown')} (${code})` ? { 1001: tr('class_0'), 1002: tr('class_1'), 1003: S.lang === 'ja' ? 'その他' : 'Other' }[code] : labelOf_('fireproof_code', code));
    add(P.UNKNOWN, tr('unknown'));
  } else if (S.mode === 'height') {
    for (const b of P.HEIGHT_BINS) add(b.c, b.hi === Infinity ? tr('height_over', { a: b.lo }) : tr('height_bin', { a: b.lo, b: b.hi }));
    add(P.UNKNOWN, tr('unknown'));
  } else if (S.mode === 'fireclass') {
    const legend = (S.runs?.[S.shown] || S.runs?.A || S.runs?.B)?.class_legend;
    P.FIRE_CLASS.forEach((hex, k) => add(hex, classLabel(k, S.lang, legend)));
  } else if (S.mode === 'cluster') {
    const { cl, rank } = clusterCtx(S);
    if (cl) {
      const top = [...rank.entries()].sort((a, b) => a[1] - b[1]).slice(0, 8);
      for (const [lab, r] of top) {
        const p = cl.probability ? cl.probability[lab] : null;
        add(P.CLUSTER[r % P.CLUSTER.length], tr('cluster_item', { n: cl.sizes[lab], p: p === null ? '—' : p.toFixed(4) }));
      }
    }
    add(P.CLUSTER_SINGLE, tr('cluster_none'));
    add(P.CLUSTER_BARRIER, tr('cluster_barrier'));
  } else if (S.mode === 'fire') {
    add(P.FIRE_STATE.burning, tr('state_burning'));
    add(P.FIRE_STATE.burnt, tr('state_burnt'));
    add(P.FIRE_STATE.unburnt, tr('state_unburnt'));
    add(P.FIRE_STATE.fireproof, tr('state_fireproof'));
    add(P.FIRE_STATE.removed, tr('state_removed'));
    // What the shown run assumed (model, brigades, firebrands, notes): stated, not implied.
    for (const line of runAssumptions(S.runs?.[S.shown], S.lang)) add(null, line);
  }
  return items;
}

/** Fill the list ``ul`` with the legend of ``S``'s colour mode (counts of loaded buildings). */
export function renderLegend(ul, S) {
  if (!ul) return;
  const tr = (k) => trIn(S.lang, k);
  ul.replaceChildren();
  const seenKey = new Set();
  if (S.mode === 'cluster') {
    const li = document.createElement('li');
    li.className = 'm-small';
    li.textContent = tr('cluster_legend');
    ul.appendChild(li);
  }
  for (const it of legendItems(S)) {
    if (seenKey.has(it.hex + it.label) || (it.hex === P.UNKNOWN && [...seenKey].some((k) => k.startsWith(P.UNKNOWN)))) continue;
    seenKey.add(it.hex + it.label);
    const li = document.createElement('li');
    const lab = document.createElement('span');
    lab.textContent = it.label;
    if (it.hex) {
      const sw = document.createElement('span');
      sw.className = 'sw';
      sw.style.background = it.hex;
      li.append(sw, lab);
    } else {
      li.className = 'm-legend-note';
      li.append(lab);
    }
    const n = S.legendCounts?.[it.hex];
    if (n && S.mode !== 'cluster') {
      const c = document.createElement('span');
      c.className = 'n';
      c.textContent = `${n}`;
      li.appendChild(c);
    }
    ul.appendChild(li);
  }
}
