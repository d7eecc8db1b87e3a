/**
 * `OutputSinkOptions.commitEveryMs`: batches written sooner than the interval after the last
 * checkpoint are committed by a later one (the final one at the latest); a run with sinks
 * commits every batch whatever it says, as its sinks are told only of committed batches.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  Analyzer,
  EngineState,
  FILES,
  nullLogger,
  type Reading,
  WasmKernel,
} from "../../engine/mod.ts";
import { OutputFiles } from "../../engine/pipeline/output_files.ts";
import { type AnalyzedBatch, OutputSink } from "../../engine/pipeline/pipeline.ts";
import type { Sink } from "../../engine/sinks/sink.ts";

const T0 = Date.UTC(2026, 0, 1);

/** Three analysed batches of `n` readings each. */
function batches(n: number): AnalyzedBatch[] {
  const analyzer = new Analyzer(new WasmKernel({}));
  return [0, 1, 2].map((b) => {
    const readings: Reading[] = Array.from({ length: n }, (_, i) => ({
      timestamp: T0 + (b * n + i) * 1000,
      machine: "m1",
      status: "RUNNING",
      channels: { temperature: 20 + (i % 7), speed: 1500 },
    }));
    return {
      batch: { readings, errors: [], lines: n, suppress: false, log: true },
      result: analyzer.analyze(readings),
    };
  });
}

/** The lines of `dir`'s checkpoint after each batch written, then after the close. */
async function committedLines(dir: string, options: { commitEveryMs: number; sinks?: Sink[] }) {
  const outputs = await OutputFiles.open(dir, { source: "file:/in.jsonl", streamDerived: true });
  const sink = new OutputSink({
    outputs,
    state: new EngineState(),
    logger: nullLogger,
    ...options,
  });
  const writer = sink.getWriter();
  const lines: number[] = [];
  const checkpoint = async () =>
    JSON.parse(await Deno.readTextFile(join(dir, FILES.checkpoint))).lines as number;
  for (const b of batches(10)) {
    await writer.write(b);
    lines.push(await checkpoint());
  }
  await writer.close();
  lines.push(await checkpoint());
  outputs.close();
  return lines;
}

Deno.test("commitEveryMs: batches within the interval are committed by the final checkpoint", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // The first batch is committed at once; the next two fall within the minute after it.
    assert.deepEqual(await committedLines(join(tmp, "a"), { commitEveryMs: 60_000 }), [
      10,
      10,
      10,
      30,
    ]);
    // 0: every batch.
    assert.deepEqual(await committedLines(join(tmp, "b"), { commitEveryMs: 0 }), [10, 20, 30, 30]);
    // Every output was written all the same.
    for (const d of ["a", "b"]) {
      const stream = await Deno.readTextFile(join(tmp, d, FILES.stream));
      assert.equal(stream.split("\n").length - 1, 30);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("commitEveryMs: a run with a sink commits every batch before the sink sees it", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const dir = join(tmp, "d");
    const seen: number[] = [];
    const sink: Sink = {
      readings: (readings) => {
        seen.push(readings.length);
      },
    };
    assert.deepEqual(
      await committedLines(dir, { commitEveryMs: 60_000, sinks: [sink] }),
      [10, 20, 30, 30],
    );
    assert.deepEqual(seen, [10, 10, 10]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
