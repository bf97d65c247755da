// The hand-written reference: the best flat-loop JavaScript we know how to write for an MLP training
// step, used to judge flatgrad's generated code. Float32Array storage, float64 accumulation (like
// flatgrad), every buffer preallocated: a step allocates no arrays or objects (only V8's box for a
// float64 returned from a call it does not inline; the bench measures it).
//
// - Matmul kernels for the three layouts a training step needs, each 4×2 register-blocked (8 running
//   sums, 6 loads per 8 multiply-adds) with the remainders handled outside the hot loop:
//     forward  Z  = X·Wᵀ  (A·Bᵀ)  bias + ReLU fused into the store;
//     backward dX = dZ·W  (A·B)   the previous layer's ReLU mask fused into the store, and its bias
//                                 gradient summed there too;
//     backward dW = dZᵀ·X (Aᵀ·B)  the SGD update fused into the store (W −= lr·dW, dW kept as well).
// - The loss and its backward as one kernel per row (softmax-CE: max, exp, sum, log, dZ and db in one
//   pass; BCE-with-logits likewise).
import type { Batch, Params, Workload } from "./workloads.js";

/** Z[m×n] = relu(X[m×k]·W[n×k]ᵀ + b) */
function forwardRelu(X: Float32Array, W: Float32Array, b: Float32Array, Z: Float32Array, m: number, n: number, k: number): void {
  const m4 = m - (m % 4);
  const n2 = n - (n % 2);
  for (let i = 0; i < m4; i += 4) {
    const x0 = i * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
    const z0 = i * n, z1 = z0 + n, z2 = z1 + n, z3 = z2 + n;
    for (let j = 0; j < n2; j += 2) {
      const w0 = j * k, w1 = w0 + k;
      let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
      for (let p = 0; p < k; p++) {
        const a0 = X[x0 + p]!, a1 = X[x1 + p]!, a2 = X[x2 + p]!, a3 = X[x3 + p]!;
        const b0 = W[w0 + p]!, b1 = W[w1 + p]!;
        c00 += a0 * b0; c01 += a0 * b1;
        c10 += a1 * b0; c11 += a1 * b1;
        c20 += a2 * b0; c21 += a2 * b1;
        c30 += a3 * b0; c31 += a3 * b1;
      }
      const bj0 = b[j]!, bj1 = b[j + 1]!;
      let v: number;
      v = c00 + bj0; Z[z0 + j] = v > 0 ? v : 0;
      v = c01 + bj1; Z[z0 + j + 1] = v > 0 ? v : 0;
      v = c10 + bj0; Z[z1 + j] = v > 0 ? v : 0;
      v = c11 + bj1; Z[z1 + j + 1] = v > 0 ? v : 0;
      v = c20 + bj0; Z[z2 + j] = v > 0 ? v : 0;
      v = c21 + bj1; Z[z2 + j + 1] = v > 0 ? v : 0;
      v = c30 + bj0; Z[z3 + j] = v > 0 ? v : 0;
      v = c31 + bj1; Z[z3 + j + 1] = v > 0 ? v : 0;
    }
    for (let j = n2; j < n; j++) {
      const w0 = j * k;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let p = 0; p < k; p++) {
        const b0 = W[w0 + p]!;
        c0 += X[x0 + p]! * b0; c1 += X[x1 + p]! * b0; c2 += X[x2 + p]! * b0; c3 += X[x3 + p]! * b0;
      }
      const bj = b[j]!;
      let v: number;
      v = c0 + bj; Z[z0 + j] = v > 0 ? v : 0;
      v = c1 + bj; Z[z1 + j] = v > 0 ? v : 0;
      v = c2 + bj; Z[z2 + j] = v > 0 ? v : 0;
      v = c3 + bj; Z[z3 + j] = v > 0 ? v : 0;
    }
  }
  for (let i = m4; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let c = 0;
      for (let p = 0; p < k; p++) c += X[i * k + p]! * W[j * k + p]!;
      const v = c + b[j]!;
      Z[i * n + j] = v > 0 ? v : 0;
    }
  }
}

