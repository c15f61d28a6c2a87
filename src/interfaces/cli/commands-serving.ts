/** aiaas models list|show|stage|download, aiaas deploy, aiaas endpoints …, aiaas predict */
import fs from 'node:fs';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { csvRecords } from '../../ml/data/csv-parser.js';
import type { JobMetrics, ModelVersion, Stage } from '../../sdk/index.js';
import { Cli, UsageError, ago, bytes, crossValidationLine, fields, fmt, scalars, table, testMetricsOf } from './common.js';
import type { Command } from './options.js';

/** Traffic weights as percentages of their sum (weights are relative: 90/10 or 0.9/0.1). */
function split(traffic: Array<{ version: number; weight: number }>, sep = ' '): string {
  const total = traffic.reduce((a, t) => a + t.weight, 0) || 1;
  return traffic.map((t) => `v${t.version}:${Math.round((t.weight / total) * 100)}%`).join(sep);
}

const STAGES = ['none', 'staging', 'production', 'archived'];

function metricSummary(m: JobMetrics): string {
  return scalars(testMetricsOf(m), ['accuracy', 'f1', 'rocAuc', 'r2', 'rmse', 'mae', 'perplexity']);
}

export async function models(cli: Cli, sub: string | undefined): Promise<number> {
  const client = cli.client();
  switch (sub) {
    case 'list':
    case undefined: {
      const list = await client.models.list();
      cli.print(list, () => table(['NAME', 'LATEST', 'VERSIONS', 'PRODUCTION', 'STAGING', 'UPDATED'], list.map((m) => [
        m.name, m.latestVersion, m.versions, m.stages.production.join(',') || '-', m.stages.staging.join(',') || '-', ago(m.updatedAt),
      ])));
      return 0;
    }
    case 'show': {
      const name = cli.arg(1, 'the model (aiaas models show NAME [VERSION])');
      const v = cli.args.positionals[2] ?? cli.flag('version');
      if (v !== undefined) {
        const mv = await client.models.version(name, v);
        cli.print(mv, () => versionText(mv));
        return 0;
      }
      const versions = await client.models.versions(name);
      cli.print(versions, () => table(['VERSION', 'STAGE', 'KIND', 'TASK', 'METRICS', 'SIZE', 'CREATED'], versions.map((x) => [
        x.version, x.stage, x.kind, x.task, metricSummary(x.metrics), bytes(x.sizeBytes), ago(x.createdAt),
      ])));
      return 0;
    }
    case 'stage': {
      const name = cli.arg(1, 'the model (aiaas models stage NAME VERSION STAGE)');
      const version = cli.arg(2, 'the version (aiaas models stage NAME VERSION STAGE)');
      const stage = cli.arg(3, 'the stage: none, staging, production or archived');
      if (!STAGES.includes(stage)) throw new UsageError(`the stage is one of ${STAGES.join(', ')}; got '${stage}'.`);
      const mv = await client.models.setStage(name, version, stage as Stage, cli.bool('no-archive') ? false : undefined);
      cli.print(mv, () => `${mv.name} version ${mv.version} is now in stage ${mv.stage}.`);
      return 0;
    }
    case 'download': {
      const name = cli.arg(1, 'the model (aiaas models download NAME VERSION [--format onnx|hf] [-o FILE])');
      const version = cli.args.positionals[2] ?? cli.flag('version') ?? 'latest';
      const format = cli.flag('format');
      if (format !== undefined && format !== 'onnx' && format !== 'hf') throw new UsageError(`--format is onnx (the graph) or hf (a causal_lm's Hugging Face folder, .tar.gz); got '${format}'.`);
      const res = await client.models.artifact(name, version, format);
      const disposition = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
      const out = cli.flag('output') ?? disposition ?? `${name}-v${version}${format === 'hf' ? '.tar.gz' : '.onnx'}`;
      if (out === '-') await pipeline(Readable.fromWeb(res.body as never), process.stdout);
      else await pipeline(Readable.fromWeb(res.body as never), fs.createWriteStream(out));
      const size = out === '-' ? Number(res.headers.get('content-length')) : fs.statSync(out).size;
      if (out !== '-') cli.print({ file: out, bytes: size }, () => `Saved ${out} (${bytes(size)}).`);
      return 0;
    }
    case 'import': {
      // aiaas models import NAME model.onnx [--task classification --labels a,b,c --description D]
      const name = cli.arg(1, 'the model (aiaas models import NAME FILE.onnx)');
      const file = cli.arg(2, 'the ONNX file (aiaas models import NAME FILE.onnx)');
      if (!fs.existsSync(file)) throw new UsageError(`cannot read '${file}': no such file.`);
      const body = Readable.toWeb(fs.createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
      const mv = await client.models.import(name, body, { task: cli.flag('task'), labels: cli.flag('labels'), description: cli.flag('description') });
      cli.print(mv, () => `Imported ${mv.name} version ${mv.version} (${mv.task}, ${bytes(mv.sizeBytes)}); inputs: ${mv.signature.inputs.map((i) => i.name).join(', ') || mv.signature.tensors.map((t) => t.name).join(', ')}.`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand 'models ${sub}': use list, show, stage, download or import.`);
  }
}

function versionText(v: ModelVersion): string {
  const m = v.metrics as JobMetrics;
  const test = testMetricsOf(m);
  const testLine = scalars(test);
  const training = scalars(m.training ?? {});
  const lines = [fields([
    ['model', v.name], ['version', v.version], ['stage', v.stage], ['kind', v.kind], ['task', v.task], ['source', v.source],
    ['inputs', v.signature.inputs.map((i) => `${i.name}:${i.type}`).join(', ') || v.signature.tensors.map((t) => `${t.name}${JSON.stringify(t.shape)}`).join(', ')],
    ['labels', v.signature.labels?.join(', ')], ['test metrics', testLine || undefined], ['training', training || undefined],
    ['lineage', v.lineage.job ? `job ${v.lineage.job}, dataset ${v.lineage.dataset} v${v.lineage.datasetVersion}` : undefined],
    ['size', bytes(v.sizeBytes)], ['sha256', v.sha256], ['created', v.createdAt],
  ])];
  const cv = crossValidationLine(m, Object.keys(m.crossValidation ?? {}));
  if (cv) lines.push(cv);
  const cm = test.confusionMatrix as number[][] | undefined;
  const labels = (test.labels as string[] | undefined) ?? v.signature.labels;
  if (Array.isArray(cm) && labels) {
    lines.push('', 'Confusion matrix (rows: true, columns: predicted):', table(['', ...labels], cm.map((row, i) => [labels[i], ...row])));
  }
  const fi = m.featureImportance as Array<{ feature: string; importance: number }> | undefined;
  if (Array.isArray(fi) && fi.length) {
    const max = Math.max(...fi.map((f) => Math.abs(f.importance)), 1e-12);
    lines.push('', 'Feature importance:', ...fi.slice(0, 15).map((f) => `  ${f.feature.padEnd(24)} ${'█'.repeat(Math.round((Math.abs(f.importance) / max) * 30))} ${fmt(f.importance)}`));
  }
  return lines.join('\n');
}

/** aiaas deploy ENDPOINT --model M [--version V | --stage S] [--min N --max N] [--no-wait] */
export async function deploy(cli: Cli): Promise<number> {
  const client = cli.client();
  const name = cli.arg(0, 'the endpoint name (aiaas deploy ENDPOINT --model MODEL [--version V])');
  const model = cli.flag('model') ?? name;
  const stage = cli.flag('stage');
  if (stage !== undefined && !STAGES.includes(stage)) throw new UsageError(`--stage is one of ${STAGES.join(', ')}.`);
  const min = cli.number('min', { integer: true, min: 1 });
  const max = cli.number('max', { integer: true, min: 1 });
  const body = {
    name, model, version: cli.number('version', { integer: true, min: 1 }), stage: stage as Stage | undefined,
    replicas: min !== undefined || max !== undefined ? { min, max } : undefined,
    batching: cli.flag('max-batch-size') ? { maxBatchSize: cli.number('max-batch-size', { integer: true, min: 1 }) } : undefined,
  };
  let ep = await client.endpoints.create(JSON.parse(JSON.stringify(body)));
  if (!cli.bool('no-wait', 'detach')) ep = await client.endpoints.waitReady(name, (cli.number('timeout', { min: 1 }) ?? 120) * 1000);
  cli.print(ep, () => `Endpoint ${ep.name} ${ep.status}: model ${ep.model} ${split(ep.traffic)}.\nPredict: aiaas predict ${ep.name} --file rows.csv   (POST ${ep.urls.predict})`);
  return 0;
}

export async function endpoints(cli: Cli, sub: string | undefined): Promise<number> {
  const client = cli.client();
  switch (sub) {
    case 'list':
    case undefined: {
      const list = await client.endpoints.list();
      cli.print(list, () => table(['NAME', 'MODEL', 'STATUS', 'TRAFFIC', 'REPLICAS', 'UPDATED'], list.map((e) => [
        e.name, e.model, e.status, split(e.traffic), `${e.replicas.ready}/${e.replicas.current}`, ago(e.updatedAt),
      ])));
      return 0;
    }
    case 'show': {
      const e = await client.endpoints.get(cli.arg(1, 'the endpoint (aiaas endpoints show NAME)'));
      cli.print(e, () => [
        fields([['name', e.name], ['model', e.model], ['status', e.status], ['error', e.error], ['replicas', `${e.replicas.ready} ready of ${e.replicas.current} (min ${e.replicas.min}, max ${e.replicas.max})`],
          ['batching', `max ${e.batching.maxBatchSize} rows, wait ${e.batching.maxDelayMs} ms`], ['predict', e.urls.predict]]),
        '', table(['VERSION', 'WEIGHT', 'REPLICAS', 'READY', 'QUEUE', 'INFLIGHT'], e.versions.map((v) => [v.version, v.weight, v.replicas, v.ready, v.queueDepth, v.inflight])),
      ].join('\n'));
      return 0;
    }
    case 'traffic': {
      // aiaas endpoints traffic NAME 1=90 2=10
      const name = cli.arg(1, 'the endpoint (aiaas endpoints traffic NAME VERSION=WEIGHT …)');
      const weights = cli.args.positionals.slice(2).map((s) => {
        const m = /^(\d+)=(\d+(?:\.\d+)?)$/.exec(s);
        if (!m) throw new UsageError(`traffic is VERSION=WEIGHT, e.g. 1=90 2=10; got '${s}'.`);
        return { version: Number(m[1]), weight: Number(m[2]) };
      });
      if (!weights.length) throw new UsageError('give at least one VERSION=WEIGHT, e.g. aiaas endpoints traffic iris 1=90 2=10.');
      const e = await client.endpoints.update(name, { traffic: weights });
      cli.print(e, () => `Endpoint ${e.name}: ${split(e.traffic)}.`);
      return 0;
    }
    case 'wait': {
      // Through another API node than the one that made it, the endpoint may arrive a moment later: a 404 is waited out.
      const name = cli.arg(1, 'the endpoint (aiaas endpoints wait NAME)');
      const e = await client.endpoints.waitReady(name, (cli.number('timeout', { min: 1 }) ?? 120) * 1000, { untilFound: true });
      cli.print(e, () => `Endpoint ${e.name} ready: ${split(e.traffic)}, ${e.replicas.ready} replicas ready.`);
      return 0;
    }
    case 'delete': {
      const r = await client.endpoints.delete(cli.arg(1, 'the endpoint (aiaas endpoints delete NAME)'));
      cli.print(r, () => `Deleted endpoint ${r.name}.`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand 'endpoints ${sub}': use list, show, wait, traffic or delete.`);
  }
}

/**
 * aiaas predict ENDPOINT --file rows.csv|rows.json|rows.jsonl [--batch N] | --data '{"col": 1}'
 * Rows are sent in batches as they are read; predictions are written as they come back, one per
 * line (JSON lines with --json).
 */
export async function predict(cli: Cli): Promise<number> {
  const client = cli.client();
  const name = cli.arg(0, 'the endpoint (aiaas predict ENDPOINT --file rows.csv)');
  const file = cli.flag('file') ?? cli.args.positionals[1];
  const data = cli.flag('data');
  if (!file && data === undefined) throw new UsageError('give the rows: --file rows.csv (CSV with a header, JSON array, or JSON lines; - for stdin) or --data \'{"column": value}\'.');
  const batchSize = cli.number('batch', { integer: true, min: 1 }) ?? 100;
  const types = await columnTypes(cli, name);
  let index = 0;
  let batch: unknown[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const r = await client.endpoints.predict(name, batch);
    for (const p of r.predictions) {
      if (cli.json) cli.out(JSON.stringify({ row: index, ...p, model: r.model, version: r.version }));
      else cli.out(`${String(index).padStart(4)}  ${p.label !== undefined ? String(p.label) : p.value !== undefined ? fmt(p.value) : JSON.stringify(p)}${p.probabilities ? `  (p=${fmt(Math.max(...p.probabilities))})` : ''}`);
      index++;
    }
    batch = [];
  };
  for await (const row of readRows(file, data, types)) {
    batch.push(row);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return 0;
}

/** Rows per explain request (the route's limit). */
const EXPLAIN_BATCH = 10;

export async function explain(cli: Cli): Promise<number> {
  const client = cli.client();
  const name = cli.arg(0, 'the endpoint (aiaas explain ENDPOINT --data \'{"column": value}\')');
  const file = cli.flag('file') ?? cli.args.positionals[1];
  const data = cli.flag('data');
  if (!file && data === undefined) throw new UsageError('give the rows: --data \'{"column": value}\' or --file rows.csv (CSV with a header, JSON array, or JSON lines; - for stdin).');
  const samples = cli.number('samples', { integer: true, min: 1 });
  const seed = cli.number('seed', { integer: true, min: 0 });
  const types = await columnTypes(cli, name);
  let index = 0;
  let batch: unknown[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const r = await client.endpoints.explain(name, batch, { ...(samples !== undefined ? { samples } : {}), ...(seed !== undefined ? { seed } : {}) });
    for (const e of r.explanations) {
      if (cli.json) cli.out(JSON.stringify({ row: index, method: r.method, ...e, model: r.model, version: r.version }));
      else printWaterfall(cli, index, r.method, e);
      index++;
    }
    batch = [];
  };
  for await (const row of readRows(file, data, types)) {
    batch.push(row);
    if (batch.length >= EXPLAIN_BATCH) await flush();
  }
  await flush();
  return 0;
}

/** The base value, then each column's push (largest first), then the prediction they reach. */
function printWaterfall(cli: Cli, row: number, method: string, e: { baseValue: number; values: Record<string, number>; output: string; class?: string; prediction: number }): void {
  cli.out(`row ${row}: ${e.output}${e.class !== undefined ? ` of '${e.class}'` : ''} (${method})`);
  const entries = Object.entries(e.values).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  const width = Math.max(10, ...entries.map(([c]) => c.length));
  cli.out(`  ${'base value'.padEnd(width)}  ${fmt(e.baseValue)}`);
  for (const [c, v] of entries) cli.out(`  ${c.padEnd(width)}  ${v >= 0 ? '+' : ''}${fmt(v)}`);
  cli.out(`  ${'prediction'.padEnd(width)}  ${fmt(e.prediction)}`);
}

/** Column types of the served version (so CSV "1" becomes 1, categories stay strings, and a target column is left out). */
async function columnTypes(cli: Cli, endpoint: string): Promise<Map<string, string>> {
  try {
    return new Map((await cli.client().endpoints.columns(endpoint)).map((c) => [c.name, c.type]));
  } catch {
    return new Map(); // not ready yet: guess from the values, and let the server name bad columns
  }
}

async function* readRows(file: string | undefined, data: string | undefined, types: Map<string, string>): AsyncGenerator<unknown> {
  if (data !== undefined) {
    let v: unknown;
    try { v = JSON.parse(data); } catch { throw new UsageError('--data is not JSON.'); }
    yield* Array.isArray(v) ? v : [v];
    return;
  }
  if (file !== '-' && !fs.existsSync(file!)) throw new UsageError(`cannot read '${file}': no such file.`);
  const input = file === '-' ? process.stdin : fs.createReadStream(file!);
  if (/\.json$/i.test(file!)) {
    const chunks: Buffer[] = [];
    for await (const c of input) chunks.push(c as Buffer);
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const rows = Array.isArray(v) ? v : Array.isArray(v?.instances) ? v.instances : [v];
    yield* rows;
    return;
  }
  const chunks = peekable(input as AsyncIterable<Buffer>);
  // JSON lines by name, or (stdin, any name) when the first thing in the stream is an object.
  if (/\.(jsonl|ndjson)$/i.test(file!) || (await chunks.first())?.toString('utf8').trimStart().startsWith('{')) {
    for await (const line of readline.createInterface({ input: Readable.from(chunks.all()), crlfDelay: Infinity })) {
      if (line.trim()) yield JSON.parse(line);
    }
    return;
  }
  let header: string[] | undefined;
  for await (const cells of csvRecords(chunks.all())) {
    if (!header) {
      header = cells;
      continue;
    }
    const row: Record<string, unknown> = {};
    header.forEach((col, i) => {
      if (types.size && !types.has(col)) return; // e.g. the target column
      row[col] = convert(cells[i] ?? '', types.get(col));
    });
    yield row;
  }
}

/** A byte stream whose first non-empty chunk can be looked at before the whole is read. */
function peekable(input: AsyncIterable<Buffer>): { first(): Promise<Buffer | undefined>; all(): AsyncGenerator<Buffer> } {
  const it = input[Symbol.asyncIterator]();
  let head: Buffer[] | undefined;
  const first = async () => {
    if (!head) {
      head = [];
      for (let r = await it.next(); !r.done; r = await it.next()) {
        head.push(r.value);
        if (r.value.toString('utf8').trim()) break;
      }
    }
    return head.length ? Buffer.concat(head) : undefined;
  };
  return {
    first,
    async *all() {
      yield* head ?? [];
      head = [];
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    },
  };
}

function convert(v: string, type: string | undefined): unknown {
  if (v === '' || v === 'NA' || v === 'null') return null;
  if (type === 'number' || type === 'integer') return Number(v);
  if (type === 'boolean') return v.toLowerCase() === 'true' || v === '1';
  if (type === undefined && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
}

export const modelsCommand: Command = {
  usage: ['models list | show NAME [VERSION] | stage NAME VERSION none|staging|production|archived',
    'models download NAME [VERSION] [--format onnx|hf] [-o FILE] | import NAME FILE.onnx [--task T --labels a,b,c]'],
  summary: 'The model registry: versions, their metrics and stages, the ONNX artifacts.',
  options: {
    version: { type: 'string', value: 'V', help: 'show, download: the version (or the argument after NAME)' },
    output: { type: 'string', short: 'o', value: 'FILE', help: 'download: where to write the artifact (- for stdout)' },
    format: { type: 'string', value: 'onnx|hf', help: "download: the ONNX graph (default) or a causal_lm's Hugging Face folder (.tar.gz)" },
    'no-archive': { type: 'boolean', help: 'stage production: keep the version that was in production there' },
    task: { type: 'string', value: 'T', help: 'import: classification or regression' },
    labels: { type: 'string', value: 'a,b,c', help: 'import: the class labels, in output order' },
    description: { type: 'string', value: 'TEXT', help: 'import: a description' },
  },
  subcommands: true,
  run: models,
};

export const deployCommand: Command = {
  usage: ['deploy ENDPOINT --model MODEL [--version V | --stage S] [--min N --max N] [--no-wait]'],
  summary: 'Creates or updates an endpoint serving a model version, and waits until it is ready.',
  options: {
    model: { type: 'string', value: 'MODEL', help: 'the model (default: the endpoint\'s name)' },
    version: { type: 'string', value: 'V', help: 'the version to serve' },
    stage: { type: 'string', value: 'S', help: 'serve the version in this stage: none, staging, production or archived' },
    min: { type: 'string', value: 'N', help: 'fewest replicas' },
    max: { type: 'string', value: 'N', help: 'most replicas' },
    'max-batch-size': { type: 'string', value: 'N', help: 'rows batched into one model call' },
    timeout: { type: 'string', value: 'SECONDS', help: 'how long to wait for ready (120)' },
    'no-wait': { type: 'boolean', help: 'return without waiting for ready' },
    detach: { type: 'boolean', help: 'same as --no-wait' },
  },
  run: deploy,
};

export const endpointsCommand: Command = {
  usage: ['endpoints list | show NAME | wait NAME [--timeout S] | traffic NAME VERSION=WEIGHT … | delete NAME'],
  summary: 'Endpoints: their replicas and traffic split between versions; wait: until ready on the node asked (a 404 is waited out).',
  options: {
    timeout: { type: 'string', value: 'SECONDS', help: 'wait: how long to wait for ready (120)' },
  },
  subcommands: true,
  run: endpoints,
};

export const explainCommand: Command = {
  usage: ['explain ENDPOINT --data JSON | --file rows.csv|rows.json|rows.jsonl|- [--samples 256] [--seed 0]'],
  summary: 'Why each row got its prediction: SHAP values per column, from the base value to the prediction.',
  options: {
    file: { type: 'string', short: 'f', value: 'FILE', help: 'CSV with a header, a JSON array or JSON lines; - for stdin' },
    data: { type: 'string', short: 'd', value: 'JSON', help: 'one row (an object) or a JSON array of rows' },
    samples: { type: 'string', value: 'N', help: 'KernelSHAP coalitions per row for models that are not tree ensembles (256)' },
    seed: { type: 'string', value: 'N', help: 'seed of the KernelSHAP draws (0)' },
  },
  run: explain,
};

export const predictCommand: Command = {
  usage: ['predict ENDPOINT --file rows.csv|rows.json|rows.jsonl|- [--batch 100] | --data JSON'],
  summary: 'Streams rows in batches; one prediction per line as they return.',
  options: {
    file: { type: 'string', short: 'f', value: 'FILE', help: 'CSV with a header, a JSON array or JSON lines; - for stdin' },
    data: { type: 'string', short: 'd', value: 'JSON', help: 'one row (an object) or a JSON array of rows' },
    batch: { type: 'string', value: 'N', help: 'rows per request (100)' },
  },
  run: predict,
};
