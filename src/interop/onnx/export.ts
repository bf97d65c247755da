/**
 * `flatgrad export --onnx`: the inference graph (eval mode) as an ONNX model, IR version 8,
 * opset 17: graph inputs named as the model's inputs that the outputs need, graph outputs named
 * as the model's outputs, the parameters (and buffers) the outputs use as initializers under their
 * names, every tensor in the model's dtype. Each op says how ONNX spells it (`onnx` in its op file).
 */
import type { BuiltModel } from "../../front/build.js";
import { topo, type Node } from "../../ir/graph.js";
import { specialise } from "../../ir/modes.js";
import { FlatgradError, size } from "../../ir/shape.js";
import { primitive } from "../../ops/index.js";
import type { OnnxAttr, OnnxWriter } from "../../ops/types.js";
import { forwardGraph } from "../torch.js";
import { ATTR, DT, encode, tensor, valueInfo, type AttributeProto, type NodeProto, type TensorProto } from "./proto.js";

export const OPSET = 17;
export const IR_VERSION = 8;

const ONNX_DTYPE = { float32: DT.FLOAT, float64: DT.DOUBLE, int32: DT.INT32 } as const;

function attribute(name: string, a: OnnxAttr): AttributeProto {
  if ("f" in a) return { name, type: ATTR.FLOAT, f: a.f };
  if ("i" in a) return { name, type: ATTR.INT, i: a.i };
  if ("ints" in a) return { name, type: ATTR.INTS, ints: [...a.ints] };
  return { name, type: ATTR.STRING, s: new TextEncoder().encode(a.s) };
}

/**
 * The ONNX model of a built model. `state`: the values of its params and buffers by name (a
 * checkpoint's, or `createModel({ seed: 0 })`'s). Returns the serialised ModelProto.
 */
export function exportOnnx(built: BuiltModel, state: Readonly<Record<string, ArrayLike<number>>>): Uint8Array {
  const g = forwardGraph(built.graph);
  const { ctx } = g;
  const floatType = ONNX_DTYPE[g.dtype];
  const outNames = [...g.outputs.keys()];
  if (!outNames.length) throw new FlatgradError(`export --onnx: the model has no outputs (g.output): an ONNX model is its inference graph`, undefined, "FG231");
  const outs = specialise(ctx, [...g.outputs.values()], "eval");

  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const inputs: ReturnType<typeof valueInfo>[] = [];
  const used = new Set<string>([...g.inputs.keys(), ...g.params.keys(), ...g.buffers.keys(), ...outNames]);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  let counter = 0;
  const writer: OnnxWriter = {
    floatType,
    node(op, ins, attrs = {}) {
      const output = fresh(`${op}_${counter++}`);
      nodes.push({ name: output, opType: op, input: [...ins], output: [output], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
      return output;
    },
    ints(values, shape = [values.length], elemType = DT.INT64) {
      const name = fresh(`const_${counter++}`);
      initializers.push(tensor(name, elemType, shape, values));
      return name;
    },
    floats(values, shape) {
      const name = fresh(`const_${counter++}`);
      initializers.push(tensor(name, floatType, shape, values));
      return name;
    },
    scalar(v) {
      const name = fresh(`const_${counter++}`);
      initializers.push(tensor(name, floatType, [], [v]));
      return name;
    },
  };

  const value = new Map<Node, string>();
  for (const n of topo(outs)) {
    const def = primitive(n.op);
    const source = def.lower.kind === "source" ? def.lower.source : undefined;
    const name = n.attrs.name as string | undefined;
    if (source === "input") {
      inputs.push(valueInfo(name!, ONNX_DTYPE[n.dtype], n.shape));
      value.set(n, name!);
    } else if (source === "param" || source === "buffer") {
      const v = state[name!];
      if (!v || v.length !== size(n.shape)) throw new FlatgradError(`export --onnx: no values for ${source} "${name}" ${JSON.stringify(n.shape)} in the parameters given`, undefined, "FG232");
      initializers.push(tensor(name!, floatType, n.shape, v));
      value.set(n, name!);
    } else if (source === "constant") {
      const v = n.attrs.values as number[];
      const c = fresh(`const_${counter++}`);
      initializers.push(tensor(c, floatType, n.shape, v.length === 1 ? new Array<number>(size(n.shape)).fill(v[0]!) : v));
      value.set(n, c);
    } else {
      if (!def.onnx) throw new FlatgradError(`export --onnx: ${n.op} has no ONNX form yet (flatgrad ${n.op} ${JSON.stringify(n.shape)}): it cannot be exported`, ctx.sites.get(n), "FG231");
      value.set(n, def.onnx(writer, n.inputs.map((i) => value.get(i)!), n.attrs, { ins: n.inputs.map((i) => i.shape), out: n.shape, dtype: g.dtype }));
    }
  }
  // each graph output is named as the model's output: rename the node that computes it, or add an Identity
  const named = new Set<string>();
  outNames.forEach((k, i) => {
    const v = value.get(outs[i]!)!;
    const producer = nodes.find((nd) => nd.output![0] === v);
    if (producer && !named.has(v) && !outNames.includes(v)) {
      for (const nd of nodes) nd.input = nd.input!.map((x) => (x === v ? k : x));
      producer.output = [k];
      producer.name = k;
      value.set(outs[i]!, k);
      named.add(k);
    } else nodes.push({ name: k, opType: "Identity", input: [v], output: [k] });
  });

  return encode({
    irVersion: IR_VERSION,
    producerName: "flatgrad",
    opsetImport: [{ domain: "", version: OPSET }],
    graph: {
      name: g.name,
      node: nodes,
      initializer: initializers,
      input: inputs,
      output: outNames.map((k) => valueInfo(k, ONNX_DTYPE[g.outputs.get(k)!.dtype], g.outputs.get(k)!.shape)),
    },
  });
}
