/**
 * The training page (`npm run web`; `npm run build-web` builds it to examples/web/dist). The
 * flatgrad plugin compiles the repository's models into generated/ at start and on every
 * change, as `npm run compile-model` would; the Worker imports generated/digits-mlp.ts.
 * COOP/COEP make the page cross-origin isolated (SharedArrayBuffer, precise timers).
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import flatgrad from "../../src/plugin/vite.js"; // in a project that installed flatgrad: "flatgrad/vite"

const isolated = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [flatgrad({ root: fileURLToPath(new URL("../..", import.meta.url)) })],
  worker: { format: "es" },
  server: { headers: isolated },
  preview: { headers: isolated },
  build: { target: "es2022" },
});
