/** Datasets through real HTTP: upload forms, profile, versions, preview, delete, bad files, isolation. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { EXAMPLES, startTestServer, type TestServer } from '../testing/test-server.js';
import { describeEachEngine } from '../testing/engines.js';

const iris = fs.readFileSync(path.join(EXAMPLES, 'iris.csv'));
const LIMIT = 16 * 2 ** 20; // above mnist_train.csv decompressed (14.6 MB): the limit applies after gunzip

/** Every stored blob file, so tests can prove a rejected upload left nothing behind. */
function blobFiles(home: string): string[] {
  const root = path.join(home, 'blobs');
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.relative(root, path.join(d, e.name)));
    }
  };
  walk(root);
  return out.sort();
}

describeEachEngine('datasets', (engine) => {
  let s: TestServer;
  let dev: string;
  before(async () => {
    s = await startTestServer(await engine.env({ AIAAS_DATASET_MAX_BYTES: String(LIMIT) }));
    dev = (await s.tenant('data-co')).developer;
  });
  after(() => s.stop());

  test('uploading iris.csv as the raw body returns its profile', async () => {
    const r = await s.call('POST', '/v1/datasets?name=iris', { key: dev, body: iris, headers: { 'content-type': 'text/csv' } });
    assert.equal(r.status, 201, r.text);
    assert.match(r.body.id, /^ds_/);
    assert.equal(r.body.version, 1);
    assert.equal(r.body.rows, 150);
    assert.equal(r.body.bytes, iris.length);
    assert.deepEqual(r.body.columns.map((c: { name: string }) => c.name), ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species']);
    const sl = r.body.columns[0];
    assert.equal(sl.type, 'number');
    assert.equal(sl.min, 4.3);
    assert.equal(sl.max, 7.9);
    assert.ok(Math.abs(sl.mean - 5.8433) < 1e-3);
    assert.equal(sl.histogram.counts.reduce((a: number, b: number) => a + b, 0), 150);
    const species = r.body.columns[4];
    assert.equal(species.type, 'category');
    assert.equal(species.distinct, 3);
    assert.deepEqual(species.topValues.map((t: { count: number }) => t.count), [50, 50, 50]);
  });

  test('curl --data-binary sends form-urlencoded: the file is still taken as it is', async () => {
    const r = await s.call('POST', '/v1/datasets?name=iris-curl', { key: dev, body: iris, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.rows, 150);
  });

  test('multipart upload takes the name from a field or the file name', async () => {
    const form = new FormData();
    form.append('name', 'iris-form');
    form.append('file', new Blob([iris]), 'iris.csv');
    const r = await s.call('POST', '/v1/datasets', { key: dev, body: form });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.name, 'iris-form');
    assert.equal(r.body.filename, 'iris.csv');
    const unnamed = new FormData();
    unnamed.append('file', new Blob([iris]), 'flowers.csv.gz'.replace('.gz', ''));
    const r2 = await s.call('POST', '/v1/datasets', { key: dev, body: unnamed });
    assert.equal(r2.body.name, 'flowers');
  });

  test('an existing name makes a new version; versions are listed and addressable', async () => {
    const v1 = await s.call('POST', '/v1/datasets?name=versioned', { key: dev, body: iris });
    const half = iris.toString('utf8').split('\n').slice(0, 76).join('\n') + '\n';
    const v2 = await s.call('POST', '/v1/datasets?name=versioned', { key: dev, body: half });
    assert.equal(v2.body.version, 2);
    assert.equal(v2.body.id, v1.body.id);
    assert.equal((await s.call('GET', '/v1/datasets/versioned', { key: dev })).body.rows, 75);
    assert.equal((await s.call('GET', '/v1/datasets/versioned?version=1', { key: dev })).body.rows, 150);
    assert.equal((await s.call('GET', `/v1/datasets/${v1.body.id}`, { key: dev })).body.version, 2);
    const versions = await s.call('GET', '/v1/datasets/versioned/versions', { key: dev });
    assert.deepEqual(versions.body.data.map((v: { version: number }) => v.version), [1, 2]);
    const list = await s.call('GET', '/v1/datasets', { key: dev });
    const item = list.body.data.find((d: { name: string }) => d.name === 'versioned');
    assert.equal(item.latestVersion, 2);
    assert.equal(item.columns, 5);
  });

  test('rows are paged, typed, with missing values as null', async () => {
    const page = await s.call('GET', '/v1/datasets/iris/rows?offset=148&limit=5', { key: dev });
    assert.equal(page.status, 200);
    assert.equal(page.body.total, 150);
    assert.equal(page.body.rows.length, 2);
    assert.deepEqual(page.body.rows[1], { sepal_length: 5.9, sepal_width: 3, petal_length: 5.1, petal_width: 1.8, species: 'virginica' });
    const csv = 'a,b,c\n1,x,true\nNA,,false\n3,y,\n';
    await s.call('POST', '/v1/datasets?name=gaps', { key: dev, body: csv });
    const gaps = await s.call('GET', '/v1/datasets/gaps/rows', { key: dev });
    assert.deepEqual(gaps.body.rows, [{ a: 1, b: 'x', c: true }, { a: null, b: null, c: false }, { a: 3, b: 'y', c: null }]);
    const big = await s.call('GET', '/v1/datasets/iris/rows?limit=5000', { key: dev });
    assert.equal(big.status, 422);
    assert.equal((await s.call('GET', '/v1/datasets/iris/rows?offset=-1', { key: dev })).status, 400);
  });

  // How fast is measured by `npm run bench:ingest`, not here: a test must pass on a busy machine.
  test('mnist_train.csv.gz (8,000 × 785) uploads and profiles', async () => {
    const gz = fs.readFileSync(path.join(EXAMPLES, 'mnist_train.csv.gz'));
    const r = await s.call('POST', '/v1/datasets?name=mnist', { key: dev, body: gz, headers: { 'content-type': 'application/gzip' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.rows, 8000);
    assert.equal(r.body.columns.length, 785);
    assert.equal(r.body.columns[0].name, 'label');
    assert.equal(r.body.columns[0].type, 'integer');
    assert.equal(r.body.columns[0].min, 0);
    assert.equal(r.body.columns[0].max, 9);
    const page = await s.call('GET', '/v1/datasets/mnist/rows?limit=1', { key: dev });
    assert.equal(Object.keys(page.body.rows[0]).length, 785);
  });

  test('JSONL, plain and gzipped', async () => {
    const jsonl = '{"x": 1, "label": "a"}\n{"x": 2.5, "label": "b", "extra": true}\n\n{"x": null, "label": "a"}\n';
    const r = await s.call('POST', '/v1/datasets?name=events&format=jsonl', { key: dev, body: jsonl });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.rows, 3);
    assert.deepEqual(r.body.columns.map((c: { name: string }) => c.name), ['x', 'label', 'extra']);
    assert.equal(r.body.columns[0].missing, 1);
    const gz = await s.call('POST', '/v1/datasets?name=events-gz&filename=events.jsonl.gz', { key: dev, body: zlib.gzipSync(jsonl) });
    assert.equal(gz.status, 201, gz.text);
    assert.equal(gz.body.format, 'jsonl');
    assert.equal(gz.body.rows, 3);
  });

  test('a text corpus: kjv.txt.gz by file name, ?format=text, a multipart .txt; one row per line', async () => {
    const kjv = fs.readFileSync(path.join(EXAMPLES, 'kjv.txt.gz'));
    const r = await s.call('POST', '/v1/datasets?filename=kjv.txt.gz', { key: dev, body: kjv, headers: { 'content-type': 'application/gzip' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.name, 'kjv');
    assert.equal(r.body.format, 'text');
    assert.equal(r.body.rows, 31_102);
    assert.equal(r.body.columns.length, 1);
    const [c] = r.body.columns;
    assert.equal(c.name, 'text');
    assert.equal(c.type, 'text');
    assert.equal(c.text.topTokens[0].token, 'the');
    assert.ok(c.text.vocabulary > 10_000 && c.text.characters < 100, JSON.stringify(c.text).slice(0, 200));
    assert.equal(c.text.length.histogram.counts.reduce((a: number, b: number) => a + b, 0), 31_102);
    const first = await s.call('GET', '/v1/datasets/kjv/rows?limit=1', { key: dev });
    assert.deepEqual(first.body.rows, [{ text: 'In the beginning God created the heaven and the earth.' }]);

    const zh = '春眠不觉晓\n处处闻啼鸟\n42\n';
    const q = await s.call('POST', '/v1/datasets?name=poem&format=text', { key: dev, body: zh });
    assert.equal(q.status, 201, q.text);
    assert.equal(q.body.rows, 3);
    assert.equal(q.body.columns[0].type, 'text');
    assert.equal(q.body.columns[0].text.length.max, 5);
    assert.equal(q.body.columns[0].text.tokens, 10 + 1);
    const rows = await s.call('GET', '/v1/datasets/poem/rows', { key: dev });
    assert.deepEqual(rows.body.rows.map((x: { text: string }) => x.text), ['春眠不觉晓', '处处闻啼鸟', '42']);

    const form = new FormData();
    form.append('file', new Blob([zh]), 'poem-form.txt');
    const m = await s.call('POST', '/v1/datasets', { key: dev, body: form });
    assert.equal(m.status, 201, m.text);
    assert.equal(m.body.name, 'poem-form');
    assert.equal(m.body.format, 'text');
  });

  test('fortunes.csv: its text column is text with a profile, its topic a category', async () => {
    const fortunes = fs.readFileSync(path.join(EXAMPLES, 'fortunes.csv'));
    const r = await s.call('POST', '/v1/datasets?name=fortunes', { key: dev, body: fortunes });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.rows, 2864);
    const [text, topic] = r.body.columns;
    assert.equal(text.type, 'text');
    assert.ok(text.text.length.min > 0 && text.text.length.max >= text.text.length.mean);
    assert.equal(text.text.topTokens.length, 20);
    assert.equal(topic.type, 'category');
    assert.equal(topic.distinct, 8);
    assert.equal(topic.text, undefined);
  });

  test('bad files get a 4xx naming the line, and leave nothing behind', async () => {
    const before = blobFiles(s.home);
    const datasetsBefore = (await s.call('GET', '/v1/datasets', { key: dev })).body.data.length;
    const cases: { name: string; body: Buffer | string; status: number; code: string; line?: number; query?: string }[] = [
      { name: 'ragged', body: 'a,b\n1,2\n3,4,5\n', status: 400, code: 'ragged_row', line: 3 },
      { name: 'utf8', body: Buffer.concat([Buffer.from('a,b\n1,2\n'), Buffer.from([0x33, 0xff, 0xfe, 0x2c, 0x34, 0x0a])]), status: 400, code: 'invalid_utf8', line: 3 },
      { name: 'empty', body: '', status: 422, code: 'empty_file' },
      { name: 'header-only', body: 'a,b\n', status: 422, code: 'no_rows' },
      { name: 'dup-cols', body: 'a,b,a\n1,2,3\n', status: 422, code: 'duplicate_column' },
      { name: 'bad-json', body: '{"a": 1}\n{"a": \n', status: 400, code: 'invalid_json', line: 2, query: '&format=jsonl' },
      { name: 'too-big', body: Buffer.alloc(LIMIT + 10, 'a,b\n1,2\n'), status: 413, code: 'payload_too_large' },
      { name: 'bad name!', body: 'a\n1\n', status: 422, code: 'invalid_name' },
      { name: 'fmt', body: 'a\n1\n', status: 400, code: 'invalid_request', query: '&format=xlsx' },
      { name: 'empty-text', body: '', status: 422, code: 'empty_file', query: '&format=text' },
      { name: 'bad-text', body: Buffer.from([0x61, 0x0a, 0xc3, 0x0a]), status: 400, code: 'invalid_utf8', line: 2, query: '&format=text' },
    ];
    for (const c of cases) {
      const r = await s.call('POST', `/v1/datasets?name=${encodeURIComponent(c.name)}${c.query ?? ''}`, { key: dev, body: c.body });
      assert.equal(r.status, c.status, `${c.name}: ${r.text}`);
      assert.equal(r.body.error.code, c.code, `${c.name}: ${r.text}`);
      assert.ok(r.body.error.message.length > 20, `${c.name}: message too thin`);
      if (c.line) assert.equal(r.body.error.details.line, c.line, `${c.name}: ${r.text}`);
    }
    assert.deepEqual(blobFiles(s.home), before);
    assert.equal((await s.call('GET', '/v1/datasets', { key: dev })).body.data.length, datasetsBefore);
    // Every blob on disk is held by some dataset version, and every held blob is on disk.
    const held = await s.server.platform.db.selectFrom('blob_refs').select('hash').execute();
    assert.deepEqual([...new Set(held.map((r) => r.hash))].sort(), blobFiles(s.home).map((f) => path.basename(f)).sort());
  });

  test('deleting a version, then the dataset, removes blobs nobody else holds', async () => {
    const csv1 = 'k,v\n1,2\n';
    const csv2 = 'k,v\n1,2\n3,4\n';
    await s.call('POST', '/v1/datasets?name=doomed', { key: dev, body: csv1 });
    await s.call('POST', '/v1/datasets?name=doomed', { key: dev, body: csv2 });
    await s.call('POST', '/v1/datasets?name=keeper', { key: dev, body: csv2 }); // shares blobs with doomed@2
    const before = blobFiles(s.home).length;
    const one = await s.call('DELETE', '/v1/datasets/doomed?version=1', { key: dev });
    assert.deepEqual(one.body.deletedVersions, [1]);
    assert.equal(blobFiles(s.home).length, before - 2);
    assert.equal((await s.call('GET', '/v1/datasets/doomed', { key: dev })).body.version, 2);
    const all = await s.call('DELETE', '/v1/datasets/doomed', { key: dev });
    assert.deepEqual(all.body.deletedVersions, [2]);
    assert.equal(blobFiles(s.home).length, before - 2, 'blobs shared with keeper must stay');
    assert.equal((await s.call('GET', '/v1/datasets/doomed', { key: dev })).status, 404);
    assert.equal((await s.call('GET', '/v1/datasets/keeper/rows', { key: dev })).body.total, 2);
    assert.equal((await s.call('DELETE', '/v1/datasets/keeper?version=9', { key: dev })).status, 404);
  });

  test('viewers read but cannot upload or delete', async () => {
    const t = await s.tenant('viewer-co');
    await s.call('POST', '/v1/datasets?name=iris', { key: t.developer, body: iris });
    assert.equal((await s.call('GET', '/v1/datasets/iris', { key: t.viewer })).status, 200);
    assert.equal((await s.call('POST', '/v1/datasets?name=x', { key: t.viewer, body: iris })).status, 403);
    assert.equal((await s.call('DELETE', '/v1/datasets/iris', { key: t.viewer })).status, 403);
  });

  test('tenant isolation on every dataset route', async () => {
    const a = await s.tenant('ds-a');
    const b = await s.tenant('ds-b');
    const up = await s.call('POST', '/v1/datasets?name=secret', { key: a.developer, body: iris });
    const id = up.body.id;
    for (const ref of ['secret', id]) {
      for (const [method, route] of [['GET', `/v1/datasets/${ref}`], ['GET', `/v1/datasets/${ref}/versions`], ['GET', `/v1/datasets/${ref}/rows`], ['DELETE', `/v1/datasets/${ref}`]] as const) {
        const r = await s.call(method, route, { key: b.developer });
        assert.equal(r.status, 404, `${method} ${route} leaked: ${r.text}`);
        assert.ok(!r.text.includes(id) || ref === id);
      }
    }
    assert.ok(!(await s.call('GET', '/v1/datasets', { key: b.developer })).body.data.some((d: { id: string }) => d.id === id));
    // the same name in B is B's own dataset, version 1
    const mine = await s.call('POST', '/v1/datasets?name=secret', { key: b.developer, body: iris });
    assert.equal(mine.body.version, 1);
    assert.notEqual(mine.body.id, id);
    // an admin sees A's dataset by acting in A
    assert.equal((await s.call('GET', '/v1/datasets/secret', { headers: { 'x-tenant': 'ds-a' } })).body.id, id);
    assert.equal((await s.call('GET', `/v1/datasets/${id}`, { key: a.developer })).status, 200);
  });
});
