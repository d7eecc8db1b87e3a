/**
 * `replay` end to end on a generated 1,000,000-reading JSONL file of 1,000 machines, beside the
 * floor any JSONL replay pays: reading the file, splitting lines and `JSON.parse` of each.
 * The file is generated once into bench/out/ (gitignored).
 *
 *   deno task bench bench/replay_bench.ts
 */
import { join } from "node:path";
import { generateReadings } from "../simulator/mod.ts";
import {
  EngineState,
  FileSource,
  formatReading,
  LineSplitter,
  nullLogger,
  openRun,
} from "../engine/mod.ts";

const COUNT = 1_000_000;
const OUT = new URL("./out/", import.meta.url).pathname;
const INPUT = join(OUT, "replay_1m.jsonl");

async function ensureInput(): Promise<void> {
  try {
    if ((await Deno.stat(INPUT)).size > 0) return;
  } catch { /* not there yet */ }
  await Deno.mkdir(OUT, { recursive: true });
  const file = await Deno.open(INPUT, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  let buf: string[] = [];
  for (
    const r of generateReadings({
      machines: 1000,
      seed: 42,
      count: COUNT,
      start: Date.UTC(2026, 0, 1),
      intervalMs: 2000,
      faultRate: 0.01,
    })
  ) {
    buf.push(formatReading(r));
    if (buf.length === 10_000) {
      await file.write(enc.encode(buf.join("\n") + "\n"));
      buf = [];
    }
  }
  if (buf.length) await file.write(enc.encode(buf.join("\n") + "\n"));
  file.close();
}

await ensureInput();

Deno.bench({
  name: "read + split + JSON.parse only (the floor)",
  group: "replay 1M readings, 1000 machines",
  baseline: true,
  n: 3,
  warmup: 1,
  async fn() {
    const splitter = new LineSplitter();
    const decoder = new TextDecoder();
    let n = 0;
    const file = await Deno.open(INPUT);
    for await (const chunk of file.readable) {
      for (const line of splitter.push(decoder.decode(chunk, { stream: true }))) {
        JSON.parse(line);
        n++;
      }
    }
    if (n !== COUNT) throw new Error(`parsed ${n}`);
  },
});

Deno.bench({
  name: "replay: parse, kernel, detectors, all outputs written",
  group: "replay 1M readings, 1000 machines",
  n: 3,
  warmup: 1,
  async fn() {
    const dataDir = await Deno.makeTempDir({ dir: OUT });
    try {
      const run = await openRun({
        dataDir,
        source: `file:${INPUT}`,
        streamDerived: true,
        // As cli/replay.ts: no API reads them.
        state: new EngineState({ anomalyCapacity: 0, lastRows: false, lastReadings: false }),
        logger: nullLogger,
      });
      const counts = await run.run(new FileSource(INPUT, { format: "json" }).readable);
      if (counts.readings !== COUNT) throw new Error(`processed ${counts.readings}`);
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
