/** Identifiers for the generated module: readable, unique, and never a word of the language or a name the module's skeleton takes. */
import { RESERVED } from "../ir/names.js";
import { templateNames } from "../emit/template.js";

export class Namer {
  private used = new Set<string>();
  private readonly taken = templateNames();

  private free(name: string): boolean {
    return !this.used.has(name) && !this.taken.has(name) && !RESERVED.has(name);
  }

  /** A name in `createModel`'s scope (a buffer, a helper of the module): unique in the module. */
  claim(preferred: string): string {
    let base = preferred.replace(/[^A-Za-z0-9_]/g, "_");
    if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
    let name = base;
    for (let k = 2; !this.free(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  /**
   * A name local to one kernel (a loop index, an accumulator): `preferred`, unless a name in
   * `createModel`'s scope took it, which the kernel might read. Not recorded: the locals of two
   * kernels never meet, and the same preferred name always gives the same local.
   */
  local(preferred: string): string {
    let name = preferred;
    for (let k = 2; !this.free(name); k++) name = `${preferred}_${k}`;
    return name;
  }
}
