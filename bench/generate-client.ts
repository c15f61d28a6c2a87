/**
 * The client side of bench:generate, shared by bench/generate.ts and bench/generate-ab.ts: the
 * Hugging Face folder imported through POST /v1/models/{name}/versions (a .tar.gz streamed), and
 * one streamed greedy completion through /openai/v1/completions with the bench's prompt.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { tarStream } from '../src/infra/tar.js';

/** "The quick brown fox" in GPT-2's vocabulary, and a few more ids: the prompt both sides decode from. */
export const PROMPT = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13];

const FOLDER_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data'];

export async function importFolder(dir: string, url: string, key: string): Promise<{ status: number; text: string }> {
  const entries = FOLDER_FILES.map((f) => ({ path: f, size: fs.statSync(path.join(dir, f)).size, body: fs.createReadStream(path.join(dir, f)) }));
  const req = http.request(`${url}/v1/models/gpt2-bench/versions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/gzip' } });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
  for await (const chunk of Readable.from(tarStream(entries)).pipe(createGzip({ level: 1 }))) if (!req.write(chunk)) await once(req, 'drain');
  req.end();
  return answer;
}

/** One streamed greedy completion (endpoint `model`): its text, tokens, time to first token and decode tokens/s. */
export async function stream(url: string, key: string, maxTokens: number, model = 'gpt2-bench'): Promise<{ text: string; tokens: number; ttftMs: number; tokensPerSecond: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/openai/v1/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, prompt: PROMPT, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (res.status !== 200 || !res.body) throw new Error(`completions stream: ${res.status} ${await res.text()}`);
  let text = '';
  let tokens = 0;
  let first = 0;
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += Buffer.from(chunk).toString('utf8');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('');
      if (!data || data === '[DONE]') continue;
      const msg = JSON.parse(data) as { choices?: { text?: string }[]; usage?: { completion_tokens: number } };
      const piece = msg.choices?.[0]?.text ?? '';
      if (piece && !first) first = performance.now();
      text += piece;
      if (msg.usage) tokens = msg.usage.completion_tokens;
    }
  }
  const end = performance.now();
  return { text, tokens, ttftMs: first - t0, tokensPerSecond: (tokens - 1) / ((end - first) / 1000) };
}
