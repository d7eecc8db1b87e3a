/**
 * Architecture rules for the repository, checked on the import graph.
 *
 * The graph is built without the TypeScript compiler: a small lexer blanks comments and
 * replaces every string literal by a numbered placeholder (so an import written inside a
 * comment or a string does not count), then regular expressions pick up
 * `import … from "…"`, `export … from "…"`, `import "…"`, `import("…")` (including
 * `typeof import("…")`) and `new URL("…", import.meta.url)`. Relative specifiers are resolved
 * to repository paths; bare ones ("hono", "npm:…", "node:…") are kept as written.
 *
 * @module
 *
 * Past ~400 lines: the whole suite of one component (architecture), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */

import assert from "node:assert/strict";
import { posix } from "node:path";

// ---------------------------------------------------------------------------------------------
// The rules, as data. Patterns: `**` is any suffix, `<x>` is one path segment (the same value
// wherever it appears in a rule), anything else is literal. `allowOnly`, `forbid` and `allow`
// apply to imports that resolve inside the repository (or escape it: "../…"); `forbidBare` to
// bare specifiers ("hono", "npm:…"), which are otherwise free.
// ---------------------------------------------------------------------------------------------

/** One import the rules tolerate today, printed on every run until it is removed. */
interface KnownException {
  from: string;
  to: string;
  why: string;
}

interface Rule {
  id: string;
  why: string;
  /** Files the rule constrains. */
  files: string;
  /** The only repository targets allowed. */
  allowOnly?: string[];
  /** Repository targets never allowed. */
  forbid?: string[];
  /** Repository targets exempt from `forbid`. */
  allow?: string[];
  /** Bare specifiers never allowed (exact, or `name/**` for subpaths). */
  forbidBare?: string[];
  known?: KnownException[];
}

const RULES: Rule[] = [
  {
    id: "engine-is-a-library",
    why: "the engine must run embedded, without the CLI, HTTP layer, simulator or dev tooling",
    files: "engine/**",
    forbid: ["cli/**", "routes/**", "simulator/**", "tests/**", "bench/**", "tools/**", "main.ts"],
  },
  {
    id: "core-is-the-bottom",
    why: "core (types, state, config, validate) is what every layer shares; it can depend on none",
    files: "engine/core/**",
    allowOnly: ["engine/core/**"],
  },
  {
    id: "formats-are-pure",
    why:
      "parsers and writers are reused by sources, sinks and tools; they know only core types (and " +
      "the JSONL scanner's WASM fast path, its bytes and the one WASM loader, both leaves)",
    files: "engine/formats/**",
    allowOnly: [
      "engine/core/**",
      "engine/formats/**",
      "build/wasm/jsonl.wasm",
      "engine/kernels/assemblyscript_instance.ts",
    ],
  },
  {
    id: "kernels-are-leaves",
    why:
      "kernels (WASM hosts + reference twins) are numeric code, testable against each other alone",
    files: "engine/kernels/**",
    allowOnly: ["engine/core/**", "engine/kernels/**", "build/wasm/**"],
  },
  {
    id: "sources-are-plugins",
    why: "a source is added or removed as one folder: it sees core, formats, the Source contract",
    files: "engine/sources/<x>/**",
    allowOnly: [
      "engine/core/**",
      "engine/formats/**",
      "engine/sources/source.ts",
      "engine/sources/<x>/**",
    ],
    // Known exceptions (e.g. a source reaching into engine/pipeline/) go here with a why; each is
    // printed on every run, and the test fails once one is no longer needed. None today.
    known: [],
  },
  {
    id: "sinks-are-plugins",
    why:
      "a sink is added or removed as one folder: it sees core, formats, the Sink contract, _delivery",
    files: "engine/sinks/<x>/**",
    allowOnly: [
      "engine/core/**",
      "engine/formats/**",
      "engine/sinks/sink.ts",
      "engine/sinks/_delivery/**",
      "engine/sinks/<x>/**",
    ],
  },
  {
    id: "detect-below-pipeline",
    why: "detection is driven by the pipeline and must not know where data comes from or goes to",
    files: "engine/detect/**",
    forbid: ["engine/pipeline/**", "engine/sources/**", "engine/sinks/**"],
  },
  {
    id: "routes-use-public-surface",
    why:
      "engine/mod.ts (or its live part, engine/live_mod.ts) is the engine's API; deep paths from routes freeze engine internals",
    files: "routes/**",
    forbid: ["engine/**"],
    allow: ["engine/mod.ts", "engine/live_mod.ts"],
  },
  {
    id: "engine-without-hono",
    why: "HTTP is an adapter on top of the engine; the pipeline must run with no web framework",
    files: "engine/**",
    forbidBare: ["hono", "hono/**", "npm:hono**", "npm:/hono**"],
  },
  {
    id: "simulator-sees-core-only",
    why: "the simulator fakes devices from the outside; it shares only core types with the engine",
    files: "simulator/**",
    allowOnly: ["engine/core/**", "simulator/**"],
  },
  {
    id: "tests-are-self-contained",
    why: "tests must pass on a fresh clone; data outside the repository is not there",
    files: "tests/**",
    forbid: ["../**"],
  },
];

