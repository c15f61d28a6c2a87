/**
 * Embeddings (OpenAI's POST /embeddings) over the data plane, for endpoints serving a
 * `text_encoder`: the texts are tokenized with the version's tokenizer.json, padded into one
 * batch with an attention mask, run on the endpoint's replicas, and each text's embedding is
 * the mean of `last_hidden_state` over its real tokens (sentence-transformers' mean pooling).
 */
import { InvalidInputError } from '../../../infra/errors.js';
import { loadHfTokenizer, type HfTokenizer } from '../../../ml/text/hf-tokenizer.js';
import type { Principal } from '../../principal.js';
import type { ModelVersion, RegistryService } from '../../registry.js';
import type { Feeds } from '../codec/instances.js';
import type { DataPlane, PredictTarget } from '../data-plane.js';

export interface EmbeddingsRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
}

export interface Embeddings {
  vectors: Float32Array[];
  promptTokens: number;
  target: PredictTarget;
}

/** Inputs beyond these are refused (OpenAI's own limit is 2,048 inputs). */
export const MAX_INPUTS = 2048;

export class EmbeddingsProtocol {
  /** Tokenizers by version id: read once from the version's files. */
  private readonly tokenizers = new Map<string, Promise<HfTokenizer>>();

  constructor(private readonly plane: DataPlane, private readonly registry: RegistryService) {}

  /** The caller's endpoint must be ready and serve a text_encoder (422 otherwise, naming what it serves). */
  target(p: Principal, endpoint: string): PredictTarget {
    const t = this.plane.target(p, endpoint);
    if (t.served.version.kind !== 'text_encoder') {
      throw new InvalidInputError('not_an_encoder', `Endpoint '${endpoint}' serves a ${t.served.version.kind}; embeddings come from an endpoint serving a text_encoder (a Hugging Face encoder folder imported with POST /v1/models/{name}/versions).`, { field: 'model', kind: t.served.version.kind });
    }
    return t;
  }

  async embed(p: Principal, req: EmbeddingsRequest): Promise<Embeddings> {
    const target = this.target(p, req.model);
    const ids = await this.tokenIds(target.served.version, req.input);
    const vectors = await this.run(target, ids);
    return { vectors, promptTokens: ids.reduce((n, x) => n + x.length, 0), target };
  }

  /** Token ids of each input: texts tokenized, token-id arrays taken as they are. */
  async tokenIds(version: ModelVersion, input: EmbeddingsRequest['input']): Promise<number[][]> {
    const items: (string | number[])[] = typeof input === 'string' ? [input]
      : input.length > 0 && typeof input[0] === 'number' ? [input as number[]] : (input as (string | number[])[]);
    if (items.length === 0) throw new InvalidInputError('invalid_input', "'input' is empty; send a string, an array of strings, or token ids.", { field: 'input' });
    if (items.length > MAX_INPUTS) throw new InvalidInputError('invalid_input', `'input' has ${items.length} items; send at most ${MAX_INPUTS} per request.`, { field: 'input' });
    const tokenizer = items.some((x) => typeof x === 'string') ? await this.tokenizer(version) : undefined;
    return items.map((x, i) => {
      const ids = typeof x === 'string' ? tokenizer!.encode(x) : x;
      if (ids.length === 0) throw new InvalidInputError('invalid_input', `input[${i}] has no tokens; send non-empty text.`, { field: `input[${i}]` });
      if (!ids.every((t) => Number.isInteger(t) && t >= 0)) throw new InvalidInputError('invalid_input', `input[${i}] must be a string or an array of non-negative integer token ids.`, { field: `input[${i}]` });
      return ids;
    });
  }

  private tokenizer(version: ModelVersion): Promise<HfTokenizer> {
    let t = this.tokenizers.get(version.id);
    if (!t) {
      t = (async () => {
        const json = await this.registry.readFile(version, 'tokenizer.json');
        if (!json) throw new InvalidInputError('no_tokenizer', `Version ${version.version} of '${version.name}' has no tokenizer.json; send token ids as 'input'.`, { field: 'input' });
        const config = await this.registry.readFile(version, 'tokenizer_config.json');
        return loadHfTokenizer(JSON.parse(json.toString('utf8')), config ? JSON.parse(config.toString('utf8')) : {});
      })();
      t.catch(() => this.tokenizers.delete(version.id));
      this.tokenizers.set(version.id, t);
    }
    return t;
  }

  private async run(target: PredictTarget, ids: number[][]): Promise<Float32Array[]> {
    const sig = target.served.version.signature;
    const width = Math.max(...ids.map((x) => x.length));
    const rows = ids.length;
    const feeds: Feeds = {};
    const grid = (value: (row: number, col: number) => number) => {
      const data = new BigInt64Array(rows * width);
      for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) data[r * width + c] = BigInt(value(r, c));
      return { dtype: 'int64' as const, dims: [rows, width], data };
    };
    for (const t of sig.tensors) {
      if (t.name === 'input_ids') feeds[t.name] = grid((r, c) => ids[r]![c] ?? 0);
      else if (t.name === 'attention_mask') feeds[t.name] = grid((r, c) => (c < ids[r]!.length ? 1 : 0));
      else if (t.name === 'token_type_ids') feeds[t.name] = grid(() => 0);
      else if (t.name === 'position_ids') feeds[t.name] = grid((_, c) => c);
      else throw new InvalidInputError('unsupported_model', `The encoder's input '${t.name}' is not one embeddings know how to fill (input_ids, attention_mask, token_type_ids, position_ids).`, { tensor: t.name });
    }
    const out = (await this.plane.run(target, feeds, rows)).last_hidden_state;
    if (!out || !(out.data instanceof Float32Array) || out.dims.length !== 3) {
      throw new InvalidInputError('unsupported_model', "The encoder did not answer a float32 'last_hidden_state' [batch, tokens, dim].", { tensor: 'last_hidden_state' });
    }
    const [, steps, dim] = out.dims as [number, number, number];
    return ids.map((x, r) => {
      const v = new Float32Array(dim);
      const n = Math.min(x.length, steps);
      for (let c = 0; c < n; c++) {
        const at = (r * steps + c) * dim;
        for (let d = 0; d < dim; d++) v[d]! += (out.data as Float32Array)[at + d]!;
      }
      for (let d = 0; d < dim; d++) v[d]! /= n;
      return v;
    });
  }
}
