/** The optimizers, one file each; this table is the one list (config checking and emission read it). */
import type { OptimizerConfig } from "../dsl/define.js";
import { adam } from "./adam.js";
import { adamw } from "./adamw.js";
import { rmsprop } from "./rmsprop.js";
import { sgd } from "./sgd.js";
import type { OptimizerDef } from "./types.js";

type ByType = { [K in OptimizerConfig["type"]]: OptimizerDef<Extract<OptimizerConfig, { type: K }>> };

export const OPTIMIZERS = { sgd, adam, adamw, rmsprop } satisfies ByType;

/** The definition of a (checked) config's optimizer. */
export const optimizerOf = (cfg: OptimizerConfig): OptimizerDef<OptimizerConfig> => OPTIMIZERS[cfg.type] as OptimizerDef<OptimizerConfig>;
