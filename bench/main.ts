// `npm run bench`: the benchmark of issue 4. Stages:
//   1. compile bench/models/w{1,2,3}.model.ts into bench/.work/ with flatgrad's CLI, timing the whole
//      command and each file alone (and the example models, into bench/.work/examples/, not generated/);
//   2. per workload, one child process per contender (bench/run-one.mjs), every one given flatgrad's
//      initial parameters and the same batch; each child's loss and gradients (and a few SGD steps) are
//      checked against flatgrad's lossAndGrad/step computed here;
//   3. warm-up, then alternating rounds (round-robin, starting contender rotated every round), each round
//      timing many steps in one child while the others wait; ms per step = median over rounds;
//   4. an allocation check of flatgrad's (and the hand-written) step: heap growth over N and 2N steps;
//   5. the table, printed and written to bench/results.md.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Reply, Request } from "./child.js";
import { BASELINE_ENV, CONTENDER_IDS, CONTENDER_LABELS, loadGenerated, type ContenderId } from "./contenders.js";
import {
  BENCH_DIR,
  makeBatch,
  modelFile,
  REPO_DIR,
  stepFlops,
  WORK_DIR,
  WORKLOAD_IDS,
  WORKLOADS,
  type Params,
  type Workload,
  type WorkloadId,
} from "./workloads.js";

const USAGE = `usage: npm run bench [-- options]

  --rounds N          timed rounds per contender after warm-up (default 7)
  --round-ms MS       target duration of one round (default 300)
  --warmup-ms MS      warm-up per contender (default 1000)
  --workloads LIST    comma-separated subset of w1,w2,w3,w4,w5
  --contenders LIST   comma-separated subset of ${CONTENDER_IDS.join(",")}
  --no-compile        reuse bench/.work/*.ts instead of compiling (no compile timings)
  --baseline DIR      also time the generated w1–w3 modules in DIR (e.g. another checkout's bench/.work),
                      as "flatgrad-baseline": a change's effect on the step, side by side in one run
A run with a subset, fewer than 5 rounds or --no-compile writes bench/.work/results.md instead of
bench/results.md.`;

/** Relative tolerance of the numeric check. */
const TOL = 1e-4;
/** SGD steps compared after the gradient check. */
const CHECK_STEPS = 3;

interface Options {
  rounds: number;
  roundMs: number;
  warmupMs: number;
  workloads: WorkloadId[];
  contenders: ContenderId[];
  compile: boolean;
  partial: boolean;
}

function parseOptions(argv: string[]): Options | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        rounds: { type: "string" },
        "round-ms": { type: "string" },
        "warmup-ms": { type: "string" },
        workloads: { type: "string" },
        contenders: { type: "string" },
        "no-compile": { type: "boolean" },
        baseline: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    return (e as Error).message;
  }
  const v = parsed.values;
  if (v.help) return "";
  const num = (s: string | undefined, d: number, min: number): number => {
    if (s === undefined) return d;
    const n = Number(s);
    if (!Number.isFinite(n) || n < min) throw new Error(`bad number ${s}`);
    return n;
  };
  const list = <T extends string>(s: string | undefined, all: readonly T[], what: string): T[] => {
    if (s === undefined) return [...all];
    const items = s.split(",").map((x) => x.trim()).filter(Boolean);
    for (const it of items) if (!all.includes(it as T)) throw new Error(`unknown ${what} ${it}`);
    return items as T[];
  };
  try {
    const workloads = list(v.workloads, WORKLOAD_IDS, "workload");
    const contenders = list(v.contenders, CONTENDER_IDS, "contender").filter((c) => c !== "flatgrad-baseline" || v.baseline !== undefined);
    if (!contenders.includes("flatgrad")) contenders.unshift("flatgrad");
    if (v.baseline !== undefined) {
      // the children inherit the environment: the baseline contender loads its modules from there
      process.env[BASELINE_ENV] = resolve(v.baseline);
      if (!contenders.includes("flatgrad-baseline")) contenders.splice(1, 0, "flatgrad-baseline");
    }
    return {
      rounds: Math.round(num(v.rounds, 7, 1)),
      roundMs: num(v["round-ms"], 300, 10),
      warmupMs: num(v["warmup-ms"], 1000, 0),
      workloads,
      contenders,
      compile: !v["no-compile"],
      partial: v.workloads !== undefined || v.contenders !== undefined || !!v["no-compile"] || v.baseline !== undefined || Math.round(num(v.rounds, 7, 1)) < 5,
    };
  } catch (e) {
    return (e as Error).message;
  }
}

// ---------------------------------------------------------------- small helpers

const log = (s: string): void => void process.stderr.write(s + "\n");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

function fmtMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  if (ms >= 0.1) return ms.toFixed(3);
  return ms.toFixed(4);
}

function fmtRatio(r: number): string {
  return r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
}

/** "27× slower" / "1.6× faster" for a time ratio t/t_ref. */
function slowerFaster(r: number): string {
  if (r >= 1) return `${r >= 10 ? r.toFixed(0) : r.toFixed(1)}× slower`;
  const f = 1 / r;
  return `${f >= 10 ? f.toFixed(0) : f.toFixed(1)}× faster`;
}

function table(head: string[], rows: string[][]): string {
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) lines.push(`| ${r.join(" | ")} |`);
  return lines.join("\n");
}

/**
 * max over elements of |a − b| / (|b| + floor), floor = 1% of the tensor's largest |b|: elements far
 * below the tensor's scale are judged by their absolute error against that scale (float32 sums of
 * terms of mixed sign leave such elements with few correct digits in every implementation).
 */
