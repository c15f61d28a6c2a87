/**
 * Endpoints through real HTTP: deploy, predict (rows, tensors, Open Inference Protocol), bad
 * rows, batching, scoped keys, isolation, traffic changes under load, and a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { loadConfig } from '../../infra/config.js';
import { startServer, type RunningServer } from '../server.js';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { irisClassifier, irisExpected, mixedTypesModel } from '../../ml/testing/onnx-fixtures.js';
import { until } from '../testing/jobs-helpers.js';

const octet = { 'content-type': 'application/octet-stream' };
const row = (petal_length: number, extra: Record<string, unknown> = {}) => ({
  sepal_length: 5.1, sepal_width: 3.5, petal_length, petal_width: 0.2, color: 'red', ...extra,
});

/** Continuous predictions from `concurrency` loops until stopped; counts statuses and versions. */
function load(url: string, key: string, endpoint: string, concurrency: number) {
  const stats = { ok: 0, failed: [] as string[], versions: new Map<number, number>(), byPhase: [] as number[][] };
  let running = true;
  let phase = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      const p = phase;
      try {
        const r = await fetch(`${url}/v1/endpoints/${endpoint}/predict`, {
          method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [row(1.4)] }),
        });
        const body = await r.json() as { version: number; predictions: Array<{ label: string }> };
        if (r.status !== 200) stats.failed.push(`${r.status} ${JSON.stringify(body)}`);
        else {
          stats.ok++;
          stats.versions.set(body.version, (stats.versions.get(body.version) ?? 0) + 1);
          (stats.byPhase[p] ??= []).push(body.version);
          // v2 (bias 100) says virginica for everything: the answer matches the version.
          const want = body.version === 2 ? 'virginica' : 'setosa';
          if (body.predictions[0]!.label !== want) stats.failed.push(`v${body.version} answered ${body.predictions[0]!.label}`);
        }
      } catch (err) {
        stats.failed.push(String(err));
      }
    }
  });
  return {
    stats,
    next() {
      phase++;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

describe('endpoints', () => {
  let s: TestServer;
  let server: RunningServer | undefined;
  let url: string;
  let dev: string;
  let viewer: string;
  let other: string;
  let tenantId: string;
  const call = (...a: Parameters<TestServer['call']>) => s.call(...a);
  before(async () => {
    s = await startTestServer();
    url = s.url;
    const t = await s.tenant('serve-co');
    dev = t.developer;
    viewer = t.viewer;
    tenantId = t.id;
    other = (await s.tenant('serve-other')).developer;
    const v1 = irisClassifier();
    const v2 = irisClassifier({ bias: 100 });
    for (const v of [v1, v2]) {
      await s.server.platform.registry.registerVersion(tenantId, { name: 'iris', artifact: v.bytes, kind: 'mlp', task: 'classification', signature: v.signature });
    }
    const m = await call('POST', '/v1/models/mixed/versions', { key: dev, body: mixedTypesModel(), headers: octet });
    assert.equal(m.status, 201, m.text);
  });
  after(async () => {
    if (server) await server.stop();
    await s.stop();
  });

  test('deploy: 201 at once, then ready; predictions on raw rows', async () => {
    const r = await call('POST', '/v1/endpoints', { key: dev, json: { name: 'iris', model: 'iris', version: 1, replicas: { min: 1, max: 2 }, batching: { maxBatchSize: 16, maxDelayMs: 0 } } });
    assert.equal(r.status, 201, r.text);
    assert.ok(['loading', 'ready'].includes(r.body.status));
    assert.deepEqual(r.body.traffic, [{ version: 1, weight: 100 }]);
    const ready = await until('ready', async () => {
      const g = await call('GET', '/v1/endpoints/iris', { key: viewer });
      return g.body.status === 'ready' ? g.body : undefined;
    });
    assert.equal(ready.replicas.ready, 1);
    assert.equal(ready.urls.predict, '/v1/endpoints/iris/predict');
    const lengths = [1.0, 3.0, 4.5, 5.5, 6.9];
    const p = await call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: lengths.map((l) => row(l)) } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.model, 'iris');
    assert.equal(p.body.version, 1);
    assert.deepEqual(p.body.predictions.map((x: { label: string }) => x.label), lengths.map((l) => irisExpected(l)));
    for (const x of p.body.predictions) {
      assert.equal(x.probabilities.length, 3);
      assert.ok(Math.abs(x.probabilities.reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
    }
    // More rows than maxBatchSize (16), next to single rows: every request gets its own rows back.
    const many = Array.from({ length: 40 }, (_, i) => [1.0, 6.9][i % 2]!);
    const [big, ...singles] = await Promise.all([
      call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: many.map((l) => row(l)) } }),
      ...lengths.map((l) => call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { inputs: [row(l)] } })),
    ]);
    assert.deepEqual(big!.body.predictions.map((x: { label: string }) => x.label), many.map((l) => irisExpected(l)));
    assert.deepEqual(singles.map((x) => x.body.predictions[0].label), lengths.map((l) => irisExpected(l)));
    // A nullable column may be null (imputed in the graph), or absent when the body asks for imputation.
    const partial = await call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: [row(6, { sepal_width: null })] } });
    assert.equal(partial.body.predictions[0].label, 'virginica');
    const { sepal_width: _, ...absent } = row(6);
    const imputed = await call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: [absent], impute: true } });
    assert.equal(imputed.status, 200, imputed.text);
    assert.deepEqual(imputed.body.predictions, partial.body.predictions, 'an absent column is imputed as a null one is');
    const list = await call('GET', '/v1/endpoints', { key: viewer });
    assert.deepEqual(list.body.data.map((e: { name: string }) => e.name), ['iris']);
    assert.equal((await call('POST', '/v1/endpoints', { key: dev, json: { name: 'iris', model: 'iris' } })).status, 409);
    assert.equal((await call('POST', '/v1/endpoints', { key: dev, json: { name: 'nope', model: 'no-such-model' } })).status, 404);
    assert.equal((await call('POST', '/v1/endpoints', { key: dev, json: { name: 'nope', model: 'iris', version: 9 } })).status, 404);
    assert.equal((await call('POST', '/v1/endpoints', { key: viewer, json: { name: 'nope', model: 'iris' } })).status, 403);
    assert.equal((await call('POST', '/v1/endpoints/iris/predict', { key: viewer, json: { instances: [row(1)] } })).status, 403);
  });

  test('bad rows answer 422 naming the row and column, and the endpoint keeps serving', async () => {
    const cases: Array<[unknown, string, Record<string, unknown>]> = [
      [{ instances: [row(1), { ...row(1), petal_length: undefined }] }, 'missing_column', { row: 1, column: 'petal_length' }],
      [{ instances: [row(1), row(1), row('long' as unknown as number)] }, 'invalid_value', { row: 2, column: 'petal_length' }],
      [{ instances: [row(1, { color: { rgb: 1 } })] }, 'invalid_value', { row: 0, column: 'color' }],
      [{ instances: [[5.1, 3.5, 1.4, 0.2]] }, 'invalid_instances', {}],
      [{ instances: [] }, 'invalid_instances', {}],
      // The body is read in a replica thread, which enforces the route's schema with the same 422s.
      [{ instances: 5 }, 'invalid_request', {}],
      [{ inputs: 'x' }, 'invalid_request', {}],
      [[row(1)], 'invalid_request', {}],
      [{ inputs: [row(1), { ...row(1), petal_length: 'x' }] }, 'invalid_value', { row: 1, column: 'petal_length' }],
      // Values a float32 cannot hold would come back as null probabilities and a confident label.
      [{ instances: [row(1), row(1e39)] }, 'invalid_value', { row: 1, column: 'petal_length' }],
      [{ instances: [row(1, { sepal_length: -1e39 })] }, 'invalid_value', { row: 0, column: 'sepal_length' }],
      // Absent columns are not imputed unless asked for; unknown (misspelled) ones are named, with the closest column.
      [{ instances: [row(1), { ...row(1), sepal_width: undefined }] }, 'missing_column', { row: 1, column: 'sepal_width' }],
      [{ instances: [{ ...row(1), color: undefined }], impute: true }, 'missing_column', { row: 0, column: 'color' }],
      [{ instances: [row(1, { petal_lenght: 1.4 })] }, 'unknown_column', { row: 0, column: 'petal_lenght', suggestion: 'petal_length' }],
      [{ instances: [row(1, { species: 'setosa' })], impute: true }, 'unknown_column', { row: 0, column: 'species' }],
      [{ instances: [row(1)], impute: 'yes' }, 'invalid_request', {}],
      // Wrong nesting: a number where a row is expected, arrays for a model with two inputs.
      [{ instances: [row(1), 5] }, 'invalid_row', { row: 1 }],
      [{ instances: [[[5.1, 3.5, 1.4, 0.2]]] }, 'invalid_instances', {}],
    ];
    for (const [body, code, details] of cases) {
      const r = await call('POST', '/v1/endpoints/iris/predict', { key: dev, json: body });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.code, code);
      for (const [k, v] of Object.entries(details)) assert.equal(r.body.error.details[k], v, r.text);
    }
    const shape = await call('POST', '/v2/models/iris/infer', { key: dev, json: { inputs: [
      { name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
      { name: 'categories', shape: [1, 1], datatype: 'BYTES', data: ['red'] },
    ] } });
    assert.equal(shape.status, 422, shape.text);
    assert.equal(shape.body.error.details.column, 'features');
    const irisColumns = (petal: number[]) => [
      { name: 'sepal_length', shape: [petal.length], datatype: 'FP32', data: petal.map(() => 5.1) },
      { name: 'sepal_width', shape: [petal.length], datatype: 'FP32', data: petal.map(() => 3.5) },
      { name: 'petal_length', shape: [petal.length], datatype: 'FP32', data: petal },
      { name: 'petal_width', shape: [petal.length], datatype: 'FP32', data: petal.map(() => 0.2) },
      { name: 'color', shape: [petal.length], datatype: 'BYTES', data: petal.map(() => 'red') },
    ];
    const v2Cases: Array<[unknown, string, Record<string, unknown>]> = [
      [{ inputs: irisColumns([1, 1e39]) }, 'invalid_value', { row: 1, column: 'petal_length' }],
      [{ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, -1e39, 3, 4] }, { name: 'categories', shape: [1, 1], datatype: 'BYTES', data: ['red'] }] }, 'invalid_value', { row: 0, column: 'features' }],
      [{ inputs: [...irisColumns([1]), irisColumns([2])[2]] }, 'duplicate_input', { column: 'petal_length' }],
      [{ inputs: irisColumns([1]).filter((c) => c.name !== 'sepal_width') }, 'missing_column', { row: 0, column: 'sepal_width' }],
      [{ inputs: irisColumns([1]).map((c) => (c.name === 'color' ? { ...c, name: 'colour' } : c)) }, 'unknown_input', { column: 'colour', suggestion: 'color' }],
      [{ inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[[1, 2, 3, 4]]] }, { name: 'categories', shape: [1, 1], datatype: 'BYTES', data: ['red'] }] }, 'invalid_shape', { column: 'features' }],
      [{ inputs: irisColumns([1]), parameters: { impute: 1 } }, 'invalid_request', {}],
    ];
    for (const [body, code, details] of v2Cases) {
      const r = await call('POST', '/v2/models/iris/infer', { key: dev, json: body });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.code, code, r.text);
      for (const [k, v] of Object.entries(details)) assert.equal(r.body.error.details[k], v, r.text);
    }
    const imputedV2 = await call('POST', '/v2/models/iris/infer', { key: dev, json: { inputs: irisColumns([1]).filter((c) => c.name !== 'sepal_width'), parameters: { impute: true } } });
    assert.equal(imputedV2.status, 200, imputedV2.text);
    // However deep a body nests, the answer is a 4xx (never a stack overflow, a 500).
    const deep = (v: string) => '['.repeat(200_000) + v + ']'.repeat(200_000);
    const deepBodies = [
      `{"instances": [${deep('1')}]}`,
      `{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1, "petal_width": 0.2, "color": ${deep('"red"')}}]}`,
    ];
    for (const body of deepBodies) {
      const r = await call('POST', '/v1/endpoints/iris/predict', { key: dev, body, headers: { 'content-type': 'application/json' } });
      assert.ok(r.status === 400 || r.status === 422, `${r.status} ${r.text.slice(0, 300)}`);
    }
    const deepInfer = await call('POST', '/v2/models/iris/infer', { key: dev, body: `{"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP32", "data": ${deep('1')}}]}`, headers: { 'content-type': 'application/json' } });
    assert.ok(deepInfer.status === 400 || deepInfer.status === 422, `${deepInfer.status} ${deepInfer.text.slice(0, 300)}`);
    const bad = await call('POST', '/v1/endpoints/iris/predict', { key: dev, body: '{"instances": [', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_json');
    const empty = await call('POST', '/v1/endpoints/iris/predict', { key: dev, body: '', headers: { 'content-type': 'application/json' } });
    assert.deepEqual([empty.status, empty.body.error.code], [400, 'invalid_json'], empty.text);
    const text = await call('POST', '/v1/endpoints/iris/predict', { key: dev, body: '{"instances": []}', headers: { 'content-type': 'text/plain' } });
    assert.deepEqual([text.status, text.body.error.code], [415, 'unsupported_media_type'], text.text);
    const ok = await call('POST', '/v1/endpoints/iris/predict', { key: dev, json: { instances: [row(5.5)] } });
    assert.equal(ok.status, 200);
    assert.equal((await call('GET', '/v1/endpoints/iris', { key: dev })).body.status, 'ready');
  });

  test('a model whose input widths are not fixed has its bodies read on the HTTP thread: same answers, same 422s', async () => {
    // Replicas read bodies only when every request stacks (fixed widths); this one takes the other path.
    const v = irisClassifier();
    const signature = { ...v.signature, tensors: v.signature.tensors.map((t) => ({ ...t, shape: t.shape.map(() => -1) })) };
    await s.server.platform.registry.registerVersion(tenantId, { name: 'iris-free', artifact: v.bytes, kind: 'mlp', task: 'classification', signature });
    const ep = await call('POST', '/v1/endpoints?wait=true', { key: dev, json: { name: 'iris-free', model: 'iris-free', replicas: { min: 1, max: 1 } } });
    assert.equal(ep.body.status, 'ready', ep.text);
    const lengths = [1.0, 4.5, 6.9];
    const p = await call('POST', '/v1/endpoints/iris-free/predict', { key: dev, json: { inputs: lengths.map((l) => row(l)) } });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.body.predictions.map((x: { label: string }) => x.label), lengths.map((l) => irisExpected(l)));
    const bad = await call('POST', '/v1/endpoints/iris-free/predict', { key: dev, json: { instances: [row(1), row('x' as unknown as number)] } });
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual([bad.body.error.code, bad.body.error.details.row, bad.body.error.details.column], ['invalid_value', 1, 'petal_length']);
    assert.equal((await call('POST', '/v1/endpoints/iris-free/predict', { key: dev, json: { instances: 1 } })).body.error.code, 'invalid_request');
    assert.equal((await call('POST', '/v1/endpoints/iris-free/predict', { key: dev, body: '{', headers: { 'content-type': 'application/json' } })).body.error.code, 'invalid_json');
    assert.equal((await call('DELETE', '/v1/endpoints/iris-free', { key: dev })).status, 200);
  });

  test('Open Inference Protocol: health, metadata, readiness, infer with columns and with FP32/INT64/BOOL/BYTES tensors', async () => {
    assert.deepEqual((await call('GET', '/v2/health/live', { key: null })).body, { live: true });
    assert.equal((await call('GET', '/v2/health/ready', { key: null })).status, 200);
    assert.equal((await call('GET', '/v2/models/iris', { key: null })).status, 401);
    const meta = await call('GET', '/v2/models/iris', { key: dev });
    assert.equal(meta.status, 200, meta.text);
    assert.deepEqual(meta.body.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }, { name: 'categories', datatype: 'BYTES', shape: [-1, 1] }]);
    assert.deepEqual(meta.body.parameters.labels, ['setosa', 'versicolor', 'virginica']);
    assert.deepEqual((await call('GET', '/v2/models/iris/ready', { key: dev })).body, { name: 'iris', ready: true });
    // Raw columns, one input per column.
    const cols = await call('POST', '/v2/models/iris/infer', { key: dev, json: { id: 'req-1', inputs: [
      { name: 'sepal_length', shape: [2], datatype: 'FP32', data: [5.1, 6.3] },
      { name: 'sepal_width', shape: [2], datatype: 'FP32', data: [3.5, 3.3] },
      { name: 'petal_length', shape: [2], datatype: 'FP64', data: [1.4, 6.0] },
      { name: 'petal_width', shape: [2], datatype: 'FP32', data: [0.2, 2.5] },
      { name: 'color', shape: [2], datatype: 'BYTES', data: ['red', 'blue'] },
    ] } });
    assert.equal(cols.status, 200, cols.text);
    assert.equal(cols.body.model_name, 'iris');
    assert.equal(cols.body.model_version, '1');
    assert.equal(cols.body.id, 'req-1');
    const label = cols.body.outputs.find((o: { name: string }) => o.name === 'label');
    assert.deepEqual(label, { name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] });
    // Tensors of four datatypes.
    const ep = await call('POST', '/v1/endpoints?wait=true', { key: dev, json: { name: 'mixed', model: 'mixed', replicas: { min: 1, max: 1 } } });
    assert.equal(ep.body.status, 'ready', ep.text);
    const inputs = [
      { name: 'x', shape: [2, 2], datatype: 'FP32', data: [[1, 2], [3, 4.5]] },
      { name: 'k', shape: [2, 1], datatype: 'INT64', data: [10, -20] },
      { name: 'b', shape: [2, 1], datatype: 'BOOL', data: [true, false] },
      { name: 's', shape: [2, 1], datatype: 'BYTES', data: ['a', 'zebra'] },
    ];
    const inf = await call('POST', '/v2/models/mixed/infer', { key: dev, json: { inputs } });
    assert.equal(inf.status, 200, inf.text);
    assert.deepEqual(inf.body.outputs, [
      { name: 'total', datatype: 'FP32', shape: [2, 1], data: [14, -12.5] },
      { name: 'code', datatype: 'INT64', shape: [2, 1], data: [1, -1] },
      { name: 'negated', datatype: 'BOOL', shape: [2, 1], data: [false, true] },
      { name: 'echo', datatype: 'BYTES', shape: [2, 1], data: ['a', 'zebra'] },
    ]);
    const some = await call('POST', '/v2/models/mixed/versions/1/infer', { key: dev, json: { inputs, outputs: [{ name: 'echo' }] } });
    assert.deepEqual(some.body.outputs.map((o: { name: string }) => o.name), ['echo']);
    const wrongType = await call('POST', '/v2/models/mixed/infer', { key: dev, json: { inputs: [{ ...inputs[0], datatype: 'INT64', data: [1, 2, 3, 4] }, ...inputs.slice(1)] } });
    assert.equal(wrongType.status, 422);
    assert.equal(wrongType.body.error.details.column, 'x');
    // The predict route takes objects keyed by graph input for imported graphs.
    const rows = await call('POST', '/v1/endpoints/mixed/predict', { key: dev, json: { instances: [{ x: [1, 1], k: [1], b: [true], s: ['b'] }] } });
    assert.equal(rows.status, 200, rows.text);
    assert.equal(rows.body.predictions.length, 1);
  });

  test('dynamic batching stacks concurrent requests into fewer runs', async () => {
    const ep = await call('POST', '/v1/endpoints?wait=true', { key: dev, json: { name: 'iris-batch', model: 'iris', version: 1, replicas: { min: 1, max: 1 }, batching: { maxBatchSize: 64, maxDelayMs: 50 } } });
    assert.equal(ep.body.status, 'ready', ep.text);
    const n = 48;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => call('POST', '/v1/endpoints/iris-batch/predict', { key: dev, json: { instances: [row(i % 2 ? 1 : 6)] } })));
    results.forEach((r, i) => {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.predictions[0].label, i % 2 ? 'setosa' : 'virginica', 'each request gets its own rows back');
    });
    const m = await call('GET', '/v1/endpoints/iris-batch/metrics', { key: viewer });
    assert.equal(m.status, 200);
    const count = Number(/aiaas_endpoint_batch_size_count\{[^}]*\} (\d+)/.exec(m.text)?.[1]);
    const sum = Number(/aiaas_endpoint_batch_size_sum\{[^}]*\} (\d+)/.exec(m.text)?.[1]);
    assert.equal(sum, n);
    assert.ok(count < n / 2, `${n} requests ran in ${count} batches`);
    assert.match(m.text, /aiaas_endpoint_requests_total\{[^}]*status="200"\} 48/);
    assert.match(m.text, /aiaas_endpoint_replicas\{[^}]*version="1"\} 1/);
    assert.match(m.text, /aiaas_endpoint_request_duration_seconds_count/);
    assert.match(m.text, /aiaas_endpoint_queue_depth/);
    // The platform-wide /metrics has the same series (admin key).
    const all = await call('GET', '/metrics');
    assert.match(all.text, /aiaas_endpoint_batch_size_count\{tenant="[^"]+",endpoint="iris-batch"\}/);
    assert.equal((await call('DELETE', '/v1/endpoints/iris-batch', { key: dev })).status, 200);
  });

  test('an inference key scoped to one endpoint calls it and nothing else', async () => {
    const k = await call('POST', '/v1/keys', { key: dev, json: { name: 'iris-only', role: 'inference', endpoint: 'iris' } });
    assert.equal(k.status, 201, k.text);
    const key = k.body.key;
    assert.equal((await call('POST', '/v1/endpoints/iris/predict', { key, json: { instances: [row(1)] } })).status, 200);
    assert.equal((await call('GET', '/v2/models/iris', { key })).status, 200);
    const cross = await call('POST', '/v1/endpoints/mixed/predict', { key, json: { instances: [{ x: [1, 1], k: [1], b: [true], s: ['b'] }] } });
    assert.equal(cross.status, 403, cross.text);
    assert.equal((await call('POST', '/v2/models/mixed/infer', { key, json: { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] } })).status, 403);
    assert.equal((await call('GET', '/v2/models/mixed', { key })).status, 403);
    for (const [method, route] of [['GET', '/v1/endpoints'], ['GET', '/v1/endpoints/iris'], ['GET', '/v1/models'], ['PATCH', '/v1/endpoints/iris'], ['DELETE', '/v1/endpoints/iris']] as const) {
      const r = await call(method, route, { key, ...(method === 'PATCH' ? { json: { version: 1 } } : {}) });
      assert.equal(r.status, 403, `${method} ${route}`);
    }
  });

  test('endpoints of another tenant are not found on any route', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/v1/endpoints/iris'], ['PATCH', '/v1/endpoints/iris', { version: 1 }], ['DELETE', '/v1/endpoints/iris'],
      ['GET', '/v1/endpoints/iris/metrics'], ['POST', '/v1/endpoints/iris/predict', { instances: [row(1)] }],
      ['GET', '/v2/models/iris'], ['GET', '/v2/models/iris/ready'],
      ['POST', '/v2/models/iris/infer', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }],
      ['POST', '/v2/models/iris/versions/1/infer', { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }],
    ];
    for (const [method, route, json] of routes) {
      const r = await call(method, route, { key: other, ...(json ? { json } : {}) });
      assert.equal(r.status, 404, `${method} ${route}: ${r.text}`);
    }
    assert.deepEqual((await call('GET', '/v1/endpoints', { key: other })).body.data, []);
    // Deploying another tenant's model is impossible too.
    assert.equal((await call('POST', '/v1/endpoints', { key: other, json: { name: 'steal', model: 'iris' } })).status, 404);
  });

  test('10% canary, back, roll forward and roll back under continuous load: no failed request', async () => {
    const l = load(url, dev, 'iris', 8);
    await until('some load', async () => (l.stats.ok > 50 ? true : undefined));
    const canary = await call('PATCH', '/v1/endpoints/iris', { key: dev, json: { traffic: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }] } });
    assert.equal(canary.status, 200, canary.text);
    assert.deepEqual(canary.body.traffic, [{ version: 1, weight: 90 }, { version: 2, weight: 10 }]);
    assert.equal(canary.body.versions.find((v: { version: number }) => v.version === 2).ready, 1, 'the canary is warm before it gets traffic');
    l.next();
    await until('canary traffic', async () => ((l.stats.byPhase[1]?.length ?? 0) > 300 ? true : undefined));
    const back = await call('PATCH', '/v1/endpoints/iris', { key: dev, json: { traffic: [{ version: 1, weight: 100 }] } });
    assert.equal(back.status, 200, back.text);
    l.next();
    await until('traffic after rollback', async () => ((l.stats.byPhase[2]?.length ?? 0) > 100 ? true : undefined));
    assert.equal((await call('PATCH', '/v1/endpoints/iris', { key: dev, json: { version: 2 } })).status, 200);
    l.next();
    await until('traffic on v2', async () => ((l.stats.byPhase[3]?.length ?? 0) > 100 ? true : undefined));
    assert.equal((await call('PATCH', '/v1/endpoints/iris', { key: dev, json: { version: 1 } })).status, 200);
    l.next();
    await until('traffic back on v1', async () => ((l.stats.byPhase[4]?.length ?? 0) > 100 ? true : undefined));
    const stats = await l.stop();
    assert.deepEqual(stats.failed, [], 'no request failed');
    // While the split held, about 10% went to v2 (requests routed just before or after a switch may fall either side).
    const canaryPhase = stats.byPhase[1]!;
    const share = canaryPhase.filter((v) => v === 2).length / canaryPhase.length;
    assert.ok(share > 0.05 && share < 0.16, `canary share ${share}`);
    // Requests answered after the later switches came from the new traffic (a few in flight may predate them).
    const mostly = (phase: number, version: number) => {
      const vs = stats.byPhase[phase]!;
      return vs.filter((v) => v === version).length / vs.length > 0.8;
    };
    assert.ok(mostly(2, 1) && mostly(3, 2) && mostly(4, 1), 'rolls took effect');
    const ep = await call('GET', '/v1/endpoints/iris', { key: dev });
    assert.deepEqual(ep.body.traffic, [{ version: 1, weight: 100 }]);
    assert.ok(ep.body.events.some((e: { type: string }) => e.type === 'traffic'));
    await until('v2 released', async () => {
      const g = await call('GET', '/v1/endpoints/iris', { key: dev });
      return g.body.versions.length === 1 && g.body.replicas.current >= 1 ? true : undefined;
    });
  });

  test('endpoints come back by themselves after a restart', async () => {
    await call('PATCH', '/v1/endpoints/iris', { key: dev, json: { traffic: [{ version: 1, weight: 50 }, { version: 2, weight: 50 }] } });
    await s.server.stop();
    server = await startServer(loadConfig({ AIAAS_HOME: s.home, AIAAS_ADMIN_KEY: s.adminKey, PORT: '0', AIAAS_LOG_LEVEL: 'silent' }));
    const base = server.url;
    const get = async (route: string, init: RequestInit = {}) => {
      const r = await fetch(base + route, { ...init, headers: { authorization: `Bearer ${dev}`, 'content-type': 'application/json' } });
      return { status: r.status, body: await r.json() as any };
    };
    const ep = await until('ready after restart', async () => {
      const g = await get('/v1/endpoints/iris');
      return g.body.status === 'ready' ? g.body : undefined;
    });
    assert.deepEqual(ep.traffic, [{ version: 1, weight: 50 }, { version: 2, weight: 50 }]);
    assert.equal(ep.replicas.min, 1);
    const seen = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const p = await get('/v1/endpoints/iris/predict', { method: 'POST', body: JSON.stringify({ instances: [row(1)] }) });
      assert.equal(p.status, 200);
      seen.add(p.body.version);
    }
    assert.deepEqual([...seen].sort(), [1, 2]);
    const mixed = await until('mixed ready', async () => {
      const g = await get('/v1/endpoints/mixed');
      return g.body.status === 'ready' ? g.body : undefined;
    });
    assert.equal(mixed.model, 'mixed');
    // Predictions were metered per tenant.
    const usage = await server.platform.serving.predictionsByTenant();
    assert.ok((usage.find((u) => u.tenant === tenantId)?.predictions ?? 0) > 100, JSON.stringify(usage));
    assert.ok(fs.existsSync(s.home));
  });
});
