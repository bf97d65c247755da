/**
 * scaledDotProductAttention(q [..., Lq, d], k [..., Lk, d], v [..., Lk, dv], { causal, scale }):
 * O = softmax(q·kᵀ·scale + mask)·v. Built as P = attentionProbs(q, k) (one kernel: S, max, exp,
 * normalisation; the causal mask is its loop bound) and O = P·v (a batched matmul); the backward
 * reads as the derivation: dP = dO·vᵀ and dv = Pᵀ·dO (matmul's rule), dS = P ⊙ (dP − rowsum(dP ⊙ P)),
 * dq = dS·k·scale, dk = dSᵀ·q·scale (attentionProbs' rule).
 */
import { FlatgradError, broadcastShapes, fmtShape, fmtValue, sameShape } from "../ir/shape.js";
import type { Builder, Composite, Node, TensorLike } from "./types.js";

type AttentionOptions = { causal?: boolean; scale?: number };

export const scaledDotProductAttention: Composite<(b: Builder, q: TensorLike, k: TensorLike, v: TensorLike, options?: AttentionOptions) => Node> = {
  kind: "composite",
  doc: "softmax(q·kᵀ·scale + mask)·v (scale 1/√d by default; causal: query i attends keys j ≤ i)",
  call: (b, q, k, v, options = {}) => {
    const [qn, kn, vn] = [b.lift(q, "scaledDotProductAttention", "q"), b.lift(k, "scaledDotProductAttention", "k"), b.lift(v, "scaledDotProductAttention", "v")];
    const [qs, ks, vs] = [qn.shape, kn.shape, vn.shape];
    const fail = (why: string) => new FlatgradError(`scaledDotProductAttention: q is ${fmtShape(qs)}, k is ${fmtShape(ks)} but v is ${fmtShape(vs)}: ${why}`, undefined, "FG220");
    if (qs.length < 2 || ks.length < 2 || vs.length < 2) throw fail("each must have at least two axes, [..., L, d]");
    if (qs[qs.length - 1] !== ks[ks.length - 1]) throw fail(`the head sizes of q and k differ (${qs[qs.length - 1]} and ${ks[ks.length - 1]})`);
    if (ks[ks.length - 2] !== vs[vs.length - 2]) throw fail(`the key and value lengths differ (${ks[ks.length - 2]} and ${vs[vs.length - 2]})`);
    let lead: number[];
    try {
      lead = broadcastShapes("scaledDotProductAttention", broadcastShapes("scaledDotProductAttention", qs.slice(0, -2), ks.slice(0, -2)), vs.slice(0, -2));
    } catch {
      throw fail(`the batch axes ${fmtShape(qs.slice(0, -2))}, ${fmtShape(ks.slice(0, -2))} and ${fmtShape(vs.slice(0, -2))} cannot be broadcast`);
    }
    if (typeof options !== "object" || options === null) throw fail(`the options are ${fmtValue(options)}: pass { causal?, scale? }`);
    const unknown = Object.keys(options).find((o) => o !== "causal" && o !== "scale");
    if (unknown) throw fail(`the options have an unknown field "${unknown}" (known: causal, scale)`);
    const { causal = false, scale = 1 / Math.sqrt(qs[qs.length - 1]!) } = options;
    if (typeof causal !== "boolean") throw fail(`causal is ${fmtValue(causal)}: it must be true or false`);
    if (typeof scale !== "number" || !Number.isFinite(scale)) throw fail(`scale is ${fmtValue(scale)}: it must be a finite number`);
    // q and k read through broadcast views when their batch axes differ (the gradient sums them back)
    const full = (t: Node) => (sameShape(t.shape.slice(0, -2), lead) ? t : b.broadcastTo(t, [...lead, ...t.shape.slice(-2)]));
    const P = b.role(b.attentionProbs(full(qn), full(kn), { causal, scale }), "P");
    return b.matmul(P, vn);
  },
};