function relErr(a: Float32Array | undefined, b: Float32Array, scaleOf: Float32Array[] = [b]): number {
  if (!a || a.length !== b.length) return Infinity;
  let scale = 0;
  for (const t of scaleOf) for (let i = 0; i < t.length; i++) scale = Math.max(scale, Math.abs(t[i]!));
  const floor = Math.max(1e-2 * scale, 1e-30);
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + floor);
    if (!(e <= worst)) worst = e; // NaN propagates as the worst
  }
  return worst;
}

function relErrScalar(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);
}

function snapshot(p: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) out[k] = Float32Array.from(v);
  return out;
}

// ---------------------------------------------------------------- compile timing

interface CommandTiming {
  label: string;
  files: string[];
  /** wall clock of the whole command, best of `runs` */
  ms: number;
  /** the time flatgrad's CLI reports for itself (after loading the compiler), best of `runs` */
  ownMs: number;
  runs: number;
  ok: boolean;
  output: string;
}

/** flatgrad's CLI script, as package.json's "bin" names it (what `npm run flatgrad` runs). */
function cliScript(): string {
  const pkg = JSON.parse(readFileSync(join(REPO_DIR, "package.json"), "utf8")) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.flatgrad;
  if (!bin) throw new Error('package.json has no "bin" entry for flatgrad');
  return join(REPO_DIR, bin);
}

function runCompileOnce(files: string[], outDir: string): Promise<{ ms: number; ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const args = [cliScript(), "compile", ...files.map((f) => relative(REPO_DIR, f)), "--out", relative(REPO_DIR, outDir)];
    const t0 = performance.now();
    const p = spawn(process.execPath, args, { cwd: REPO_DIR, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    p.stdout.on("data", (d: Buffer) => (output += d.toString()));
    p.stderr.on("data", (d: Buffer) => (output += d.toString()));
    p.on("close", (code) => resolve({ ms: performance.now() - t0, ok: code === 0, output: output.trim() }));
  });
}

/** Run `flatgrad compile` on `files` `runs` times; keep the best wall clock and the best self-reported time. */
async function timeCompile(label: string, files: string[], outDir: string, runs: number): Promise<CommandTiming> {
  const t: CommandTiming = { label, files, ms: Infinity, ownMs: Infinity, runs, ok: true, output: "" };
  for (let i = 0; i < runs; i++) {
    const r = await runCompileOnce(files, outDir);
    t.ok &&= r.ok;
    t.output = r.output;
    if (!r.ok) break;
    t.ms = Math.min(t.ms, r.ms);
    const own = /\((\d+(?:\.\d+)?) s\)\s*$/.exec(r.output);
    if (own) t.ownMs = Math.min(t.ownMs, Number(own[1]) * 1000);
  }
  log(`compile: ${label}: ${(t.ms / 1000).toFixed(2)} s wall${Number.isFinite(t.ownMs) ? `, ${(t.ownMs / 1000).toFixed(2)} s by its own report` : ""} (best of ${runs}) — ${t.output.split("\n").pop()}`);
  return t;
}

// ---------------------------------------------------------------- child processes

class Child {
  readonly proc: ChildProcess;
  private out = "";
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private started: Promise<void>;
  private exited = false;

  constructor(
    readonly id: ContenderId,
    readonly workload: WorkloadId,
  ) {
    this.proc = fork(join(BENCH_DIR, "run-one.mjs"), [id, workload], {
      cwd: REPO_DIR,
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      execArgv: ["--expose-gc"],
    });
    const keep = (d: Buffer): void => {
      this.out = (this.out + d.toString()).slice(-4000);
    };
    this.proc.stdout!.on("data", keep);
    this.proc.stderr!.on("data", keep);
    this.started = new Promise((resolve, reject) => {
      const onMsg = (m: { type: string }): void => {
        if (m.type === "started") {
          this.proc.off("message", onMsg);
          resolve();
        }
      };
      this.proc.on("message", onMsg);
      this.proc.once("exit", (code) => reject(new Error(`child exited (${code}) before starting:\n${this.out}`)));
    });
    this.proc.on("message", (m: Reply | { type: "started" }) => {
      if (m.type === "started" || !this.pending) return;
      const p = this.pending;
      this.pending = null;
      clearTimeout(p.timer);
      if (m.type === "error") p.reject(new Error(m.message));
      else p.resolve(m);
    });
    this.proc.on("exit", (code, signal) => {
      this.exited = true;
      if (this.pending) {
        const p = this.pending;
        this.pending = null;
        clearTimeout(p.timer);
        p.reject(new Error(`child exited (${code ?? signal}):\n${this.out}`));
      }
    });
  }

  async request<T extends Reply["type"]>(req: Request, expect: T, timeoutMs: number): Promise<Extract<Reply, { type: T }>> {
    await this.started;
    if (this.exited) throw new Error(`child has exited:\n${this.out}`);
    const reply = await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        reject(new Error(`no answer to "${req.type}" within ${timeoutMs / 1000} s`));
        this.kill();
      }, timeoutMs);
      this.pending = { resolve, reject, timer };
      this.proc.send(req);
    });
    if (reply.type !== expect) throw new Error(`expected ${expect}, got ${reply.type}`);
    return reply as Extract<Reply, { type: T }>;
  }

  stop(): void {
    if (this.exited) return;
    try {
      this.proc.send({ type: "exit" } satisfies Request);
    } catch {
      // already gone
    }
    setTimeout(() => this.kill(), 2000).unref();
  }

  kill(): void {
    if (!this.exited) this.proc.kill();
  }
}

