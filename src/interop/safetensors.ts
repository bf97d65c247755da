/**
 * safetensors for the interop commands: `export --onnx --params` reads a checkpoint, `import`
 * writes the initializers of an ONNX model. Hand-written like the generated module's reader and
 * writer (the format is an 8-byte little-endian header length, a JSON header, raw little-endian
 * data); a library would add a dependency for twenty lines.
 */
export type Tensors = Record<string, { shape: number[]; data: Float32Array | Float64Array }>;

/** The float tensors of a safetensors file; throws an Error naming what is wrong. */
export function readSafetensors(bytes: Uint8Array, what: string): Tensors {
  const fail = (msg: string): never => {
    throw new Error(`${what}: ${msg}`);
  };
  if (bytes.length < 8) fail("not a safetensors file (shorter than 8 bytes)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.length) fail(`not a safetensors file (a header of ${n} bytes in a file of ${bytes.length})`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return fail(`bad header: ${(e as Error).message}`);
  }
  const out: Tensors = {};
  for (const [k, t] of Object.entries(header)) {
    if (k === "__metadata__") continue;
    const width = t.dtype === "F32" ? 4 : t.dtype === "F64" ? 8 : fail(`${k}: dtype ${t.dtype} (flatgrad reads F32 and F64)`);
    const [a, b] = t.data_offsets;
    const count = t.shape.reduce((x, y) => x * y, 1);
    if (b - a !== count * width || 8 + n + b > bytes.length) fail(`${k}: offsets [${a}, ${b}] do not hold ${count} values of ${t.dtype} in the file`);
    const data = width === 4 ? new Float32Array(count) : new Float64Array(count);
    for (let i = 0; i < count; i++) data[i] = width === 4 ? view.getFloat32(8 + n + a + 4 * i, true) : view.getFloat64(8 + n + a + 8 * i, true);
    out[k] = { shape: t.shape, data };
  }
  return out;
}

/** A safetensors file of float tensors, in the given order, 8-byte aligned (as saveParams writes it). */
export function writeSafetensors(tensors: Tensors): Uint8Array {
  let offset = 0;
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  for (const [k, t] of Object.entries(tensors)) {
    const bytes = t.data.length * t.data.BYTES_PER_ELEMENT;
    header[k] = { dtype: t.data instanceof Float32Array ? "F32" : "F64", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  // pad with spaces (in bytes, after encoding) so that the data starts 8-byte aligned
  const head = new Uint8Array(raw.length + ((8 - (raw.length % 8)) % 8)).fill(0x20);
  head.set(raw);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of Object.values(tensors))
    for (const v of t.data) {
      if (t.data instanceof Float32Array) view.setFloat32(at, v, true);
      else view.setFloat64(at, v, true);
      at += t.data.BYTES_PER_ELEMENT;
    }
  return out;
}
