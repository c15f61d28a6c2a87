/**
 * Generation benchmark (`npm run bench:generate`), side by side on the same weights: a
 * GPT-2-small-shaped decoder (12 layers, 768 dim, 12 heads, vocabulary 50,257, seeded random
 * weights) exported by bench/peers/gpt2_decoder.py as a Hugging Face ONNX folder (Optimum's
 * layout, external data), GPT-2's tokenizer.json written here from the project's gpt2 ranks.
 *
 * 1. The folder is imported through our API (POST /v1/models/{name}/versions, .tar.gz streamed).
 * 2. ONNX Runtime runs it directly, prefill then decode steps with the cache fed back: the
 *    greedy ids must equal PyTorch's (eager, with its key/value cache, best of 1 and 2 threads).
 * 3. Through our endpoint (OpenAI completions with token-id prompts): single-stream decode
 *    tokens/s, 16 concurrent streams' aggregate tokens/s, p50 time to first token under that
 *    load, and the same greedy ids. Until the server has generation, this step says so and stops.
 * Peer 2: the PyTorch loop under Flask + gunicorn (2 workers), 1 and 16 concurrent requests.
 * Goals (issue 13): our single stream ≥ 1.2× PyTorch's; 16 streams ≥ 4× our single stream and ≥ 3× gunicorn's.
 *
 * BENCH_GEN_DIR (default $TMPDIR/aiaas-bench-gpt2) keeps the exported folder between runs;
 * BENCH_GEN_TOKENS (default 64) sets the tokens generated per stream.
 * BENCH_GEN_QUANTIZE=1 measures weight-only quantization instead (bench/generate-quantize.ts): the imported
 * folder quantized at 8 and 4 bits by optimize jobs, decode tokens/s of the three versions in interleaved
 * rounds, and the perplexity change on a small GPT trained on kjv (peers are not run).
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { gpt2Tokenizer, tokenizerConfig } from '../src/ml/text/index.js';
import { startTestServer } from '../src/interfaces/testing/test-server.js';
import { importFolder, PROMPT, stream } from './generate-client.js';
import { quantizePerplexity, quantizeSpeed } from './generate-quantize.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PYTHON = '/usr/bin/python3';
const DIR = process.env.BENCH_GEN_DIR ?? path.join(os.tmpdir(), 'aiaas-bench-gpt2');
const TOKENS = Number(process.env.BENCH_GEN_TOKENS ?? 64);
const LAYERS = 12;
const HEADS = 12;
const HEAD_DIM = 64;

function peer(args: string[]): string {
  const r = spawnSync(PYTHON, [path.join(ROOT, 'bench/peers/gpt2_decoder.py'), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`peer ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

function ensureFolder(): void {
  if (!fs.existsSync(path.join(DIR, 'onnx/model.onnx_data'))) {
    console.log(`exporting the GPT-2-small-shaped decoder to ${DIR} (PyTorch → ONNX, opset 14)…`);
    peer(['export', DIR]);
  }
  const tok = gpt2Tokenizer();
  fs.writeFileSync(path.join(DIR, 'tokenizer.json'), JSON.stringify(tok.toJSON()));
  fs.writeFileSync(path.join(DIR, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig(tok)));
}


/** Greedy decoding with ONNX Runtime alone: prefill, then one token per step with the cache fed back. */
async function ortGreedy(n: number, modelPath = path.join(DIR, 'onnx/model.onnx')): Promise<{ ids: number[]; tokensPerSecond: number }> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  const i64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);
  let past: Record<string, ort.Tensor> = {};
  for (let l = 0; l < LAYERS; l++) {
    for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, HEADS, 0, HEAD_DIM]);
  }
  let input = PROMPT;
  let total = 0;
  const ids: number[] = [];
  let start = 0;
  for (let step = 0; step < n; step++) {
    if (step === 1) start = performance.now(); // decode speed, prefill excluded
    const feeds = {
      input_ids: i64(input, [1, input.length]),
      attention_mask: i64(new Array(total + input.length).fill(1), [1, total + input.length]),
      position_ids: i64(input.map((_, i) => total + i), [1, input.length]),
      ...past,
    };
    const out = await session.run(feeds);
    const logits = out.logits!.data as Float32Array;
    const vocab = out.logits!.dims[2]!;
    const last = logits.subarray((input.length - 1) * vocab, input.length * vocab);
    let best = 0;
    for (let v = 1; v < vocab; v++) if (last[v]! > last[best]!) best = v;
    ids.push(best);
    total += input.length;
    input = [best];
    past = {};
    for (let l = 0; l < LAYERS; l++) {
      for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`]!;
    }
  }
  await session.release();
  return { ids, tokensPerSecond: (n - 1) / ((performance.now() - start) / 1000) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The PyTorch loop under Flask + gunicorn (2 workers): one request, then 16 at once; aggregate tokens/s. */
async function gunicornPeer(): Promise<{ single: number; sixteen: number } | string> {
  const has = spawnSync(PYTHON, ['-c', 'import flask, gunicorn'], { encoding: 'utf8' });
  if (has.status !== 0) return 'python3-flask and gunicorn are not installed (apt-get install python3-flask gunicorn)';
  const port = await freePort();
  const child = spawn(PYTHON, ['-m', 'gunicorn', '-w', '2', '-b', `127.0.0.1:${port}`, '--timeout', '600', '--chdir', path.join(ROOT, 'bench/peers'), `gpt2_decoder:make_app(${JSON.stringify(DIR)})`], { stdio: 'ignore' });
  try {
    const url = `http://127.0.0.1:${port}/generate`;
    const call = async () => {
      for (;;) {
        try {
          const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: PROMPT, max_tokens: TOKENS }) });
          return ((await r.json()) as { ids: number[] }).ids.length;
        } catch {
          await new Promise((res) => setTimeout(res, 500)); // gunicorn still starting
        }
      }
    };
    await call(); // both workers loaded (the first answer), then measured
    await Promise.all([call(), call()]);
    let t0 = performance.now();
    const one = await call();
    const single = one / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    const all = await Promise.all(Array.from({ length: 16 }, call));
    return { single, sixteen: all.reduce((a, b) => a + b, 0) / ((performance.now() - t0) / 1000) };
  } finally {
    child.kill('SIGTERM');
  }
}

