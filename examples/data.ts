/**
 * The two real data sets under `data/`, ready for flatgrad's fixed-shape models.
 *
 * - `loadBreastCancer()`: 569 rows × 30 features, target `benign` (1 = benign, 0 = malignant)
 *   as a `[rows, 1]` column. Each feature is standardised, (x − mean) / std, with the mean and
 *   the (population) standard deviation of the TRAINING split only, so nothing about the
 *   held-out rows leaks into training.
 * - `loadDigits()`: 1797 rows × 64 pixels (8×8, row-major) divided by 16 into [0, 1], target
 *   one-hot `[rows, 10]`.
 *
 * Both are split deterministically: the rows are shuffled by a seeded Fisher–Yates shuffle
 * (mulberry32), and the first `round(trainFraction · rows)` of that order are the training set,
 * the rest are held out. Same seed → same split, on every platform.
 *
 * A compiled model has literal shapes (say x `[32, 30]`), so it can only take whole batches.
 * `Batcher` fills ONE preallocated pair of typed arrays (Float32Array or Float64Array, the
 * model's dtype) batch after batch; the last partial batch of an epoch is dropped, wrapped
 * around to the start of the epoch, or padded with zero rows (for evaluation: `batch.rows`
 * says how many rows are real).
 *
 * No dependencies beyond `node:fs`; the CSV files are found relative to this module, so it
 * works from any working directory.
 */
import { readFileSync } from "node:fs";

/** The element type of a model's tensors. */
export type DType = "float32" | "float64";
/** The typed array that holds a tensor of dtype `D`. */
export type FloatArrayOf<D extends DType> = D extends "float32" ? Float32Array : Float64Array;

/** One split of a data set: scaled features, targets and class labels, row-major, float64. */
export interface Dataset {
  /** "breast_cancer" or "digits". */
  readonly name: string;
  /** Number of rows (examples). */
  readonly rows: number;
  /** Columns of `x` per row. */
  readonly features: number;
  /** Columns of `y` per row (1 for a binary target, the number of classes for one-hot). */
  readonly targets: number;
  /** Number of classes (2 for a binary target). */
  readonly classes: number;
  /** Scaled features, `rows × features`. */
  readonly x: Float64Array;
  /** Targets, `rows × targets`: 0/1 for a binary target, one-hot otherwise. */
  readonly y: Float64Array;
  /** The class of each row (0 … classes − 1). */
  readonly labels: Int32Array;
  /** The row of each example in the CSV file (0-based, header not counted). */
  readonly sourceRows: Int32Array;
}

/** A training and a held-out set, and the scaling that was applied to both. */
export interface Split {
  readonly train: Dataset;
  readonly test: Dataset;
  /** Per-feature offset and scale: scaled = (raw − shift) / scale. */
  readonly scaling: { readonly shift: Float64Array; readonly scale: Float64Array };
}

/** Options of the loaders. */
export interface SplitOptions {
  /** Seed of the shuffle that decides the split (default 0). */
  seed?: number;
  /** Fraction of the rows used for training (default 0.8). */
  trainFraction?: number;
}

/** mulberry32: a small 32-bit generator; uniform numbers in [0, 1), the same sequence on every platform. */
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

/** The permutation 0 … n−1 shuffled by Fisher–Yates with a mulberry32 generator seeded by `seed`. */
export function shuffledIndices(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** A numeric CSV file: its header and its rows. */
export interface Csv {
  readonly header: string[];
  /** `rows × header.length` values, row-major. */
  readonly values: Float64Array;
  readonly rows: number;
}

/** Read a CSV file of numbers with one header row; throws naming the file, line and column of a bad cell. */
export function readCsv(file: URL | string): Csv {
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const [head, ...body] = lines;
  if (head === undefined) throw new Error(`${String(file)}: empty file`);
  const header = head.split(",");
  const values = new Float64Array(body.length * header.length);
  body.forEach((line, r) => {
    const cells = line.split(",");
    if (cells.length !== header.length)
      throw new Error(`${String(file)}:${r + 2}: ${cells.length} cells, expected ${header.length}`);
    cells.forEach((cell, c) => {
      const v = cell.trim() === "" ? NaN : Number(cell);
      if (!Number.isFinite(v)) throw new Error(`${String(file)}:${r + 2}: column "${header[c]}" is not a number: ${JSON.stringify(cell)}`);
      values[r * header.length + c] = v;
    });
  });
  return { header, values, rows: body.length };
}

/** The URL of a file in the repository's `data/` folder. */
export function dataFile(name: string): URL {
  return new URL(`../data/${name}`, import.meta.url);
}

/** Which rows go to training and which are held out. */
function splitRows(rows: number, options: SplitOptions): { train: Int32Array; test: Int32Array } {
  const fraction = options.trainFraction ?? 0.8;
  if (!(fraction > 0 && fraction < 1)) throw new Error(`trainFraction must be in (0, 1), got ${fraction}`);
  const order = shuffledIndices(rows, options.seed ?? 0);
  const nTrain = Math.round(fraction * rows);
  return { train: order.slice(0, nTrain), test: order.slice(nTrain) };
}

/** Gather the rows `which` of a CSV into a scaled Dataset. */
function gather(
  name: string,
  csv: Csv,
  which: Int32Array,
  features: number,
  classes: number,
  shift: Float64Array,
  scale: Float64Array,
): Dataset {
  const cols = csv.header.length;
  const targets = classes === 2 ? 1 : classes;
  const rows = which.length;
  const x = new Float64Array(rows * features);
  const y = new Float64Array(rows * targets);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const src = which[r]!;
    for (let f = 0; f < features; f++) x[r * features + f] = (csv.values[src * cols + f]! - shift[f]!) / scale[f]!;
    const label = csv.values[src * cols + features]!;
    if (!Number.isInteger(label) || label < 0 || label >= classes)
      throw new Error(`${name}: row ${src + 2} has label ${label}, expected an integer in 0…${classes - 1}`);
    labels[r] = label;
    if (targets === 1) y[r] = label;
    else y[r * targets + label] = 1;
  }
  return { name, rows, features, targets, classes, x, y, labels, sourceRows: which.slice() };
}

