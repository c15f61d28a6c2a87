/**
 * `scripts/scale-out.sh start` runs this in the background: PostgreSQL, Ceph RGW and two API
 * nodes (./scale-out-stack.ts), then `DIR/env` (the nodes' URLs, the admin key, the shared
 * settings, as shell exports) once all answer. SIGTERM or SIGINT stops everything.
 * Arguments: DIR [--slurm | --no-slurm]. Jobs run on a two-node Slurm cluster by default where
 * Slurm can run here (its packages installed, running as root), else on the nodes' own workers;
 * `--slurm` insists (fails when it cannot), `--no-slurm` keeps the local workers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startScaleOut, type ScaleOut } from './scale-out-stack.js';
import { slurmMissing } from '../../infra/testing/slurm-cluster.js';

const dir = path.resolve(process.argv[2] ?? '.scale-out');
let stack: ScaleOut | undefined;
// Registered before the engines' own handlers (which exit at once): the API nodes are told first.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stack?.nodes.forEach((n) => n.process.child.kill('SIGTERM')));
process.once('exit', () => stack?.nodes.forEach((n) => n.process.child.kill('SIGTERM')));

const args = process.argv.slice(3);
const unknown = args.filter((a) => a !== '--slurm' && a !== '--no-slurm');
if (unknown.length) {
  console.error(`unknown option ${unknown.join(' ')}: use --slurm or --no-slurm`);
  process.exit(2);
}
const slurm = args.includes('--slurm') || (!args.includes('--no-slurm') && slurmMissing() === undefined);
if (!slurm && !args.includes('--no-slurm')) console.log(`no Slurm here, so jobs run on the API nodes' own workers (${slurmMissing()})`);
stack = await startScaleOut({ dir, slurm });
const quote = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;
const vars = {
  ...Object.fromEntries(stack.nodes.map((n) => [n.name.replace('node-', 'NODE_').toUpperCase(), n.url])),
  ADMIN_KEY: stack.adminKey, ...stack.env,
};
fs.writeFileSync(path.join(dir, 'env.tmp'), Object.entries(vars).map(([k, v]) => `export ${k}=${quote(v)}\n`).join(''), { mode: 0o600 });
// For `stop`, which waits for the nodes too (this process exits before they have finished draining).
fs.writeFileSync(path.join(dir, 'nodes.pid'), stack.nodes.map((n) => `${n.process.child.pid}\n`).join(''));
fs.renameSync(path.join(dir, 'env.tmp'), path.join(dir, 'env'));
console.log(`up: ${stack.nodes.map((n) => `${n.name} ${n.url}`).join(', ')}; jobs run ${slurm ? 'on Slurm (nodes n1, n2)' : 'on the nodes\' own workers'}`);
// A node that dies is reported; the rest keep running until stopped.
for (const n of stack.nodes) void n.process.exited.then((code) => console.log(`${n.name} exited (${code})`));
