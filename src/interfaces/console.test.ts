/**
 * The web console in a real browser: Debian's chromium (headless) driven by playwright-core
 * against the real server. Walks upload → train → deploy → predict, checks there were no console
 * errors, and saves a screenshot of every page (into docs/screenshots/ with `npm run screenshots`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { EXAMPLES, startTestServer, type TestServer } from './testing/test-server.js';
import { submit, until, waitJob } from './testing/jobs-helpers.js';
import { CONSOLE_DIR } from './http/console.js';

const CHROMIUM = process.env.AIAAS_CHROMIUM ?? '/usr/bin/chromium';
// `npm run screenshots` refreshes docs/screenshots; a plain test run keeps its pictures out of the tree.
const SHOTS = process.env.AIAAS_SCREENSHOTS_DIR ? path.resolve(process.env.AIAAS_SCREENSHOTS_DIR) : fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-shots-'));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

describe('web console (chromium)', () => {
  let s: TestServer;
  let browser: Browser;
  let dev: string;
  const problems: string[] = [];

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`The console browser test needs Chromium at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it), or AIAAS_CHROMIUM=/path/to/chromium.`);
    }
    if (!fs.existsSync(path.join(CONSOLE_DIR, 'index.html'))) {
      throw new Error(`The console is not built (${CONSOLE_DIR} is missing): run npm run build:console (npm test does it).`);
    }
    fs.mkdirSync(SHOTS, { recursive: true });
    s = await startTestServer({ AIAAS_CPU: '2' });
    dev = (await s.tenant('web')).developer;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 0 });
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
  });

  function watch(page: Page): Page {
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error on ${page.url()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error on ${page.url()}: ${e.message}`));
    page.on('response', (r) => { if (r.status() >= 400 && !r.url().includes('/v1/')) problems.push(`${r.status()} for ${r.url()}`); });
    return page;
  }

  /** A fresh browser context signed in with `key` (no per-action deadline: the test runner's timeout bounds each test), on the Datasets page. */
  async function signedIn(key: string, height = 800): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height } });
    context.setDefaultTimeout(0);
    const page = watch(await context.newPage());
    await page.goto(s.url + '/');
    await page.fill('input[name=apiKey]', key);
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: 'Datasets' }).waitFor();
    return { context, page };
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  test('sign in, upload, train, deploy and predict; every page renders without console errors', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // No deadline per action: every step waits for what it needs however busy the machine is;
    // the test runner's --test-timeout bounds the whole test.
    context.setDefaultTimeout(0);
    // A wrong key is refused with the API's message (the browser logs that 401, so this page is not watched).
    const signin = await context.newPage();
    await signin.goto(s.url + '/');
    await signin.fill('input[name=apiKey]', 'aiaas_not_a_key');
    await signin.click('button[type=submit]');
    await signin.getByRole('alert').filter({ hasText: /unknown or revoked/ }).waitFor();
    await shot(signin, '00-sign-in');
    await signin.close();

    const page = watch(await context.newPage());
    // Served under its Content-Security-Policy: any violation would show as a console error below.
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) problems.push(`CSP violation: ${m.text()}`); });
    const home = await page.goto(s.url + '/');
    assert.match(home!.headers()['content-security-policy'] ?? '', /script-src 'self'.*frame-ancestors 'none'/);
    await page.fill('input[name=apiKey]', dev);
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: 'Datasets' }).waitFor();
    // Who and where: the key's name, role and tenant are in the header.
    await page.getByTestId('whoami').filter({ hasText: 'web-dev · developer · web' }).waitFor();

    // Upload iris.csv through the drop zone's file input; the profile page opens.
    await page.setInputFiles('input[type=file]', path.join(EXAMPLES, 'iris.csv'));
    assert.equal(await page.inputValue('input[name=datasetName]'), 'iris');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.waitForURL('**/datasets/iris');
    await page.getByRole('heading', { name: 'Profile' }).waitFor();
    await page.locator('svg.hist').first().waitFor();
    assert.equal(await page.locator('table[class=""], table').nth(0).locator('tbody tr').count(), 5);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('rows 20–39 of 150').waitFor();
    await shot(page, '02-dataset-profile');

    // Train a small MLP from the form; the live page shows progress, curves and the result.
    await page.getByRole('link', { name: 'Train a model on iris' }).click();
    await page.waitForURL('**/jobs/new?dataset=iris');
    await page.locator('select[name=target] option[value=species]').waitFor({ state: 'attached' });
    assert.equal(await page.inputValue('select[name=target]'), 'species');
    await page.fill('input[name=name]', 'iris-web');
    await page.selectOption('select[name=kind]', 'mlp');
    await page.fill('input[name=hidden]', '16');
    await page.fill('input[name=epochs]', '30');
    await page.fill('input[name=learningRate]', '0.05');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.waitForURL(/\/jobs\/job_/);
    await page.getByTestId('job-result').waitFor();
    await page.locator('figure.chart polyline').first().waitFor();
    assert.ok(await page.locator('figure.chart polyline').count() >= 2, 'loss and accuracy curves are drawn');
    assert.match(await page.locator('figure.chart figcaption').first().innerText(), /training rows/, 'the curves say which split they show');
    assert.match(await page.getByTestId('test-metrics').innerText(), /Test metrics[\s\S]*held-out test split[\s\S]*accuracy/);
    assert.match(await page.getByTestId('training-metrics').innerText(), /Training[\s\S]*epochs\s+30/);
    await shot(page, '04-job-detail');

    // The model version: metrics, confusion matrix, importance; deploy it from there.
    await page.getByTestId('job-result').getByRole('link').click();
    await page.waitForURL('**/models/iris-web/versions/1');
    await page.locator('svg.heatmap').waitFor();
    assert.match(await page.getByTestId('test-metrics').innerText(), /accuracy/);
    await shot(page, '06-model-version');
    await page.getByRole('button', { name: 'Deploy this version' }).click();
    await page.waitForURL('**/endpoints/iris-web');
    await page.locator('.badge.ready').first().waitFor();

    // "Try it": the form is generated from the signature; the prediction is shown.
    const fillIris = async () => {
      await page.fill('input[name=sepal_length]', '5.1');
      await page.fill('input[name=sepal_width]', '3.5');
      await page.fill('input[name=petal_length]', '1.4');
      await page.fill('input[name=petal_width]', '0.2');
    };
    await fillIris();
    await page.getByRole('button', { name: 'Predict' }).click();
    const prediction = page.getByTestId('prediction');
    await prediction.waitFor();
    assert.match(await prediction.innerText(), /Prediction: (setosa|versicolor|virginica)/);
    // A second version (trained through the API) gets 20% of the traffic with the slider.
    const v2 = await s.call('POST', '/v1/jobs', { key: dev, json: { type: 'train', name: 'iris-web', dataset: 'iris', target: 'species', model: { kind: 'logistic_regression' } } });
    assert.equal(v2.status, 202, v2.text);
    assert.equal((await waitJob(s, v2.body.id, { key: dev })).status, 'succeeded');
    await page.reload();
    await page.locator('select[name=canary] option[value="2"]').waitFor({ state: 'attached' });
    await page.selectOption('select[name=canary]', '2');
    await page.locator('input[name=share]').fill('20');
    await page.getByRole('button', { name: 'Apply split' }).click();
    await page.getByText('v1 80% · v2 20%').first().waitFor();
    await fillIris();
    for (let i = 0; i < 3; i++) {
      await page.getByRole('button', { name: 'Predict' }).click();
      await page.waitForTimeout(400); // spreads the requests over the live charts (for the screenshot only)
    }
    await prediction.waitFor();
    await page.waitForTimeout(2500); // points of the live requests/latency charts, for the screenshot only (nothing asserted on them)
    await shot(page, '07-endpoint');

    // The other pages, through the navigation.
    for (const [nav, heading, name] of [
      ['Datasets', 'Datasets', '01-datasets'], ['Jobs', 'Jobs', '03-jobs'], ['Models', 'Models', '05-models'],
      ['Endpoints', 'Endpoints', '08-endpoints'], ['Cluster & usage', 'Cluster & usage', '09-cluster-usage'],
    ] as const) {
      await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: nav }).click();
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await page.locator('table tbody tr').first().waitFor();
      await shot(page, name);
    }
    // Access: a key made in the console (an inference key for this endpoint), shown once.
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Access' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    // A developer is offered only the roles it may grant; tenants show by name.
    assert.deepEqual(await page.locator('select[name=role] option').allInnerTexts(), ['developer', 'viewer', 'inference']);
    await page.getByRole('region', { name: 'keys' }).getByRole('cell', { name: 'web', exact: true }).first().waitFor();
    await page.fill('input[name=keyName]', 'iris-app');
    await page.selectOption('select[name=role]', 'inference');
    await page.fill('input[name=keyEndpoint]', 'iris-web');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByTestId('new-key').innerText();
    assert.match(key, /^aiaas_/);
    const predicted = await s.call('POST', '/v1/endpoints/iris-web/predict', { key, json: { instances: [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }] } });
    assert.equal(predicted.status, 200, predicted.text);
    await page.getByRole('cell', { name: 'iris-app' }).waitFor();
    await shot(page, '11-access');

    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Models' }).click();
    await page.getByRole('link', { name: 'iris-web' }).click();
    await page.getByRole('heading', { name: 'Versions side by side' }).waitFor();
    await shot(page, '05-model-versions');

    // Keyboard: the drop zone and the navigation are reachable with Tab.
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Datasets' }).click();
    await page.getByRole('heading', { name: 'Datasets' }).waitFor();
    const focused = new Set<string>();
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      focused.add(await page.evaluate<string>("document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? ''"));
    }
    assert.ok([...focused].some((f) => f.startsWith('Upload a dataset')), `drop zone reachable by keyboard: ${[...focused].join(' | ')}`);
    assert.ok(focused.has('Jobs'), 'navigation reachable by keyboard');

    // Tune from the form (no JSON): random forest vs gradient boosting × maxDepth 1 or 3, a 2-fold grid;
    // the job page shows the trial table as the trials finish, then the best candidate and its version.
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('link', { name: 'New tune job' }).click();
    await page.getByRole('heading', { name: 'Tune a model' }).waitFor();
    await page.locator('select[name=target] option[value=species]').waitFor({ state: 'attached' });
    assert.equal(await page.inputValue('select[name=dataset]'), 'iris');
    assert.equal(await page.inputValue('select[name=target]'), 'species');
    await page.fill('input[name=name]', 'tuned-iris');
    await page.selectOption('select[name=kind]', 'random_forest');
    await page.fill('input[name=nEstimators]', '10');
    await page.selectOption('select[name=strategy]', 'grid');
    await page.fill('input[name=cv]', '2');
    await page.selectOption('select[name=metric]', 'f1');
    await page.selectOption('select[name=spacePath-0]', 'model.maxDepth');
    await page.fill('input[name=spaceValues-0]', '1, 3');
    await page.getByRole('button', { name: 'Add parameter' }).focus();
    await page.keyboard.press('Enter'); // the editor works from the keyboard
    await page.selectOption('select[name=spacePath-1]', 'model.kind');
    await page.fill('input[name=spaceValues-1]', 'random_forest, gradient_boosting');
    await shot(page, '13-tune-form');
    await page.getByRole('button', { name: 'Start tuning' }).click();
    await page.waitForURL(/\/jobs\/job_/);
    const tuneUrl = page.url();
    const trials = page.getByRole('region', { name: 'trials' }).locator('tbody tr');
    await trials.filter({ hasText: 'job_' }).first().waitFor();
    await page.getByTestId('job-result').filter({ hasText: 'tuned-iris version 1' }).waitFor();
    await page.getByTestId('tune-best').filter({ hasText: /Best candidate: .*model\.maxDepth = [13].*\(f1 0\.\d+\)/ }).waitFor();
    assert.equal(await trials.count(), 4);
    assert.equal(await trials.locator('.badge.succeeded').count(), 4);
    const cells = await trials.locator('td.params').allInnerTexts();
    assert.deepEqual(new Set(cells), new Set(['model.maxDepth = 1, model.kind = random_forest', 'model.maxDepth = 1, model.kind = gradient_boosting',
      'model.maxDepth = 3, model.kind = random_forest', 'model.maxDepth = 3, model.kind = gradient_boosting']));
    await shot(page, '14-tune-job');
    // Each trial links to its child train job.
    await trials.first().getByRole('link').click();
    await page.waitForURL(/\/jobs\/job_/);
    await page.getByRole('heading', { name: /tuned-iris-trial-\d-r0/ }).waitFor();

    // An admin: the tenant switcher shows another tenant's data; quotas are set on the cluster page.
    const admin = watch(await context.newPage());
    await admin.goto(s.url + '/');
    await admin.fill('input[name=apiKey]', s.adminKey);
    await admin.click('button[type=submit]');
    await admin.getByRole('heading', { name: 'Datasets' }).waitFor();
    await admin.locator('select[aria-label=tenant] option', { hasText: 'web' }).waitFor({ state: 'attached' });
    // The admin key's own tenant is empty, so the console opens the tenant that holds data; each tenant is listed once.
    await admin.getByRole('link', { name: 'iris', exact: true }).waitFor();
    const options = await admin.locator('select[aria-label=tenant] option').allInnerTexts();
    assert.equal(new Set(options).size, options.length, options.join(' | '));
    assert.ok(!options.some((o) => /own tenant/.test(o)), options.join(' | '));
    await admin.getByTestId('whoami').filter({ hasText: 'admin · admin' }).waitFor();
    await admin.selectOption('select[aria-label=tenant]', { label: 'web' });
    await admin.getByRole('link', { name: 'iris', exact: true }).waitFor();
    await admin.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Cluster & usage' }).click();
    await admin.locator('select[name=quotaTenant] option', { hasText: 'web' }).waitFor({ state: 'attached' });
    await admin.selectOption('select[name=quotaTenant]', { label: 'web' });
    await admin.fill('input[name=maxConcurrentJobs]', '3');
    await admin.getByRole('button', { name: 'Save quota' }).click();
    await admin.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    assert.equal((await s.call('GET', '/v1/tenants/web/quota')).body.maxConcurrentJobs, 3);
    await shot(admin, '12-admin-cluster');
    await admin.close();

    // A phone-width screen: nothing wider than the viewport on the job and endpoint pages.
    const phone = watch(await (await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 })).newPage());
    await phone.goto(s.url + '/');
    await phone.fill('input[name=apiKey]', dev);
    await phone.click('button[type=submit]');
    await phone.getByRole('heading', { name: 'Datasets' }).waitFor();
    await phone.goto(s.url + '/endpoints/iris-web');
    await phone.locator('.badge.ready').first().waitFor();
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than a phone screen`);
    await shot(phone, '10-phone-endpoint');
    for (const url of [tuneUrl, s.url + '/jobs/new?mode=tune']) {
      await phone.goto(url);
      await phone.getByRole('heading', { name: /tuned-iris|Tune a model/ }).first().waitFor();
      const wide = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(wide <= 1, `${url} is ${wide}px wider than a phone screen`);
      await shot(phone, url === tuneUrl ? '15-phone-tune-job' : '16-phone-tune-form');
    }
    await phone.context().close();
    await context.close();

    assert.deepEqual(problems, [], 'no console errors, page errors or failed asset loads');
  });

  test('the training form with untouched defaults trains on every example dataset', { timeout: 300_000 }, async () => {
    const key = (await s.tenant('defaults')).developer;
    for (const [name, file] of [['iris', 'iris.csv'], ['diabetes', 'diabetes.csv'], ['loans', 'loans.csv'], ['mnist', 'mnist_train.csv.gz']]) {
      const up = await s.call('POST', `/v1/datasets?name=${name}`, { key, body: fs.readFileSync(path.join(EXAMPLES, file)), headers: { 'content-type': file.endsWith('.gz') ? 'application/gzip' : 'text/csv' } });
      assert.equal(up.status, 201, up.text);
    }
    const { context, page } = await signedIn(key);
    const expected = { iris: ['species', 'classification'], diabetes: ['progression', 'regression'], loans: ['default', 'classification'], mnist: ['label', 'classification'] };
    for (const [name, [target, task]] of Object.entries(expected)) {
      await page.goto(`${s.url}/jobs/new?dataset=${name}`);
      await page.locator(`select[name=target] option[value="${target}"]`).waitFor({ state: 'attached' });
      await page.getByTestId('task').filter({ hasText: task! }).waitFor();
      assert.equal(await page.inputValue('select[name=target]'), target);
      const offered = await page.locator('select[name=kind] option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
      if (task === 'regression') assert.ok(!offered.includes('logistic_regression'), `${name}: no classifier offered for a regression target (${offered.join(', ')})`);
      else assert.ok(!offered.includes('linear_regression'), `${name}: no regressor-only kind offered for classes (${offered.join(', ')})`);
      assert.ok(offered.includes(await page.inputValue('select[name=kind]')));
      assert.equal(await page.inputValue('input[name=name]'), `${name}-model`);
      await page.getByRole('button', { name: 'Start training' }).click();
      // The form's own error, if any, says why (rather than a bare navigation timeout).
      const refused = page.getByRole('alert').waitFor().then(async () => { throw new Error(`${name}: ${await page.getByRole('alert').innerText()}`); });
      await Promise.race([page.waitForURL(/\/jobs\/job_/), refused]);
      refused.catch(() => undefined);
      await page.getByTestId('job-result').filter({ hasText: `${name}-model version 1` }).waitFor({ timeout: 240_000 });
    }
    // The tune form names its model apart from the training form's, and its default search is a
    // small grid over the base kind's main knob: distinct trials, each run once.
    await page.goto(`${s.url}/jobs/new?mode=tune&dataset=diabetes`);
    await page.locator('select[name=target] option[value=progression]').waitFor({ state: 'attached' });
    assert.equal(await page.inputValue('input[name=name]'), 'diabetes-tuned');
    await page.goto(`${s.url}/jobs/new?mode=tune&dataset=iris`);
    await page.locator('select[name=target] option[value=species]').waitFor({ state: 'attached' });
    assert.equal(await page.inputValue('select[name=strategy]'), 'grid');
    assert.equal(await page.inputValue('select[name=spacePath-0]'), 'model.maxDepth');
    await page.getByRole('button', { name: 'Start tuning' }).click();
    await page.waitForURL(/\/jobs\/job_/);
    await page.getByTestId('job-result').filter({ hasText: 'iris-tuned version 1' }).waitFor({ timeout: 240_000 });
    const cells = await page.getByRole('region', { name: 'trials' }).locator('tbody td.params').allInnerTexts();
    assert.deepEqual(cells.sort(), ['model.maxDepth = 12', 'model.maxDepth = 3', 'model.maxDepth = 6']);
    // Score against the searched parameter: a dot per trial.
    await page.getByTestId('trial-charts').getByRole('img', { name: /against model\.maxDepth/ }).waitFor();
    assert.equal(await page.getByTestId('trial-charts').locator('circle').count(), 3);

    // What "auto" preprocessing chose for loans (categories one-hot encoded), and nice axis ticks.
    await page.goto(`${s.url}/models/loans-model/versions/1`);
    await page.getByTestId('preprocessing').filter({ hasText: '"auto" chose' }).filter({ hasText: 'one-hot encode categories' }).waitFor();

    // Lists that scale: trials fold under their tune job; filters; MNIST's 785 columns come 25 at a time.
    await page.goto(`${s.url}/jobs`);
    const tuneRow = page.getByRole('region', { name: 'jobs' }).locator('tbody tr', { hasText: 'iris-tuned' }).filter({ hasText: 'tune' }).first();
    await tuneRow.getByRole('button', { name: /3 trials/ }).waitFor();
    assert.equal(await page.locator('tbody tr', { hasText: 'iris-tuned-trial-' }).count(), 0, 'trials folded');
    await tuneRow.getByRole('button', { name: /3 trials/ }).click();
    await page.locator('tbody tr.child-row', { hasText: 'iris-tuned-trial-' }).nth(2).waitFor();
    await page.selectOption('select[name=typeFilter]', 'tune');
    await page.waitForURL('**/jobs?type=tune');
    await page.getByRole('region', { name: 'jobs' }).locator('tbody tr', { hasText: 'iris-tuned' }).first().waitFor();
    assert.ok((await page.locator('tbody td', { hasText: /^train$/ }).count()) === 0, 'only tune jobs');
    await page.goto(`${s.url}/datasets/mnist`);
    await page.getByTestId('column-window').filter({ hasText: 'columns 1–25 of 785' }).waitFor();
    assert.equal(await page.getByRole('region', { name: 'column profile' }).locator('tbody tr').count(), 25);
    assert.ok(await page.evaluate<number>('document.documentElement.scrollHeight') < 8000, 'the MNIST page is not tens of thousands of pixels tall');
    await page.fill('input[name=columnSearch]', 'pixel40');
    await page.getByTestId('column-window').filter({ hasText: 'of 11 matching' }).waitFor();
    await shot(page, '17-dataset-wide');

    // Every page at desktop and phone width: nothing wider than the window.
    const deployed = await s.call('POST', '/v1/endpoints?wait=true', { key, json: { name: 'iris', model: 'iris-model', version: 1 } });
    assert.equal(deployed.status, 201, deployed.text);
    const tuneJob = (await s.call('GET', '/v1/jobs?type=tune', { key })).body.data[0].id;
    // Before any request the traffic charts say so (not a flat 0).
    await page.goto(`${s.url}/endpoints/iris`);
    await page.getByTestId('traffic-note').filter({ hasText: 'No requests yet.' }).first().waitFor();
    const paths = ['/datasets', '/datasets/mnist', '/datasets/loans', '/jobs', `/jobs/${tuneJob}`, '/jobs/new', '/jobs/new?mode=tune', '/models',
      '/models/iris-model', '/models/iris-model/versions/1', '/endpoints', '/endpoints/iris', '/cluster', '/access'];
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 844 });
      for (const p of paths) {
        await page.goto(s.url + p);
        await page.locator('main h1').first().waitFor();
        // A function, not a string: a string predicate is eval'd in the page, which the console's CSP forbids.
        await page.waitForFunction(() => {
          const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
          return !doc.querySelector('main')?.textContent?.includes('Loading…');
        });
        const wide = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        assert.ok(wide <= 0, `${p} at ${width}px is ${wide}px wider than the window`);
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });

    // An unknown console path is the console's 404 page (status 404), not the API's JSON.
    const lost = await context.newPage();
    const res = await lost.goto(`${s.url}/no/such/page`);
    assert.equal(res?.status(), 404);
    await lost.getByTestId('not-found').getByRole('heading', { name: 'Not found' }).waitFor();
    await lost.close();
    await context.close();
    assert.deepEqual(problems, [], 'no console errors, page errors or failed asset loads');
  });

  test('a language-model job page: loss curves over steps and the latest sample', async () => {
    const key = (await s.tenant('lm')).developer;
    const lines = gunzipSync(fs.readFileSync(path.join(EXAMPLES, 'kjv.txt.gz'))).toString('utf8').split('\n').slice(0, 300).join('\n');
    assert.equal((await s.call('POST', '/v1/datasets?name=kjv-slice&format=text', { key, body: lines })).status, 201);
    const job = await submit(s, {
      type: 'train', name: 'kjv-console', dataset: 'kjv-slice', task: 'language_modeling', text: 'text', tokenizer: { kind: 'char' },
      model: { kind: 'causal_lm', layers: 1, heads: 2, dim: 16, context: 16 }, training: { steps: 30, batchSize: 8, learningRate: 0.005, seed: 0 },
    }, key);
    const { context, page } = await signedIn(key);
    // Opened while the job is queued or running: the curve fills from the SSE metrics events.
    await page.goto(`${s.url}/jobs/${job.id}`);
    const view = page.getByTestId('lm-job');
    await view.getByRole('img', { name: 'Loss per step' }).waitFor();
    await page.getByTestId('job-result').filter({ hasText: 'kjv-console version 1' }).waitFor();
    const done = await waitJob(s, job.id, { key });
    const history = done.metrics.history as { step: number; sample: string }[];
    assert.equal(history.length, 10, 'an evaluation every 3 steps');
    for (const reload of [false, true]) {
      if (reload) await page.reload(); // after the end: the same curve, from the job's history
      const chart = view.getByRole('img', { name: 'Loss per step' });
      await chart.waitFor();
      // One dot per evaluation on each curve: training loss and valLoss.
      assert.equal(await chart.locator('polyline').count(), 2);
      assert.equal(await chart.locator('circle').count(), 2 * history.length);
      assert.deepEqual(await view.locator('.legend span').allInnerTexts(), ['loss', 'valLoss']);
      await view.getByText('Latest sample (step 30').waitFor();
      assert.equal(await page.getByTestId('lm-sample').innerText(), history.at(-1)!.sample);
    }
    await shot(page, '18-lm-job');
    await context.close();
    assert.deepEqual(problems, [], 'no console errors, page errors or failed asset loads');
  });
  test('an endpoint that logs: drift per feature, the shadow\'s figures, and the try-it form\'s explanation as a waterfall', async () => {
    const key = (await s.tenant('watch')).developer;
    const iris = fs.readFileSync(path.join(EXAMPLES, 'iris.csv'), 'utf8');
    assert.equal((await s.call('POST', '/v1/datasets?name=iris', { key, body: iris })).status, 201);
    const job = await submit(s, { type: 'train', name: 'iris-watch', dataset: 'iris', target: 'species', model: { kind: 'logistic_regression' } }, key);
    assert.equal((await waitJob(s, job.id, { key })).status, 'succeeded');
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key, json: { name: 'iris-watch', model: 'iris-watch', version: 1, replicas: { min: 1, max: 1 }, logging: { sampleRate: 1 } } });
    assert.equal(ep.status, 201, ep.text);
    const [header, ...lines] = iris.trim().split(/\r?\n/);
    const cols = header!.split(',');
    const rows = lines.map((l) => Object.fromEntries(l.split(',').flatMap((v, i) => (cols[i] === 'species' ? [] : [[cols[i], Number(v)]]))));
    assert.equal((await s.call('POST', '/v1/endpoints/iris-watch/predict', { key, json: { instances: rows } })).status, 200);

    const { context, page } = await signedIn(key, 1000);
    await page.goto(`${s.url}/endpoints/iris-watch`);
    // Drift: a curve per feature, and the table at each look-back window; the file's own rows do not drift.
    const drift = page.getByTestId('drift');
    const curve = drift.getByRole('img', { name: /PSI per feature over time/ });
    await curve.waitFor();
    assert.equal(await curve.locator('polyline').count(), 4, 'one curve per feature');
    const table = page.getByRole('region', { name: 'drift per feature' });
    await table.waitFor();
    assert.deepEqual(await table.locator('tbody td:first-child').allInnerTexts(), ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'prediction']);
    assert.equal(await table.locator('strong.bad').count(), 0, 'nothing drifted');
    await drift.getByText('150 rows of version 1 in the last hour').waitFor();

    // The try-it form: predict, then why: the waterfall from the base value through the four columns to the prediction.
    const form = page.getByRole('form', { name: 'try it' });
    for (const [c, v] of Object.entries({ sepal_length: '6.3', sepal_width: '2.9', petal_length: '5.6', petal_width: '1.8' })) await form.locator(`input[name=${c}]`).fill(v);
    await form.getByRole('button', { name: 'Predict' }).click();
    await page.getByTestId('prediction').locator('strong', { hasText: 'virginica' }).waitFor();
    await form.getByRole('button', { name: 'Why? (explain)' }).click();
    const waterfall = page.getByRole('img', { name: 'Explanation waterfall' });
    await waterfall.waitFor();
    assert.equal(await waterfall.locator('rect').count(), 1 + 4 + 1, 'base value, one bar per column, prediction');
    assert.equal(await waterfall.locator('g[data-kind=base] text').first().textContent(), 'base value');
    assert.equal(await waterfall.locator('g[data-kind=total] text').first().textContent(), 'prediction');
    await page.getByText(/KernelSHAP over every coalition \(exact\)/).waitFor();

    // The shadow: version 1 against itself, every request; the figures come with the page's next poll.
    const shadow = page.getByTestId('shadow');
    await shadow.locator('input[name=shadowPercent]').fill('100');
    await shadow.getByRole('button', { name: 'Run in shadow' }).click();
    await shadow.getByText('Version 1 gets a copy of 100% of the requests').waitFor();
    for (let i = 0; i < 3; i++) assert.equal((await s.call('POST', '/v1/endpoints/iris-watch/predict', { key, json: { instances: rows.slice(0, 10) } })).status, 200);
    const figures = page.getByTestId('shadow-figures');
    await figures.getByText('100%', { exact: true }).waitFor();
    assert.match(await figures.innerText(), /Copies\s+3\s+Rows compared\s+30\s+Agreement\s+100%/);
    await shot(page, '19-endpoint-monitoring');
    await shadow.getByRole('button', { name: 'Remove shadow' }).click();
    await shadow.getByText('No shadow').waitFor();
    await context.close();
    // The tests share one server and its replica budget: this endpoint leaves room for the next.
    assert.equal((await s.call('DELETE', '/v1/endpoints/iris-watch', { key })).status, 200);
    assert.deepEqual(problems, [], 'no console errors, page errors or failed asset loads');
  });

  test('a language-model endpoint: the chat playground streams an answer, Stop ends it, the generation tiles count the tokens', async () => {
    const key = (await s.tenant('chat')).developer;
    const lines = gunzipSync(fs.readFileSync(path.join(EXAMPLES, 'kjv.txt.gz'))).toString('utf8').split('\n').slice(0, 200).join('\n');
    assert.equal((await s.call('POST', '/v1/datasets?name=kjv-chat&format=text', { key, body: lines })).status, 201);
    const job = await submit(s, {
      type: 'train', name: 'chat-gpt', dataset: 'kjv-chat', task: 'language_modeling', text: 'text', tokenizer: { kind: 'char' },
      model: { kind: 'causal_lm', layers: 1, heads: 2, dim: 16, context: 96 }, training: { steps: 10, batchSize: 8, learningRate: 0.01, seed: 0 },
    }, key);
    assert.equal((await waitJob(s, job.id, { key })).status, 'succeeded');
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key, json: { name: 'chat-lm', model: 'chat-gpt', version: 1, replicas: { min: 1, max: 1 } } });
    assert.equal(ep.status, 201, ep.text);
    const { context, page } = await signedIn(key, 900);
    await page.goto(`${s.url}/endpoints/chat-lm`);
    const chat = page.getByRole('form', { name: 'chat playground' });
    await chat.getByRole('heading', { name: 'Chat playground' }).waitFor();
    // The page header names the route a language model answers on, not /predict.
    await page.getByText('POST /openai/v1/chat/completions (model: chat-lm)').waitFor();
    assert.equal(await page.getByRole('form', { name: 'try it' }).count(), 0, 'a language model has the playground, not the predict form');
    const tiles = page.getByTestId('lm-metrics');
    await tiles.getByText('time to first token').waitFor();

    // Greedy (temperature 0: the range's Home key), 20 tokens: the whole answer streams in, and the usage of the last chunk shows.
    await chat.locator('input[name=temperature]').press('Home');
    await chat.getByText('Temperature 0').waitFor();
    await chat.locator('input[name=maxTokens]').fill('20');
    await chat.locator('textarea[name=message]').fill('Who made light?');
    await chat.getByRole('button', { name: 'Send' }).click();
    const answer = chat.locator('.chat-turn.assistant').last();
    await answer.getByText('stopped at max tokens · 20 tokens').waitFor();
    // A char tokenizer: one character per token.
    assert.equal([...(await answer.locator('.chat-text').textContent())!].length, 20);
    // The tiles: 20 tokens generated; occupancy and cache use as percentages.
    await tiles.locator('div', { hasText: 'tokens generated' }).getByText('20', { exact: true }).waitFor();
    assert.match(await tiles.locator('div', { hasText: 'batch occupancy' }).locator('dd').innerText(), /^\d+(\.\d)?%$/);
    assert.match(await tiles.locator('div', { hasText: 'time to first token' }).locator('dd').innerText(), /^[\d.e-]+ ms$/);

    // A slow network (DevTools throttling, 400 bytes/s: a chunk every half second or so): text shows before the answer ends, and Stop ends it.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 400, uploadThroughput: -1 });
    // A fresh conversation (Clear), so that the prompt and 60 tokens fit the context of 96.
    await chat.getByRole('button', { name: 'Clear' }).click();
    // Temperature 1 (ten steps of 0.1 up): a barely trained model answers more than spaces.
    for (let i = 0; i < 10; i++) await chat.locator('input[name=temperature]').press('ArrowRight');
    await chat.getByText('Temperature 1', { exact: true }).waitFor();
    await chat.locator('input[name=maxTokens]').fill('60');
    await chat.locator('textarea[name=message]').fill('And then?');
    await chat.getByRole('button', { name: 'Send' }).click();
    const partial = chat.locator('.chat-turn.assistant').last();
    // Some text (a barely trained model may answer spaces: any character counts), while the answer is still under way (no note yet).
    await page.waitForFunction(() => {
      type Node = { querySelector(s: string): { textContent: string | null } | null };
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<Node> } }).document;
      const turns = doc.querySelectorAll('.chat-turn.assistant');
      const t = turns[turns.length - 1];
      return !!t?.querySelector('.chat-text')?.textContent && !t.querySelector('small');
    });
    await shot(page, '20-chat-playground');
    await chat.getByRole('button', { name: 'Stop' }).click();
    await partial.getByText('— stopped', { exact: true }).waitFor();
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const cut = [...(await partial.locator('.chat-text').textContent())!].length;
    assert.ok(cut > 0 && cut < 60, `stopped after ${cut} of 60 tokens`);
    assert.equal(await chat.getByRole('button', { name: 'Send' }).isDisabled(), true, 'no message typed');
    assert.equal(await chat.getByRole('button', { name: 'Stop' }).isDisabled(), true);
    await context.close();
    assert.deepEqual(problems, [], 'no console errors, page errors or failed asset loads');
  });

  test('a version page offers the optimization methods and shows an optimized version\'s trade-off beside its source', async () => {
    const key = (await s.tenant('opt-web')).developer;
    assert.equal((await s.call('POST', '/v1/datasets?name=iris', { key, body: fs.readFileSync(path.join(EXAMPLES, 'iris.csv')) })).status, 201);
    const trained = await waitJob(s, (await submit(s, { type: 'train', name: 'iris-small', dataset: 'iris', target: 'species', model: { kind: 'mlp', hidden: [8] }, training: { epochs: 5 } }, key)).id, { key });
    assert.equal(trained.status, 'succeeded', `${trained.error}`);
    const { context, page } = await signedIn(key);
    await page.goto(`${s.url}/models/iris-small/versions/1`);
    const form = page.getByRole('form', { name: 'optimize this version' });
    await form.locator('select[name=method]').waitFor();
    assert.deepEqual(await form.locator('select[name=method] option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value)),
      ['quantize_dynamic', 'quantize_static', 'quantize_weights', 'fp16', 'prune']);
    await form.locator('select[name=method]').selectOption('prune');
    await form.locator('input[name=sparsity]').waitFor();
    await form.locator('select[name=method]').selectOption('quantize_dynamic');
    await form.getByRole('button', { name: 'Optimize into a new version' }).click();
    await page.waitForURL('**/jobs/job_*');
    const jobId = page.url().split('/jobs/')[1]!;
    const job = await waitJob(s, jobId, { key });
    assert.equal(job.status, 'succeeded', `${job.error}`);
    assert.deepEqual(job.result, { model: 'iris-small', version: 2 });
    await page.goto(`${s.url}/models/iris-small/versions/2`);
    const table = page.getByRole('region', { name: 'optimization trade-off' });
    await page.getByTestId('optimization').getByRole('heading', { name: /quantize_dynamic of version 1/ }).waitFor();
    const m = job.metrics;
    const row = (name: string) => table.locator('tr', { has: page.locator('th', { hasText: name }) });
    await row('size').waitFor();
    assert.match(await row('size').innerText(), /\d [KM]?B.*\d [KM]?B.*%/s);
    assert.match(await row('p50 latency, 1 row').innerText(), /ms.*ms/s);
    assert.match(await row(`p50 latency, ${m.latencyMs.batchRows} rows`).innerText(), /ms.*ms/s);
    const shown = (x: number) => String(Number(x.toFixed(4))).replace('.', '\\.');
    assert.match(await row('test accuracy').innerText(), new RegExp(`${shown(m.source.test.accuracy)}[\\s\\S]*${shown(m.test.accuracy)}`));
    await shot(page, '21-optimization');
    await context.close();
    assert.deepEqual(problems, [], 'no console errors, page errors or failed asset loads');
  });

  test('the alerts page: a webhook URL refused with the reason, an alert created, listed with its state, deleted', async () => {
    const key = (await s.tenant('alerts-web')).developer;
    const { context, page } = await signedIn(key);
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await page.getByText('No alerts yet.').waitFor();
    const form = page.getByRole('form', { name: 'new alert' });
    await form.locator('input[name=alertName]').fill('busy');
    await form.locator('select[name=alertMetric]').selectOption('requestsPerSecond');
    await form.locator('input[name=alertThreshold]').fill('100');
    await form.locator('input[name=alertUrl]').fill('ftp://hooks.example.com/x');
    await form.locator('input[name=alertSecret]').fill('s3cret');
    const seen = problems.length;
    await form.getByRole('button', { name: 'Create alert' }).click();
    await form.getByRole('alert').filter({ hasText: 'webhooks are POSTed over http or https only' }).waitFor();
    // The browser reports the refused POST (422) as a console error: that one is expected.
    await until('the refused POST reported', async () => problems.length > seen);
    const refused = problems.splice(seen);
    assert.ok(refused.every((p) => /status of 422/.test(p)), refused.join('\n'));
    await form.locator('input[name=alertUrl]').fill('http://127.0.0.1:9/hook');
    await form.getByRole('button', { name: 'Create alert' }).click();
    const table = page.getByRole('region', { name: 'alerts' });
    const row = table.locator('tbody tr').filter({ hasText: 'busy' });
    await row.filter({ hasText: 'requestsPerSecond > 100' }).waitFor();
    assert.equal(await row.locator('.badge').textContent(), 'ok');
    await row.getByRole('button', { name: 'busy' }).click();
    await table.getByText('No change of state yet.').waitFor();
    await table.getByText('None yet.').waitFor();
    assert.equal((await s.call('GET', '/v1/alerts', { key })).body.data[0].name, 'busy');
    await shot(page, '22-alerts');
    page.once('dialog', (d) => void d.accept());
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No alerts yet.').waitFor();
    assert.deepEqual((await s.call('GET', '/v1/alerts', { key })).body.data, []);
    await context.close();
    assert.deepEqual(problems, [], 'no console errors, page errors or failed asset loads');
  });
});
