/**
 * The blob store a node is configured for: local files under AIAAS_HOME/blobs (the default), or
 * an S3-compatible bucket when AIAAS_BLOB_URL is `s3://bucket/prefix`. An S3 store is checked
 * before the node starts: wrong credentials, a missing bucket or an unreachable server stop the
 * start-up with one line that names the setting to fix, not with a failure at the first upload.
 */
import path from 'node:path';
import { LocalBlobStore, type BlobStore } from './blob-store.js';
import { badConfig, type BlobConfig } from './config.js';
import type { S3Location } from './s3-blob-store.js';

export interface OpenBlobStoreOptions {
  /** false for a second process on the same AIAAS_HOME (a job's worker): it must not delete live scratch files. */
  sweepScratch?: boolean;
  /** Multipart part size for S3 (tests make it small). */
  partBytes?: number;
}

export async function openBlobStore(home: string, config: BlobConfig, opts: OpenBlobStoreOptions = {}): Promise<BlobStore> {
  if (!config.url) return new LocalBlobStore(path.join(home, 'blobs'), { sweepScratch: opts.sweepScratch });
  const where = parseBlobUrl(config.url);
  // The AWS SDK loads only where S3 is configured: a job's worker process starts faster without it.
  const { openS3BlobStore } = await import('./s3-blob-store.js');
  return openS3BlobStore(where, config, path.join(home, 'blob-cache'), opts);
}

export function parseBlobUrl(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw badConfig('AIAAS_BLOB_URL', `AIAAS_BLOB_URL=${url} is not s3://bucket/prefix (a bucket name of 3-63 lower-case letters, digits, dots or dashes); fix it, or unset it to keep blobs in AIAAS_HOME/blobs.`);
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/\/+$/, '') };
}
