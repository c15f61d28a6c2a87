/**
 * GPT-2's byte-level alphabet: every byte is shown as one printable Unicode character, so any UTF-8
 * text, in any script, becomes a string over 256 symbols that a BPE vocabulary can hold (a space is
 * "Ġ", a newline "Ċ"). Shared by the trained `bpe` tokenizer and `gpt2`, as in Hugging Face's
 * ByteLevel pre-tokenizer and decoder.
 */

/** The GPT-2 pre-tokenizer pattern (tiktoken's and Hugging Face's ByteLevel `use_regex`). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Byte -> its character (bytes_to_unicode of GPT-2's encoder.py). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const out = new Array<string>(256);
  for (const b of printable) out[b] = String.fromCodePoint(b);
  let next = 0;
  for (let b = 0; b < 256; b++) if (out[b] === undefined) out[b] = String.fromCodePoint(256 + next++);
  return out;
})();

const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((ch, b) => [ch, b]));

/** A token string of the byte-level alphabet -> its bytes; null when it is not one (a special token). */
export function tokenBytes(token: string): Uint8Array | null {
  const out: number[] = [];
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return Uint8Array.from(out);
}

/** Bytes -> their token string in the byte-level alphabet. */
export function bytesToken(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** Splits text into the pre-tokens that BPE merges never cross. */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_PATTERN) ?? [];
}
