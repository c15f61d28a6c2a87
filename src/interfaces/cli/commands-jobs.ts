/** aiaas train, aiaas tune, and aiaas jobs list|show|logs [-f]|cancel|submit|wait */
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { AiaasClient, Job, JobEvent, JobMetrics, SearchDimension, TrainRequest, TuneRequest, Tuning } from '../../sdk/index.js';
import { Cli, CommandFailed, EXIT, UsageError, ago, crossValidationLine, fields, fmt, scalars, table, testMetricsOf } from './common.js';
import type { Command, Options } from './options.js';

const SET: Options = { set: { type: 'string', multiple: true, value: 'path=value', help: 'set any field of the spec (value parsed as JSON when it is JSON)' } };
const SPEC: Options = { spec: { type: 'string', value: 'FILE', help: 'the spec as a JSON or YAML file (- for stdin); flags win over it' } };
const DETACH: Options = {
  detach: { type: 'boolean', help: 'queue the job and return without following it' },
  'no-wait': { type: 'boolean', help: 'same as --detach' },
};
const PRIORITY: Options = { priority: { type: 'string', value: 'N', help: 'scheduling priority (an integer, higher first)' } };
/** The model flags train and tune share (tune puts them under `base`). */
const MODEL: Options = {
  kind: { type: 'string', value: 'K', help: 'mlp, cnn, logistic_regression, linear_regression, svm, random_forest, gradient_boosting, text_classifier or causal_lm' },
  model: { type: 'string', value: 'K', help: 'same as --kind' },
  'n-estimators': { type: 'string', value: 'N', help: 'trees (random_forest, gradient_boosting)' },
  'max-depth': { type: 'string', value: 'N', help: 'tree depth (random_forest, gradient_boosting)' },
  epochs: { type: 'string', value: 'N', help: 'training epochs (mlp, cnn, text_classifier)' },
};
const DATA: Options = {
  name: { type: 'string', value: 'MODEL', help: 'the model to register' },
  dataset: { type: 'string', value: 'D', help: 'the dataset to train on (or the first argument)' },
  target: { type: 'string', value: 'COL', help: 'the column to predict' },
  task: { type: 'string', value: 'T', help: 'classification or regression (default: from the target column)' },
};

const TRAIN_OPTIONS: Options = {
  ...DATA,
  preprocessing: { type: 'string', value: 'auto|JSON', help: "'auto' or a JSON list of steps, e.g. '[{\"op\":\"standardize\"}]'" },
  ...MODEL,
  hidden: { type: 'string', value: '64,32', help: 'hidden layer sizes (mlp)' },
  activation: { type: 'string', value: 'A', help: 'relu, tanh, sigmoid … (mlp)' },
  dropout: { type: 'string', value: 'X', help: 'dropout rate between 0 and 1 (mlp)' },
  'batch-size': { type: 'string', value: 'N', help: 'rows per step' },
  optimizer: { type: 'string', value: 'O', help: 'adam, sgd …' },
  'learning-rate': { type: 'string', value: 'X', help: 'the optimizer\'s step size' },
  patience: { type: 'string', value: 'N', help: 'early stopping: epochs without improvement before stopping' },
  test: { type: 'string', value: 'X', help: 'fraction held out for the test metrics (0.2)' },
  validation: { type: 'string', value: 'X', help: 'fraction held out for validation (0.1)' },
  seed: { type: 'string', value: 'N', help: 'the split\'s seed' },
  'test-dataset': { type: 'string', value: 'D', help: 'a separate dataset for the test metrics' },
  ...PRIORITY,
  cpu: { type: 'string', value: 'N', help: 'CPUs to reserve' },
  'memory-mb': { type: 'string', value: 'N', help: 'memory to reserve' },
  ...SPEC, ...SET, ...DETACH,
};

const TUNE_OPTIONS: Options = {
  ...DATA,
  ...MODEL,
  'split-seed': { type: 'string', value: 'N', help: 'the split\'s seed (base.split.seed)' },
  space: { type: 'string', multiple: true, value: 'path=a,b,c|path=min:max[:log][:int]', help: 'a dimension of the search space' },
  strategy: { type: 'string', value: 'S', help: 'grid, random or halving' },
  trials: { type: 'string', value: 'N', help: 'candidates to try (random, halving)' },
  cv: { type: 'string', value: 'FOLDS', help: 'cross-validation folds per trial' },
  metric: { type: 'string', value: 'M', help: 'the score to maximise (accuracy, f1, r2 …)' },
  seed: { type: 'string', value: 'N', help: 'the search\'s seed' },
  eta: { type: 'string', value: 'N', help: 'halving: keep 1/eta of the candidates per rung' },
  ...PRIORITY, ...SPEC, ...SET, ...DETACH,
};

