/**
 * The blob store contract, on both stores: local files, and S3 against a real S3 server (Ceph's
 * RADOS gateway, started by the test: it checks signatures, so wrong credentials really fail).
 */
import { TooLargeError } from './errors.js';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { HashedFile, type BlobStore } from './blob-store.js';
import type { BlobConfig } from './config.js';
import { openBlobStore } from './open-blob-store.js';
import { cephMissing, s3Server, type S3Server } from './testing/ceph-rgw.js';
import { enginesRequired } from './testing/postgres-cluster.js';

const s3Skip = enginesRequired() ? undefined : cephMissing();

interface StoreUnderTest {
  home: string;
  store: BlobStore;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const tempHome = () => fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-blobs-'));

async function s3Config(server: S3Server, bucket: string, extra: Partial<BlobConfig> = {}): Promise<BlobConfig> {
  return {
    url: `s3://${bucket}/tenant-data`, endpoint: server.endpoint, region: server.region,
    accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, cacheBytes: 64 * 2 ** 20, ...extra,
  };
}

const stores: Array<{ name: string; skip?: string; open(): Promise<StoreUnderTest> }> = [
  { name: 'local', open: async () => { const home = tempHome(); return { home, store: await openBlobStore(home, { region: 'us-east-1', cacheBytes: 0 }) }; } },
  {
    name: 's3', skip: s3Skip,
    open: async () => {
      const server = await s3Server();
      const home = tempHome();
      return { home, store: await openBlobStore(home, await s3Config(server, await server.createBucket())) };
    },
  },
];

async function* chunksOf(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

for (const kind of stores) {
  describe(`blob store [${kind.name}]`, { skip: kind.skip }, () => {
    test('a file written while hashed (HashedFile) goes in under its true hash, its parts at the offsets it gave', async () => {
      const { store } = await kind.open();
      const parts = [randomBytes(1000), randomBytes(70_000), Buffer.alloc(0), randomBytes(5)];
      const scratch = store.scratchPath('.test');
      const file = new HashedFile(scratch);
      assert.deepEqual([file.append(parts.slice(0, 2)), file.append(parts.slice(2))], [0, 71_000]);
      const whole = Buffer.concat(parts);
      const hashed = file.close();
      assert.deepEqual(hashed, { hash: sha(whole), size: whole.length });
      const info = await store.putFile(scratch, hashed);
      assert.deepEqual(info, { ...hashed, created: true });
      assert.deepEqual(await store.read(info.hash), whole);
    });

    test('stores streamed bytes under their hash and gives them back every way', async () => {
      const { store } = await kind.open();
      const bytes = randomBytes(300_000);
      const info = await store.put(chunksOf(bytes, 65_536));
      assert.deepEqual(info, { hash: sha(bytes), size: bytes.length, created: true });
      assert.equal((await store.put(bytes)).created, false, 'identical bytes are stored once');
      assert.ok(await store.has(info.hash));
      assert.equal(await store.size(info.hash), bytes.length);
      assert.deepEqual(await store.read(info.hash), bytes);
      assert.deepEqual(fs.readFileSync(await store.localPath(info.hash)), bytes);
      assert.deepEqual(await drain(store.stream(info.hash)), bytes);
      await store.delete(info.hash);
      assert.equal(await store.has(info.hash), false);
    });

    test('an upload over the limit fails with 413 and leaves nothing behind', async () => {
      const { store } = await kind.open();
      const bytes = randomBytes(10_000);
      await assert.rejects(store.put(chunksOf(bytes, 1000), { maxBytes: 5000 }), (err: unknown) => err instanceof TooLargeError);
      assert.equal(await store.has(sha(bytes)), false);
      const scratch = path.dirname(store.scratchPath());
      assert.deepEqual(fs.readdirSync(scratch), []);
    });

    test('takes over a scratch file written by the caller', async () => {
      const { store } = await kind.open();
      const file = store.scratchPath('.bin');
      const bytes = randomBytes(4096);
      fs.writeFileSync(file, bytes);
      const info = await store.putFile(file);
      assert.equal(info.hash, sha(bytes));
      assert.equal(fs.existsSync(file), false, 'the scratch file is moved, not copied');
      assert.deepEqual(await store.read(info.hash), bytes);
    });

    test('a missing blob is not there', async () => {
      const { store } = await kind.open();
      assert.equal(await store.has('0'.repeat(64)), false);
      await assert.rejects(store.read('0'.repeat(64)));
    });
  });
}

describe('S3 blob store on a real S3 server', { skip: s3Skip }, () => {
  test('large blobs go up in parts; the objects are in the bucket under the prefix', async () => {
    const server = await s3Server();
    const bucket = await server.createBucket();
    const store = await openBlobStore(tempHome(), await s3Config(server, bucket), { partBytes: 5 * 2 ** 20 });
    const bytes = randomBytes(12 * 2 ** 20 + 123);
    const info = await store.put(chunksOf(bytes, 1 << 20));
    const client = rawClient(server);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual(listed.Contents?.map((o) => [o.Key, o.Size]), [[`tenant-data/sha256/${info.hash.slice(0, 2)}/${info.hash}`, bytes.length]]);
    assert.deepEqual(await drain(store.stream(info.hash)), bytes);
    client.destroy();
  });

  test('another node reads what one node stored, through the bucket alone', async () => {
    const server = await s3Server();
    const config = await s3Config(server, await server.createBucket());
    const one = await openBlobStore(tempHome(), config);
    const other = await openBlobStore(tempHome(), config);
    const bytes = randomBytes(50_000);
    const { hash } = await one.put(bytes);
    assert.deepEqual(await other.read(hash), bytes);
    assert.equal((await other.put(bytes)).created, false);
  });

  test('the local cache stays within its bound and fetches evicted blobs again', async () => {
    const server = await s3Server();
    const home = tempHome();
    const store = await openBlobStore(home, await s3Config(server, await server.createBucket(), { cacheBytes: 1_000_000 }));
    const blobs = [randomBytes(400_000), randomBytes(400_000), randomBytes(400_000)];
    const hashes = [];
    for (const b of blobs) hashes.push((await store.put(b)).hash);
    const cached = () => fs.readdirSync(path.join(home, 'blob-cache')).filter((n) => n !== 'tmp');
    assert.equal(cached().length, 2, 'the least recently used blob was evicted');
    assert.ok(!cached().includes(hashes[0]!));
    assert.deepEqual(await store.read(hashes[0]!), blobs[0]);
    assert.ok(cached().includes(hashes[0]!));
    assert.equal(cached().length, 2);
  });

  test('bytes changed in the bucket are refused, not served', async () => {
    const server = await s3Server();
    const bucket = await server.createBucket();
    const store = await openBlobStore(tempHome(), await s3Config(server, bucket));
    const other = await openBlobStore(tempHome(), await s3Config(server, bucket));
    const { hash } = await store.put(randomBytes(1000));
    const client = rawClient(server);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `tenant-data/sha256/${hash.slice(0, 2)}/${hash}`, Body: randomBytes(1000) }));
    await assert.rejects(other.read(hash), /corrupt/);
    client.destroy();
  });

  test('a node refuses to start on a wrong secret, a missing bucket or an unreachable server, naming the setting', async () => {
    const server = await s3Server();
    const bucket = await server.createBucket();
    const refused = async (config: BlobConfig, variable: string, message: RegExp) => {
      await assert.rejects(openBlobStore(tempHome(), config), (err: { code?: string; details?: { variable?: string }; message: string }) => {
        assert.equal(err.code, 'bad_config');
        assert.equal(err.details?.variable, variable);
        assert.match(err.message, message);
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      });
    };
    await refused(await s3Config(server, bucket, { secretAccessKey: 'wrong' }), 'AWS_SECRET_ACCESS_KEY', /refused the credentials/);
    await refused(await s3Config(server, 'no-such-bucket'), 'AIAAS_BLOB_URL', /does not exist/);
    await refused(await s3Config(server, bucket, { endpoint: 'http://127.0.0.1:9' }), 'AIAAS_S3_ENDPOINT', /cannot reach/);
    await refused({ ...(await s3Config(server, bucket)), url: 's3://A_B' }, 'AIAAS_BLOB_URL', /not s3:\/\/bucket\/prefix/);
  });
});

function rawClient(server: S3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint, region: server.region, forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
}
