/**
 * ONNX model description as plain data, and its serialisation to the ModelProto wire format
 * (field numbers from onnx/onnx.proto). Every model the platform trains or exports passes
 * through `encodeModel`; ONNX Runtime and any other ONNX consumer load the bytes it returns.
 */
import { ProtobufReader } from './protobuf-reader.js';
import { ProtobufWriter } from './protobuf-writer.js';

/** TensorProto.DataType values used by the platform. */
export enum DataType {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  UINT16 = 4,
  INT16 = 5,
  INT32 = 6,
  INT64 = 7,
  STRING = 8,
  BOOL = 9,
  FLOAT16 = 10,
  DOUBLE = 11,
}

/** A dimension: a fixed size, or a symbolic name such as 'batch'. */
export type Dim = number | string;

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | string[];

export interface TensorValue {
  name: string;
  dataType: DataType;
  dims: number[];
  data: TensorData;
  /** Stored outside the model file (ONNX external data, for graphs over 2 GB): `data` is then not written. */
  external?: { location: string; offset: number; length: number };
}

export interface TensorType {
  elemType: DataType;
  /** Omitted: rank unknown. */
  shape?: Dim[];
}

export interface ValueInfo {
  name: string;
  type: TensorType;
  doc?: string;
  /**
   * A TypeProto that is not a tensor type (a sequence of maps, as skl2onnx's ZipMap outputs),
   * kept as its encoded bytes so a decoded graph re-encodes unchanged.
   */
  rawType?: Uint8Array;
}

export type Attribute =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorValue }
  | { kind: 'graph'; value: GraphDef }
  | { kind: 'floats'; value: ArrayLike<number> }
  | { kind: 'ints'; value: ArrayLike<number> }
  | { kind: 'strings'; value: string[] };

