/** `import flatgrad from "flatgrad/webpack"`: the flatgrad plugin for Webpack (see unplugin.ts). */
import { unplugin } from "./unplugin.js";

export type { FlatgradPluginOptions } from "./generator.js";
export default unplugin.webpack;