/** Z[m×n] = X[m×k]·W[n×k]ᵀ + b  (the output layer: no activation) */
function forwardLinear(X: Float32Array, W: Float32Array, b: Float32Array, Z: Float32Array, m: number, n: number, k: number): void {
  const m4 = m - (m % 4);
  const n2 = n - (n % 2);
  for (let i = 0; i < m4; i += 4) {
    const x0 = i * k, x1 = x0 + k, x2 = x1 + k, x3 = x2 + k;
    const z0 = i * n, z1 = z0 + n, z2 = z1 + n, z3 = z2 + n;
    for (let j = 0; j < n2; j += 2) {
      const w0 = j * k, w1 = w0 + k;
      let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
      for (let p = 0; p < k; p++) {
        const a0 = X[x0 + p]!, a1 = X[x1 + p]!, a2 = X[x2 + p]!, a3 = X[x3 + p]!;
        const b0 = W[w0 + p]!, b1 = W[w1 + p]!;
        c00 += a0 * b0; c01 += a0 * b1;
        c10 += a1 * b0; c11 += a1 * b1;
        c20 += a2 * b0; c21 += a2 * b1;
        c30 += a3 * b0; c31 += a3 * b1;
      }
      const bj0 = b[j]!, bj1 = b[j + 1]!;
      Z[z0 + j] = c00 + bj0; Z[z0 + j + 1] = c01 + bj1;
      Z[z1 + j] = c10 + bj0; Z[z1 + j + 1] = c11 + bj1;
      Z[z2 + j] = c20 + bj0; Z[z2 + j + 1] = c21 + bj1;
      Z[z3 + j] = c30 + bj0; Z[z3 + j + 1] = c31 + bj1;
    }
    for (let j = n2; j < n; j++) {
      const w0 = j * k;
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let p = 0; p < k; p++) {
        const b0 = W[w0 + p]!;
        c0 += X[x0 + p]! * b0; c1 += X[x1 + p]! * b0; c2 += X[x2 + p]! * b0; c3 += X[x3 + p]! * b0;
      }
      const bj = b[j]!;
      Z[z0 + j] = c0 + bj; Z[z1 + j] = c1 + bj; Z[z2 + j] = c2 + bj; Z[z3 + j] = c3 + bj;
    }
  }
  for (let i = m4; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let c = 0;
      for (let p = 0; p < k; p++) c += X[i * k + p]! * W[j * k + p]!;
      Z[i * n + j] = c + b[j]!;
    }
  }
}

/**
 * The gradient into the previous layer, through its ReLU:
 * dP[m×k] = (dZ[m×n]·W[n×k]) ⊙ (A[m×k] > 0), and dbP[k] = Σ_rows dP (the previous layer's bias gradient).
 * A is the previous layer's ReLU output, so A > 0 is exactly relu'(its pre-activation).
 */
