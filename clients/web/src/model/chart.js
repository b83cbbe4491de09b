// Burnt-area-over-time chart on a plain canvas (no chart library): one line per run (A solid,
// B dashed), a cursor at the playback time. Redrawn on every time change; cheap (a few hundred
// points).

const COLOURS = { A: '#d9481c', B: '#2f5fa8' };

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export function drawChart(canvas, runs, tSec, tMaxSec, opts) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const font = '"Noto Sans CJK JP", "Noto Sans JP", sans-serif';
  const L = 62, R = 12, T = 26, B = 26;
  const pw = w - L - R, ph = h - T - B;
  let yMax = 0;
  for (const r of Object.values(runs)) if (r) for (const v of r.series.burnt_footprint_area_m2) yMax = Math.max(yMax, v);
  yMax = niceMax(yMax * 1.05);
  const tMax = Math.max(tMaxSec, 60);
  const X = (t) => L + (t / tMax) * pw;
  const Y = (v) => T + ph - (v / yMax) * ph;
  // axes + grid
  g.strokeStyle = '#c9c4b8';
  g.lineWidth = 1;
  g.fillStyle = '#3a3a3a';
  g.font = `13px ${font}`;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let k = 0; k <= 4; k++) {
    const v = (yMax * k) / 4, y = Y(v);
    g.beginPath(); g.moveTo(L, y); g.lineTo(L + pw, y); g.stroke();
    g.fillText(v >= 10000 ? `${(v / 10000).toFixed(1)}万` : `${Math.round(v)}`, L - 6, y);
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  const hours = tMax / 3600;
  const step = hours <= 3 ? 0.5 : hours <= 8 ? 1 : hours <= 24 ? 3 : 12;
  for (let hh = 0; hh <= hours + 1e-9; hh += step) {
    g.fillText(`${Number.isInteger(hh) ? hh : hh.toFixed(1)}h`, X(hh * 3600), T + ph + 6);
  }
  // lines
  for (const [slot, r] of Object.entries(runs)) {
    if (!r) continue;
    const ts = r.series.t_s, vs = r.series.burnt_footprint_area_m2;
    g.strokeStyle = COLOURS[slot];
    g.lineWidth = slot === opts.shown ? 3 : 2;
    g.setLineDash(slot === 'B' ? [7, 5] : []);
    g.globalAlpha = slot === opts.shown ? 1 : 0.55;
    g.beginPath();
    for (let i = 0; i < ts.length; i++) {
      const x = X(Math.min(ts[i], tMax)), y = Y(vs[i]);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    }
    g.stroke();
    g.globalAlpha = 1;
    g.setLineDash([]);
    // label at the end of the line
    g.fillStyle = COLOURS[slot];
    g.font = `bold 14px ${font}`;
    g.textAlign = 'left';
    g.textBaseline = 'bottom';
    const last = vs.length ? vs[vs.length - 1] : 0;
    g.fillText(slot, Math.min(X(ts[ts.length - 1] || 0), L + pw - 14) + 2, Y(last) - 2);
  }
  // cursor
  g.strokeStyle = '#111';
  g.lineWidth = 1.5;
  g.beginPath(); g.moveTo(X(tSec), T); g.lineTo(X(tSec), T + ph); g.stroke();
}