/** Raw strings tests/ may not contain (built with join so this file does not contain them). */
const SHARED_STRINGS = [["shared", "datasets"].join("/"), ["..", "shared"].join("/")];
/** A path into the shared checkout, for the self-tests (same trick). */
const SHARED_FILE = ["..", "..", "..", "shared", "datasets", "x.csv"].join("/");
const SHARED_WHY = "tests must pass on a fresh clone; the sibling shared/ checkout is not there";

/** Engine files that must not take part in an import cycle. */
const ACYCLIC = "engine/**";
const ACYCLIC_WHY = "a cycle makes load order matter and layers impossible to split or test alone";

/** Directories never walked. */
const SKIP_DIRS = new Set(["build", "data", "node_modules", "dist", "test-output", ".git"]);

// ---------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------

/** What the lexer leaves: code with comments blanked and strings replaced by `"#n"`. */
interface Lexed {
  code: string;
  strings: string[];
}

const REGEX_PRECEDERS = new Set("(,=:[!&|?{};+-*%<>~^".split(""));
const REGEX_KEYWORDS =
  /(?:^|[^\w$.])(?:return|typeof|instanceof|in|of|new|delete|void|throw|case|do|else|yield|await)$/;

/** Blanks comments, replaces string and template literals, skips regex literals. */
export function lex(src: string): Lexed {
  const strings: string[] = [];
  let out = "";
  let i = 0;
  // Brace depth per open template substitution, innermost last.
  const templateStack: number[] = [];
  let depth = 0;

  const lastSignificant = (): string => {
    let j = out.length - 1;
    while (j >= 0 && /\s/.test(out[j]!)) j--;
    return j < 0 ? "" : out[j]!;
  };

  const placeholder = (quote: string, value: string): string => {
    strings.push(value);
    return `${quote}#${strings.length - 1}${quote}`;
  };

  /**
   * Reads a template literal body starting after "`" (or, when `continued`, after the "}" of a
   * substitution); stops after the closing "`" or an opening "${". Only a template without
   * substitutions has a static value and gets a placeholder; the others leave bare backticks.
   */
  const templateChunk = (continued: boolean): void => {
    let value = "";
    while (i < src.length) {
      const c = src[i]!;
      if (c === "\\") {
        value += src.slice(i, i + 2);
        i += 2;
      } else if (c === "`") {
        i++;
        out += continued ? "`" : placeholder("`", value);
        return;
      } else if (c === "$" && src[i + 1] === "{") {
        i += 2;
        out += "`$" + "{";
        templateStack.push(depth);
        depth++;
        return;
      } else {
        value += c;
        i++;
      }
    }
  };

  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let value = "";
      while (j < src.length && src[j] !== c && src[j] !== "\n") {
        if (src[j] === "\\") {
          value += src.slice(j, j + 2);
          j += 2;
        } else {
          value += src[j];
          j++;
        }
      }
      i = j + 1;
      out += placeholder(c, value);
    } else if (c === "`") {
      i++;
      templateChunk(false);
    } else if (c === "{") {
      depth++;
      out += c;
      i++;
    } else if (c === "}") {
      depth--;
      i++;
      if (templateStack.length > 0 && templateStack[templateStack.length - 1] === depth) {
        templateStack.pop();
        out += "}";
        templateChunk(true);
      } else {
        out += c;
      }
    } else if (
      c === "/" && (REGEX_PRECEDERS.has(lastSignificant()) || lastSignificant() === "" ||
        REGEX_KEYWORDS.test(out.slice(-40).trimEnd()))
    ) {
      // Regex literal: skip to its closing slash, honouring escapes and classes.
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n") {
        const r = src[j]!;
        if (r === "\\") j++;
        else if (r === "[") inClass = true;
        else if (r === "]") inClass = false;
        else if (r === "/" && !inClass) break;
        j++;
      }
      out += "/regex/";
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return { code: out, strings };
}

