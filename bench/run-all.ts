/**
 * `npm run bench`: every benchmark in turn, each in its own process so that one's threads and
 * heap do not disturb the next. Each prints its own side-by-side table and ratios.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
let failed = 0;
for (const name of ['train', 'ml', 'scheduler', 'serve', 'ingest']) {
  process.stdout.write(`\n=== npm run bench:${name} ===\n`);
  const r = spawnSync(process.execPath, [path.join(here, `${name}.js`), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`bench:${name} exited with ${r.status ?? r.signal}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
