/**
 * Two checkouts' analysis and output code on the same readings, in one process, alternated
 * job by job: the analyzer of the `machine` profile as `replay` builds it (rolling kernel,
 * adaptive detector, heartbeat "auto") over the first 65,536 readings of FILE in batches of
 * 8,192 (`analyze`: a new analyzer each time, `steady`: one analyzer fed them again and
 * again, `steadyCsv`: that and each batch's rows written as CSV, as the pipeline writes them),
 * `writeReading` of those readings and `writeRowCsv` of their rows, and (`heartbeat`)
 * a `HeartbeatMonitor` learning every machine's timeout from them. Each round times
 * both trees (the order flips every round) after 3 rounds of warm-up; it prints the median
 * time of each and the median of the per-round ratios NEW/OLD. On the shared 2-core machine a
 * whole replay moves ±10 % from run to run; the same code against itself here gives ratios of
 * 0.95–1.05, so this resolves a change of a few per cent in one stage.
 *
 *   deno run -A --v8-flags=--max-semi-space-size=4 --config NEW/deno.json \
 *     bench/tree_pair.ts OLD NEW FILE [ROUNDS] [JOB]
 *
 * Both trees need their WASM built (`deno task build:wasm`). FILE is read with OLD's parser.
 * @module
 */
import { resolve } from "node:path";
import type { Reading } from "../engine/core/types.ts";
import { replayAnalyzer } from "./_replay_analyzer.ts";

type Engine = typeof import("../engine/mod.ts");
type ByteTextModule = typeof import("../engine/formats/byte_text.ts");
type ReadingFormat = typeof import("../engine/formats/reading_format.ts");
type RowFormat = typeof import("../engine/formats/row_format.ts");

const [oldArg, newArg, file, roundsArg, only] = Deno.args;
if (!oldArg || !newArg || !file) {
  console.error("usage: bench/tree_pair.ts OLD NEW FILE [ROUNDS] [JOB]");
  Deno.exit(2);
}
const trees = { old: resolve(oldArg), new: resolve(newArg) };
const COUNT = 65_536;
const BATCH = 8192;

const parser: Engine = await import(`file://${trees.old}/engine/mod.ts`);
const readings: Reading[] = [];
for await (const batch of new parser.FileSource(file, { format: "json" }).readable) {
  readings.push(...batch.readings);
  if (readings.length >= COUNT) break;
}
readings.length = Math.min(readings.length, COUNT);
const batches: Reading[][] = [];
for (let i = 0; i < readings.length; i += BATCH) batches.push(readings.slice(i, i + BATCH));

const jobs: Record<string, Record<string, () => void>> = {};
for (const [name, tree] of Object.entries(trees)) {
  const engine: Engine = await import(`file://${tree}/engine/mod.ts`);
  const { ByteText }: ByteTextModule = await import(`file://${tree}/engine/formats/byte_text.ts`);
  const { writeReading }: ReadingFormat = await import(
    `file://${tree}/engine/formats/reading_format.ts`
  );
  const format: RowFormat = await import(`file://${tree}/engine/formats/row_format.ts`);
  const { rowColumns, writeRowCsv } = format;
  const analyzer = () => replayAnalyzer(engine);
  const first = analyzer();
  // Rows were an array of `{ index, row }` before they were a table (core/row_table.ts).
  type Row = Parameters<RowFormat["writeRowCsv"]>[0];
  const rows = batches.flatMap((b): Row[] => {
    const got = first.analyze(b).rows as unknown;
    return Array.isArray(got) ? got.map((r: { row: Row }) => r.row) : Array.from(
      { length: (got as { length: number }).length },
      (_, i) => (got as { row(i: number): Row }).row(i),
    );
  });
  const steady = analyzer();
  const written = analyzer();
  // A batch's rows as the pipeline writes them: from the table (`writeRowsCsv`), or before
  // there was one, object by object.
  const writeRows = (got: unknown) => {
    if (!Array.isArray(got)) {
      format.writeRowsCsv(got as Parameters<RowFormat["writeRowsCsv"]>[0], columns, csv);
    } else for (const r of got as { row: Row }[]) writeRowCsv(r.row, columns, csv);
  };
  const columns = rowColumns();
  const stream = new ByteText(1 << 20);
  const csv = new ByteText(1 << 18);
  jobs[name] = {
    analyze: () => {
      const a = analyzer();
      for (const b of batches) a.analyze(b);
    },
    steady: () => {
      for (const b of batches) steady.analyze(b);
    },
    steadyCsv: () => {
      for (const b of batches) {
        csv.clear();
        writeRows(written.analyze(b).rows);
      }
    },
    writeReading: () => {
      for (const b of batches) {
        stream.clear();
        for (const r of b) writeReading(r, stream);
      }
    },
    writeRowCsv: () => {
      csv.clear();
      for (const r of rows) writeRowCsv(r, columns, csv);
    },
    heartbeat: () => {
      // The readings 7 times over, later each time: every machine learns its 400 gaps.
      const monitor = new engine.HeartbeatMonitor({ timeoutMs: "auto" });
      const span = readings.at(-1)!.timestamp - readings[0]!.timestamp + 2000;
      for (let pass = 0; pass < 7; pass++) {
        for (const r of readings) monitor.observe(r.machine, r.timestamp + pass * span);
      }
    },
  };
}

const rounds = Number(roundsArg ?? 40);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
for (const job of Object.keys(jobs.old!)) {
  if (only && job !== only) continue;
  const times = { old: [] as number[], new: [] as number[] };
  const ratios: number[] = [];
  for (let i = 0; i < rounds + 3; i++) {
    const order = i % 2 ? (["old", "new"] as const) : (["new", "old"] as const);
    const got = { old: 0, new: 0 };
    for (const n of order) {
      const t0 = performance.now();
      jobs[n]![job]!();
      got[n] = performance.now() - t0;
    }
    if (i < 3) continue;
    times.old.push(got.old);
    times.new.push(got.new);
    ratios.push(got.new / got.old);
  }
  console.log(
    `${job}: old ${median(times.old).toFixed(1)} ms, new ${median(times.new).toFixed(1)} ms, ` +
      `median new/old ${median(ratios).toFixed(3)} (${rounds} rounds)`,
  );
}
