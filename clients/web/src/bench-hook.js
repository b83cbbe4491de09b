// Benchmark hook (only with ?bench): synthetic avatars for rendering load, and frame times.
// Returns {step(now)}, called by the render loop to move the synthetic crowd.
export function installBenchHook(getNet, STYLES, COLORS) {
  const hook = { step: () => {} };
  window.__yakubaBench = {
    /** n synthetic avatars walking in circles in front of the camera (rendering load only). */
    crowd(n) {
      const net = getNet();
      if (!net) return;
      for (const id of [...net.avatars.keys()]) if (id < 0) net.avatars.delete(id);
      const cols = Math.ceil(Math.sqrt(n));
      for (let i = 0; i < n; i++) {
        const id = -(i + 1);
        net.avatars.set(id, { id, name: `来庁者${i}`, style: STYLES[i % 4], color: COLORS[i % 6][1], role: i % 10 ? 'resident' : 'staff',
          zone: 'infodesk', samples: [], bx: 4 + (i % cols) * (12 / cols), by: 6 + Math.floor(i / cols) * (10 / cols), x: 0, y: 0, h: 0 });
      }
      hook.step = (now) => {
        for (const a of net.avatars.values()) {
          if (a.id >= 0) continue;
          const ph = now / 1000 + a.id;
          a.x = a.bx + Math.cos(ph) * 0.5; a.y = a.by + Math.sin(ph) * 0.5; a.h = ((-ph * 180) / Math.PI + 360) % 360;
        }
      };
    },
    async frameTimes(n) {
      const out = [];
      let prev = await new Promise(requestAnimationFrame);
      for (let i = 0; i < n; i++) { const t2 = await new Promise(requestAnimationFrame); out.push(t2 - prev); prev = t2; }
      return out;
    },
  };
  return hook;
}
