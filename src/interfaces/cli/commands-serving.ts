/** aiaas models list|show|stage|download, aiaas deploy, aiaas endpoints …, aiaas predict */
import fs from 'node:fs';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ModelVersion, Stage } from '../../sdk/index.js';
import { Cli, UsageError, ago, bytes, fields, fmt, table } from './common.js';

/** Traffic weights as percentages of their sum (weights are relative: 90/10 or 0.9/0.1). */
function split(traffic: Array<{ version: number; weight: number }>, sep = ' '): string {
  const total = traffic.reduce((a, t) => a + t.weight, 0) || 1;
  return traffic.map((t) => `v${t.version}:${Math.round((t.weight / total) * 100)}%`).join(sep);
}

const STAGES = ['none', 'staging', 'production', 'archived'];

function metricSummary(m: Record<string, unknown>): string {
  return ['accuracy', 'f1', 'rocAuc', 'r2', 'rmse', 'mae'].filter((k) => typeof m[k] === 'number').map((k) => `${k} ${fmt(m[k] as number)}`).join('  ');
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
      const out = cli.flag('output', 'o') ?? disposition ?? `${name}-v${version}${format === 'hf' ? '.tar.gz' : '.onnx'}`;
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
  const m = v.metrics as Record<string, unknown>;
  const scalars = Object.entries(m).filter(([, x]) => typeof x === 'number').map(([k, x]) => `${k} ${fmt(x as number)}`).join('  ');
  const lines = [fields([
    ['model', v.name], ['version', v.version], ['stage', v.stage], ['kind', v.kind], ['task', v.task], ['source', v.source],
    ['inputs', v.signature.inputs.map((i) => `${i.name}:${i.type}`).join(', ') || v.signature.tensors.map((t) => `${t.name}${JSON.stringify(t.shape)}`).join(', ')],
    ['labels', v.signature.labels?.join(', ')], ['metrics', scalars || undefined],
    ['lineage', v.lineage.job ? `job ${v.lineage.job}, dataset ${v.lineage.dataset} v${v.lineage.datasetVersion}` : undefined],
    ['size', bytes(v.sizeBytes)], ['sha256', v.sha256], ['created', v.createdAt],
  ])];
  const cm = m.confusionMatrix as number[][] | undefined;
  const labels = (m.labels as string[] | undefined) ?? v.signature.labels;
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
    case 'delete': {
      const r = await client.endpoints.delete(cli.arg(1, 'the endpoint (aiaas endpoints delete NAME)'));
      cli.print(r, () => `Deleted endpoint ${r.name}.`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand 'endpoints ${sub}': use list, show, traffic or delete.`);
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
  const file = cli.flag('file', 'f') ?? cli.args.positionals[1];
  const data = cli.flag('data', 'd');
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
  const input = file === '-' ? process.stdin : fs.createReadStream(file!);
  if (file !== '-' && !fs.existsSync(file!)) throw new UsageError(`cannot read '${file}': no such file.`);
  if (/\.json$/i.test(file!)) {
    const chunks: Buffer[] = [];
    for await (const c of input) chunks.push(c as Buffer);
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const rows = Array.isArray(v) ? v : Array.isArray(v?.instances) ? v.instances : [v];
    yield* rows;
    return;
  }
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let header: string[] | undefined;
  const jsonl = /\.(jsonl|ndjson)$/i.test(file!);
  for await (const line of lines) {
    if (!line.trim()) continue;
    if (jsonl || (header === undefined && line.trimStart().startsWith('{'))) {
      yield JSON.parse(line);
      continue;
    }
    const cells = splitCsv(line);
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

function convert(v: string, type: string | undefined): unknown {
  if (v === '' || v === 'NA' || v === 'null') return null;
  if (type === 'number' || type === 'integer') return Number(v);
  if (type === 'boolean') return v.toLowerCase() === 'true' || v === '1';
  if (type === undefined && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
}

/** One CSV line (quotes with "" escapes). */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; }
    else cur += c;
  }
  out.push(cur);
  return out;
}
