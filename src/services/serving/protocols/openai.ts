/**
 * The OpenAI-compatible protocol (completions and chat completions) over the data plane:
 * authorize the caller on the endpoint named by `model`, pick a version (traffic split and
 * canaries as for every protocol), read the body, submit one sequence per choice to the
 * version's continuous batch (pool.generate), and answer as OpenAI does: one JSON object, or
 * chunks for a stream. Stop sequences are found here, on the decoded text (a sequence that meets
 * one is cancelled at once), and text that could still become a stop sequence, or an unfinished
 * UTF-8 character, is held back until the next token says.
 *
 * Everything is checked before the first sequence starts, so refusals (bad fields, context
 * window, full queue) come back as errors before any stream begins.
 */
import { randomBytes } from 'node:crypto';
import { InvalidInputError, type DomainError } from '../../../infra/errors.js';
import type { SamplingParams, TokenEvent } from '../../../engine/lm/index.js';
import type { Principal } from '../../principal.js';
import type { DataPlane, PredictTarget } from '../data-plane.js';
import type { LanguageModel } from '../language-model.js';
import type { GenerationHandle } from '../pool.js';
import { chatPrompt, type ChatMessage } from './chat-template.js';

export type OpenAiKind = 'completion' | 'chat';

/** OpenAI's usage object; metering and rate limits count the same numbers. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

export type FinishReason = 'stop' | 'length';

/** A generation under way: answered whole (`answer`) or as chunks (`stream`), once. */
export interface OpenAiGeneration {
  /** Whether the body asked for a stream. */
  readonly stream: boolean;
  /** The endpoint and version answering. */
  readonly target: PredictTarget;
  /** The whole answer, once every choice has ended. */
  answer(): Promise<Record<string, unknown>>;
  /** Streams chunks to `write` (each is one SSE `data:`), resolving after the last. */
  chunks(write: (chunk: Record<string, unknown>) => void): Promise<void>;
  /** Stops every choice (the client went away): their slots are free at once. */
  cancel(): void;
  /** Prompt and completion tokens so far (final once answered or streamed). */
  usage(): Usage;
}

interface ParsedRequest {
  model: string;
  prompts: number[][];
  n: number;
  maxTokens: number | undefined;
  sampling: SamplingParams;
  seed: number | undefined;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  /** -1: none; else the alternatives per token. */
  logprobs: number;
}

const MAX_N = 16;
const MAX_STOP = 4;

/** Starts a completion or a chat completion (throws the refusal, before anything runs). */
export function startGeneration(plane: DataPlane, p: Principal, kind: OpenAiKind, body: unknown): OpenAiGeneration {
  const raw = asObject(body);
  const model = requireString(raw, 'model');
  const target = plane.target(p, model);
  const lm = target.served.lm;
  if (!lm) {
    throw new InvalidInputError('not_a_language_model', `Endpoint '${model}' serves a ${target.served.version.kind} model, not a language model; use POST /v1/endpoints/${model}/predict for it.`, { param: 'model' });
  }
  const req = kind === 'chat' ? parseChat(raw, lm) : parseCompletion(raw, lm);
  return new Generation(plane, target, lm, kind, req);
}

// ---- the generation ------------------------------------------------------------------------

interface Choice {
  index: number;
  promptTokens: number;
  tokens: number[];
  logprobs: Array<{ token: number; logprob: number; top: Array<{ token: number; logprob: number }> }>;
  /** Text sent (streams) or final so far. */
  sent: number;
  text: string;
  finish?: FinishReason;
  handle?: GenerationHandle;
}

class Generation implements OpenAiGeneration {
  readonly stream: boolean;
  private readonly id: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly choices: Choice[] = [];
  private readonly started = performance.now();
  private lastTokenAt: number | undefined;
  private firstTokenSeconds: number | undefined;
  private readonly gaps: number[] = [];
  private generatedTokens = 0;
  private writer: ((chunk: Record<string, unknown>) => void) | undefined;
  private readonly pending: Record<string, unknown>[] = [];
  private failure: DomainError | undefined;
  private settle!: () => void;
  private fail!: (err: DomainError) => void;
  private readonly finished: Promise<void>;
  private roleSent = new Set<number>();