// ---------------------------------------------------------------- one workload

interface CheckResult {
  loss: number;
  lossErr: number;
  gradErr: number;
  worstGrad: string;
  stepErr: number;
  paramErr: number;
  pass: boolean;
}

interface ContenderResult {
  id: ContenderId;
  version?: string;
  note?: string;
  setupMs?: number;
  error?: string;
  check?: CheckResult;
  /** ms per step, one per round */
  rounds: number[];
  /** process CPU time / wall clock, one per round */
  cpuRatio: number[];
  stepsPerRound?: number;
  alloc?: Extract<Reply, { type: "alloc" }>;
  /** CNN workloads: why the training step cannot run (its forward pass is timed instead). */
  cannotTrain?: string;
  /** CNN workloads: whether it offers a forward pass, and ms per forward pass, one per round. */
  hasForward?: boolean;
  fwd: number[];
  fwdPerRound?: number;
}

interface WorkloadResult {
  w: Workload;
  flops: number;
  refLoss: number;
  results: ContenderResult[];
}

function firstLine(s: string): string {
  const line = s.split("\n").find((l) => l.trim()) ?? s;
  return line.length > 200 ? line.slice(0, 200) + "…" : line;
}

async function benchWorkload(w: Workload, opts: Options): Promise<WorkloadResult> {
  log(`\n== ${w.title}: ${w.network}`);
  // the reference: flatgrad's generated module, in this process
  const mod = await loadGenerated(w);
  const batch = makeBatch(w);
  const ref = mod.createModel({ seed: w.seed });
  const init = snapshot(ref.params);
  const refLoss = ref.lossAndGrad(batch);
  const refGrads = snapshot(ref.grads);
  const refStepLosses: number[] = [];
  for (let i = 0; i < CHECK_STEPS; i++) refStepLosses.push(ref.step(batch, { lr: w.lr }));
  const refParamsAfter = snapshot(ref.params);

  const results: ContenderResult[] = [];
  const live: { r: ContenderResult; child: Child }[] = [];
  const fwdOnly: { r: ContenderResult; child: Child }[] = [];
  try {
    // start and check each contender, one at a time
    for (const id of opts.contenders) {
      // no hand-written CNN or transformer; the customGrad workaround is for CNNs only
      if (id === "handwritten" && (w.cnn || w.seq)) continue;
      if (id === "tfjs-wasm-cg" && !w.cnn) continue;
      const r: ContenderResult = { id, rounds: [], cpuRatio: [], fwd: [] };
      results.push(r);
      const child = new Child(id, w.id);
      try {
        const ready = await child.request({ type: "init", init, checkSteps: CHECK_STEPS }, "ready", 300_000);
        r.version = ready.version;
        r.note = ready.note;
        r.setupMs = ready.setupMs;
        r.hasForward = ready.forward;
        if (ready.cannotTrain !== undefined) {
          r.cannotTrain = ready.cannotTrain;
          log(`  check ${id.padEnd(12)} cannot train: ${firstLine(ready.cannotTrain)} → its forward pass is timed instead`);
          fwdOnly.push({ r, child });
          continue;
        }
        // a tensor whose reference is rounding noise (w.seq.noise) is judged against the scale of all of them
        const noise = new Set(w.seq?.noise.names ?? []);
        const scaleOf = (all: Params, name: string) => (noise.has(name) ? Object.values(all) : [all[name]!]);
        let gradErr = 0;
        let worstGrad = "";
        for (const [name, g] of Object.entries(refGrads)) {
          const e = relErr(ready.grads[name], g, scaleOf(refGrads, name));
          if (!(e <= gradErr)) {
            gradErr = e;
            worstGrad = name;
          }
        }
        let stepErr = 0;
        for (let i = 0; i < CHECK_STEPS; i++) stepErr = Math.max(stepErr, relErrScalar(ready.stepLosses[i] ?? NaN, refStepLosses[i]!));
        let paramErr = 0;
        for (const [name, p] of Object.entries(refParamsAfter)) paramErr = Math.max(paramErr, relErr(ready.paramsAfter[name], p, scaleOf(refParamsAfter, name)));
        const lossErr = relErrScalar(ready.loss, refLoss);
        const pass = lossErr <= TOL && gradErr <= TOL && stepErr <= TOL && paramErr <= TOL;
        r.check = { loss: ready.loss, lossErr, gradErr, worstGrad, stepErr, paramErr, pass };
        log(
          `  check ${id.padEnd(12)} loss ${ready.loss.toPrecision(8)} (rel ${lossErr.toExponential(1)}), grads ${gradErr.toExponential(1)} (worst ${worstGrad}), ` +
            `${CHECK_STEPS} steps: losses ${stepErr.toExponential(1)}, params ${paramErr.toExponential(1)} → ${pass ? "ok" : "MISMATCH"}  [setup ${(ready.setupMs / 1000).toFixed(1)} s]`,
        );
        live.push({ r, child });
      } catch (e) {
        r.error = (e as Error).message;
        log(`  ${id}: cannot run: ${firstLine(r.error)}`);
        child.kill();
      }
    }

    // warm-up and calibration: steps per round so that a round takes about opts.roundMs
    for (const { r, child } of live) {
      try {
        const warmed = await child.request({ type: "warmup", ms: opts.warmupMs, minSteps: 3 }, "warmed", 300_000);
        r.stepsPerRound = Math.max(3, Math.round(opts.roundMs / warmed.msPerStep));
        log(`  warm ${r.id.padEnd(12)} ${warmed.steps} steps, ~${fmtMs(warmed.msPerStep)} ms/step → ${r.stepsPerRound} steps per round`);
      } catch (e) {
        r.error = (e as Error).message;
        log(`  ${r.id}: failed in warm-up: ${firstLine(r.error)}`);
      }
    }

    // alternating rounds
    const timed = live.filter(({ r }) => !r.error);
    for (let round = 0; round < opts.rounds; round++) {
      const k = round % timed.length;
      const order = [...timed.slice(k), ...timed.slice(0, k)];
      const line: string[] = [];
      for (const { r, child } of order) {
        if (r.error) continue;
        try {
          const res = await child.request({ type: "round", steps: r.stepsPerRound! }, "round", 300_000);
          r.rounds.push(res.ms / res.steps);
          r.cpuRatio.push(res.cpuMs / res.ms);
          line.push(`${r.id} ${fmtMs(res.ms / res.steps)}`);
        } catch (e) {
          r.error = (e as Error).message;
          log(`  ${r.id}: failed in round ${round + 1}: ${firstLine(r.error)}`);
        }
      }
      log(`  round ${round + 1}/${opts.rounds}: ${line.join(", ")} (ms/step)`);
    }

    // allocation check of the two flat-loop contenders
    for (const { r, child } of timed) {
      if (r.error || (r.id !== "flatgrad" && r.id !== "flatgrad-loops" && r.id !== "handwritten")) continue;
      const ms = median(r.rounds);
      const steps = Math.max(10, Math.min(5_000, Math.round(500 / ms)));
      try {
        const a = await child.request({ type: "alloc", steps }, "alloc", 300_000);
        r.alloc = a;
        log(
          `  alloc ${r.id.padEnd(12)} N = ${steps}: young generation over N / 2N steps ${a.newSpaceBytes.map(([x, y]) => `+${x} / +${y} B`).join(", ")} ` +
            `→ ${perStep(a.newSpaceBytes, steps).map((x) => x.toFixed(1)).join(", ")} B/step; ArrayBuffers ${perStep(a.arrayBufferBytes, steps).map((x) => x.toFixed(1)).join(", ")} B/step; ` +
            `attempts spoilt by a GC: ${a.spoilt}; control: ${a.boxedReturnBytes.toFixed(1)} B/call`,
        );
      } catch (e) {
        log(`  ${r.id}: allocation check failed: ${firstLine((e as Error).message)}`);
      }
    }
    // CNN workloads: the forward pass (inference) of every contender that has one, in alternating rounds too
    if (w.cnn) await forwardRounds([...timed.filter(({ r }) => r.hasForward && !r.error), ...fwdOnly], opts);
  } finally {
    for (const { child } of [...live, ...fwdOnly]) child.stop();
  }
  return { w, flops: stepFlops(w), refLoss, results };
}

