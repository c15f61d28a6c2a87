/**
 * The model registry: models by name within a tenant, each with numbered, immutable versions
 * (an ONNX graph in the blob store, its signature, metrics and lineage) and a mutable stage.
 *
 * Stage rules (MLflow's, with its `archive_existing_versions` turned on by default):
 * - stages are none, staging, production, archived; a new version starts in `none`;
 * - promoting a version to production archives the model's other production versions, unless
 *   the request says `archiveExisting: false` (then several may be in production);
 * - a version that serves traffic (is in the traffic of an endpoint) cannot be archived, either
 *   directly or by such a promotion, nor deleted: 409 naming the endpoints.
 *
 * The training service registers versions with `registerVersion(tenantId, …)`; users import
 * graphs trained elsewhere with `importVersion`, whose signature is read from the graph.
 */
import { Readable } from 'node:stream';
import type { Db } from '../infra/store/database.js';
import { isUniqueViolation } from '../infra/store/database.js';
import type { BlobStore } from '../infra/blob-store.js';
import { ConflictError, InvalidInputError, NotFoundError, TooLargeError } from '../infra/errors.js';
import { newId, nowIso } from '../infra/ids.js';
import { createGzip } from 'node:zlib';
import { tarStream, type TarSource } from '../infra/tar.js';
import type { ModelVersionsTable } from '../infra/store/tables-registry.js';
import { inspectModel, InvalidModelError, type ModelInfo, type TensorInfo } from '../engine/inspect-model.js';
import { readModelMetadata } from '../onnx/protobuf-reader.js';
import type { Signature, SignatureTensor, TensorDtype } from '../ml/signature.js';
import type { BlobRefs } from './blob-refs.js';
import type { Principal } from './principal.js';
import { assertName } from './tenants.js';
import { archiveFormatOf, lmFolderVersion, storeFolder, type ArchiveFormat } from './hf-import.js';
import { signatureFromMetadata } from '../ml/signature-metadata.js';

/** The largest single ONNX file: protobuf's 2 GiB message limit. */
const ONNX_FILE_MAX_BYTES = 2 ** 31 - 1;

export const STAGES = ['none', 'staging', 'production', 'archived'] as const;
export type Stage = (typeof STAGES)[number];
export type Task = Signature['task'];

export interface Lineage {
  job: string | null;
  dataset: string | null;
  datasetVersion: number | null;
  params: Record<string, unknown>;
  /** Set by an optimize job: the version this one was made from, and the method. */
  optimizedFrom?: OptimizedFrom;
  /** Set by a train job with a `teacher`: the version it was distilled from, and how. */
  teacher?: TeacherRef;
}

export interface TeacherRef {
  model: string;
  version: number;
  temperature: number;
  alpha: number;
}

export interface OptimizedFrom {
  model: string;
  version: number;
  method: string;
}

export interface ModelVersion {
  id: string;
  name: string;
  version: number;
  stage: Stage;
  kind: string;
  task: Task;
  source: 'trained' | 'imported';
  signature: Signature;
  metrics: Record<string, unknown>;
  lineage: Lineage;
  description: string | null;
  sizeBytes: number;
  sha256: string;
  /** Files beside the graph by name (blob hashes): a causal_lm's Hugging Face folder files. */
  files: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface ModelSummary {
  id: string;
  name: string;
  description: string | null;
  latestVersion: number;
  versions: number;
  /** Version numbers by stage (production first is what most callers want). */
  stages: Record<Stage, number[]>;
  createdAt: string;
  updatedAt: string;
}

/** What the training service hands over when a job succeeds. */
export interface RegisterVersionInput {
  /** Model name; the first version creates the model. */
  name: string;
  /** The serialised ONNX ModelProto (see src/onnx/model.ts `encodeModel`). */
  artifact: Uint8Array;
  /** mlp, cnn, sequential, logistic_regression, random_forest…; 'onnx' for imports. */
  kind: string;
  task: Task;
  signature: Signature;
  metrics?: Record<string, unknown>;
  lineage?: Partial<Lineage>;
  /** The job's parameters; stored as `lineage.params` (merged over `lineage.params`). */
  params?: Record<string, unknown>;
  description?: string;
  /** Initial stage; default 'none'. Promoting to production follows the stage rules. */
  stage?: Stage;
  source?: 'trained' | 'imported';
  /** Load the graph with ONNX Runtime and check the signature against it (default true). */
  validate?: boolean;
  /** Files kept beside the graph, by name (a causal_lm's config and tokenizer files). */
  files?: ReadonlyMap<string, Uint8Array>;
}

export interface ImportOptions {
  task?: Task;
  labels?: string[];
  description?: string;
  kind?: string;
}

const OWNER = 'model_version';
const ORT_DTYPES: Record<string, TensorDtype> = {
  float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', bool: 'bool', string: 'string', uint8: 'uint8', int8: 'int8',
};

export class RegistryService {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly refs: BlobRefs,
    private readonly maxBytes: number,
  ) {}

