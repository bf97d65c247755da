/** A hand-rolled SVG line chart: panels of series over epochs, no dependencies, deterministic text. */

export interface Series {
  label: string;
  color: string;
  /** y per epoch 1…n. */
  values: number[];
}

export interface Panel {
  title: string;
  /** Axis range; omitted: 0 … the largest value, rounded up. */
  yMin?: number;
  yMax?: number;
  /** How a tick value is written. */
  format: (v: number) => string;
  series: Series[];
  /** A dashed horizontal reference line (a target). */
  target?: { value: number; label: string };
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const f = (v: number) => (Math.round(v * 10) / 10).toString();

/** A "nice" step for about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

/** Panels side by side, one shared legend below them. */
export function lineChart(title: string, panels: Panel[]): string {
  const pw = 360;
  const ph = 240;
  const m = { left: 56, right: 16, top: 64, bottom: 40 };
  const width = panels.length * (pw + m.left + m.right);
  const legendH = 28;
  const height = m.top + ph + m.bottom + legendH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600" fill="#222">${esc(title)}</text>`,
  ];
  panels.forEach((p, k) => {
    const x0 = k * (pw + m.left + m.right) + m.left;
    const y0 = m.top;
    const all = p.series.flatMap((s) => s.values);
    const epochs = Math.max(...p.series.map((s) => s.values.length));
    let lo = p.yMin ?? 0;
    let hi = p.yMax ?? Math.max(...all);
    if (!(hi > lo)) hi = lo + 1;
    const step = niceStep(hi - lo, 5);
    if (p.yMax === undefined) hi = Math.ceil(hi / step) * step;
    if (p.yMin === undefined) lo = Math.floor(lo / step) * step;
    const X = (e: number) => x0 + ((e - 1) / Math.max(epochs - 1, 1)) * pw;
    const Y = (v: number) => y0 + ph - ((Math.min(Math.max(v, lo), hi) - lo) / (hi - lo)) * ph;
    out.push(`<text x="${x0 + pw / 2}" y="${y0 - 10}" text-anchor="middle" font-size="13" fill="#222">${esc(p.title)}</text>`);
    out.push(`<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    for (let v = lo; v <= hi + step / 1e6; v += step) {
      out.push(`<line x1="${x0}" y1="${f(Y(v))}" x2="${x0 + pw}" y2="${f(Y(v))}" stroke="#eee"/>`);
      out.push(`<text x="${x0 - 6}" y="${f(Y(v) + 4)}" text-anchor="end" fill="#555">${esc(p.format(v))}</text>`);
    }
    const xStep = niceStep(Math.max(epochs - 1, 1), 6);
    for (let e = 1; e <= epochs; e += e === 1 && xStep > 1 ? xStep - 1 : xStep) {
      out.push(`<text x="${f(X(e))}" y="${y0 + ph + 16}" text-anchor="middle" fill="#555">${e}</text>`);
    }
    out.push(`<text x="${x0 + pw / 2}" y="${y0 + ph + 32}" text-anchor="middle" fill="#555">epoch</text>`);
    if (p.target) {
      out.push(`<line x1="${x0}" y1="${f(Y(p.target.value))}" x2="${x0 + pw}" y2="${f(Y(p.target.value))}" stroke="#444" stroke-dasharray="5 4"/>`);
      out.push(`<text x="${x0 + pw - 4}" y="${f(Y(p.target.value) + 14)}" text-anchor="end" fill="#444">${esc(p.target.label)}</text>`);
    }
    for (const s of p.series) {
      const pts = s.values.map((v, i) => `${f(X(i + 1))},${f(Y(v))}`).join(" ");
      out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round"/>`);
    }
  });
  // legend: the series of the first panel
  const legend = panels[0]?.series ?? [];
  const ly = m.top + ph + m.bottom + 14;
  let lx = m.left;
  for (const s of legend) {
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 30}" y="${ly}" fill="#222">${esc(s.label)}</text>`);
    lx += 40 + s.label.length * 7;
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
