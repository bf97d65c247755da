/**
 * A small WebAssembly writer. Instructions are built as trees (an instruction and its operands), so
 * one tree gives both the binary (operands first, post-order) and the folded text format (WAT),
 * `(f32x4.add (local.get $acc00) (f32x4.mul (local.get $a0) (local.get $b0)))`: the text printed in
 * a generated file is exactly the module it carries. Only what the SIMD kernels use: functions
 * (i32…) → () with i32, f32 and v128 locals, counted loops, loads and stores at literal offsets, and a
 * few f32 / f32x4 operations. One module per model, with one memory of fixed size (the model's
 * arena) that it exports.
 */

export type ValType = "i32" | "f32" | "v128";
const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/** Instructions without immediates, with their encoding (SIMD ones are 0xfd and a LEB128 opcode). */
const PLAIN = {
  "i32.add": [0x6a],
  "i32.sub": [0x6b],
  "f32.gt": [0x5e],
  "f32.neg": [0x8c],
  "f32.add": [0x92],
  "f32.sub": [0x93],
  "f32.mul": [0x94],
  "f32.div": [0x95],
  "f32.max": [0x97],
  select: [0x1b],
  "f32x4.splat": [0xfd, ...uleb(0x13)],
  "f32x4.gt": [0xfd, ...uleb(0x44)],
  "v128.and": [0xfd, ...uleb(0x4e)],
  "v128.bitselect": [0xfd, ...uleb(0x52)],
  "f32x4.neg": [0xfd, ...uleb(0xe1)],
  "f32x4.add": [0xfd, ...uleb(0xe4)],
  "f32x4.sub": [0xfd, ...uleb(0xe5)],
  "f32x4.mul": [0xfd, ...uleb(0xe6)],
  "f32x4.div": [0xfd, ...uleb(0xe7)],
  // max pooling's first maximum (src/wasm/pool.ts): NaN tests, masks and plane positions
  "f32x4.eq": [0xfd, ...uleb(0x41)],
  "f32x4.ne": [0xfd, ...uleb(0x42)],
  "v128.or": [0xfd, ...uleb(0x50)],
  "i32x4.splat": [0xfd, ...uleb(0x11)],
  "i32x4.add": [0xfd, ...uleb(0xae)],
  "i32x4.eq": [0xfd, ...uleb(0x37)],
  "i32.shl": [0x74],
  // eˣ and erf in lanes (src/wasm/vmath.ts)
  "f32x4.min": [0xfd, ...uleb(0xe8)],
  "f32x4.max": [0xfd, ...uleb(0xe9)],
  "f32x4.abs": [0xfd, ...uleb(0xe0)],
  "f32x4.sqrt": [0xfd, ...uleb(0xe3)],
  "f32x4.nearest": [0xfd, ...uleb(0x6a)],
  "f32x4.lt": [0xfd, ...uleb(0x43)],
  "f32x4.ge": [0xfd, ...uleb(0x46)],
  "i32x4.trunc_sat_f32x4_s": [0xfd, ...uleb(0xf8)],
  "i32x4.sub": [0xfd, ...uleb(0xb1)],
  "i32x4.shl": [0xfd, ...uleb(0xab)],
  "i32x4.shr_s": [0xfd, ...uleb(0xac)],
  "v128.any_true": [0xfd, ...uleb(0x53)],
  // attention's rows: how many keys a causal row reads, in vectors and the rest
  "i32.lt_s": [0x48],
  "i32.and": [0x71],
  "i32.shr_u": [0x76],
} as const;
export type PlainOp = keyof typeof PLAIN;

/** Memory access: opcode bytes and the natural alignment (log2 of bytes). */
const MEMORY = {
  "f32.load": { code: [0x2a], natural: 2 },
  "f32.store": { code: [0x38], natural: 2 },
  "i32.load": { code: [0x28], natural: 2 },
  "v128.load": { code: [0xfd, ...uleb(0x00)], natural: 4 },
  "v128.store": { code: [0xfd, ...uleb(0x0b)], natural: 4 },
  "v128.load32_splat": { code: [0xfd, ...uleb(0x09)], natural: 2 },
} as const;
export type MemoryOp = keyof typeof MEMORY;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

/** An instruction with its operands: `(text args…)` in the text format, args then `bytes` in binary. */
export interface Ins {
  readonly text: string;
  readonly bytes: readonly number[];
  readonly args: readonly Ins[];
}

const ins = (text: string, bytes: readonly number[], ...args: Ins[]): Ins => ({ text, bytes, args });

export const i32 = (v: number): Ins => ins(`i32.const ${v}`, [0x41, ...sleb(v)]);
export const f32zero = (): Ins => ins("f32.const 0", [0x43, 0, 0, 0, 0]);
export const v128zero = (): Ins => ins("v128.const i32x4 0 0 0 0", [0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0)]);
export const op = (o: PlainOp, ...args: Ins[]): Ins => ins(o, PLAIN[o], ...args);

