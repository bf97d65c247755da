/** A hand-rolled SVG x–y chart (panels side by side, linear or log y), no dependencies, deterministic text. */

export interface XYSeries {
  label: string;
  color: string;
  x: number[];
  y: number[];
  dashed?: boolean;
}

export interface XYPanel {
  title: string;
  xLabel: string;
  /** A log10 y axis (values ≤ 0 are drawn at the bottom). */
  log?: boolean;
  series: XYSeries[];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const f = (v: number) => (Math.round(v * 10) / 10).toString();
const tick = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(0) : String(Math.round(v * 100) / 100));

export function xyChart(title: string, panels: XYPanel[]): string {
  const [pw, ph] = [300, 220];
  const m = { left: 56, right: 16, top: 64, bottom: 44 };
  const width = panels.length * (pw + m.left + m.right);
  const height = m.top + ph + m.bottom + 28;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600" fill="#222">${esc(title)}</text>`,
  ];
  panels.forEach((p, k) => {
    const x0 = k * (pw + m.left + m.right) + m.left;
    const xs = p.series.flatMap((s) => s.x);
    const tr = (v: number) => (p.log ? Math.log10(Math.max(v, 1e-300)) : v);
    const ys = p.series.flatMap((s) => s.y.filter((v) => !p.log || v > 0).map(tr));
    const [xlo, xhi] = [Math.min(...xs), Math.max(...xs)];
    let [ylo, yhi] = [Math.min(...ys), Math.max(...ys)];
    if (p.log) [ylo, yhi] = [Math.floor(ylo), Math.ceil(yhi)];
    if (!(yhi > ylo)) yhi = ylo + 1;
    const X = (v: number) => x0 + ((v - xlo) / (xhi - xlo || 1)) * pw;
    const Y = (v: number) => m.top + ph - ((Math.min(Math.max(tr(v), ylo), yhi) - ylo) / (yhi - ylo)) * ph;
    out.push(`<text x="${x0 + pw / 2}" y="${m.top - 10}" text-anchor="middle" font-size="13" fill="#222">${esc(p.title)}</text>`);
    out.push(`<rect x="${x0}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    const yTicks = p.log ? Array.from({ length: yhi - ylo + 1 }, (_, i) => 10 ** (ylo + i)) : Array.from({ length: 5 }, (_, i) => ylo + ((yhi - ylo) * i) / 4);
    for (const v of yTicks) {
      out.push(`<line x1="${x0}" y1="${f(Y(v))}" x2="${x0 + pw}" y2="${f(Y(v))}" stroke="#eee"/>`);
      out.push(`<text x="${x0 - 6}" y="${f(Y(v) + 4)}" text-anchor="end" fill="#555">${esc(p.log ? `1e${Math.round(Math.log10(v))}` : tick(v))}</text>`);
    }
    for (let i = 0; i <= 4; i++) {
      const v = xlo + ((xhi - xlo) * i) / 4;
      out.push(`<text x="${f(X(v))}" y="${m.top + ph + 16}" text-anchor="middle" fill="#555">${esc(tick(v))}</text>`);
    }
    out.push(`<text x="${x0 + pw / 2}" y="${m.top + ph + 34}" text-anchor="middle" fill="#555">${esc(p.xLabel)}</text>`);
    for (const s of p.series) {
      const pts = s.x.map((x, i) => `${f(X(x))},${f(Y(s.y[i]!))}`).join(" ");
      out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ` stroke-dasharray="6 4"` : ""} stroke-linejoin="round"/>`);
    }
    let lx = x0;
    for (const s of p.series) {
      const ly = m.top + ph + m.bottom + 14;
      out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 20}" y2="${ly - 4}" stroke="${s.color}" stroke-width="3"${s.dashed ? ` stroke-dasharray="6 4"` : ""}/>`);
      out.push(`<text x="${lx + 26}" y="${ly}" fill="#222">${esc(s.label)}</text>`);
      lx += 36 + s.label.length * 7;
    }
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
