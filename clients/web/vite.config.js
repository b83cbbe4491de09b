import { defineConfig } from 'vite';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

// Pre-compressed siblings (.gz, .br) of every text asset: aiohttp's static files serve them
// to browsers that accept them, so the first view costs the compressed size.
function precompress() {
  let outDir = 'dist';
  return {
    name: 'yakuba-precompress',
    apply: 'build',
    enforce: 'post',
    configResolved(cfg) { outDir = path.resolve(cfg.root, cfg.build.outDir); },
    // after the files are final (Vite rewrites chunks up to generateBundle)
    writeBundle(_opts, bundle) {
      for (const name of Object.keys(bundle)) {
        if (!/\.(m?js|css|html|json|svg)$/.test(name)) continue;
        const file = path.join(outDir, name);
        const src = fs.readFileSync(file);
        if (src.length < 1024) continue;
        fs.writeFileSync(file + '.gz', gzipSync(src, { level: 9 }));
        fs.writeFileSync(file + '.br', brotliCompressSync(src, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

// Relative base so dist/ can be served under any path (yakuba serve mounts it at /).
export default defineConfig({
  base: './',
  plugins: [precompress()],
  server: {
    // `npm run dev` proxies the realtime socket and assets to a local `yakuba serve`.
    proxy: {
      '/socket.io': { target: 'http://127.0.0.1:8080', ws: true },
      '/assets': 'http://127.0.0.1:8080',
      '/healthz': 'http://127.0.0.1:8080',
      '/api': 'http://127.0.0.1:8080',
    },
  },
  build: {
    target: 'es2020',
    outDir: 'dist',
    // not 'assets': the server owns /assets/ (cityhall.glb, cityhall/plan.json)
    assetsDir: 'static',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 800,
    // the pages: the walk-in client, the standalone city model view (src/model/), staff login,
    // reservations (reserve.html, src/reserve.js), the event hall for spectators (hall-watch.html, src/hall/watch.js)
    rollupOptions: { input: { main: 'index.html', model: 'model.html', login: 'login.html', reserve: 'reserve.html', staffDay: 'staff-day.html', hallWatch: 'hall-watch.html', event: 'event.html' } },
  },
});
