/** `import flatgrad from "flatgrad/esbuild"`: the flatgrad plugin for Esbuild (see unplugin.ts). */
import { unplugin } from "./unplugin.js";

export type { FlatgradPluginOptions } from "./generator.js";
export default unplugin.esbuild;