function backwardInputRelu(dZ: Float32Array, W: Float32Array, A: Float32Array, dP: Float32Array, dbP: Float32Array, m: number, n: number, k: number): void {
  dbP.fill(0);
  const m4 = m - (m % 4);
  const k2 = k - (k % 2);
  for (let i = 0; i < m4; i += 4) {
    const d0 = i * n, d1 = d0 + n, d2 = d1 + n, d3 = d2 + n;
    const o0 = i * k, o1 = o0 + k, o2 = o1 + k, o3 = o2 + k;
    for (let c = 0; c < k2; c += 2) {
      let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
      for (let r = 0, w = c; r < n; r++, w += k) {
        const a0 = dZ[d0 + r]!, a1 = dZ[d1 + r]!, a2 = dZ[d2 + r]!, a3 = dZ[d3 + r]!;
        const b0 = W[w]!, b1 = W[w + 1]!;
        c00 += a0 * b0; c01 += a0 * b1;
        c10 += a1 * b0; c11 += a1 * b1;
        c20 += a2 * b0; c21 += a2 * b1;
        c30 += a3 * b0; c31 += a3 * b1;
      }
      const v00 = A[o0 + c]! > 0 ? c00 : 0, v01 = A[o0 + c + 1]! > 0 ? c01 : 0;
      const v10 = A[o1 + c]! > 0 ? c10 : 0, v11 = A[o1 + c + 1]! > 0 ? c11 : 0;
      const v20 = A[o2 + c]! > 0 ? c20 : 0, v21 = A[o2 + c + 1]! > 0 ? c21 : 0;
      const v30 = A[o3 + c]! > 0 ? c30 : 0, v31 = A[o3 + c + 1]! > 0 ? c31 : 0;
      dP[o0 + c] = v00; dP[o0 + c + 1] = v01;
      dP[o1 + c] = v10; dP[o1 + c + 1] = v11;
      dP[o2 + c] = v20; dP[o2 + c + 1] = v21;
      dP[o3 + c] = v30; dP[o3 + c + 1] = v31;
      dbP[c] = dbP[c]! + Math.fround(v00) + Math.fround(v10) + Math.fround(v20) + Math.fround(v30);
      dbP[c + 1] = dbP[c + 1]! + Math.fround(v01) + Math.fround(v11) + Math.fround(v21) + Math.fround(v31);
    }
    for (let c = k2; c < k; c++) {
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let r = 0, w = c; r < n; r++, w += k) {
        const b0 = W[w]!;
        c0 += dZ[d0 + r]! * b0; c1 += dZ[d1 + r]! * b0; c2 += dZ[d2 + r]! * b0; c3 += dZ[d3 + r]! * b0;
      }
      const v0 = A[o0 + c]! > 0 ? c0 : 0, v1 = A[o1 + c]! > 0 ? c1 : 0;
      const v2 = A[o2 + c]! > 0 ? c2 : 0, v3 = A[o3 + c]! > 0 ? c3 : 0;
      dP[o0 + c] = v0; dP[o1 + c] = v1; dP[o2 + c] = v2; dP[o3 + c] = v3;
      dbP[c] = dbP[c]! + Math.fround(v0) + Math.fround(v1) + Math.fround(v2) + Math.fround(v3);
    }
  }
  for (let i = m4; i < m; i++) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += dZ[i * n + r]! * W[r * k + c]!;
      const v = A[i * k + c]! > 0 ? s : 0;
      dP[i * k + c] = v;
      dbP[c] = dbP[c]! + Math.fround(v);
    }
  }
}

/**
 * The weight gradient, with the SGD update fused into its store:
 * dW[n×k] = dZ[m×n]ᵀ·X[m×k]; when `update`, W −= lr·dW as well (dW is stored either way).
 */
