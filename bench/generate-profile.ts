/**
 * `node dist/bench/generate-profile.js [streams] [tokens] [prompt tokens]`: the continuous batch
 * alone (no HTTP, no worker thread) over bench:generate's GPT-2-small-shaped folder
 * (BENCH_GEN_DIR, default $TMPDIR/aiaas-bench-gpt2; `npm run bench:generate` exports it), in
 * one ONNX Runtime session of one intra-op thread as a replica runs it. All streams are added at
 * once (as 16 concurrent clients arrive); prints the aggregate tokens/s and where an iteration's
 * time goes: inside ONNX Runtime (`session.run`) and the rest (feeds, cache regroups, sampling).
 * The graph is given its appended-key/value outputs as replicas give it (decoder.ts's
 * exposeAppendedKeyValues); BENCH_GEN_PRESENT=1 keeps it as exported (steps then read `present`).
 * Run it under `node --cpu-prof` for a flame graph of the JS side.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ContinuousBatcher } from '../src/engine/lm/continuous-batch.js';
import { exposeAppendedKeyValues } from '../src/engine/lm/decoder.js';
import { GREEDY } from '../src/engine/lm/sampling.js';

const DIR = process.env.BENCH_GEN_DIR ?? path.join(os.tmpdir(), 'aiaas-bench-gpt2');
const streams = Number(process.argv[2] ?? 16);
const tokens = Number(process.argv[3] ?? 64);
const promptTokens = Number(process.argv[4] ?? 10);
const PROMPT = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13];
const prompt = Array.from({ length: promptTokens }, (_, i) => PROMPT[i % PROMPT.length]!);

const exposed = process.env.BENCH_GEN_PRESENT === '1' ? undefined : exposeAppendedKeyValues(fs.readFileSync(path.join(DIR, 'onnx/model.onnx')), 12);
const file = path.join(DIR, 'onnx', exposed ? 'model.appended.onnx' : 'model.onnx'); // beside model.onnx_data
if (exposed) fs.writeFileSync(file, exposed.model);
const session = await ort.InferenceSession.create(file, {
  intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', enableCpuMemArena: true, enableMemPattern: true,
});
const shape = { layers: 12, heads: 12, headDim: 64, vocabSize: 50257, context: 1024 };
let runMs = 0;
let runs = 0;
const runner = {
  appended: exposed?.appended,
  run: async (feeds: Record<string, ort.Tensor>, fetches?: string[]) => {
    const t = performance.now();
    const out = (await (fetches ? session.run(feeds, fetches) : session.run(feeds))) as Record<string, ort.Tensor>;
    const ms = performance.now() - t;
    runMs += ms;
    runs++;
    if (process.env.PROFILE_RUNS) console.log(`run ${feeds.input_ids!.dims.join('x')} past ${feeds['past_key_values.0.key']!.dims[2]}: ${ms.toFixed(1)} ms`);
    return out;
  },
};

async function once(n: number): Promise<{ seconds: number; generated: number; first: number[] }> {
  let generated = 0;
  let finished = 0;
  const first: number[] = [];
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const b = new ContinuousBatcher(runner, shape, (events) => {
    for (const e of events) {
      if (e.token !== undefined) {
        generated++;
        if (e.id === 0) first.push(e.token);
      }
      if (e.finish && ++finished === n) resolve();
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) b.add({ id: i, prompt, maxTokens: tokens, sampling: GREEDY, seed: i, eos: [], logprobs: -1 });
  await done;
  await b.close();
  return { seconds: (performance.now() - t0) / 1000, generated, first };
}

await once(1); // warm-up
for (const n of [1, streams]) {
  runMs = 0;
  runs = 0;
  const r = await once(n);
  const total = r.seconds * 1000;
  console.log(`${exposed ? 'appended outputs' : 'present'}: ${n} stream(s) × ${tokens} tokens: ${(r.generated / r.seconds).toFixed(1)} tokens/s aggregate; ${runs} runs, ${runMs.toFixed(0)} ms in session.run, ${(total - runMs).toFixed(0)} ms outside (${((total - runMs) / total * 100).toFixed(0)}%); first ids ${r.first.slice(0, 8).join(',')}`);
}
await session.release();
if (exposed) fs.rmSync(file);
