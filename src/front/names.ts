/**
 * Readable names: `const z1 = g.linear(x, W1, b1)` names the node made on that line `z1`, so the
 * generated code and its comments say `z1` and `dz1`, not `t17`.
 */
import { ts } from "ts-morph";
import type { Ctx } from "../ir/graph.js";
import type { Site } from "../ir/shape.js";

export function nameNodesFromSource(ctx: Ctx, file: string, source: string): void {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  // position of each builder call's method name -> the variable it initialises
  const byPos = new Map<string, string>();
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer) {
      let init: ts.Expression = n.initializer;
      while (ts.isParenthesizedExpression(init) || ts.isAsExpression(init) || ts.isNonNullExpression(init)) init = init.expression;
      if (ts.isCallExpression(init)) {
        const callee = init.expression;
        const at = ts.isPropertyAccessExpression(callee) ? callee.name : callee;
        const { line, character } = sf.getLineAndCharacterOfPosition(at.getStart(sf));
        byPos.set(`${line + 1}:${character + 1}`, n.name.text);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  for (const [node, site] of ctx.results) {
    if (site.file !== file || ctx.names.has(node)) continue;
    const name = byPos.get(`${site.line}:${site.col}`);
    if (name) ctx.names.set(node, name);
  }
}

/** `const [u_t, u_x] = g.grad(u, [t, x])`: the names each destructuring call gives its results, by the call's method position. */
export function destructuredNames(file: string, source: string): (site: Site) => (string | undefined)[] | undefined {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const byPos = new Map<string, (string | undefined)[]>();
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isArrayBindingPattern(n.name) && n.initializer && ts.isCallExpression(n.initializer)) {
      const callee = n.initializer.expression;
      const at = ts.isPropertyAccessExpression(callee) ? callee.name : callee;
      const { line, character } = sf.getLineAndCharacterOfPosition(at.getStart(sf));
      byPos.set(`${line + 1}:${character + 1}`, n.name.elements.map((e) => (ts.isBindingElement(e) && ts.isIdentifier(e.name) ? e.name.text : undefined)));
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return (site) => (site.file === file ? byPos.get(`${site.line}:${site.col}`) : undefined);
}
