/**
 * Datasets. Uploads stream: the body is never buffered whole. This plugin is encapsulated so its
 * body parsers (any content type as a raw stream, and multipart) apply to its routes only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import type { Platform } from '../../platform.js';
import { DomainError, InvalidInputError, MalformedInputError, UnsupportedMediaTypeError } from '../../../infra/errors.js';
import { AppError } from '../errors.js';
import { principalOf } from '../context.js';
import { DatasetSummary, DatasetVersion, IdOrNameParams, ListOf, StringEnum, VersionQuery } from '../../../api/schemas.js';

const UploadQuery = Type.Object({
  name: Type.Optional(Type.String({ description: 'dataset name; an existing name gets a new version. Default: the file name without extensions' })),
  format: Type.Optional(StringEnum(['csv', 'jsonl', 'text'] as const, { description: 'default: from the file name (.jsonl/.ndjson: jsonl, .txt: text), else csv; gzip is detected by content. text: a corpus, one row per line in one column `text`' })),
  filename: Type.Optional(Type.String()),
});

export async function datasetRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.removeAllContentTypeParsers();
  // The raw body stream goes straight to the service, whatever the client called it.
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  await app.register(multipart, { limits: { fileSize: platform.config.datasetMaxBytes + 1, files: 1, fields: 10 } });

  app.post('/v1/datasets', {
    config: { access: 'write' },
    // Refused before the body is read (authentication, a root hook, runs first).
    onRequest: checkUploadType,
    schema: {
      tags: ['datasets'], summary: 'Upload a CSV, JSONL or text file, gzipped or not (raw body or multipart/form-data)',
      description: 'Send the file as the request body (no Content-Type, or one of text/csv, application/csv, text/plain, application/x-ndjson, application/jsonl, application/x-jsonlines, application/gzip, application/x-gzip, application/octet-stream, application/x-www-form-urlencoded; UTF-8 only: others answer 415), or as the `file` part of a multipart form. Uploading an existing name makes a new version.',
      querystring: UploadQuery, response: { 201: DatasetVersion },
    },
  }, async (req, reply) => {
    const upload = await readUpload(req, req.query);
    const v = await platform.datasets.upload(principalOf(req), upload);
    req.auditObjectId = v.id;
    return reply.code(201).send(v);
  });

  app.get('/v1/datasets', {
    config: { access: 'read' },
    schema: { tags: ['datasets'], summary: 'List datasets (latest versions)', response: { 200: ListOf(DatasetSummary) } },
  }, async (req) => ({ data: await platform.datasets.list(principalOf(req)) }));

  app.get('/v1/datasets/:idOrName', {
    config: { access: 'read' },
    schema: { tags: ['datasets'], summary: 'A dataset version with its column profile', params: IdOrNameParams, querystring: VersionQuery, response: { 200: DatasetVersion } },
  }, async (req) => platform.datasets.get(principalOf(req), req.params.idOrName, req.query.version));

  app.get('/v1/datasets/:idOrName/versions', {
    config: { access: 'read' },
    schema: { tags: ['datasets'], summary: 'All versions of a dataset', params: IdOrNameParams, response: { 200: ListOf(DatasetVersion) } },
  }, async (req) => ({ data: await platform.datasets.versions(principalOf(req), req.params.idOrName) }));

  app.get('/v1/datasets/:idOrName/rows', {
    config: { access: 'read' },
    schema: {
      tags: ['datasets'], summary: 'Preview rows, paged', params: IdOrNameParams,
      querystring: Type.Object({
        version: Type.Optional(Type.Integer({ minimum: 1 })),
        offset: Type.Integer({ minimum: 0, default: 0 }),
        limit: Type.Integer({ minimum: 1, default: 100, description: 'at most 1000' }),
      }),
      response: {
        200: Type.Object({
          offset: Type.Integer(), limit: Type.Integer(), total: Type.Integer(),
          rows: Type.Array(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]))),
        }),
      },
    },
  }, async (req) => platform.datasets.rows(principalOf(req), req.params.idOrName, req.query));

  app.delete('/v1/datasets/:idOrName', {
    config: { access: 'write' },
    schema: {
      tags: ['datasets'], summary: 'Delete a dataset (every version, or ?version=N)', params: IdOrNameParams, querystring: VersionQuery,
      response: { 200: Type.Object({ id: Type.String(), name: Type.String(), deletedVersions: Type.Array(Type.Integer()) }) },
    },
  }, async (req) => platform.datasets.delete(principalOf(req), req.params.idOrName, req.query.version));
}

interface UploadSource {
  name: string;
  format?: string;
  filename?: string;
  body: AsyncIterable<Uint8Array>;
}

/**
 * Content types an upload may declare. The format itself is told by ?format=, the file name, or
 * the bytes (gzip), so these only keep out what is clearly not a data file (JSON, images…).
 * application/x-www-form-urlencoded is what `curl --data-binary @file.csv` sends by default.
 */
