/**
 * Compiles each AssemblyScript module to WebAssembly with the AssemblyScript compiler's API,
 * release-optimised. Every top-level `assembly/*.ts` file is one module: `assembly/NAME.ts`
 * becomes `build/wasm/NAME.wasm` (git ignores `build/`); code shared between modules lives in
 * `assembly/lib/`, which is not a module of its own.
 *
 *   deno run --allow-read --allow-write --allow-env --allow-run --allow-sys tools/build_wasm.ts
 *
 * `--runtime stub` because the kernel allocates once (in `configure`) and never frees, so it
 * needs neither a garbage collector nor the runtime's exports; `env.abort` stays imported so a
 * bad argument surfaces as a JS `Error` (engine/kernels/rolling/kernel_wasm.ts decodes its message). No
 * `--noAssert`: the kernel's argument checks are `assert`s (outside the per-reading loop). Exits
 * non-zero with the compiler's diagnostics on failure.
 * @module
 */
import asc from "npm:assemblyscript@0.28.20/asc";
import { fileURLToPath as fromFileUrl } from "node:url";

const root = fromFileUrl(new URL("../", import.meta.url));
const assemblyDir = fromFileUrl(new URL("../assembly/", import.meta.url));
const outDir = fromFileUrl(new URL("../build/wasm/", import.meta.url));

/** The `.wasm` file a top-level module of `assembly/` compiles to. */
export function outputOf(entry: string): string {
  return outDir + entry.replace(/\.ts$/, "") + ".wasm";
}

/** The compiler's options after input and output: exported for the record. */
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
  "--baseDir",
  root,
];

/** Compiles one module; false (diagnostics printed) when it does not compile. */
async function build(entry: string): Promise<boolean> {
  const output = outputOf(entry);
  let diagnostics = "";
  const sink = asc.createMemoryStream((chunk) => {
    diagnostics += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  });
  const { error, stderr } = await asc.main(
    [assemblyDir + entry, "--outFile", output, ...ASC_ARGS],
    {
      stdout: sink,
      stderr: sink,
    },
  );
  if (error) {
    console.error(diagnostics || stderr.toString());
    console.error(`build_wasm: assembly/${entry}: ${error.message}`);
    return false;
  }
  if (diagnostics.trim()) console.error(diagnostics.trimEnd()); // warnings
  const size = (await Deno.stat(output)).size;
  console.log(`build_wasm: wrote ${output} (${size} bytes)`);
  return true;
}

if (import.meta.main) {
  const entries: string[] = [];
  for await (const e of Deno.readDir(assemblyDir)) {
    if (e.isFile && e.name.endsWith(".ts")) entries.push(e.name);
  }
  entries.sort();
  await Deno.mkdir(outDir, { recursive: true });
  let ok = true;
  // One after another: each module's diagnostics stay together, and 2 cores are not oversubscribed.
  for (const entry of entries) ok = (await build(entry)) && ok;
  if (!ok) Deno.exit(1);
}
