/**
 * What an ONNX file declares, read as its bytes stream past (`write` each chunk, then `end`):
 * the graph's inputs and outputs with their types, the opsets, the metadata, and the external
 * data files its initializers point to. Weights are skipped, never held: a 2 GB model is
 * scanned in a few kilobytes of memory, as it is written to the blob store.
 *
 * Field numbers from onnx/onnx.proto: ModelProto graph 7, opset_import 8, metadata_props 14;
 * GraphProto initializer 5, input 11, output 12; TensorProto external_data 13, data_location 14.
 */
import { DataType, type Dim } from './model.js';
import { ProtobufReader } from './protobuf-reader.js';

export interface ScannedTensor {
  name: string;
  /** TensorProto.DataType (1 float, 7 int64…); 0 when the input is not a tensor. */
  elemType: number;
  /** Symbolic dimensions by name, unknown ones as ''; undefined when the rank is unknown. */
  shape?: Dim[];
}

export interface GraphScan {
  inputs: ScannedTensor[];
  outputs: ScannedTensor[];
  opsets: { domain: string; version: number }[];
  metadata: Record<string, string>;
  /** The `location`s of initializers stored outside the file, relative to its folder. */
  externalData: string[];
}

/** A sub-message we keep (inputs, outputs…) larger than this is refused: real ones are tiny. */
const MAX_KEPT = 1 << 20;
/** Initializers up to this size are read for an external-data reference; larger ones hold their weights inline. */
const MAX_INITIALIZER_HEADER = 1 << 16;

type Level = 'model' | 'graph';
type Keep = 'input' | 'output' | 'initializer' | 'opset' | 'metadata';

export class GraphScanner {
  private pos = 0;
  private readonly frames: { level: Level; end: number }[] = [];
  private state: 'tag' | 'len' | 'varint' | 'skip' | 'keep' = 'tag';
  private varint = 0;
  private shift = 1;
  private field = 0;
  private left = 0;
  private keep: Keep | undefined;
  private kept: Uint8Array[] = [];
  private sawGraph = false;
  private readonly result: GraphScan = { inputs: [], outputs: [], opsets: [], metadata: {}, externalData: [] };

  write(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'skip' || this.state === 'keep') {
        const n = Math.min(this.left, chunk.length - i);
        if (this.state === 'keep') this.kept.push(chunk.slice(i, i + n));
        i += n;
        this.pos += n;
        this.left -= n;
        if (this.left === 0) this.fieldDone();
        continue;
      }
      const b = chunk[i++]!;
      this.pos++;
      this.varint += (b & 0x7f) * this.shift;
      this.shift *= 128;
      if (b & 0x80) {
        if (this.shift > 2 ** 63) throw new Error('the ONNX file is malformed (a varint is too long)');
        continue;
      }
      const v = this.varint;
      this.varint = 0;
      this.shift = 1;
      if (this.state === 'tag') this.onTag(v);
      else if (this.state === 'len') this.onLength(v);
      else this.fieldDone();
    }
  }

  end(): GraphScan {
    if (this.state !== 'tag' || this.varint !== 0 || this.frames.length > 0) throw new Error('the ONNX file is truncated');
    if (!this.sawGraph) throw new Error('the file is not an ONNX model (it has no graph)');
    return this.result;
  }

  private onTag(tag: number): void {
    this.field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) this.state = 'varint';
    else if (wire === 2) this.state = 'len';
    else if (wire === 1 || wire === 5) this.startSkip(wire === 1 ? 8 : 4);
    else throw new Error(`the file is not an ONNX model (protobuf wire type ${wire} at byte ${this.pos})`);
  }

  private onLength(len: number): void {
    const level = this.frames.at(-1)?.level ?? 'model';
    const f = this.field;
    if (level === 'model' && f === 7) {
      this.sawGraph = true;
      this.frames.push({ level: 'graph', end: this.pos + len });
      this.state = 'tag';
      this.popFrames();
      return;
    }
    const keep: Keep | undefined = level === 'model'
      ? (f === 8 ? 'opset' : f === 14 ? 'metadata' : undefined)
      : (f === 11 ? 'input' : f === 12 ? 'output' : f === 5 && len <= MAX_INITIALIZER_HEADER ? 'initializer' : undefined);
    if (keep && keep !== 'initializer' && len > MAX_KEPT) throw new Error(`the ONNX file's graph ${keep} at byte ${this.pos} is ${len} bytes long, more than any real one`);
    if (!keep) return this.startSkip(len);
    this.keep = keep;
    this.kept = [];
    this.left = len;
    this.state = 'keep';
    if (len === 0) this.fieldDone();
  }

  private startSkip(n: number): void {
    this.keep = undefined;
    this.left = n;
    this.state = 'skip';
    if (n === 0) this.fieldDone();
  }

  private fieldDone(): void {
    if (this.keep) {
      const bytes = this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept);
      this.absorb(this.keep, bytes);
      this.keep = undefined;
      this.kept = [];
    }
    this.state = 'tag';
    this.popFrames();
  }

  private popFrames(): void {
    while (this.frames.length && this.pos >= this.frames.at(-1)!.end) {
      if (this.pos > this.frames.at(-1)!.end) throw new Error('the ONNX file is malformed (a field overruns its graph)');
      this.frames.pop();
    }
  }

  private absorb(what: Keep, bytes: Uint8Array): void {
    const r = this.result;
    if (what === 'input') r.inputs.push(valueInfo(bytes));
    else if (what === 'output') r.outputs.push(valueInfo(bytes));
    else if (what === 'opset') r.opsets.push(opset(bytes));
    else if (what === 'metadata') {
      const [k, v] = pair(bytes);
      r.metadata[k] = v;
    } else {
      const loc = externalLocation(bytes);
      if (loc !== undefined && !r.externalData.includes(loc)) r.externalData.push(loc);
    }
  }
}