export type ImportKind = "static" | "type" | "side-effect" | "dynamic" | "url";

export interface Specifier {
  spec: string;
  kind: ImportKind;
}

const STR = String.raw`(?<q>["'\x60])#(?<n>\d+)\k<q>`;
const PATTERNS: [RegExp, (m: RegExpMatchArray) => ImportKind][] = [
  // import x from "…", import { a, type B } from "…", import * as n from "…", import type …
  [
    new RegExp(String.raw`(?<![\w$.])import\s+(?<type>type\s+)?[\w$*{},\s]*?\bfrom\s*` + STR, "g"),
    (m) => (m.groups?.type ? "type" : "static"),
  ],
  // export { a } from "…", export * from "…", export * as n from "…", export type { T } from "…"
  [
    new RegExp(String.raw`(?<![\w$.])export\s+(?<type>type\s+)?[\w$*{},\s]*?\bfrom\s*` + STR, "g"),
    (m) => (m.groups?.type ? "type" : "static"),
  ],
  // import "…"
  [new RegExp(String.raw`(?<![\w$.])import\s*` + STR, "g"), () => "side-effect"],
  // import("…"), typeof import("…")
  [new RegExp(String.raw`(?<![\w$.])import\s*\(\s*` + STR, "g"), () => "dynamic"],
  // new URL("…", import.meta.url)
  [
    new RegExp(String.raw`\bnew\s+URL\s*\(\s*` + STR + String.raw`\s*,\s*import\.meta\.url\b`, "g"),
    () => "url",
  ],
];

/** Every module specifier and `new URL(…, import.meta.url)` target in a source text. */
export function extractSpecifiers(src: string): Specifier[] {
  const { code, strings } = lex(src);
  const found: { at: number; spec: Specifier }[] = [];
  for (const [re, kind] of PATTERNS) {
    for (const m of code.matchAll(re)) {
      const spec = strings[Number(m.groups!.n)]!;
      found.push({ at: m.index!, spec: { spec, kind: kind(m) } });
    }
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.spec);
}

/** Repository path for a relative specifier (may start with "../" when it leaves the repo). */
export function resolveSpecifier(from: string, spec: string): string | undefined {
  if (!spec.startsWith("./") && !spec.startsWith("../") && spec !== "." && spec !== "..") {
    return undefined;
  }
  const joined = posix.normalize(posix.join(posix.dirname(from), spec));
  return joined.endsWith("/") && joined.length > 1 ? joined.slice(0, -1) : joined;
}

// ---------------------------------------------------------------------------------------------
// Graph and checks
// ---------------------------------------------------------------------------------------------

export interface Edge {
  from: string;
  spec: string;
  kind: ImportKind;
  /** Repository path when relative, otherwise undefined (bare specifier). */
  to?: string;
}

export interface Graph {
  files: Map<string, string>;
  edges: Edge[];
}

export function buildGraph(files: Map<string, string>): Graph {
  const edges: Edge[] = [];
  for (const [from, src] of files) {
    for (const { spec, kind } of extractSpecifiers(src)) {
      edges.push({ from, spec, kind, to: resolveSpecifier(from, spec) });
    }
  }
  return { files, edges };
}

/** Matches `path` against `pattern`; returns the `<x>` binding ("" when none) or undefined. */
export function match(pattern: string, path: string, x?: string): string | undefined {
  let re = "^";
  let hasX = false;
  for (let k = 0; k < pattern.length;) {
    if (pattern.startsWith("**", k)) {
      re += ".*";
      k += 2;
    } else if (pattern.startsWith("<x>", k)) {
      re += x === undefined ? "([^/]+)" : x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      hasX = x === undefined;
      k += 3;
    } else {
      re += pattern[k]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      k++;
    }
  }
  const m = new RegExp(re + "$").exec(path);
  if (!m) return undefined;
  return hasX ? m[1]! : (x ?? "");
}

