/**
 * The model registry: models, versions, stages, artifacts, and imports of ONNX files trained
 * elsewhere (the file is the raw request body, streamed to the blob store).
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { InvalidInputError } from '../../../infra/errors.js';
import type { Stage } from '../../../services/registry.js';
import { principalOf } from '../context.js';
import { ListOf } from '../../../api/schemas.js';
import {
  ImportQuery, ModelDetailSchema, ModelParams, ModelSummarySchema, ModelVersionSchema, SetStageBody, StageSchema, VersionParams,
} from '../../../api/schemas-serving.js';

export async function modelRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  // JSON stays JSON (PATCH); any other body is passed on as a stream (the ONNX file of an import).
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.get('/v1/models', {
    config: { access: 'read' },
    schema: { tags: ['models'], summary: 'List models', response: { 200: ListOf(ModelSummarySchema) } },
  }, async (req) => ({ data: await platform.registry.list(principalOf(req)) }));

  app.get('/v1/models/:name', {
    config: { access: 'read' },
    schema: { tags: ['models'], summary: 'A model: its versions by stage and its latest version', params: ModelParams, response: { 200: ModelDetailSchema } },
  }, async (req) => platform.registry.getModel(principalOf(req), req.params.name));

  app.delete('/v1/models/:name', {
    config: { access: 'write' },
    schema: {
      tags: ['models'], summary: 'Delete a model and every version (409 while a version serves traffic)', params: ModelParams,
      response: { 200: Type.Object({ name: Type.String(), deletedVersions: Type.Array(Type.Integer()) }) },
    },
  }, async (req) => platform.registry.delete(principalOf(req), req.params.name));

  app.get('/v1/models/:name/versions', {
    config: { access: 'read' },
    schema: {
      tags: ['models'], summary: 'Versions of a model (optionally of one stage)', params: ModelParams,
      querystring: Type.Object({ stage: Type.Optional(StageSchema) }), response: { 200: ListOf(ModelVersionSchema) },
    },
  }, async (req) => ({ data: await platform.registry.versions(principalOf(req), req.params.name, req.query.stage as Stage | undefined) }));

  app.post('/v1/models/:name/versions', {
    config: { access: 'write' },
    schema: {
      tags: ['models'], summary: 'Import an ONNX model trained elsewhere (the file is the request body)',
      description: 'Send the .onnx file as the body (`curl --data-binary @model.onnx`). It is loaded with ONNX Runtime to validate it (422 with the reason if it does not load); its signature is read from the graph. `?task=classification&labels=a,b,c` tell how to read its outputs.',
      params: ModelParams, querystring: ImportQuery, response: { 201: ModelVersionSchema },
    },
  }, async (req, reply) => {
    const body = req.body as AsyncIterable<Uint8Array> | undefined;
    if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
      throw new InvalidInputError('invalid_model', 'Send the ONNX file as the request body with a non-JSON Content-Type (e.g. application/octet-stream, or curl --data-binary @model.onnx).');
    }
    const q = req.query;
    const labels = q.labels ? q.labels.split(',').map((s) => s.trim()) : undefined;
    const v = await platform.registry.importVersion(principalOf(req), req.params.name, body, { task: q.task, labels, description: q.description, kind: q.kind });
    req.auditObjectId = v.id;
    return reply.code(201).send(v);
  });

  app.get('/v1/models/:name/versions/:v', {
    config: { access: 'read' },
    schema: { tags: ['models'], summary: 'A model version: stage, signature, metrics, lineage', params: VersionParams, response: { 200: ModelVersionSchema } },
  }, async (req) => platform.registry.getVersion(principalOf(req), req.params.name, req.params.v));

  app.patch('/v1/models/:name/versions/:v', {
    config: { access: 'write' },
    schema: {
      tags: ['models'], summary: 'Change the stage of a version',
      description: 'Promoting to production archives the other production versions unless `archiveExisting` is false. Archiving a version that serves traffic is refused (409).',
      params: VersionParams, body: SetStageBody, response: { 200: ModelVersionSchema },
    },
  }, async (req) => platform.registry.setStage(principalOf(req), req.params.name, req.params.v, req.body.stage, req.body.archiveExisting ?? true));

  app.delete('/v1/models/:name/versions/:v', {
    config: { access: 'write' },
    schema: {
      tags: ['models'], summary: 'Delete a version (409 while it serves traffic)', params: VersionParams,
      response: { 200: Type.Object({ name: Type.String(), deletedVersions: Type.Array(Type.Integer()) }) },
    },
  }, async (req) => platform.registry.delete(principalOf(req), req.params.name, req.params.v));

  app.get('/v1/models/:name/versions/:v/artifact', {
    config: { access: 'read' },
    schema: {
      tags: ['models'], summary: 'Download the ONNX file of a version (a causal_lm also as a Hugging Face folder: ?format=hf)', params: VersionParams,
      querystring: Type.Object({ format: Type.Optional(Type.String({ description: "onnx (default) or hf: a causal_lm's Hugging Face folder as .tar.gz" })) }),
    },
  }, async (req, reply) => {
    const format = req.query.format ?? 'onnx';
    if (format !== 'onnx' && format !== 'hf') throw new InvalidInputError('invalid_format', `format '${format}' is not an artifact format; use onnx (the graph) or hf (a causal_lm's Hugging Face folder, .tar.gz).`, { field: 'format' });
    if (format === 'hf') {
      const { version, archive } = await platform.registry.hfFolder(principalOf(req), req.params.name, req.params.v);
      reply.header('content-type', 'application/gzip');
      reply.header('content-disposition', `attachment; filename="${version.name}-v${version.version}.tar.gz"`);
      return reply.send(archive);
    }
    const { version, stream } = await platform.registry.artifact(principalOf(req), req.params.name, req.params.v);
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-length', String(version.sizeBytes));
    reply.header('content-disposition', `attachment; filename="${version.name}-v${version.version}.onnx"`);
    reply.header('etag', `"${version.sha256}"`);
    return reply.send(stream);
  });
}
