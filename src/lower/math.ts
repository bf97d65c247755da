/**
 * The math of a kernel in the tutorial's notation, for its comment and for `explain`:
 * `dz1 = da1 ⊙ relu'(z1)`. Values with a buffer are named; folded ones are written out, and a
 * folded value with a model-file name is listed as a step of its own (`z1 = x·W1ᵀ + b1;  a1 = relu(z1)`).
 */
import type { Node } from "../ir/graph.js";
import { primitive } from "../ops/index.js";
import { isScalarConst, type Storage } from "./buffers.js";
import { kindOf, type Fusion } from "./fuse.js";

export const fmtNum = (v: number): string => (Object.is(v, -0) ? "-0" : String(v));

export function mathWriter(f: Fusion, s: Storage, ctxNames: ReadonlyMap<Node, string>) {
  const mathOf = (n: Node, top: boolean, steps?: string[]): string => {
    if (!top && s.names.has(n)) return s.names.get(n)!;
    if (isScalarConst(n)) return fmtNum((n.attrs.values as number[])[0]!);
    if (kindOf(n) === "view" && s.viewOf(n) === null) return mathOf(n.inputs[0]!, false, steps);
    const def = primitive(n.op);
    const sentinels = n.inputs.map((_, i) => `\u0000${i}\u0000`);
    const template = def.math(sentinels, { ...n.attrs });
    const args = n.inputs.map((c, i) => {
      let m = mathOf(c, false, steps);
      const own = (f.inlined.has(c) || f.fused.has(c)) && ctxNames.get(c);
      if (own && steps && c.inputs.length) {
        steps.push(`${own} = ${m}`);
        m = own;
      }
      // an argument is parenthesised unless it is atomic or the op already encloses it, as in relu(x)
      const enclosed = new RegExp(`[(\\[]${sentinels[i]}[),\\]]`).test(template) || template === sentinels[i];
      return !enclosed && /[ +−⊙/]/.test(m) && !/^\([^()]*\)$/.test(m) ? `(${m})` : m;
    });
    return def.math(args, { ...n.attrs });
  };
  return mathOf;
}