const JOBS_OPTIONS: Options = {
  status: { type: 'string', value: 'S', help: 'list: only jobs in this status' },
  type: { type: 'string', value: 'T', help: 'list: only jobs of this type; submit: the job type' },
  limit: { type: 'string', value: 'N', help: 'list: at most N jobs (50)' },
  follow: { type: 'boolean', short: 'f', help: 'logs: keep following until the job ends' },
  ...SPEC, ...SET,
  wait: { type: 'boolean', help: 'submit: follow the job (its logs) until it ends' },
};

/** Reads a JSON or YAML spec file ('-' for stdin). */
function readSpec(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch {
    throw new UsageError(`cannot read the spec file '${file}'.`);
  }
  try {
    const v = /\.ya?ml$/i.test(file) ? parseYaml(text) : /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('the spec must be an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`the spec file '${file}' is not valid JSON or YAML: ${(err as Error).message}`);
  }
}

/** `--set a.b=value`: value parsed as JSON when it is JSON, else kept as a string. */
function setPath(obj: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set takes path=value, e.g. --set training.epochs=20; got '${assignment}'.`);
  const keys = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch { /* a plain string */ }
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
}

const list = (v: string, flag: string) => v.split(',').filter(Boolean).map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} takes positive integers separated by commas, e.g. 64,32.`);
  return n;
});

/** The train request from --spec and the flags (flags win). */
export function trainRequest(cli: Cli): TrainRequest {
  const spec: Record<string, unknown> = cli.flag('spec') ? readSpec(cli.flag('spec')!) : {};
  delete spec.type;
  const put = (path: string, v: unknown) => { if (v !== undefined) setPath(spec, `${path}=${JSON.stringify(v)}`); };
  put('name', cli.flag('name'));
  put('dataset', cli.flag('dataset') ?? cli.args.positionals[0]);
  put('target', cli.flag('target'));
  put('task', cli.flag('task'));
  const pre = cli.flag('preprocessing');
  if (pre !== undefined) {
    if (pre === 'auto') spec.preprocessing = 'auto';
    else {
      try { spec.preprocessing = JSON.parse(pre); } catch { throw new UsageError(`--preprocessing is 'auto' or a JSON list of steps, e.g. '[{"op":"standardize"}]'.`); }
    }
  }
  put('model.kind', cli.flag('kind', 'model'));
  const hidden = cli.flag('hidden');
  if (hidden !== undefined) put('model.hidden', list(hidden, 'hidden'));
  put('model.activation', cli.flag('activation'));
  put('model.dropout', cli.number('dropout', { min: 0, max: 1 }));
  put('model.nEstimators', cli.number('n-estimators', { integer: true, min: 1 }));
  put('model.maxDepth', cli.number('max-depth', { integer: true, min: 1 }));
  put('training.epochs', cli.number('epochs', { integer: true, min: 1 }));
  put('training.batchSize', cli.number('batch-size', { integer: true, min: 1 }));
  put('training.optimizer', cli.flag('optimizer'));
  put('training.learningRate', cli.number('learning-rate', { min: 0 }));
  const patience = cli.number('patience', { integer: true, min: 1 });
  if (patience !== undefined) put('training.earlyStopping', { patience });
  put('split.test', cli.number('test', { min: 0, max: 1 }));
  put('split.validation', cli.number('validation', { min: 0, max: 1 }));
  put('split.seed', cli.number('seed', { integer: true, min: 0 }));
  put('testDataset', cli.flag('test-dataset'));
  put('priority', cli.number('priority', { integer: true }));
  put('resources.cpu', cli.number('cpu', { min: 0 }));
  put('resources.memoryMb', cli.number('memory-mb', { integer: true, min: 16 }));
  for (const s of cli.flags('set')) setPath(spec, s);
  // A language model trains on a text column (`text`, default "text"), not a target.
  for (const f of spec.task === 'language_modeling' ? ['name', 'dataset'] : ['name', 'dataset', 'target']) {
    if (typeof spec[f] !== 'string') throw new UsageError(`train needs --${f} (or '${f}' in the --spec file). Example: aiaas train --name iris-classifier --dataset iris --target species --kind mlp --epochs 20`);
  }
  return spec as unknown as TrainRequest;
}