export interface Violation {
  rule: string;
  why: string;
  from: string;
  to: string;
  kind: ImportKind;
}

export interface Checked {
  violations: Violation[];
  /** Known exceptions that were hit (to print). */
  tolerated: (KnownException & { rule: string })[];
  /** Known exceptions that no longer occur (to delete from the rule). */
  stale: (KnownException & { rule: string })[];
}

export function checkRules(graph: Graph, rules: Rule[]): Checked {
  const violations: Violation[] = [];
  const tolerated: Checked["tolerated"] = [];
  const hit = new Set<KnownException>();
  for (const rule of rules) {
    for (const edge of graph.edges) {
      const x = match(rule.files, edge.from);
      if (x === undefined) continue;
      let bad = false;
      if (edge.to !== undefined) {
        const exempt = rule.allow?.some((p) => match(p, edge.to!, x) !== undefined) ?? false;
        if (rule.allowOnly && !rule.allowOnly.some((p) => match(p, edge.to!, x) !== undefined)) {
          bad = true;
        }
        if (!exempt && rule.forbid?.some((p) => match(p, edge.to!, x) !== undefined)) bad = true;
      } else if (rule.forbidBare?.some((p) => match(p, edge.spec) !== undefined)) {
        bad = true;
      }
      if (!bad) continue;
      const known = rule.known?.find((k) =>
        match(k.from, edge.from) !== undefined && match(k.to, edge.to ?? edge.spec) !== undefined
      );
      if (known) {
        hit.add(known);
        tolerated.push({ ...known, from: edge.from, to: edge.to ?? edge.spec, rule: rule.id });
        continue;
      }
      violations.push({
        rule: rule.id,
        why: rule.why,
        from: edge.from,
        to: edge.to ?? edge.spec,
        kind: edge.kind,
      });
    }
  }
  const stale = rules.flatMap((r) =>
    (r.known ?? []).filter((k) => !hit.has(k)).map((k) => ({ ...k, rule: r.id }))
  );
  return { violations, tolerated, stale };
}

/** Strongly connected components (size > 1, or a file importing itself) among `scope` files. */
export function findCycles(graph: Graph, scope: string): string[][] {
  const adj = new Map<string, string[]>();
  for (const f of graph.files.keys()) if (match(scope, f) !== undefined) adj.set(f, []);
  for (const e of graph.edges) {
    if (e.kind === "url" || e.to === undefined) continue;
    if (adj.has(e.from) && adj.has(e.to)) adj.get(e.from)!.push(e.to);
  }
  // Tarjan, iterative.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const sccs: string[][] = [];
  for (const root of adj.keys()) {
    if (index.has(root)) continue;
    const work: [string, number][] = [[root, 0]];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const [v, i] = top;
      const next = adj.get(v)!;
      if (i < next.length) {
        top[1]++;
        const w = next[i]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v)!, index.get(w)!));
        }
      } else {
        work.pop();
        if (work.length > 0) {
          const parent = work[work.length - 1]![0];
          low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
        }
        if (low.get(v) === index.get(v)) {
          const scc: string[] = [];
          let w: string;
          do {
            w = stack.pop()!;
            onStack.delete(w);
            scc.push(w);
          } while (w !== v);
          if (scc.length > 1 || adj.get(v)!.includes(v)) sccs.push(scc.sort());
        }
      }
    }
  }
  return sccs;
}

/** Files under tests/ whose raw text contains one of the forbidden strings. */
export function findSharedReads(files: Map<string, string>): Violation[] {
  const out: Violation[] = [];
  for (const [path, src] of files) {
    if (!path.startsWith("tests/")) continue;
    for (const s of SHARED_STRINGS) {
      if (src.includes(s)) {
        out.push({ rule: "tests-no-shared", why: SHARED_WHY, from: path, to: s, kind: "url" });
      }
    }
  }
  return out;
}

function report(violations: Violation[]): string {
  return violations.map((v) =>
    `  ${v.from} → ${v.to}${v.kind === "type" ? " (type-only)" : ""}  [${v.rule}: ${v.why}]`
  ).join("\n");
}

// ---------------------------------------------------------------------------------------------
// The repository
// ---------------------------------------------------------------------------------------------

const ROOT = new URL("../../", import.meta.url);