  constructor(
    private readonly plane: DataPlane,
    readonly target: PredictTarget,
    private readonly lm: LanguageModel,
    private readonly kind: OpenAiKind,
    private readonly req: ParsedRequest,
  ) {
    this.stream = req.stream;
    this.id = (kind === 'chat' ? 'chatcmpl-' : 'cmpl-') + randomBytes(12).toString('hex');
    this.finished = new Promise<void>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    this.finished.catch(() => undefined);
    let index = 0;
    for (const prompt of req.prompts) {
      for (let k = 0; k < req.n; k++) this.choices.push({ index: index++, promptTokens: prompt.length, tokens: [], logprobs: [], sent: 0, text: '' });
    }
    try {
      for (const c of this.choices) {
        const prompt = req.prompts[Math.floor(c.index / req.n)]!;
        const room = lm.shape.context - prompt.length;
        c.handle = target.served.pool.generate({
          prompt, maxTokens: Math.min(req.maxTokens ?? room, room), sampling: req.sampling,
          // Choice k of a seeded request has its own stream: n choices differ, and each is reproducible.
          seed: req.seed !== undefined ? req.seed + c.index * 0x9e3779b1 : randomBytes(4).readUInt32LE(0),
          eos: lm.eos, logprobs: req.logprobs,
        }, { onToken: (e) => this.onToken(c, e), onError: (err) => this.onError(err) });
      }
    } catch (err) {
      this.cancel();
      throw err;
    }
    plane.recordPredictions(target.endpoint, this.choices.length);
  }

  usage(): Usage {
    const prompt = this.req.prompts.reduce((n, p) => n + p.length, 0);
    return usageOf(prompt, this.choices.reduce((n, c) => n + c.tokens.length, 0));
  }

  cancel(): void {
    for (const c of this.choices) {
      c.handle?.cancel();
      c.finish ??= 'stop';
    }
    this.done();
  }

  async answer(): Promise<Record<string, unknown>> {
    await this.finished;
    return {
      id: this.id, object: this.kind === 'chat' ? 'chat.completion' : 'text_completion', created: this.created, model: this.req.model,
      choices: this.choices.map((c) => this.kind === 'chat'
        ? { index: c.index, message: { role: 'assistant', content: c.text }, logprobs: this.chatLogprobs(c, 0), finish_reason: c.finish ?? 'stop' }
        : { index: c.index, text: c.text, logprobs: this.completionLogprobs(c, 0), finish_reason: c.finish ?? 'stop' }),
      usage: this.usage(),
    };
  }

  async chunks(write: (chunk: Record<string, unknown>) => void): Promise<void> {
    for (const chunk of this.pending.splice(0)) write(chunk);
    this.writer = write;
    await this.finished;
    if (this.req.includeUsage) write({ ...this.chunkHead(), choices: [], usage: this.usage() });
  }

  private chunkHead(): Record<string, unknown> {
    return { id: this.id, object: this.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: this.created, model: this.req.model };
  }

  private onToken(c: Choice, e: TokenEvent): void {
    if (c.finish) return;
    const lpFrom = c.logprobs.length;
    if (e.token !== undefined) {
      this.timeToken();
      c.tokens.push(e.token);
      if (e.logprob !== undefined) c.logprobs.push({ token: e.token, logprob: e.logprob, top: e.top ?? [] });
    }
    const full = this.lm.tokenizer.decode(c.tokens);
    let end = full.length;
    let finish: FinishReason | undefined = e.finish;
    const hit = firstStop(full, this.req.stop, Math.max(0, c.sent - longest(this.req.stop)));
    if (hit >= 0) {
      end = hit;
      finish = 'stop';
      c.handle?.cancel();
    } else if (!finish) {
      end = safeEnd(full, this.req.stop);
    }
    c.text = full.slice(0, end);
    if (finish) c.finish = finish;
    if (this.stream) this.streamDelta(c, lpFrom);
    if (this.choices.every((x) => x.finish)) this.done();
  }

