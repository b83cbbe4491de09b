// The simulation API (server/simulation_api.py): run a scenario as a job and wait for it, or
// fetch a finished run by its id. One place for the model page's form and the hall's presenter.
import { apiJson } from '../api.js';

const cache = new Map(); // simulation id -> promise of its result (a finished run never changes)

/** POST the request, poll until the job ends; ``onProgress(fraction, stage)``. Resolves to
 * {id, result, elapsed_s}; the result carries ``request`` and ``label`` for the page. */
export async function runScenario(ds, body, onProgress = () => {}, shouldStop = () => false) {
  const job = await apiJson(`/api/datasets/${encodeURIComponent(ds)}/simulations`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  let st;
  for (;;) {
    st = await apiJson(job.status_url);
    onProgress(st.progress, st.stage);
    if (st.state === 'done' || st.state === 'failed' || st.state === 'cancelled') break;
    if (shouldStop()) throw new Error('stopped');
    await new Promise((r) => setTimeout(r, 250));
  }
  if (st.state !== 'done') throw new Error(st.error?.message || st.state);
  const res = st.result;
  res.request = body;
  res.label = body.scenario?.name || res.scenario;
  cache.set(job.id, Promise.resolve(res));
  return { id: job.id, result: res, elapsed_s: st.elapsed_s };
}

/** A finished run by id (waits while it still runs). Errors carry the API's code and status. */
export function fetchSim(id) {
  if (!cache.has(id)) {
    const p = (async () => {
      for (let i = 0; ; i++) {
        const st = await apiJson(`/api/simulations/${encodeURIComponent(id)}`);
        if (st.state === 'done' && st.result) {
          st.result.label = st.result.label || st.result.scenario;
          return st.result;
        }
        if (st.state === 'failed' || st.state === 'cancelled') throw new Error(st.error?.message || st.state);
        await new Promise((r) => setTimeout(r, Math.min(2000, 250 + i * 100)));
      }
    })();
    p.catch(() => cache.delete(id)); // a failure is not remembered: the next ask tries again
    cache.set(id, p);
  }
  return cache.get(id);
}

/** The finished simulations of a dataset this principal may see (staff: everyone's). */
export async function listSims(ds) {
  const d = await apiJson('/api/jobs');
  return (d.jobs || []).filter((j) => j.kind === 'simulation' && j.dataset === ds && j.state === 'done')
    .sort((a, b) => (b.created || 0) - (a.created || 0));
}

/** A scenario request around the district's centre, for quick runs (the hall's presenter), or
 * with ``shape`` (points drawn on the map) in place of the preset road, square or share:
 * ``policy`` none | road (16 m east-west through the centre) | open (a 40 m square) | rebuild
 * (half the oldest wooden buildings to 耐火). ``name`` is the caption. */
export function presetScenario(meta, { preset = '最悪', policy = 'none', name = '', hours = 6, shape = null } = {}) {
  const lo = meta.extent.local_min, hi = meta.extent.local_max;
  const cx = (lo[0] + hi[0]) / 2, cy = (lo[1] + hi[1]) / 2;
  const measures = [];
  const pts = shape && shape.map(([x, y]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10]); // drawn on the map: local metres
  if (policy === 'road') measures.push({ type: 'road_widening', centreline: pts || [[lo[0] - 30, cy], [hi[0] + 30, cy]], width: 16, action: 'remove' });
  else if (policy === 'open') measures.push({ type: 'open_space', polygon: pts || [[cx - 20, cy - 20], [cx + 20, cy - 20], [cx + 20, cy + 20], [cx - 20, cy + 20]] });
  else if (policy === 'rebuild') measures.push(pts ? { type: 'rebuild', to: '耐火', area: pts } : { type: 'rebuild', to: '耐火', share: 0.5 });
  return { weather: { preset }, hours, seed: 1, scenario: { name, wooden: '裸木造', measures } };
}
