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
import type { TokenEvent } from '../../../engine/lm/index.js';
import type { Principal } from '../../principal.js';
import type { DataPlane, PredictTarget } from '../data-plane.js';
import type { LanguageModel } from '../language-model.js';
import type { GenerationHandle } from '../pool.js';
import { asObject, parseChat, parseCompletion, requireString, type ParsedRequest } from './openai-request.js';

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
      id: this.id, object: this.kind === 'chat' ? 'chat.completion' : 'text_completion', created: this.created, model: this.req.model, system_fingerprint: this.fingerprint(),
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
    return { id: this.id, object: this.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: this.created, model: this.req.model, system_fingerprint: this.fingerprint() };
  }

  /** OpenAI's backend fingerprint: here the model version that answered (`v2`), so a traffic split can be seen from the client. */
  private fingerprint(): string {
    return `v${this.target.served.version.version}`;
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
