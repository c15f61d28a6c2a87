/**
 * `BENCH_GEN_QUANTIZE=1 npm run bench:generate`: weight-only quantization (issues #13 and #15).
 *
 * Speed, on the bench's GPT-2-small-shaped decoder (random seeded weights), all through the API of one server:
 * the imported folder (version 1) is quantized by `optimize` jobs `quantize_weights` bits 8 and bits 4
 * (ONNX Runtime's MatMulNBits, block 32); the three versions are deployed (one endpoint each) and measured
 * in interleaved rounds (per round and side: one stream, then 16 at once, the sides' order rotating),
 * medians and ratios vs fp32 printed, with the artifact sizes. Greedy agreement: ONNX Runtime alone on each
 * downloaded artifact, how many of the first 32 greedy ids equal fp32's.
 *
 * Perplexity: random weights say nothing about quality, so README's small character-level GPT is trained
 * on examples' kjv text through the job API (the last 10% of verses held out), quantized at 8 and 4 bits,
 * and the three artifacts are scored on the same held-out windows here (the optimize job reports no test
 * metrics for language models); the training job's own perplexity is printed beside fp32's as a check.
 *
 * BENCH_GEN_ROUNDS (default 4) sets the rounds; BENCH_GEN_TOKENS the tokens per stream;
 * BENCH_GEN_QUANTIZE_SKIP_SPEED=1 runs the perplexity part alone (about a minute).
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as ort from 'onnxruntime-node';
import { buildTokenizer } from '../src/ml/text/index.js';
import { AiaasClient, type Job } from '../src/sdk/index.js';
import type { TestServer } from '../src/interfaces/testing/test-server.js';
import { stream } from './generate-client.js';

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2;
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function done(client: AiaasClient, job: Job): Promise<Job> {
  const final = await client.jobs.wait(job.id);
  if (final.status !== 'succeeded') throw new Error(`job ${job.id} (${job.type}) ${final.status}: ${final.error}`);
  return final;
}

async function artifact(s: TestServer, model: string, version: number, file: string): Promise<string> {
  const res = await fetch(`${s.url}/v1/models/${model}/versions/${version}/artifact`, { headers: { authorization: `Bearer ${s.adminKey}` } });
  if (res.status !== 200) throw new Error(`artifact ${model} v${version}: ${res.status} ${await res.text()}`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

type Greedy = (n: number, modelPath: string) => Promise<{ ids: number[]; tokensPerSecond: number }>;

/** The speed part: `dir` is the bench folder (version 1 of gpt2-bench already imported). */
export async function quantizeSpeed(s: TestServer, dir: string, tokens: number, greedy: Greedy): Promise<void> {
  const client = new AiaasClient({ url: s.url, apiKey: s.adminKey });
  const rounds = Number(process.env.BENCH_GEN_ROUNDS ?? 4);
  const sides: Array<{ label: string; version: number; endpoint: string; size: number; file: string; job?: Job }> = [
    { label: 'fp32', version: 1, endpoint: 'gpt2-fp32', size: fs.statSync(path.join(dir, 'onnx/model.onnx')).size + fs.statSync(path.join(dir, 'onnx/model.onnx_data')).size, file: path.join(dir, 'onnx/model.onnx') },
  ];
  for (const bits of [8, 4]) {
    const t0 = performance.now();
    const job = await done(client, await client.jobs.optimize({ model: 'gpt2-bench', version: 1, method: 'quantize_weights', bits } as never));
    const m = job.metrics as unknown as { sizeBytes: number; latencyMs: { p50Row: number; p50Batch: number }; source: { sizeBytes: number; latencyMs: { p50Row: number; p50Batch: number } }; optimization: { rewritten: number; skipped: unknown[] } };
    console.log(`optimize quantize_weights bits ${bits}: job ${((performance.now() - t0) / 1000).toFixed(0)} s, ${m.optimization.rewritten} MatMuls rewritten, ${m.optimization.skipped.length} skipped; artifact ${mib(m.source.sizeBytes)} → ${mib(m.sizeBytes)} (${((100 * m.sizeBytes) / m.source.sizeBytes).toFixed(1)}%); job's p50 1-token step ${m.source.latencyMs.p50Row} → ${m.latencyMs.p50Row} ms, prompt ${m.source.latencyMs.p50Batch} → ${m.latencyMs.p50Batch} ms`);
    const version = job.result!.version;
    sides.push({ label: `int${bits}`, version, endpoint: `gpt2-int${bits}`, size: m.sizeBytes, file: await artifact(s, 'gpt2-bench', version, path.join(dir, `int${bits}.onnx`)), job });
  }
  // Greedy agreement with fp32, ONNX Runtime alone on each artifact.
  const ref = await greedy(32, sides[0]!.file);
  for (const side of sides.slice(1)) {
    const g = await greedy(32, side.file);
    let agree = 0;
    while (agree < 32 && g.ids[agree] === ref.ids[agree]) agree++;
    console.log(`${side.label} greedy (ONNX Runtime alone): first ${agree} of 32 ids identical to fp32's (${g.ids.filter((id, i) => id === ref.ids[i]).length} of 32 positions equal)`);
    fs.rmSync(side.file); // the downloaded artifact, not part of the bench folder
  }
  for (const side of sides) {
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { json: { name: side.endpoint, model: 'gpt2-bench', version: side.version } });
    if (ep.status !== 201) throw new Error(`endpoint ${side.endpoint}: ${ep.status} ${ep.text}`);
    await stream(s.url, s.adminKey, 4, side.endpoint); // warm-up
  }
  const one = new Map<string, number[]>(sides.map((x) => [x.label, []]));
  const many = new Map<string, number[]>(sides.map((x) => [x.label, []]));
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => sides[(i + r) % sides.length]!);
    for (const side of order) {
      one.get(side.label)!.push((await stream(s.url, s.adminKey, tokens, side.endpoint)).tokensPerSecond);
      const t0 = performance.now();
      const all = await Promise.all(Array.from({ length: 16 }, () => stream(s.url, s.adminKey, tokens, side.endpoint)));
      many.get(side.label)!.push(all.reduce((n, x) => n + x.tokens, 0) / ((performance.now() - t0) / 1000));
    }
    console.log(`round ${r + 1}: ${sides.map((x) => `${x.label} ${one.get(x.label)!.at(-1)!.toFixed(1)} / ${many.get(x.label)!.at(-1)!.toFixed(1)}`).join(', ')} tokens/s (1 stream / 16 streams)`);
  }
  const f1 = median(one.get('fp32')!);
  const f16 = median(many.get('fp32')!);
  console.log(`\n| version | artifact | 1 stream tokens/s (median of ${rounds}) | vs fp32 | 16 streams aggregate | vs fp32 |\n| --- | ---: | ---: | ---: | ---: | ---: |`);
  for (const side of sides) {
    const a = median(one.get(side.label)!);
    const b = median(many.get(side.label)!);
    console.log(`| ${side.label} | ${mib(side.size)} | ${a.toFixed(1)} | ${(a / f1).toFixed(2)}× | ${b.toFixed(1)} | ${(b / f16).toFixed(2)}× |`);
  }
  for (const side of sides) await s.call('DELETE', `/v1/endpoints/${side.endpoint}`);
}

