/**
 * The ONNX protobuf messages flatgrad reads and writes, with a small schema-driven codec.
 *
 * Why hand-written (like the safetensors and WebAssembly writers) rather than a protobuf library:
 * the npm packages of the ONNX schema (`onnx-proto`) pin protobufjs 6, which brings an install
 * script, `@types/node` as a runtime dependency and a package that an offline install cannot
 * resolve; flatgrad would ship all of that for nine messages. The wire format is four encodings
 * (varint, 32-bit, 64-bit, length-delimited); the decoder below follows the protobuf rules a
 * conforming reader needs for these messages: packed and unpacked repeated scalars, unknown
 * fields skipped, int64 values past 2^31 (two's complement), fields in any order. The field
 * numbers are onnx.proto's; test/interop/onnx.test.ts reads files that PyTorch wrote.
 */

type Kind = "varint" | "float" | "double" | "string" | "bytes" | Schema;
/** Field number → [name, kind, repeated]. */
type Schema = { [field: number]: readonly [string, Kind, boolean?] };

const Dimension: Schema = { 1: ["dimValue", "varint"], 2: ["dimParam", "string"], 3: ["denotation", "string"] };
const TensorShape: Schema = { 1: ["dim", Dimension, true] };
const TensorType: Schema = { 1: ["elemType", "varint"], 2: ["shape", TensorShape] };
const TypeP: Schema = { 1: ["tensorType", TensorType], 6: ["denotation", "string"] };
const ValueInfo: Schema = { 1: ["name", "string"], 2: ["type", TypeP], 3: ["docString", "string"] };
const StringEntry: Schema = { 1: ["key", "string"], 2: ["value", "string"] };
const Tensor: Schema = {
  1: ["dims", "varint", true],
  2: ["dataType", "varint"],
  4: ["floatData", "float", true],
  5: ["int32Data", "varint", true],
  7: ["int64Data", "varint", true],
  8: ["name", "string"],
  9: ["rawData", "bytes"],
  10: ["doubleData", "double", true],
  12: ["docString", "string"],
  13: ["externalData", StringEntry, true],
  14: ["dataLocation", "varint"],
};
const Attribute: Schema = {
  1: ["name", "string"],
  2: ["f", "float"],
  3: ["i", "varint"],
  4: ["s", "bytes"],
  5: ["t", Tensor],
  7: ["floats", "float", true],
  8: ["ints", "varint", true],
  9: ["strings", "bytes", true],
  13: ["docString", "string"],
  20: ["type", "varint"],
  21: ["refAttrName", "string"],
};
const NodeP: Schema = { 1: ["input", "string", true], 2: ["output", "string", true], 3: ["name", "string"], 4: ["opType", "string"], 5: ["attribute", Attribute, true], 6: ["docString", "string"], 7: ["domain", "string"] };
const Graph: Schema = { 1: ["node", NodeP, true], 2: ["name", "string"], 5: ["initializer", Tensor, true], 10: ["docString", "string"], 11: ["input", ValueInfo, true], 12: ["output", ValueInfo, true], 13: ["valueInfo", ValueInfo, true] };
const OpsetId: Schema = { 1: ["domain", "string"], 2: ["version", "varint"] };
const Model: Schema = {
  1: ["irVersion", "varint"],
  2: ["producerName", "string"],
  3: ["producerVersion", "string"],
  4: ["domain", "string"],
  5: ["modelVersion", "varint"],
  6: ["docString", "string"],
  7: ["graph", Graph],
  8: ["opsetImport", OpsetId, true],
  14: ["metadataProps", StringEntry, true],
};

export interface TensorProto { name?: string; dims?: number[]; dataType?: number; rawData?: Uint8Array; floatData?: number[]; doubleData?: number[]; int32Data?: number[]; int64Data?: number[]; dataLocation?: number; externalData?: { key?: string; value?: string }[] }
export interface AttributeProto { name?: string; type?: number; f?: number; i?: number; s?: Uint8Array; t?: TensorProto; floats?: number[]; ints?: number[] }
export interface NodeProto { name?: string; opType?: string; domain?: string; input?: string[]; output?: string[]; attribute?: AttributeProto[] }
export interface ValueInfoProto { name?: string; type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } } }
export interface GraphProto { name?: string; node?: NodeProto[]; initializer?: TensorProto[]; input?: ValueInfoProto[]; output?: ValueInfoProto[] }
export interface ModelProto { irVersion?: number; producerName?: string; producerVersion?: string; opsetImport?: { domain?: string; version?: number }[]; graph?: GraphProto }

/** ONNX element types (TensorProto.DataType) flatgrad uses, and AttributeProto.AttributeType. */
export const DT = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
export const DT_NAMES: Record<number, string> = { 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 16: "BFLOAT16" };
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;
export const EXTERNAL = 1;