export async function train(cli: Cli): Promise<number> {
  const client = cli.client();
  const spec = trainRequest(cli);
  const job = await client.jobs.train(spec);
  if (cli.bool('detach', 'no-wait')) {
    cli.print(job, () => `Queued training job ${job.id} (model ${spec.name}). Follow it with: aiaas jobs show ${job.id} · aiaas jobs logs -f ${job.id}`);
    return 0;
  }
  if (!cli.json) cli.err(`Training job ${job.id} queued (model ${spec.name}, ${spec.model?.kind ?? 'default model'} on ${spec.dataset}).`);
  const epochs = (job.spec as { training?: { epochs?: number } }).training?.epochs ?? spec.training?.epochs;
  return follow(cli, client, job.id, { logs: false, epochs });
}

/** Follows a job live: a progress bar (terminals), one line per epoch, then the outcome. */
export async function follow(cli: Cli, client: AiaasClient, id: string, opts: { logs: boolean; epochs?: number; render?: (job: Job) => string }): Promise<number> {
  const bar = !cli.json && process.stderr.isTTY ? new ProgressBar() : undefined;
  let epochs = opts.epochs;
  let lastMessage = '';
  let lastTenth = -1;
  let epochLines = 0;
  const final = await client.jobs.wait(id, {
    onEvent: (e) => {
      if (cli.json) return;
      if (e.event === 'metrics') {
        bar?.clear();
        const line = epochLine(e, epochs);
        if (line) { cli.out(line); epochLines++; }
      } else if (e.event === 'progress') {
        if (typeof e.data.epochs === 'number') epochs = e.data.epochs;
        const msg = String(e.data.message ?? '');
        const fraction = Number(e.data.fraction ?? 0);
        bar?.draw(fraction, msg);
        // Without a terminal (a pipe, a script, README's steps), a line on stderr per new message or
        // per tenth of the way, so a long job is never silent; jobs with epoch lines already say enough.
        const tenth = Math.floor(fraction * 10);
        if (!bar && !epochLines && (msg !== lastMessage || tenth !== lastTenth)) {
          cli.err(`${String(Math.round(fraction * 100)).padStart(3)}%${msg ? ` ${msg}` : ''}`);
        }
        lastMessage = msg;
        lastTenth = tenth;
      } else if (e.event === 'log' && opts.logs) {
        bar?.clear();
        cli.out(String(e.data.line ?? ''));
      } else if (e.event === 'status') {
        bar?.clear();
        if (!opts.logs) cli.err(`status: ${e.data.status}${e.data.error ? ` (${e.data.error})` : ''}`);
      }
    },
  });
  bar?.clear();
  if (cli.json) cli.out(JSON.stringify(final, null, 2));
  else cli.out(opts.render ? opts.render(final) : summary(final));
  if (final.status !== 'succeeded') throw new CommandFailed(`job ${final.id} ${final.status}${final.error ? `: ${final.error}` : ''}`, EXIT.jobFailed);
  return 0;
}

/**
 * `--space path=a,b,c` (choices; numbers, true/false and JSON are parsed, other text kept) or
 * `--space path=min:max[:log][:int][:points=N]` (a range).
 */
export function parseSpaceFlag(s: string): [string, SearchDimension] {
  const eq = s.indexOf('=');
  const example = `e.g. --space model.maxDepth=2,4,8 or --space training.learningRate=0.0001:0.1:log`;
  if (eq <= 0 || eq === s.length - 1) throw new UsageError(`--space takes path=a,b,c or path=min:max[:log][:int]; got '${s}' (${example}).`);
  const path = s.slice(0, eq).trim();
  const v = s.slice(eq + 1).trim();
  if (v.startsWith('[')) {
    try {
      const list = JSON.parse(v);
      if (Array.isArray(list)) return [path, list];
    } catch { /* falls through to the usage error */ }
    throw new UsageError(`--space ${path}: '${v}' is not a JSON list (${example}).`);
  }
  const parts = v.split(':');
  if (!v.includes(',') && parts.length >= 2 && parts[0] !== '' && Number.isFinite(Number(parts[0])) && Number.isFinite(Number(parts[1]))) {
    const range: SearchDimension = { min: Number(parts[0]), max: Number(parts[1]) };
    for (const opt of parts.slice(2)) {
      if (opt === 'log') range.log = true;
      else if (opt === 'int' || opt === 'integer') range.integer = true;
      else if (/^points=\d+$/.test(opt)) range.gridPoints = Number(opt.slice(7));
      else if (/^step=[\d.e+-]+$/.test(opt) && Number.isFinite(Number(opt.slice(5)))) range.step = Number(opt.slice(5));
      else throw new UsageError(`--space ${path}: unknown range option '${opt}'; use log, int, points=N or step=S (${example}).`);
    }
    return [path, range];
  }
  return [path, v.split(',').map((x) => x.trim()).filter(Boolean).map(choice)];
}

