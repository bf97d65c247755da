/**
 * `--emit js`: a generated module as JavaScript plus its declarations, for projects without a
 * TypeScript pipeline. TypeScript's own emit does both (type erasure and declaration emit) from
 * one in-memory program, so the `.d.ts` says exactly what the `.ts` module would have exported.
 */
import { Project, ts } from "ts-morph";
import * as prettier from "prettier";

export async function toJavaScript(text: string, base: string): Promise<{ js: string; dts: string }> {
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      lib: ["lib.es2022.d.ts"],
      types: [],
      strict: true,
      declaration: true,
      removeComments: false,
      outDir: "/out",
    },
  });
  project.createSourceFile(`/${base}.ts`, text);
  const emitted = project.emitToMemory();
  const diags = emitted.getDiagnostics();
  if (diags.length) throw new Error(`internal: emitting JavaScript for ${base}: ${project.formatDiagnosticsWithColorAndContext(diags)}`);
  const file = (ext: string) => {
    const f = emitted.getFiles().find((f) => f.filePath.endsWith(`/${base}${ext}`));
    if (!f) throw new Error(`internal: no ${base}${ext} emitted`);
    return f.text;
  };
  // TypeScript's printer indents by four: prettier gives the same layout as the .ts module
  const fmt = (s: string, parser: string) => prettier.format(s, { parser, printWidth: 120 });
  const header = text.split("\n", 1)[0]!;
  const dts = file(".d.ts");
  return { js: await fmt(file(".js"), "babel"), dts: await fmt(dts.startsWith(header) ? dts : `${header}\n${dts}`, "babel-ts") };
}
