/**
 * A Hugging Face model folder sent as `.tar.gz` or `.zip` (files at the root or inside one top
 * folder), streamed into the blob store one file at a time: the archive is never held in memory
 * (a zip is spooled to a scratch file, since its table of contents is at its end), and every
 * `.onnx` file is scanned for its inputs and outputs as it passes (src/onnx/graph-io-scan.ts).
 *
 * What the registry keeps of it: onnx/model.onnx as the version's graph; config.json,
 * tokenizer.json and the other small files of the folder, and the graph's external data files,
 * beside it (`files`). Other graphs of the folder (quantized variants…) are not kept.
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import fs from 'node:fs';
import type { BlobInfo, BlobStore } from '../infra/blob-store.js';
import { InvalidInputError, TooLargeError } from '../infra/errors.js';
import { ArchiveFormatError, readTar, type ArchiveEntry } from '../infra/tar-read.js';
import { readZip } from '../infra/zip-read.js';
import { GraphScanner, type GraphScan } from '../onnx/graph-io-scan.js';
import { lmKindOf, lmSignature, type LmKind } from '../ml/lm/hf-graph-contract.js';
import { loadHfTokenizer } from '../ml/text/hf-tokenizer.js';
import type { Signature } from '../ml/signature.js';

export type ArchiveFormat = 'tar.gz' | 'zip';

export const GRAPH_PATH = 'onnx/model.onnx';
/** The folder's files kept beside the graph (besides the graph's external data). */
const KEPT_FILES = new Set([
  'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
  'vocab.json', 'merges.txt', 'vocab.txt', 'added_tokens.json', 'chat_template.jinja', 'README.md',
]);
const REQUIRED_FILES = ['config.json', 'tokenizer.json', GRAPH_PATH];
/** JSON files are parsed (validated) in memory: real ones are far smaller. */
const MAX_JSON_BYTES = 64 * 2 ** 20;

/** What the first bytes of a body say it is: gzip (a .tar.gz) or zip; undefined for anything else (an ONNX file). */
export function archiveFormatOf(head: Uint8Array): ArchiveFormat | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  return undefined;
}

export interface StoredFolder {
  /** Blobs by path inside the folder (the top folder, if any, removed). */
  files: Map<string, BlobInfo>;
  /** Each .onnx file's scan, or why it could not be read. */
  scans: Map<string, GraphScan | Error>;
  /** Blobs this import created (the caller's list, filled as they are written: collect them if the import fails). */
  created: string[];
}

/**
 * Streams every file of the archive into `blobs`, at most `maxBytes` in all (413 beyond);
 * the hashes of the blobs it creates are pushed to `created` as they are written.
 */
export async function storeFolder(blobs: BlobStore, body: AsyncIterable<Uint8Array>, format: ArchiveFormat, maxBytes: number, created: string[]): Promise<StoredFolder> {
  const raw = new Map<string, BlobInfo>();
  const scans = new Map<string, GraphScan | Error>();
  let total = 0;
  const take = async (entry: ArchiveEntry) => {
    const name = normalize(entry.path);
    if (name === undefined) return;
    const scanner = name.endsWith('.onnx') ? new GraphScanner() : undefined;
    const source = scanner ? scanned(entry.body, scanner) : entry.body;
    let info: BlobInfo;
    try {
      info = await blobs.put(source, { maxBytes: maxBytes - total });
    } catch (err) {
      if (err instanceof TooLargeError) throw tooLarge(maxBytes);
      throw err;
    }
    if (info.created) created.push(info.hash);
    total += info.size;
    raw.set(name, info);
    if (scanner) {
      try {
        scans.set(name, scanner.end());
      } catch (err) {
        scans.set(name, err as Error);
      }
    }
  };
  try {
    if (format === 'zip') await withSpooled(body, maxBytes, async (file) => { for await (const e of readZip(file)) await take(e); });
    else for await (const e of readTar(gunzip(body))) await take(e);
  } catch (err) {
    throw archiveError(err, format);
  }
  const { files, scans: byPath } = stripTopFolder(raw, scans);
  return { files, scans: byPath, created };
}

/** The registry's view of an imported folder: the kind, the graph, the files kept beside it, the signature. */
export interface LmFolderVersion {
  kind: LmKind;
  graph: BlobInfo;
  files: Record<string, string>;
  signature: Signature;
  config: Record<string, unknown>;
  /** Blobs of the archive that are not kept (deleted once nothing else holds them). */
  unused: string[];
}

