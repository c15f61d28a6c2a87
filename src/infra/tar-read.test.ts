/** The streaming tar reader against archives written by GNU tar (long names, pax) and by our writer. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { ArchiveFormatError, readTar } from './tar-read.js';
import { tarGz } from './tar.js';

async function entries(tar: Buffer, chunk = 777): Promise<Map<string, string>> {
  const pieces = [];
  for (let i = 0; i < tar.length; i += chunk) pieces.push(tar.subarray(i, i + chunk));
  const out = new Map<string, string>();
  for await (const e of readTar(Readable.from(pieces))) {
    const parts: Uint8Array[] = [];
    for await (const c of e.body) parts.push(c);
    out.set(e.path, Buffer.concat(parts).toString('utf8'));
  }
  return out;
}

test('GNU tar archives (long names, pax headers) read with their paths and contents', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tar-read-'));
  const long = `${'a'.repeat(60)}/${'b'.repeat(70)}/config.json`;
  fs.mkdirSync(path.join(dir, 'src', path.dirname(long)), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src', long), '{"x":1}');
  fs.writeFileSync(path.join(dir, 'src', 'small.txt'), 'hello');
  for (const format of ['gnu', 'pax']) {
    const file = path.join(dir, `${format}.tar`);
    execFileSync('tar', ['-c', `--format=${format}`, '-f', file, '-C', path.join(dir, 'src'), '.']);
    const got = await entries(fs.readFileSync(file));
    assert.equal(got.get(`./${long}`), '{"x":1}', format);
    assert.equal(got.get('./small.txt'), 'hello', format);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('our own archives read back; a corrupt header is refused', async () => {
  const tar = gunzipSync(tarGz(new Map([['onnx/model.onnx', Buffer.from('graph')], ['config.json', Buffer.from('{}')]])));
  assert.deepEqual([...(await entries(tar, 1))], [['onnx/model.onnx', 'graph'], ['config.json', '{}']]);
  const bad = Buffer.from(tar);
  bad[10] = bad[10]! ^ 0xff;
  await assert.rejects(entries(bad), ArchiveFormatError);
});
