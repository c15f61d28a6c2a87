/**
 * `scripts/scale-out.sh start` runs this in the background: PostgreSQL, Ceph RGW and two API
 * nodes (./scale-out-stack.ts), then `DIR/env` (the nodes' URLs, the admin key, the shared
 * settings, as shell exports) once all answer. SIGTERM or SIGINT stops everything.
 * Arguments: DIR [--slurm].
 */
import fs from 'node:fs';
import path from 'node:path';
import { startScaleOut, type ScaleOut } from './scale-out-stack.js';

const dir = path.resolve(process.argv[2] ?? '.scale-out');
let stack: ScaleOut | undefined;
// Registered before the engines' own handlers (which exit at once): the API nodes are told first.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stack?.nodes.forEach((n) => n.process.child.kill('SIGTERM')));
process.once('exit', () => stack?.nodes.forEach((n) => n.process.child.kill('SIGTERM')));

stack = await startScaleOut({ dir, slurm: process.argv.includes('--slurm') });
const quote = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;
const vars = {
  ...Object.fromEntries(stack.nodes.map((n) => [n.name.replace('node-', 'NODE_').toUpperCase(), n.url])),
  ADMIN_KEY: stack.adminKey, ...stack.env,
};
fs.writeFileSync(path.join(dir, 'env.tmp'), Object.entries(vars).map(([k, v]) => `export ${k}=${quote(v)}\n`).join(''), { mode: 0o600 });
// For `stop`, which waits for the nodes too (this process exits before they have finished draining).
fs.writeFileSync(path.join(dir, 'nodes.pid'), stack.nodes.map((n) => `${n.process.child.pid}\n`).join(''));
fs.renameSync(path.join(dir, 'env.tmp'), path.join(dir, 'env'));
console.log(`up: ${stack.nodes.map((n) => `${n.name} ${n.url}`).join(', ')}`);
// A node that dies is reported; the rest keep running until stopped.
for (const n of stack.nodes) void n.process.exited.then((code) => console.log(`${n.name} exited (${code})`));
