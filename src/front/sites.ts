/**
 * Positions in a model file's source, for errors that no stack frame points at: a field of the
 * defineModel({...}) configuration, the `export default`, the `return` of build(g), an import.
 * Lines and columns are 1-based, like V8's stack frames.
 */
import { ts } from "ts-morph";
import type { Site } from "../ir/shape.js";

export class ModelSource {
  readonly sf: ts.SourceFile;
  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, scriptKind(file));
  }

  site(n: ts.Node): Site {
    const { line, character } = this.sf.getLineAndCharacterOfPosition(n.getStart(this.sf));
    return { file: this.file, line: line + 1, col: character + 1 };
  }

  /** The first syntax error, with TypeScript's message. */
  syntaxError(): { site: Site; message: string } | undefined {
    const diags = (this.sf as unknown as { parseDiagnostics?: readonly ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
    const d = diags[0];
    if (!d) return undefined;
    const { line, character } = this.sf.getLineAndCharacterOfPosition(d.start);
    return { site: { file: this.file, line: line + 1, col: character + 1 }, message: ts.flattenDiagnosticMessageText(d.messageText, "\n") };
  }

  /** Where the file imports `specifier` (import/export from, dynamic import, require). */
  importSite(specifier: string): Site | undefined {
    let found: ts.Node | undefined;
    const visit = (n: ts.Node): void => {
      if (found) return;
      let spec: ts.Expression | undefined;
      if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier) spec = n.moduleSpecifier;
      else if (ts.isCallExpression(n) && (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === "require")))
        spec = n.arguments[0];
      else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference)) spec = n.moduleReference.expression;
      if (spec && ts.isStringLiteralLike(spec) && spec.text === specifier) found = spec;
      else ts.forEachChild(n, visit);
    };
    visit(this.sf);
    return found && this.site(found);
  }

  /** The `export default ...` statement (or `export { x as default }`). */
  defaultExport(): ts.Node | undefined {
    for (const st of this.sf.statements) {
      if (ts.isExportAssignment(st) && !st.isExportEquals) return st;
      if (ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) return st;
      if (ts.isExportDeclaration(st) && st.exportClause && ts.isNamedExports(st.exportClause)) {
        const el = st.exportClause.elements.find((e) => e.name.text === "default");
        if (el) return el;
      }
    }
    return undefined;
  }

  /** Named exports: `export const model = ...` and `export { model }`, with their positions. */
  namedExports(): { name: string; node: ts.Node }[] {
    const out: { name: string; node: ts.Node }[] = [];
    for (const st of this.sf.statements) {
      const exported = ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (exported && ts.isVariableStatement(st))
        for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) out.push({ name: d.name.text, node: st });
      if (exported && (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) out.push({ name: st.name.text, node: st });
      if (ts.isExportDeclaration(st) && st.exportClause && ts.isNamedExports(st.exportClause))
        for (const e of st.exportClause.elements) out.push({ name: e.name.text, node: e });
    }
    return out;
  }

  /** Every `defineModel(...)` call, in source order. */
  defineModelCalls(): ts.CallExpression[] {
    const out: ts.CallExpression[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n)) {
        const callee = n.expression;
        const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : "";
        if (name === "defineModel") out.push(n);
      }
      ts.forEachChild(n, visit);
    };
    visit(this.sf);
    return out;
  }

  /** The object literal given to the `defineModel` call at `at` (or the default-exported one, or the only one). */
  modelObject(at?: Site): ts.ObjectLiteralExpression | undefined {
    const calls = this.defineModelCalls();
    const def = this.defaultExport();
    const call =
      (at && calls.find((c) => sameLine(this.site(c.expression), at))) ??
      (def && calls.find((c) => c.getStart(this.sf) >= def.getStart(this.sf) && c.getEnd() <= def.getEnd())) ??
      (calls.length === 1 ? calls[0] : undefined);
    const arg = call?.arguments[0];
    return arg && ts.isObjectLiteralExpression(arg) ? arg : undefined;
  }

  /**
   * The position of a configuration field, e.g. ["optimizer", "type"]: the deepest property of the
   * path that is written out as an object literal in the source.
   */
  fieldSite(path: readonly string[], at?: Site): Site | undefined {
    let obj: ts.ObjectLiteralExpression | undefined = this.modelObject(at);
    let found: ts.Node | undefined;
    for (const key of path) {
      const prop = obj && findProperty(obj, key);
      if (!prop) break;
      found = prop;
      const init = ts.isPropertyAssignment(prop) ? unwrap(prop.initializer) : undefined;
      obj = init && ts.isObjectLiteralExpression(init) ? init : undefined;
    }
    return found && this.site(found);
  }

  /** The function body of build(g), if written in the defineModel object literal. */
  buildFunction(at?: Site): ts.FunctionLikeDeclaration | undefined {
    const prop = this.modelObject(at) && findProperty(this.modelObject(at)!, "build");
    if (!prop) return undefined;
    if (ts.isMethodDeclaration(prop)) return prop;
    if (ts.isPropertyAssignment(prop)) {
      const init = unwrap(prop.initializer);
      if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) return init;
    }
    return undefined;
  }

  /** The position of the `build` field. */
  buildSite(at?: Site): Site | undefined {
    return this.fieldSite(["build"], at);
  }

  /** The value build(g) returns: the expression of its only `return` (or an arrow function's body). */
  returnSite(at?: Site): Site | undefined {
    const fn = this.buildFunction(at);
    if (!fn?.body) return undefined;
    if (!ts.isBlock(fn.body)) return this.site(fn.body);
    const returns: ts.ReturnStatement[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isReturnStatement(n)) returns.push(n);
      // returns of nested functions are not build's
      if (!ts.isFunctionLike(n)) ts.forEachChild(n, visit);
    };
    ts.forEachChild(fn.body, visit);
    const withValue = returns.filter((r) => r.expression);
    return withValue.length === 1 ? this.site(withValue[0]!.expression!) : undefined;
  }
}

function scriptKind(file: string): ts.ScriptKind {
  if (/\.[cm]?ts$/.test(file)) return ts.ScriptKind.TS;
  if (/\.tsx$/.test(file)) return ts.ScriptKind.TSX;
  if (/\.jsx$/.test(file)) return ts.ScriptKind.JSX;
  return ts.ScriptKind.JS;
}

const sameLine = (a: Site, b: Site) => a.file === b.file && a.line === b.line;

function unwrap(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) || ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e))
    e = e.expression;
  return e;
}

function findProperty(obj: ts.ObjectLiteralExpression, key: string): ts.ObjectLiteralElementLike | undefined {
  // the last one wins, as in JavaScript
  return [...obj.properties].reverse().find((p) => {
    const name = p.name;
    if (!name) return false;
    return (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isPrivateIdentifier(name)) && name.text === key;
  });
}
