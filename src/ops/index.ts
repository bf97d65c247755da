/**
 * The op registry: one entry per op, each defined in its own file. The builder's methods, the
 * interpreter, the differentiator and the code generator all read this one object.
 */
import type { NodeRules } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { sameDtype } from "./family.js";
import { add } from "./add.js";
import { sub } from "./sub.js";
import { mul } from "./mul.js";
import { div } from "./div.js";
import { maximum } from "./maximum.js";
import { minimum } from "./minimum.js";
import { ge } from "./ge.js";
import { pow } from "./pow.js";
import { neg } from "./neg.js";
import { exp } from "./exp.js";
import { log } from "./log.js";
import { sqrt } from "./sqrt.js";
import { abs } from "./abs.js";
import { sign } from "./sign.js";
import { square } from "./square.js";
import { tanh } from "./tanh.js";
import { sigmoid } from "./sigmoid.js";
import { relu } from "./relu.js";
import { heaviside } from "./heaviside.js";
import { leakyRelu } from "./leakyRelu.js";
import { softplus } from "./softplus.js";
import { bceTerm } from "./bceTerm.js";
import { matmul } from "./matmul.js";
import { transpose } from "./transpose.js";
import { reshape } from "./reshape.js";
import { broadcastTo } from "./broadcastTo.js";
import { stopGradient } from "./stopGradient.js";
import { byMode } from "./byMode.js";
import { pad } from "./pad.js";
import { slice } from "./slice.js";
import { window } from "./window.js";
import { overlapAdd } from "./overlapAdd.js";
import { sum } from "./sum.js";
import { max } from "./max.js";
import { argmaxMask } from "./argmaxMask.js";
import { logSumExp } from "./logSumExp.js";
import { input, param, constant, output } from "./sources.js";
import { buffer } from "./buffer.js";
import { argmax } from "./argmax.js";
import { oneHot } from "./oneHot.js";
import { embedding } from "./embedding.js";
import { scatterAdd } from "./scatterAdd.js";
import { crossEntropy } from "./crossEntropy.js";
import { conv1d } from "./conv1d.js";
import { conv2d } from "./conv2d.js";
import { conv } from "./conv.js";
import { convInputGrad } from "./convInputGrad.js";
import { convWeightGrad } from "./convWeightGrad.js";
import { maxPool2d } from "./maxPool2d.js";
import { avgPool2d } from "./avgPool2d.js";
import { maxPool2dIndex } from "./maxPool2dIndex.js";
import { maxPool2dGather } from "./maxPool2dGather.js";
import { maxPool2dGrad } from "./maxPool2dGrad.js";
import { avgPool2dGrad } from "./avgPool2dGrad.js";
import { bnNormalize } from "./bnNormalize.js";
import { bnNormalizeGrad } from "./bnNormalizeGrad.js";
import { batchNorm } from "./batchNorm.js";
import { dropoutMask } from "./dropoutMask.js";
import { dropout } from "./dropout.js";
import { customVjp } from "./customVjp.js";
import { linear, mean, softmax, logSoftmax, mse, bce, bceWithLogits, softmaxCrossEntropy } from "./composites.js";
import { erf } from "./erf.js";
import { gelu } from "./gelu.js";
import { silu } from "./silu.js";
import { concat } from "./concat.js";
import { stack } from "./stack.js";
import { layerNormalize } from "./layerNormalize.js";
import { layerNormalizeGrad } from "./layerNormalizeGrad.js";
import { layerNorm } from "./layerNorm.js";
import { attentionProbs } from "./attentionProbs.js";
import { scaledDotProductAttention } from "./scaledDotProductAttention.js";
import { lstmCell } from "./lstmCell.js";
import { gruCell } from "./gruCell.js";

export const registry = {
  // sources
  input, param, buffer, constant, output,
  // binary elementwise
  add, sub, mul, div, maximum, minimum, ge,
  // unary elementwise
  pow, neg, exp, log, sqrt, abs, sign, square, tanh, sigmoid, relu, heaviside, leakyRelu, softplus,
  // linear algebra and movement
  matmul, linear, transpose, reshape, broadcastTo, stopGradient, byMode,
  // windows and padding: conv is pad → window → matmul, pooling window → max or mean
  pad, slice, window, overlapAdd,
  // reductions
  sum, mean, max, argmaxMask, logSumExp,
  // softmax and losses
  softmax, logSoftmax, mse, bce, bceTerm, bceWithLogits, softmaxCrossEntropy,
  // integer tensors: labels and token ids
  argmax, oneHot, crossEntropy, embedding, scatterAdd,
  // convolution and pooling (conv1d/conv2d: pad → conv → add the bias; the pools as kernels of their own)
  conv1d, conv2d, maxPool2d, avgPool2d,
  // the convolution primitive and its two gradients (conv1d/conv2d pad, then conv, then add the bias)
  conv, convInputGrad, convWeightGrad,
  // pooling's own kernels: training's max pool records its argmax (int32) and scatters dY to it; avg pool's adjoint
  maxPool2dIndex, maxPool2dGather, maxPool2dGrad, avgPool2dGrad,
  // state and modes: batch norm (running statistics) and dropout (the model's generator)
  batchNorm, bnNormalize, bnNormalizeGrad, dropout, dropoutMask,
  // sequence models (issue 13): activations, joining, layer norm, attention, recurrent cells
  erf, gelu, silu, concat, stack, layerNormalize, layerNormalizeGrad, layerNorm, attentionProbs, scaledDotProductAttention, lstmCell, gruCell,
  // g.customGrad: a forward with the user's derivative rule (issue 14)
  customVjp,
} satisfies Record<string, OpDef>;

export type Registry = typeof registry;
export type OpName = keyof Registry;
export type PrimitiveName = { [K in OpName]: Registry[K]["kind"] extends "primitive" ? K : never }[OpName];

/** Whether an op's kernel draws from the model's seeded generator (it declares `random` in its lowering). */
export function drawsRandom(op: string): boolean {
  const l = primitive(op).lower;
  return l.kind === "kernel" && l.random === true;
}

export function primitive(op: string) {
  const def = (registry as Record<string, OpDef>)[op];
  if (!def || def.kind !== "primitive") throw new Error(`internal: ${op} is not a primitive op`);
  return def;
}

/** The shape and dtype rules every context builds nodes with (a primitive without a dtype rule: the same as its float inputs). */
export const nodeRules: NodeRules = {
  shape: (op, inputs, attrs) => primitive(op).shape(inputs.map((n) => n.shape), attrs),
  dtype: (op, inputs, attrs, float) => {
    const def = primitive(op);
    const ins = inputs.map((n) => n.dtype);
    return def.dtype ? def.dtype(ins, attrs, float) : sameDtype(op)(ins);
  },
};
