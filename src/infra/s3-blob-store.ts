/**
 * The blob store of the scale-out mode: blobs in an S3-compatible bucket (AWS S3, Ceph RGW, any
 * service that speaks the protocol), under `prefix/sha256/ab/abcdef…` as the local store names
 * them, so several API nodes and workers on several machines share them through the bucket alone.
 *
 * Bytes stream both ways: an upload is hashed while it is written to a scratch file of the local
 * cache (its name is its hash, known only at the end), then sent in one PUT or, past 16 MiB, in
 * parts; the file stays in the cache, since a dataset is read soon after it is uploaded. Reads that
 * need a file (`localPath`, `read`) fetch into the bounded cache and check the hash on the way;
 * `stream` reads the object directly. Nothing else of a blob touches the node's disk.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { BlobCache } from './blob-cache.js';
import { hashFile, writeHashed, type BlobInfo, type BlobStore } from './blob-store.js';
import { badConfig, type BlobConfig } from './config.js';
import type { OpenBlobStoreOptions } from './open-blob-store.js';

// The SDK warns on every start under Node 20 that *future* releases will need Node 22; the
// version in our lock file supports Node 20, which README names. Users can still opt back in.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Parts of a multipart upload (S3's minimum part is 5 MiB; at most 10,000 parts: 160 GiB blobs). */
export const DEFAULT_PART_BYTES = 16 * 2 ** 20;

export interface S3Location {
  bucket: string;
  /** Key prefix without a trailing slash ('' for the bucket's root). */
  prefix: string;
}

/** The store of `where`, after checking that the bucket answers with these settings. */
export async function openS3BlobStore(where: S3Location, config: BlobConfig, cacheDir: string, opts: OpenBlobStoreOptions): Promise<S3BlobStore> {
  const client = s3Client(config);
  await checkBucket(client, where, config);
  const cache = new BlobCache(cacheDir, config.cacheBytes, { sweepScratch: opts.sweepScratch });
  return new S3BlobStore(client, where, cache, opts.partBytes);
}

export class S3BlobStore implements BlobStore {
  constructor(
    private readonly client: S3Client,
    private readonly where: S3Location,
    private readonly cache: BlobCache,
    private readonly partBytes = DEFAULT_PART_BYTES,
  ) {}

  keyOf(hash: string): string {
    const rel = `sha256/${hash.slice(0, 2)}/${hash}`;
    return this.where.prefix ? `${this.where.prefix}/${rel}` : rel;
  }

  scratchPath(suffix = ''): string {
    return this.cache.scratchPath(suffix);
  }

  async put(source: AsyncIterable<Uint8Array> | Uint8Array, opts: { maxBytes?: number } = {}): Promise<BlobInfo> {
    const tmp = this.cache.scratchPath();
    const { hash, size } = await writeHashed(source, tmp, opts.maxBytes);
    return this.commit(tmp, hash, size);
  }

  async putFile(file: string, known?: { hash: string; size: number }): Promise<BlobInfo> {
    let hashed;
    try {
      hashed = known ?? (await hashFile(file));
    } catch (err) {
      await fsp.rm(file, { force: true });
      throw err;
    }
    return this.commit(file, hashed.hash, hashed.size);
  }

  /** Uploads a complete local file as blob `hash` (unless the bucket has it) and keeps it in the cache. */
  private async commit(file: string, hash: string, size: number): Promise<BlobInfo> {
    try {
      const created = !(await this.has(hash));
      if (created) await this.upload(file, this.keyOf(hash), size);
      await this.cache.adopt(file, hash);
      return { hash, size, created };
    } catch (err) {
      await fsp.rm(file, { force: true });
      throw err;
    }
  }

  async read(hash: string): Promise<Buffer> {
    return fsp.readFile(await this.localPath(hash));
  }

  async localPath(hash: string): Promise<string> {
    return (await this.cache.lookup(hash)) ?? this.fetchIntoCache(hash);
  }