  /** Registers a new version of `input.name` in tenant `tenantId`; returns it (version numbers start at 1). */
  async registerVersion(tenantId: string, input: RegisterVersionInput): Promise<ModelVersion> {
    assertName('Model', input.name);
    if (input.validate !== false) {
      const info = await inspect(input.artifact);
      checkSignature(input.signature, info);
    }
    const blob = await this.blobs.put(input.artifact);
    const files: Record<string, string> = {};
    const created = blob.created ? [blob.hash] : [];
    try {
      for (const [name, bytes] of input.files ?? []) {
        const b = await this.blobs.put(bytes);
        files[name] = b.hash;
        if (b.created) created.push(b.hash);
      }
      return await this.commit(tenantId, input, blob.hash, blob.size, files);
    } catch (err) {
      await this.refs.collect(created);
      throw err;
    }
  }

  /** POST /v1/models/{name}/versions: an ONNX file trained elsewhere, streamed in, validated by loading it. */
  async importVersion(p: Principal, name: string, body: AsyncIterable<Uint8Array> | Uint8Array, opts: ImportOptions = {}): Promise<ModelVersion> {
    assertName('Model', name);
    const { head, stream } = await peek(body);
    const format = archiveFormatOf(head);
    if (format) return this.importFolder(p, name, stream instanceof Uint8Array ? Readable.from([stream]) : stream, format, opts);
    // One ONNX file is one protobuf message, which cannot exceed 2 GiB; larger models keep their
    // weights in external data files, which only the folder form carries.
    const limit = Math.min(this.maxBytes, ONNX_FILE_MAX_BYTES);
    let blob;
    try {
      blob = await this.blobs.put(stream, { maxBytes: limit });
    } catch (err) {
      if (err instanceof TooLargeError) {
        const fix = limit < this.maxBytes
          ? 'an ONNX file cannot exceed 2 GiB: export the weights as external data and import the model as a Hugging Face folder (.tar.gz or .zip, see docs/API.md)'
          : 'raise AIAAS_MODEL_MAX_BYTES to import it';
        throw new TooLargeError('payload_too_large', `The model file is larger than the limit of ${limit} bytes; ${fix}.`, { limitBytes: limit });
      }
      throw err;
    }
    try {
      if (blob.size === 0) throw new InvalidInputError('invalid_model', 'The request body is empty; send the ONNX file as the body (curl --data-binary @model.onnx).');
      const bytes = await this.blobs.read(blob.hash);
      const info = await inspect(bytes);
      const signature = embeddedSignature(bytes, info, opts) ?? signatureFromGraph(info, opts);
      return await this.commit(p.tenantId, {
        name, kind: opts.kind ?? 'onnx', task: signature.task, signature, description: opts.description,
        source: 'imported', lineage: { params: {} },
      }, blob.hash, blob.size);
    } catch (err) {
      if (blob.created) await this.refs.collect([blob.hash]);
      throw err;
    }
  }