  private streamDelta(c: Choice, lpFrom: number): void {
    const delta = c.text.slice(c.sent);
    const hasLogprobs = c.logprobs.length > lpFrom;
    if (!delta && !c.finish && !hasLogprobs) return;
    c.sent = c.text.length;
    const finish_reason = c.finish ?? null;
    let choice: Record<string, unknown>;
    if (this.kind === 'chat') {
      const d: Record<string, unknown> = {};
      if (!this.roleSent.has(c.index)) {
        d.role = 'assistant';
        this.roleSent.add(c.index);
      }
      if (delta || !c.finish) d.content = delta;
      choice = { index: c.index, delta: d, logprobs: hasLogprobs ? this.chatLogprobs(c, lpFrom) : null, finish_reason };
    } else {
      choice = { index: c.index, text: delta, logprobs: hasLogprobs ? this.completionLogprobs(c, lpFrom) : null, finish_reason };
    }
    const chunk = { ...this.chunkHead(), choices: [choice], ...(this.req.includeUsage ? { usage: null } : {}) };
    if (this.writer) this.writer(chunk);
    else this.pending.push(chunk);
  }

  private timeToken(): void {
    const now = performance.now();
    if (this.firstTokenSeconds === undefined) this.firstTokenSeconds = (now - this.started) / 1000;
    else if (this.lastTokenAt !== undefined) this.gaps.push((now - this.lastTokenAt) / 1000);
    this.lastTokenAt = now;
    this.generatedTokens++;
  }

  private onError(err: DomainError): void {
    if (this.failure) return;
    this.failure = err;
    for (const c of this.choices) c.handle?.cancel();
    this.record();
    this.fail(err);
  }

  private doneOnce = false;
  private done(): void {
    if (this.doneOnce || this.failure) return;
    this.doneOnce = true;
    this.record();
    this.settle();
  }

  private record(): void {
    this.plane.recordGeneration(this.target.endpoint, { firstTokenSeconds: this.firstTokenSeconds, interTokenSeconds: this.gaps.splice(0), tokens: this.generatedTokens });
  }

  private tokenText(id: number): string {
    return this.lm.tokenizer.decode([id]);
  }

  private chatLogprobs(c: Choice, from: number): Record<string, unknown> | null {
    if (this.req.logprobs < 0) return null;
    const entry = (token: number, logprob: number) => {
      const text = this.tokenText(token);
      return { token: text, logprob, bytes: [...Buffer.from(text, 'utf8')] };
    };
    return {
      content: c.logprobs.slice(from).map((l) => ({ ...entry(l.token, l.logprob), top_logprobs: l.top.map((t) => entry(t.token, t.logprob)) })),
    };
  }

  private completionLogprobs(c: Choice, from: number): Record<string, unknown> | null {
    if (this.req.logprobs < 0) return null;
    const part = c.logprobs.slice(from);
    const tokens = part.map((l) => this.tokenText(l.token));
    const offsets: number[] = [];
    let at = this.tokenTextLength(c, from);
    for (const t of tokens) {
      offsets.push(at);
      at += t.length;
    }
    return {
      tokens, token_logprobs: part.map((l) => l.logprob),
      top_logprobs: part.map((l) => Object.fromEntries(l.top.map((t) => [this.tokenText(t.token), t.logprob]))),
      text_offset: offsets,
    };
  }

  private tokenTextLength(c: Choice, upTo: number): number {
    let n = 0;
    for (let i = 0; i < upTo; i++) n += this.tokenText(c.logprobs[i]!.token).length;
    return n;
  }
}

/** The first index at or after `from` where a stop sequence starts, else -1. */
function firstStop(text: string, stops: string[], from: number): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s, from);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

function longest(stops: string[]): number {
  return stops.reduce((m, s) => Math.max(m, s.length), 0);
}

/** How much of `text` is sure: not an unfinished character, nor a possible start of a stop sequence. */
function safeEnd(text: string, stops: string[]): number {
  let end = text.length;
  while (end > 0 && text[end - 1] === '\uFFFD') end--;
  for (const s of stops) {
    for (let k = Math.min(s.length - 1, end); k > 0; k--) {
      if (text.slice(end - k, end) === s.slice(0, k)) {
        return Math.min(end, end - k);
      }
    }
  }
  return end;
}

