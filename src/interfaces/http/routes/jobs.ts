/**
 * Jobs: submit, list, get, cancel, logs, and the live event stream (Server-Sent Events with
 * replay after Last-Event-ID). Another tenant's job answers 404 on every route.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Platform } from '../../platform.js';
import { principalOf } from '../context.js';
import { IdParams, ListOf, StringEnum } from '../../../api/schemas.js';
import { Job, JobQuery, LogLine, SubmitJob } from '../../../api/schemas-jobs.js';
import { TERMINAL, type JobEvent } from '../../../services/jobs/job-store.js';
import type { SubmitInput } from '../../../services/jobs/jobs-service.js';

/** Seconds between SSE comment lines that keep proxies from closing an idle stream. */
const SSE_HEARTBEAT_SECONDS = 15;
const SSE_POLL_MS = 1000;

export async function jobRoutes(base: FastifyInstance, { platform }: { platform: Platform }) {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const service = platform.jobs.jobs;
  const streams = new Set<() => void>();
  // Open event streams end when the server shuts down, so that close() does not wait for them.
  app.addHook('preClose', async () => { for (const end of streams) end(); });

  app.post('/v1/jobs', {
    config: { access: 'write' },
    schema: {
      tags: ['jobs'], summary: 'Submit a job',
      description: 'Common fields: `type`, `priority`, `resources: {cpu, memoryMb, gpu}`, `retry: {maxAttempts, backoffSeconds}`, `name`; the other fields belong to the job type. The spec is checked before anything is queued.',
      body: SubmitJob, response: { 202: Job },
    },
  }, async (req, reply) => {
    const job = await service.submit(principalOf(req), req.body as SubmitInput);
    req.auditObjectId = job.id;
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
  });

  app.get('/v1/jobs', {
    config: { access: 'read' },
    schema: { tags: ['jobs'], summary: 'List jobs, newest first', querystring: JobQuery, response: { 200: ListOf(Job) } },
  }, async (req) => ({ data: await service.list(principalOf(req), req.query) }));

  app.get('/v1/job-types', {
    config: { access: 'read' },
    schema: {
      tags: ['jobs'], summary: 'The job types this platform runs',
      response: { 200: ListOf(Type.Object({ name: Type.String(), description: Type.String(), defaultResources: Type.Object({}, { additionalProperties: true }) })) },
    },
  }, async () => ({
    data: platform.jobs.types.list().map((t) => ({ name: t.name, description: t.description ?? '', defaultResources: t.defaultResources ?? {} })),
  }));

  app.get('/v1/jobs/:id', {
    config: { access: 'read' },
    schema: { tags: ['jobs'], summary: 'A job, with its attempts', params: IdParams, response: { 200: Job } },
  }, async (req) => service.get(principalOf(req), req.params.id));

  app.post('/v1/jobs/:id/cancel', {
    config: { access: 'write' },
    schema: {
      tags: ['jobs'], summary: 'Cancel a job',
      description: 'A queued job is cancelled at once; a running one is told to stop and killed if it has not within the grace period (AIAAS_JOB_GRACE_SECONDS). Answers when it has stopped.',
      params: IdParams, response: { 200: Job },
    },
  }, async (req) => service.cancel(principalOf(req), req.params.id));

  app.get('/v1/jobs/:id/logs', {
    config: { access: 'read' },
    schema: {
      tags: ['jobs'], summary: 'Log lines of a job (every run), oldest first',
      description: 'JSON by default; `?format=text` (or `Accept: text/plain`) answers the lines as plain text. Page with `after` (the last `seq` seen).',
      params: IdParams,
      querystring: Type.Object({
        after: Type.Integer({ minimum: 0, default: 0 }),
        limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
        format: Type.Optional(StringEnum(['json', 'text'] as const)),
      }),
      response: { 200: Type.Object({ data: Type.Array(LogLine), next: Type.Integer({ description: 'pass as `after` for the next page' }) }) },
    },
  }, async (req, reply) => {
    const events = await service.events(principalOf(req), req.params.id, req.query.after, req.query.limit, ['log']);
    const data = events.map((e) => ({ seq: e.seq, at: e.at, stream: String(e.data.stream ?? 'job'), line: String(e.data.line ?? '') }));
    const next = events.length ? events[events.length - 1]!.seq : req.query.after;
    const text = req.query.format === 'text' || (req.query.format === undefined && /^text\/plain/.test(req.headers.accept ?? ''));
    if (text) return reply.type('text/plain; charset=utf-8').header('x-next-after', String(next)).send((data.map((d) => d.line).join('\n') + (data.length ? '\n' : '')) as never);
    return { data, next };
  });

  app.get('/v1/jobs/:id/events', {
    config: { access: 'read' },
    schema: {
      tags: ['jobs'], summary: 'Live events of a job (Server-Sent Events)',
      description: 'Each event has `id:` (1, 2, … per job), `event:` (status | progress | metrics | log) and `data:` (JSON). The whole history is replayed first (after `Last-Event-ID` or `?lastEventId=` when given), then events stream live until the job ends. Comment lines keep the connection open.',
      params: IdParams,
      querystring: Type.Object({ lastEventId: Type.Optional(Type.Integer({ minimum: 0 })) }),
    },
  }, async (req, reply) => {
    const p = principalOf(req);
    const id = req.params.id;
    await service.assertVisible(p, id);
    const header = Number(req.headers['last-event-id']);
    let last = Number.isInteger(header) && header >= 0 ? header : (req.query.lastEventId ?? 0);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive',
      'x-accel-buffering': 'no', 'x-request-id': String(req.id),
    });
    res.write('retry: 2000\n\n');

    let closed = false;
    let wakeUp: (() => void) | undefined;
    let dirty = false;
    const onChange = (jobId: string) => {
      if (jobId !== id) return;
      dirty = true;
      wakeUp?.();
    };
    const end = () => {
      if (closed) return;
      closed = true;
      wakeUp?.();
    };
    streams.add(end);
    platform.jobs.store.changes.on('job', onChange);
    req.raw.on('close', end);
    res.on('close', end);
    res.on('error', end);
    const write = (e: JobEvent) => res.write(`id: ${e.seq}\nevent: ${e.kind}\ndata: ${JSON.stringify({ ...e.data, at: e.at })}\n\n`);
    let lastBeat = Date.now();
    try {
      while (!closed) {
        const row = await platform.jobs.store.row(id);
        const events = await platform.jobs.store.events(id, last, 500);
        for (const e of events) {
          if (closed) break;
          write(e);
          last = e.seq;
        }
        if (events.length === 500) continue;
        dirty = false;
        if (!row || TERMINAL.has(row.status)) break;
        if (Date.now() - lastBeat >= SSE_HEARTBEAT_SECONDS * 1000) {
          res.write(': keep-alive\n\n');
          lastBeat = Date.now();
        }
        if (dirty) continue;
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, SSE_POLL_MS);
          function done() {
            clearTimeout(t);
            wakeUp = undefined;
            resolve();
          }
          wakeUp = done;
        });
      }
    } catch (err) {
      req.log.error({ err, job: id }, 'job event stream failed');
    } finally {
      streams.delete(end);
      platform.jobs.store.changes.off('job', onChange);
      if (!res.writableEnded) res.end();
    }
  });
}