/** Warm-up and alternating rounds of forward passes (the same protocol as the steps'). */
async function forwardRounds(list: { r: ContenderResult; child: Child }[], opts: Options): Promise<void> {
  for (const { r, child } of list) {
    try {
      const warmed = await child.request({ type: "warmup", ms: opts.warmupMs, minSteps: 3, forward: true }, "warmed", 300_000);
      r.fwdPerRound = Math.max(3, Math.round(opts.roundMs / warmed.msPerStep));
    } catch (e) {
      r.error = (e as Error).message;
      log(`  ${r.id}: forward failed in warm-up: ${firstLine(r.error)}`);
    }
  }
  const ok = list.filter(({ r }) => !r.error);
  for (let round = 0; round < opts.rounds; round++) {
    const k = round % Math.max(1, ok.length);
    const line: string[] = [];
    for (const { r, child } of [...ok.slice(k), ...ok.slice(0, k)]) {
      if (r.error) continue;
      try {
        const res = await child.request({ type: "round", steps: r.fwdPerRound!, forward: true }, "round", 300_000);
        r.fwd.push(res.ms / res.steps);
        line.push(`${r.id} ${fmtMs(res.ms / res.steps)}`);
      } catch (e) {
        r.error = (e as Error).message;
        log(`  ${r.id}: forward failed in round ${round + 1}: ${firstLine(r.error)}`);
      }
    }
    log(`  forward round ${round + 1}/${opts.rounds}: ${line.join(", ")} (ms/forward)`);
  }
}

// ---------------------------------------------------------------- report

/** Per GC-free attempt: bytes per step, (growth over 2N − growth over N) / N. */
function perStep(pairs: [number, number][], steps: number): number[] {
  return pairs.map(([a, b]) => (b - a) / steps);
}

function bytesPerStep(a: NonNullable<ContenderResult["alloc"]>): number {
  const xs = perStep(a.newSpaceBytes, a.steps);
  return xs.length ? median(xs) : NaN;
}

