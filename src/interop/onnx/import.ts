/**
 * `flatgrad import model.onnx`: an ONNX model as a readable model file (the graph as builder calls,
 * each with a comment naming its ONNX node) and a safetensors file of its float initializers,
 * which become the model's params under their (sanitised) names, so `loadParams` takes it and
 * training fine-tunes it. Constant operands (shapes, axes, exponents) become literals.
 */
import { nameProblem, RESERVED } from "../../ir/names.js";
import { FlatgradError, type Site } from "../../ir/shape.js";
import { writeSafetensors, type Tensors } from "../safetensors.js";
import { HANDLERS, KNOWN_ATTRS, type Operand } from "./ops.js";
import { ATTR, decode, DT, DT_NAMES, EXTERNAL, type AttributeProto, type ModelProto, type TensorProto } from "./proto.js";

/** Losses `--loss` can add (on the model's one output, against a new input "target" of its shape). */
export const IMPORT_LOSSES = ["mse", "softmaxCrossEntropy", "bceWithLogits"] as const;
export type ImportLoss = (typeof IMPORT_LOSSES)[number];

export interface Imported {
  /** The model file's text (not yet formatted). */
  text: string;
  /** The initializers as a safetensors file, keyed by the params' names, in declaration order. */
  weights: Uint8Array;
}

/** A valid flatgrad name for an ONNX name: kept when it already is one, else invalid runs become `_`. */
export function sanitiseName(name: string, taken: Set<string>): string {
  let out = name;
  if (nameProblem(out) !== undefined) {
    out = name
      .split(".")
      .map((seg) => seg.replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+(?=[A-Za-z])/, "").replace(/^(?=[0-9])/, "_"))
      .filter((seg) => seg !== "" && seg !== "_")
      .join(".");
    if (out === "" || RESERVED.has(out)) out = `v_${out}`;
    if (out.length > 60) out = out.slice(out.length - 60).replace(/^[^A-Za-z_]+/, "");
    if (nameProblem(out) !== undefined) out = `v_${out.replace(/\./g, "_")}`;
  }
  let unique = out;
  for (let i = 2; taken.has(unique); i++) unique = `${out}_${i}`;
  taken.add(unique);
  return unique;
}

/** A TypeScript variable name for a value: its flatgrad name with dots as underscores, or the node's output name. */
const varName = (name: string, taken: Set<string>) => {
  let v = name.replace(/_output_0$/, "").replace(/[^A-Za-z0-9_]+/g, "_").replace(/^_+/, "").replace(/^(?=[0-9])/, "v");
  if (v === "" || RESERVED.has(v) || v === "g") v = `v_${v}`;
  let unique = v;
  for (let i = 2; taken.has(unique); i++) unique = `${v}_${i}`;
  taken.add(unique);
  return unique;
};

function tensorValues(t: TensorProto, fail: (m: string) => never): number[] {
  const dt = t.dataType ?? 0;
  const n = (t.dims ?? []).reduce<number>((p, d) => p * d, 1);
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  if (t.dataLocation === EXTERNAL) fail(`tensor "${t.name}" keeps its data in an external file, which flatgrad does not read`);
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const width = { [DT.FLOAT]: 4, [DT.DOUBLE]: 8, [DT.INT64]: 8, [DT.INT32]: 4 }[dt];
  if (width === undefined) fail(`tensor "${t.name}" has element type ${DT_NAMES[dt] ?? dt} (flatgrad reads FLOAT, DOUBLE, INT64 and INT32)`);
  if (view) {
    if (view.byteLength !== n * width!) fail(`tensor "${t.name}" holds ${view.byteLength} bytes of data for ${n} values`);
    return Array.from({ length: n }, (_, i) =>
      dt === DT.FLOAT ? view.getFloat32(4 * i, true) : dt === DT.DOUBLE ? view.getFloat64(8 * i, true) : dt === DT.INT32 ? view.getInt32(4 * i, true) : Number(view.getBigInt64(8 * i, true)),
    );
  }
  const typed = dt === DT.FLOAT ? t.floatData : dt === DT.DOUBLE ? t.doubleData : dt === DT.INT64 ? t.int64Data : t.int32Data;
  const vals = (typed ?? []).map((v) => v);
  if (vals.length !== n) fail(`tensor "${t.name}" holds ${vals.length} values for its ${n} elements`);
  return vals;
}