  stream(hash: string): Readable {
    const out = new PassThrough();
    const key = this.keyOf(hash);
    void (async () => {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: key }));
      await pipeline(res.Body as Readable, out);
    })().catch((err: unknown) => out.destroy(err as Error));
    return out;
  }

  async size(hash: string): Promise<number> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(hash) }));
    return head.ContentLength ?? 0;
  }

  async has(hash: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(hash) }));
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async delete(hash: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(hash) }));
    await this.cache.remove(hash);
  }

  /** Downloads the object into the cache, refusing bytes that do not hash to its name. */
  private async fetchIntoCache(hash: string): Promise<string> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(hash) }));
    const tmp = this.cache.scratchPath();
    const hasher = createHash('sha256');
    try {
      await pipeline(res.Body as Readable, async function* (chunks: AsyncIterable<Buffer>) {
        for await (const c of chunks) {
          hasher.update(c);
          yield c;
        }
      }, fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      const got = hasher.digest('hex');
      if (got !== hash) throw new Error(`blob ${hash} in s3://${this.where.bucket}/${this.keyOf(hash)} is corrupt: its bytes hash to ${got}`);
      return await this.cache.adopt(tmp, hash);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  private async upload(file: string, key: string, size: number): Promise<void> {
    const Bucket = this.where.bucket;
    if (size <= this.partBytes) {
      await this.client.send(new PutObjectCommand({ Bucket, Key: key, Body: fs.createReadStream(file), ContentLength: size }));
      return;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket, Key: key }));
    try {
      const parts = [];
      for (let start = 0, n = 1; start < size; start += this.partBytes, n++) {
        const end = Math.min(size, start + this.partBytes);
        const body = fs.createReadStream(file, { start, end: end - 1 });
        const { ETag } = await this.client.send(new UploadPartCommand({ Bucket, Key: key, UploadId, PartNumber: n, Body: body, ContentLength: end - start }));
        parts.push({ ETag, PartNumber: n });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      // A half upload costs storage until it is aborted; S3 keeps it otherwise.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId })).catch(() => undefined);
      throw err;
    }
  }
}

export function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function s3Client(config: BlobConfig): S3Client {
  const credentials = config.accessKeyId && config.secretAccessKey
    ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
    : undefined;
  return new S3Client({
    region: config.region,
    // Checksums only where the operation requires them: the SDK's default (a CRC trailer on every
    // streamed upload, aws-chunked) is not understood by many S3-compatible servers, Ceph RGW among them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(config.endpoint ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

async function checkBucket(client: S3Client, where: S3Location, config: BlobConfig): Promise<void> {
  const server = config.endpoint ?? `AWS S3 (${config.region})`;
  try {
    await client.send(new HeadBucketCommand({ Bucket: where.bucket }));
  } catch (err) {
    const status = statusOf(err);
    if (status === 403 || status === 400) {
      throw badConfig('AWS_SECRET_ACCESS_KEY', `${server} refused the credentials for bucket '${where.bucket}' (HTTP ${status}): check AWS_ACCESS_KEY_ID${config.accessKeyId ? `=${config.accessKeyId}` : ' (unset)'} and AWS_SECRET_ACCESS_KEY.`);
    }
    if (status === 404) {
      throw badConfig('AIAAS_BLOB_URL', `bucket '${where.bucket}' of AIAAS_BLOB_URL does not exist on ${server}: create it, or fix AIAAS_BLOB_URL.`);
    }
    if (status === 301) {
      throw badConfig('AIAAS_S3_REGION', `bucket '${where.bucket}' is not in region ${config.region}: set AIAAS_S3_REGION to its region.`);
    }
    const why = err instanceof Error ? err.message : String(err);
    throw badConfig('AIAAS_S3_ENDPOINT', `cannot reach ${server} for AIAAS_BLOB_URL=${config.url} (${why}): start the server or fix AIAAS_S3_ENDPOINT.`);
  }
}