async function walk(dir: URL, prefix: string, into: Map<string, string>): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) {
      if (!SKIP_DIRS.has(entry.name)) await walk(new URL(entry.name + "/", dir), rel + "/", into);
    } else if (entry.isFile && entry.name.endsWith(".ts")) {
      into.set(rel, await Deno.readTextFile(new URL(entry.name, dir)));
    }
  }
}

let repo: Promise<Graph> | undefined;
function repository(): Promise<Graph> {
  repo ??= (async () => {
    const files = new Map<string, string>();
    await walk(ROOT, "", files);
    return buildGraph(files);
  })();
  return repo;
}

// ---------------------------------------------------------------------------------------------
// Self-tests: the checker must see what it claims to see
// ---------------------------------------------------------------------------------------------

Deno.test("architecture: extractor finds every import form and ignores comments and strings", () => {
  const src = [
    `import a from "./a.ts";`,
    `import {`,
    `  b,`,
    `  type C,`,
    `} from '../b.ts';`,
    `import type { D } from "./d.ts";`,
    `import * as e from "./e.ts";`,
    `import "./side.ts";`,
    `export { f } from "./f.ts";`,
    `export * from "./g.ts";`,
    `export type { H } from "./h.ts";`,
    `import wasm from "../../build/wasm/x.wasm" with { type: "bytes" };`,
    `const m = await import("mqtt");`,
    `type T = typeof import("nats").default;`,
    `const u = new URL("../fixtures/", import.meta.url);`,
    `// import nope1 from "./comment.ts";`,
    `/* import nope2 from "./block.ts"; */`,
    `/**`,
    ` * import nope3 from "./jsdoc.ts"; and import("./jsdoc2.ts")`,
    ` */`,
    `const s = 'import nope4 from "./string.ts"';`,
    `const t = \`import("./template.ts") \${"x"} import y from "./t2.ts"\`;`,
    `const r = /"import z from '\\.\\/regex.ts'"/;`,
    `const v = import.meta.url; const w = new URL("./not-meta.ts", base);`,
    `const dyn = await import(\`./dyn/\${name}.ts\`); const half = total / 2;`,
    `import last from "./last.ts";`,
  ].join("\n");
  assert.deepEqual(extractSpecifiers(src), [
    { spec: "./a.ts", kind: "static" },
    { spec: "../b.ts", kind: "static" },
    { spec: "./d.ts", kind: "type" },
    { spec: "./e.ts", kind: "static" },
    { spec: "./side.ts", kind: "side-effect" },
    { spec: "./f.ts", kind: "static" },
    { spec: "./g.ts", kind: "static" },
    { spec: "./h.ts", kind: "type" },
    { spec: "../../build/wasm/x.wasm", kind: "static" },
    { spec: "mqtt", kind: "dynamic" },
    { spec: "nats", kind: "dynamic" },
    { spec: "../fixtures/", kind: "url" },
    { spec: "./last.ts", kind: "static" },
  ]);
});

Deno.test("architecture: resolver maps relative specifiers to repository paths", () => {
  assert.equal(
    resolveSpecifier("engine/sources/file/a.ts", "../../core/types.ts"),
    "engine/core/types.ts",
  );
  assert.equal(resolveSpecifier("routes/app.ts", "./common.ts"), "routes/common.ts");
  assert.equal(resolveSpecifier("tests/unit/x.ts", "../.."), ".");
  assert.equal(resolveSpecifier("tests/unit/x.ts", SHARED_FILE), SHARED_FILE.slice(6));
  assert.equal(resolveSpecifier("routes/app.ts", "hono/etag"), undefined);
});

