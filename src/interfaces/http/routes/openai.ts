/**
 * The OpenAI-compatible API (registered under the prefix /openai/v1): a transport over the data
 * plane for language-model endpoints, so `new OpenAI({baseURL: "http://host:8080/openai/v1",
 * apiKey})` works unchanged, with the endpoint's name as `model`. The protocol (bodies, choices,
 * stop sequences, chunks) is services/serving/protocols/openai.ts; this file reads the request,
 * answers JSON or Server-Sent Events (`data: {chunk}` … `data: [DONE]`), and cancels the
 * generation the moment a streaming client goes away, which frees its slots in the batch.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Platform } from '../../platform.js';
import { startGeneration, type OpenAiGeneration, type OpenAiKind } from '../../../services/serving/protocols/openai.js';
import { errorReplyFor } from '../errors.js';
import { openAiErrorBody, recordAnswerTokens } from '../openai-edge.js';
import { principalOf } from '../context.js';

type Recorder = (req: FastifyRequest, status: number, seconds: number) => void;

/** Requests answered as a stream: they record themselves when the stream ends. */
const streamed = new WeakSet<FastifyRequest>();

export async function openAiRoutes(app: FastifyInstance, { platform }: { platform: Platform }) {
  const plane = platform.serving.plane;
  const streams = new Set<() => void>();
  // Open streams end when the server shuts down, so that close() does not wait for them.
  app.addHook('preClose', async () => {
    for (const end of streams) end();
  });

  /** Counted once per request, by the endpoint named in `model`, after the answer (or the stream: 499 when the client left) ended. */
  const record: Recorder = (req, status, seconds) => {
    const model = (req.body as { model?: unknown } | undefined)?.model;
    if (typeof model === 'string' && req.principal) plane.recordRequest(req.principal.tenantId, model, status, seconds);
  };
  app.addHook('onResponse', (req, reply, done) => {
    if (!streamed.has(req)) record(req, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  const route = (path: string, kind: OpenAiKind, summary: string) => app.post(path, {
    config: { access: 'predict' },
    schema: {
      tags: ['openai'], summary,
      description: 'OpenAI-compatible: `model` names the endpoint (a causal_lm version). Fields: max_tokens, temperature, top_p, top_k, seed, stop, n, frequency_penalty, presence_penalty, repetition_penalty, logprobs, stream, stream_options.include_usage. Answers carry `usage`. See docs/API.md "Language model endpoints".',
      body: { type: 'object' },
    },
  }, async (req, reply) => {
    const g = startGeneration(plane, principalOf(req), kind, req.body);
    if (!g.stream) {
      // A client gone before its answer frees the slots too.
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) g.cancel();
      });
      const answer = await g.answer();
      await meter(req, reply, g);
      return answer;
    }
    await streamAnswer(req, reply, g, streams, record);
    await meter(req, reply, g);
  });

  /** Tokens metered into /v1/usage and taken from the rate-limit buckets, whether the answer streamed or not. */
  const meter = (req: FastifyRequest, reply: FastifyReply, g: OpenAiGeneration) => {
    const u = g.usage();
    return recordAnswerTokens(platform, req, reply, (req.body as { model: string }).model, { prompt: u.prompt_tokens, completion: u.completion_tokens });
  };

  route('/completions', 'completion', 'Complete a prompt (a string or token ids)');
  route('/chat/completions', 'chat', 'Answer chat messages (the model\'s chat template, else "role: content" lines)');
}

/** Writes the chunks as SSE; a client that disconnects cancels the generation at once. */
async function streamAnswer(req: FastifyRequest, reply: FastifyReply, g: OpenAiGeneration, streams: Set<() => void>, record: Recorder): Promise<void> {
  streamed.add(req);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>), // the rate-limit headers set on admission
    'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive',
    'x-accel-buffering': 'no', 'x-request-id': String(req.id),
  });
  res.flushHeaders();
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    g.cancel();
  };
  streams.add(end);
  res.on('close', end);
  try {
    await g.chunks((chunk) => {
      if (open) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    });
    if (open) res.write('data: [DONE]\n\n');
  } catch (err) {
    // Headers are gone: the error travels as one more event, in OpenAI's error shape.
    const e = errorReplyFor(err, String(req.id), req.log);
    if (open) res.write(`data: ${JSON.stringify(openAiErrorBody(e))}\n\n`);
  } finally {
    streams.delete(end);
    const wasOpen = open;
    open = false;
    res.end();
    record(req, wasOpen ? 200 : 499, reply.elapsedTime / 1000);
  }
}
