// Evaluates expressions with GitHub's own evaluator (npm @actions/expressions) for the
// differential test and the benchmark. Input: JSON lines {"expr": "...", "contexts": {...}}
// on stdin (or the file given as argv[2]). Output: one JSON line per input:
//   {"ok": true, "kind": "String", "json": "<JSON.stringify of the value>", "num": "<String(n)>"}
//   {"ok": false, "phase": "parse" | "eval", "error": "..."}
// With --bench N: parses+evaluates every input N times and prints {"evals": k, "seconds": s}.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = process.env.GANTRY_NODE_MODULES || path.join(here, "..", "node", "node_modules");
const pkg = path.join(root, "@actions", "expressions", "dist", "index.js");
const { Lexer, Parser, Evaluator, data } = await import(pathToFileURL(pkg).href);

const args = process.argv.slice(2);
let bench = 0;
const bi = args.indexOf("--bench");
if (bi >= 0) {
  bench = Number(args[bi + 1]);
  args.splice(bi, 2);
}
const input = readFileSync(args[0] || 0, "utf8");
const cases = input.split("\n").filter(l => l.trim() !== "").map(l => JSON.parse(l));

function contextsOf(c) {
  const names = Object.keys(c.contexts || {});
  const dict = JSON.parse(JSON.stringify(c.contexts || {}), data.reviver);
  return { names, dict };
}

function run(expr, names, dict) {
  let ast;
  try {
    const lexed = new Lexer(expr).lex();
    ast = new Parser(lexed.tokens, names, []).parse();
  } catch (e) {
    return { ok: false, phase: "parse", error: String(e.message) };
  }
  if (ast === undefined) return { ok: true, kind: "Null", json: "null" };
  let r;
  try {
    r = new Evaluator(ast, dict).evaluate();
  } catch (e) {
    return { ok: false, phase: "eval", error: String(e.message) };
  }
  const out = { ok: true, kind: data.kindStr ? data.kindStr(r.kind) : kindName(r.kind), json: JSON.stringify(r, data.replacer) };
  if (r.kind === data.Kind.Number) out.num = Object.is(r.value, -0) ? "0" : String(r.value);
  return out;
}

function kindName(k) {
  switch (k) {
    case data.Kind.Array: return "Array";
    case data.Kind.Boolean: return "Boolean";
    case data.Kind.Null: return "Null";
    case data.Kind.Number: return "Number";
    case data.Kind.Dictionary: return "Object";
    case data.Kind.String: return "String";
  }
  return "unknown";
}

if (bench > 0) {
  const prepared = cases.map(c => ({ expr: c.expr, ...contextsOf(c) }));
  // Warm up the JIT first, as a fair comparison with compiled code.
  for (const p of prepared) run(p.expr, p.names, p.dict);
  const start = process.hrtime.bigint();
  let n = 0;
  for (let i = 0; i < bench; i++) {
    for (const p of prepared) {
      run(p.expr, p.names, p.dict);
      n++;
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(JSON.stringify({ evals: n, seconds }));
} else {
  const lines = [];
  for (const c of cases) {
    const { names, dict } = contextsOf(c);
    lines.push(JSON.stringify(run(c.expr, names, dict)));
  }
  process.stdout.write(lines.join("\n") + "\n");
}
