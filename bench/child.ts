// One contender on one workload, in its own process: bench/run-one.mjs starts this under jiti, and the
// parent (bench/main.ts) drives it over IPC, one request at a time, so that only one process computes.
import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import { CONTENDER_IDS, createContender, type Contender, type ContenderId } from "./contenders.js";
import { makeBatch, WORKLOADS, type Params, type WorkloadId } from "./workloads.js";

export type Request =
  | { type: "init"; init: Params; checkSteps: number }
  | { type: "warmup"; ms: number; minSteps: number; forward?: boolean }
  | { type: "round"; steps: number; forward?: boolean }
  | { type: "alloc"; steps: number }
  | { type: "exit" };

export type Reply =
  | {
      type: "ready";
      version: string;
      note: string;
      setupMs: number;
      loss: number;
      grads: Params;
      stepLosses: number[];
      paramsAfter: Params;
      /** Why the training step cannot run, for a contender that can still run its forward pass (then the numbers above are empty). */
      cannotTrain?: string;
      /** Whether it offers a forward pass to time (CNN workloads). */
      forward: boolean;
    }
  | { type: "warmed"; steps: number; msPerStep: number }
  | { type: "round"; steps: number; ms: number; cpuMs: number }
  | {
      type: "alloc";
      steps: number;
      /** per GC-free attempt: young-generation bytes allocated over N and 2N steps */
      newSpaceBytes: [number, number][];
      /** per GC-free attempt: ArrayBuffer bytes over N and 2N steps */
      arrayBufferBytes: [number, number][];
      /** attempts spoilt by a collection that started inside a measured loop */
      spoilt: number;
      /** bytes allocated per call by a non-inlined function that returns a float64 (the control) */
      boxedReturnBytes: number;
    }
  | { type: "error"; message: string };

let sink = 0;

/** Time `n` steps (or forward passes), wall clock. */
function timeSteps(c: Contender, n: number, forward = false): number {
  let s = 0;
  const t0 = performance.now();
  if (forward) for (let i = 0; i < n; i++) s += c.forward!();
  else for (let i = 0; i < n; i++) s += c.step();
  const t1 = performance.now();
  sink += s;
  return t1 - t0;
}

function send(reply: Reply): void {
  process.send!(reply);
}

/** Bytes in the young generation: where V8 allocates every new object, array and boxed number. */
function youngBytes(): number {
  let total = 0;
  for (const sp of v8.getHeapSpaceStatistics()) {
    if (sp.space_name === "new_space" || sp.space_name === "new_large_object_space") total += sp.space_used_size;
  }
  return total;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("the allocation check needs node --expose-gc");
  gc();
  gc();
}

interface Growth {
  young: number;
  arrayBuffers: number;
  window: [number, number];
}

/**
 * Young-generation and ArrayBuffer growth over `n` steps, from a collected heap, with no collection in
 * between (checked by the caller): what the steps allocated, plus a constant for the measurement
 * itself, which the caller cancels by measuring n and 2n. The loop is the timing loop's.
 */
async function stepGrowth(c: Contender, n: number): Promise<Growth> {
  collect();
  await new Promise((r) => setTimeout(r, 20)); // let the ArrayBuffer sweeper finish
  const ab0 = process.memoryUsage().arrayBuffers;
  const y0 = youngBytes();
  const t0 = performance.now();
  timeSteps(c, n); // the timing loop itself, optimised by the rounds
  const t1 = performance.now();
  const y1 = youngBytes();
  const ab1 = process.memoryUsage().arrayBuffers;
  return { young: y1 - y0, arrayBuffers: ab1 - ab0, window: [t0, t1] };
}

/** The same for `n` calls of the control. */
function controlGrowth(n: number): Growth {
  collect();
  const ab0 = process.memoryUsage().arrayBuffers;
  const y0 = youngBytes();
  let s = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) s += returnsFloat();
  const t1 = performance.now();
  const y1 = youngBytes();
  const ab1 = process.memoryUsage().arrayBuffers;
  sink += s;
  return { young: y1 - y0, arrayBuffers: ab1 - ab0, window: [t0, t1] };
}

/**
 * The control: a function too large for V8 to inline (over 1 KB of bytecode) that allocates nothing but
 * the float64 it returns, which V8 boxes because the call is not inlined.
 */
const controlBuf = new Float32Array(512).map((_, i) => 1 + i / 512);
function returnsFloat(): number {
  let a = 0;
  for (let i = 0; i < 512; i += 7) a += controlBuf[i]! * 1.0;
  for (let i = 1; i < 512; i += 7) a += controlBuf[i]! * 1.001;
  for (let i = 2; i < 512; i += 7) a += controlBuf[i]! * 1.002;
  for (let i = 3; i < 512; i += 7) a += controlBuf[i]! * 1.003;
  for (let i = 4; i < 512; i += 7) a += controlBuf[i]! * 1.004;
  for (let i = 5; i < 512; i += 7) a += controlBuf[i]! * 1.005;
  for (let i = 6; i < 512; i += 7) a += controlBuf[i]! * 1.006;
  for (let i = 7; i < 512; i += 7) a += controlBuf[i]! * 1.007;
  for (let i = 8; i < 512; i += 7) a += controlBuf[i]! * 1.008;
  for (let i = 9; i < 512; i += 7) a += controlBuf[i]! * 1.009;
  for (let i = 10; i < 512; i += 7) a += controlBuf[i]! * 1.01;
  for (let i = 11; i < 512; i += 7) a += controlBuf[i]! * 1.011;
  for (let i = 12; i < 512; i += 7) a += controlBuf[i]! * 1.012;
  for (let i = 13; i < 512; i += 7) a += controlBuf[i]! * 1.013;
  for (let i = 14; i < 512; i += 7) a += controlBuf[i]! * 1.014;
  for (let i = 15; i < 512; i += 7) a += controlBuf[i]! * 1.015;
  for (let i = 16; i < 512; i += 7) a += controlBuf[i]! * 1.016;
  for (let i = 17; i < 512; i += 7) a += controlBuf[i]! * 1.017;
  for (let i = 18; i < 512; i += 7) a += controlBuf[i]! * 1.018;
  for (let i = 19; i < 512; i += 7) a += controlBuf[i]! * 1.019;
  for (let i = 20; i < 512; i += 7) a += controlBuf[i]! * 1.02;
  for (let i = 21; i < 512; i += 7) a += controlBuf[i]! * 1.021;
  for (let i = 22; i < 512; i += 7) a += controlBuf[i]! * 1.022;
  for (let i = 23; i < 512; i += 7) a += controlBuf[i]! * 1.023;
  for (let i = 0; i < 512; i++) controlBuf[i] = controlBuf[i]! * 0.99999 + 0.00001;
  return a;
}