async function quantizeMain(): Promise<void> {
  ensureFolder();
  const s = await startTestServer({ AIAAS_MODEL_MAX_BYTES: String(4 * 2 ** 30) });
  try {
    if (process.env.BENCH_GEN_QUANTIZE_SKIP_SPEED !== '1') {
      const imp = await importFolder(DIR, s.url, s.adminKey);
      if (imp.status !== 201) throw new Error(`import failed: ${imp.status} ${imp.text}`);
      await quantizeSpeed(s, DIR, TOKENS, ortGreedy);
    }
    await quantizePerplexity(s, ROOT, DIR);
  } finally {
    await s.stop();
  }
}

async function main(): Promise<void> {
  if (process.env.BENCH_GEN_QUANTIZE === '1') return quantizeMain();
  ensureFolder();
  const torch = JSON.parse(peer(['greedy', DIR, PROMPT.join(','), String(TOKENS)])) as { ids: number[]; tokensPerSecond: number; threads: number };
  console.log(`PyTorch eager (KV cache, best of 1 and 2 threads: ${torch.threads}): ${torch.tokensPerSecond.toFixed(1)} tokens/s`);
  const gunicorn = await gunicornPeer();
  console.log(typeof gunicorn === 'string' ? `gunicorn peer: not run (${gunicorn})` : `PyTorch under Flask + gunicorn (2 workers): 1 stream ${gunicorn.single.toFixed(1)} tokens/s, 16 streams ${gunicorn.sixteen.toFixed(1)} tokens/s aggregate`);
  const direct = await ortGreedy(TOKENS);
  const same = direct.ids.every((id, i) => id === torch.ids[i]);
  console.log(`ONNX Runtime alone (the exported folder, cache fed back): ${direct.tokensPerSecond.toFixed(1)} tokens/s; greedy ids ${same ? 'identical to' : 'DIFFER from'} PyTorch's`);

  const s = await startTestServer({ AIAAS_MODEL_MAX_BYTES: String(4 * 2 ** 30) });
  try {
    const rss = process.memoryUsage().rss;
    const imp = await importFolder(DIR, s.url, s.adminKey);
    if (imp.status !== 201) throw new Error(`import failed: ${imp.status} ${imp.text}`);
    const v = JSON.parse(imp.text) as { kind: string; version: number };
    console.log(`imported through POST /v1/models/gpt2-bench/versions: kind ${v.kind}, version ${v.version} (RSS grew ${Math.round((process.memoryUsage().rss - rss) / 2 ** 20)} MiB for ${Math.round(fs.statSync(path.join(DIR, 'onnx/model.onnx_data')).size / 2 ** 20)} MiB of weights)`);
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { json: { name: 'gpt2-bench', model: 'gpt2-bench', version: v.version } });
    const probe = ep.status === 201 ? await s.call('POST', '/openai/v1/completions', { json: { model: 'gpt2-bench', prompt: PROMPT, max_tokens: 1 } }) : ep;
    if (ep.status !== 201 || probe.status === 404) {
      console.log(`generation is not available in this build (${ep.status !== 201 ? `endpoint: ${ep.status} ${ep.body?.error?.message ?? ep.text}` : 'POST /openai/v1/completions is not a route'}): the endpoint figures (single stream, 16 streams, TTFT) are not measured.`);
      process.exitCode = same ? 0 : 1;
      return;
    }
    if (probe.status !== 200) throw new Error(`completions: ${probe.status} ${probe.text}`);
    const expected = gpt2Tokenizer().decode(torch.ids);
    const one = await stream(s.url, s.adminKey, TOKENS);
    console.log(`ours, 1 stream: ${one.tokensPerSecond.toFixed(1)} tokens/s decode (${(one.tokensPerSecond / torch.tokensPerSecond).toFixed(2)}× PyTorch; goal 1.2×), TTFT ${one.ttftMs.toFixed(0)} ms; greedy text ${one.text === expected ? 'identical to' : 'DIFFERS from'} PyTorch's`);
    const t0 = performance.now();
    const many = await Promise.all(Array.from({ length: 16 }, () => stream(s.url, s.adminKey, TOKENS)));
    const seconds = (performance.now() - t0) / 1000;
    const aggregate = many.reduce((n, r) => n + r.tokens, 0) / seconds;
    const ttft = many.map((r) => r.ttftMs).sort((a, b) => a - b);
    const vsPeer = typeof gunicorn === 'string' ? '' : `, ${(aggregate / gunicorn.sixteen).toFixed(2)}× gunicorn's (goal 3×)`;
    console.log(`ours, 16 streams: ${aggregate.toFixed(1)} tokens/s aggregate (${(aggregate / one.tokensPerSecond).toFixed(2)}× one stream; goal 4×${vsPeer}), p50 TTFT ${ttft[8]!.toFixed(0)} ms`);
    if (one.text !== expected || many.some((r) => r.text !== expected)) process.exitCode = 1;
  } finally {
    await s.stop();
  }
  if (!same) process.exitCode = 1;
}

await main();