/** Checks the folder (files, graph tensors, external data, JSON, tokenizer): a 422 names what is wrong. */
export async function lmFolderVersion(blobs: BlobStore, folder: StoredFolder, wantedKind?: string): Promise<LmFolderVersion> {
  const missing = REQUIRED_FILES.filter((f) => !folder.files.has(f));
  if (missing.length) {
    throw new InvalidInputError('invalid_model_folder', `The archive lacks ${missing.join(', ')}; a Hugging Face folder holds config.json, tokenizer.json and onnx/model.onnx (with its external data files), at the archive's root or inside one top folder. It has: ${[...folder.files.keys()].slice(0, 20).join(', ') || 'no files'}.`, {
      missing, files: [...folder.files.keys()],
    });
  }
  const config = await readJson(blobs, folder, 'config.json');
  const scan = folder.scans.get(GRAPH_PATH)!;
  if (scan instanceof Error) throw new InvalidInputError('invalid_model', `${GRAPH_PATH} in the archive is not a readable ONNX model: ${scan.message}.`, { file: GRAPH_PATH });
  const kind = lmKindOf(scan, config, wantedKind);
  const signature = lmSignature(scan, kind);
  const kept = new Map<string, BlobInfo>();
  for (const location of scan.externalData) {
    const rel = path.posix.normalize(path.posix.join('onnx', location));
    const info = folder.files.get(rel);
    if (!info) {
      throw new InvalidInputError('missing_external_data', `onnx/model.onnx keeps weights in the external file '${location}', which the archive does not hold at ${rel}; put it beside model.onnx.`, { file: rel });
    }
    kept.set(rel, info);
  }
  for (const [name, info] of folder.files) if (KEPT_FILES.has(name)) kept.set(name, info);
  const tokenizer = await readJson(blobs, folder, 'tokenizer.json');
  const tokenizerConfig = folder.files.has('tokenizer_config.json') ? await readJson(blobs, folder, 'tokenizer_config.json') : {};
  loadHfTokenizer(tokenizer, tokenizerConfig);
  if (folder.files.has('generation_config.json')) await readJson(blobs, folder, 'generation_config.json');
  const graph = folder.files.get(GRAPH_PATH)!;
  const keptHashes = new Set([graph.hash, ...[...kept.values()].map((b) => b.hash)]);
  return {
    kind, graph, signature, config,
    files: Object.fromEntries([...kept].sort(([a], [b]) => a.localeCompare(b)).map(([n, b]) => [n, b.hash])),
    unused: folder.created.filter((h) => !keptHashes.has(h)),
  };
}

async function readJson(blobs: BlobStore, folder: StoredFolder, name: string): Promise<Record<string, unknown>> {
  const info = folder.files.get(name)!;
  if (info.size > MAX_JSON_BYTES) throw new InvalidInputError('invalid_model_folder', `${name} is ${info.size} bytes, more than ${MAX_JSON_BYTES} bytes.`, { file: name });
  let v: unknown;
  try {
    v = JSON.parse((await blobs.read(info.hash)).toString('utf8'));
  } catch (err) {
    throw new InvalidInputError('invalid_model_folder', `${name} is not valid JSON: ${(err as Error).message}.`, { file: name });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InvalidInputError('invalid_model_folder', `${name} must be a JSON object.`, { file: name });
  return v as Record<string, unknown>;
}

/** A relative path inside the archive, or undefined for what is skipped (macOS metadata, absolute or escaping paths). */
function normalize(p: string): string | undefined {
  const n = path.posix.normalize(p.replace(/\\/g, '/')).replace(/^\.\//, '');
  if (n.startsWith('/') || n.startsWith('..') || n === '.' || n.endsWith('/')) return undefined;
  if (n.split('/').some((s) => s === '__MACOSX' || s.startsWith('._') || s === '.DS_Store')) return undefined;
  return n;
}

/** Files inside one top folder (`gpt2/config.json`…) become the folder's own (`config.json`). */
function stripTopFolder(files: Map<string, BlobInfo>, scans: Map<string, GraphScan | Error>) {
  if (files.has('config.json')) return { files, scans };
  const tops = new Set([...files.keys()].map((n) => (n.includes('/') ? n.slice(0, n.indexOf('/')) : '')));
  if (tops.size !== 1 || tops.has('')) return { files, scans };
  const cut = <T>(m: Map<string, T>) => new Map([...m].map(([k, v]) => [k.slice(k.indexOf('/') + 1), v]));
  return { files: cut(files), scans: cut(scans) };
}

async function* scanned(body: AsyncIterable<Uint8Array>, scanner: GraphScanner): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    scanner.write(chunk);
    yield chunk;
  }
}

function gunzip(body: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const z = createGunzip();
  const src = Readable.from(body);
  src.on('error', (err) => z.destroy(err));
  return src.pipe(z);
}

async function withSpooled(body: AsyncIterable<Uint8Array>, maxBytes: number, use: (file: string) => Promise<void>): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'aiaas-zip-'));
  try {
    const file = path.join(dir, 'archive.zip');
    let n = 0;
    await pipeline(Readable.from(body), async function* (src: AsyncIterable<Uint8Array>) {
      for await (const chunk of src) {
        n += chunk.length;
        if (n > maxBytes) throw tooLarge(maxBytes);
        yield chunk;
      }
    }, fs.createWriteStream(file, { mode: 0o600 }));
    await use(file);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

function tooLarge(maxBytes: number): TooLargeError {
  return new TooLargeError('payload_too_large', `The model folder is larger than the limit of ${maxBytes} bytes; raise AIAAS_MODEL_MAX_BYTES to import it.`, { limitBytes: maxBytes });
}

function archiveError(err: unknown, format: ArchiveFormat): unknown {
  const zlibError = (err as NodeJS.ErrnoException)?.code?.startsWith?.('Z_');
  if (err instanceof ArchiveFormatError || zlibError || (err instanceof Error && /ends \d+ bytes early/.test(err.message))) {
    return new InvalidInputError('invalid_archive', `The body looks like a ${format === 'zip' ? '.zip' : '.tar.gz'} archive but cannot be read: ${(err as Error).message}. Send a .tar.gz (tar czf model.tar.gz -C folder .) or a .zip of the Hugging Face folder, or an .onnx file.`, { format });
  }
  return err;
}
