/** The model registry through real HTTP: import, signature, stages and their rules, artifacts, deletion, isolation. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../testing/test-server.js';
import { irisClassifier, mixedTypesModel } from '../../ml/testing/onnx-fixtures.js';
import { describeEachEngine } from '../testing/engines.js';

const octet = { 'content-type': 'application/octet-stream' };

describeEachEngine('model registry', (engine) => {
  let s: TestServer;
  let dev: string;
  let viewer: string;
  let tenantId: string;
  let other: string;
  before(async () => {
    s = await startTestServer(await engine.env({ AIAAS_MODEL_MAX_BYTES: String(64 * 1024) }));
    const t = await s.tenant('reg-co');
    dev = t.developer;
    viewer = t.viewer;
    tenantId = t.id;
    other = (await s.tenant('reg-other')).developer;
  });
  after(() => s.stop());

  test('importing an ONNX file validates it and reads its signature from the graph', async () => {
    const bytes = mixedTypesModel();
    const r = await s.call('POST', '/v1/models/mixed/versions?description=hand-built', { key: dev, body: bytes, headers: octet });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.name, 'mixed');
    assert.equal(r.body.version, 1);
    assert.equal(r.body.stage, 'none');
    assert.equal(r.body.source, 'imported');
    assert.equal(r.body.kind, 'onnx');
    assert.equal(r.body.sizeBytes, bytes.length);
    assert.equal(r.body.description, 'hand-built');
    assert.deepEqual(r.body.signature.tensors, [
      { name: 'x', dtype: 'float32', shape: [-1, 2] },
      { name: 'k', dtype: 'int64', shape: [-1, 1] },
      { name: 'b', dtype: 'bool', shape: [-1, 1] },
      { name: 's', dtype: 'string', shape: [-1, 1] },
    ]);
    assert.deepEqual(r.body.signature.outputs.map((o: { name: string; dtype: string }) => `${o.name}:${o.dtype}`), ['total:float32', 'code:int64', 'negated:bool', 'echo:string']);
    assert.deepEqual(r.body.signature.inputs, []);
    assert.deepEqual(r.body.lineage, { job: null, dataset: null, datasetVersion: null, params: {} });
    // curl --data-binary sends form-urlencoded: the body is still taken as the file.
    const again = await s.call('POST', '/v1/models/mixed/versions', { key: dev, body: bytes, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.body.version, 2);
  });

  test('a file that carries its signature (metadata aiaas.signature) keeps its raw columns', async () => {
    const { bytes, signature } = irisClassifier({ embedSignature: true });
    const r = await s.call('POST', '/v1/models/iris-import/versions', { key: dev, body: bytes, headers: octet });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.body.signature.inputs, signature.inputs);
    assert.deepEqual(r.body.signature.labels, signature.labels);
    assert.equal(r.body.task, 'classification');
    assert.equal((await s.call('DELETE', '/v1/models/iris-import', { key: dev })).status, 200);
  });

  test('a file that is not ONNX is refused with 422 and ONNX Runtime\'s reason; nothing is kept', async () => {
    const r = await s.call('POST', '/v1/models/junk/versions', { key: dev, body: 'this is not a model', headers: octet });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error.code, 'invalid_model');
    assert.match(r.body.error.message, /ONNX Runtime cannot load this model: .*protobuf/i);
    assert.equal((await s.call('GET', '/v1/models/junk', { key: dev })).status, 404);
    const empty = await s.call('POST', '/v1/models/junk/versions', { key: dev, body: new Uint8Array(0), headers: octet });
    assert.equal(empty.status, 422);
    const big = await s.call('POST', '/v1/models/junk/versions', { key: dev, body: new Uint8Array(65 * 1024), headers: octet });
    assert.equal(big.status, 413, big.text);
    assert.match(big.body.error.message, /AIAAS_MODEL_MAX_BYTES/);
    const json = await s.call('POST', '/v1/models/junk/versions', { key: dev, json: { a: 1 } });
    assert.equal(json.status, 422);
  });

  test('the training service registers versions with signature, metrics and lineage', async () => {
    const { bytes, signature } = irisClassifier();
    const v = await s.server.platform.registry.registerVersion(tenantId, {
      name: 'iris', artifact: bytes, kind: 'mlp', task: 'classification', signature,
      metrics: { accuracy: 0.97, f1: 0.96 }, lineage: { job: 'job_1', dataset: 'iris', datasetVersion: 2 }, params: { epochs: 5 },
    });
    assert.equal(v.version, 1);
    const r = await s.call('GET', '/v1/models/iris/versions/1', { key: viewer });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.kind, 'mlp');
    assert.equal(r.body.source, 'trained');
    assert.deepEqual(r.body.metrics, { accuracy: 0.97, f1: 0.96 });
    assert.deepEqual(r.body.lineage, { job: 'job_1', dataset: 'iris', datasetVersion: 2, params: { epochs: 5 } });
    assert.deepEqual(r.body.signature.labels, ['setosa', 'versicolor', 'virginica']);
    assert.equal(r.body.signature.inputs[4].name, 'color');
    assert.equal(r.body.sizeBytes, bytes.length);
    // A signature that names tensors the graph lacks is refused.
    await assert.rejects(
      s.server.platform.registry.registerVersion(tenantId, { name: 'iris', artifact: bytes, kind: 'mlp', task: 'classification', signature: { ...signature, outputs: [{ name: 'nope', dtype: 'float32', shape: [-1] }] } }),
      /nope/,
    );
  });

  test('stages: one production version unless asked otherwise; previous production is archived', async () => {
    const { bytes, signature } = irisClassifier({ bias: 1 });
    for (let i = 0; i < 2; i++) await s.server.platform.registry.registerVersion(tenantId, { name: 'iris', artifact: bytes, kind: 'mlp', task: 'classification', signature });
    const p1 = await s.call('PATCH', '/v1/models/iris/versions/1', { key: dev, json: { stage: 'production' } });
    assert.equal(p1.status, 200, p1.text);
    assert.equal(p1.body.stage, 'production');
    const p2 = await s.call('PATCH', '/v1/models/iris/versions/2', { key: dev, json: { stage: 'production' } });
    assert.equal(p2.body.stage, 'production');
    assert.equal((await s.call('GET', '/v1/models/iris/versions/1', { key: dev })).body.stage, 'archived');
    const p3 = await s.call('PATCH', '/v1/models/iris/versions/3', { key: dev, json: { stage: 'production', archiveExisting: false } });
    assert.equal(p3.status, 200);
    const m = await s.call('GET', '/v1/models/iris', { key: dev });
    assert.deepEqual(m.body.stages, { none: [], staging: [], production: [2, 3], archived: [1] });
    assert.equal(m.body.latest.version, 3);
    // 'production' addresses the newest production version; stages filter the list.
    assert.equal((await s.call('GET', '/v1/models/iris/versions/production', { key: dev })).body.version, 3);
    assert.equal((await s.call('GET', '/v1/models/iris/versions/latest', { key: dev })).body.version, 3);
    const prod = await s.call('GET', '/v1/models/iris/versions?stage=production', { key: dev });
    assert.deepEqual(prod.body.data.map((v: { version: number }) => v.version), [2, 3]);
    assert.equal((await s.call('PATCH', '/v1/models/iris/versions/3', { key: dev, json: { stage: 'bogus' } })).status, 422);
    assert.equal((await s.call('PATCH', '/v1/models/iris/versions/3', { key: viewer, json: { stage: 'staging' } })).status, 403);
    const list = await s.call('GET', '/v1/models', { key: viewer });
    assert.deepEqual(list.body.data.map((x: { name: string }) => x.name), ['iris', 'mixed']);
  });

  test('a version serving traffic cannot be archived, demoted by a promotion, or deleted (409)', async () => {
    const ep = await s.call('POST', '/v1/endpoints?wait=true', { key: dev, json: { name: 'iris-live', model: 'iris', version: 2, replicas: { min: 1, max: 1 } } });
    assert.equal(ep.status, 201, ep.text);
    const arch = await s.call('PATCH', '/v1/models/iris/versions/2', { key: dev, json: { stage: 'archived' } });
    assert.equal(arch.status, 409, arch.text);
    assert.equal(arch.body.error.code, 'version_serving');
    assert.deepEqual(arch.body.error.details.endpoints, ['iris-live']);
    // Promoting v1 would archive v2 (production, serving): refused, unless both stay in production.
    const promote = await s.call('PATCH', '/v1/models/iris/versions/1', { key: dev, json: { stage: 'production' } });
    assert.equal(promote.status, 409, promote.text);
    assert.equal((await s.call('GET', '/v1/models/iris/versions/2', { key: dev })).body.stage, 'production');
    assert.equal((await s.call('PATCH', '/v1/models/iris/versions/1', { key: dev, json: { stage: 'production', archiveExisting: false } })).status, 200);
    assert.equal((await s.call('DELETE', '/v1/models/iris/versions/2', { key: dev })).status, 409);
    assert.equal((await s.call('DELETE', '/v1/models/iris', { key: dev })).status, 409);
    // Once the traffic moves, it can.
    assert.equal((await s.call('DELETE', '/v1/endpoints/iris-live', { key: dev })).status, 200);
    assert.equal((await s.call('PATCH', '/v1/models/iris/versions/2', { key: dev, json: { stage: 'archived' } })).status, 200);
  });

  test('the artifact downloads byte for byte; deleting a version keeps numbering', async () => {
    const original = mixedTypesModel();
    const r = await fetch(`${s.url}/v1/models/mixed/versions/1/artifact`, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.match(r.headers.get('content-disposition') ?? '', /mixed-v1\.onnx/);
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), original);
    const del = await s.call('DELETE', '/v1/models/mixed/versions/2', { key: dev });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body.deletedVersions, [2]);
    const next = await s.call('POST', '/v1/models/mixed/versions', { key: dev, body: original, headers: octet });
    assert.equal(next.body.version, 3);
    assert.equal((await s.call('GET', '/v1/models/mixed/versions/2', { key: dev })).status, 404);
  });

  test('models of another tenant are not found on any route', async () => {
    for (const [method, route] of [
      ['GET', '/v1/models/mixed'], ['GET', '/v1/models/mixed/versions'], ['GET', '/v1/models/mixed/versions/1'],
      ['GET', '/v1/models/mixed/versions/1/artifact'], ['PATCH', '/v1/models/mixed/versions/1'], ['DELETE', '/v1/models/mixed/versions/1'],
      ['DELETE', '/v1/models/mixed'],
    ] as const) {
      const r = await s.call(method, route, { key: other, ...(method === 'PATCH' ? { json: { stage: 'staging' } } : {}) });
      assert.equal(r.status, 404, `${method} ${route}: ${r.text}`);
    }
    assert.deepEqual((await s.call('GET', '/v1/models', { key: other })).body.data, []);
    // The other tenant may use the same name for its own model.
    const own = await s.call('POST', '/v1/models/mixed/versions', { key: other, body: mixedTypesModel(), headers: octet });
    assert.equal(own.body.version, 1);
  });
});