function weightGrad(dZ: Float32Array, X: Float32Array, W: Float32Array, dW: Float32Array, m: number, n: number, k: number, lr: number, update: boolean): void {
  const n4 = n - (n % 4);
  const k2 = k - (k % 2);
  for (let o = 0; o < n4; o += 4) {
    const w0 = o * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
    for (let c = 0; c < k2; c += 2) {
      let c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0;
      for (let i = 0, d = o, x = c; i < m; i++, d += n, x += k) {
        const a0 = dZ[d]!, a1 = dZ[d + 1]!, a2 = dZ[d + 2]!, a3 = dZ[d + 3]!;
        const b0 = X[x]!, b1 = X[x + 1]!;
        c00 += a0 * b0; c01 += a0 * b1;
        c10 += a1 * b0; c11 += a1 * b1;
        c20 += a2 * b0; c21 += a2 * b1;
        c30 += a3 * b0; c31 += a3 * b1;
      }
      dW[w0 + c] = c00; dW[w0 + c + 1] = c01;
      dW[w1 + c] = c10; dW[w1 + c + 1] = c11;
      dW[w2 + c] = c20; dW[w2 + c + 1] = c21;
      dW[w3 + c] = c30; dW[w3 + c + 1] = c31;
      if (update) {
        W[w0 + c] = W[w0 + c]! - lr * Math.fround(c00); W[w0 + c + 1] = W[w0 + c + 1]! - lr * Math.fround(c01);
        W[w1 + c] = W[w1 + c]! - lr * Math.fround(c10); W[w1 + c + 1] = W[w1 + c + 1]! - lr * Math.fround(c11);
        W[w2 + c] = W[w2 + c]! - lr * Math.fround(c20); W[w2 + c + 1] = W[w2 + c + 1]! - lr * Math.fround(c21);
        W[w3 + c] = W[w3 + c]! - lr * Math.fround(c30); W[w3 + c + 1] = W[w3 + c + 1]! - lr * Math.fround(c31);
      }
    }
    for (let c = k2; c < k; c++) {
      let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let i = 0, d = o, x = c; i < m; i++, d += n, x += k) {
        const b0 = X[x]!;
        c0 += dZ[d]! * b0; c1 += dZ[d + 1]! * b0; c2 += dZ[d + 2]! * b0; c3 += dZ[d + 3]! * b0;
      }
      dW[w0 + c] = c0; dW[w1 + c] = c1; dW[w2 + c] = c2; dW[w3 + c] = c3;
      if (update) {
        W[w0 + c] = W[w0 + c]! - lr * Math.fround(c0); W[w1 + c] = W[w1 + c]! - lr * Math.fround(c1);
        W[w2 + c] = W[w2 + c]! - lr * Math.fround(c2); W[w3 + c] = W[w3 + c]! - lr * Math.fround(c3);
      }
    }
  }
  // remaining output rows (n % 4 of them), 1×2 blocks
  for (let o = n4; o < n; o++) {
    const w0 = o * k;
    for (let c = 0; c < k2; c += 2) {
      let c0 = 0, c1 = 0;
      for (let i = 0, d = o, x = c; i < m; i++, d += n, x += k) {
        const a = dZ[d]!;
        c0 += a * X[x]!; c1 += a * X[x + 1]!;
      }
      dW[w0 + c] = c0; dW[w0 + c + 1] = c1;
      if (update) {
        W[w0 + c] = W[w0 + c]! - lr * Math.fround(c0); W[w0 + c + 1] = W[w0 + c + 1]! - lr * Math.fround(c1);
      }
    }
    for (let c = k2; c < k; c++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += dZ[i * n + o]! * X[i * k + c]!;
      dW[w0 + c] = s;
      if (update) W[w0 + c] = W[w0 + c]! - lr * Math.fround(s);
    }
  }
}

/**
 * Softmax cross-entropy, forward and backward in one pass per row: out[0] = mean over rows of
 * −Σ y·logSoftmax(z); dZ = (softmax(z)·Σy − y)/m; db = Σ_rows dZ. (The loss goes to `out` rather than
 * being returned: V8 boxes a float64 returned from a call it does not inline.)
 */
function softmaxCrossEntropy(Z: Float32Array, Y: Float32Array, dZ: Float32Array, db: Float32Array, m: number, n: number, out: Float64Array): void {
  db.fill(0);
  const scale = 1 / m;
  let loss = 0;
  for (let i = 0, row = 0; i < m; i++, row += n) {
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const z = Z[row + j]!;
      if (z > max) max = z;
    }
    let sum = 0, ySum = 0, yz = 0;
    for (let j = 0; j < n; j++) {
      const z = Z[row + j]!;
      const e = Math.exp(z - max);
      dZ[row + j] = e;
      sum += e;
      const y = Y[row + j]!;
      ySum += y;
      yz += y * z;
    }
    loss += (max + Math.log(sum)) * ySum - yz;
    const f = (ySum / sum) * scale;
    for (let j = 0; j < n; j++) {
      const g = dZ[row + j]! * f - Y[row + j]! * scale;
      dZ[row + j] = g;
      db[j] = db[j]! + Math.fround(g);
    }
  }
  out[0] = loss * scale;
}

/** Binary cross-entropy on logits, out[0] = mean over all elements; dZ = (σ(z) − y)/count; db = Σ_rows dZ. */
function bceWithLogits(Z: Float32Array, Y: Float32Array, dZ: Float32Array, db: Float32Array, m: number, n: number, out: Float64Array): void {
  db.fill(0);
  const scale = 1 / (m * n);
  let loss = 0;
  for (let i = 0, row = 0; i < m; i++, row += n) {
    for (let j = 0; j < n; j++) {
      const z = Z[row + j]!, y = Y[row + j]!;
      const e = Math.exp(-Math.abs(z));
      loss += (z > 0 ? z : 0) - z * y + Math.log1p(e);
      const s = z >= 0 ? 1 / (1 + e) : e / (1 + e);
      const g = (s - y) * scale;
      dZ[row + j] = g;
      db[j] = db[j]! + Math.fround(g);
    }
  }
  out[0] = loss * scale;
}

