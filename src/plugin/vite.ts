/** `import flatgrad from "flatgrad/vite"`: the flatgrad plugin for Vite (see unplugin.ts). */
import { unplugin } from "./unplugin.js";

export type { FlatgradPluginOptions } from "./generator.js";
export default unplugin.vite;
