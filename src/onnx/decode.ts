/**
 * ModelProto bytes → the plain-data ModelDef of model.ts, the inverse of `encodeModel`, so that
 * graph transforms (quantization, pruning) can rewrite any model the platform holds, trained here
 * or imported from PyTorch, scikit-learn or Keras. Field numbers are onnx/onnx.proto's.
 * What the plain form cannot hold (model-local functions, sparse initializers) is refused with an
 * error that says so, rather than dropped; external data is read in (inlined) when the caller gives
 * the files (`external`: location as the graph names it → the file's bytes), refused otherwise.
 */
import { ProtobufReader, type Field } from './protobuf-reader.js';
import { DataType, type Attribute, type Dim, type GraphDef, type ModelDef, type NodeDef, type OpsetImport, type TensorData, type TensorValue, type ValueInfo } from './model.js';

/** A model the decoder cannot represent; the message names the construct. */
export class UnsupportedModelError extends Error {}

const text = new TextDecoder();
const str = (f: Field) => text.decode(f.bytes!);
const int = (f: Field) => Number(BigInt.asIntN(64, f.value!));

/** An external data file's bytes by the location a tensor names (relative to the graph's folder). */
export type ExternalFiles = (location: string) => Uint8Array | undefined;

export function decodeModel(input: Uint8Array, external?: ExternalFiles): ModelDef {
  // A Buffer's slice() is a view into a shared pool: read through a plain Uint8Array, whose slice() copies.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const model: ModelDef = { graph: { name: '', nodes: [], inputs: [], outputs: [] }, opsets: [] };
  const metadata: Record<string, string> = {};
  for (const f of new ProtobufReader(bytes).fields()) {
    switch (f.field) {
      case 1: model.irVersion = int(f); break;
      case 2: model.producerName = str(f); break;
      case 3: model.producerVersion = str(f); break;
      case 6: model.doc = str(f); break;
      case 7: model.graph = decodeGraph(f.bytes!, external); break;
      case 8: model.opsets.push(decodeOpset(f.bytes!)); break;
      case 14: { const [k, v] = decodePair(f.bytes!); metadata[k] = v; break; }
      case 25: throw new UnsupportedModelError('the model defines local functions; export it with them inlined');
      default: break;
    }
  }
  if (Object.keys(metadata).length) model.metadata = metadata;
  return model;
}

function decodeOpset(b: Uint8Array): OpsetImport {
  const o: OpsetImport = { domain: '', version: 1 };
  for (const f of new ProtobufReader(b).fields()) {
    if (f.field === 1) o.domain = str(f);
    else if (f.field === 2) o.version = int(f);
  }
  return o;
}

function decodePair(b: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  for (const f of new ProtobufReader(b).fields()) {
    if (f.field === 1) key = str(f);
    else if (f.field === 2) value = str(f);
  }
  return [key, value];
}

export function decodeGraph(b: Uint8Array, external?: ExternalFiles): GraphDef {
  const g: GraphDef = { name: '', nodes: [], inputs: [], outputs: [], initializers: [], valueInfo: [] };
  for (const f of new ProtobufReader(b).fields()) {
    switch (f.field) {
      case 1: g.nodes.push(decodeNode(f.bytes!)); break;
      case 2: g.name = str(f); break;
      case 5: g.initializers!.push(decodeTensor(f.bytes!, external)); break;
      case 10: g.doc = str(f); break;
      case 11: g.inputs.push(decodeValueInfo(f.bytes!)); break;
      case 12: g.outputs.push(decodeValueInfo(f.bytes!)); break;
      case 13: g.valueInfo!.push(decodeValueInfo(f.bytes!)); break;
      case 15: throw new UnsupportedModelError('the graph has sparse initializers; export them dense');
      default: break;
    }
  }
  return g;
}

/**
 * The nodes of a model's main graph, nothing else decoded (initializers are skipped, not
 * copied): enough to follow how outputs are computed in a model of any size.
 */
export function graphNodes(input: Uint8Array): NodeDef[] {
  const nodes: NodeDef[] = [];
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength); // as in decodeModel
  for (const f of new ProtobufReader(bytes).fields()) {
    if (f.field !== 7) continue;
    for (const g of new ProtobufReader(f.bytes!).fields()) if (g.field === 1) nodes.push(decodeNode(g.bytes!));
  }
  return nodes;
}

