/**
 * "Did you mean": the closest known name to a misspelt one (edit distance, case and snake_case
 * ignored), and the spellings a PyTorch user brings (`betas`, `weight_decay`, `log_softmax`).
 */

/** Levenshtein distance, with a transposition counted as one edit (tahn → tanh). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  return d[a.length]![b.length]!;
}

/** `weight_decay`, `Weight-Decay` and `weightdecay` all compare as `weightdecay`. */
const fold = (s: string) => s.replace(/[_\-\s]/g, "").toLowerCase();

/** The known name closest to `word`, if it is close enough to be a slip (or `aliases` maps it). */
export function closest(word: string, known: readonly string[], aliases: Readonly<Record<string, string>> = {}): string | undefined {
  const alias = Object.entries(aliases).find(([k]) => fold(k) === fold(word));
  if (alias) return alias[1];
  const exact = known.find((k) => fold(k) === fold(word));
  if (exact) return exact;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dd = distance(fold(word), fold(k));
    if (dd < bestD) [best, bestD] = [k, dd];
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** PyTorch's names for builder methods (torch.nn.functional and tensor methods). */
export const TORCH_OPS: Record<string, string> = {
  log_softmax: "logSoftmax",
  cross_entropy: "softmaxCrossEntropy",
  crossEntropyLoss: "softmaxCrossEntropy",
  binary_cross_entropy_with_logits: "bceWithLogits",
  binary_cross_entropy: "bce",
  mse_loss: "mse",
  leaky_relu: "leakyRelu",
  mm: "matmul",
  bmm: "matmul",
  dense: "linear",
  permute: "transpose",
  view: "reshape",
  amax: "max",
};

/** PyTorch's (and other libraries') names for init schemes. */
export const TORCH_INITS: Record<string, string> = {
  glorot: "xavier",
  glorot_uniform: "xavier",
  xavier_uniform: "xavier",
  kaiming: "he",
  kaiming_normal: "he",
  he_normal: "he",
  zero: "zeros",
  one: "ones",
  randn: "normal",
  gaussian: "normal",
  rand: "uniform",
};

/** torch.optim field names and what they are here. */
export const TORCH_OPTIMIZER_FIELDS: Record<string, string> = {
  learning_rate: "lr",
  learningRate: "lr",
  weight_decay: "weightDecay",
  epsilon: "eps",
  max_norm: "clipGradNorm",
  clip_grad_norm: "clipGradNorm",
};