export const UPLOAD_TYPES = [
  'text/csv', 'application/csv', 'text/plain', 'application/x-ndjson', 'application/jsonl', 'application/x-jsonlines',
  'application/gzip', 'application/x-gzip', 'application/octet-stream', 'multipart/form-data', 'application/x-www-form-urlencoded',
];
const TEXT_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

function checkUploadType(req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  const header = req.headers['content-type'];
  if (header === undefined || header.trim() === '') return done();
  const [type, ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (!UPLOAD_TYPES.includes(type!)) {
    return done(new UnsupportedMediaTypeError('unsupported_media_type', `Content-Type ${type} is not a dataset upload. Send the file as one of: ${UPLOAD_TYPES.join(', ')} (or with no Content-Type).`, { contentType: type, accepted: UPLOAD_TYPES }));
  }
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/^"|"$/g, '');
  if (charset !== undefined && !TEXT_CHARSETS.has(charset)) {
    return done(new UnsupportedMediaTypeError('unsupported_charset', `The upload declares charset=${charset}; only UTF-8 is accepted. Save the file as UTF-8 (for example "CSV UTF-8" in Excel) and send it again.`, { charset, accepted: ['utf-8'] }));
  }
  done();
}

async function readUpload(req: FastifyRequest, q: { name?: string; format?: string; filename?: string }): Promise<UploadSource> {
  if (req.isMultipart()) {
    const part = await req.file().catch((err: unknown) => { throw multipartError(err); });
    if (!part) throw new InvalidInputError('file_missing', 'The multipart form has no file part; add the file as a field named "file".');
    const field = (n: string) => {
      const f = part.fields[n];
      return f && !Array.isArray(f) && f.type === 'field' ? String(f.value) : undefined;
    };
    const filename = q.filename ?? part.filename;
    return { name: q.name ?? field('name') ?? nameFromFile(filename), format: q.format ?? field('format'), filename, body: mapStreamErrors(part.file, multipartError) };
  }
  const body = req.body as AsyncIterable<Uint8Array> | undefined;
  if (body == null || typeof body[Symbol.asyncIterator] !== 'function') {
    throw new MalformedInputError('body_missing', 'The request has no body. Send the file as the request body (curl --data-binary @data.csv) or as the "file" part of a multipart form (curl -F file=@data.csv).');
  }
  return { name: q.name ?? nameFromFile(q.filename), format: q.format, filename: q.filename, body: mapStreamErrors(body, interrupted) };
}

/** The body's own stream errors (a cut form, a client gone mid-upload) as 400s, not 500s; our errors pass. */
async function* mapStreamErrors(body: AsyncIterable<Uint8Array>, toError: (err: unknown) => Error): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } catch (err) {
    throw err instanceof DomainError || err instanceof AppError ? err : toError(err);
  }
}

function multipartError(err: unknown): Error {
  if (err instanceof DomainError || err instanceof AppError) return err;
  const e = err as { statusCode?: number; message?: string };
  const status = typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 400;
  return new AppError(status, 'invalid_multipart', `The multipart form could not be read (${e?.message ?? String(err)}). Send the whole form, ending with its closing boundary; curl -F file=@data.csv does it.`);
}

function interrupted(err: unknown): MalformedInputError {
  return new MalformedInputError('upload_interrupted', `The upload stopped before its end (${(err as Error)?.message ?? String(err)}). Send the file again.`);
}

function nameFromFile(filename: string | undefined): string {
  const name = filename?.split(/[\\/]/).pop()?.replace(/(\.gz)?$/i, '').replace(/\.(csv|jsonl|ndjson|json|txt)$/i, '');
  if (!name) throw new InvalidInputError('name_required', 'Name the dataset: add ?name=NAME to the URL (or a "name" field before the file in a multipart form).', { field: 'name' });
  return name;
}