Deno.test("architecture: checker catches synthetic violations (it cannot pass vacuously)", () => {
  const files = new Map<string, string>([
    ["engine/core/types.ts", `import { x } from "../detect/analyzer.ts";`],
    ["engine/detect/analyzer.ts", `import { y } from "../sinks/history/history_store.ts";`],
    ["engine/sinks/history/history_store.ts", `import { z } from "../webhook/webhook_sink.ts";`],
    ["engine/sinks/webhook/webhook_sink.ts", `import { ok } from "../_delivery/spool.ts";`],
    ["engine/sinks/_delivery/spool.ts", `import { ok } from "../sink.ts";`],
    ["engine/sources/mqtt/mqtt_source.ts", `import { p } from "../../pipeline/run.ts";`],
    ["engine/sources/serial/serial_source.ts", `import { q } from "./serial_port.ts";`],
    ["engine/pipeline/run.ts", `import { Hono } from "hono"; import "../../cli/x.ts";`],
    ["engine/kernels/k.ts", `import b from "../../build/wasm/k.wasm" with { type: "bytes" };`],
    [
      "routes/app.ts",
      `import { a } from "../engine/mod.ts"; import { b } from "../engine/core/types.ts";`,
    ],
    ["simulator/s.ts", `import type { V } from "../engine/kernels/vibration/vibration_types.ts";`],
    ["tests/unit/t.ts", `const d = new URL("${SHARED_FILE}", import.meta.url);`],
    ["engine/a.ts", `import "./b.ts";`],
    ["engine/b.ts", `export * from "./a.ts";`],
  ]);
  const graph = buildGraph(files);
  const { violations } = checkRules(graph, RULES);
  const got = violations.map((v) => `${v.rule}: ${v.from} → ${v.to}`).sort();
  assert.deepEqual(got, [
    "core-is-the-bottom: engine/core/types.ts → engine/detect/analyzer.ts",
    "detect-below-pipeline: engine/detect/analyzer.ts → engine/sinks/history/history_store.ts",
    "engine-is-a-library: engine/pipeline/run.ts → cli/x.ts",
    "engine-without-hono: engine/pipeline/run.ts → hono",
    "routes-use-public-surface: routes/app.ts → engine/core/types.ts",
    "simulator-sees-core-only: simulator/s.ts → engine/kernels/vibration/vibration_types.ts",
    "sinks-are-plugins: engine/sinks/history/history_store.ts → engine/sinks/webhook/webhook_sink.ts",
    "sources-are-plugins: engine/sources/mqtt/mqtt_source.ts → engine/pipeline/run.ts",
    `tests-are-self-contained: tests/unit/t.ts → ${SHARED_FILE.slice(6)}`,
  ]);
  assert.deepEqual(findCycles(graph, ACYCLIC), [["engine/a.ts", "engine/b.ts"]]);
  assert.equal(findSharedReads(files).length, 2); // both strings are in that one file
  // A known exception silences its edge, and an unused one is reported as stale.
  const withKnown = RULES.map((r) =>
    r.id === "sources-are-plugins"
      ? {
        ...r,
        known: [
          { from: "engine/sources/mqtt/**", to: "engine/pipeline/**", why: "test" },
          { from: "engine/sources/nats/**", to: "engine/pipeline/**", why: "test" },
        ],
      }
      : r
  );
  const checked = checkRules(graph, withKnown);
  assert.equal(checked.violations.length, violations.length - 1);
  assert.deepEqual(checked.tolerated.map((t) => t.from), ["engine/sources/mqtt/mqtt_source.ts"]);
  assert.deepEqual(checked.stale.map((t) => t.from), ["engine/sources/nats/**"]);
});

// ---------------------------------------------------------------------------------------------
// The repository as it is
// ---------------------------------------------------------------------------------------------

Deno.test("architecture: the walk sees a plausible repository", async () => {
  const graph = await repository();
  const internal = graph.edges.filter((e) => e.to !== undefined);
  assert.ok(graph.files.size >= 80, `only ${graph.files.size} .ts files found`);
  assert.ok(internal.length >= 250, `only ${internal.length} relative imports found`);
  assert.ok(graph.files.has("engine/mod.ts") && graph.files.has("main.ts"));
  assert.ok(![...graph.files.keys()].some((f) => f.startsWith("build/") || f.startsWith("data/")));
  // Every rule constrains at least one file that has imports, so none is vacuous.
  for (const rule of RULES) {
    const n = graph.edges.filter((e) => match(rule.files, e.from) !== undefined).length;
    assert.ok(n > 0, `rule ${rule.id} (${rule.files}) matches no import`);
  }
});

for (const rule of RULES) {
  Deno.test(`architecture: ${rule.id}`, async () => {
    const { violations, tolerated, stale } = checkRules(await repository(), [rule]);
    for (const t of tolerated) {
      console.log(`known exception to remove [${t.rule}]: ${t.from} → ${t.to} (${t.why})`);
    }
    assert.equal(
      stale.length,
      0,
      `known exceptions no longer needed, delete them from ${rule.id}:\n` +
        stale.map((s) => `  ${s.from} → ${s.to}`).join("\n"),
    );
    assert.equal(violations.length, 0, `${rule.id}: ${rule.why}\n${report(violations)}`);
  });
}

