/**
 * The digits data set in the browser: data/digits.csv (64 pixels 0…16 and a label per row),
 * pixels ÷ 16, one-hot labels, and the same seeded 80/20 split as examples/data.ts
 * (mulberry32 Fisher–Yates with seed 0), so the page holds out the rows the Node demo holds out.
 */
export interface Digits {
  rows: number;
  x: Float32Array; // rows × 64
  labels: Int32Array;
}

export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(n: number, seed: number): Int32Array {
  const order = new Int32Array(n).map((_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export function parseDigits(csv: string): { train: Digits; test: Digits } {
  const lines = csv.trim().split(/\r?\n/).slice(1);
  const all = lines.map((l) => l.split(",").map(Number));
  const order = shuffled(all.length, 0);
  const nTrain = Math.round(0.8 * all.length);
  const take = (idx: ArrayLike<number>): Digits => {
    const x = new Float32Array(idx.length * 64);
    const labels = new Int32Array(idx.length);
    for (let r = 0; r < idx.length; r++) {
      const row = all[idx[r]!]!;
      for (let c = 0; c < 64; c++) x[r * 64 + c] = row[c]! / 16;
      labels[r] = row[64]!;
    }
    return { rows: idx.length, x, labels };
  };
  return { train: take(order.subarray(0, nTrain)), test: take(order.subarray(nTrain)) };
}

/**
 * A drawing as the data set's 8×8 features: the ink's bounding box scaled (aspect kept) into the
 * middle of a 32×32 grid, then the ink counted in each 4×4 block (0…16) and divided by 16, as the
 * data set's own preprocessing did with its 32×32 bitmaps.
 */
export function toPixels(ink: Float32Array, width: number, height: number): Float32Array | undefined {
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (ink[y * width + x]! > 0.5) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  if (x1 < 0) return undefined;
  const side = Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const scale = 28 / side;
  const offX = 16 - ((x1 - x0 + 1) * scale) / 2;
  const offY = 16 - ((y1 - y0 + 1) * scale) / 2;
  const grid = new Float32Array(32 * 32);
  // each cell of the 32×32 grid is on when the drawing's pixel under its centre is ink
  for (let gy = 0; gy < 32; gy++)
    for (let gx = 0; gx < 32; gx++) {
      const sx = Math.floor(x0 + (gx + 0.5 - offX) / scale);
      const sy = Math.floor(y0 + (gy + 0.5 - offY) / scale);
      if (sx >= x0 && sx <= x1 && sy >= y0 && sy <= y1 && ink[sy * width + sx]! > 0.5) grid[gy * 32 + gx] = 1;
    }
  const out = new Float32Array(64);
  for (let by = 0; by < 8; by++)
    for (let bx = 0; bx < 8; bx++) {
      let n = 0;
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) n += grid[(by * 4 + y) * 32 + bx * 4 + x]!;
      out[by * 8 + bx] = n / 16;
    }
  return out;
}
