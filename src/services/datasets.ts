/**
 * Datasets: uploaded files, parsed and profiled, stored twice (the original file, and a columnar
 * form that training reads quickly), versioned by name within a tenant. A version is immutable.
 * An upload is all or nothing: until the metadata commits, nothing refers to its blobs, and a
 * failure removes the blobs it created.
 */
import fsp from 'node:fs/promises';
import type { Db } from '../infra/store/database.js';
import { isUniqueViolation } from '../infra/store/database.js';
import type { BlobStore } from '../infra/blob-store.js';
import { InvalidInputError, NotFoundError } from '../infra/errors.js';
import { newId, nowIso } from '../infra/ids.js';
import type { DatasetVersionsTable } from '../infra/store/schema.js';
import { ColumnarReader, ingestDataset, type ColumnProfile } from '../ml/data/ingest.js';
import type { BlobRefs } from './blob-refs.js';
import type { Principal } from './principal.js';
import { assertName } from './tenants.js';

export type DatasetFormat = 'csv' | 'jsonl' | 'text';
const FORMATS: readonly string[] = ['csv', 'jsonl', 'text'];

export interface DatasetVersion {
  id: string;
  name: string;
  version: number;
  format: DatasetFormat;
  filename: string | null;
  rows: number;
  bytes: number;
  columns: ColumnProfile[];
  createdAt: string;
}

export interface DatasetSummary {
  id: string;
  name: string;
  latestVersion: number;
  rows: number;
  bytes: number;
  columns: number;
  createdAt: string;
  updatedAt: string;
}

export interface UploadInput {
  name: string;
  format?: string;
  filename?: string;
  body: AsyncIterable<Uint8Array>;
}

const OWNER = 'dataset_version';
const MAX_PAGE = 1000;

