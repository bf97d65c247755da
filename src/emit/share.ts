/**
 * Kernel sharing: kernels that are the same loops on other buffers and offsets (the steps of an
 * unrolled recurrence, a gate's slice of a fused product) become one function of the module,
 * called once per use. No op is named here: each kernel's statements are rendered as text and
 * split into tokens; buffer identifiers and integer literals (except loop bounds) are holes, and
 * kernels whose token streams are equal outside the holes form a group. Anti-unification then
 * keeps a hole as it is where every kernel of the group has the same token there (a weight that
 * every step reads stays a closure reference), and makes it a parameter where they differ; holes
 * that vary together are one parameter. Inputs are always parameters: they are locals of the
 * entry points.
 *
 * Threshold: a group shares a function when it has three or more different texts. A kernel whose
 * loops appear once (even if forward, loss and lossAndGrad all run it) stays inline, and so does a
 * pair (softmax's row sum and the loss's label sum are the same 6 lines on other buffers): read
 * inline, a pair costs a few lines, while a call hides the loops that a learner reads the forward
 * pass for. Three or more is a pattern, a step or a gate or a repeated layer, and the recurrence
 * whose module must not grow with its steps has at least three per step (an LSTM's gates).
 */
import type { Site } from "../ir/shape.js";
import type { Kernel, Program } from "../lower/program.js";
import type { KernelWriter } from "../lower/view.js";
import { listNames } from "./emit.js";
import { kernelComment, safe } from "./kernel.js";

/** A shared function: its name, parameters (identifier and type), statements, and the kernels that call it. */
export interface SharedFunction {
  name: string;
  params: { name: string; type: string }[];
  body: string;
  members: Kernel[];
}

export interface Sharing {
  functions: SharedFunction[];
  /** A kernel that calls a shared function → its call statement. */
  callOf: Map<Kernel, string>;
}

/** A group shares a function from this many different texts on (the threshold: see above). */
export const MIN_TEXTS = 3;

const TOKEN = /\s+|[A-Za-z_$][\w$]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[^\s\w$]/g;
const INT = /^\d+$/;

interface Tok {
  text: string;
  /** A buffer (its TypeScript type) or an integer literal that may differ between kernels. */
  hole?: "int" | string;
  /** ` + 0` added to an index that has no constant term, so that indices with and without one align. */
  added?: boolean;
  /** In a line comment: a hole there never becomes a parameter of its own (it would be unused). */
  comment?: boolean;
}

/** Tokens of a kernel's text, with holes marked and every array index given a constant term. */
export function tokenize(text: string, bufferType: ReadonlyMap<string, string>): Tok[] {
  const raw = text.match(TOKEN) ?? [];
  const out: Tok[] = [];
  const prev = () => {
    for (let i = out.length - 1; i >= 0; i--) if (!/^\s/.test(out[i]!.text)) return out[i]!.text;
    return "";
  };
  /** Per open `[`: whether it indexes a buffer, and where its contents start in `out`. */
  const brackets: { index: boolean; start: number }[] = [];
  let comment = false;
  for (const t of raw) {
    if (comment || (t === "/" && out[out.length - 1]?.text === "/")) {
      comment = !t.includes("\n");
      const hole = (bufferType.has(t) && prev() !== ".") || INT.test(t) ? (INT.test(t) ? "int" : bufferType.get(t)!) : undefined;
      out.push({ text: t, comment: true, ...(hole && { hole }) });
      continue;
    }
    if (t === "[") {
      brackets.push({ index: /^[A-Za-z_$]/.test(prev()), start: out.length + 1 });
      out.push({ text: t });
      continue;
    }
    if (t === "]") {
      const b = brackets.pop();
      if (b?.index) {
        // the index's last top-level term: a constant (`… + 56` or `3`) or not (then `+ 0` is added)
        const inner = out.slice(b.start).filter((x) => !/^\s/.test(x.text));
        const last = inner[inner.length - 1];
        const hasConst = last && INT.test(last.text) && (inner.length === 1 || inner[inner.length - 2]!.text === "+");
        if (!hasConst) out.push({ text: " ", added: true }, { text: "+", added: true }, { text: " ", added: true }, { text: "0", hole: "int", added: true });
      }
      out.push({ text: t });
      continue;
    }
    const p = prev();
    if (bufferType.has(t) && p !== ".") out.push({ text: t, hole: bufferType.get(t)! });
    else if (INT.test(t) && p !== "<") out.push({ text: t, hole: "int" });
    else out.push({ text: t });
  }
  return out;
}