// ---- reading the bodies ----------------------------------------------------------------------

function parseCompletion(raw: Record<string, unknown>, lm: LanguageModel): ParsedRequest {
  const prompts = promptsOf(raw.prompt, lm);
  const logprobs = raw.logprobs === undefined || raw.logprobs === null ? -1 : intIn(raw, 'logprobs', 0, 5);
  if (raw.echo === true) throw invalid('echo', '`echo` is not supported; leave it out (the answer is the continuation only).');
  if (raw.suffix !== undefined && raw.suffix !== null) throw invalid('suffix', '`suffix` (insertion) is not supported by decoder-only models; leave it out.');
  // OpenAI's default for completions.
  return common(raw, lm, prompts, logprobs, raw.max_tokens === undefined ? 16 : undefined);
}

function parseChat(raw: Record<string, unknown>, lm: LanguageModel): ParsedRequest {
  const messages = raw.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('messages', '`messages` must be a non-empty array of {role, content}.');
  const parsed: ChatMessage[] = messages.map((m, i) => {
    if (typeof m !== 'object' || m === null) throw invalid(`messages[${i}]`, 'must be an object {role, content}.');
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !role) throw invalid(`messages[${i}].role`, 'must be a string such as "system", "user" or "assistant".');
    return { role, content: contentText(content, i) };
  });
  const text = chatPrompt(parsed, lm);
  const prompt = lm.tokenizer.encode(text);
  let logprobs = -1;
  if (raw.logprobs === true) logprobs = raw.top_logprobs === undefined || raw.top_logprobs === null ? 0 : intIn(raw, 'top_logprobs', 0, 20);
  else if (raw.logprobs !== undefined && raw.logprobs !== null && raw.logprobs !== false) throw invalid('logprobs', 'must be true or false (the alternatives per token are `top_logprobs`).');
  const body = raw.max_completion_tokens !== undefined && raw.max_tokens === undefined ? { ...raw, max_tokens: raw.max_completion_tokens } : raw;
  return common(body, lm, [checkPrompt(prompt, lm, 'messages')], logprobs, undefined);
}

function contentText(content: unknown, i: number): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content.map((part, j) => {
      const p = part as { type?: unknown; text?: unknown };
      if (p?.type !== 'text' || typeof p.text !== 'string') throw invalid(`messages[${i}].content[${j}]`, 'only text parts ({"type": "text", "text": "…"}) are supported by a text model.');
      return p.text;
    }).join('');
  }
  throw invalid(`messages[${i}].content`, 'must be a string or an array of text parts.');
}