export async function runChild(id: ContenderId, workloadId: WorkloadId): Promise<void> {
  if (!CONTENDER_IDS.includes(id)) throw new Error(`unknown contender ${id}`);
  const w = WORKLOADS[workloadId];
  if (!w) throw new Error(`unknown workload ${workloadId}`);
  const batch = makeBatch(w);
  let c: Contender | undefined;

  process.on("message", (msg: Request) => {
    void (async () => {
      try {
        switch (msg.type) {
          case "init": {
            const t0 = performance.now();
            c = await createContender(id, w, msg.init, batch);
            const setupMs = performance.now() - t0;
            let trained: { loss: number; grads: Params } | undefined;
            try {
              trained = c.lossAndGrad();
            } catch (e) {
              // a contender that cannot train may still time its forward pass
              if (!c.forward) throw e;
              c.forward();
              const why = e instanceof Error ? e.message : String(e);
              send({ type: "ready", version: c.version, note: c.note, setupMs, loss: NaN, grads: {}, stepLosses: [], paramsAfter: {}, cannotTrain: why, forward: true });
              break;
            }
            const stepLosses: number[] = [];
            for (let i = 0; i < msg.checkSteps; i++) stepLosses.push(c.step());
            send({ type: "ready", version: c.version, note: c.note, setupMs, loss: trained.loss, grads: trained.grads, stepLosses, paramsAfter: c.params(), forward: !!c.forward });
            break;
          }
          case "warmup": {
            // run for msg.ms (at least minSteps); estimate the cost of a step from the second half
            let steps = 0;
            const t0 = performance.now();
            while (steps < msg.minSteps || performance.now() - t0 < msg.ms / 2) {
              timeSteps(c!, 1, msg.forward);
              steps++;
            }
            let n = Math.max(1, steps);
            let ms = timeSteps(c!, n, msg.forward);
            while (ms < msg.ms / 4) {
              n *= 2;
              ms = timeSteps(c!, n, msg.forward);
            }
            send({ type: "warmed", steps: steps + n, msPerStep: ms / n });
            break;
          }
          case "round": {
            // CPU time of the whole process (all threads) against wall clock: > 1 would mean a contender uses more than one core
            const cpu0 = process.cpuUsage();
            const ms = timeSteps(c!, msg.steps, msg.forward);
            const cpu = process.cpuUsage(cpu0);
            send({ type: "round", steps: msg.steps, ms, cpuMs: (cpu.user + cpu.system) / 1000 });
            break;
          }
          case "alloc": {
            const gcTimes: number[] = [];
            const obs = new PerformanceObserver((list) => {
              for (const e of list.getEntries()) gcTimes.push(e.startTime);
            });
            obs.observe({ entryTypes: ["gc"] });
            // the observer reports asynchronously: after each attempt, yield, then count the collections
            // that began inside a measured loop; retry (up to 3 times) when one did, since it spoils the count
            const gcsIn = async (ws: Growth[]): Promise<number> => {
              await new Promise((r) => setTimeout(r, 50));
              return gcTimes.filter((t) => ws.some(({ window: [t0, t1] }) => t >= t0 && t <= t1)).length;
            };
            const newSpaceBytes: [number, number][] = [];
            const arrayBufferBytes: [number, number][] = [];
            let spoilt = 0;
            for (let attempt = 0; attempt < 6 && newSpaceBytes.length < 3; attempt++) {
              const a = await stepGrowth(c!, msg.steps);
              const b = await stepGrowth(c!, 2 * msg.steps);
              if ((await gcsIn([a, b])) > 0) {
                spoilt++;
                continue;
              }
              newSpaceBytes.push([a.young, b.young]);
              arrayBufferBytes.push([a.arrayBuffers, b.arrayBuffers]);
            }
            // the control: warm it up (its loop goes through on-stack replacement first), then the
            // median of three GC-free measurements
            for (let i = 0; i < 5; i++) controlGrowth(10_000);
            const perCall: number[] = [];
            for (let attempt = 0; attempt < 6 && perCall.length < 3; attempt++) {
              const ca = controlGrowth(10_000);
              const cb = controlGrowth(20_000);
              if ((await gcsIn([ca, cb])) === 0) perCall.push((cb.young - ca.young) / 10_000);
            }
            perCall.sort((x, y) => x - y);
            const boxedReturnBytes = perCall.length ? perCall[Math.floor(perCall.length / 2)]! : NaN;
            obs.disconnect();
            send({
              type: "alloc",
              steps: msg.steps,
              newSpaceBytes,
              arrayBufferBytes,
              spoilt,
              boxedReturnBytes,
            });
            break;
          }
          case "exit":
            process.exit(0);
        }
      } catch (e) {
        send({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      }
    })();
  });
  process.send!({ type: "started" });
}