const keyOf = (ts: Tok[]) => ts.map((t) => (t.hole ? `\u0000${t.hole}` : t.text)).join("");

/**
 * Group kernels (in the module's order) by their loops; `render(k)` gives a kernel's statements as a
 * function body, `bufferType` the buffers' and inputs' TypeScript types, `inputs` the entry points'
 * input locals (always parameters), `claim` a unique name in createModel's scope.
 */
export function shareKernels(
  kernels: readonly Kernel[],
  render: (k: Kernel) => string,
  bufferType: ReadonlyMap<string, string>,
  inputs: ReadonlySet<string>,
  claim: (preferred: string) => string,
): Sharing {
  const groups = new Map<string, { k: Kernel; toks: Tok[]; text: string }[]>();
  for (const k of new Set(kernels)) {
    const text = render(k);
    const toks = tokenize(text, bufferType);
    const key = keyOf(toks);
    groups.set(key, [...(groups.get(key) ?? []), { k, toks, text }]);
  }
  const functions: SharedFunction[] = [];
  const callOf = new Map<Kernel, string>();
  for (const members of groups.values()) {
    if (new Set(members.map((m) => m.text)).size < MIN_TEXTS) continue;
    const first = members[0]!.toks;
    // the parameters: one per distinct column of values that differ (or that names an input)
    const byColumn = new Map<string, number>();
    const params: { type: string; values: string[] }[] = [];
    const paramAt = new Map<number, number>();
    /** In a comment, a hole that differs names the parameter of the same values, or reads "…" when none has them. */
    const elided = new Set<number>();
    first.forEach((t, i) => {
      if (!t.hole) return;
      const values = members.map((m) => m.toks[i]!.text);
      if (values.every((v) => v === values[0]) && !inputs.has(values[0]!)) return;
      const col = `${t.hole}\u0000${values.join("\u0000")}`;
      if (t.comment) {
        if (!values.every((v) => v === values[0]) || inputs.has(values[0]!)) elided.add(i);
        return;
      }
      if (!byColumn.has(col)) {
        byColumn.set(col, params.length);
        params.push({ type: t.hole === "int" ? "number" : t.hole, values });
      }
      paramAt.set(i, byColumn.get(col)!);
    });
    for (const i of elided) {
      const p = byColumn.get(`${first[i]!.hole}\u0000${members.map((m) => m.toks[i]!.text).join("\u0000")}`);
      if (p !== undefined) paramAt.set(i, p);
    }
    // names: `out` for what each kernel writes, in0… for the other buffers, at0… for offsets; none a token of the body
    const used = new Set(first.map((t) => t.text));
    const fresh = (preferred: string) => {
      let nm = preferred;
      for (let n = 2; used.has(nm); n++) nm = `${preferred}_${n}`;
      used.add(nm);
      return nm;
    };
    let ins = 0;
    let ats = 0;
    const order = [...params.keys()].sort((a, b) => Number(params[a]!.type === "number") - Number(params[b]!.type === "number") || a - b);
    const names: string[] = [];
    for (const p of order) {
      const ps = params[p]!;
      const isOut = ps.type !== "number" && ps.values.every((v, m) => v === members[m]!.k.out);
      names[p] = fresh(isOut ? "out" : ps.type === "number" ? `at${ats++}` : `in${ins++}`);
    }
    const body = first
      .map((t, i) => {
        const p = paramAt.get(i);
        if (p !== undefined) return names[p]!;
        if (elided.has(i)) return "…";
        // a `+ 0` that no kernel needs is left out
        if (t.added) return isDroppedZero(first, i, paramAt) ? "" : t.text;
        return t.text;
      })
      .join("");
    const k0 = members[0]!.k;
    const name = claim(`${k0.node.op}Kernel`);
    functions.push({ name, params: order.map((p) => ({ name: names[p]!, type: params[p]!.type })), body, members: members.map((m) => m.k) });
    members.forEach((m, mi) => callOf.set(m.k, `${name}(${order.map((p) => params[p]!.values[mi]!).join(", ")});`));
  }
  return { functions, callOf };
}