/** Scans a whole ONNX file held in memory (tests, small files). */
export function scanGraph(bytes: Uint8Array): GraphScan {
  const s = new GraphScanner();
  s.write(bytes);
  return s.end();
}

const text = new TextDecoder();

function valueInfo(bytes: Uint8Array): ScannedTensor {
  const out: ScannedTensor = { name: '', elemType: 0 };
  for (const f of new ProtobufReader(bytes).fields()) {
    if (f.field === 1 && f.bytes) out.name = text.decode(f.bytes);
    else if (f.field === 2 && f.bytes) {
      for (const t of new ProtobufReader(f.bytes).fields()) {
        if (t.field !== 1 || !t.bytes) continue; // tensor_type
        for (const tt of new ProtobufReader(t.bytes).fields()) {
          if (tt.field === 1 && tt.value !== undefined) out.elemType = Number(tt.value);
          else if (tt.field === 2 && tt.bytes) out.shape = shape(tt.bytes);
        }
      }
    }
  }
  return out;
}

function shape(bytes: Uint8Array): Dim[] {
  const dims: Dim[] = [];
  for (const d of new ProtobufReader(bytes).fields()) {
    if (d.field !== 1 || !d.bytes) continue;
    let dim: Dim = '';
    for (const x of new ProtobufReader(d.bytes).fields()) {
      if (x.field === 1 && x.value !== undefined) dim = Number(x.value);
      else if (x.field === 2 && x.bytes) dim = text.decode(x.bytes);
    }
    dims.push(dim);
  }
  return dims;
}

function opset(bytes: Uint8Array): { domain: string; version: number } {
  const out = { domain: '', version: 0 };
  for (const f of new ProtobufReader(bytes).fields()) {
    if (f.field === 1 && f.bytes) out.domain = text.decode(f.bytes);
    else if (f.field === 2 && f.value !== undefined) out.version = Number(f.value);
  }
  return out;
}

function pair(bytes: Uint8Array): [string, string] {
  let k = '';
  let v = '';
  for (const f of new ProtobufReader(bytes).fields()) {
    if (f.field === 1 && f.bytes) k = text.decode(f.bytes);
    else if (f.field === 2 && f.bytes) v = text.decode(f.bytes);
  }
  return [k, v];
}

function externalLocation(bytes: Uint8Array): string | undefined {
  let external = false;
  let location: string | undefined;
  for (const f of new ProtobufReader(bytes).fields()) {
    if (f.field === 14 && f.value === 1n) external = true;
    else if (f.field === 13 && f.bytes) {
      const [k, v] = pair(f.bytes);
      if (k === 'location') location = v;
    }
  }
  return external ? location : undefined;
}

/** ONNX element types that serving maps to a signature dtype. */
export const ELEM_DTYPES: Partial<Record<number, 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'string' | 'uint8' | 'int8' | 'float16'>> = {
  [DataType.FLOAT]: 'float32', [DataType.DOUBLE]: 'float64', [DataType.INT64]: 'int64', [DataType.INT32]: 'int32',
  [DataType.BOOL]: 'bool', [DataType.STRING]: 'string', [DataType.UINT8]: 'uint8', [DataType.INT8]: 'int8', 10: 'float16',
};
