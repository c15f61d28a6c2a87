/**
 * The `aiaas` client commands as a user runs them: `node bin/aiaas.js …` child processes against
 * the real server, with a temporary HOME for the stored login. Output (human and --json), exit
 * codes, and API errors printed as messages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { waitJob } from '../testing/jobs-helpers.js';

const BIN = path.resolve(EXAMPLES, '../../bin/aiaas.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function aiaas(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('aiaas CLI', () => {
  let s: TestServer;
  let dev: string;
  let home: string;
  let env: Record<string, string>;
  const run = (...args: string[]) => aiaas(args, env);
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    assert.equal(r.code, 0, `aiaas ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r;
  };
  const json = async (...args: string[]) => JSON.parse((await ok(...args, '--json')).stdout);

  before(async () => {
    s = await startTestServer({ AIAAS_CPU: '2' });
    dev = (await s.tenant('cli-co')).developer;
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-cli-home-'));
    env = { HOME: home, AIAAS_URL: s.url, AIAAS_API_KEY: dev };
  });
  after(async () => {
    await s.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('login stores the URL and key with mode 0600; the environment overrides it', async () => {
    const r = await aiaas(['login', '--url', s.url, '--key', dev], { HOME: home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Logged in to .* \(tenant cli-co\)/);
    const file = path.join(home, '.config', 'aiaas', 'config.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { url: s.url, key: dev });
    // Without environment variables the stored login is used…
    const stored = await aiaas(['datasets', 'list', '--json'], { HOME: home });
    assert.equal(stored.code, 0, stored.stderr);
    assert.deepEqual(JSON.parse(stored.stdout), []);
    // …and AIAAS_API_KEY wins over it: a bad key is an API error (exit 1) with the API's message, no stack trace.
    const bad = await aiaas(['datasets', 'list'], { HOME: home, AIAAS_API_KEY: 'aiaas_nope' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown or revoked.*HTTP 401/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
    // A bad key at login is refused and not stored.
    const refused = await aiaas(['login', '--url', s.url, '--key', 'aiaas_nope'], { HOME: home });
    assert.equal(refused.code, 1);
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).key, dev);
  });

  test('datasets upload, list, show, rows', async () => {
    const v = await json('datasets', 'upload', path.join(EXAMPLES, 'iris.csv'));
    assert.equal(v.name, 'iris');
    assert.equal(v.rows, 150);
    const human = await ok('datasets', 'upload', path.join(EXAMPLES, 'iris.csv'), '--name', 'iris2');
    assert.match(human.stdout, /Uploaded iris2 version 1: 150 rows, 5 columns/);
    assert.match(human.stdout, /species\s+category\s+0\s+3/);
    const list = await json('datasets', 'list');
    assert.deepEqual(list.map((d: { name: string }) => d.name).sort(), ['iris', 'iris2']);
    assert.match((await ok('datasets', 'list')).stdout, /^NAME\s+VERSION\s+ROWS/);
    const show = await ok('datasets', 'show', 'iris');
    assert.match(show.stdout, /rows:\s+150/);
    assert.match(show.stdout, /petal_width\s+number/);
    const rows = await json('datasets', 'rows', 'iris', '--offset', '10', '--limit', '2');
    assert.equal(rows.rows.length, 2);
    assert.equal(rows.offset, 10);
  });

  test('train: live per-epoch lines for humans, the final job for scripts', async () => {
    const human = await ok('train', '--name', 'iris-cli', '--dataset', 'iris', '--target', 'species', '--kind', 'mlp', '--hidden', '8', '--epochs', '3', '--learning-rate', '0.05');
    assert.match(human.stdout, /^epoch 1\/3 .*loss \d/m);
    assert.match(human.stdout, /^epoch 3\/3 .*accuracy/m);
    assert.match(human.stdout, /Registered model iris-cli version 1/);
    assert.match(human.stderr, /status: succeeded/);

    // Without a terminal, a job with no epochs prints its progress on stderr; cross-validation is in the summary.
    const cv = await ok('train', '--name', 'iris-cv', '--dataset', 'iris', '--target', 'species', '--kind', 'logistic_regression', '--set', 'cv=3');
    assert.match(cv.stderr, /^\s*\d+% /m);
    assert.match(cv.stdout, /Test metrics: accuracy \d/);
    assert.match(cv.stdout, /Cross-validation \(3 folds\): accuracy \d\.\d+ ± \d/);

    // A YAML spec file, with a flag on top.
    const spec = path.join(home, 'train.yaml');
    fs.writeFileSync(spec, 'name: iris-cli\ndataset: iris\ntarget: species\nmodel:\n  kind: random_forest\n');
    const job = await json('train', '--spec', spec, '--kind', 'logistic_regression', '--set', 'split.seed=1');
    assert.equal(job.spec.split.seed, 1);
    assert.equal(job.status, 'succeeded');
    assert.deepEqual(job.result, { model: 'iris-cli', version: 2 });
    assert.equal(job.spec.model.kind, 'logistic_regression');

    // A bad spec is the API's 422 message, exit 1; a missing flag is a usage error, exit 2.
    const bad = await run('train', '--name', 'x', '--dataset', 'iris', '--target', 'colour');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /column 'colour' is not in dataset 'iris'.*HTTP 422/);
    const usage = await run('train', '--dataset', 'iris');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /train needs --name/);
  });

  test('jobs list, show, logs, logs -f, cancel; a failed job exits 4', async () => {
    const jobs = await json('jobs', 'list');
    assert.ok(jobs.length >= 2);
    const id = jobs[0].id;
    assert.match((await ok('jobs', 'list')).stdout, /ID\s+TYPE\s+NAME\s+STATUS/);
    const shown = (await ok('jobs', 'show', id)).stdout;
    assert.match(shown, /status:\s+succeeded/);
    assert.match(shown, /attempts:\s+(\d+ \w+ on \S+ \(pid \d+\)(, resumed from its checkpoint)?; )*\d+ succeeded on \S+ \(pid \d+\)/, 'each run, where it ran');
    const cluster = (await ok('cluster')).stdout;
    assert.match(cluster, /^Executor: local · capacity: /m);
    assert.match(cluster, /^API NODE +HOST +PID +ALIVE +STARTED\n\S+ \(this one\) +\S+ +\d+ +yes /m, 'the server lists itself as an API node');
    assert.match(shown, /test metrics:\s+accuracy \d/, 'the test metrics, labelled');
    assert.match(shown, /training:\s+trainSeconds \d/, 'the training figures apart from them');
    assert.match((await ok('jobs', 'logs', id)).stdout, /registered iris-cli version 2/);
    assert.match((await ok('jobs', 'logs', '-f', id)).stdout, /registered iris-cli version 2/);

    const long = (await ok('jobs', 'submit', '--type', 'sleep', '--set', 'seconds=30')).stdout.trim();
    assert.match(long, /^job_/);
    const cancelled = await json('jobs', 'cancel', long);
    // The cancel's answer waits only a grace period for the worker; its end is waited for here.
    assert.ok(['queued', 'running', 'cancelled'].includes(cancelled.status), cancelled.status);
    assert.equal((await waitJob(s, long, { key: dev })).status, 'cancelled');

    const waited = await ok('jobs', 'submit', '--type', 'sleep', '--set', 'seconds=0.6', '--set', 'steps=3', '--wait');
    assert.match(waited.stderr, /^\s*\d+% /m, 'progress while it waits');
    assert.match(waited.stdout, /succeeded/);

    // who am I: the key's name, role and tenant.
    const me = await ok('whoami');
    assert.match(me.stdout, /key:\s+cli-co-dev/);
    assert.match(me.stdout, /role:\s+developer/);
    assert.match(me.stdout, /tenant:\s+cli-co/);

    const failing = await run('jobs', 'submit', '{"type": "sleep", "seconds": 0.4, "steps": 2, "failAt": 1, "retryable": false}', '--wait');
    assert.equal(failing.code, 4, failing.stderr);
    assert.match(failing.stderr, /failed/);
    const missing = await run('jobs', 'show', 'job_nope');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found/i);
  });

  test('models list, show, stage, download', async () => {
    const models = await json('models', 'list');
    assert.equal(models[0].name, 'iris-cli');
    assert.equal(models[0].versions, 2);
    assert.match((await ok('models', 'show', 'iris-cli')).stdout, /VERSION\s+STAGE\s+KIND/);
    const v2 = await ok('models', 'show', 'iris-cli', '2');
    assert.match(v2.stdout, /test metrics:\s+accuracy \d/);
    assert.match(v2.stdout, /Confusion matrix/);
    assert.match(v2.stdout, /Feature importance/);
    const staged = await json('models', 'stage', 'iris-cli', '2', 'production');
    assert.equal(staged.stage, 'production');
    assert.equal((await run('models', 'stage', 'iris-cli', '2', 'prod')).code, 2);
    const out = path.join(home, 'model.onnx');
    const dl = await json('models', 'download', 'iris-cli', '2', '-o', out);
    assert.equal(dl.bytes, staged.sizeBytes);
    assert.equal(fs.statSync(out).size, staged.sizeBytes);
  });

  test('deploy, predict from a CSV (streamed JSON lines), endpoints, usage', async () => {
    const ep = await json('deploy', 'iris', '--model', 'iris-cli', '--stage', 'production');
    assert.equal(ep.status, 'ready');
    assert.deepEqual(ep.traffic.map((t: { version: number }) => t.version), [2]);
    const csv = path.join(home, 'rows.csv');
    const lines = fs.readFileSync(path.join(EXAMPLES, 'iris.csv'), 'utf8').trim().split('\n');
    fs.writeFileSync(csv, [lines[0], ...lines.slice(1, 51), ...lines.slice(101, 151)].join('\n') + '\n');
    const r = await ok('predict', 'iris', '--file', csv, '--batch', '16', '--json');
    const preds = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(preds.length, 100);
    assert.deepEqual(preds.map((p) => p.row), [...Array(100).keys()]);
    assert.ok(preds.slice(0, 50).filter((p) => p.label === 'setosa').length >= 48);
    assert.ok(preds.slice(50).filter((p) => p.label === 'virginica').length >= 40);
    assert.equal(preds[0].model, 'iris-cli');
    const human = await ok('predict', 'iris', '--data', '{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}');
    assert.match(human.stdout, /^\s+0\s+setosa\s+\(p=/);
    assert.match((await ok('endpoints', 'list')).stdout, /iris\s+iris-cli\s+ready\s+v2:100%/);

    const usage = await json('usage');
    assert.equal(usage.data.length, 1);
    assert.ok(usage.data[0].jobs >= 4);
    assert.ok(usage.data[0].predictions >= 101);
    assert.match((await ok('usage')).stdout, /TENANT\s+CPU-S/);
  });

  test('exit codes: usage errors 2, unreachable server 3, help 0', async () => {
    assert.equal((await run('frobnicate')).code, 2);
    const sub = await run('datasets', 'explode');
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /unknown subcommand 'datasets explode'/);
    const down = await aiaas(['datasets', 'list'], { HOME: home, AIAAS_URL: 'http://127.0.0.1:9', AIAAS_API_KEY: dev });
    assert.equal(down.code, 3);
    assert.match(down.stderr, /Cannot reach http:\/\/127.0.0.1:9/);
    const help = await run('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /login \[--url URL\] --key KEY/);
    assert.match(help.stdout, /Exit codes/);
    // Each command's own help, from its option declarations; an unknown option is refused with a guess.
    const trainHelp = await run('train', '--help');
    assert.equal(trainHelp.code, 0);
    assert.match(trainHelp.stdout, /^Usage:\n {2}aiaas train --name MODEL/);
    assert.match(trainHelp.stdout, /--learning-rate X +the optimizer's step size/);
    const typo = await run('train', '--name', 'x', '--dataset', 'iris', '--target', 'species', '--epoch', '3');
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /'train' has no option '--epoch'\. Did you mean '--epochs'\?\nRun 'aiaas train --help'/);
    assert.match((await run('trian')).stderr, /unknown command 'trian'\. Did you mean 'train'\?/);
  });

  test('tune: flags and --space, the trial table at the end; a bad space is the API\'s message, exit 1', async () => {
    const r = await ok('tune', '--name', 'iris-tune-cli', '--dataset', 'iris', '--target', 'species', '--kind', 'random_forest', '--n-estimators', '10',
      '--strategy', 'grid', '--cv', '2', '--metric', 'f1', '--space', 'model.maxDepth=1,3');
    assert.match(r.stderr, /Tune job job_\S+ queued \(model iris-tune-cli, 2 candidates, grid search on iris\)/);
    assert.match(r.stderr, /2 trials done/);
    assert.match(r.stdout, /^CANDIDATE\s+PARAMS\s+RUNG\s+BUDGET\s+STATUS\s+F1\s+JOB$/m);
    assert.match(r.stdout, /^0\s+model\.maxDepth=1\s+0\s+100%\s+succeeded\s+0\.\d+\s+job_/m);
    assert.match(r.stdout, /^1\s+model\.maxDepth=3\s+0\s+100%\s+succeeded\s+0\.\d+\s+job_/m);
    assert.match(r.stdout, /Best candidate: model\.maxDepth=\d \(f1 0\.\d+, trial job_\S+\)\./);
    assert.match(r.stdout, /Registered model iris-tune-cli version 1/);

    // A range in a spec file with --set on top, --detach: the job as JSON.
    const spec = path.join(home, 'tune.yaml');
    fs.writeFileSync(spec, 'name: iris-tune-cli\nbase: {dataset: iris, target: species, model: {kind: random_forest, nEstimators: 10}}\nstrategy: random\ntrials: 2\n');
    const queued = await json('tune', '--spec', spec, '--space', 'model.maxDepth=1:4:int', '--set', 'seed=7', '--detach');
    assert.equal(queued.type, 'tune');
    assert.equal(queued.spec.candidates.length, 2);
    assert.ok(queued.spec.candidates.every((c: { params: Record<string, number> }) => Number.isInteger(c.params['model.maxDepth'])));
    await ok('jobs', 'cancel', queued.id);

    const bad = await run('tune', '--name', 'x', '--dataset', 'iris', '--target', 'species', '--space', 'colour=1,2');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /space\['colour'\]: not a path of the train spec.*HTTP 422/);
    const usage = await run('tune', '--name', 'x', '--dataset', 'iris', '--target', 'species');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /tune needs --space/);
  });

  // After the others: its versions (3, 4) would change what the models test counts.
  test('optimize: the trade-off old vs new, and the new version in --json', async () => {
    const human = await ok('optimize', 'iris-cli', '--version', '1', '--method', 'quantize_dynamic');
    assert.match(human.stdout, /quantize_dynamic of iris-cli version 1/);
    assert.match(human.stdout, /size \(bytes\)\s+\d+\s+\d+\s+×\d\.\d\d/);
    assert.match(human.stdout, /p50 latency, 1 row \(ms\)/);
    assert.match(human.stdout, /accuracy\s+[\d.]+\s+[\d.]+/);
    assert.match(human.stdout, /Registered iris-cli version \d+\. Canary it: aiaas endpoints traffic ENDPOINT 1=90 \d+=10/);
    const job = await json('optimize', 'iris-cli', '--method', 'prune', '--sparsity', '0.5', '--structured', '--version', '1');
    assert.equal(job.status, 'succeeded');
    assert.equal(job.metrics.optimization.structured, true);
    const usage = await run('optimize', 'iris-cli');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /optimize needs a model and --method/);
  });
  test('alerts create, list, show, delete; a missing flag is a usage error', async () => {
    const created = await json('alerts', 'create', '--name', 'cli-busy', '--metric', 'requestsPerSecond', '--op', '>', '--threshold', '50', '--window', '60',
      '--webhook', 'http://127.0.0.1:9/hook', '--secret', 'cli-secret');
    assert.equal(created.name, 'cli-busy');
    assert.deepEqual(created.webhook, { url: 'http://127.0.0.1:9/hook', hasSecret: true });
    const list = await ok('alerts', 'list');
    assert.match(list.stdout, /cli-busy\s+ok\s+requestsPerSecond > 50 over 60s\s+\(all\)/);
    const shown = await ok('alerts', 'show', created.id);
    assert.match(shown.stdout, /no change of state yet/);
    assert.doesNotMatch(shown.stdout + (await ok('alerts', 'show', created.id, '--json')).stdout, /cli-secret/);
    const usage = await run('alerts', 'create', '--name', 'x');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--webhook URL --secret S/);
    const bad = await run('alerts', 'create', '--name', 'x', '--metric', 'drift', '--op', '>', '--threshold', '0.2', '--window', '60', '--webhook', 'ftp://x', '--secret', 's');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /http or https/);
    assert.match((await ok('alerts', 'delete', created.id)).stdout, /Deleted alert cli-busy/);
    assert.deepEqual(await json('alerts', 'list'), []);
  });
});
