/**
 * The TypeScript client of the aiaas API: fetch-based, no Node imports, so the same code runs in
 * Node 20, in browsers (the console) and in the CLI. Errors from the API are `ApiError`s carrying
 * the API's status, code, message and details.
 */
import { createParser } from 'eventsource-parser';
import type {
  Alert, ApiKey, AuditEntry, CreateAlert, Cluster, CreatedKey, CreateEndpoint, CreateKey, DatasetRows, DatasetSummary, DatasetVersion, Endpoint, Job,
  DriftQuery, DriftReport, JobEvent, JobQuery, LoggedPredictions, LogLine, ModelDetail, ModelSummary, ModelVersion, PredictionsQuery, PredictResponse, ExplainResponse, ExplainOptions, Stage, TenantQuota, TenantQuotaPatch, SubmitJob, Tenant, TrainRequest, TuneRequest, OptimizeRequest,
  UpdateEndpoint, Usage, Whoami,
} from './types.js';

export interface ClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 ('' in a browser on the same origin). */
  url: string;
  apiKey?: string;
  /** Admins: act in this tenant (id or name), sent as X-Tenant. */
  tenant?: string;
  fetch?: typeof fetch;
}

type BodyInit = NonNullable<RequestInit['body']>;

/** The part of the browser's XMLHttpRequest used for upload progress (fetch cannot report it). */
interface Xhr {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null };
  onerror: (() => void) | null;
  onload: (() => void) | null;
  status: number;
  responseText: string;
  send(body: unknown): void;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | null>;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** An error answer of the API (4xx/5xx), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type UploadBody = Blob | ArrayBuffer | Uint8Array | string | ReadableStream<Uint8Array>;

export interface UploadOptions {
  name?: string;
  format?: 'csv' | 'jsonl' | 'text';
  filename?: string;
  /** Browsers only: upload progress (0..1), reported through XMLHttpRequest. */
  onProgress?: (fraction: number) => void;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string;
  content: string;
}

/** OpenAI's fields for a chat completion (any other field is passed through as given). */
export interface ChatOptions {
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  stop?: string | string[];
  signal?: AbortSignal;
  [field: string]: unknown;
}

/** A piece of a streamed answer: text, then the finish reason, and the usage last. */
export interface ChatPiece {
  text: string;
  finishReason?: string;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export class AiaasClient {
  readonly url: string;
  apiKey: string | undefined;
  tenant: string | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.tenant = opts.tenant;
    this.fetchImpl = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  }