/** An f32 literal: its little-endian bytes, and text that parses back to the same float32. */
function f32(c: number): { bytes: number[]; text: string } {
  const v = Math.fround(c);
  const bytes = [...new Uint8Array(Float32Array.of(v).buffer)];
  const text = Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : Object.is(v, -0) ? "-0" : String(v);
  return { bytes, text };
}
export function f32const(c: number): Ins {
  const { text, bytes } = f32(c);
  return ins(`f32.const ${text}`, [0x43, ...bytes]);
}
export function f32x4const(c: number): Ins {
  const { text, bytes } = f32(c);
  return ins(`v128.const f32x4 ${text} ${text} ${text} ${text}`, [0xfd, ...uleb(0x0c), ...bytes, ...bytes, ...bytes, ...bytes]);
}
/** A v128 of four i32 lanes (masks: 0 or -1 per lane). */
export function i32x4const(lanes: readonly [number, number, number, number]): Ins {
  const bytes = [...new Uint8Array(Int32Array.from(lanes).buffer)];
  return ins(`v128.const i32x4 ${lanes.join(" ")}`, [0xfd, ...uleb(0x0c), ...bytes]);
}
export const lane = (i: number, v: Ins): Ins => ins(`f32x4.extract_lane ${i}`, [0xfd, ...uleb(0x1f), i], v);
/** Four f32 lanes picked from `a` (lanes 0–3) and `b` (4–7): `i8x16.shuffle` with the lanes' bytes. */
export function shuffle(lanes: readonly [number, number, number, number], a: Ins, b: Ins): Ins {
  const bytes = lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
  return ins(`i8x16.shuffle ${bytes.join(" ")}`, [0xfd, ...uleb(0x0d), ...bytes], a, b);
}
/** A load (operands: address) or store (address, value) at the address plus a literal byte offset; addresses are multiples of 4. */
export function mem(o: MemoryOp, offset: number, ...args: Ins[]): Ins {
  const { code, natural } = MEMORY[o];
  const align = 2;
  const imm = [...(offset ? [`offset=${offset}`] : []), ...(align !== natural ? [`align=${1 << align}`] : [])];
  return ins([o, ...imm].join(" "), [...code, ...uleb(align), ...uleb(offset)], ...args);
}

const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const name = (s: string) => [...uleb(utf8(s).length), ...utf8(s)];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
/** Lines of text up to this width (the generated file's comment prefix and prettier's 120 leave room). */
const WIDTH = 112;

/** One function: its locals (declared on first use) and its statements, as bytes and as folded text. */
export class Func {
  private readonly code: number[] = [];
  private readonly text: string[] = [];
  private readonly locals = new Map<string, { index: number; type: ValType }>();
  /** How many of the locals are parameters (i32, declared before any other local). */
  private params = 0;
  private depth = 2;

  constructor(readonly name: string) {}

  /** Declare a local (or return the one of that name, which must have the same type). */
  local(nm: string, type: ValType): string {
    const l = this.locals.get(nm);
    if (l && l.type !== type) throw new Error(`internal: wasm local $${nm} is ${l.type}, not ${type}`);
    if (!l) this.locals.set(nm, { index: this.locals.size, type });
    return nm;
  }
  /** Declare an i32 parameter: before any local, so that its index is the call's argument position. */
  param(nm: string): string {
    if (this.locals.size !== this.params) throw new Error(`internal: wasm parameter $${nm} declared after a local`);
    this.params++;
    return this.local(nm, "i32");
  }
  /** The function's type: how many i32 parameters it takes (it returns nothing). */
  get arity(): number {
    return this.params;
  }
  get(nm: string): Ins {
    return ins(`local.get $${nm}`, [0x20, ...uleb(this.index(nm))]);
  }
  tee(nm: string, v: Ins): Ins {
    return ins(`local.tee $${nm}`, [0x22, ...uleb(this.index(nm))], v);
  }

  comment(text: string): this {
    this.text.push(`${"  ".repeat(this.depth)};; ${text}`);
    return this;
  }
  /** A statement: an instruction tree that leaves nothing on the stack. */
  emit(e: Ins): this {
    const bin = (x: Ins): void => {
      x.args.forEach(bin);
      this.code.push(...x.bytes);
    };
    bin(e);
    this.print(e, this.depth);
    return this;
  }
  set(nm: string, v: Ins): this {
    return this.emit(ins(`local.set $${nm}`, [0x21, ...uleb(this.index(nm))], v));
  }
  /** `local += delta` (bytes). */
  advance(nm: string, delta: number): this {
    return delta ? this.set(nm, op("i32.add", this.get(nm), i32(delta))) : this;
  }
  /** `local = other + delta`. */
  from(nm: string, other: string, delta: number): this {
    return this.set(nm, delta ? op("i32.add", this.get(other), i32(delta)) : this.get(other));
  }
  /** The body `count` times (count ≥ 1): a do-while loop on a counter local, or the body alone for one. */
  repeat(counter: string, count: number, body: () => void): this {
    if (count < 1) return this;
    if (count === 1) {
      body();
      return this;
    }
    this.local(counter, "i32");
    this.set(counter, i32(count));
    return this.loopOn(counter, body);
  }

