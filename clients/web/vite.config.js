import { defineConfig } from 'vite';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

// Pre-compressed siblings (.gz, .br) of every text asset: aiohttp's static files serve them
// to browsers that accept them, so the first view costs the compressed size.
function precompress() {
  return {
    name: 'yakuba-precompress',
    apply: 'build',
    generateBundle(_opts, bundle) {
      for (const [name, item] of Object.entries(bundle)) {
        if (!/\.(js|css|html|json|svg)$/.test(name)) continue;
        const src = Buffer.from(item.type === 'chunk' ? item.code : item.source);
        if (src.length < 1024) continue;
        this.emitFile({ type: 'asset', fileName: name + '.gz', source: gzipSync(src, { level: 9 }) });
        this.emitFile({
          type: 'asset', fileName: name + '.br',
          source: brotliCompressSync(src, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
        });
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
    // two pages: the walk-in client and the standalone city model view (src/model/)
    rollupOptions: { input: { main: 'index.html', model: 'model.html' } },
  },
});