  /** Headers every call sends: the key, and X-Tenant when set. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.apiKey) h.authorization = `Bearer ${this.apiKey}`;
    if (this.tenant) h['x-tenant'] = this.tenant;
    return h;
  }

  pathUrl(path: string, query?: RequestOptions['query']): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    const qs = q.toString();
    return `${this.url}${path}${qs ? `?${qs}` : ''}`;
  }

  /** A raw call: the Response when it is 2xx, else an ApiError. */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers = this.headers(opts.headers);
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const init: RequestInit & { duplex?: 'half' } = { method, headers, body, signal: opts.signal };
    if (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) init.duplex = 'half';
    let res: Response;
    try {
      res = await this.fetchImpl(this.pathUrl(path, opts.query), init);
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, 'network_error', `Cannot reach ${this.url}: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause: Error }).cause.message})` : ''}`);
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  /** A JSON call. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  // ---- health ----
  health = () => this.get<{ status: 'ok' }>('/healthz');

  // ---- tenants, keys, audit ----
  /** The calling key: its name, role, tenant, the tenant it acts in, and the roles it may grant. */
  whoami = () => this.get<Whoami>('/v1/whoami');
  tenants = {
    list: () => this.get<{ data: Tenant[] }>('/v1/tenants').then((r) => r.data),
    get: (id: string) => this.get<Tenant>(`/v1/tenants/${enc(id)}`),
    create: (name: string) => this.request<Tenant>('POST', '/v1/tenants', { json: { name } }),
    quota: (id: string) => this.get<TenantQuota>(`/v1/tenants/${enc(id)}/quota`),
    setQuota: (id: string, quota: TenantQuotaPatch) => this.request<TenantQuota>('PUT', `/v1/tenants/${enc(id)}/quota`, { json: quota }),
  };

  keys = {
    list: (tenant?: string) => this.get<{ data: ApiKey[] }>('/v1/keys', { tenant }).then((r) => r.data),
    create: (key: CreateKey) => this.request<CreatedKey>('POST', '/v1/keys', { json: key }),
    revoke: (id: string) => this.request<ApiKey>('DELETE', `/v1/keys/${enc(id)}`),
  };

  // ---- alerts ----
  alerts = {
    list: () => this.get<{ data: Alert[] }>('/v1/alerts').then((r) => r.data),
    get: (id: string) => this.get<Alert>(`/v1/alerts/${enc(id)}`),
    create: (alert: CreateAlert) => this.request<Alert>('POST', '/v1/alerts', { json: alert }),
    delete: (id: string) => this.request<Alert>('DELETE', `/v1/alerts/${enc(id)}`),
  };

  audit = (query: Record<string, string | number | undefined> = {}) => this.get<{ data: AuditEntry[] }>('/v1/audit', query).then((r) => r.data);

  // ---- datasets ----
  datasets = {
    list: () => this.get<{ data: DatasetSummary[] }>('/v1/datasets').then((r) => r.data),
    get: (idOrName: string, version?: number) => this.get<DatasetVersion>(`/v1/datasets/${enc(idOrName)}`, { version }),
    versions: (idOrName: string) => this.get<{ data: DatasetVersion[] }>(`/v1/datasets/${enc(idOrName)}/versions`).then((r) => r.data),
    rows: (idOrName: string, opts: { offset?: number; limit?: number; version?: number } = {}) =>
      this.get<DatasetRows>(`/v1/datasets/${enc(idOrName)}/rows`, opts),
    delete: (idOrName: string, version?: number) =>
      this.request<{ id: string; name: string; deletedVersions: number[] }>('DELETE', `/v1/datasets/${enc(idOrName)}`, { query: { version } }),
    /** Uploads a file (the raw body): a new dataset, or a new version of an existing name. */
    upload: (body: UploadBody, opts: UploadOptions = {}) => {
      const query = { name: opts.name, format: opts.format, filename: opts.filename };
      const XhrClass = (globalThis as { XMLHttpRequest?: new () => Xhr }).XMLHttpRequest;
      if (opts.onProgress && XhrClass && !(typeof ReadableStream !== 'undefined' && body instanceof ReadableStream)) {
        return this.xhrUpload<DatasetVersion>(new XhrClass(), this.pathUrl('/v1/datasets', query), body, opts.onProgress);
      }
      return this.request<DatasetVersion>('POST', '/v1/datasets', {
        query, body: body as BodyInit, headers: { 'content-type': 'application/octet-stream' },
      });
    },
  };

  private xhrUpload<T>(xhr: Xhr, url: string, body: unknown, onProgress: (f: number) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      xhr.open('POST', url);
      for (const [k, v] of Object.entries(this.headers({ 'content-type': 'application/octet-stream' }))) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      xhr.onerror = () => reject(new ApiError(0, 'network_error', `Cannot reach ${this.url || 'the server'}.`));
      xhr.onload = () => {
        let parsed: unknown;
        try { parsed = xhr.responseText ? JSON.parse(xhr.responseText) : undefined; } catch { parsed = undefined; }
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(1);
          resolve(parsed as T);
        } else reject(errorFromBody(xhr.status, parsed, xhr.responseText));
      };
      xhr.send(body);
    });
  }

  // ---- jobs ----
  jobs = {
    submit: (job: SubmitJob & Record<string, unknown>) => this.request<Job>('POST', '/v1/jobs', { json: job }),
    /** Starts a training job (API.md's train request). */
    train: (spec: TrainRequest) => this.request<Job>('POST', '/v1/jobs', { json: { ...spec, type: 'train' } }),
    /** Starts a tune job (API.md's tune request): trials as child train jobs, the best registered. */
    tune: (spec: TuneRequest) => this.request<Job>('POST', '/v1/jobs', { json: { ...spec, type: 'tune' } }),
    /** Starts an optimize job (API.md "Model optimization"): quantize, fp16 or prune a version into a new one. */
    optimize: (spec: OptimizeRequest) => this.request<Job>('POST', '/v1/jobs', { json: { ...spec, type: 'optimize' } }),
    list: (query: JobQuery = {}) => this.get<{ data: Job[] }>('/v1/jobs', query as RequestOptions['query']).then((r) => r.data),
    get: (id: string) => this.get<Job>(`/v1/jobs/${enc(id)}`),
    cancel: (id: string) => this.request<Job>('POST', `/v1/jobs/${enc(id)}/cancel`),
    logs: (id: string, opts: { after?: number; limit?: number } = {}) => this.get<{ data: LogLine[]; next: number }>(`/v1/jobs/${enc(id)}/logs`, opts),
    types: () => this.get<{ data: Array<{ name: string; description: string }> }>('/v1/job-types').then((r) => r.data),
    /** The job's events (history first, then live) until the job ends or `signal` aborts. */
    events: (id: string, opts: { lastEventId?: number; signal?: AbortSignal } = {}) => this.jobEvents(id, opts),
    /** Resolves with the job once it has finished (succeeded, failed or cancelled). */
    wait: async (id: string, opts: { signal?: AbortSignal; onEvent?: (e: JobEvent) => void } = {}): Promise<Job> => {
      let lastEventId = 0;
      let retryMs = 500; // until the server says otherwise (its `retry:` field)
      for (;;) {
        // The stream ends with the job; if it drops earlier, resume after the last event seen.
        for await (const e of this.jobEvents(id, { signal: opts.signal, lastEventId, onRetry: (ms) => { retryMs = ms; } })) {
          lastEventId = e.id || lastEventId;
          opts.onEvent?.(e);
        }
        const job = await this.jobs.get(id);
        if (TERMINAL.has(job.status)) return job;
        await new Promise((r) => setTimeout(r, retryMs));
      }
    },
  };

  private async *jobEvents(id: string, opts: { lastEventId?: number; signal?: AbortSignal; onRetry?: (ms: number) => void }): AsyncGenerator<JobEvent> {
    const res = await this.raw('GET', `/v1/jobs/${enc(id)}/events`, { query: { lastEventId: opts.lastEventId }, signal: opts.signal, headers: { accept: 'text/event-stream' } });
    if (!res.body) return;
    yield* parseSse(res.body, { onRetry: opts.onRetry });
  }

  // ---- models ----
  models = {
    list: () => this.get<{ data: ModelSummary[] }>('/v1/models').then((r) => r.data),
    get: (name: string) => this.get<ModelDetail>(`/v1/models/${enc(name)}`),
    versions: (name: string, stage?: Stage) => this.get<{ data: ModelVersion[] }>(`/v1/models/${enc(name)}/versions`, { stage }).then((r) => r.data),
    version: (name: string, v: number | string) => this.get<ModelVersion>(`/v1/models/${enc(name)}/versions/${enc(String(v))}`),
    setStage: (name: string, v: number | string, stage: Stage, archiveExisting?: boolean) =>
      this.request<ModelVersion>('PATCH', `/v1/models/${enc(name)}/versions/${enc(String(v))}`, { json: archiveExisting === undefined ? { stage } : { stage, archiveExisting } }),
    /** The ONNX file, or with format 'hf' a causal_lm's Hugging Face folder as .tar.gz (the Response: stream its body, or read it with arrayBuffer()). */
    artifact: (name: string, v: number | string, format?: 'onnx' | 'hf') => this.raw('GET', `/v1/models/${enc(name)}/versions/${enc(String(v))}/artifact`, { query: { format } }),
    artifactUrl: (name: string, v: number | string) => this.pathUrl(`/v1/models/${enc(name)}/versions/${enc(String(v))}/artifact`),
    import: (name: string, onnx: UploadBody, query: { task?: string; labels?: string; description?: string } = {}) =>
      this.request<ModelVersion>('POST', `/v1/models/${enc(name)}/versions`, { query, body: onnx as BodyInit, headers: { 'content-type': 'application/octet-stream' } }),
    delete: (name: string, v?: number | string) =>
      this.request<{ name: string; deletedVersions: number[] }>('DELETE', v === undefined ? `/v1/models/${enc(name)}` : `/v1/models/${enc(name)}/versions/${enc(String(v))}`),
  };

  // ---- endpoints and predictions ----
  endpoints = {
    list: () => this.get<{ data: Endpoint[] }>('/v1/endpoints').then((r) => r.data),
    get: (name: string) => this.get<Endpoint>(`/v1/endpoints/${enc(name)}`),
    create: (body: CreateEndpoint, opts: { wait?: boolean } = {}) => this.request<Endpoint>('POST', '/v1/endpoints', { json: body, query: { wait: opts.wait } }),
    update: (name: string, body: UpdateEndpoint) => this.request<Endpoint>('PATCH', `/v1/endpoints/${enc(name)}`, { json: body }),
    delete: (name: string) => this.request<{ id: string; name: string; deleted: boolean }>('DELETE', `/v1/endpoints/${enc(name)}`),
    predict: (name: string, instances: unknown[]) => this.request<PredictResponse>('POST', `/v1/endpoints/${enc(name)}/predict`, { json: { instances } }),
    /** SHAP values per raw column for up to 10 rows (exact TreeSHAP for tree ensembles, KernelSHAP otherwise). */
    explain: (name: string, instances: unknown[], opts: ExplainOptions = {}) =>
      this.request<ExplainResponse>('POST', `/v1/endpoints/${enc(name)}/explain`, { json: { instances, ...opts } }),
    /** The raw columns the served version takes (from the OIP metadata, which inference keys may read). */
    columns: (name: string) => this.get<{ parameters?: { columns?: { name: string; type: string; nullable?: boolean }[] } }>(`/v2/models/${enc(name)}`).then((r) => r.parameters?.columns ?? []),
    /** A page of the endpoint's logged predictions, newest first (`logging.sampleRate` sets what is logged); pass `next` as `cursor`. */
    predictions: (name: string, query: PredictionsQuery = {}) => this.get<LoggedPredictions>(`/v1/endpoints/${enc(name)}/predictions`, query),
    /** Per raw feature, PSI (and KS) of the rows logged in the last `window` seconds against the served version's training rows. */
    drift: (name: string, query: DriftQuery = {}) => this.get<DriftReport>(`/v1/endpoints/${enc(name)}/drift`, query),
    /** The endpoint's Prometheus text (requests, latency, batch sizes, replicas). */
    metrics: (name: string) => this.raw('GET', `/v1/endpoints/${enc(name)}/metrics`).then((r) => r.text()),
    /** Resolves once the endpoint is ready (or throws when it failed or the time is up). */
    /** `untilFound`: a 404 is waited out too (an API node that has not yet heard of an endpoint made through another). */
    waitReady: async (name: string, timeoutMs = 60_000, opts: { untilFound?: boolean } = {}): Promise<Endpoint> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let ep: Endpoint | undefined;
        try {
          ep = await this.endpoints.get(name);
        } catch (err) {
          if (!(opts.untilFound && err instanceof ApiError && err.status === 404 && Date.now() <= deadline)) throw err;
        }
        if (ep?.status === 'ready') return ep;
        if (ep?.status === 'failed') throw new ApiError(409, 'endpoint_failed', `Endpoint '${name}' failed: ${ep.error ?? 'unknown error'}`);
        if (Date.now() > deadline) throw new ApiError(504, 'timeout', `Endpoint '${name}' is still ${ep?.status ?? 'not found'} after ${timeoutMs} ms.`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
  };

  // ---- language models (the OpenAI-compatible routes) ----
  chat = {
    /**
     * A chat completion streamed from a language-model endpoint (POST /openai/v1/chat/completions
     * with stream: true): the text pieces as they are generated; `usage` once at the end.
     */
    stream: (endpoint: string, messages: ChatMessage[], opts: ChatOptions = {}) => this.chatStream(endpoint, messages, opts),
  };

  private async *chatStream(endpoint: string, messages: ChatMessage[], opts: ChatOptions): AsyncGenerator<ChatPiece> {
    const { signal, ...fields } = opts;
    const res = await this.raw('POST', '/openai/v1/chat/completions', {
      json: { ...fields, model: endpoint, messages, stream: true, stream_options: { include_usage: true } }, signal, headers: { accept: 'text/event-stream' },
    });
    if (!res.body) return;
    for await (const e of parseSse(res.body)) {
      const data = e.data as { text?: string; error?: { code?: string; message?: string; details?: Record<string, unknown> }; choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }>; usage?: ChatPiece['usage'] };
      if (data.text === '[DONE]') return;
      if (data.error) throw errorFromBody(500, data, '');
      const choice = data.choices?.[0];
      if (choice?.delta?.content || choice?.finish_reason) yield { text: choice.delta?.content ?? '', finishReason: choice.finish_reason ?? undefined };
      if (data.usage) yield { text: '', usage: data.usage };
    }
  }

  // ---- scheduler and usage ----
  cluster = () => this.get<Cluster>('/v1/cluster');
  usage = (query: { from?: string; to?: string; tenant?: string } = {}) => this.get<Usage>('/v1/usage', query);
}

const enc = encodeURIComponent;

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let parsed: unknown;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
  return errorFromBody(res.status, parsed, text);
}

function errorFromBody(status: number, parsed: unknown, text: string): ApiError {
  const e = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
  if (e?.message) return new ApiError(status, e.code ?? 'error', e.message, e.details ?? {});
  return new ApiError(status, `http_${status}`, `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}

