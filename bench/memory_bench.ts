/**
 * Where Vigil's memory goes (BENCHMARKS.md "Memory"): peak and idle RSS of `replay` and of an
 * idle `start`, with the WebAssembly memories and the JS heap that make them up.
 *
 *   deno run -A bench/memory_bench.ts replay FILE            # one replay, in a child process
 *   deno run -A bench/memory_bench.ts start [START FLAGS…]   # `start`, idle for 8 s
 *   deno run -A bench/memory_bench.ts floor                  # Deno alone; with the modules loaded
 *
 * The tasks run with V8 flags of their own (deno.json: `start` and `replay` differ, see
 * docs/cli.md); to measure as they run, set `DENO_V8_FLAGS` to the same (the child inherits it),
 * and for `start` also `MALLOC_ARENA_MAX=2`, which its task sets.
 *
 * Each case runs in a child process (`--inside`) that calls `main` of main.ts with a sampler
 * beside it: every 20 ms it reads `Deno.memoryUsage()` and VmRSS; each WebAssembly instance's
 * memory is found by wrapping `WebAssembly.Instance` before the engine is imported and named by
 * its exports. The child prints one JSON line after `MEMORY ` on stderr: VmHWM and the last
 * VmRSS (MiB), the peaks of heapUsed / heapTotal / external, each module's memory in MiB, the
 * CPU seconds of the process (/proc/self/stat), its anonymous and file-backed resident memory
 * (/proc/self/smaps_rollup: the file-backed part is mostly the `deno` binary's code) and, for
 * `start`, the readings it wrote. A replay reports when it returns; `start` after 8 s
 * (`MEMORY_SECONDS`) and then exits. `MEMORY_TRACE=1` adds a line a second (RSS, heap, external,
 * WASM: a live run's timeline); `MEMORY_SNAPSHOT=FILE` writes a heap snapshot of `start` at its
 * end (through `node:inspector`, no `--inspect` port).
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

/** Anonymous and file-backed resident memory of this process, MiB (`/proc/self/smaps_rollup`). */
function smaps(): { anonymous: number; fileBacked: number } {
  const s = Deno.readTextFileSync("/proc/self/smaps_rollup");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? NaN);
  const round = (x: number) => Math.round(x / 102.4) / 10;
  return { anonymous: round(kb("Anonymous")), fileBacked: round(kb("Rss") - kb("Anonymous")) };
}

/** Lines of `stream_output.jsonl` in the data directory `dir` (0 when there is none). */
function readingsWritten(dir: string | undefined): number {
  try {
    const bytes = Deno.readFileSync(`${dir}/stream_output.jsonl`);
    return bytes.reduce((n, b) => n + (b === 10 ? 1 : 0), 0);
  } catch {
    return 0;
  }
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

/**
 * `MEMORY_SNAPSHOT=FILE`: a heap snapshot of `start` at its end (after the report), through
 * `node:inspector` (no `--inspect` port); open it in Chrome's DevTools or sum it by constructor.
 */
async function heapSnapshot(path: string): Promise<void> {
  const { Session } = await import("node:inspector");
  const session = new Session();
  session.connect();
  const chunks: string[] = [];
  session.on("HeapProfiler.addHeapSnapshotChunk", (m) => chunks.push(m.params.chunk));
  await new Promise<void>((resolve, reject) =>
    session.post("HeapProfiler.takeHeapSnapshot", {}, (e) => e ? reject(e) : resolve())
  );
  session.disconnect();
  await Deno.writeTextFile(path, chunks.join(""));
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
  // `MEMORY_TRACE=1`: one line a second of where the RSS is (the timeline of a live run).
  const started = performance.now();
  const trace = Deno.env.get("MEMORY_TRACE") === "1"
    ? setInterval(() => {
      const m = Deno.memoryUsage();
      const wasm = memories.reduce((sum, w) => sum + w.memory.buffer.byteLength, 0);
      const t = ((performance.now() - started) / 1000).toFixed(0);
      const mib = (x: number) => (x / MiB).toFixed(1);
      console.error(
        `TRACE ${t} s rss ${procStatus().rss.toFixed(1)} heapUsed ${mib(m.heapUsed)} ` +
          `heapTotal ${mib(m.heapTotal)} external ${mib(m.external)} wasm ${mib(wasm)}`,
      );
    }, 1000)
    : undefined;
  const report = () => {
    sample();
    clearInterval(timer);
    clearInterval(trace);
    const { rss, hwm } = procStatus();
    const round = (x: number) => Math.round(x * 10) / 10;
    const dirAt = args.lastIndexOf("--data-dir");
    console.error(
      "MEMORY " + JSON.stringify({
        // The case as given: without the --data-dir and --port the parent added at the end.
        case: (dirAt < 0 ? args : args.slice(0, dirAt)).join(" "),
        vmHWM: round(hwm),
        vmRSS: round(rss),
        heapUsedPeak: round(peak.heapUsed / MiB),
        heapTotalPeak: round(peak.heapTotal / MiB),
        externalPeak: round(peak.external / MiB),
        heapUsedNow: round(Deno.memoryUsage().heapUsed / MiB),
        wasm: memories.map((w) => `${w.name} ${round(w.peak / MiB)}`),
        cpuSeconds: cpuSeconds(),
        ...smaps(),
        // How far a live run got: the readings written (a line each in stream_output.jsonl).
        readings: dirAt < 0 ? 0 : readingsWritten(args[dirAt + 1]),
      }),
    );
  };
  if (args[0] === "floor") {
    // What every case stands on: Deno with nothing loaded, or with the engine's modules
    // imported (and so compiled) but nothing started.
    if (args[1] === "modules") await import("../main.ts");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    report();
    Deno.exit(0);
  }
  const { main } = await import("../main.ts");
  if (args[0] === "start") {
    setTimeout(async () => {
      report();
      const snapshot = Deno.env.get("MEMORY_SNAPSHOT");
      if (snapshot) await heapSnapshot(snapshot);
      Deno.exit(0);
    }, 1000 * Number(Deno.env.get("MEMORY_SECONDS") ?? 8));
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
  } else if (mode === "floor") {
    for (const what of ["empty", "modules"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", import.meta.filename!, "--inside", "floor", what],
        stdout: "null",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      const line = err.split("\n").find((l) => l.startsWith("MEMORY "));
      console.log(line ? line.slice(7) : `no report (exit ${out.code}):\n${err}`);
    }
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
    for (const t of err.split("\n").filter((l) => l.startsWith("TRACE "))) console.log(t.slice(6));
    console.log(line ? line.slice(7) : `no report (exit ${out.code}):\n${err}`);
    await Deno.remove(dir, { recursive: true });
  } else {
    console.error("usage: memory_bench.ts replay FILE | start [START FLAGS…] | floor");
    Deno.exit(2);
  }
}