/** Constructors that keep node definitions short: `{ axis: attr.int(1) }`. */
export const attr = {
  float: (value: number): Attribute => ({ kind: 'float', value }),
  int: (value: number): Attribute => ({ kind: 'int', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
  tensor: (value: TensorValue): Attribute => ({ kind: 'tensor', value }),
  graph: (value: GraphDef): Attribute => ({ kind: 'graph', value }),
  floats: (value: ArrayLike<number>): Attribute => ({ kind: 'floats', value }),
  ints: (value: ArrayLike<number>): Attribute => ({ kind: 'ints', value }),
  strings: (value: string[]): Attribute => ({ kind: 'strings', value }),
};

export interface NodeDef {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** '' (default) for ai.onnx, 'ai.onnx.ml' for the classical-ML operators. */
  domain?: string;
  attributes?: Record<string, Attribute>;
}

export interface GraphDef {
  name: string;
  nodes: NodeDef[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: TensorValue[];
  valueInfo?: ValueInfo[];
  doc?: string;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface ModelDef {
  graph: GraphDef;
  opsets: OpsetImport[];
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  doc?: string;
  /** Stored as metadata_props: string key/value pairs readable by any ONNX tool. */
  metadata?: Record<string, string>;
}

/** The default opsets: ONNX 17 and ONNX-ML 3, both executed by onnxruntime-node. */
export const DEFAULT_OPSETS: OpsetImport[] = [
  { domain: '', version: 17 },
  { domain: 'ai.onnx.ml', version: 3 },
];

export function encodeModel(model: ModelDef): Uint8Array {
  const w = new ProtobufWriter();
  w.int(1, model.irVersion ?? 8);
  if (model.producerName) w.string(2, model.producerName);
  if (model.producerVersion) w.string(3, model.producerVersion);
  if (model.doc) w.string(6, model.doc);
  w.message(7, (g) => writeGraph(g, model.graph));
  for (const op of model.opsets) {
    w.message(8, (o) => {
      if (op.domain) o.string(1, op.domain);
      o.int(2, op.version);
    });
  }
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.message(14, (e) => e.string(1, key).string(2, value));
  }
  return w.finish();
}

/**
 * The model with its graph's outputs replaced by `outputs`, in that order: a name the graph
 * already outputs keeps its declared type, a new one (any tensor the graph computes) is declared
 * as given. Everything else is kept as it is, weights untouched and never decoded: the model's
 * fields are re-framed around views of their bytes, and the result is one copy of the model.
 */
export function withGraphOutputs(model: Uint8Array, outputs: Array<string | ValueInfo>): Uint8Array {
  const declared = new Map<string, Uint8Array>();
  const pieces: Uint8Array[] = [];
  const frame = (field: number, wireType: number, body?: Uint8Array, value?: bigint): Uint8Array[] => {
    const head = new ProtobufWriter();
    if (wireType === 0) return [head.int(field, value!).finish()];
    const tag = varintBytes(field * 8 + wireType);
    return wireType === 2 ? [tag, varintBytes(body!.length), body!] : [tag, body!];
  };
  for (const f of new ProtobufReader(model).fields()) {
    if (f.field !== 7 || f.wireType !== 2) {
      pieces.push(...frame(f.field, f.wireType, f.bytes, f.value));
      continue;
    }
    const graph: Uint8Array[] = [];
    for (const g of new ProtobufReader(f.bytes!).fields()) {
      if (g.field === 12 && g.wireType === 2) {
        const name = [...new ProtobufReader(g.bytes!).fields()].find((x) => x.field === 1);
        declared.set(name ? new TextDecoder().decode(name.bytes!) : '', g.bytes!);
      } else graph.push(...frame(g.field, g.wireType, g.bytes, g.value));
    }
    for (const o of outputs) {
      const known = typeof o === 'string' ? declared.get(o) : undefined;
      if (typeof o === 'string' && !known) throw new Error(`the graph has no output '${o}' to keep`);
      let body = known;
      if (!body) {
        const w = new ProtobufWriter();
        writeValueInfo(w, o as ValueInfo);
        body = w.finish();
      }
      graph.push(...frame(12, 2, body));
    }
    pieces.push(...frame(7, 2, concatBytes(graph)));
  }
  return concatBytes(pieces);
}

function varintBytes(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function writeGraph(w: ProtobufWriter, g: GraphDef): void {
  for (const node of g.nodes) w.message(1, (n) => writeNode(n, node));
  w.string(2, g.name);
  for (const t of g.initializers ?? []) w.message(5, (m) => writeTensor(m, t));
  if (g.doc) w.string(10, g.doc);
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
  for (const v of g.valueInfo ?? []) w.message(13, (m) => writeValueInfo(m, v));
}

function writeNode(w: ProtobufWriter, node: NodeDef): void {
  for (const i of node.inputs) w.string(1, i);
  for (const o of node.outputs) w.string(2, o);
  if (node.name) w.string(3, node.name);
  w.string(4, node.opType);
  for (const [name, a] of Object.entries(node.attributes ?? {})) w.message(5, (m) => writeAttribute(m, name, a));
  if (node.domain) w.string(7, node.domain);
}

// AttributeProto.AttributeType
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8 } as const;

function writeAttribute(w: ProtobufWriter, name: string, a: Attribute): void {
  w.string(1, name);
  switch (a.kind) {
    case 'float': w.float(2, a.value); break;
    case 'int': w.int(3, a.value); break;
    case 'string': w.string(4, a.value); break;
    case 'tensor': w.message(5, (m) => writeTensor(m, a.value)); break;
    case 'graph': w.message(6, (m) => writeGraph(m, a.value)); break;
    case 'floats': w.packedFloats(7, a.value); break;
    case 'ints': w.packedInts(8, a.value); break;
    case 'strings': for (const s of a.value) w.string(9, s); break;
  }
  w.int(20, ATTRIBUTE_TYPE[a.kind]);
}

function writeTensor(w: ProtobufWriter, t: TensorValue): void {
  w.packedInts(1, t.dims);
  w.int(2, t.dataType);
  w.string(8, t.name);
  if (t.external) {
    const e = t.external;
    for (const [key, value] of [['location', e.location], ['offset', String(e.offset)], ['length', String(e.length)]]) {
      w.message(13, (m) => m.string(1, key!).string(2, value!));
    }
    w.int(14, 1); // data_location: EXTERNAL
  } else if (Array.isArray(t.data)) {
    for (const s of t.data) w.string(6, s);
  } else {
    const d = t.data;
    // raw_data is little-endian, which is what typed arrays hold on every platform Node runs on.
    w.bytes(9, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
}

function writeValueInfo(w: ProtobufWriter, v: ValueInfo): void {
  w.string(1, v.name);
  if (v.rawType) {
    w.bytes(2, v.rawType);
    if (v.doc) w.string(3, v.doc);
    return;
  }
  w.message(2, (t) =>
    t.message(1, (tt) => {
      tt.int(1, v.type.elemType);
      if (v.type.shape) {
        const shape = v.type.shape;
        tt.message(2, (s) => {
          for (const d of shape) s.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
      }
    }),
  );
  if (v.doc) w.string(3, v.doc);
}

/** Tensor constructors for initializers. */
export const tensor = {
  float: (name: string, dims: number[], data: ArrayLike<number>): TensorValue => ({
    name, dims, dataType: DataType.FLOAT, data: data instanceof Float32Array ? data : Float32Array.from(data),
  }),
  double: (name: string, dims: number[], data: ArrayLike<number>): TensorValue => ({
    name, dims, dataType: DataType.DOUBLE, data: data instanceof Float64Array ? data : Float64Array.from(data),
  }),
  int64: (name: string, dims: number[], data: ArrayLike<number | bigint>): TensorValue => ({
    name, dims, dataType: DataType.INT64, data: BigInt64Array.from(Array.from(data, (v) => BigInt(v))),
  }),
  string: (name: string, dims: number[], data: string[]): TensorValue => ({ name, dims, dataType: DataType.STRING, data }),
  bool: (name: string, dims: number[], data: ArrayLike<boolean | number>): TensorValue => ({
    name, dims, dataType: DataType.BOOL, data: Uint8Array.from(Array.from(data, (v) => (v ? 1 : 0))),
  }),
};
