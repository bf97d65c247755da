import type { OptimizerConfig } from "../dsl/define.js";
import { FlatgradError, type Site } from "../ir/shape.js";

const FIELDS: Record<string, Record<string, "number" | "boolean">> = {
  sgd: { lr: "number", momentum: "number", nesterov: "boolean", weightDecay: "number", clipGradNorm: "number" },
};
const DEFAULTS: Record<string, Record<string, number | boolean>> = {
  sgd: { lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 },
};

/** Check an optimizer config against the known optimizers and fill in the defaults. */
export function checkOptimizer(cfg: unknown, site: Site | undefined): OptimizerConfig {
  if (cfg === undefined) return { type: "sgd", lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 };
  if (typeof cfg !== "object" || cfg === null) throw new FlatgradError(`optimizer: expected an object like { type: "sgd", lr: 0.1 }`, site, "FG130");
  const o = cfg as Record<string, unknown>;
  const fields = FIELDS[String(o.type)];
  if (typeof o.type !== "string" || !fields) throw new FlatgradError(`optimizer: unknown type ${JSON.stringify(o.type)} (known: ${Object.keys(FIELDS).join(", ")})`, site, "FG130");
  for (const [k, v] of Object.entries(o)) {
    if (k === "type") continue;
    const want = fields[k];
    if (!want) throw new FlatgradError(`optimizer: unknown field "${k}" for ${o.type} (known: ${Object.keys(fields).join(", ")})`, site, "FG131");
    if (typeof v !== want || (want === "number" && (!Number.isFinite(v) || (v as number) < 0)))
      throw new FlatgradError(`optimizer: ${o.type}.${k} must be a ${want === "number" ? "finite number ≥ 0" : "boolean"}, got ${JSON.stringify(v)}`, site, "FG131");
  }
  const full = { ...DEFAULTS[o.type], ...o } as OptimizerConfig & Record<string, unknown>;
  if (full.type === "sgd" && full.nesterov && !(full.momentum! > 0)) throw new FlatgradError(`optimizer: sgd.nesterov needs momentum > 0`, site, "FG131");
  return full;
}
