/**
 * The signature as it travels inside an artifact's ONNX metadata (`aiaas.signature`). An image
 * model has one raw column per pixel, which written out one object each is tens of kilobytes,
 * more than a quantized network's weights; so runs of columns `<prefix><n>`, `<prefix><n+1>`, …
 * of one type feeding consecutive positions of one tensor are written as one range entry
 * `{columns: {prefix, from, count}, type, tensor, index, nullable}`. The reader accepts both
 * forms, so artifacts written before the range form still load.
 */
import type { Signature, SignatureInput } from './signature.js';

interface ColumnRange {
  columns: { prefix: string; from: number; count: number };
  type: SignatureInput['type'];
  tensor: string;
  index: number;
  nullable: boolean;
}

type StoredInput = SignatureInput | ColumnRange;

/** Shorter than this, a run stays as separate entries. */
const MIN_RUN = 3;

export function signatureToMetadata(sig: Signature): string {
  return JSON.stringify({ ...sig, inputs: compactInputs(sig.inputs) });
}

/** The parsed metadata with any range entries expanded back into one input per column. */
export function signatureFromMetadata(text: string): Signature {
  const sig = JSON.parse(text) as Signature;
  if (sig && Array.isArray(sig.inputs)) sig.inputs = (sig.inputs as StoredInput[]).flatMap(expand);
  return sig;
}

function expand(i: StoredInput): SignatureInput[] {
  if (!('columns' in i) || !i.columns || typeof i.columns !== 'object') return [i as SignatureInput];
  const { prefix, from, count } = i.columns;
  return Array.from({ length: count }, (_, k) => ({ name: `${prefix}${from + k}`, type: i.type, tensor: i.tensor, index: i.index + k, nullable: i.nullable }));
}

const numbered = (name: string) => /^(.*?)(0|[1-9]\d*)$/.exec(name);

function compactInputs(inputs: SignatureInput[]): StoredInput[] {
  const out: StoredInput[] = [];
  for (let s = 0; s < inputs.length;) {
    const first = inputs[s]!;
    const m = numbered(first.name);
    let e = s + 1;
    if (m && !first.categories) {
      const from = Number(m[2]);
      for (; e < inputs.length; e++) {
        const c = inputs[e]!;
        const k = e - s;
        if (c.name !== `${m[1]}${from + k}` || c.type !== first.type || c.tensor !== first.tensor || c.index !== first.index + k || c.nullable !== first.nullable || c.categories) break;
      }
    }
    if (e - s >= MIN_RUN) {
      out.push({ columns: { prefix: m![1]!, from: Number(m![2]), count: e - s }, type: first.type, tensor: first.tensor, index: first.index, nullable: first.nullable });
      s = e;
    } else {
      out.push(first);
      s++;
    }
  }
  return out;
}
