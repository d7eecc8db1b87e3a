/**
 * Where Vigil's memory goes (BENCHMARKS.md "Memory"): peak and idle RSS of `replay` and of an
 * idle `start`, with the WebAssembly memories and the JS heap that make them up.
 *
 *   deno run -A bench/memory_bench.ts replay FILE            # one replay, in a child process
 *   deno run -A bench/memory_bench.ts start [START FLAGS…]   # `start`, idle for 8 s
 *
 * The tasks run with `--v8-flags=--heap-growing-percent=100` (deno.json); to measure as they
 * run, set `DENO_V8_FLAGS=--heap-growing-percent=100` (the child inherits it).
 *
 * Each case runs in a child process (`--inside`) that calls `main` of main.ts with a sampler
 * beside it: every 20 ms it reads `Deno.memoryUsage()` and VmRSS; each WebAssembly instance's
 * memory is found by wrapping `WebAssembly.Instance` before the engine is imported and named by
 * its exports. The child prints one JSON line after `MEMORY ` on stderr: VmHWM and the last
 * VmRSS (MiB), the peaks of heapUsed / heapTotal / external, each module's memory in MiB, and
 * the CPU seconds of the process (/proc/self/stat). A replay reports when it returns; `start`
 * after 8 s and then exits.
 * @module
 */

const MiB = 1024 * 1024;

/** VmRSS and VmHWM of this process, MiB. */
function procStatus(): { rss: number; hwm: number } {
  const s = Deno.readTextFileSync("/proc/self/status");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** utime + stime of this process, seconds (clock ticks of 1/100 s). */
function cpuSeconds(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The kernel a module is, from its exports. */
function moduleName(module: WebAssembly.Module): string {
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  if (names.has("setLimits")) return "rolling";
  if (names.has("prepare")) return "iforest";
  if (names.has("setBands")) return "vibration";
  if (names.has("resetStream")) return "adaptive";
  return "other";
}

async function inside(args: string[]): Promise<void> {
  const memories: { name: string; memory: WebAssembly.Memory; peak: number }[] = [];
  const Original = WebAssembly.Instance;
  const Wrapped = function (module: WebAssembly.Module, imports?: WebAssembly.Imports) {
    const instance = new Original(module, imports);
    const memory = instance.exports.memory;
    if (memory instanceof WebAssembly.Memory) {
      memories.push({ name: moduleName(module), memory, peak: memory.buffer.byteLength });
    }
    return instance;
  } as unknown as typeof WebAssembly.Instance;
  Wrapped.prototype = Original.prototype;
  WebAssembly.Instance = Wrapped;
  const peak = { heapUsed: 0, heapTotal: 0, external: 0 };
  const sample = () => {
    const m = Deno.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.external = Math.max(peak.external, m.external);
    for (const w of memories) w.peak = Math.max(w.peak, w.memory.buffer.byteLength);
  };
  const timer = setInterval(sample, 20);
  const report = () => {
    sample();
    clearInterval(timer);
    const { rss, hwm } = procStatus();
    const round = (x: number) => Math.round(x * 10) / 10;
    console.error(
      "MEMORY " + JSON.stringify({
        // The case as given: without the --data-dir and --port the parent added at the end.
        case: args.slice(0, args.lastIndexOf("--data-dir")).join(" "),
        vmHWM: round(hwm),
        vmRSS: round(rss),
        heapUsedPeak: round(peak.heapUsed / MiB),
        heapTotalPeak: round(peak.heapTotal / MiB),
        externalPeak: round(peak.external / MiB),
        heapUsedNow: round(Deno.memoryUsage().heapUsed / MiB),
        wasm: memories.map((w) => `${w.name} ${round(w.peak / MiB)}`),
        cpuSeconds: cpuSeconds(),
      }),
    );
  };
  const { main } = await import("../main.ts");
  if (args[0] === "start") {
    setTimeout(() => {
      report();
      Deno.exit(0);
    }, 8000);
    await main(args);
  } else {
    const code = await main(args);
    report();
    Deno.exit(code);
  }
}

if (import.meta.main) {
  const [mode, ...rest] = Deno.args;
  if (mode === "--inside") {
    await inside(rest);
  } else if (mode === "replay" || mode === "start") {
    const dir = await Deno.makeTempDir({ prefix: "vigil-memory-" });
    const extra = mode === "replay" ? ["--data-dir", dir] : ["--data-dir", dir, "--port", "0"];
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", import.meta.filename!, "--inside", mode, ...rest, ...extra],
      stdout: "null",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    const line = err.split("\n").find((l) => l.startsWith("MEMORY "));
    console.log(line ? line.slice(7) : `no report (exit ${out.code}):\n${err}`);
    await Deno.remove(dir, { recursive: true });
  } else {
    console.error("usage: memory_bench.ts replay FILE | start [START FLAGS…]");
    Deno.exit(2);
  }
}
