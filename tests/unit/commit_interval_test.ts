/**
 * `OutputSinkOptions.commitEveryMs`: batches written sooner than the interval after the last
 * checkpoint are committed by a later one (the final one at the latest); a run with sinks or
 * `onCommit` commits every batch whatever it says, as they are told only of committed batches,
 * and so does a run whose outputs the input cannot rebuild (a live input log; a batch of no
 * input lines).
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

/** Three analysed batches of `n` readings each (with `empty`, the second holds no input line:
 * one refused line a live source kept no line of, as a heartbeat tick's or a source's own
 * events are too). */
function batches(n: number, empty = false): AnalyzedBatch[] {
  const analyzer = new Analyzer(new WasmKernel({}));
  return [0, 1, 2].map((b) => {
    if (empty && b === 1) {
      return {
        batch: {
          readings: [],
          errors: [{ line: "not json", error: "not JSON", time: T0 }],
          lines: 0,
          suppress: false,
          log: true,
        },
        result: analyzer.analyze([]),
      };
    }
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

/** The lines and errors of `dir`'s checkpoint after each batch written, then after the close. */
async function committed(
  dir: string,
  options: {
    commitEveryMs: number;
    sinks?: Sink[];
    onCommit?: (lines: number) => void;
    streamDerived?: boolean;
    empty?: boolean;
  },
) {
  const { streamDerived = true, empty = false, ...rest } = options;
  const outputs = await OutputFiles.open(dir, {
    source: streamDerived ? "file:/in.jsonl" : "log",
    streamDerived,
  });
  const sink = new OutputSink({ outputs, state: new EngineState(), logger: nullLogger, ...rest });
  const writer = sink.getWriter();
  const seen: { lines: number; errors: number }[] = [];
  const checkpoint = async () => {
    const { lines, errors } = JSON.parse(await Deno.readTextFile(join(dir, FILES.checkpoint)));
    seen.push({ lines, errors });
  };
  for (const b of batches(10, empty)) {
    await writer.write(b);
    await checkpoint();
  }
  await writer.close();
  await checkpoint();
  outputs.close();
  return seen;
}

/** The lines of `dir`'s checkpoint after each batch written, then after the close. */
async function committedLines(dir: string, options: Parameters<typeof committed>[1]) {
  return (await committed(dir, options)).map((c) => c.lines);
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

Deno.test("commitEveryMs: onCommit, a live input log or a batch of no input lines commit at once", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const told: number[] = [];
    assert.deepEqual(
      await committedLines(join(tmp, "a"), {
        commitEveryMs: 60_000,
        onCommit: (lines) => told.push(lines),
      }),
      [10, 20, 30, 30],
    );
    assert.deepEqual(told, [10, 20, 30, 30]);
    // A live run's outputs are not all in its input log (refused lines it kept no line of,
    // events of its own): each batch is committed, or a crash would lose them.
    assert.deepEqual(
      await committedLines(join(tmp, "b"), { commitEveryMs: 60_000, streamDerived: false }),
      [10, 20, 30, 30],
    );
    // The batch of no lines (its refused line) is committed at once, with the one before it.
    assert.deepEqual(await committed(join(tmp, "c"), { commitEveryMs: 60_000, empty: true }), [
      { lines: 10, errors: 0 },
      { lines: 10, errors: 1 },
      { lines: 10, errors: 1 },
      { lines: 20, errors: 1 },
    ]);
    const errors = await Deno.readTextFile(join(tmp, "c", FILES.errors));
    assert.match(errors, /not json/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
