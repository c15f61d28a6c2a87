#!/usr/bin/env node
// Builds the web console into console/dist with Vite (npm run build:console; `prepare` runs it at
// npm ci / npm install). --if-stale: only when a source file (console/ or src/sdk/) is newer than
// the build. Without Vite (npm ci --omit=dev) it says so and leaves the API serving a 503 page at /.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dist = path.join(here, 'dist', 'index.html');

function newest(dir) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

if (process.argv.includes('--if-stale') && fs.existsSync(dist)) {
  const built = fs.statSync(dist).mtimeMs;
  const sources = Math.max(newest(here), newest(path.join(root, 'src', 'sdk')));
  if (sources <= built) process.exit(0);
}

let vite;
try {
  vite = await import('vite');
} catch {
  console.warn('aiaas: Vite is not installed (dev dependencies omitted?), so the web console was not built; the API serves a 503 page at /. Run npm install, then npm run build:console.');
  process.exit(0);
}
const started = Date.now();
await vite.build({ configFile: path.join(here, 'vite.config.mjs'), logLevel: 'warn' });
console.log(`aiaas: web console built into console/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