function decodeNode(b: Uint8Array): NodeDef {
  const n: NodeDef = { opType: '', inputs: [], outputs: [] };
  for (const f of new ProtobufReader(b).fields()) {
    switch (f.field) {
      case 1: n.inputs.push(str(f)); break;
      case 2: n.outputs.push(str(f)); break;
      case 3: n.name = str(f); break;
      case 4: n.opType = str(f); break;
      case 5: { const [name, a] = decodeAttribute(f.bytes!); (n.attributes ??= {})[name] = a; break; }
      case 7: n.domain = str(f); break;
      default: break;
    }
  }
  return n;
}

function decodeAttribute(b: Uint8Array): [string, Attribute] {
  let name = '';
  let type = 0;
  let float = 0;
  let i = 0;
  let s = '';
  let t: TensorValue | undefined;
  let g: GraphDef | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  for (const f of new ProtobufReader(b).fields()) {
    switch (f.field) {
      case 1: name = str(f); break;
      case 2: float = view(f.bytes!).getFloat32(0, true); break;
      case 3: i = int(f); break;
      case 4: s = str(f); break;
      case 5: t = decodeTensor(f.bytes!); break;
      case 6: g = decodeGraph(f.bytes!); break;
      case 7: floats.push(...(f.wireType === 2 ? packedFloats(f.bytes!) : [view(f.bytes!).getFloat32(0, true)])); break;
      case 8: ints.push(...(f.wireType === 2 ? packedVarints(f.bytes!) : [int(f)])); break;
      case 9: strings.push(str(f)); break;
      case 20: type = int(f); break;
      case 21: throw new UnsupportedModelError(`attribute '${name}' refers to a function attribute`);
      default: break;
    }
  }
  switch (type) {
    case 1: return [name, { kind: 'float', value: float }];
    case 2: return [name, { kind: 'int', value: i }];
    case 3: return [name, { kind: 'string', value: s }];
    case 4: return [name, { kind: 'tensor', value: t! }];
    case 5: return [name, { kind: 'graph', value: g! }];
    case 6: return [name, { kind: 'floats', value: floats }];
    case 7: return [name, { kind: 'ints', value: ints }];
    case 8: return [name, { kind: 'strings', value: strings }];
    default: throw new UnsupportedModelError(`attribute '${name}' has type ${type} (tensors, graphs or sparse tensors), which this decoder does not handle`);
  }
}

/** A tensor's data as the typed array of its type (a copy: raw_data in the proto is not aligned). */
export function decodeTensor(b: Uint8Array, external?: ExternalFiles): TensorValue {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  const floats: number[] = [];
  const int32s: number[] = [];
  const int64s: bigint[] = [];
  const doubles: number[] = [];
  const strings: string[] = [];
  const externalData: Record<string, string> = {};
  let isExternal = false;
  for (const f of new ProtobufReader(b).fields()) {
    switch (f.field) {
      case 1: dims.push(...(f.wireType === 2 ? packedVarints(f.bytes!) : [int(f)])); break;
      case 2: dataType = int(f); break;
      case 4: floats.push(...(f.wireType === 2 ? packedFloats(f.bytes!) : [view(f.bytes!).getFloat32(0, true)])); break;
      case 5: int32s.push(...(f.wireType === 2 ? packedVarints(f.bytes!) : [int(f)])); break;
      case 6: strings.push(str(f)); break;
      case 7: int64s.push(...(f.wireType === 2 ? packedVarintsBig(f.bytes!) : [BigInt.asIntN(64, f.value!)])); break;
      case 8: name = str(f); break;
      case 9: raw = f.bytes!.slice(); break;
      case 10: doubles.push(...(f.wireType === 2 ? packedDoubles(f.bytes!) : [view(f.bytes!).getFloat64(0, true)])); break;
      case 13: { const [k, v] = decodePair(f.bytes!); externalData[k] = v; break; }
      case 14: isExternal = int(f) === 1; break;
      default: break;
    }
  }
  if (isExternal) raw = externalBytes(name, externalData, external);
  return { name, dataType, dims, data: raw ? fromRaw(dataType, raw) : fromFields(dataType, { floats, int32s, int64s, doubles, strings }) };
}

