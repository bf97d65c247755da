/**
 * The data the lowering stages pass along (src/lower/pipeline.ts lists the stages in order). A
 * `Program` is their result: buffers with arena offsets, and the kernels of each entry point.
 */
import type { DType, Graph, Node } from "../ir/graph.js";
import type { Site } from "../ir/shape.js";
import type { Namer } from "./namer.js";
import type { KernelWriter } from "./view.js";
import type { SimdPlan } from "../wasm/plan.js";
import type { Schedule } from "./schedule.js";

/**
 * What a buffer holds, which decides who may write it:
 * `param` (trained), `grad` (dL/dparam), `optimizer` (the optimizer's state: only `resetOptimizer`
 * zeroes it), `buffer` (state that is not trained, written only by training's updates), `constant`, `input` (a copy of an input, in the arena where the WebAssembly kernels
 * can read it) and `temp` (activations and intermediate gradients, sharing memory by lifetime).
 */
export type Role = "param" | "grad" | "optimizer" | "buffer" | "constant" | "input" | "temp";

export interface Buffer {
  name: string;
  /** Elements, not bytes. */
  size: number;
  dtype: DType;
  /** Byte offset in the arena (aligned to the dtype), set by the memory plan (-1 before it, and for buffers no kernel uses). */
  offset: number;
  role: Role;
  /** Initial values (constants). */
  values?: number[];
}

export interface Kernel {
  node: Node;
  /** The buffer it writes. */
  out: string;
  /** `name = math` for the comment. */
  comment: string;
  site: Site | undefined;
  /** Set by the schedule: a kernel of lossAndGrad that forward does not run (the chain rule's part). */
  backward: boolean;
  /** Set by the schedule: the buffer (state that is not trained) this kernel writes its new value into. */
  updates?: string;
  /** Set by the schedule: a kernel of lossAndGrad that only the buffers' new values need (batch statistics), not the loss or a gradient. */
  forState?: boolean;
  /** The ops computed in this one loop nest, when more than its own (fusion, for `explain`). */
  fused: string[];
  /** Buffers and inputs it reads (for lifetimes). */
  reads: Set<string>;
  /** Its loops (src/lower/loops.ts), written when the module is emitted. */
  emit(w: KernelWriter): void;
  /**
   * A kernel op with a SIMD plan (float32 matmuls whose layout suits four lanes): the product as a
   * WebAssembly function (src/wasm). The fused elementwise part runs in the function's lanes as it
   * stores (`plan.epilogue`) when its ops are written in lanes; otherwise the function stores the
   * product and `epilogue` applies the rest in place, in JavaScript. `emit` stays the fallback.
   */
  simd?: { plan: SimdPlan; product: string; epilogue?: (w: KernelWriter) => void };
}

/** Optimizer state of one param: torch's state name → buffer. */
export type OptimizerState = Map<string, Record<string, string>>;

/** The stages' result: the schedule of each entry point (src/lower/schedule.ts), the buffers placed in one arena, and their names. */
export interface Program extends Schedule {
  graph: Graph;
  /** Every buffer of the module, optimizer state included, with its arena offset. */
  buffers: Buffer[];
  /** The arena in bytes: the one number `explain`, the summary and the module use. */
  arenaBytes: number;
  /** Input name → local identifier, for the inputs each entry point reads. */
  inputLocals: Map<string, string>;
  params: Map<string, string>;
  /** Buffer (state that is not trained) name → its buffer. */
  buffersOf: Map<string, string>;
  grads: Map<string, string>;
  /** Param name → its optimizer state buffers; `step` is the 1-value buffer of the step count. */
  optimizer: { state: OptimizerState; roles: string[]; step: string };
  names: Map<Node, string>;
  namer: Namer;
}