Deno.test("architecture: no import cycles between engine files", async () => {
  const sccs = findCycles(await repository(), ACYCLIC);
  assert.equal(
    sccs.length,
    0,
    `${ACYCLIC_WHY}\n` + sccs.map((c) => `  cycle: ${c.join(" ⇄ ")}`).join("\n"),
  );
});

/**
 * What a replay loads (cli/main.ts, then cli/options.ts and cli/replay.ts, through
 * engine/run_mod.ts) must not include these: each is a measured part of its peak RSS
 * (docs/architecture.md; BENCHMARKS.md, "Replay peak RSS, third pass"). zod is imported with a
 * config file, checkpoint or model file, node:process with mqtt.js.
 */
const REPLAY_ENTRIES = ["cli/main.ts", "cli/options.ts", "cli/replay.ts"];
const REPLAY_NEVER = ["zod", "node:sqlite", "node:process", "engine/mod.ts", "hono"];

/** Every file and bare specifier evaluated with `entry`: static and side-effect imports, not
 * type-only or dynamic ones (those load later, if at all). */
export function loadedWith(graph: Graph, entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const todo = [entry];
  while (todo.length > 0) {
    const from = todo.pop()!;
    for (const e of graph.edges) {
      if (e.from !== from || (e.kind !== "static" && e.kind !== "side-effect")) continue;
      const to = e.to ?? e.spec;
      if (seen.has(to)) continue;
      seen.add(to);
      if (e.to !== undefined) todo.push(e.to);
    }
  }
  return seen;
}

Deno.test("architecture: a replay loads neither zod, SQLite, node:process, Hono nor engine/mod.ts", async () => {
  const graph = await repository();
  // The walk finds them where they are, so the check below is not vacuous.
  const all = loadedWith(graph, "engine/mod.ts");
  for (const name of ["zod", "node:sqlite"]) assert.ok(all.has(name), `engine/mod.ts: ${name}`);
  for (const entry of REPLAY_ENTRIES) {
    const loaded = loadedWith(graph, entry);
    // cli/main.ts imports the command's module (and so run_mod.ts) only when the command runs.
    if (entry !== "cli/main.ts") assert.ok(loaded.has("engine/run_mod.ts"), entry);
    const found = REPLAY_NEVER.filter((name) => loaded.has(name));
    assert.deepEqual(found, [], `${entry} loads ${found.join(", ")}`);
  }
});

Deno.test("architecture: cli/main.ts loads no engine entry before the command's own module", async () => {
  // train, score, emulate and --help would otherwise evaluate the whole replay engine first
  // (BENCHMARKS.md, "A cheaper start"); start and replay import cli/options.ts when they run.
  const graph = await repository();
  assert.ok(loadedWith(graph, "cli/options.ts").has("engine/run_mod.ts"), "cli/options.ts");
  const loaded = loadedWith(graph, "cli/main.ts");
  const found = ["engine/run_mod.ts", "engine/live_mod.ts", "engine/mod.ts", "cli/options.ts"]
    .filter((name) => loaded.has(name));
  assert.deepEqual(found, [], `cli/main.ts loads ${found.join(", ")}`);
});

/**
 * What `start` loads (cli/start.ts, the HTTP API, through engine/live_mod.ts) must not include
 * these: zod is about 2.7 MiB of the live heap (BENCHMARKS.md, "Live peak RSS under the MQTT
 * flood"); it is imported with a config file, checkpoint or model file only.
 */
const START_NEVER = ["zod", "engine/mod.ts"];

Deno.test("architecture: start loads neither zod nor engine/mod.ts", async () => {
  const graph = await repository();
  for (const entry of ["cli/main.ts", "cli/start.ts", "routes/mod.ts"]) {
    const loaded = loadedWith(graph, entry);
    const found = START_NEVER.filter((name) => loaded.has(name));
    assert.deepEqual(found, [], `${entry} loads ${found.join(", ")}`);
  }
  assert.ok(loadedWith(graph, "cli/start.ts").has("engine/live_mod.ts"));
});

Deno.test("architecture: tests do not read the shared checkout", async () => {
  const violations = findSharedReads((await repository()).files);
  assert.equal(violations.length, 0, report(violations));
});