function allocVerdict(a: NonNullable<ContenderResult["alloc"]>): string {
  if (!a.newSpaceBytes.length) return `inconclusive: every attempt had a collection during its loops`;
  const b = bytesPerStep(a);
  const ab = median(perStep(a.arrayBufferBytes, a.steps));
  if (Math.abs(ab) >= 1) return `${b.toFixed(1)} B/step on the heap and ${ab.toFixed(1)} B/step of ArrayBuffers`;
  if (Math.abs(b) < 1) return "none";
  const unit = a.boxedReturnBytes;
  const k = unit > 0 ? b / unit : NaN;
  if (unit > 0 && Math.abs(k - Math.round(k)) < 0.15 && Math.round(k) <= 4) {
    return `${b.toFixed(0)} B/step = ${Math.round(k)} × ${unit.toFixed(0)} B, what V8 allocates to return a float64 from a call it does not inline; no objects or buffers beyond that`;
  }
  return `${b.toFixed(1)} B/step (no ArrayBuffers)`;
}

function report(all: WorkloadResult[], compileTimings: CommandTiming[], opts: Options, env: Record<string, string>): string {
  const out: string[] = [];
  out.push("# flatgrad benchmark: one training step (forward + loss + backward + SGD update), float32");
  out.push("");
  out.push("Written by `npm run bench` (bench/main.ts). Do not edit by hand.");
  out.push("");
  for (const [k, v] of Object.entries(env)) out.push(`- ${k}: ${v}`);
  const load = Number(env["load average at start (1/5/15 min)"]?.split(" / ")[0]);
  if (load > 1.5) {
    out.push(
      `- note: other processes were using the CPU during this run (load average ${load.toFixed(1)} on ${os.cpus().length} cores): ` +
        `wall-clock times are inflated where CPU/wall is well below 1; the CPU ms/step column is less affected.`,
    );
  }
  out.push("");

  // ---- main table
  out.push(`## Time per step`);
  out.push("");
  out.push(
    `Median over ${opts.rounds} alternating rounds after warm-up (one child process per contender and workload; ` +
      `a round times many steps of one contender while the others wait). GFLOP/s counts 2·m·n·k per matmul: ` +
      `forward, dW and dX for every layer but the first's dX. Ratios are time ratios: > 1 is slower than the reference. ` +
      `CPU ms/step and CPU/wall: the child process's CPU time (all its threads) per step and over wall clock, medians over rounds; ` +
      `CPU/wall about 1 means one busy core; clearly below 1 means the process waited for the CPU (other load on the machine).`,
  );
  out.push("");
  const rows: string[][] = [];
  for (const { w, flops, results } of all) {
    const hand = results.find((r) => r.id === "handwritten");
    const flat = results.find((r) => r.id === "flatgrad");
    const tHand = hand && hand.rounds.length ? median(hand.rounds) : NaN;
    const tFlat = flat && flat.rounds.length ? median(flat.rounds) : NaN;
    for (const r of results) {
      if (!r.rounds.length || r.error) {
        const why = r.cannotTrain !== undefined ? `cannot train: ${firstLine(r.cannotTrain)}` : `not run: ${firstLine(r.error ?? "no rounds")}`;
        rows.push([w.title, CONTENDER_LABELS[r.id], why.replace(/\|/g, "\\|"), "", "", "", "", "", "", ""]);
        continue;
      }
      const t = median(r.rounds);
      const lo = Math.min(...r.rounds), hi = Math.max(...r.rounds);
      rows.push([
        w.title,
        CONTENDER_LABELS[r.id],
        fmtMs(t),
        `${fmtMs(lo)}–${fmtMs(hi)}`,
        (flops / (t * 1e6)).toFixed(2),
        fmtMs(median(r.rounds.map((ms, i) => ms * r.cpuRatio[i]!))),
        Number.isFinite(tHand) ? fmtRatio(t / tHand) : "–",
        Number.isFinite(tFlat) ? fmtRatio(t / tFlat) : "–",
        median(r.cpuRatio).toFixed(2),
        r.check ? (r.check.pass ? "ok" : "MISMATCH") : "–",
      ]);
    }
  }
  out.push(table(["workload", "contender", "ms/step", "min–max", "GFLOP/s", "CPU ms/step", "vs hand-written", "vs flatgrad", "CPU/wall", "check"], rows));
  out.push("");

  // ---- CNN workloads: the forward pass
  for (const { w, results } of all) {
    if (!w.cnn) continue;
    out.push(`## ${w.title}: forward pass (inference), beside the training step`);
    out.push("");
    out.push(
      `The same alternating rounds, timing \`forward\` (flatgrad: \`model.forward\`, eval mode, to the logits; the others: their forward to the logits, read back). ` +
        `GFLOP/s counts the two convolutions' and the linear layer's products, ${(w.cnn.forwardFlops / 1e6).toFixed(1)} MFLOP per forward pass. ` +
        `A contender that cannot run the training step is listed with why.`,
    );
    out.push("");
    const flat = results.find((r) => r.id === "flatgrad");
    const tFlat = flat && flat.fwd.length ? median(flat.fwd) : NaN;
    const fRows = results
      .filter((r) => r.fwd.length)
      .map((r) => {
        const t = median(r.fwd);
        return [
          CONTENDER_LABELS[r.id],
          fmtMs(t),
          `${fmtMs(Math.min(...r.fwd))}–${fmtMs(Math.max(...r.fwd))}`,
          (w.cnn!.forwardFlops / (t * 1e6)).toFixed(2),
          Number.isFinite(tFlat) ? fmtRatio(t / tFlat) : "–",
          r.cannotTrain !== undefined ? `cannot train: ${firstLine(r.cannotTrain).replace(/\|/g, "\\|")}` : r.rounds.length ? `trains: ${fmtMs(median(r.rounds))} ms/step` : "–",
        ];
      });
    out.push(table(["contender", "ms/forward", "min–max", "GFLOP/s", "vs flatgrad's forward", "training step"], fRows));
    out.push("");
  }

  // ---- the issue's layout
  out.push("## Summary (the issue's layout; ratios against the hand-written step)");
  out.push("");
  const sRows: string[][] = [];
  const cell = (rs: ContenderResult[], id: ContenderId, tHand: number): string => {
    const r = rs.find((x) => x.id === id);
    if (!r) return "–";
    if (r.error || !r.rounds.length) return "not run";
    return slowerFaster(median(r.rounds) / tHand);
  };
  for (const { w, flops, results } of all) {
    const hand = results.find((r) => r.id === "handwritten");
    const flat = results.find((r) => r.id === "flatgrad");
    if (!hand || !hand.rounds.length) continue;
    const tHand = median(hand.rounds);
    const flatCell = flat && flat.rounds.length ? `${fmtMs(median(flat.rounds))} ms (${(flops / (median(flat.rounds) * 1e6)).toFixed(1)} GFLOP/s), ${fmtRatio(median(flat.rounds) / tHand)}` : "not run";
    sRows.push([w.title, w.network, `${fmtMs(tHand)} ms (${(flops / (tHand * 1e6)).toFixed(1)} GFLOP/s)`, flatCell, cell(results, "tfjs-cpu", tHand), cell(results, "tfjs-wasm", tHand), cell(results, "jax-js", tHand)]);
  }
  out.push(table(["workload", "network", "best hand-written flat-loop JS", "flatgrad", "tfjs (cpu)", "tfjs (wasm, XNNPACK)", "@jax-js/jax (wasm, jit)"], sRows));
  out.push("");

  // ---- goals
  out.push("## Goals of issues 4 (W1–W3), 12 (W4) and 13 (W5), as measured in this run");
  out.push("");
  for (const { w, results } of all) {
    const t = (id: ContenderId): number => {
      const r = results.find((x) => x.id === id);
      return r && r.rounds.length && !r.error ? median(r.rounds) : NaN;
    };
    const f = t("flatgrad"), loops = t("flatgrad-loops"), h = t("handwritten"), cpu = t("tfjs-cpu"), wasm = t("tfjs-wasm");
    const goals: string[] = [];
    if (Number.isFinite(h)) goals.push(`flatgrad/hand-written ${fmtRatio(f / h)} (goal ≤ 1.15×: ${f / h <= 1.15 ? "met" : "NOT met"})`);
    if (Number.isFinite(h) && Number.isFinite(loops)) goals.push(`flatgrad's plain loops alone/hand-written ${fmtRatio(loops / h)} (goal ≤ 1.15×: ${loops / h <= 1.15 ? "met" : "NOT met"})`);
    if (w.id === "w1" && Number.isFinite(cpu)) goals.push(`tfjs-cpu/flatgrad ${fmtRatio(cpu / f)} (goal ≥ 20×: ${cpu / f >= 20 ? "met" : "NOT met"})`);
    if (w.cnn) {
      const fwd = (id: ContenderId): number => {
        const r = results.find((x) => x.id === id);
        return r && r.fwd.length ? median(r.fwd) : NaN;
      };
      const gf = w.cnn.flops / (f * 1e6);
      goals.push(`flatgrad's step ${fmtMs(f)} ms = ${gf.toFixed(2)} GFLOP/s (goal ≥ 15: ${gf >= 15 ? "met" : "NOT met"})`);
      const others = (["tfjs-cpu", "tfjs-wasm", "tfjs-wasm-cg", "jax-js"] as ContenderId[]).map((id) => [id, t(id)] as const).filter(([, v]) => Number.isFinite(v));
      if (others.length) {
        const [bestId, best] = others.reduce((a, b) => (b[1] < a[1] ? b : a));
        goals.push(`best JavaScript step (${bestId}) / flatgrad ${fmtRatio(best / f)} (goal > 6×: ${best / f > 6 ? "met" : "NOT met"})`);
      }
      const fw = fwd("tfjs-wasm"), ff = fwd("flatgrad");
      if (Number.isFinite(fw) && Number.isFinite(ff)) goals.push(`tfjs-wasm forward / flatgrad forward ${fmtRatio(fw / ff)} (goal ≥ 2×: ${fw / ff >= 2 ? "met" : "NOT met"})`);
    } else if (w.seq) {
      const gf = w.seq.flops / (f * 1e6), jax = t("jax-js");
      goals.push(`flatgrad's step ${fmtMs(f)} ms = ${gf.toFixed(2)} GFLOP/s (goal ≥ 12.5: ${gf >= 12.5 ? "met" : "NOT met"})`);
      if (Number.isFinite(jax)) goals.push(`jax-js/flatgrad ${fmtRatio(jax / f)} (goal ≥ 2×: ${jax / f >= 2 ? "met" : "NOT met"})`);
      if (Number.isFinite(wasm)) goals.push(`tfjs-wasm/flatgrad ${fmtRatio(wasm / f)} (goal ≥ 10×: ${wasm / f >= 10 ? "met" : "NOT met"})`);
    } else if (Number.isFinite(wasm)) goals.push(`tfjs-wasm/flatgrad ${fmtRatio(wasm / f)} (goal ≥ 2×: ${wasm / f >= 2 ? "met" : "NOT met"})`);
    out.push(`- ${w.title}: ${goals.join("; ")}`);
  }
  const ex = compileTimings.find((c) => c.label.startsWith("example models"));
  if (ex) out.push(`- compile of the example models (models/*.model.ts, ${ex.files.length} files, one command): ${(ex.ms / 1000).toFixed(2)} s wall clock (goal < 3 s: ${ex.ms < 3000 ? "met" : "NOT met"})`);
  const whole = compileTimings.find((c) => c.label.startsWith("bench models"));
  const singles = compileTimings.filter((c) => c.label.startsWith("alone"));
  if (whole && singles.length > 1) {
    const own = Number.isFinite(whole.ownMs) && singles.every((x) => Number.isFinite(x.ownMs));
    const pick = (c: CommandTiming): number => (own ? c.ownMs : c.ms);
    const marginal = (pick(whole) - median(singles.map(pick))) / (whole.files.length - 1);
    out.push(
      `- per further model once loaded ≈ (all ${whole.files.length} bench models in one command − median single-model command) / ${whole.files.length - 1}, ` +
        `${own ? "from the CLI's own reported times" : "wall clock"}: ${(marginal / 1000).toFixed(2)} s (goal < 0.5 s: ${marginal < 500 ? "met" : "NOT met"})`,
    );
  }
  out.push("");

  // ---- check
  out.push("## Numeric check (before timing)");
  out.push("");
  out.push(
    `Every contender starts from flatgrad's initial parameters (createModel({ seed })) and the same batch, and is compared ` +
      `with flatgrad's lossAndGrad and ${CHECK_STEPS} steps of flatgrad's step, computed in the parent process. Error = max over elements ` +
      `of |a − b| / (|b| + 1% of the tensor's max |b|); tolerance ${TOL}.`,
  );
  out.push("");
  const cRows: string[][] = [];
  for (const { w, refLoss, results } of all) {
    for (const r of results) {
      if (!r.check) {
        cRows.push([w.title, CONTENDER_LABELS[r.id], "–", "–", "–", "–", "–", `not run: ${firstLine(r.error ?? "").replace(/\|/g, "\\|")}`]);
        continue;
      }
      const c = r.check;
      cRows.push([
        w.title,
        CONTENDER_LABELS[r.id],
        `${c.loss.toPrecision(8)} (flatgrad ${refLoss.toPrecision(8)})`,
        c.lossErr.toExponential(1),
        c.worstGrad ? `${c.gradErr.toExponential(1)} (${c.worstGrad})` : c.gradErr.toExponential(1),
        c.stepErr.toExponential(1),
        c.paramErr.toExponential(1),
        c.pass ? "ok" : "MISMATCH",
      ]);
    }
  }
  out.push(table(["workload", "contender", "loss", "loss err", "grad err (worst)", `${CHECK_STEPS}-step losses err`, "params after err", "result"], cRows));
  out.push("");

  // ---- allocation
  out.push("## Allocation per step");
  out.push("");
  out.push(
    "In the contender's child process (node --expose-gc), after the timed rounds: gc(), then V8's young-generation used bytes " +
      "(new space + new large-object space, where every new object, array, closure and boxed number goes) and process.memoryUsage().arrayBuffers " +
      "before and after N steps of the (hot) timing loop, and again for 2N steps; bytes/step = (growth over 2N − growth over N) / N, which cancels " +
      "the measurement's own constant cost. Three attempts; an attempt during which a collection started is discarded (it would hide allocation). " +
      "The control is a function too large to inline that allocates nothing but the float64 it returns: V8 boxes a double returned from a call " +
      "it does not inline (a HeapNumber), so the control measures that unit.",
  );
  out.push("");
  const aRows: string[][] = [];
  for (const { w, results } of all) {
    for (const r of results) {
      if (!r.alloc) continue;
      const a = r.alloc;
      aRows.push([
        w.title,
        CONTENDER_LABELS[r.id],
        String(a.steps),
        perStep(a.newSpaceBytes, a.steps).map((x) => x.toFixed(1)).join(", ") || "–",
        perStep(a.arrayBufferBytes, a.steps).map((x) => x.toFixed(1)).join(", ") || "–",
        String(a.spoilt),
        `${a.boxedReturnBytes.toFixed(1)} B/call`,
        allocVerdict(a),
      ]);
    }
  }
  out.push(table(["workload", "contender", "N", "young-gen B/step (per attempt)", "ArrayBuffer B/step", "attempts spoilt by GC", "control", "allocation per step (median)"], aRows));
  out.push("");

  // ---- compile
  if (compileTimings.length) {
    out.push("## Compile time (`flatgrad compile`, package.json's bin script; wall clock includes Node start-up and loading the compiler)");
    out.push("");
    out.push(
      table(
        ["command", "files", "runs", "wall clock (best)", "CLI's own time (best)", "CLI's last line"],
        compileTimings.map((c) => [
          c.label,
          c.files.map((f) => relative(REPO_DIR, f)).join(" "),
          String(c.runs),
          c.ok ? `${(c.ms / 1000).toFixed(2)} s` : "–",
          c.ok && Number.isFinite(c.ownMs) ? `${(c.ownMs / 1000).toFixed(2)} s` : "–",
          c.ok ? (c.output.split("\n").pop() ?? "") : `FAILED: ${firstLine(c.output)}`,
        ]),
      ),
    );
    out.push("");
  }

  // ---- contenders
  out.push("## Contenders");
  out.push("");
  const seen = new Set<string>();
  for (const { results } of all) {
    for (const r of results) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      out.push(`- ${CONTENDER_LABELS[r.id]}: ${r.version ?? "–"}${r.note ? `; ${r.note}` : ""}${r.setupMs !== undefined ? `; setup ${(r.setupMs / 1000).toFixed(1)} s` : ""}${r.error && !r.version ? `; could not run: ${firstLine(r.error)}` : ""}`);
    }
  }
  out.push("");
  out.push("## Notes");
  out.push("");
  out.push("- Data: x ~ U(−1, 1), labels uniform (0/1 for BCE, one-hot for softmax CE), one fixed batch per workload (bench/workloads.ts). Each library gets the batch once, as its own tensors, before timing; every step returns the loss as a number, which also makes the lazy libraries (jax-js) finish the step.");
  for (const { w } of all) {
    if (!w.seq) continue;
    out.push(
      `- ${w.title}: x ~ U(−1, 1), int32 labels uniform over the ${w.sizes[w.sizes.length - 1]} classes; GFLOP/s counts ${(w.seq.flops / 1e6).toFixed(1)} MFLOP per step (bench/workloads.ts derives it: ` +
        `every linear's forward, dW and dX over 256 rows, and attention's six products per sequence and head, counted in full although the causal loop bounds skip the upper triangle). ` +
        `The check judges ${w.seq.noise.names.join(", ")} (gradient, and params after the steps) against the scale of all gradients (params) instead of its own: ${w.seq.noise.why}.`,
    );
  }
  out.push("- Initial parameters: flatgrad's createModel({ seed }) (he / xavier weights, zero biases), copied into every other contender.");
  out.push("- tfjs-core's Node bundle registers no gradient functions (the @tensorflow/tfjs union package does); the bench registers tfjs' own from @tensorflow/tfjs-core/dist/register_all_gradients.js (ES module, loaded through jiti; tfjs keeps its registries global).");
  out.push("- tfjs-backend-wasm 4.22.0: tf.fused.matMul with transposeB and a bias returns wrong values (the check caught it after one SGD step, once the biases are non-zero). Both tfjs contenders therefore keep weights as tfjs-layers' Dense does, kernel [in, out], which the wasm backend computes correctly.");
  out.push("- @jax-js/jax runs its wasm kernels on worker threads only where a global Worker and SharedArrayBuffer exist; Node 20 has no global Worker, so it runs on the main thread (see CPU/wall).");
  out.push("- The machine is shared: other processes may run during the bench (see the load averages and CPU/wall); alternating rounds spread that noise over all contenders, but ratios between runs can move by several per cent.");
  out.push("");
  return out.join("\n");
}

