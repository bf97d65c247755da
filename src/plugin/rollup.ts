/** `import flatgrad from "flatgrad/rollup"`: the flatgrad plugin for Rollup (see unplugin.ts). */
import { unplugin } from "./unplugin.js";

export type { FlatgradPluginOptions } from "./generator.js";
export default unplugin.rollup;
