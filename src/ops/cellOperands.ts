/**
 * The operands of lstmCell and gruCell, lifted and checked against PyTorch's layout: x [N, I]
 * (or [I]), h (and c) [N, H], Wih [G·H, I], Whh [G·H, H], biases [G·H], G the number of gates.
 * Not an op: the two cells' shared argument check.
 */
import { FlatgradError, fmtShape, sameShape } from "../ir/shape.js";
import type { Builder, Node, TensorLike } from "./types.js";

export interface CellOperands {
  x: Node;
  h: Node;
  c?: Node;
  Wih: Node;
  Whh: Node;
  bih?: Node;
  bhh?: Node;
  H: number;
}

export function cellOperands(b: Builder, op: string, gates: number, args: Record<string, TensorLike | undefined>): CellOperands {
  const lifted = Object.fromEntries(Object.entries(args).map(([k, t]) => [k, t === undefined ? undefined : b.lift(t, op, k)])) as Record<string, Node | undefined>;
  const all = Object.entries(lifted)
    .filter(([, n]) => n)
    .map(([k, n]) => `${k} is ${fmtShape(n!.shape)}`);
  const fail = (why: string) => new FlatgradError(`${op}: ${all.join(", ")}: ${why}`, undefined, "FG224");
  const { x, h, c, Wih, Whh, bih, bhh } = lifted;
  if (x!.shape.length < 1 || x!.shape.length > 2) throw fail("x must be [N, input] or [input]");
  if (h!.shape.length !== x!.shape.length || (x!.shape.length === 2 && h!.shape[0] !== x!.shape[0])) throw fail(`h must be [${x!.shape.length === 2 ? `${x!.shape[0]}, ` : ""}hidden], with x's batch size`);
  const H = h!.shape[h!.shape.length - 1]!;
  const I = x!.shape[x!.shape.length - 1]!;
  const G = `${gates}H = ${gates * H}`;
  if (c && !sameShape(c.shape, h!.shape)) throw fail("c must have h's shape");
  if (!sameShape(Wih!.shape, [gates * H, I])) throw fail(`Wih must be [${gates * H}, ${I}] (${G} rows for the gates, the input size ${I} columns)`);
  if (!sameShape(Whh!.shape, [gates * H, H])) throw fail(`Whh must be [${gates * H}, ${H}] (${G} rows for the gates, the hidden size ${H} columns)`);
  for (const [name, t] of [["bih", bih], ["bhh", bhh]] as const) if (t && !sameShape(t.shape, [gates * H])) throw fail(`${name} must be [${gates * H}] (${G})`);
  return { x: x!, h: h!, ...(c && { c }), Wih: Wih!, Whh: Whh!, ...(bih && { bih }), ...(bhh && { bhh }), H };
}

/** Gate k (of H columns) of a [..., G·H] pre-activation: a slice, which is a view. */
export const gate = (b: Builder, z: Node, k: number, H: number): Node => b.slice(z, -1, k * H, (k + 1) * H);
