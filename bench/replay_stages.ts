/**
 * The input and analysis side of `replay` alone, in one process: a JSONL file read, split and
 * parsed by `FileSource`, then (with `analyze`) every batch through the `Analyzer` of the
 * `machine` profile as `replay` builds it (rolling kernel, adaptive detector, heartbeat
 * "auto"); nothing is written. Prints one JSON line: CPU ms of the process (user + system,
 * GC threads included), wall ms, readings, rows, events, readings/s.
 *
 * It imports the engine of the checkout TREE, so that an old and a new tree run the same
 * bench side by side (alternate them: the machine is shared):
 *
 *   deno run -A --config TREE/deno.json bench/replay_stages.ts TREE FILE [analyze]
 *
 * TREE needs its WASM built (`deno task build:wasm`).
 */
import process from "node:process";
import { resolve } from "node:path";
import { replayAnalyzer } from "./_replay_analyzer.ts";
import type { Analyzer as AnalyzerType, FileSource as FileSourceType } from "../engine/mod.ts";

const [treeArg, file, mode] = Deno.args;
if (!treeArg || !file || (mode !== undefined && mode !== "analyze")) {
  console.error("usage: bench/replay_stages.ts TREE FILE [analyze]");
  Deno.exit(2);
}
const engine: typeof import("../engine/mod.ts") = await import(
  `file://${resolve(treeArg)}/engine/mod.ts`
);

const source: FileSourceType = new engine.FileSource(file, { format: "json" });
const analyzer: AnalyzerType | null = mode === "analyze" ? replayAnalyzer(engine) : null;

const cpu0 = process.cpuUsage();
const t0 = performance.now();
let readings = 0, rows = 0, events = 0;
for await (const batch of source.readable) {
  // A batch of columns (a tree since the columnar batch) is read as the replay reads it.
  const columns = batch.columns;
  readings += columns ? columns.length : batch.readings.length;
  if (analyzer) {
    const result = columns ? analyzer.analyzeColumns(columns) : analyzer.analyze(batch.readings);
    rows += result.rows.length;
    events += result.events.length;
  }
  // Its `stream_output.jsonl` lines and its columns are done with by now in a replay: the
  // writer releases them, so that the source reuses them (else each batch takes new buffers).
  batch.text?.release();
  batch.release?.();
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({
  cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
  wall_ms: Math.round(ms),
  readings,
  rows,
  events,
  readings_per_sec: Math.round(readings / ms * 1000),
}));
