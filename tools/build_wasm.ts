/**
 * Compiles each AssemblyScript module to WebAssembly with the AssemblyScript compiler's API,
 * release-optimised, and only when its inputs changed. Every top-level `assembly/*.ts` file is one
 * module: `assembly/NAME.ts` becomes `build/wasm/NAME.wasm` (git ignores `build/`); code shared
 * between modules lives in `assembly/lib/`, which is not a module of its own.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-run --allow-sys tools/build_wasm.ts \
 *     [--root DIR] [--force]
 *
 * Every `deno task` runs this first, so the up-to-date case must cost next to nothing: beside each
 * output sits `NAME.wasm.stamp`, a SHA-256 over the module's source, every file under
 * `assembly/lib/`, the compiler's version and {@link ASC_ARGS}, plus a SHA-256 of the `.wasm` it
 * produced. When both still match, the module is not compiled, and when no module needs compiling
 * the compiler (a 3–6 s import) is never loaded: it is a dynamic import. Content hashes rather than
 * mtimes, so a checkout, `touch` or branch switch that leaves the bytes alone rebuilds nothing, and
 * an edited or replaced `.wasm` is noticed. A module importing another top-level module is not
 * tracked: modules share code only through `assembly/lib/`.
 *
 * Everything goes to stderr, never stdout (`deno task score … > out.csv` must hold only scores);
 * the no-op path prints nothing. `--root DIR` builds `DIR/assembly/` into `DIR/build/wasm/` (the
 * tests use a temporary copy); `--force` ignores the stamps.
 *
 * `--runtime stub` because the kernel allocates once (in `configure`) and never frees, so it
 * needs neither a garbage collector nor the runtime's exports; `env.abort` stays imported so a
 * bad argument surfaces as a JS `Error` (engine/kernels/rolling/kernel_wasm.ts decodes its message). No
 * `--noAssert`: the kernel's argument checks are `assert`s (outside the per-reading loop). Exits 1
 * with the compiler's diagnostics on failure, leaving no stamp for the failed module (the next run
 * compiles it again), and 2 on a bad flag.
 * @module
 */

/**
 * The platform's path separator. The up-to-date path joins paths by hand and imports no `node:`
 * module: the first one loads Deno's Node layer, about 20 ms and 4 MiB of every `deno task`'s
 * start, which runs this first (BENCHMARKS.md, "A cheaper start"). `node:path` and `node:util`
 * come in when a module is compiled or flags are given.
 */
const SEP = Deno.build.os === "windows" ? "\\" : "/";

/** `parts` joined by the separator (they are names or already-built paths, never absolute). */
function joinPath(...parts: string[]): string {
  return parts.join(SEP);
}

/**
 * The compiler's version: part of every stamp, and checked against the loaded compiler so that the
 * pinned import in {@link loadCompiler} and this constant cannot drift apart.
 */
export const ASC_VERSION = "0.28.20";

/**
 * The compiler's options after input and output (and `--baseDir`, the root, so that file names in
 * abort messages are relative and the same wherever the checkout lives): part of every stamp.
 */
export const ASC_ARGS: readonly string[] = [
  "--optimizeLevel",
  "3",
  "--shrinkLevel",
  "0",
  "--converge",
  "--runtime",
  "stub",
  "--enable",
  "simd", // branch-free f64 max/min (f64x2.pmax/pmin on one lane); every Deno 2 has it
];

/** Bumped when the stamp's layout or what it covers changes, so old stamps stop matching. */
const STAMP_FORMAT = "vigil-wasm-stamp 1";

/** Where a build reads and writes: `ROOT/assembly/` into `ROOT/build/wasm/`. */
interface Layout {
  root: string;
  assemblyDir: string;
  libDir: string;
  outDir: string;
}

function layoutOf(root: string): Layout {
  return {
    root,
    assemblyDir: joinPath(root, "assembly"),
    libDir: joinPath(root, "assembly", "lib"),
    outDir: joinPath(root, "build", "wasm"),
  };
}

/**
 * The `.wasm` file a top-level module of `assembly/` compiles to (in this checkout, or under
 * `root`).
 *
 * @example
 * ```ts
 * outputOf("rolling.ts"); // ".../build/wasm/rolling.wasm"
 * ```
 */
export function outputOf(entry: string, root: string = defaultRoot()): string {
  return joinPath(layoutOf(root).outDir, entry.replace(/\.ts$/, "") + ".wasm");
}

/** The checkout this file is in: the parent of `tools/`. */
function defaultRoot(): string {
  const tools = import.meta.dirname!; // a local file's module has one
  return tools.slice(0, tools.lastIndexOf(SEP));
}

type Asc = typeof import("npm:assemblyscript@0.28.20/asc").default;
let compiler: Promise<Asc> | undefined;

/** The compiler, imported on first use only: the import alone takes seconds. */
function loadCompiler(): Promise<Asc> {
  compiler ??= import("npm:assemblyscript@0.28.20/asc").then(({ default: asc }) => {
    if (asc.version !== ASC_VERSION) {
      throw new Error(`build_wasm: loaded assemblyscript ${asc.version}, expected ${ASC_VERSION}`);
    }
    return asc;
  });
  return compiler;
}

async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const encoder = new TextEncoder();

/** Length-prefixed parts, so that no two different lists of parts hash the same. */
function framed(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const p of parts) size += 8 + p.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setBigUint64(at, BigInt(p.length));
    out.set(p, at + 8);
    at += 8 + p.length;
  }
  return out;
}

/** Every file under `dir`, named `prefix` + its path under `dir`, sorted; none when `dir` does not
 * exist. */