function choice(s: string): unknown {
  if (s !== '' && Number.isFinite(Number(s))) return Number(s);
  if (s === 'true' || s === 'false' || s === 'null' || /^[[{"]/.test(s)) {
    try { return JSON.parse(s); } catch { /* a plain string */ }
  }
  return s;
}

/** The tune request from --spec and the flags (flags win); base train spec flags go under `base`. */
export function tuneRequest(cli: Cli): TuneRequest {
  const spec: Record<string, unknown> = cli.flag('spec') ? readSpec(cli.flag('spec')!) : {};
  delete spec.type;
  const put = (path: string, v: unknown) => { if (v !== undefined) setPath(spec, `${path}=${JSON.stringify(v)}`); };
  put('name', cli.flag('name'));
  put('base.dataset', cli.flag('dataset') ?? cli.args.positionals[0]);
  put('base.target', cli.flag('target'));
  put('base.task', cli.flag('task'));
  put('base.model.kind', cli.flag('kind', 'model'));
  put('base.model.nEstimators', cli.number('n-estimators', { integer: true, min: 1 }));
  put('base.model.maxDepth', cli.number('max-depth', { integer: true, min: 1 }));
  put('base.training.epochs', cli.number('epochs', { integer: true, min: 1 }));
  put('base.split.seed', cli.number('split-seed', { integer: true, min: 0 }));
  put('strategy', cli.flag('strategy'));
  put('trials', cli.number('trials', { integer: true, min: 1 }));
  put('cv', cli.number('cv', { integer: true, min: 0 }));
  put('metric', cli.flag('metric'));
  put('seed', cli.number('seed', { integer: true, min: 0 }));
  put('eta', cli.number('eta', { integer: true, min: 2 }));
  put('priority', cli.number('priority', { integer: true }));
  const spaceFlags = cli.flags('space');
  if (spaceFlags.length) {
    const space = (typeof spec.space === 'object' && spec.space !== null && !Array.isArray(spec.space) ? spec.space : {}) as Record<string, unknown>;
    for (const f of spaceFlags) {
      const [path, dim] = parseSpaceFlag(f);
      space[path] = dim;
    }
    spec.space = space;
  }
  for (const s of cli.flags('set')) setPath(spec, s);
  const base = (spec.base ?? {}) as Record<string, unknown>;
  const missing = typeof spec.name !== 'string' ? 'name' : typeof base.dataset !== 'string' ? 'dataset' : typeof base.target !== 'string' ? 'target' : spec.space === undefined ? 'space' : undefined;
  if (missing) {
    throw new UsageError(`tune needs --${missing} (or '${missing === 'name' || missing === 'space' ? missing : `base.${missing}`}' in the --spec file). Example: aiaas tune --name iris-tuned --dataset iris --target species --kind random_forest --strategy grid --cv 3 --space model.maxDepth=2,4,8`);
  }
  return spec as unknown as TuneRequest;
}

export async function tune(cli: Cli): Promise<number> {
  const client = cli.client();
  const spec = tuneRequest(cli);
  const job = await client.jobs.tune(spec);
  if (cli.bool('detach', 'no-wait')) {
    cli.print(job, () => `Queued tune job ${job.id} (model ${spec.name}). Follow it with: aiaas jobs show ${job.id} · aiaas jobs wait ${job.id}`);
    return 0;
  }
  const n = (job.spec as { candidates?: unknown[] }).candidates?.length;
  if (!cli.json) cli.err(`Tune job ${job.id} queued (model ${spec.name}, ${n ?? '?'} candidates, ${spec.strategy ?? 'random'} search on ${spec.base.dataset}).`);
  return follow(cli, client, job.id, { logs: false, render: tuneSummary });
}

/** The trial table, the best candidate, then the usual outcome lines. */
export function tuneSummary(job: Job): string {
  const tuning = (job.metrics as { tuning?: Tuning }).tuning;
  const lines: string[] = [];
  if (tuning) {
    const params = (p: Record<string, unknown>) => Object.entries(p).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
    lines.push(table(['CANDIDATE', 'PARAMS', 'RUNG', 'BUDGET', 'STATUS', tuning.metric.toUpperCase(), 'JOB'], tuning.trials.map((t) => [
      t.candidate, params(t.params), t.rung, `${Math.round(t.budget * 100)}%`, t.status ?? '-', t.score ?? (t.error ? `(${t.error})` : '-'), t.job,
    ])));
    lines.push(`Best candidate: ${params(tuning.best.params)} (${tuning.metric} ${tuning.best.score === undefined ? '-' : fmt(tuning.best.score)}, trial ${tuning.best.job}).`);
  }
  lines.push(summary(job));
  return lines.join('\n');
}

/** "epoch 3/10  loss 0.4321  accuracy 0.9  val_loss 0.5" from a metrics event (null if not per-epoch). */
export function epochLine(e: JobEvent, epochs?: number): string | null {
  const d: Record<string, unknown> = { epochs, ...e.data };
  const parts: string[] = [];
  if (d.epoch !== undefined) parts.push(`epoch ${d.epoch}${d.epochs !== undefined ? `/${d.epochs}` : ''}`);
  else if (d.fold !== undefined) parts.push(`fold ${d.fold}`);
  for (const [k, v] of Object.entries(d)) {
    if (['epoch', 'epochs', 'fold', 'at', 'seconds', 'samplesPerSecond', 'learningRate', 'heapUsedBytes'].includes(k) || typeof v !== 'number') continue;
    parts.push(`${k} ${fmt(v)}`);
  }
  return parts.length ? parts.join('  ') : null;
}

function summary(job: Job): string {
  const m = job.metrics as JobMetrics;
  const test = testMetricsOf(m);
  const keys = ['accuracy', 'precision', 'recall', 'f1', 'logLoss', 'rocAuc', 'mse', 'rmse', 'mae', 'r2', 'valLoss', 'perplexity'];
  const metrics = scalars(test, keys);
  const lines = [`Job ${job.id} ${job.status}${job.error ? `: ${job.error}` : ''}.`];
  if (metrics) lines.push(`Test metrics: ${metrics}`);
  const cv = crossValidationLine(m, keys);
  if (cv) lines.push(cv);
  const training = scalars(m.training ?? {}, ['epochs', 'loss', 'valLoss', 'trainSeconds', 'trainSamplesPerSecond']);
  if (training) lines.push(`Training: ${training}`);
  if (job.result) lines.push(`Registered model ${job.result.model} version ${job.result.version}. Deploy it: aiaas deploy ${job.result.model} --model ${job.result.model} --version ${job.result.version}`);
  return lines.join('\n');
}

class ProgressBar {
  private shown = false;
  draw(fraction: number, message: string): void {
    const width = 30;
    const f = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(f * width);
    process.stderr.write(`\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${message}`);
    this.shown = true;
  }
  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** "1 succeeded on slurm:aiaas (Slurm job 7)": a run, and where it ran (on Slurm, an attempt's pid is the Slurm job id). */
function attemptLine(a: NonNullable<Job['attempts']>[number]): string {
  const where = a.node.startsWith('slurm:') ? ` (Slurm job ${a.pid})` : a.pid ? ` (pid ${a.pid})` : '';
  return `${a.attempt} ${a.outcome} on ${a.node}${where}${a.resumedFromCheckpoint ? ', resumed from its checkpoint' : ''}`;
}

export async function jobs(cli: Cli, sub: string | undefined): Promise<number> {
  const client = cli.client();
  switch (sub) {
    case 'list':
    case undefined: {
      const list = await client.jobs.list({ status: cli.flag('status') as never, type: cli.flag('type'), limit: cli.number('limit', { integer: true, min: 1 }) ?? 50 });
      cli.print(list, () => table(['ID', 'TYPE', 'NAME', 'STATUS', 'PROGRESS', 'CREATED', 'RESULT'], list.map((j) => [
        j.id, j.type, j.name, j.status, `${Math.round((j.progress.fraction ?? 0) * 100)}%`, ago(j.createdAt),
        j.result ? `${j.result.model} v${j.result.version}` : j.error ?? j.queueReason ?? '',
      ])));
      return 0;
    }
    case 'show': {
      const j = await client.jobs.get(cli.arg(1, 'the job id (aiaas jobs show ID)'));
      cli.print(j, () => {
        const m = j.metrics as JobMetrics;
        const test = scalars(testMetricsOf(m));
        const training = scalars(m.training ?? {});
        return fields([
          ['id', j.id], ['type', j.type], ['name', j.name], ['status', j.status], ['progress', `${Math.round(j.progress.fraction * 100)}%${j.progress.message ? ` (${j.progress.message})` : ''}`],
          ['priority', j.priority], ['resources', `${j.resources.cpu} CPU, ${j.resources.memoryMb} MB, ${j.resources.gpu} GPU`], ['node', j.node],
          ['queueReason', j.queueReason], ['error', j.error], ['result', j.result ? `${j.result.model} version ${j.result.version}` : undefined],
          ['metrics', scalars(m) || undefined], ['test metrics', test || undefined], ['training', training || undefined], ['history', m.history?.length ? `${m.history.length} entries` : undefined], ['created', j.createdAt], ['started', j.startedAt], ['finished', j.finishedAt], ['cpuSeconds', j.cpuSeconds],
          ['attempts', j.attempts?.length ? j.attempts.map(attemptLine).join('; ') : undefined],
        ]);
      });
      return 0;
    }
    case 'logs': {
      const id = cli.arg(1, 'the job id (aiaas jobs logs [-f] ID)');
      if (cli.bool('follow')) {
        for await (const e of client.jobs.events(id)) {
          if (e.event !== 'log') continue;
          if (cli.json) cli.out(JSON.stringify({ seq: e.id, at: e.data.at, stream: e.data.stream, line: e.data.line }));
          else cli.out(String(e.data.line ?? ''));
        }
        return 0;
      }
      let after = 0;
      for (;;) {
        const page = await client.jobs.logs(id, { after, limit: 1000 });
        for (const l of page.data) cli.out(cli.json ? JSON.stringify(l) : l.line);
        if (page.data.length < 1000) return 0;
        after = page.next;
      }
    }
    case 'cancel': {
      const j = await client.jobs.cancel(cli.arg(1, 'the job id (aiaas jobs cancel ID)'));
      cli.print(j, () => `Job ${j.id} ${j.status}.`);
      return 0;
    }
    case 'wait': {
      const id = cli.arg(1, 'the job id (aiaas jobs wait ID)');
      return follow(cli, client, id, { logs: false });
    }
    case 'submit': {
      // aiaas jobs submit --spec job.yaml | '{"type": "sleep", "seconds": 3}' [--set k=v] [--wait]
      const inline = cli.args.positionals[1];
      let spec: Record<string, unknown>;
      if (cli.flag('spec')) spec = readSpec(cli.flag('spec')!);
      else if (inline) {
        try { spec = JSON.parse(inline); } catch { throw new UsageError(`the job is not JSON: ${inline}`); }
      } else spec = {};
      if (cli.flag('type')) spec.type = cli.flag('type');
      for (const s of cli.flags('set')) setPath(spec, s);
      if (typeof spec.type !== 'string') throw new UsageError(`jobs submit needs a job type: --type sleep, or a JSON/YAML spec with "type".`);
      const job = await client.jobs.submit(spec as never);
      if (cli.bool('wait')) {
        if (!cli.json) cli.err(`Job ${job.id} queued.`);
        return follow(cli, client, job.id, { logs: true });
      }
      cli.print(job, () => job.id);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand 'jobs ${sub}': use list, show, logs, cancel, wait or submit.`);
  }
}

export const trainCommand: Command = {
  usage: ['train --name MODEL --dataset D --target COL [--kind K] [options] [--spec FILE] [--set path=value …] [--detach]'],
  summary: 'Starts a training job and follows it: progress bar, one line per epoch, then the test metrics.',
  options: TRAIN_OPTIONS,
  run: train,
};

export const tuneCommand: Command = {
  usage: ['tune --name MODEL --dataset D --target COL --space path=a,b,c | --space path=min:max[:log][:int] … [options] [--detach]'],
  summary: 'Searches hyper-parameters (trials are child train jobs) and registers the best; a progress line while it runs, the trial table at the end.',
  options: TUNE_OPTIONS,
  run: tune,
};

export const jobsCommand: Command = {
  usage: ['jobs list [--status S --type T]', 'jobs show ID | logs [-f] ID | cancel ID | wait ID', 'jobs submit (JSON | --spec FILE | --type T) [--set k=v …] [--wait]'],
  summary: 'Lists, inspects, follows, cancels and submits jobs.',
  options: JOBS_OPTIONS,
  subcommands: true,
  run: jobs,
};
