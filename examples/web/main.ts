/**
 * The page: starts the training Worker, draws the loss and held-out accuracy as they come, and
 * classifies what the user draws on the pad. `window.flatgrad` holds what the page has seen (the
 * browser test reads it).
 */
import { toPixels } from "./digits.ts";
import type { FromWorker } from "./protocol.ts";
import { EPOCHS } from "./protocol.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface PageState {
  engine?: string;
  steps: number;
  losses: { step: number; loss: number }[];
  accuracies: { step: number; accuracy: number }[];
  stepsPerSecond?: number;
  done: boolean;
  prediction?: { digit: number; probs: number[] };
  predictions: number;
  errors: string[];
}
const state: PageState = { steps: 0, losses: [], accuracies: [], done: false, predictions: 0, errors: [] };
(window as unknown as { flatgrad: PageState }).flatgrad = state;

$("isolated").textContent = String(crossOriginIsolated);

const worker = new Worker(new URL("./train.worker.ts", import.meta.url), { type: "module" });
worker.onerror = (e) => {
  state.errors.push(e.message);
  $("status").textContent = `error: ${e.message}`;
};
worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "ready":
      state.engine = m.engine;
      $("engine").textContent = m.engine;
      $("status").textContent = `training on ${m.trainRows} digits, ${m.testRows} held out`;
      break;
    case "progress":
      state.steps = m.step;
      state.losses.push({ step: m.step, loss: m.loss });
      state.stepsPerSecond = m.stepsPerSecond;
      $("steps").textContent = String(m.step);
      $("epoch").textContent = `${m.epoch} / ${EPOCHS}`;
      $("loss").textContent = m.loss.toFixed(4);
      $("steps-per-second").textContent = Math.round(m.stepsPerSecond).toLocaleString("en");
      drawChart();
      break;
    case "epoch":
      state.accuracies.push({ step: m.step, accuracy: m.accuracy });
      $("accuracy").textContent = `${(100 * m.accuracy).toFixed(1)} %`;
      drawChart();
      break;
    case "done":
      state.done = true;
      state.stepsPerSecond = m.stepsPerSecond;
      $("steps-per-second").textContent = `${Math.round(m.stepsPerSecond).toLocaleString("en")} (mean)`;
      $("status").textContent = `done: ${m.steps} steps, held-out accuracy ${(100 * m.accuracy).toFixed(1)} %`;
      break;
    case "prediction":
      showPrediction(m.probs);
      break;
    case "error":
      state.errors.push(m.message);
      $("status").textContent = `error: ${m.message}`;
      console.error(m.message);
      break;
  }
};

/** The loss (left axis, log scale) and the held-out accuracy (right axis, 0…100 %) against steps. */
function drawChart() {
  const c = $<HTMLCanvasElement>("chart");
  const g = c.getContext("2d")!;
  const [w, h, pad] = [c.width, c.height, 34];
  g.clearRect(0, 0, w, h);
  g.font = "11px system-ui, sans-serif";
  g.strokeStyle = "#ccc";
  g.strokeRect(pad, 8, w - 2 * pad, h - pad - 8);
  const last = Math.max(state.steps, 1);
  const sx = (s: number) => pad + ((w - 2 * pad) * s) / last;
  const losses = state.losses.map((p) => p.loss);
  const [lo, hi] = [Math.log(Math.min(...losses, 1) * 0.9), Math.log(Math.max(...losses, 0.01) * 1.1)];
  const sy = (v: number) => 8 + ((h - pad - 8) * (hi - Math.log(v))) / (hi - lo || 1);
  const sa = (a: number) => 8 + (h - pad - 8) * (1 - a);
  const line = (pts: [number, number][], color: string) => {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    pts.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
    g.stroke();
  };
  line(state.losses.map((p) => [sx(p.step), sy(p.loss)]), "#4a7bd0");
  line(state.accuracies.map((p) => [sx(p.step), sa(p.accuracy)]), "#d0622e");
  g.fillStyle = "#4a7bd0";
  g.fillText("training loss (log)", pad + 4, h - pad + 14);
  g.fillStyle = "#d0622e";
  g.fillText("held-out accuracy", w - pad - 100, h - pad + 14);
  g.fillStyle = "#666";
  g.fillText(`step ${state.steps}`, w / 2 - 20, h - 6);
  g.fillText("100%", w - pad + 2, 14);
  g.fillText("0%", w - pad + 2, h - pad);
}

// the drawing pad: white ink on black, like the data set's bitmaps
const pad = $<HTMLCanvasElement>("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true })!;
const clear = () => {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
};
clear();
let drawing = false;
const at = (e: PointerEvent): [number, number] => {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
};
pad.addEventListener("pointerdown", (e) => {
  drawing = true;
  pad.setPointerCapture(e.pointerId);
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 18;
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(...at(e));
  ctx.lineTo(...at(e));
  ctx.stroke();
});
pad.addEventListener("pointermove", (e) => {
  if (!drawing) return;
  ctx.lineTo(...at(e));
  ctx.stroke();
});
const finish = () => {
  if (!drawing) return;
  drawing = false;
  predict();
};
pad.addEventListener("pointerup", finish);
pad.addEventListener("pointercancel", finish);
$("clear").addEventListener("click", () => {
  clear();
  state.prediction = undefined;
  $("prediction").textContent = "–";
  $("bars").replaceChildren();
});

function predict() {
  const { data, width, height } = ctx.getImageData(0, 0, pad.width, pad.height);
  const ink = new Float32Array(width * height);
  for (let i = 0; i < ink.length; i++) ink[i] = data[i * 4]! / 255;
  const pixels = toPixels(ink, width, height);
  if (pixels) worker.postMessage({ type: "predict", pixels });
}

function showPrediction(probs: number[]) {
  const digit = probs.indexOf(Math.max(...probs));
  state.prediction = { digit, probs };
  state.predictions++;
  $("prediction").textContent = String(digit);
  $("bars").replaceChildren(
    ...probs.flatMap((p, d) => {
      const label = document.createElement("span");
      label.textContent = String(d);
      const bar = document.createElement("div");
      bar.className = d === digit ? "bar top" : "bar";
      bar.style.width = `${Math.max(1, 160 * p)}px`;
      const value = document.createElement("span");
      value.textContent = `${(100 * p).toFixed(1)}%`;
      return [label, bar, value];
    }),
  );
}