export interface HandwrittenModel {
  readonly params: Params;
  readonly grads: Params;
  /** The loss on the batch; fills `grads`. */
  lossAndGrad(batch: Batch): number;
  /** lossAndGrad, with the SGD update fused in; returns the loss before the update. */
  step(batch: Batch, lr: number): number;
}

/** The hand-written training step for a workload's MLP, starting from a copy of `init`. */
export function createHandwritten(w: Workload, init: Params): HandwrittenModel {
  const m = w.batch;
  const sizes = w.sizes;
  const L = sizes.length - 1;
  const W: Float32Array[] = [], b: Float32Array[] = [], dW: Float32Array[] = [], db: Float32Array[] = [];
  const act: Float32Array[] = [], dZ: Float32Array[] = [];
  const params: Params = {}, grads: Params = {};
  for (let l = 1; l <= L; l++) {
    const out = sizes[l]!, inp = sizes[l - 1]!;
    const Wl = Float32Array.from(init[`W${l}`]!), bl = Float32Array.from(init[`b${l}`]!);
    if (Wl.length !== out * inp || bl.length !== out) throw new Error(`handwritten: W${l}/b${l} have the wrong size`);
    W.push(Wl); b.push(bl);
    dW.push(new Float32Array(out * inp)); db.push(new Float32Array(out));
    act.push(new Float32Array(m * out)); dZ.push(new Float32Array(m * out));
    params[`W${l}`] = Wl; params[`b${l}`] = bl;
    grads[`W${l}`] = dW[l - 1]!; grads[`b${l}`] = db[l - 1]!;
  }
  const softmax = w.loss === "softmaxCE";
  const lossOut = new Float64Array(1);

  function forward(x: Float32Array): void {
    for (let l = 1; l <= L; l++) {
      const input = l === 1 ? x : act[l - 2]!;
      if (l < L) forwardRelu(input, W[l - 1]!, b[l - 1]!, act[l - 1]!, m, sizes[l]!, sizes[l - 1]!);
      else forwardLinear(input, W[l - 1]!, b[l - 1]!, act[l - 1]!, m, sizes[l]!, sizes[l - 1]!);
    }
  }

  function loss(y: Float32Array): void {
    const out = sizes[L]!;
    if (softmax) softmaxCrossEntropy(act[L - 1]!, y, dZ[L - 1]!, db[L - 1]!, m, out, lossOut);
    else bceWithLogits(act[L - 1]!, y, dZ[L - 1]!, db[L - 1]!, m, out, lossOut);
  }

  // backward, the update fused in: dX uses W before its update, so it goes first
  function backward(x: Float32Array, lr: number, update: boolean): void {
    for (let l = L; l >= 1; l--) {
      const input = l === 1 ? x : act[l - 2]!;
      if (l > 1) backwardInputRelu(dZ[l - 1]!, W[l - 1]!, input, dZ[l - 2]!, db[l - 2]!, m, sizes[l]!, sizes[l - 1]!);
      weightGrad(dZ[l - 1]!, input, W[l - 1]!, dW[l - 1]!, m, sizes[l]!, sizes[l - 1]!, lr, update);
      if (update) {
        const bl = b[l - 1]!, dbl = db[l - 1]!;
        for (let o = 0; o < bl.length; o++) bl[o] = bl[o]! - lr * dbl[o]!;
      }
    }
  }

  // the loops live in helpers so that this stays small enough for V8 to inline; the loss travels
  // through lossOut, not through return values, so that few calls return a (boxed) float64
  function run(batch: Batch, lr: number, update: boolean): number {
    forward(batch.x);
    loss(batch.y as Float32Array); // an MLP workload: one-hot or 0/1 rows
    backward(batch.x, lr, update);
    return lossOut[0]!;
  }

  return {
    params,
    grads,
    lossAndGrad: (batch) => run(batch, 0, false),
    step: (batch, lr) => run(batch, lr, true),
  };
}