/** Mean next-token cross-entropy (nats) of a character GPT artifact over the given windows; its exp is the perplexity. */
async function meanLoss(file: string, windows: number[][], layers: number, heads: number, headDim: number): Promise<number> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  const i64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);
  let total = 0;
  let n = 0;
  for (const w of windows) {
    const input = w.slice(0, -1);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(input, [1, input.length]), attention_mask: i64(input.map(() => 1), [1, input.length]), position_ids: i64(input.map((_, i) => i), [1, input.length]),
    };
    for (let l = 0; l < layers; l++) for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, headDim]);
    const logits = (await session.run(feeds)).logits!;
    const vocab = logits.dims[2]!;
    const data = logits.data as Float32Array;
    for (let t = 0; t < input.length; t++) {
      const row = data.subarray(t * vocab, (t + 1) * vocab);
      let max = -Infinity;
      for (const x of row) if (x > max) max = x;
      let sum = 0;
      for (const x of row) sum += Math.exp(x - max);
      total += Math.log(sum) + max - row[w[t + 1]!]!;
      n++;
    }
  }
  await session.release();
  return total / n;
}

/** The perplexity part: README's small kjv GPT trained, quantized at 8 and 4 bits, all three scored on the same held-out windows. */
export async function quantizePerplexity(s: TestServer, root: string, workDir: string): Promise<void> {
  const client = new AiaasClient({ url: s.url, apiKey: s.adminKey });
  const gz = fs.readFileSync(path.join(root, 'examples/data/kjv.txt.gz'));
  await client.datasets.upload(gz, { name: 'kjv', filename: 'kjv.txt.gz' });
  const model = { kind: 'causal_lm', layers: 2, heads: 4, dim: 128, context: 128, dropout: 0 };
  const t0 = performance.now();
  const trained = await done(client, await client.jobs.train({
    name: 'kjv-gpt', dataset: 'kjv', task: 'language_modeling', text: 'text', tokenizer: { kind: 'char' }, model,
    training: { steps: 300, batchSize: 16, optimizer: 'adamw', learningRate: 0.003, weightDecay: 0.1, schedule: { kind: 'cosine', warmupSteps: 30 }, clipNorm: 1.0, seed: 0 },
  } as never));
  const jobTest = (trained.metrics as { test: { valLoss: number; perplexity: number } }).test;
  console.log(`kjv GPT (README 10b: 2 layers, 4 heads, dim 128, context 128, char tokenizer, 300 steps) trained in ${((performance.now() - t0) / 1000).toFixed(0)} s: the job's valLoss ${jobTest.valLoss}, perplexity ${jobTest.perplexity}`);
  const files = [{ label: 'fp32', file: await artifact(s, 'kjv-gpt', 1, path.join(workDir, 'kjv-fp32.onnx')) }];
  for (const bits of [8, 4]) {
    const job = await done(client, await client.jobs.optimize({ model: 'kjv-gpt', version: 1, method: 'quantize_weights', bits } as never));
    const m = job.metrics as unknown as { sizeBytes: number; source: { sizeBytes: number }; optimization: { rewritten: number } };
    console.log(`kjv GPT quantize_weights bits ${bits}: ${m.optimization.rewritten} MatMuls rewritten, ${m.source.sizeBytes} → ${m.sizeBytes} bytes (${((100 * m.sizeBytes) / m.source.sizeBytes).toFixed(1)}%)`);
    files.push({ label: `int${bits}`, file: await artifact(s, 'kjv-gpt', job.result!.version, path.join(workDir, `kjv-int${bits}.onnx`)) });
  }
  // The held-out text as the job splits it: non-empty lines, the last 10% held out, joined by "\n"; the char vocabulary of the rest.
  const lines = gunzipSync(gz).toString('utf8').split('\n').filter((l) => l.length > 0);
  const nVal = Math.max(1, Math.round(lines.length * 0.1));
  const train = lines.slice(0, lines.length - nVal).join('\n');
  const heldOut = lines.slice(lines.length - nVal).join('\n');
  const tok = buildTokenizer({ kind: 'char' }, () => [train]);
  const ids = tok.encode(heldOut);
  const W = model.context + 1;
  const count = Math.min(400, Math.floor(ids.length / W));
  const stride = Math.floor(ids.length / W / count) * W;
  const windows = Array.from({ length: count }, (_, i) => ids.slice(i * stride, i * stride + W));
  const losses: number[] = [];
  for (const f of files) losses.push(await meanLoss(f.file, windows, model.layers, model.heads, model.dim / model.heads));
  console.log(`\nheld-out kjv (${count} windows of ${model.context} next-character predictions from the last ${nVal} verses):\n| version | valLoss (nats) | perplexity | change vs fp32 |\n| --- | ---: | ---: | ---: |`);
  for (const f of files) fs.rmSync(f.file);
  files.forEach((f, i) => console.log(`| ${f.label} | ${losses[i]!.toFixed(4)} | ${Math.exp(losses[i]!).toFixed(4)} | ${i === 0 ? '' : `${(100 * (Math.exp(losses[i]!) / Math.exp(losses[0]!) - 1)).toFixed(2)}%`} |`));
}