  /**
   * A Hugging Face folder (.tar.gz or .zip body): streamed file by file to the blob store, its
   * graph checked against the language-model contract (ml/lm/hf-graph-contract.ts) without
   * loading it; a causal_lm or text_encoder version whose `files` are the rest of the folder.
   */
  private async importFolder(p: Principal, name: string, body: AsyncIterable<Uint8Array>, format: ArchiveFormat, opts: ImportOptions): Promise<ModelVersion> {
    const created: string[] = [];
    try {
      const folder = await storeFolder(this.blobs, body, format, this.maxBytes, created);
      const lm = await lmFolderVersion(this.blobs, folder, opts.kind);
      const params = { format: 'huggingface', modelType: lm.config.model_type ?? null, architectures: lm.config.architectures ?? null };
      const v = await this.commit(p.tenantId, {
        name, kind: lm.kind, task: lm.signature.task, signature: lm.signature, description: opts.description,
        source: 'imported', lineage: { params },
      }, lm.graph.hash, lm.graph.size, lm.files);
      await this.refs.collect(lm.unused);
      return v;
    } catch (err) {
      await this.refs.collect(created);
      throw err;
    }
  }

  private async commit(tenantId: string, input: Omit<RegisterVersionInput, 'artifact'>, hash: string, size: number, files: Record<string, string> = {}): Promise<ModelVersion> {
    const stage = input.stage ?? 'none';
    if (!STAGES.includes(stage)) throw new InvalidInputError('invalid_stage', `Stage '${stage}' does not exist; use one of ${STAGES.join(', ')}.`, { stage });
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction().execute(async (tx) => {
          const now = nowIso();
          const existing = await tx.selectFrom('models').selectAll()
            .where('tenant_id', '=', tenantId).where('name', '=', input.name).executeTakeFirst();
          const modelId = existing?.id ?? newId('mdl');
          const version = (existing?.latest_version ?? 0) + 1;
          if (existing) {
            await tx.updateTable('models').set({ latest_version: version, updated_at: now }).where('id', '=', modelId).execute();
          } else {
            await tx.insertInto('models').values({
              id: modelId, tenant_id: tenantId, name: input.name, latest_version: version, description: null, created_at: now, updated_at: now,
            }).execute();
          }
          const lineage: Lineage = {
            job: input.lineage?.job ?? null, dataset: input.lineage?.dataset ?? null,
            datasetVersion: input.lineage?.datasetVersion ?? null, params: { ...input.lineage?.params, ...input.params },
            ...(input.lineage?.optimizedFrom ? { optimizedFrom: input.lineage.optimizedFrom } : {}),
            ...(input.lineage?.teacher ? { teacher: input.lineage.teacher } : {}),
          };
          const row: ModelVersionsTable = {
            id: newId('mv'), model_id: modelId, tenant_id: tenantId, version, stage: 'none', kind: input.kind, task: input.task,
            source: input.source ?? 'trained', signature: JSON.stringify({ ...input.signature, task: input.task }),
            metrics: JSON.stringify(input.metrics ?? {}), lineage: JSON.stringify(lineage), description: input.description ?? null,
            blob: hash, size_bytes: size, files: Object.keys(files).length ? JSON.stringify(files) : null, created_at: now, updated_at: now,
          };
          await tx.insertInto('model_versions').values(row).execute();
          await this.refs.hold(tx, [hash, ...Object.values(files)], OWNER, row.id);
          if (stage !== 'none') {
            await this.applyStage(tx, tenantId, input.name, modelId, row, stage, true);
            row.stage = stage;
          }
          return toVersion(input.name, row);
        });
      } catch (err) {
        if (attempt < 3 && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  async list(p: Principal): Promise<ModelSummary[]> {
    const models = await this.db.selectFrom('models').selectAll().where('tenant_id', '=', p.tenantId).orderBy('name').execute();
    const versions = await this.db.selectFrom('model_versions').select(['model_id', 'version', 'stage'])
      .where('tenant_id', '=', p.tenantId).orderBy('version').execute();
    return models.map((m) => summary(m, versions.filter((v) => v.model_id === m.id)));
  }

  async getModel(p: Principal, name: string): Promise<ModelSummary & { latest: ModelVersion | null }> {
    const m = await this.findModel(p.tenantId, name);
    const versions = await this.db.selectFrom('model_versions').selectAll().where('model_id', '=', m.id).orderBy('version').execute();
    const last = versions[versions.length - 1];
    return { ...summary(m, versions), latest: last ? toVersion(m.name, last) : null };
  }

  async versions(p: Principal, name: string, stage?: Stage): Promise<ModelVersion[]> {
    const m = await this.findModel(p.tenantId, name);
    let q = this.db.selectFrom('model_versions').selectAll().where('model_id', '=', m.id);
    if (stage) q = q.where('stage', '=', stage);
    return (await q.orderBy('version').execute()).map((r) => toVersion(m.name, r));
  }

  /** `ref` is a version number, a stage name (the newest version in it) or 'latest'. */
  async getVersion(p: Principal, name: string, ref: string | number): Promise<ModelVersion> {
    return this.resolve(p.tenantId, name, ref);
  }

  /** For serving: a version and where its graph is. */
  async resolve(tenantId: string, name: string, ref: string | number): Promise<ModelVersion> {
    const m = await this.findModel(tenantId, name);
    const row = await this.findVersionRow(m.id, m.name, ref);
    return toVersion(m.name, row);
  }

  async readArtifact(version: ModelVersion): Promise<Buffer> {
    return this.blobs.read(version.sha256);
  }

  async artifact(p: Principal, name: string, ref: string | number) {
    const v = await this.resolve(p.tenantId, name, ref);
    return { version: v, stream: this.blobs.stream(v.sha256) };
  }

  /**
   * A language-model version as a Hugging Face folder (.tar.gz, files at the root): the files kept
   * beside its graph, and the graph as onnx/model.onnx. Streamed from the blob store file by file,
   * so an imported folder of any size goes out in bounded memory.
   */
  async hfFolder(p: Principal, name: string, ref: string | number): Promise<{ version: ModelVersion; archive: Readable }> {
    const version = await this.resolve(p.tenantId, name, ref);
    // aiaas/ files are the platform's own (drift profile, explanation data), not part of a model folder.
    const folderFiles = Object.entries(version.files).filter(([n]) => !n.startsWith('aiaas/'));
    if (folderFiles.length === 0) {
      throw new InvalidInputError('not_available', `Version ${version.version} of '${name}' is a ${version.kind}, which has no Hugging Face folder (only language-model versions, trained causal_lm or imported folders, do); download the ONNX file without ?format=hf.`, { field: 'format', kind: version.kind });
    }
    const entries = [...folderFiles.sort(([a], [b]) => a.localeCompare(b)), ['onnx/model.onnx', version.sha256] as const];
    const blobs = this.blobs;
    async function* files(): AsyncGenerator<TarSource> {
      for (const [path, hash] of entries) yield { path, size: await blobs.size(hash), body: blobs.stream(hash) };
    }
    const archive = Readable.from(tarStream(files(), { mtime: Date.parse(version.createdAt) })).pipe(createGzip());
    return { version, archive };
  }

  /**
   * The graph's external data files as ONNX Runtime takes them: the path the graph names
   * (relative to onnx/, where an imported folder keeps its graph) and a local copy of the blob.
   */
  async externalData(version: ModelVersion): Promise<{ path: string; data: string }[]> {
    const out = [];
    for (const [name, hash] of Object.entries(version.files)) {
      if (!name.startsWith('onnx/') || name.endsWith('.onnx')) continue;
      out.push({ path: name.slice('onnx/'.length), data: await this.blobs.localPath(hash) });
    }
    return out;
  }

  /** A file kept beside the graph (RegisterVersionInput.files), or undefined when the version has none of that name. */
  async readFile(version: ModelVersion, name: string): Promise<Buffer | undefined> {
    const hash = Object.hasOwn(version.files, name) ? version.files[name] : undefined;
    return hash === undefined ? undefined : this.blobs.read(hash);
  }

  async setStage(p: Principal, name: string, ref: string | number, stage: Stage, archiveExisting = true): Promise<ModelVersion> {
    if (!STAGES.includes(stage)) throw new InvalidInputError('invalid_stage', `Stage '${stage}' does not exist; use one of ${STAGES.join(', ')}.`, { stage });
    const m = await this.findModel(p.tenantId, name);
    return this.db.transaction().execute(async (tx) => {
      const row = await this.findVersionRow(m.id, m.name, ref, tx);
      await this.applyStage(tx, p.tenantId, m.name, m.id, row, stage, archiveExisting);
      const updated = await tx.selectFrom('model_versions').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
      return toVersion(m.name, updated);
    });
  }

  private async applyStage(tx: Db, tenantId: string, name: string, modelId: string, row: ModelVersionsTable, stage: Stage, archiveExisting: boolean) {
    const now = nowIso();
    const serving = await servingVersions(tx, tenantId, name);
    if (stage === 'archived' && serving.has(row.version)) {
      throw new ConflictError('version_serving', `Version ${row.version} of '${name}' serves traffic on endpoint ${serving.get(row.version)!.join(', ')}; move its traffic to another version (PATCH /v1/endpoints/{name}) before archiving it.`, { model: name, version: row.version, endpoints: serving.get(row.version) });
    }
    if (stage === 'production' && archiveExisting) {
      const others = await tx.selectFrom('model_versions').select(['id', 'version']).where('model_id', '=', modelId)
        .where('stage', '=', 'production').where('id', '!=', row.id).execute();
      const busy = others.filter((o) => serving.has(o.version));
      if (busy.length > 0) {
        const o = busy[0]!;
        throw new ConflictError('version_serving', `Promoting version ${row.version} would archive production version ${o.version}, which serves traffic on endpoint ${serving.get(o.version)!.join(', ')}. Move that traffic first, or send {"stage": "production", "archiveExisting": false} to keep both in production.`, { model: name, version: o.version, endpoints: serving.get(o.version) });
      }
      if (others.length > 0) {
        await tx.updateTable('model_versions').set({ stage: 'archived', updated_at: now }).where('id', 'in', others.map((o) => o.id)).execute();
      }
    }
    await tx.updateTable('model_versions').set({ stage, updated_at: now }).where('id', '=', row.id).execute();
    await tx.updateTable('models').set({ updated_at: now }).where('id', '=', modelId).execute();
  }

  /** Deletes one version (or, with `ref` undefined, the whole model) when none of it serves traffic. */
  async delete(p: Principal, name: string, ref?: string | number): Promise<{ name: string; deletedVersions: number[] }> {
    const m = await this.findModel(p.tenantId, name);
    const released: string[] = [];
    const deleted = await this.db.transaction().execute(async (tx) => {
      const victims = ref === undefined
        ? await tx.selectFrom('model_versions').selectAll().where('model_id', '=', m.id).execute()
        : [await this.findVersionRow(m.id, m.name, ref, tx)];
      const serving = await servingVersions(tx, p.tenantId, m.name);
      for (const v of victims) {
        if (serving.has(v.version)) {
          throw new ConflictError('version_serving', `Version ${v.version} of '${m.name}' serves traffic on endpoint ${serving.get(v.version)!.join(', ')}; delete the endpoint or move its traffic first.`, { model: m.name, version: v.version, endpoints: serving.get(v.version) });
        }
      }
      for (const v of victims) released.push(...(await this.refs.release(tx, OWNER, v.id)));
      if (victims.length > 0) await tx.deleteFrom('model_versions').where('id', 'in', victims.map((v) => v.id)).execute();
      const left = await tx.selectFrom('model_versions').select('version').where('model_id', '=', m.id).executeTakeFirst();
      // The model row stays while versions remain, so version numbers are never reused.
      if (!left && ref === undefined) await tx.deleteFrom('models').where('id', '=', m.id).execute();
      else await tx.updateTable('models').set({ updated_at: nowIso() }).where('id', '=', m.id).execute();
      return victims.map((v) => v.version).sort((a, b) => a - b);
    });
    await this.refs.collect(released);
    return { name: m.name, deletedVersions: deleted };
  }

  private async findModel(tenantId: string, name: string) {
    const m = await this.db.selectFrom('models').selectAll().where('tenant_id', '=', tenantId).where('name', '=', name).executeTakeFirst();
    if (!m) throw NotFoundError.of('Model', name);
    return m;
  }

  private async findVersionRow(modelId: string, name: string, ref: string | number, db: Db = this.db): Promise<ModelVersionsTable> {
    let q = db.selectFrom('model_versions').selectAll().where('model_id', '=', modelId);
    const text = String(ref);
    if (/^\d+$/.test(text)) q = q.where('version', '=', Number(text));
    else if (text === 'latest') q = q.orderBy('version', 'desc');
    else if ((STAGES as readonly string[]).includes(text)) q = q.where('stage', '=', text).orderBy('version', 'desc');
    else throw NotFoundError.of('Model version', `${name}@${text}`);
    const row = await q.executeTakeFirst();
    if (!row) throw NotFoundError.of('Model version', `${name}@${text}`);
    return row;
  }
}

/** The first bytes of a body (to tell an archive from an ONNX file), and the whole body still to read. */
async function peek(body: AsyncIterable<Uint8Array> | Uint8Array): Promise<{ head: Uint8Array; stream: AsyncIterable<Uint8Array> | Uint8Array }> {
  if (body instanceof Uint8Array) return { head: body.subarray(0, 4), stream: body };
  const it = body[Symbol.asyncIterator]();
  const seen: Uint8Array[] = [];
  let have = 0;
  let ended = false;
  while (have < 4) {
    const r = await it.next();
    if (r.done) { ended = true; break; }
    seen.push(r.value);
    have += r.value.length;
  }
  const head = Buffer.concat(seen).subarray(0, 4);
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield* seen;
    if (ended) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head, stream: rest() };
}

/** Versions of a model in the traffic of an endpoint, with the endpoints' names. */
export async function servingVersions(db: Db, tenantId: string, model: string): Promise<Map<number, string[]>> {
  const rows = await db.selectFrom('endpoints').select(['name', 'traffic']).where('tenant_id', '=', tenantId).where('model_name', '=', model).execute();
  const out = new Map<number, string[]>();
  for (const r of rows) {
    for (const t of JSON.parse(r.traffic) as { version: number }[]) {
      const list = out.get(t.version) ?? [];
      if (!list.includes(r.name)) list.push(r.name);
      out.set(t.version, list);
    }
  }
  return out;
}

async function inspect(bytes: Uint8Array): Promise<ModelInfo> {
  try {
    return await inspectModel(bytes);
  } catch (err) {
    if (err instanceof InvalidModelError) {
      throw new InvalidInputError('invalid_model', `ONNX Runtime cannot load this model: ${err.message}`, { reason: err.message });
    }
    throw err;
  }
}

function toTensor(t: TensorInfo, what: string): SignatureTensor {
  const dtype = ORT_DTYPES[t.dtype];
  if (!dtype) {
    throw new InvalidInputError('unsupported_model', `${what} '${t.name}' has element type ${t.dtype}, which serving does not support; export it as float32, float64, int64, int32, int8, uint8, bool or string.`, { tensor: t.name, dtype: t.dtype });
  }
  return { name: t.name, dtype, shape: t.shape };
}

/** The signature of a graph trained elsewhere: its tensors; no raw columns. */
export function signatureFromGraph(info: ModelInfo, opts: ImportOptions = {}): Signature {
  const tensors = info.inputs.map((t) => toTensor(t, 'Input'));
  const outputs = info.outputs.filter((t) => ORT_DTYPES[t.dtype]).map((t) => toTensor(t, 'Output'));
  if (outputs.length === 0) {
    throw new InvalidInputError('unsupported_model', 'The model has no tensor output that serving can return.', { outputs: info.otherOutputs });
  }
  // A classifier: a label-like output (integer or string, one per row) beside class
  // probabilities (float [N, C > 1], or a sequence of maps as skl2onnx's ZipMap gives).
  const labelLike = outputs.some((o) => o.dtype !== 'float32' && o.dtype !== 'float64' && (o.shape.length === 1 || (o.shape.length === 2 && o.shape[1] === 1)));
  const probLike = outputs.some((o) => (o.dtype === 'float32' || o.dtype === 'float64') && o.shape.length === 2 && (o.shape[1] ?? 0) > 1);
  const task: Task = opts.task ?? (opts.labels || (labelLike && (probLike || info.otherOutputs.length > 0)) ? 'classification' : 'other');
  return { inputs: [], tensors, outputs, task, ...(opts.labels ? { labels: opts.labels } : {}) };
}

/** ONNX metadata key under which a model carries its signature (JSON), so exports re-import with their raw columns. */
export const SIGNATURE_METADATA_KEY = 'aiaas.signature';

function embeddedSignature(bytes: Uint8Array, info: ModelInfo, opts: ImportOptions): Signature | undefined {
  const text = readModelMetadata(bytes)[SIGNATURE_METADATA_KEY];
  if (!text) return undefined;
  let sig: Signature;
  try {
    sig = signatureFromMetadata(text);
  } catch (err) {
    throw new InvalidInputError('invalid_signature', `The model's '${SIGNATURE_METADATA_KEY}' metadata is not valid JSON: ${(err as Error).message}`);
  }
  if (!sig || !Array.isArray(sig.inputs) || !Array.isArray(sig.tensors) || !Array.isArray(sig.outputs)) {
    throw new InvalidInputError('invalid_signature', `The model's '${SIGNATURE_METADATA_KEY}' metadata must be a signature {inputs, tensors, outputs, task, labels?} (see src/ml/signature.ts).`);
  }
  checkSignature(sig, info);
  return { ...sig, task: opts.task ?? sig.task ?? 'other', ...(opts.labels ? { labels: opts.labels } : {}) };
}

/** A trained model's signature must name tensors its graph has. */
function checkSignature(sig: Signature, info: ModelInfo): void {
  const inputs = new Map(info.inputs.map((t) => [t.name, t]));
  const outputs = new Set(info.outputs.map((t) => t.name));
  for (const t of sig.tensors) {
    if (!inputs.has(t.name)) throw new InvalidInputError('invalid_signature', `The signature names input tensor '${t.name}', which the graph does not have (it has ${[...inputs.keys()].join(', ')}).`, { tensor: t.name });
  }
  for (const c of sig.inputs) {
    if (!sig.tensors.some((t) => t.name === c.tensor)) throw new InvalidInputError('invalid_signature', `Column '${c.name}' feeds tensor '${c.tensor}', which is not among the signature's tensors.`, { column: c.name });
  }
  for (const name of inputs.keys()) {
    if (!sig.tensors.some((t) => t.name === name)) throw new InvalidInputError('invalid_signature', `The graph input '${name}' is missing from the signature's tensors.`, { tensor: name });
  }
  for (const o of sig.outputs) {
    if (!outputs.has(o.name)) throw new InvalidInputError('invalid_signature', `The signature names output '${o.name}', which the graph does not have.`, { tensor: o.name });
  }
}

function summary(m: { id: string; name: string; description: string | null; latest_version: number; created_at: string; updated_at: string }, versions: { version: number; stage: string }[]): ModelSummary {
  const stages: Record<Stage, number[]> = { none: [], staging: [], production: [], archived: [] };
  for (const v of versions) stages[v.stage as Stage]?.push(v.version);
  return {
    id: m.id, name: m.name, description: m.description, latestVersion: m.latest_version, versions: versions.length, stages,
    createdAt: m.created_at, updatedAt: m.updated_at,
  };
}

function toVersion(name: string, r: ModelVersionsTable): ModelVersion {
  return {
    id: r.id, name, version: r.version, stage: r.stage as Stage, kind: r.kind, task: r.task as Task, source: r.source as 'trained' | 'imported',
    signature: JSON.parse(r.signature) as Signature, metrics: JSON.parse(r.metrics) as Record<string, unknown>,
    lineage: JSON.parse(r.lineage) as Lineage, description: r.description, sizeBytes: Number(r.size_bytes), sha256: r.blob,
    files: r.files ? (JSON.parse(r.files) as Record<string, string>) : {},
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}