/**
 * Parses a text/event-stream body into events, through eventsource-parser (the WHATWG rules: LF,
 * CRLF or lone CR line ends, multi-line `data:`, comments, a leading BOM, `retry:`, chunks split
 * anywhere, even inside a CRLF or a UTF-8 character). Data is JSON (else `{ text }`); an event
 * without `id:` keeps the last id seen, as the spec's last event ID does, so a resume starts after it.
 */
export async function* parseSse(body: ReadableStream<Uint8Array>, opts: { onRetry?: (ms: number) => void } = {}): AsyncGenerator<JobEvent> {
  const ready: JobEvent[] = [];
  let id = 0;
  const parser = createParser({
    onEvent: (m) => {
      if (m.id !== undefined && /^\d+$/.test(m.id)) id = Number(m.id);
      ready.push({ id, event: m.event ?? 'message', data: jsonOrText(m.data) });
    },
    onRetry: opts.onRetry,
  });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let endsInCr = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      // The parser holds a final CR back (an LF may follow); at the end of the stream it ends a line.
      const text: string = done ? decoder.decode() + (endsInCr ? '\n' : '') : decoder.decode(value, { stream: true });
      if (text) endsInCr = text.endsWith('\r');
      parser.feed(text);
      yield* ready.splice(0);
      if (done) return; // an event the stream cut before its blank line is dropped, as the spec says
    }
  } finally {
    reader.releaseLock();
  }
}

function jsonOrText(data: string): Record<string, unknown> {
  try {
    const v = JSON.parse(data) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch { /* not JSON */ }
  return { text: data };
}