/** Whether token `i` belongs to an added ` + 0` whose zero stayed a constant (so the term is dropped). */
function isDroppedZero(toks: Tok[], i: number, paramAt: ReadonlyMap<number, number>): boolean {
  // the added tokens come in fours: " ", "+", " ", "0"; find this run's zero
  let z = i;
  while (z < toks.length && toks[z]!.added && toks[z]!.text !== "0") z++;
  return !paramAt.has(z);
}

/** The shared functions, each with the math of its first kernel and the kernels that call it. */
export function emitSharedFunctions(w: KernelWriter, sharing: Sharing): void {
  for (const f of sharing.functions) {
    const k0 = f.members[0]!;
    w.line("");
    w.line(`// ${safe(k0.comment)}   (as its first caller computes it)`);
    w.line(`// shared by ${f.members.length} kernels, the same loops on other buffers and offsets: ${listNames(f.members.map((k) => k.out), 4)}`);
    w.block(`function ${f.name}(${f.params.map((p) => `${p.name}: ${p.type}`).join(", ")}): void`, () => f.body.trimEnd().split("\n").forEach((l) => w.line(l)));
  }
}

/** A kernel's call of its shared function, under its own comment line (which step, which op, the model line); false when it has none. */
export function emitSharedCall(w: KernelWriter, sharing: Sharing, k: Kernel, relSite: (s: Site | undefined) => string): boolean {
  const call = sharing.callOf.get(k);
  if (!call) return false;
  w.line("");
  w.line(kernelComment(k, relSite));
  w.line(call);
  return true;
}

/**
 * The run of kernels that forward and the entry points that begin with forward's kernels (lossAndGrad
 * and loss, when the modes do not differ) share: one function, when the run has at least MIN_RUN
 * kernels. A short forward pass reads better inline in each entry point (an MLP's module is as it
 * was); a long one (an unrolled recurrence, a deep stack) the module would otherwise carry three times.
 */
export const MIN_RUN = 16;

/** The forward pass as a function: its kernels, its comment and head, and the call that replaces them in an entry point. */
export interface Run {
  kernels: Kernel[];
  comment: string;
  head: string;
  call: string;
}

/** `inputs`: input name → its local; `typeOf(name)`: its TypeScript type; `claim`: a unique name in createModel's scope. */
export function forwardRun(p: Program, typeOf: (input: string) => string, claim: (preferred: string) => string): Run | undefined {
  const prefix = (o: readonly Kernel[]) => {
    let i = 0;
    while (i < p.forward.length && i < o.length && p.forward[i] === o[i]) i++;
    return i;
  };
  const lengths = [p.train, p.evalLoss].map(prefix).filter((l) => l >= MIN_RUN);
  if (!lengths.length) return undefined;
  const kernels = p.forward.slice(0, Math.min(...lengths));
  const inputs = [...p.inputLocals].filter(([, l]) => kernels.some((k) => k.reads.has(l)));
  const name = claim("forwardPass");
  const callers = ["forward", ...(p.train[0] === kernels[0] ? ["lossAndGrad"] : []), ...(p.evalLoss[0] === kernels[0] ? ["loss"] : [])];
  return {
    kernels,
    comment: `// the forward pass: the ${kernels.length} kernels that ${listNames(callers)} begin with`,
    head: `function ${name}(${inputs.map(([n, l]) => `${l}: ${typeOf(n)}`).join(", ")}): void`,
    call: `${name}(${inputs.map(([, l]) => l).join(", ")}); // the ${kernels.length} kernels of the forward pass`,
  };
}
