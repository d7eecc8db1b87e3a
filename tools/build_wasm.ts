/**
 * Compiles the AssemblyScript kernel (`assembly/index.ts`) to `engine/kernel.wasm` with the
 * AssemblyScript compiler's API, release-optimised:
 *
 *   deno run --allow-read --allow-write --allow-env --allow-run --allow-sys tools/build_wasm.ts
 *
 * `--runtime stub` because the kernel allocates once (in `configure`) and never frees, so it
 * needs neither a garbage collector nor the runtime's exports; `env.abort` stays imported so a
 * bad argument surfaces as a JS `Error` (engine/kernel_wasm.ts decodes its message). No
 * `--noAssert`: the kernel's argument checks are `assert`s (outside the per-reading loop). Exits
 * non-zero with the compiler's diagnostics on failure.
 * @module
 */
import asc from "npm:assemblyscript@0.28.20/asc";
import { fileURLToPath as fromFileUrl } from "node:url";

const root = fromFileUrl(new URL("../", import.meta.url));
const input = fromFileUrl(new URL("../assembly/index.ts", import.meta.url));
const output = fromFileUrl(new URL("../engine/kernel.wasm", import.meta.url));

/** The compiler's command line: exported for the record, the build runs it below. */
export const ASC_ARGS: readonly string[] = [
  input,
  "--outFile",
  output,
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

if (import.meta.main) {
  let diagnostics = "";
  const sink = asc.createMemoryStream((chunk) => {
    diagnostics += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  });
  const { error, stderr } = await asc.main([...ASC_ARGS], {
    stdout: sink,
    stderr: sink,
  });
  if (error) {
    console.error(diagnostics || stderr.toString());
    console.error(`build_wasm: ${error.message}`);
    Deno.exit(1);
  }
  if (diagnostics.trim()) console.error(diagnostics.trimEnd()); // warnings
  const size = (await Deno.stat(output)).size;
  console.log(`build_wasm: wrote ${output} (${size} bytes)`);
}
