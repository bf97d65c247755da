/**
 * Vite dev: what the plugin appends to a generated module that the dev server serves, so that a
 * regenerated model replaces the running one without losing what was trained.
 *
 * The module accepts its own update. Every model it created (tracked weakly) is handed to the new
 * module: when the params and buffers keep their names, shapes and the dtype, a model of the new
 * module loads the old one's `saveParams()` and takes its place in the same object (the app's
 * references stay valid); otherwise the update is passed on to the importers (`invalidate`), which
 * reloads the page unless an importer accepts it. The console says which.
 */

/** Plain JavaScript, appended after Vite has stripped the TypeScript. */
export const HMR_FOOTER = `
/* flatgrad: hot update (Vite dev only; added by the flatgrad plugin, not in the file on disk) */
if (import.meta.hot) {
  const flatgradLive = (import.meta.hot.data.flatgradLive ??= new Set());
  const flatgradCreate = createModel;
  createModel = (options) => {
    const model = flatgradCreate(options);
    flatgradLive.add(new WeakRef(model));
    return model;
  };
  const flatgradShapes = (s) => [["param", s.params], ["buffer", s.buffers]];
  const flatgradChanged = (was, now) => {
    if (was.dtype !== now.dtype) return "the dtype changed (" + was.dtype + " → " + now.dtype + ")";
    for (const [[kind, a], [, b]] of flatgradShapes(was).map((x, i) => [x, flatgradShapes(now)[i]])) {
      for (const k of Object.keys(a)) {
        if (!(k in b)) return kind + ' "' + k + '" is gone';
        if (a[k].join(",") !== b[k].join(",")) return kind + ' "' + k + '" is [' + b[k].join(", ") + "], was [" + a[k].join(", ") + "]";
      }
      for (const k of Object.keys(b)) if (!(k in a)) return kind + ' "' + k + '" is new';
    }
    return undefined;
  };
  import.meta.hot.accept((next) => {
    if (!next) return;
    const why = flatgradChanged(spec, next.spec);
    if (why) {
      console.info("[flatgrad] " + spec.name + " regenerated: " + why + ": reloading (the trained params cannot be kept)");
      import.meta.hot.invalidate("flatgrad: " + spec.name + ": " + why);
      return;
    }
    let kept = 0;
    for (const ref of [...flatgradLive]) {
      const model = ref.deref();
      flatgradLive.delete(ref);
      if (!model) continue;
      const fresh = next.createModel();
      for (const r of [...flatgradLive]) if (r.deref() === fresh) flatgradLive.delete(r);
      fresh.loadParams(model.saveParams());
      Object.assign(model, fresh);
      flatgradLive.add(new WeakRef(model));
      kept++;
    }
    console.info("[flatgrad] " + spec.name + " regenerated: params and buffers keep their names and shapes: kept the trained params of " + kept + " live model" + (kept === 1 ? "" : "s"));
  });
}
`;
