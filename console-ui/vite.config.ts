import { defineConfig } from 'vite';

// Deterministic output (no content hashes in names would also do, but hashes are stable
// for the same sources), so `npm run build` reproduces the committed `dist/` exactly.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      '^/(v1|system|session|user|gantry)/': 'http://127.0.0.1:8080',
    },
  },
});
