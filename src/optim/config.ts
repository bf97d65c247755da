import type { OptimizerConfig } from "../dsl/define.js";
import { FlatgradError, fmtValue, type Site } from "../ir/shape.js";

const FIELDS: Record<string, Record<string, "number" | "boolean">> = {
  sgd: { lr: "number", momentum: "number", nesterov: "boolean", weightDecay: "number", clipGradNorm: "number" },
};
const DEFAULTS: Record<string, Record<string, number | boolean>> = {
  sgd: { lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 },
};

/** Where a field of the optimizer config is written: [] is the `optimizer` field itself, ["lr"] its `lr`. */
export type OptimizerSites = (path: string[]) => Site | undefined;

/** Check an optimizer config against the known optimizers and fill in the defaults. */
export function checkOptimizer(cfg: unknown, sites: Site | undefined | OptimizerSites): OptimizerConfig {
  const at: OptimizerSites = typeof sites === "function" ? sites : () => sites;
  if (cfg === undefined) return { type: "sgd", lr: 0.01, momentum: 0, nesterov: false, weightDecay: 0 };
  if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg))
    throw new FlatgradError(`optimizer: expected an object like { type: "sgd", lr: 0.1 }, got ${fmtValue(cfg)}`, at([]), "FG130");
  const o = cfg as Record<string, unknown>;
  const known = Object.keys(FIELDS).join(", ");
  if (!("type" in o)) throw new FlatgradError(`optimizer: the type is missing: write { type: "sgd", ... } (known types: ${known})`, at([]), "FG130");
  const fields = typeof o.type === "string" && Object.hasOwn(FIELDS, o.type) ? FIELDS[o.type] : undefined;
  if (!fields) throw new FlatgradError(`optimizer: unknown type ${fmtValue(o.type)} (known: ${known})`, at(["type"]), "FG130");
  for (const [k, v] of Object.entries(o)) {
    if (k === "type") continue;
    const want = Object.hasOwn(fields, k) ? fields[k] : undefined;
    if (!want) throw new FlatgradError(`optimizer: unknown field "${k}" for ${o.type} (known: ${Object.keys(fields).join(", ")})`, at([k]), "FG131");
    if (typeof v !== want || (want === "number" && (!Number.isFinite(v) || (v as number) < 0)))
      throw new FlatgradError(`optimizer: ${o.type}.${k} must be a ${want === "number" ? "finite number ≥ 0" : "boolean"}, got ${fmtValue(v)}`, at([k]), "FG132");
  }
  const full = { ...DEFAULTS[o.type as string], ...o } as OptimizerConfig & Record<string, unknown>;
  if (full.type === "sgd" && full.nesterov && !(full.momentum! > 0))
    throw new FlatgradError(`optimizer: sgd.nesterov needs momentum > 0, got momentum ${fmtValue(full.momentum)}`, at(["nesterov"]), "FG132");
  return full;
}
