/**
 * The bodies of the OpenAI-compatible routes, read and checked (every refusal a 422 naming the
 * field as OpenAI's `param`): prompts as token ids (the tokenizer, the chat template), the
 * sampling fields, stop sequences, streaming options, the context window.
 */
import { InvalidInputError } from '../../../infra/errors.js';
import type { SamplingParams } from '../../../engine/lm/index.js';
import type { LanguageModel } from '../language-model.js';
import { chatPrompt, type ChatMessage } from './chat-template.js';

export interface ParsedRequest {
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

export const MAX_N = 16;
export const MAX_STOP = 4;

export function parseCompletion(raw: Record<string, unknown>, lm: LanguageModel): ParsedRequest {
  const prompts = promptsOf(raw.prompt, lm);
  const logprobs = raw.logprobs === undefined || raw.logprobs === null ? -1 : intIn(raw, 'logprobs', 0, 5);
  if (raw.echo === true) throw invalid('echo', '`echo` is not supported; leave it out (the answer is the continuation only).');
  if (raw.suffix !== undefined && raw.suffix !== null) throw invalid('suffix', '`suffix` (insertion) is not supported by decoder-only models; leave it out.');
  // OpenAI's default for completions.
  return common(raw, lm, prompts, logprobs, raw.max_tokens === undefined ? 16 : undefined);
}

export function parseChat(raw: Record<string, unknown>, lm: LanguageModel): ParsedRequest {
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

export function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('body', 'the body must be a JSON object.');
  return body as Record<string, unknown>;
}

export function requireString(raw: Record<string, unknown>, name: string): string {
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
