/**
 * `deno task compile`: `deno compile` of main.ts into `dist/vigil`, with the permissions of
 * `deno task start` built in. `deno compile` downloads the Deno runtime the binary is made of
 * (`denort`, from dl.deno.land) on first use; offline, that fails with a stack of five causes.
 * This says it in one line instead: what it needs to download, from where, and how to do
 * without (`DENORT_BIN`), and exits 1.
 *
 *   deno run --allow-run tools/compile.ts [--output PATH]
 * @module
 */

/** The permissions the binary runs with: those of `deno task start`. */
export const COMPILE_PERMISSIONS = [
  "--allow-net=127.0.0.1,localhost",
  "--allow-read=.",
  "--allow-write=./data",
  "--allow-env=VIGIL_TOKEN,VIGIL_INFLUX_TOKEN",
];

/** The V8 flags of `deno task start`, built in (the binary is the live engine first): a full
 * collection once the old generation has grown by half, not at 4–5 × the live set, and a young
 * generation of at most 2 × 2 MiB (BENCHMARKS.md "Memory": live under an MQTT flood, 118–123 MiB
 * peak against 129–136 with growth at 100 %, at the same CPU; the `replay` task keeps 4 MiB
 * semi-spaces, as 2 cost a replay about 17 % more CPU, which the binary's replay pays); hot
 * functions optimized on the main thread, not a background one whose C-allocator arena keeps
 * the compiler's freed working memory (BENCHMARKS.md, seventh stop: 7–16 MiB of a live peak, 3
 * with the flag; the binary's replay about 10 % longer in wall time, at the same CPU). The
 * `start` task's `MALLOC_ARENA_MAX=2` is the process's environment, which a binary cannot set for
 * itself; what it saves is a first start's transpiling threads, which a binary does not run
 * (docs/cli.md). */
export const COMPILE_V8_FLAGS = [
  "--v8-flags=--heap-growing-percent=50,--max-semi-space-size=2,--no-concurrent-recompilation",
];

/**
 * The one line that explains a failed `deno compile` whose stderr is `stderr`, or null when it
 * is not a failed download (the caller then shows deno's own output).
 *
 * @example
 * ```ts
 * downloadFailure(
 *   "error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect)",
 *   "2.9.6",
 * ); // "compile: needs to download the Deno runtime … https://dl.deno.land/…"
 * ```
 */
export function downloadFailure(stderr: string, version: string): string | null {
  const m = /error sending request for url \((\S+?)\)(?::\s*(.*))?/.exec(stderr);
  if (!m) return null;
  const url = m[1]!;
  // The innermost cause is the useful one ("dns error: failed to lookup …").
  const chain = stderr.split("Stack backtrace:")[0]!;
  const causes = [...chain.matchAll(/^\s*\d+: (.+)$/gm)].map((c) => c[1]!);
  const why = causes.at(-1) ?? m[2] ?? "no answer";
  const what = /denort/.test(url) ? "the Deno runtime the binary is built from (denort)" : url;
  return `compile: needs to download ${what} from ${url} and cannot (${why}): ` +
    `run it once with access to ${new URL(url).host} (the download is cached), ` +
    `or set DENORT_BIN to a denort ${version} binary`;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--output");
  const output = at >= 0 ? Deno.args[at + 1] ?? "dist/vigil" : "dist/vigil";
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...COMPILE_PERMISSIONS, ...COMPILE_V8_FLAGS, "--output", output, "main.ts"],
    stdout: "inherit",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.success) {
    await Deno.stderr.write(out.stderr);
    Deno.exit(0);
  }
  const line = downloadFailure(stderr, Deno.version.deno);
  if (line === null) await Deno.stderr.write(out.stderr);
  else console.error(line);
  Deno.exit(out.code || 1);
}
