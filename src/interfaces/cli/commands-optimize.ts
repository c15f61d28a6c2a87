/** aiaas optimize MODEL: an optimize job, followed, then the trade-off (size, latency, test metrics) old vs new. */
import type { Job, OptimizationMetrics, OptimizeRequest } from '../../sdk/index.js';
import { Cli, UsageError, fmt, table } from './common.js';
import { follow } from './commands-jobs.js';
import type { Command, Options } from './options.js';

const METHODS = ['quantize_dynamic', 'quantize_static', 'quantize_weights', 'fp16', 'prune'];

const OPTIMIZE_OPTIONS: Options = {
  version: { type: 'string', value: 'V', help: 'the source version: a number, a stage or latest (default latest)' },
  method: { type: 'string', value: 'M', help: METHODS.join(', ') },
  bits: { type: 'string', value: '8|4', help: 'quantize_weights: bits per weight' },
  'block-size': { type: 'string', value: 'N', help: 'quantize_weights: values per block (32)' },
  'calibration-dataset': { type: 'string', value: 'D', help: 'quantize_static: rows to calibrate on (default: the training dataset)' },
  'calibration-rows': { type: 'string', value: 'N', help: 'quantize_static: how many rows (256)' },
  sparsity: { type: 'string', value: 'X', help: 'prune: share of weights or units removed (0.5)' },
  structured: { type: 'boolean', help: 'prune: remove whole neurons and filters' },
  'evaluation-dataset': { type: 'string', value: 'D', help: 'imported versions: the dataset to measure test metrics on' },
  'evaluation-target': { type: 'string', value: 'COL', help: 'imported versions: its truth column' },
  detach: { type: 'boolean', help: 'queue the job and return without following it' },
};

export function optimizeRequest(cli: Cli): OptimizeRequest {
  const model = cli.args.positionals[0];
  const method = cli.flag('method');
  if (!model || !method) throw new UsageError(`optimize needs a model and --method (${METHODS.join(', ')}). Example: aiaas optimize mnist-mlp --version 1 --method quantize_dynamic`);
  const version = cli.flag('version');
  const req: OptimizeRequest = { model, method: method as OptimizeRequest['method'], ...(version ? { version: /^\d+$/.test(version) ? Number(version) : version } : {}) };
  const bits = cli.number('bits', { integer: true });
  if (bits !== undefined) req.bits = bits as 4 | 8;
  const block = cli.number('block-size', { integer: true, min: 1 });
  if (block !== undefined) req.blockSize = block;
  const cal = cli.flag('calibration-dataset');
  const rows = cli.number('calibration-rows', { integer: true, min: 1 });
  if (cal || rows !== undefined) req.calibration = { dataset: cal!, ...(rows !== undefined ? { rows } : {}) };
  const sparsity = cli.number('sparsity', { min: 0, max: 1 });
  if (sparsity !== undefined) req.sparsity = sparsity;
  if (cli.bool('structured')) req.structured = true;
  const ev = cli.flag('evaluation-dataset');
  if (ev) req.evaluation = { dataset: ev, target: cli.flag('evaluation-target') ?? '' };
  return req;
}

async function optimize(cli: Cli): Promise<number> {
  const client = cli.client();
  const req = optimizeRequest(cli);
  const job = await client.jobs.optimize(req);
  if (cli.bool('detach')) {
    cli.print(job, () => `Queued optimize job ${job.id} (${req.method} of ${req.model}). Follow it with: aiaas jobs logs -f ${job.id}`);
    return 0;
  }
  if (!cli.json) cli.err(`Optimize job ${job.id} queued (${req.method} of ${req.model} version ${req.version ?? 'latest'}).`);
  return follow(cli, client, job.id, { logs: false, render: tradeOff });
}

/** Old vs new: size, p50 latencies and the scalar test metrics, one row each. */
export function tradeOff(job: Job): string {
  const m = job.metrics as unknown as OptimizationMetrics;
  if (job.status !== 'succeeded' || !m?.source) return `Job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}.`;
  const rows: string[][] = [
    ['size (bytes)', String(m.source.sizeBytes), String(m.sizeBytes), ratio(m.sizeBytes, m.source.sizeBytes)],
    ['p50 latency, 1 row (ms)', fmt(m.source.latencyMs.p50Row), fmt(m.latencyMs.p50Row), ratio(m.latencyMs.p50Row, m.source.latencyMs.p50Row)],
    [`p50 latency, ${m.latencyMs.batchRows} rows (ms)`, fmt(m.source.latencyMs.p50Batch), fmt(m.latencyMs.p50Batch), ratio(m.latencyMs.p50Batch, m.source.latencyMs.p50Batch)],
  ];
  for (const k of ['accuracy', 'f1', 'logLoss', 'r2', 'rmse']) {
    const a = m.source.test?.[k];
    const b = m.test?.[k];
    if (typeof a === 'number' && typeof b === 'number') rows.push([k, fmt(a), fmt(b), `${b - a >= 0 ? '+' : ''}${fmt(b - a)}`]);
  }
  const lines = [`Job ${job.id} succeeded: ${m.optimization.method} of ${m.source.model} version ${m.source.version}.`, table(['', 'source', 'optimized', 'change'], rows)];
  if (job.result) lines.push(`Registered ${job.result.model} version ${job.result.version}. Canary it: aiaas endpoints traffic ENDPOINT ${m.source.version}=90 ${job.result.version}=10`);
  return lines.join('\n');
}

const ratio = (a: number, b: number) => (b > 0 ? `×${(a / b).toFixed(2)}` : '');

export const optimizeCommand: Command = {
  usage: ['optimize MODEL --method M [--version V] [--bits 8|4] [--sparsity X --structured] [--calibration-dataset D] [--detach]'],
  summary: 'Quantizes, casts to float16 or prunes a model version into a new version, then shows the trade-off: size, latency and test metrics, old vs new.',
  options: OPTIMIZE_OPTIONS,
  run: optimize,
};