export class DatasetService {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly refs: BlobRefs,
    private readonly maxBytes: number,
    private readonly maxCells = Infinity,
  ) {}

  async upload(p: Principal, input: UploadInput): Promise<DatasetVersion> {
    assertDatasetName(input.name);
    const format = resolveFormat(input.format, input.filename);
    const created: string[] = [];
    try {
      const original = await this.blobs.put(input.body, { maxBytes: this.maxBytes });
      if (original.created) created.push(original.hash);
      const columnarPath = this.blobs.scratchPath('.columnar');
      let profile;
      try {
        profile = await ingestDataset(this.blobs.stream(original.hash), { format, maxBytes: this.maxBytes, maxCells: this.maxCells, columnarPath });
      } catch (err) {
        await fsp.rm(columnarPath, { force: true });
        throw err;
      }
      const columnar = await this.blobs.putFile(columnarPath);
      if (columnar.created) created.push(columnar.hash);
      return await this.commitVersion(p, input, format, profile, original.hash, columnar.hash);
    } catch (err) {
      await this.refs.collect(created);
      throw err;
    }
  }

  private async commitVersion(
    p: Principal, input: UploadInput, format: DatasetFormat,
    profile: { rows: number; bytes: number; columns: ColumnProfile[] }, originalBlob: string, columnarBlob: string,
  ): Promise<DatasetVersion> {
    // Two uploads of one new name may race to create it; the loser retries and becomes version 2.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction().execute(async (tx) => {
          const now = nowIso();
          const existing = await tx.selectFrom('datasets').selectAll()
            .where('tenant_id', '=', p.tenantId).where('name', '=', input.name).executeTakeFirst();
          const datasetId = existing?.id ?? newId('ds');
          const version = (existing?.latest_version ?? 0) + 1;
          if (existing) {
            await tx.updateTable('datasets').set({ latest_version: version, updated_at: now }).where('id', '=', datasetId).execute();
          } else {
            await tx.insertInto('datasets').values({ id: datasetId, tenant_id: p.tenantId, name: input.name, latest_version: version, created_at: now, updated_at: now }).execute();
          }
          const row: DatasetVersionsTable = {
            id: newId('dsv'), dataset_id: datasetId, tenant_id: p.tenantId, version, format, filename: input.filename ?? null,
            rows: profile.rows, bytes: profile.bytes, columns: JSON.stringify(profile.columns),
            original_blob: originalBlob, columnar_blob: columnarBlob, created_at: now,
          };
          await tx.insertInto('dataset_versions').values(row).execute();
          await this.refs.hold(tx, [originalBlob, columnarBlob], OWNER, row.id);
          return toVersion(input.name, datasetId, row);
        });
      } catch (err) {
        if (attempt < 3 && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  async list(p: Principal): Promise<DatasetSummary[]> {
    const rows = await this.db.selectFrom('datasets as d')
      .innerJoin('dataset_versions as v', (j) => j.onRef('v.dataset_id', '=', 'd.id').onRef('v.version', '=', 'd.latest_version'))
      .select(['d.id', 'd.name', 'd.latest_version', 'd.created_at', 'd.updated_at', 'v.rows', 'v.bytes', 'v.columns'])
      .where('d.tenant_id', '=', p.tenantId).orderBy('d.name').execute();
    return rows.map((r) => ({
      id: r.id, name: r.name, latestVersion: r.latest_version, rows: r.rows, bytes: Number(r.bytes),
      columns: (JSON.parse(r.columns) as unknown[]).length, createdAt: r.created_at, updatedAt: r.updated_at,
    }));
  }

  /** One version (the latest unless `version` is given) of a dataset named by id or name. */
  async get(p: Principal, idOrName: string, version?: number): Promise<DatasetVersion> {
    const { dataset, row } = await this.resolve(p, idOrName, version);
    return toVersion(dataset.name, dataset.id, row);
  }

  async versions(p: Principal, idOrName: string): Promise<DatasetVersion[]> {
    const dataset = await this.findDataset(p, idOrName);
    const rows = await this.db.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', dataset.id).orderBy('version').execute();
    return rows.map((r) => toVersion(dataset.name, dataset.id, r));
  }

  async rows(p: Principal, idOrName: string, opts: { version?: number; offset: number; limit: number }) {
    if (opts.limit > MAX_PAGE) throw new InvalidInputError('limit_too_large', `limit may be at most ${MAX_PAGE}; page through larger ranges with offset.`, { limit: opts.limit });
    const { row } = await this.resolve(p, idOrName, opts.version);
    const reader = await this.openColumnar(row.columnar_blob);
    try {
      return { offset: opts.offset, limit: opts.limit, total: reader.rowCount, rows: await reader.rows(opts.offset, opts.limit) };
    } finally {
      await reader.close();
    }
  }

  /** The columnar form of a version, for training. The caller closes the reader. */
  async open(p: Principal, idOrName: string, version?: number): Promise<{ version: DatasetVersion; reader: ColumnarReader }> {
    const { dataset, row } = await this.resolve(p, idOrName, version);
    return { version: toVersion(dataset.name, dataset.id, row), reader: await this.openColumnar(row.columnar_blob) };
  }

  private async openColumnar(hash: string): Promise<ColumnarReader> {
    return ColumnarReader.open(await this.blobs.localPath(hash));
  }

  /** Deletes every version, or one. */
  async delete(p: Principal, idOrName: string, version?: number): Promise<{ id: string; name: string; deletedVersions: number[] }> {
    const dataset = await this.findDataset(p, idOrName);
    const released: string[] = [];
    const deleted = await this.db.transaction().execute(async (tx) => {
      let q = tx.selectFrom('dataset_versions').select(['id', 'version']).where('dataset_id', '=', dataset.id);
      if (version !== undefined) q = q.where('version', '=', version);
      const victims = await q.execute();
      if (version !== undefined && victims.length === 0) throw NotFoundError.of('Dataset version', `${dataset.name}@${version}`);
      for (const v of victims) released.push(...(await this.refs.release(tx, OWNER, v.id)));
      await tx.deleteFrom('dataset_versions').where('id', 'in', victims.map((v) => v.id)).execute();
      const left = await tx.selectFrom('dataset_versions').select('version').where('dataset_id', '=', dataset.id).orderBy('version', 'desc').executeTakeFirst();
      if (left) await tx.updateTable('datasets').set({ latest_version: left.version, updated_at: nowIso() }).where('id', '=', dataset.id).execute();
      else await tx.deleteFrom('datasets').where('id', '=', dataset.id).execute();
      return victims.map((v) => v.version).sort((a, b) => a - b);
    });
    await this.refs.collect(released);
    return { id: dataset.id, name: dataset.name, deletedVersions: deleted };
  }

  private async findDataset(p: Principal, idOrName: string) {
    const dataset = await this.db.selectFrom('datasets').selectAll().where('tenant_id', '=', p.tenantId)
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst();
    if (!dataset) throw NotFoundError.of('Dataset', idOrName);
    return dataset;
  }

  private async resolve(p: Principal, idOrName: string, version?: number) {
    const dataset = await this.findDataset(p, idOrName);
    const v = version ?? dataset.latest_version;
    const row = await this.db.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', dataset.id).where('version', '=', v).executeTakeFirst();
    if (!row) throw NotFoundError.of('Dataset version', `${dataset.name}@${v}`);
    return { dataset, row };
  }
}

/**
 * The prefixes of the platform's ids (src/infra/ids.ts callers): `GET /v1/datasets/{ref}` takes an
 * id or a name, so a dataset named like an id could shadow another dataset, or be mistaken for one.
 */
const ID_PREFIXES = ['ds', 'dsv', 'job', 'use', 'node', 'key', 'mdl', 'mv', 'aud', 'tn', 'ep'];
const ID_LIKE = new RegExp(`^(${ID_PREFIXES.join('|')})_`, 'i');

function assertDatasetName(name: string): void {
  assertName('Dataset', name);
  if (ID_LIKE.test(name)) {
    const prefix = name.slice(0, name.indexOf('_') + 1);
    throw new InvalidInputError('invalid_name', `Dataset name '${name}' starts with '${prefix}', which is how the platform's ids start (${ID_PREFIXES.map((p) => `${p}_`).join(', ')}); a name must not look like an id. Choose another name, e.g. '${name.replace('_', '-')}'.`, { name, field: 'name' });
  }
}

function resolveFormat(format: string | undefined, filename: string | undefined): DatasetFormat {
  const given = format ?? guessFormat(filename);
  if (!FORMATS.includes(given)) {
    throw new InvalidInputError('invalid_format', `Format '${given}' is not supported; use format=csv, format=jsonl or format=text (any may be gzip-compressed).`, { field: 'format' });
  }
  return given as DatasetFormat;
}

/** From the file name without a .gz: .jsonl/.ndjson are JSONL, .txt is a text corpus, anything else CSV. */
function guessFormat(filename: string | undefined): string {
  const base = (filename ?? '').toLowerCase().replace(/\.gz$/, '');
  if (base.endsWith('.jsonl') || base.endsWith('.ndjson')) return 'jsonl';
  return base.endsWith('.txt') ? 'text' : 'csv';
}

function toVersion(name: string, datasetId: string, r: DatasetVersionsTable): DatasetVersion {
  return {
    id: datasetId, name, version: r.version, format: r.format as DatasetFormat, filename: r.filename,
    rows: r.rows, bytes: Number(r.bytes), columns: JSON.parse(r.columns) as ColumnProfile[], createdAt: r.created_at,
  };
}
