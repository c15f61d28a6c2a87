/** The tar.gz writer, checked by the system's tar: names, nested folders, long paths and bytes come back intact. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tarGz } from './tar.js';

test('tar extracts what tarGz wrote, at the root or inside one folder', () => {
  const long = `${'deep/'.repeat(25)}weights.bin`;
  const files = new Map<string, Uint8Array>([
    ['config.json', Buffer.from('{"model_type": "gpt2"}\n')],
    ['onnx/model.onnx', Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256)],
    ['empty.txt', new Uint8Array(0)],
    [long, Buffer.from('long path')],
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'aiaas-tar-'));
  try {
    for (const root of [undefined, 'kjv-gpt']) {
      const out = join(dir, root ?? 'flat');
      execFileSync('mkdir', ['-p', out]);
      writeFileSync(join(dir, 'a.tar.gz'), tarGz(files, { root }));
      execFileSync('tar', ['-xzf', join(dir, 'a.tar.gz'), '-C', out]);
      for (const [path, data] of files) assert.deepEqual(readFileSync(join(out, root ?? '', path)), Buffer.from(data), path);
      const listed = execFileSync('tar', ['-tzf', join(dir, 'a.tar.gz')]).toString().trim().split('\n');
      assert.deepEqual(listed, [...files.keys()].map((p) => (root ? `${root}/${p}` : p)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
