/**
 * README's own commands, extracted from the file and run as written with bash against real servers:
 * every ```sh block but the first (`npm ci && npm start`), only the port changed. The setup block
 * ("Five minutes with curl") runs first on its own; every other section then runs as "setup +
 * section" in one bash (that is how its exports and helpers carry over, as in one terminal), so no
 * section may rely on another having run. Two fresh servers: README order, then the sections
 * after setup in reverse order. Each section's key outputs are checked, so none passes vacuously.
 * "Scale out" brings up its own engines and nodes (scripts/scale-out.sh), so it runs on its own,
 * once; where PostgreSQL, Ceph or Slurm is missing it is skipped with the reason, unless
 * AIAAS_REQUIRE_ENGINES=1 (CI), where that is a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestServer } from './testing/test-server.js';
import { enginesRequired, postgresMissing } from '../infra/testing/postgres-cluster.js';
import { cephMissing } from '../infra/testing/ceph-rgw.js';
import { slurmMissing } from '../infra/testing/slurm-cluster.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

/** The README's ```sh blocks, in order. */
export function shellBlocks(readme: string): string[] {
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

interface Section { name: string; marker: string; check(out: string): void }

/** Each section is found by a line of its own and checked by what it must print. */
const SETUP: Section = {
  name: 'setup (Five minutes with curl)', marker: '# 1. A tenant for your team',
  check(out) {
    assert.match(out, /^150$/m, 'iris has 150 rows');
    assert.match(out, /^8000$/m, 'mnist has 8,000 rows');
  },
};
const SECTIONS: Section[] = [
  {
    name: 'Training', marker: '# 5. An iris classifier',
    check(out) {
      // wait_job polls once a second, so which progress lines it sees depends on speed: check the outcome.
      assert.match(out, /job_\S+: succeeded 100% registering the model version/, 'wait_job reports the outcome');
      assert.match(out, /test metrics: accuracy \d/);
      assert.match(out, /cross-validation \(5 folds\): .*r2 -?\d/);
      assert.match(out, /^mnist-mlp mlp 0\.\d+/m, 'step 9 prints the MNIST accuracy');
      assert.match(out, /^diabetes linear_regression -?\d/m);
      assert.match(out, /mnist-mlp\.onnx/);
      assert.match(out, /"params":\{.*"model\.maxDepth":\d/, 'the tune names its best candidate');
      assert.match(out, /^\{"model":"iris-classifier","version":1,"temperature":2,"alpha":0\.5\}$/m, 'the distilled student records its teacher');
    },
  },
  {
    name: 'Language models', marker: '# 10a. ',
    check(out) {
      assert.match(out, /"valLoss":\d/, 'the job reports valLoss');
      assert.match(out, /sample at step \d+/, 'the log holds sample generations');
      assert.match(out, /^(\S+\/)?onnx\/model\.onnx$/m, 'the Hugging Face folder holds the decoder');
      assert.match(out, /^(\S+\/)?tokenizer\.json$/m);
      assert.match(out, /"peakRssBytes":\d/, 'training metrics hold the worker\'s peak RSS');
      assert.match(out, /^sample at step 60: ".+"$/m, 'aiaas jobs logs -f shows the samples');
      assert.match(out, /Test metrics: valLoss \d.*perplexity \d/, 'aiaas jobs wait prints the held-out metrics');
      assert.equal(out.match(/^(\S+\/)?onnx\/model\.onnx$/gm)?.length, 2, 'both folders (curl, aiaas models download --format hf) hold the decoder');
      assert.match(out, /^causal_lm$/m, 'the downloaded folder imports back as a causal_lm');
      assert.match(out, /"prompt_tokens":12,"completion_tokens":40,"total_tokens":52/, 'the OpenAI completion counts its tokens');
      assert.match(out, /^data: \{"id":"chatcmpl-.*"finish_reason":"length"\}\]\}\n\ndata: \[DONE\]$/m, 'the chat stream ends in [DONE]');
      assert.match(out, /^aiaas_endpoint_generated_tokens_total\{[^}]*endpoint="kjv-gpt"\} [1-9]\d*$/m, 'the endpoint counts the tokens it generated');
      assert.match(out, /^aiaas_endpoint_batch_occupancy\{[^}]*\} (0|1|0\.\d+)$/m, 'batch occupancy is a share');
      assert.match(out, /"targetTokensPerSecond":2000/, 'autoscaling on tokens/s is set');
      assert.match(out, /^"completionTokens":[1-9]\d*$/m, 'the tenant\'s generated tokens are metered');
      assert.match(out, /^200 retry-after: \n429 retry-after: \d+$/m, 'the key\'s second request in the minute is refused');
    },
  },
  {
    name: 'Text classification', marker: '# 10e. ',
    check(out) {
      assert.match(out, /^2864$/m, 'fortunes has 2,864 rows');
      assert.match(out, /job_\S+: succeeded/, 'the svm trains');
      assert.match(out, /^ready$/m, 'the endpoint is deployed');
      assert.match(out, /^\{"probabilities":\[[^\]]*\],"label":"law"\}\n\{"probabilities":\[[^\]]*\],"label":"computers"\}$/m, 'raw strings get their topics');
    },
  },
  {
    name: 'Models and endpoints', marker: '# 11. ',
    check(out) {
      assert.match(out, /^production$/m);
      assert.match(out, /^ready$/m, 'the endpoint is deployed');
      assert.match(out, /"predictions":\[\{.*"label":"setosa".*"label":"virginica"/, 'predict answers');
      assert.match(out, /"name":"label_names"/, 'the v2 protocol answers');
      assert.match(out, /"code":"invalid_value".*petal_length/, 'a bad row is refused');
      assert.match(out, /^\s+\d+ 1$/m, 'version 1 answers during the split');
      assert.match(out, /^aiaas_endpoint_requests_total/m);
      assert.doesNotMatch(out, /"code":"(not_found|quota_exceeded)"/);
    },
  },
  {
    name: 'Models in production', marker: '# 17a. ',
    check(out) {
      assert.match(out, /^ready$/m, 'the loans endpoint is deployed');
      assert.match(out, /^\{"at":"[^"]+","requestId":"[^"]+","version":1,.*"input":\{"age":/m, 'a logged prediction');
      assert.match(out, /^1000 rows of version 1\n(  \S+ +psi +\d\.\d{3}  ok\n){9}/m, 'nothing drifts on rows like the training data');
      assert.match(out, /^  income +psi +\d+\.\d{3}  DRIFTED$/m, 'shifted incomes drift');
      assert.match(out, /^  purpose +psi +\d+\.\d{3}  DRIFTED$/m, 'an unseen purpose drifts');
      assert.match(out, /^  age +psi +0\.0\d\d  ok$/m, 'age does not');
      assert.match(out, /^\{"baseValue":[-\d.e]+,"values":\{"age":.*"output":"probability"/m, 'the loan is explained');
      assert.match(out, /^\{"version":2,"percent":50,"requests":5,"dropped":0,"errors":0,"rows":500,"agreement":0\.\d+/m, 'the shadow got every other request, compared');
      assert.match(out, /^aiaas_endpoint_shadow_rows_total\{.*agreement="agree"\} \d+$/m);
      assert.match(out, /^\{"version":2,"weight":100\}$/m, 'the candidate is promoted');
      assert.match(out, /^job_\S+: succeeded 100% 5100\/5100 rows$/m, 'the batch job ran over every row');
      assert.match(out, /^5100$/m, 'the batch job scored every row');
      assert.match(out, /^\{"age":\d+,.*"default":"(yes|no)","prediction":"(yes|no)","probability_no":0\.\d+,"probability_yes":0\.\d+\}$/m, 'a scored row: the input, then the predictions');
    },
  },
  {
    name: 'Alerts', marker: '# 17e. ',
    check(out) {
      assert.match(out, /^drifted: income psi \d/m, 'the shifted income is flagged');
      assert.match(out, /^drifted: purpose psi \d/m, 'the unseen purpose is flagged');
      assert.match(out, /^dlv_\S+ signature ok: loans-drift firing, value \d/m, 'the receiver got the signed firing POST');
      assert.match(out, /^\{"at":"[^"]+","state":"firing","value":\d/m, 'the history holds the transition');
      assert.match(out, /"attempts":1,"lastStatus":200,.*"deliveredAt":"\d/, 'the delivery is recorded');
      assert.match(out, /^true$/m, 'the endpoint is deleted');
    },
  },
  {
    name: 'Jobs and the scheduler', marker: '# 18. ',
    check(out) {
      assert.match(out, /event: progress/, 'the SSE stream shows progress');
      assert.match(out, /"status":"succeeded"/);
      assert.match(out, /^cancelled$/m);
      assert.match(out, /"code":"quota_exceeded"/, 'a job that never fits is a 429');
    },
  },
  {
    name: 'The same from the command line', marker: 'aiaas login',
    check(out) {
      assert.match(out, /Created tenant acme-cli/);
      assert.match(out, /Endpoint iris-cli: v1:90% v2:10%/);
      assert.match(out, /^\s*\d+% step \d of 6/m, 'jobs submit --wait shows progress');
      assert.match(out, /Cross-validation \(3 folds\): accuracy/);
    },
  },
];

/** Runs on its own (no setup block, no test server): it starts PostgreSQL, Ceph RGW, Slurm and two API nodes. */
const SCALE_OUT: Section = {
  name: 'Scale out', marker: '# 23. PostgreSQL, Ceph RGW, Slurm and two API nodes',
  check(out) {
    assert.match(out, /^export NODE_B='http:\/\/127\.0\.0\.1:\d+'$/m, 'the script prints the nodes');
    assert.match(out, /^export AIAAS_EXECUTOR='slurm'$/m, 'the nodes run jobs on Slurm');
    assert.match(out, /Job \S+ succeeded/, 'the model trains through node A');
    assert.match(out, /^attempts: +1 succeeded on slurm:aiaas \(Slurm job \d+\)$/m, 'the train job ran as a Slurm batch job');
    assert.match(out, /^Executor: slurm /m, 'the cluster view says so');
    assert.match(out, /^node-a \(this one\) +\S+ +\d+ +yes /m, 'the cluster view lists node A, which answered');
    assert.match(out, /^node-b +\S+ +\d+ +yes /m, 'and node B');
    for (const n of ['n1', 'n2']) assert.match(out, new RegExp(`^${n} +[a-z+]+ +\\d/2 `, 'm'), `Slurm node ${n} is listed`);
    assert.match(out, /^5\.1 +3\.5 +1\.4 +0\.2 +setosa$/m, 'node B reads the dataset uploaded through A');
    assert.match(out, /Endpoint iris-scale ready: v1:100%, \d+ replicas ready/, 'node B serves the endpoint made on A');
    assert.equal(out.match(/^ +\d+ +setosa +\(p=0\.\d+\)$/gm)?.length, 3, 'node B predicts the three rows');
    assert.match(out, /^stopped$/m);
  },
};

/** The README's block that holds `marker` (exactly one must). */
function blockOf(blocks: string[], s: Section): string {
  const found = blocks.filter((b) => b.includes(s.marker));
  assert.equal(found.length, 1, `one README block holds '${s.marker}'`);
  return found[0]!;
}

/** A work tree as README expects at the repository root: examples/, bin/, scripts/, dist/ (links to this one). */
function workTree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-readme-'));
  for (const d of ['examples', 'bin', 'scripts', 'dist', 'package.json', 'node_modules']) fs.symlinkSync(path.join(ROOT, d), path.join(dir, d));
  return dir;
}

/** On a fresh server: the setup block, then each section after it in `order`, each as "setup + section". */
async function runInOrder(order: Section[]): Promise<void> {
  const blocks = shellBlocks(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  assert.equal(blocks.length, 1 + 1 + SECTIONS.length + 1, 'README has the start block, setup, one block per section and Scale out');
  const text = (s: Section) => blockOf(blocks, s);
  const server = await startTestServer({ AIAAS_CPU: '2' });
  const dir = workTree();
  try {
    fs.mkdirSync(path.join(dir, '.aiaas'));
    fs.writeFileSync(path.join(dir, '.aiaas', 'admin.key'), server.adminKey);
    const port = new URL(server.url).port;
    const local = (b: string) => b.replaceAll('http://127.0.0.1:8080', `http://127.0.0.1:${port}`);
    const env = { HOME: dir, AIAAS_CONFIG: path.join(dir, 'cli.json') };
    const setup = local(text(SETUP));
    for (const s of [SETUP, ...order]) {
      const script = s === SETUP ? setup : setup + '\n' + local(text(s));
      const { code, out } = await bash(script, dir, env);
      assert.equal(code, 0, `${s.name} failed:\n${out}`);
      try { s.check(out); } catch (err) { throw new Error(`${s.name}: ${(err as Error).message}\n${out}`); }
    }
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('README: every section runs as written, in README order, on one server', { timeout: 1_500_000 }, async () => {
  await runInOrder(SECTIONS);
});

test('README: every section runs after the setup block alone, in reverse order, on a fresh server', { timeout: 1_500_000 }, async () => {
  await runInOrder([...SECTIONS].reverse());
});

test('README: Scale out runs as written (PostgreSQL, Ceph RGW, Slurm, two API nodes)', {
  timeout: 1_500_000, skip: enginesRequired() ? undefined : postgresMissing() ?? cephMissing() ?? slurmMissing(),
}, async () => {
  const block = blockOf(shellBlocks(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')), SCALE_OUT);
  const dir = workTree();
  const env = { HOME: dir, AIAAS_CONFIG: path.join(dir, 'cli.json'), AIAAS_URL: '', AIAAS_API_KEY: '' };
  try {
    const { code, out } = await bash(block, dir, env);
    assert.equal(code, 0, `Scale out failed:\n${out}`);
    try { SCALE_OUT.check(out); } catch (err) { throw new Error(`Scale out: ${(err as Error).message}\n${out}`); }
  } finally {
    await bash('scripts/scale-out.sh stop', dir, env); // after a failure half-way, nothing is left running
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