// ---------------------------------------------------------------- main

export async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (typeof opts === "string") {
    process.stderr.write((opts ? `bench: ${opts}\n` : "") + USAGE + "\n");
    return opts ? 2 : 0;
  }
  const tStart = performance.now();
  const env: Record<string, string> = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${os.cpus()[0]?.model ?? "?"} × ${os.cpus().length}`,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    "load average at start (1/5/15 min)": os.loadavg().map((x) => x.toFixed(2)).join(" / "),
    settings: `${opts.rounds} rounds of ~${opts.roundMs} ms after ${opts.warmupMs} ms warm-up`,
  };
  log(`bench: node ${process.version}, ${env.cpu}, load ${env["load average at start (1/5/15 min)"]}`);

  // 1. compile
  mkdirSync(WORK_DIR, { recursive: true });
  const compileTimings: CommandTiming[] = [];
  if (opts.compile) {
    const files = opts.workloads.map(modelFile);
    const whole = await timeCompile(`bench models (${files.length}), one command`, files, WORK_DIR, 2);
    compileTimings.push(whole);
    if (!whole.ok) {
      log(whole.output);
      log("bench: compiling the bench models failed");
      return 1;
    }
    if (files.length > 1) {
      for (const f of files) compileTimings.push(await timeCompile(`alone: ${relative(REPO_DIR, f)}`, [f], WORK_DIR, 1));
    }
    const examples = readdirSync(join(REPO_DIR, "models"))
      .filter((f) => f.endsWith(".model.ts"))
      .sort()
      .map((f) => join(REPO_DIR, "models", f));
    if (examples.length) {
      compileTimings.push(await timeCompile(`example models (${examples.length}), one command, into bench/.work/examples/`, examples, join(WORK_DIR, "examples"), 2));
    }
  }

  // 2–4. per workload
  const all: WorkloadResult[] = [];
  for (const id of opts.workloads) all.push(await benchWorkload(WORKLOADS[id], opts));

  env["load average at end (1/5/15 min)"] = os.loadavg().map((x) => x.toFixed(2)).join(" / ");
  env["bench wall clock"] = `${((performance.now() - tStart) / 1000).toFixed(0)} s`;
  const md = report(all, compileTimings, opts, env);
  const outFile = opts.partial ? join(WORK_DIR, "results.md") : join(BENCH_DIR, "results.md");
  writeFileSync(outFile, md + "\n");
  process.stdout.write("\n" + md + "\n");
  log(`bench: wrote ${relative(REPO_DIR, outFile)}`);

  const mismatch = all.flatMap((w) => w.results.filter((r) => r.check && !r.check.pass).map((r) => `${w.w.id}/${r.id}`));
  const coreFailed = all.flatMap((w) => w.results.filter((r) => (r.id === "flatgrad" || r.id === "handwritten") && r.error).map((r) => `${w.w.id}/${r.id}`));
  if (mismatch.length) log(`bench: numeric check failed for ${mismatch.join(", ")}`);
  if (coreFailed.length) log(`bench: could not run ${coreFailed.join(", ")}`);
  return mismatch.length || coreFailed.length ? 1 : 0;
}
