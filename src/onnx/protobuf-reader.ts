/**
 * Minimal protocol-buffers wire reader, the counterpart of protobuf-writer.ts: enough to walk a
 * ModelProto's top-level fields and read its `metadata_props` (field 14: key 1, value 2), which
 * ONNX Runtime's JavaScript API does not expose.
 */
export interface Field {
  field: number;
  wireType: number;
  /** Varint value (wire type 0). */
  value?: bigint;
  /** Bytes of a length-delimited field (wire type 2), or the 8 or 4 bytes of a fixed field (wire types 1, 5). */
  bytes?: Uint8Array;
}

export class ProtobufReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  private varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  }

  *fields(): Generator<Field> {
    while (this.pos < this.buf.length) {
      const tag = Number(this.varint());
      const field = tag >>> 3;
      const wireType = tag & 7;
      switch (wireType) {
        case 0: yield { field, wireType, value: this.varint() }; break;
        case 1: yield { field, wireType, bytes: this.take(8) }; break;
        case 5: yield { field, wireType, bytes: this.take(4) }; break;
        case 2: {
          const len = Number(this.varint());
          if (this.pos + len > this.buf.length) throw new Error('truncated field');
          const bytes = this.buf.subarray(this.pos, this.pos + len);
          this.pos += len;
          yield { field, wireType, bytes };
          break;
        }
        default: throw new Error(`unsupported wire type ${wireType}`);
      }
    }
  }

  private take(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }
}

/** The key/value metadata of an ONNX model (ModelProto.metadata_props); {} when unreadable. */
export function readModelMetadata(model: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const text = new TextDecoder();
  try {
    for (const f of new ProtobufReader(model).fields()) {
      if (f.field !== 14 || !f.bytes) continue;
      let key = '';
      let value = '';
      for (const e of new ProtobufReader(f.bytes).fields()) {
        if (e.field === 1 && e.bytes) key = text.decode(e.bytes);
        else if (e.field === 2 && e.bytes) value = text.decode(e.bytes);
      }
      out[key] = value;
    }
  } catch {
    return {};
  }
  return out;
}