function attrValue(a: AttributeProto): number | number[] | string | TensorProto | undefined {
  switch (a.type) {
    case ATTR.FLOAT:
      return a.f ?? 0;
    case ATTR.INT:
      return a.i ?? 0;
    case ATTR.INTS:
      return a.ints ?? [];
    case ATTR.FLOATS:
      return [...(a.floats ?? [])];
    case ATTR.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case ATTR.TENSOR:
      return a.t ?? undefined;
    default:
      return undefined;
  }
}

export function importOnnx(bytes: Uint8Array, file: string, options: { loss?: ImportLoss } = {}): Imported {
  const site: Site = { file, line: 1, col: 1 };
  const invalid = (m: string): never => {
    throw new FlatgradError(`import: ${file} is not a valid ONNX model: ${m}`, site, "FG233");
  };
  const unfit = (m: string): never => {
    throw new FlatgradError(`import: ${m}`, site, "FG235");
  };
  let model: ModelProto;
  try {
    model = decode(bytes);
  } catch (e) {
    return invalid((e as Error).message);
  }
  const graph = model.graph ?? invalid("it has no graph");
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
  if (!opset) invalid("it imports no version of the default ONNX domain (opset_import)");
  const version = opset!.version ?? 1;

  // values: initializers and graph inputs first, then each node's outputs in order
  const inits = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) {
    if (!t.name) invalid("an initializer has no name");
    if (inits.has(t.name!)) invalid(`two initializers are named "${t.name}"`);
    inits.set(t.name!, t);
  }
  const floatTypes = new Set<number>();
  const names = new Set<string>();
  const vars = new Set<string>(["g"]);
  const decls: string[] = [];
  const body: string[] = [];
  const params: Tensors = {};
  const values = new Map<string, Operand>();

  const inputs = (graph.input ?? []).filter((i) => !inits.has(i.name ?? ""));
  for (const i of inputs) {
    const tt = i.type?.tensorType ?? unfit(`graph input "${i.name}" is not a tensor`);
    const dims = (tt!.shape?.dim ?? []).map((d, k) => (d.dimValue !== undefined && d.dimValue !== null && d.dimValue > 0 ? d.dimValue : unfit(`graph input "${i.name}" has a dynamic dimension${d.dimParam ? ` "${d.dimParam}"` : ""} at axis ${k}: flatgrad's shapes are fixed (export with fixed sizes)`)));
    const et = tt!.elemType ?? 0;
    const name = sanitiseName(i.name!, names);
    const v = varName(name, vars);
    if (et === DT.FLOAT || et === DT.DOUBLE) {
      floatTypes.add(et);
      decls.push(`const ${v} = g.input(${JSON.stringify(name)}, [${dims.join(", ")}]);${name !== i.name ? ` // ONNX input "${i.name}"` : ""}`);
    } else if (et === DT.INT64 || et === DT.INT32) decls.push(`const ${v} = g.input(${JSON.stringify(name)}, [${dims.join(", ")}], { dtype: "int32" }); // ONNX ${et === DT.INT64 ? "int64" : "int32"} input "${i.name}"`);
    else unfit(`graph input "${i.name}" has element type ${DT_NAMES[et] ?? et} (flatgrad takes FLOAT, DOUBLE, INT64 or INT32)`);
    values.set(i.name!, { expr: v, shape: dims });
  }
  // an initializer becomes a param the first time a node reads it as a tensor; as a shape or axes it stays a literal
  for (const [key, t] of inits) {
    const dims = [...(t.dims ?? [])];
    const vals = tensorValues(t, invalid);
    const dt = t.dataType ?? 0;
    let expr: string | undefined;
    const declare = (kind: "param" | "buffer"): string => {
      if (expr) return expr;
      if (dt !== DT.FLOAT && dt !== DT.DOUBLE) return unfit(`initializer "${key}" (${DT_NAMES[dt]}) is used as a tensor: flatgrad params and buffers are floats`);
      floatTypes.add(dt);
      const name = sanitiseName(key, names);
      expr = varName(name, vars);
      decls.push(`const ${expr} = g.${kind}(${JSON.stringify(name)}, [${dims.join(", ")}]);${name !== key ? ` // ONNX initializer "${key}"` : ""}`);
      params[name] = { shape: dims, data: dt === DT.FLOAT ? Float32Array.from(vals) : Float64Array.from(vals) };
      return expr;
    };
    const operand: Operand = {
      shape: dims,
      values: vals,
      get expr() {
        return declare("param");
      },
      buffer: () => declare("buffer"),
    };
    values.set(key, operand);
  }

  // PyTorch's GELU, exported as x·(erf(x/√2) + 1)·0.5 in five nodes, becomes one g.gelu(x)
  const nodes = graph.node ?? [];
  const scalarOf = (name: string): number | undefined => {
    const t = inits.get(name) ?? (nodes.find((n) => n.opType === "Constant" && n.output?.[0] === name)?.attribute?.find((a) => a.name === "value")?.t);
    if (!t) return undefined;
    const v = tensorValues(t, invalid);
    return v.length === 1 ? v[0] : undefined;
  };
  const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const uses = (name: string) => nodes.filter((n) => n.input?.includes(name)).length + (graph.output ?? []).filter((o) => o.name === name).length;
  const other = (n: { input?: string[] }, name: string) => n.input?.find((i) => i !== name) ?? name;
  const gelus = new Map<string, string>(); // the final Mul's output → x
  const skipped = new Set<unknown>();
  for (const erf of nodes.filter((n) => n.opType === "Erf")) {
    const div = producer.get(erf.input?.[0] ?? "");
    if (div?.opType !== "Div" || Math.abs((scalarOf(div.input?.[1] ?? "") ?? 0) - Math.SQRT2) > 1e-6) continue;
    const x = div.input![0]!;
    const add = nodes.find((n) => n.opType === "Add" && n.input?.includes(erf.output![0]!));
    if (!add || scalarOf(other(add, erf.output![0]!)) !== 1) continue;
    const mul = nodes.find((n) => n.opType === "Mul" && n.input?.includes(add.output![0]!) && other(n, add.output![0]!) === x);
    const half = mul && nodes.find((n) => n.opType === "Mul" && n.input?.includes(mul.output![0]!) && scalarOf(other(n, mul.output![0]!)) === 0.5);
    if (!mul || !half || [div, erf, add, mul].some((n) => uses(n.output![0]!) !== 1)) continue;
    gelus.set(half.output![0]!, x);
    for (const n of [div, erf, add, mul]) skipped.add(n);
  }

  for (const [k, node] of nodes.entries()) {
    const op = node.opType ?? "";
    const label = `node "${node.name || `#${k}`}" (${op})`;
    const unsupported = (m: string): never => {
      throw new FlatgradError(`import: ${label}: ${m}`, site, "FG234");
    };
    if (node.domain && node.domain !== "ai.onnx") unsupported(`the op is in domain "${node.domain}"; flatgrad reads the default ONNX domain`);
    const attrs = new Map((node.attribute ?? []).map((a) => [a.name ?? "", attrValue(a)]));
    const outName = node.output?.[0] ?? invalid(`${label} has no output`);
    if (skipped.has(node)) continue;
    const geluOf = gelus.get(outName);
    if (geluOf !== undefined) {
      const x = values.get(geluOf) ?? invalid(`${label} reads "${geluOf}", which no earlier node, input or initializer defines`);
      const v = varName(outName, vars);
      body.push(`const ${v} = g.gelu(${x.expr}); // ${label}: PyTorch's GELU, x·(erf(x/√2) + 1)·0.5`);
      values.set(outName, { expr: v, shape: x.shape });
      continue;
    }
    if (op === "Constant") {
      const t = attrs.get("value");
      if (!t || typeof t !== "object" || Array.isArray(t)) unsupported(`a Constant without a tensor "value" (${[...attrs.keys()].join(", ")})`);
      const ct = t as TensorProto;
      const dims = [...(ct.dims ?? [])];
      const vals = tensorValues(ct, invalid);
      let expr: string | undefined;
      values.set(outName, {
        shape: dims,
        values: vals,
        get expr() {
          if (!expr) {
            expr = varName(outName, vars);
            body.push(`const ${expr} = g.constant([${vals.join(", ")}], [${dims.join(", ")}]); // ${label}`);
          }
          return expr;
        },
      });
      continue;
    }
    const h = HANDLERS[op] ?? unsupported(`flatgrad does not support the op ${op} (it imports ${Object.keys(HANDLERS).concat("Constant").sort().join(", ")})`);
    if (version < h.since) unsupported(`opset ${version} is older than the ${op} flatgrad reads (opset ${h.since} or newer)`);
    const known = KNOWN_ATTRS[op] ?? [];
    for (const a of attrs.keys()) if (!known.includes(a)) unsupported(`the attribute ${a} is not supported${known.length ? ` (${op} takes ${known.join(", ")})` : ` (${op} takes none)`}`);
    const ins = (node.input ?? []).map((n) => (n === "" ? undefined : (values.get(n) ?? invalid(`${label} reads "${n}", which no earlier node, input or initializer defines`))));
    for (const extra of (node.output ?? []).slice(1)) if (extra !== "") values.set(extra, { shape: [], get expr(): string { return unsupported(`its output ${extra} is used, but flatgrad computes only the first output`); } });
    const res = h.run({
      ins,
      opset: version,
      attr: (n) => {
        const v = attrs.get(n);
        return typeof v === "object" && !Array.isArray(v) ? unsupported(`the attribute ${n} is a tensor`) : v;
      },
      fail: unsupported,
    });
    const v = varName(outName, vars);
    body.push(`const ${v} = ${res.expr}; // ${label}`);
    if (values.has(outName)) invalid(`two nodes compute "${outName}"`);
    values.set(outName, { expr: v, shape: res.shape });
  }

  const outputs = graph.output ?? [];
  if (!outputs.length) invalid("the graph has no outputs");
  const outLines = outputs.map((o) => {
    const val = values.get(o.name ?? "") ?? invalid(`graph output "${o.name}" is not computed by any node`);
    return { name: sanitiseName(o.name!, names), onnx: o.name!, val };
  });
  if (floatTypes.size > 1) unfit("the model mixes FLOAT and DOUBLE tensors: a flatgrad model has one float dtype");
  const dtype = floatTypes.has(DT.DOUBLE) ? "float64" : "float32";
  const lossLines: string[] = [];
  if (options.loss) {
    if (outLines.length !== 1) unfit(`--loss needs a model with one output; this one has ${outLines.length} (${outLines.map((o) => o.onnx).join(", ")})`);
    const o = outLines[0]!;
    const t = sanitiseName("target", names);
    lossLines.push(`const target = g.input(${JSON.stringify(t)}, [${o.val.shape.join(", ")}]);`, `return g.${options.loss}(${o.val.expr}, target);`);
  }
  // outputs first read their values (which may declare params), then the declarations are complete
  const outText = outLines.map((o) => `g.output(${JSON.stringify(o.name)}, ${o.val.expr});${o.name !== o.onnx ? ` // ONNX output "${o.onnx}"` : ""}`);
  for (const p of Object.values(params)) if (dtype === "float64" && p.data instanceof Float32Array) p.data = Float64Array.from(p.data);

  const base = file.split(/[\\/]/).pop()!;
  const text = [
    `// Imported by flatgrad from ${base} (producer ${model.producerName || "unknown"}${model.producerVersion ? ` ${model.producerVersion}` : ""}, opset ${version}).`,
    `// The params' values are in the .safetensors file beside this one: model.loadParams(bytes) takes them.`,
    `import { defineModel } from "flatgrad";`,
    ``,
    `export default defineModel({`,
    `  dtype: "${dtype}",`,
    `  optimizer: { type: "sgd", lr: 0.01 },`,
    `  build(g) {`,
    ...[...decls, ...body, ...outText, ...lossLines].map((l) => `    ${l}`),
    `  },`,
    `});`,
    ``,
  ].join("\n");
  return { text, weights: writeSafetensors(params) };
}