async function filesUnder(dir: string, prefix: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const name = prefix + e.name;
      if (e.isDirectory) found.push(...await filesUnder(joinPath(dir, e.name), name + SEP));
      else if (e.isFile) found.push(name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found.sort();
}

/** Names and contents of `files` (relative to `base`), framed. */
async function contentParts(base: string, files: readonly string[]): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for (const f of files) parts.push(encoder.encode(f), await Deno.readFile(joinPath(base, f)));
  return parts;
}

/** The stamp file's text: the inputs' hash and the output's. */
function stampText(inputs: string, wasm: string): string {
  return `${STAMP_FORMAT}\ninputs ${inputs}\nwasm ${wasm}\n`;
}

async function readOrUndefined(path: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** True when `output` exists and its stamp records these inputs and these very bytes. */
async function upToDate(output: string, inputs: string): Promise<boolean> {
  const stamp = await readOrUndefined(output + ".stamp");
  if (stamp === undefined) return false;
  const wasm = await readOrUndefined(output);
  if (wasm === undefined) return false;
  return new TextDecoder().decode(stamp) === stampText(inputs, await sha256Hex(wasm));
}

/** Writes `data` to a temporary name beside `path`, then renames: readers never see half a file. */
async function writeAtomically(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeFile(tmp, data);
  await Deno.rename(tmp, path);
}

async function removeIfThere(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Compiles one module and stamps it; false (diagnostics printed) when it does not compile. */
async function build(layout: Layout, entry: string, inputs: string): Promise<boolean> {
  const { relative, resolve } = await import("node:path");
  const output = outputOf(entry, layout.root);
  // Gone before compiling: a failure or a crash midway leaves nothing claiming to be current.
  await removeIfThere(output + ".stamp");
  const asc = await loadCompiler();
  const started = performance.now();
  let diagnostics = "";
  const sink = asc.createMemoryStream((chunk) => {
    diagnostics += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  });
  let wasm: Uint8Array | undefined;
  const { error, stderr } = await asc.main(
    [
      joinPath(layout.assemblyDir, entry),
      "--outFile",
      output,
      ...ASC_ARGS,
      "--baseDir",
      layout.root,
    ],
    {
      stdout: sink,
      stderr: sink,
      // Kept in memory and written by us, atomically (a concurrent task may be loading it).
      writeFile: (name, contents, baseDir) => {
        if (resolve(baseDir, name) !== resolve(output)) {
          throw new Error(`build_wasm: unexpected compiler output ${name} (wanted ${output})`);
        }
        wasm = typeof contents === "string" ? encoder.encode(contents) : contents;
      },
    },
  );
  if (error || wasm === undefined) {
    console.error((diagnostics || stderr.toString()).trimEnd());
    console.error(
      `build_wasm: assembly/${entry}: ${error?.message ?? "the compiler wrote no output"}`,
    );
    return false;
  }
  if (diagnostics.trim()) console.error(diagnostics.trimEnd()); // warnings
  const bytes = new Uint8Array(wasm);
  await writeAtomically(output, bytes);
  await writeAtomically(
    output + ".stamp",
    encoder.encode(stampText(inputs, await sha256Hex(bytes))),
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(
    `build_wasm: compiled assembly/${entry} → ${relative(layout.root, output)} ` +
      `(${bytes.length} bytes, ${seconds} s)`,
  );
  return true;
}

/**
 * `--root DIR` (or `--root=DIR`) and `--force`, split by node:util's parseArgs (imported only when
 * there are arguments: the tasks give none); a bad flag exits 2 with one line naming it.
 * `strict: false` and a check of its tokens, so that the one line names the argument as written
 * (`--root` last, `--force=1`, a positional, `--`) in this tool's words.
 */
async function parseFlags(args: readonly string[]): Promise<{ root: string; force: boolean }> {
  let root = defaultRoot();
  let force = false;
  if (args.length === 0) return { root, force };
  const { parseArgs } = await import("node:util");
  const { tokens } = parseArgs({
    args: [...args],
    options: { root: { type: "string" }, force: { type: "boolean" } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind === "option" && t.name === "root" && t.value !== undefined) root = t.value;
    else if (t.kind === "option" && t.name === "force" && !t.inlineValue) force = true;
    else {
      console.error(
        `build_wasm: unknown or incomplete argument ${JSON.stringify(args[t.index])} ` +
          `(accepted: --root DIR, --force)`,
      );
      Deno.exit(2);
    }
  }
  return { root, force };
}

async function main(args: readonly string[]): Promise<number> {
  const { root, force } = await parseFlags(args);
  const layout = layoutOf(root);
  const entries: string[] = [];
  try {
    for await (const e of Deno.readDir(layout.assemblyDir)) {
      if (e.isFile && e.name.endsWith(".ts")) entries.push(e.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    console.error(`build_wasm: no assembly/ directory under --root ${root}`);
    return 2;
  }
  entries.sort();
  const common = [
    encoder.encode(STAMP_FORMAT),
    encoder.encode(`assemblyscript ${ASC_VERSION}`),
    encoder.encode(ASC_ARGS.join("\0")),
    ...await contentParts(layout.assemblyDir, await filesUnder(layout.libDir, "lib" + SEP)),
  ];
  await Deno.mkdir(layout.outDir, { recursive: true });
  let ok = true;
  // One after another: each module's diagnostics stay together, and 2 cores are not oversubscribed.
  for (const entry of entries) {
    const inputs = await sha256Hex(
      framed([...common, ...await contentParts(layout.assemblyDir, [entry])]),
    );
    if (!force && await upToDate(outputOf(entry, root), inputs)) continue;
    ok = (await build(layout, entry, inputs)) && ok;
  }
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