/**
 * Breast Cancer Wisconsin (Diagnostic): 30 features standardised with the training split's
 * mean and population standard deviation; y is `[rows, 1]`, 1 = benign.
 */
export function loadBreastCancer(options: SplitOptions = {}): Split {
  const csv = readCsv(dataFile("breast_cancer.csv"));
  const features = csv.header.length - 1;
  const cols = csv.header.length;
  const { train, test } = splitRows(csv.rows, options);
  const shift = new Float64Array(features);
  const scale = new Float64Array(features);
  for (let f = 0; f < features; f++) {
    let sum = 0;
    for (const r of train) sum += csv.values[r * cols + f]!;
    const mean = sum / train.length;
    let sq = 0;
    for (const r of train) sq += (csv.values[r * cols + f]! - mean) ** 2;
    const std = Math.sqrt(sq / train.length);
    shift[f] = mean;
    scale[f] = std > 0 ? std : 1; // a constant column stays at 0 instead of dividing by 0
  }
  return {
    train: gather("breast_cancer", csv, train, features, 2, shift, scale),
    test: gather("breast_cancer", csv, test, features, 2, shift, scale),
    scaling: { shift, scale },
  };
}

/** Optical digits: 64 pixels (8×8, row-major) divided by 16; y is one-hot `[rows, 10]`. */
export function loadDigits(options: SplitOptions = {}): Split {
  const csv = readCsv(dataFile("digits.csv"));
  const features = csv.header.length - 1;
  const { train, test } = splitRows(csv.rows, options);
  const shift = new Float64Array(features);
  const scale = new Float64Array(features).fill(16);
  return {
    train: gather("digits", csv, train, features, 10, shift, scale),
    test: gather("digits", csv, test, features, 10, shift, scale),
    scaling: { shift, scale },
  };
}

/** What to do with the last rows of an epoch that do not fill a whole batch. */
export type Remainder =
  /** leave them out of this epoch (with a shuffle, they are different rows each epoch) */
  | "drop"
  /** fill the batch up with rows from the start of this epoch's order */
  | "wrap"
  /** fill the batch up with zero rows; `batch.rows` counts the real ones (for evaluation) */
  | "pad";

/** One batch. The arrays are the batcher's preallocated buffers: the next batch overwrites them. */
export interface Batch<D extends DType> {
  /** `batchSize × features`, row-major. */
  readonly x: FloatArrayOf<D>;
  /** `batchSize × targets`, row-major. */
  readonly y: FloatArrayOf<D>;
  /** The dataset row in each batch row, −1 for a padding row. */
  readonly index: Int32Array;
  /** How many rows are real (the rest are padding; only less than batchSize with "pad"). */
  rows: number;
  /** 0-based number of this batch within its epoch. */
  number: number;
}

/** Options of one epoch. */
export interface EpochOptions {
  /** Shuffle the rows with this seed; without it, the rows come in dataset order. */
  shuffleSeed?: number;
  /** The last partial batch (default "drop"). */
  remainder?: Remainder;
}

/** Fills fixed-size batches of a model's dtype from a Dataset, without allocating per batch. */
export class Batcher<D extends DType> {
  readonly batch: Batch<D>;

  constructor(
    readonly data: Dataset,
    readonly batchSize: number,
    readonly dtype: D,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    const make = (n: number) => (dtype === "float32" ? new Float32Array(n) : new Float64Array(n)) as FloatArrayOf<D>;
    this.batch = {
      x: make(batchSize * data.features),
      y: make(batchSize * data.targets),
      index: new Int32Array(batchSize),
      rows: 0,
      number: 0,
    };
  }

  /** How many batches an epoch yields. */
  batchesPerEpoch(remainder: Remainder = "drop"): number {
    const n = this.data.rows / this.batchSize;
    return remainder === "drop" ? Math.floor(n) : Math.ceil(n);
  }

  /** The batches of one epoch; every yield is `this.batch`, refilled. */
  *epoch(options: EpochOptions = {}): Generator<Batch<D>, void, undefined> {
    const { data, batchSize, batch } = this;
    const remainder = options.remainder ?? "drop";
    const order = options.shuffleSeed === undefined ? null : shuffledIndices(data.rows, options.shuffleSeed);
    const count = this.batchesPerEpoch(remainder);
    const { features, targets } = data;
    for (let b = 0; b < count; b++) {
      let real = 0;
      for (let i = 0; i < batchSize; i++) {
        let pos = b * batchSize + i;
        if (pos >= data.rows) {
          if (remainder === "pad") {
            batch.index[i] = -1;
            batch.x.fill(0, i * features, (i + 1) * features);
            batch.y.fill(0, i * targets, (i + 1) * targets);
            continue;
          }
          pos %= data.rows; // "wrap"
        } else real++;
        const row = order ? order[pos]! : pos;
        batch.index[i] = row;
        for (let f = 0; f < features; f++) batch.x[i * features + f] = data.x[row * features + f]!;
        for (let t = 0; t < targets; t++) batch.y[i * targets + t] = data.y[row * targets + t]!;
      }
      batch.rows = remainder === "pad" ? real : batchSize;
      batch.number = b;
      yield batch;
    }
  }
}
