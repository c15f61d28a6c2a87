// Builds the console into console/dist (served by the API server at /). No plugins: esbuild
// compiles the TSX with React's automatic JSX runtime.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1000 },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080', '/v2': 'http://127.0.0.1:8080', '/healthz': 'http://127.0.0.1:8080' } },
});
