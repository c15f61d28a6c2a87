/**
 * Datasets. Uploads stream: the body is never buffered whole. This plugin is encapsulated so its
 * body parsers (any content type as a raw stream, and multipart) apply to its routes only.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import type { Platform } from '../../platform.js';
import { unprocessable } from '../../../infra/errors.js';
import { principalOf } from '../context.js';
import { DatasetSummary, DatasetVersion, IdOrNameParams, ListOf, StringEnum, VersionQuery } from '../schemas.js';

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
    schema: {
      tags: ['datasets'], summary: 'Upload a CSV, JSONL or text file, gzipped or not (raw body or multipart/form-data)',
      description: 'Send the file as the request body (any Content-Type), or as the `file` part of a multipart form. Uploading an existing name makes a new version.',
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

async function readUpload(req: FastifyRequest, q: { name?: string; format?: string; filename?: string }): Promise<UploadSource> {
  if (req.isMultipart()) {
    const part = await req.file();
    if (!part) throw unprocessable('file_missing', 'The multipart form has no file part; add the file as a field named "file".');
    const field = (n: string) => {
      const f = part.fields[n];
      return f && !Array.isArray(f) && f.type === 'field' ? String(f.value) : undefined;
    };
    const filename = q.filename ?? part.filename;
    return { name: q.name ?? field('name') ?? nameFromFile(filename), format: q.format ?? field('format'), filename, body: part.file };
  }
  return { name: q.name ?? nameFromFile(q.filename), format: q.format, filename: q.filename, body: req.body as AsyncIterable<Uint8Array> };
}

function nameFromFile(filename: string | undefined): string {
  const name = filename?.split(/[\\/]/).pop()?.replace(/(\.gz)?$/i, '').replace(/\.(csv|jsonl|ndjson|json|txt)$/i, '');
  if (!name) throw unprocessable('name_required', 'Name the dataset: add ?name=NAME to the URL (or a "name" field before the file in a multipart form).', { field: 'name' });
  return name;
}