  /** The body `count` times, `count` an i32 known only at run time (zero: not at all): the do-while loop inside an `if`. */
  repeatDynamic(counter: string, count: Ins, body: () => void): this {
    this.local(counter, "i32");
    this.set(counter, count);
    return this.when(this.get(counter), () => this.loopOn(counter, body));
  }

  /** A do-while loop that runs while `counter`, decremented after each pass, is not zero. */
  private loopOn(counter: string, body: () => void): this {
    this.text.push(`${"  ".repeat(this.depth)}(loop`);
    this.code.push(0x03, 0x40);
    this.depth++;
    body();
    this.emit(ins("br_if 0", [0x0d, 0], this.tee(counter, op("i32.sub", this.get(counter), i32(1)))));
    this.depth--;
    this.text[this.text.length - 1] += ")";
    this.code.push(0x0b);
    return this;
  }

  /** The body only when `cond` (an i32) is not zero: an `if` block (a map's lanes skip a costly piece that no lane needs). */
  when(cond: Ins, body: () => void): this {
    const bin = (x: Ins): void => {
      x.args.forEach(bin);
      this.code.push(...x.bytes);
    };
    bin(cond);
    const flat = (x: Ins): string => (x.args.length ? `(${x.text} ${x.args.map(flat).join(" ")})` : `(${x.text})`);
    this.text.push(`${"  ".repeat(this.depth)}(if ${flat(cond)}`);
    this.text.push(`${"  ".repeat(this.depth + 1)}(then`);
    this.code.push(0x04, 0x40);
    this.depth += 2;
    body();
    this.depth -= 2;
    this.text[this.text.length - 1] += "))";
    this.code.push(0x0b);
    return this;
  }

  private print(e: Ins, depth: number): void {
    const flat = (x: Ins): string => (x.args.length ? `(${x.text} ${x.args.map(flat).join(" ")})` : `(${x.text})`);
    const pad = "  ".repeat(depth);
    const one = flat(e);
    if (pad.length + one.length <= WIDTH || !e.args.length) {
      this.text.push(pad + one);
      return;
    }
    this.text.push(`${pad}(${e.text}`);
    e.args.forEach((a) => this.print(a, depth + 1));
    this.text[this.text.length - 1] += ")";
  }

  private index(nm: string): number {
    const l = this.locals.get(nm);
    if (!l) throw new Error(`internal: wasm local $${nm} used before it is declared`);
    return l.index;
  }

  /** The function's entry in the code section. */
  body(): number[] {
    const groups: number[][] = [];
    for (const { type } of [...this.locals.values()].slice(this.params)) {
      const last = groups[groups.length - 1];
      if (last && last[1] === VALTYPE[type]) last[0]!++;
      else groups.push([1, VALTYPE[type]]);
    }
    const b = [...vec(groups.map(([count, type]) => [...uleb(count!), type!])), ...this.code, 0x0b];
    return [...uleb(b.length), ...b];
  }

  wat(): string {
    const locals = [...this.locals].map(([nm, l], i) => `(${i < this.params ? "param" : "local"} $${nm} ${l.type})`);
    const lines: string[] = [`  (func $${this.name} (export "${this.name}")`];
    for (const l of locals) {
      const last = lines[lines.length - 1]!;
      if (lines.length > 1 && last.length + l.length < WIDTH) lines[lines.length - 1] = `${last} ${l}`;
      else lines.push(`    ${l}`);
    }
    return [...lines, ...this.text].join("\n") + ")";
  }
}

/** A module of `funcs` (each (i32…) → (), by arity) over one memory of `pages` 64 KiB pages, exported as "memory". */
export function wasmModule(funcs: readonly Func[], pages: number): { bytes: Uint8Array; wat: string } {
  // one function type per arity (its i32 parameters), in order of first use
  const arities = [...new Set(funcs.map((f) => f.arity))];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(arities.map((n) => [0x60, ...uleb(n), ...new Array<number>(n).fill(VALTYPE.i32), 0]))),
    ...section(3, vec(funcs.map((f) => uleb(arities.indexOf(f.arity))))),
    ...section(5, vec([[0x01, ...uleb(pages), ...uleb(pages)]])),
    ...section(7, vec([[...name("memory"), 0x02, 0], ...funcs.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])])),
    ...section(10, vec(funcs.map((f) => f.body()))),
  ];
  const wat = ["(module", `  (memory (export "memory") ${pages} ${pages})`, ...funcs.map((f) => f.wat())].join("\n") + ")";
  return { bytes: Uint8Array.from(bytes), wat };
}
