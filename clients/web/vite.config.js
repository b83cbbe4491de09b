import { defineConfig } from 'vite';

// Relative base so dist/ can be served under any path (yakuba serve mounts it at /).
export default defineConfig({
  base: './',
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
    // not 'assets': the server owns /assets/ (cityhall.glb, plan.json)
    assetsDir: 'static',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 800,
  },
});
