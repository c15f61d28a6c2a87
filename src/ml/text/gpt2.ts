/**
 * GPT-2's tokenizer (`gpt2`), built from the ranks that js-tiktoken ships, no download needed.
 *
 * tiktoken stores a rank per byte string (rank = GPT-2 token id) rather than merges. The merges
 * come back from the ranks: the token of rank r was made by the last merge of BPE over its bytes
 * using only tokens of lower rank, which leaves exactly two parts. Merge order = rank order, so
 * Hugging Face's lowest-merge-first and tiktoken's lowest-rank-first give the same ids.
 */
import ranksFile from 'js-tiktoken/ranks/gpt2';
import { bytesToken } from './byte-level.js';
import { ByteLevelBpe } from './bpe.js';

let cached: ByteLevelBpe | undefined;

/** GPT-2's tokenizer (50,257 tokens, the last `<|endoftext|>`); built once per process (about 0.5 s). */
export function gpt2Tokenizer(): ByteLevelBpe {
  cached ??= build();
  return cached;
}

function build(): ByteLevelBpe {
  const byRank = decodeRanks(ranksFile.bpe_ranks);
  const rankOf = new Map(byRank.map((bytes, rank) => [bytes.toString('latin1'), rank]));
  const tokens = byRank.map((bytes) => bytesToken(bytes));
  const merges: [number, number][] = [];
  for (let rank = 0; rank < byRank.length; rank++) {
    if (byRank[rank].length < 2) continue;
    const [a, b] = lastMerge(byRank[rank], rank, rankOf);
    merges.push([a, b]);
  }
  const specials = Object.entries(ranksFile.special_tokens).map(([content, id]) => ({ content, id }));
  for (const s of specials) tokens[s.id] = s.content;
  return new ByteLevelBpe('gpt2', tokens, merges, specials);
}

/** js-tiktoken's compressed ranks: lines "! <first rank> <base64 token> <base64 token> …". */
function decodeRanks(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [, offset, ...tokens] = line.split(' ');
    tokens.forEach((t, i) => (out[Number(offset) + i] = Buffer.from(t, 'base64')));
  }
  return out;
}

/** The two parts that BPE with tokens below `rank` leaves of `bytes`. */
function lastMerge(bytes: Buffer, rank: number, rankOf: Map<string, number>): [number, number] {
  const parts = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
  for (;;) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rankOf.get(Buffer.concat([parts[i], parts[i + 1]]).toString('latin1'));
      if (r !== undefined && r < rank && r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    parts.splice(at, 2, Buffer.concat([parts[at], parts[at + 1]]));
  }
  if (parts.length !== 2) throw new Error(`GPT-2 ranks: token ${rank} does not split into two lower-ranked tokens.`);
  return [rankOf.get(parts[0].toString('latin1'))!, rankOf.get(parts[1].toString('latin1'))!];
}