function common(raw: Record<string, unknown>, lm: LanguageModel, prompts: number[][], logprobs: number, defaultMax: number | undefined): ParsedRequest {
  const n = raw.n === undefined || raw.n === null ? 1 : intIn(raw, 'n', 1, MAX_N);
  const maxTokens = raw.max_tokens === undefined || raw.max_tokens === null ? defaultMax : intIn(raw, 'max_tokens', 1, lm.shape.context);
  for (const prompt of prompts) {
    const want = maxTokens ?? 1;
    if (prompt.length + want > lm.shape.context) {
      const fix = prompt.length >= lm.shape.context ? `Shorten the prompt to fewer than ${lm.shape.context} tokens.` : `Shorten the prompt or lower max_tokens to at most ${lm.shape.context - prompt.length}.`;
      throw new InvalidInputError('context_length_exceeded', `This model's context window is ${lm.shape.context} tokens; the prompt has ${prompt.length} and max_tokens asks for ${want} more. ${fix}`, {
        param: raw.messages !== undefined ? 'messages' : raw.max_tokens !== undefined ? 'max_tokens' : 'prompt', context: lm.shape.context, promptTokens: prompt.length, maxTokens: want,
      });
    }
  }
  const num = (name: string, lo: number, hi: number, dflt: number): number => {
    const v = raw[name];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw invalid(name, `must be a number from ${lo} to ${hi}.`);
    return v;
  };
  const sampling: SamplingParams = {
    temperature: num('temperature', 0, 2, 1),
    topP: num('top_p', 0, 1, 1) || 1e-9,
    topK: raw.top_k === undefined || raw.top_k === null ? 0 : intIn(raw, 'top_k', 0, lm.shape.vocabSize),
    repetitionPenalty: num('repetition_penalty', 0.01, 10, 1),
    frequencyPenalty: num('frequency_penalty', -2, 2, 0),
    presencePenalty: num('presence_penalty', -2, 2, 0),
  };
  const seed = raw.seed === undefined || raw.seed === null ? undefined : intIn(raw, 'seed', -(2 ** 53), 2 ** 53);
  let stop: string[] = [];
  if (typeof raw.stop === 'string') stop = [raw.stop];
  else if (Array.isArray(raw.stop)) stop = raw.stop as string[];
  else if (raw.stop !== undefined && raw.stop !== null) throw invalid('stop', 'must be a string or an array of up to 4 strings.');
  if (stop.length > MAX_STOP || stop.some((s) => typeof s !== 'string' || s.length === 0)) throw invalid('stop', 'must be a string or an array of up to 4 non-empty strings.');
  if (raw.stream !== undefined && raw.stream !== null && typeof raw.stream !== 'boolean') throw invalid('stream', 'must be true or false.');
  const options = raw.stream_options as { include_usage?: unknown } | undefined | null;
  if (options !== undefined && options !== null && (typeof options !== 'object' || (options.include_usage !== undefined && typeof options.include_usage !== 'boolean'))) {
    throw invalid('stream_options', 'must be {"include_usage": true|false}.');
  }
  const stream = raw.stream === true;
  if (options && !stream) throw invalid('stream_options', '`stream_options` only applies with "stream": true.');
  return {
    model: raw.model as string, prompts, n, maxTokens, sampling, seed, stop, stream, includeUsage: options?.include_usage === true, logprobs,
  };
}

function promptsOf(prompt: unknown, lm: LanguageModel): number[][] {
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.length > 0 && x.every((t) => typeof t === 'number');
  let list: Array<string | number[]>;
  if (typeof prompt === 'string' || isIds(prompt)) list = [prompt];
  else if (Array.isArray(prompt) && prompt.length > 0 && prompt.every((x) => typeof x === 'string' || isIds(x))) list = prompt as Array<string | number[]>;
  else throw invalid('prompt', '`prompt` must be a string, an array of strings, an array of token ids, or an array of arrays of token ids.');
  return list.map((x, i) => {
    if (typeof x === 'string') return checkPrompt(lm.tokenizer.encode(x), lm, 'prompt');
    x.forEach((t, j) => {
      if (!Number.isInteger(t) || t < 0 || t >= lm.shape.vocabSize) throw invalid(list.length > 1 ? `prompt[${i}][${j}]` : `prompt[${j}]`, `token ids are whole numbers from 0 to ${lm.shape.vocabSize - 1} (this model's vocabulary); got ${t}.`);
    });
    return checkPrompt(x, lm, 'prompt');
  });
}

/** An empty prompt starts from the model's beginning-of-sequence token, if it has one. */
function checkPrompt(ids: number[], lm: LanguageModel, param: string): number[] {
  if (ids.length > 0) return ids;
  if (lm.bos !== undefined) return [lm.bos];
  throw invalid(param, 'the prompt is empty and this model has no beginning-of-sequence token to start from; give some text.');
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('body', 'the body must be a JSON object.');
  return body as Record<string, unknown>;
}

function requireString(raw: Record<string, unknown>, name: string): string {
  const v = raw[name];
  if (typeof v !== 'string' || v.length === 0) throw invalid(name, `\`${name}\` is required: the name of the endpoint to call.`);
  return v;
}

function intIn(raw: Record<string, unknown>, name: string, lo: number, hi: number): number {
  const v = raw[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw invalid(name, `must be a whole number from ${lo} to ${hi}; got ${JSON.stringify(v)}.`);
  return v;
}

function invalid(param: string, message: string): InvalidInputError {
  return new InvalidInputError('invalid_request', `${param}: ${message}`, { param });
}