class Writer {
  private chunks: number[] = [];
  private parts: Uint8Array[] = [];
  varint(v: number | bigint) {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      this.chunks.push(x ? b | 0x80 : b);
    } while (x);
  }
  raw(bytes: Uint8Array) {
    this.flush();
    this.parts.push(bytes);
  }
  fixed(v: number, width: 4 | 8) {
    const b = new Uint8Array(width);
    const dv = new DataView(b.buffer);
    if (width === 4) dv.setFloat32(0, v, true);
    else dv.setFloat64(0, v, true);
    this.raw(b);
  }
  private flush() {
    if (this.chunks.length) this.parts.push(Uint8Array.from(this.chunks));
    this.chunks = [];
  }
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) (out.set(p, at), (at += p.length));
    return out;
  }
}

function encodeInto(w: Writer, msg: Record<string, unknown>, schema: Schema) {
  for (const [num, [name, kind, repeated]] of Object.entries(schema)) {
    const v = msg[name];
    if (v === undefined || v === null) continue;
    const field = Number(num);
    for (const x of repeated ? (v as unknown[]) : [v]) {
      if (kind === "varint") (w.varint((field << 3) | 0), w.varint(x as number));
      else if (kind === "float" || kind === "double") (w.varint((field << 3) | (kind === "float" ? 5 : 1)), w.fixed(x as number, kind === "float" ? 4 : 8));
      else {
        const bytes = kind === "string" ? new TextEncoder().encode(x as string) : kind === "bytes" ? (x as Uint8Array) : encode(x as Record<string, unknown>, kind);
        w.varint((field << 3) | 2);
        w.varint(bytes.length);
        w.raw(bytes);
      }
    }
  }
}

export function encode(msg: object, schema: Schema = Model): Uint8Array {
  const w = new Writer();
  encodeInto(w, msg as Record<string, unknown>, schema);
  return w.finish();
}

/** Decode a message; throws an Error saying where the bytes stop making sense. */
export function decode<T = ModelProto>(bytes: Uint8Array, schema: Schema = Model): T {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const fail = (m: string): never => {
    throw new Error(`${m} at byte ${at} of ${bytes.length}`);
  };
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (at >= bytes.length) fail("a truncated varint");
      if (shift > 63n) fail("a varint longer than 10 bytes");
      const b = bytes[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  const int = () => Number(BigInt.asIntN(64, varint()));
  const take = (n: number) => (at + n > bytes.length ? fail(`a field of ${n} bytes past the end`) : bytes.subarray(at, (at += n)));
  const out: Record<string, unknown> = {};
  while (at < bytes.length) {
    const key = int();
    const [field, wire] = [key >>> 3, key & 7];
    if (field === 0) fail("field number 0");
    const spec = schema[field];
    if (!spec) {
      // an unknown field: skip it by its wire type
      if (wire === 0) varint();
      else if (wire === 1) take(8);
      else if (wire === 2) take(int());
      else if (wire === 5) take(4);
      else fail(`wire type ${wire}`);
      continue;
    }
    const [name, kind, repeated] = spec;
    const put = (v: unknown) => {
      if (repeated) ((out[name] ??= []) as unknown[]).push(v);
      else out[name] = v;
    };
    const scalar = (w: number) => {
      if (kind === "varint" && w === 0) return int();
      if (kind === "float" && w === 5) return view.getFloat32(take(4).byteOffset - bytes.byteOffset, true);
      if (kind === "double" && w === 1) return view.getFloat64(take(8).byteOffset - bytes.byteOffset, true);
      return fail(`field ${name} (${field}) with wire type ${w}`);
    };
    if (typeof kind === "string" && (kind === "varint" || kind === "float" || kind === "double")) {
      if (wire === 2 && repeated) {
        // packed: a length, then the values back to back
        const end = at + int();
        if (end > bytes.length) fail(`packed field ${name} past the end`);
        while (at < end) put(scalar(kind === "varint" ? 0 : kind === "float" ? 5 : 1));
      } else put(scalar(wire));
      continue;
    }
    if (wire !== 2) fail(`field ${name} (${field}) with wire type ${wire}`);
    const body = take(int());
    if (kind === "string") put(new TextDecoder("utf-8", { fatal: true }).decode(body));
    else if (kind === "bytes") put(body.slice());
    else put(decode(body, kind as Schema));
  }
  return out as T;
}

/** The value-info of a tensor: name, element type, fixed dims. */
export function valueInfo(name: string, elemType: number, dims: readonly number[]): ValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

/** A tensor initializer, its data as little-endian raw bytes. */
export function tensor(name: string, dataType: number, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  const n = values.length;
  const width = dataType === DT.FLOAT || dataType === DT.INT32 ? 4 : 8;
  const raw = new Uint8Array(n * width);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (dataType === DT.FLOAT) dv.setFloat32(4 * i, v, true);
    else if (dataType === DT.DOUBLE) dv.setFloat64(8 * i, v, true);
    else if (dataType === DT.INT32) dv.setInt32(4 * i, v, true);
    else if (dataType === DT.INT64) dv.setBigInt64(8 * i, BigInt(v), true);
    else throw new Error(`internal: tensor ${name} of ONNX type ${dataType}`);
  }
  return { name, dataType, dims: [...dims], rawData: raw };
}