/** An external tensor's bytes (a copy) from its file, at the offset and length its external_data entries give. */
function externalBytes(name: string, entries: Record<string, string>, external: ExternalFiles | undefined): Uint8Array {
  const location = entries.location;
  const file = location === undefined ? undefined : external?.(location);
  if (!file) {
    throw new UnsupportedModelError(`tensor '${name || '?'}' keeps its data in an external file${location ? ` ('${location}')` : ''} that was not given; load the model with its data inlined (onnx.load then onnx.save without save_as_external_data)`);
  }
  const offset = Number(entries.offset ?? 0);
  const length = entries.length === undefined ? file.byteLength - offset : Number(entries.length);
  if (!(offset >= 0 && length >= 0 && offset + length <= file.byteLength)) {
    throw new UnsupportedModelError(`tensor '${name}' reads bytes ${offset}…${offset + length} of '${location}', which has ${file.byteLength}`);
  }
  return Uint8Array.prototype.slice.call(file, offset, offset + length); // a copy even of a Buffer, whose slice() is a view
}

function fromRaw(type: DataType, raw: Uint8Array): TensorData {
  const buf = raw.buffer as ArrayBuffer;
  switch (type) {
    case DataType.FLOAT: return new Float32Array(buf, raw.byteOffset, raw.byteLength / 4);
    case DataType.DOUBLE: return new Float64Array(buf, raw.byteOffset, raw.byteLength / 8);
    case DataType.INT32: return new Int32Array(buf, raw.byteOffset, raw.byteLength / 4);
    case DataType.INT64: return new BigInt64Array(buf, raw.byteOffset, raw.byteLength / 8);
    case DataType.INT8: return new Int8Array(buf, raw.byteOffset, raw.byteLength);
    default: return raw; // uint8, bool, float16, …: the bytes as they are
  }
}

/** The typed (non-raw) fields: int32_data also holds int8/uint8/bool/float16 values, one per entry. */
function fromFields(type: DataType, d: { floats: number[]; int32s: number[]; int64s: bigint[]; doubles: number[]; strings: string[] }): TensorData {
  switch (type) {
    case DataType.FLOAT: return Float32Array.from(d.floats);
    case DataType.DOUBLE: return Float64Array.from(d.doubles);
    case DataType.INT64: return BigInt64Array.from(d.int64s);
    case DataType.INT32: return Int32Array.from(d.int32s);
    case DataType.INT8: return Int8Array.from(d.int32s);
    case DataType.UINT8: case DataType.BOOL: return Uint8Array.from(d.int32s);
    case DataType.FLOAT16: case DataType.UINT16: case DataType.INT16: return new Uint8Array(Uint16Array.from(d.int32s).buffer);
    case DataType.STRING: return d.strings;
    default: throw new UnsupportedModelError(`tensor element type ${type} is not handled`);
  }
}

function decodeValueInfo(b: Uint8Array): ValueInfo {
  const v: ValueInfo = { name: "", type: { elemType: 0 as DataType } };
  for (const f of new ProtobufReader(b).fields()) {
    if (f.field === 1) v.name = str(f);
    else if (f.field === 3) v.doc = str(f);
    else if (f.field === 2) {
      const tensorType = [...new ProtobufReader(f.bytes!).fields()].find((t) => t.field === 1);
      if (tensorType) v.type = decodeTensorType(tensorType.bytes!);
      else v.rawType = f.bytes!.slice();
    }
  }
  return v;
}

function decodeTensorType(b: Uint8Array): ValueInfo['type'] {
  const t: ValueInfo["type"] = { elemType: 0 as DataType };
  for (const f of new ProtobufReader(b).fields()) {
    if (f.field === 1) t.elemType = int(f);
    else if (f.field === 2) {
      t.shape = [];
      for (const d of new ProtobufReader(f.bytes!).fields()) {
        if (d.field !== 1) continue;
        let dim: Dim = '';
        for (const x of new ProtobufReader(d.bytes!).fields()) {
          if (x.field === 1) dim = int(x);
          else if (x.field === 2) dim = str(x);
        }
        t.shape.push(dim);
      }
    }
  }
  return t;
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function packedFloats(b: Uint8Array): number[] {
  const v = view(b);
  return Array.from({ length: b.byteLength / 4 }, (_, i) => v.getFloat32(i * 4, true));
}

function packedDoubles(b: Uint8Array): number[] {
  const v = view(b);
  return Array.from({ length: b.byteLength / 8 }, (_, i) => v.getFloat64(i * 8, true));
}

function packedVarintsBig(b: Uint8Array): bigint[] {
  const out: bigint[] = [];
  let result = 0n;
  let shift = 0n;
  for (const byte of b) {
    result |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) {
      out.push(BigInt.asIntN(64, result));
      result = 0n;
      shift = 0n;
    } else shift += 7n;
  }
  return out;
}

const packedVarints = (b: Uint8Array): number[] => packedVarintsBig(b).map(Number);
