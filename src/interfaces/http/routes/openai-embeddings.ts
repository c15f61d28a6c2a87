/**
 * The OpenAI-compatible API's model list and embeddings (registered under /openai/v1; generation,
 * chat/completions and completions, is its own plugin beside this one):
 * - GET /models: the tenant's endpoints that serve a language model (causal_lm or text_encoder),
 *   by endpoint name, as `model` is named in every request; an inference key sees its own endpoint;
 * - POST /embeddings: mean-pooled `last_hidden_state` of a text_encoder endpoint, floats or base64.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { EmbeddingsProtocol, type EmbeddingsRequest } from '../../../services/serving/protocols/embeddings.js';
import { principalOf } from '../context.js';
import { recordAnswerTokens } from '../openai-edge.js';

const LM_KINDS = new Set(['causal_lm', 'text_encoder']);

const EmbeddingsBody = Type.Object({
  model: Type.String({ description: 'the endpoint name' }),
  input: Type.Union([Type.String(), Type.Array(Type.String()), Type.Array(Type.Integer()), Type.Array(Type.Array(Type.Integer()))]),
  encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
  dimensions: Type.Optional(Type.Integer({ minimum: 1 })),
  user: Type.Optional(Type.String()),
});

export async function openAiEmbeddingRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const embeddings = new EmbeddingsProtocol(platform.serving.plane, platform.registry);

  app.get('/models', {
    config: { access: 'any' },
    schema: { tags: ['openai'], summary: "OpenAI: the tenant's language-model endpoints (id = endpoint name)" },
  }, async (req) => {
    const p = principalOf(req);
    const data = [];
    for (const ep of await platform.serving.list(p)) {
      const lm = platform.serving.plane.lookup(p.tenantId, ep.name);
      const kinds = lm ? [...lm.served.values()].map((s) => s.version.kind) : [];
      if (!kinds.some((k) => LM_KINDS.has(k))) continue;
      if (p.endpoint && lm?.row.id !== p.endpoint) continue;
      data.push({ id: ep.name, object: 'model', created: Math.floor(Date.parse(ep.createdAt) / 1000), owned_by: p.tenantId, kind: kinds[0] });
    }
    return { object: 'list', data };
  });

  app.post('/embeddings', {
    config: { access: 'predict' },
    schema: { tags: ['openai'], summary: 'OpenAI: embeddings of texts (or token ids) from a text_encoder endpoint', body: EmbeddingsBody },
  }, async (req, reply) => {
    const body = req.body as EmbeddingsRequest & { dimensions?: number };
    const out = await embeddings.embed(principalOf(req), body);
    await recordAnswerTokens(platform, req, reply, body.model, { prompt: out.promptTokens, completion: 0 });
    const dims = body.dimensions;
    const data = out.vectors.map((v, index) => {
      const vec = dims !== undefined && dims < v.length ? v.subarray(0, dims) : v;
      const embedding = body.encoding_format === 'base64' ? Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength).toString('base64') : Array.from(vec);
      return { object: 'embedding', index, embedding };
    });
    return { object: 'list', data, model: body.model, usage: { prompt_tokens: out.promptTokens, total_tokens: out.promptTokens } };
  });
}
