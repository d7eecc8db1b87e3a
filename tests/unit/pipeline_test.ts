import assert from "node:assert/strict";
import { join } from "node:path";
import { generateReadings } from "../../simulator/mod.ts";
import { replayInto, writeInput } from "../fixtures/replay_into.ts";
import { outputsOf, tableRows } from "../helpers.ts";
import {
  Analyzer,
  EngineState,
  FILES,
  nullLogger,
  openRun,
  type Reading,
  ReferenceKernel,
  WasmKernel,
} from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 1);
const reading = (
  i: number,
  channels: Record<string, number>,
  status = "RUNNING",
  machine = "m1",
): Reading => ({ timestamp: T0 + i * 2000, machine, status, channels });

Deno.test("analyzer: one row per machine per processing interval, over the window", () => {
  const a = new Analyzer(new ReferenceKernel({ window: 5 }), { processingIntervalMs: 10_000 });
  const readings = Array.from(
    { length: 12 },
    (_, i) => reading(i, { temperature: 20 + i, speed: 1500 }),
  );
  const { rows: table, events } = a.analyze(readings);
  const rows = tableRows(table);
  // Readings every 2 s, buckets of 10 s: rows at t = 0, 10, 20 s.
  assert.deepEqual(rows.map((r) => r.index), [0, 5, 10]);
  const row = rows[1]!.row;
  assert.equal(row.timestamp, "2026-01-01T00:00:10.000Z");
  assert.equal(row.channels.temperature!.current, 25);
  assert.equal(row.channels.temperature!.moving_avg, 23); // mean of 21…25
  assert.equal(row.channels.temperature!.trend, "increasing");
  assert.equal(row.channels.speed!.trend, "stable");
  assert.equal(row.status_mode, "RUNNING");
  assert.equal(row.status_changes, 0);
  assert.equal(row.health_score, 1);
  assert.deepEqual(row.alerts, []);
  assert.deepEqual(events, []);
});

Deno.test("analyzer: a breach is raised once when it starts, again only after it cleared", () => {
  const a = new Analyzer(new ReferenceKernel(), { processingIntervalMs: 1e9 });
  const temps = [25, 26, 45, 46, 47, 25, 26, 44];
  const { events } = a.analyze(temps.map((t, i) => reading(i, { temperature: t })));
  const breaches = events.filter((e) => e.event.type === "THRESHOLD_BREACH_TEMP");
  assert.deepEqual(breaches.map((e) => e.index), [2, 7]);
  assert.deepEqual(breaches[0]!.event, {
    timestamp: "2026-01-01T00:00:04.000Z",
    machine: "m1",
    type: "THRESHOLD_BREACH_TEMP",
    severity: "CRITICAL",
    channel: "temperature",
    value: 45,
    threshold: 40,
    description: "Temperature 45.00°C exceeded threshold of 40.0°C.",
  });
  // 26 → 45 and 47 → 25 and 26 → 44 are rapid changes (limit 10 °C), each an event.
  assert.deepEqual(
    events.filter((e) => e.event.type === "RAPID_CHANGE_TEMP").map((e) => e.index),
    [2, 5, 7],
  );
});

Deno.test("analyzer: speed checks apply only while RUNNING", () => {
  const a = new Analyzer(new ReferenceKernel(), { processingIntervalMs: 10_000 });
  const readings = [
    ...Array.from({ length: 5 }, (_, i) => reading(i, { temperature: 25, speed: 1500 })),
    ...Array.from({ length: 5 }, (_, i) => reading(5 + i, { temperature: 25, speed: 0 }, "PAUSED")),
  ];
  const { rows: table, events } = a.analyze(readings);
  const rows = tableRows(table);
  assert.deepEqual(events.filter((e) => e.event.channel === "speed"), []);
  const paused = rows.at(-1)!.row;
  assert.equal(paused.status_current, "PAUSED");
  assert.equal(paused.channels.speed!.current, 0);
  assert.deepEqual(paused.alerts, ["Machine paused - may require attention"]);
  assert.equal(paused.health_score, 0.9);
  assert.equal(paused.status_changes, 1);
});

Deno.test("analyzer: WASM and reference kernels give identical rows and events", () => {
  const readings = [
    ...generateReadings({
      machines: 20,
      seed: 7,
      count: 20_000,
      start: T0,
      intervalMs: 2000,
      faultRate: 0.05,
    }),
  ];
  const wasm = new Analyzer(new WasmKernel({ batchCapacity: 1000 }));
  const ref = new Analyzer(new ReferenceKernel({ batchCapacity: 1000 }));
  const a = [wasm.analyze(readings.slice(0, 7777)), wasm.analyze(readings.slice(7777))];
  const b = [ref.analyze(readings.slice(0, 7777)), ref.analyze(readings.slice(7777))];
  assert.deepEqual(a, b);
  const types = new Set(a.flatMap((r) => r.events.map((e) => e.event.type)));
  assert.ok(types.has("ZSCORE_TEMP") && types.has("THRESHOLD_BREACH_TEMP"), [...types].join());
});

Deno.test("pipeline: the same input split into tiny chunks and batches gives the same files", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const bad = ["{not json", '{"timestamp":"2026-01-01T00:00:00Z"}', "x".repeat(70_000)];
    const input = await writeInput(
      tmp,
      generateReadings({
        machines: 3,
        seed: 1,
        count: 3000,
        start: T0,
        intervalMs: 2000,
        faultRate: 0.05,
      }),
      bad,
    );
    const big = await replayInto(join(tmp, "a"), input);
    const small = await replayInto(join(tmp, "b"), input, { chunkBytes: 7, batchSize: 13 });
    assert.deepEqual(small.counts, big.counts);
    assert.equal(big.counts.readings, 3000);
    assert.equal(big.counts.errors, 3);
    assert.equal(big.counts.lines, 3003);
    assert.deepEqual(await outputsOf(join(tmp, "b")), await outputsOf(join(tmp, "a")));
    const files = await outputsOf(join(tmp, "a"));
    assert.equal(files[FILES.stream]!.split("\n").length - 1, 3000);
    assert.equal(files[FILES.errors]!.split("\n").length - 1, 3);
    const report = JSON.parse(files[FILES.report]!);
    assert.equal(report.length, big.counts.anomalies);
    assert.ok(big.counts.anomalies > 0);
    assert.equal(
      files[FILES.analysis]!.split("\n")[0],
      "timestamp,machine,temperature_current,temperature_moving_avg,temperature_trend,speed_current,speed_moving_avg,speed_trend,status_current,status_mode,status_changes,health_score,alerts,temperature_zscore,speed_zscore",
    );
    assert.equal(files[FILES.analysis]!.split("\n").length - 2, big.counts.rows);
    assert.equal(big.state.machines().length, 3);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("pipeline: a run that died after its checkpoint resumes with nothing twice or skipped", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const input = await writeInput(
      tmp,
      generateReadings({
        machines: 4,
        seed: 3,
        count: 8000,
        start: T0,
        intervalMs: 2000,
        faultRate: 0.05,
      }),
    );
    const clean = await replayInto(join(tmp, "clean"), input);
    const expected = await outputsOf(join(tmp, "clean"));

    // A run that got a third of the way: checkpoint written, then more output that was never
    // checkpointed, plus a torn line, as a kill -9 leaves it.
    const dir = join(tmp, "crashed");
    const head = (await Deno.readTextFile(input)).split("\n").slice(0, 2700).join("\n") + "\n";
    const partial = join(tmp, "partial.jsonl");
    await Deno.writeTextFile(partial, head);
    await replayInto(dir, partial);
    const cp = JSON.parse(await Deno.readTextFile(join(dir, FILES.checkpoint)));
    cp.source = `file:${input}`;
    await Deno.writeTextFile(join(dir, FILES.checkpoint), JSON.stringify(cp));
    await Deno.writeTextFile(join(dir, FILES.analysis), "2026-01-01T09:99,m1,torn", {
      append: true,
    });
    await Deno.writeTextFile(join(dir, FILES.anomalies), '{"timestamp":"x"}\n{"tor', {
      append: true,
    });

    const resumed = await replayInto(dir, input);
    assert.equal(resumed.counts.readings, 8000);
    assert.deepEqual(await outputsOf(dir), expected);
    // Active alarms: those written before the checkpoint (rebuilt from anomalies.jsonl) plus
    // the ones the rest raised, as if the run had never stopped.
    assert.ok(clean.state.alarms().length > 0);
    assert.deepEqual(resumed.state.alarms(), clean.state.alarms());
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("pipeline: a checkpoint of another input is refused, naming it", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const input = await writeInput(
      tmp,
      generateReadings({ machines: 1, seed: 1, count: 10, start: T0, intervalMs: 2000 }),
    );
    await replayInto(join(tmp, "d"), input);
    const other = join(tmp, "other.jsonl");
    await Deno.copyFile(input, other);
    await assert.rejects(
      () => replayInto(join(tmp, "d"), other),
      /belongs to the input .*input\.jsonl/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** The anomaly report tests' batch: `text` written to `anomalies.jsonl`, `anomalies` the
 * count after it, then a checkpoint that refreshes the report at once. */
async function writeAnomalies(
  out: import("../../engine/pipeline/output_files.ts").OutputFiles,
  counts: { lines: number; readings: number; rows: number; anomalies: number; errors: number },
  text: string,
  anomalies: number,
): Promise<void> {
  await out.write({ anomalies: text, stream: "{}\n" });
  counts.lines++;
  counts.anomalies = anomalies;
  await out.checkpoint(counts, { reportEveryMs: 0 });
}

Deno.test("anomaly_report.json: appended batch by batch, it is anomalies.jsonl as one array, across a restart", async () => {
  const { OutputFiles } = await import("../../engine/pipeline/output_files.ts");
  const dir = await Deno.makeTempDir();
  try {
    const expect = async () => {
      const lines = (await Deno.readTextFile(join(dir, FILES.anomalies))).split("\n")
        .filter((l) => l !== "");
      const report = await Deno.readTextFile(join(dir, FILES.report));
      assert.equal(report, lines.length === 0 ? "[]\n" : `[\n${lines.join(",\n")}\n]\n`);
      assert.equal(JSON.parse(report).length, lines.length);
    };
    const counts = { lines: 0, readings: 0, rows: 0, anomalies: 0, errors: 0 };
    const event = (i: number) => JSON.stringify({ n: i, description: 'é ✓ "quoted"' }) + "\n";
    let n = 0;
    for (const run of [0, 1]) {
      const out = await OutputFiles.open(dir, { source: "file:/x", streamDerived: true });
      // Batches of 0, 1, 3, 0 and 2 events; every checkpoint rewrites the report.
      for (const k of [0, 1, 3, 0, 2]) {
        let text = "";
        for (let i = 0; i < k; i++) text += event(n++);
        await writeAnomalies(out, counts, text, n);
        // (The first run's first batch: no event yet, the report `[]`.)
        await expect();
      }
      await out.checkpoint(counts, { final: true });
      await expect();
      out.close();
      assert.equal(run === 0 ? n : n - 6, 6);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("anomaly_report.json: an extension of several 64 KiB chunks, lines across their edges and blank ones, is the array", async () => {
  const { OutputFiles } = await import("../../engine/pipeline/output_files.ts");
  const dir = await Deno.makeTempDir();
  try {
    const counts = { lines: 0, readings: 0, rows: 0, anomalies: 0, errors: 0 };
    const out = await OutputFiles.open(dir, { source: "file:/x", streamDerived: true });
    // Lines of 1 to ~1.5 KiB with two-byte characters, so the chunk edges fall inside lines
    // and characters; a blank line now and then, which the report skips.
    const event = (i: number) =>
      JSON.stringify({ n: i, description: "°".repeat((i * 37) % 700) }) +
      (i % 50 === 7 ? "\n\n" : "\n");
    let n = 0;
    for (const k of [1, 400, 1, 900]) {
      let text = "";
      for (let i = 0; i < k; i++) text += event(n++);
      await writeAnomalies(out, counts, text, n);
      const lines = (await Deno.readTextFile(join(dir, FILES.anomalies))).split("\n")
        .filter((l) => l !== "");
      const report = await Deno.readTextFile(join(dir, FILES.report));
      assert.equal(report, `[\n${lines.join(",\n")}\n]\n`);
      assert.equal(JSON.parse(report).length, n);
    }
    await out.checkpoint(counts, { final: true });
    out.close();
    // Reopened (a restart), the process's first report is the whole log, built the same way
    // a chunk at a time: then one more event.
    const again = await OutputFiles.open(dir, { source: "file:/x", streamDerived: true });
    await writeAnomalies(again, counts, event(n++), n);
    const lines = (await Deno.readTextFile(join(dir, FILES.anomalies))).split("\n")
      .filter((l) => l !== "");
    const report = await Deno.readTextFile(join(dir, FILES.report));
    assert.equal(report, `[\n${lines.join(",\n")}\n]\n`);
    assert.equal(JSON.parse(report).length, n);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("analyzer: a machine's channels keep their streams whatever their order and set per reading", () => {
  const a = new Analyzer(new ReferenceKernel({ window: 5 }), { processingIntervalMs: 2000 });
  const readings = Array.from({ length: 12 }, (_, i) =>
    reading(
      i,
      i % 3 === 0
        ? { temperature: 20, speed: 1500 }
        : i % 3 === 1
        ? { speed: 1500, temperature: 20 }
        : { speed: 1500 },
      "RUNNING",
      i % 2 ? "m2" : "m1",
    ));
  const { rows } = a.analyze(readings);
  assert.equal(a.streams, 4); // two machines × two channels
  assert.equal(rows.length, 12);
  for (const { row } of tableRows(rows)) {
    assert.equal(row.channels.speed!.moving_avg, 1500);
    if (row.channels.temperature) assert.equal(row.channels.temperature.moving_avg, 20);
  }
});

Deno.test("pipeline: refused lines a source only counted (a flood) are counted and summed up in one line", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const state = new EngineState();
    state.setSource({ name: "mqtt", state: "running", readings: 0, errors: 0 });
    const run = await openRun({
      dataDir: tmp,
      source: "log",
      streamDerived: false,
      state,
      logger: nullLogger,
      sourceName: "mqtt",
    });
    const counts = await run.run(ReadableStream.from([{
      readings: [],
      errors: [{ line: "not json", error: "a/b: invalid JSON", time: T0 }],
      unloggedErrors: 25_000,
      lines: 0,
      suppress: false,
      log: true,
    }]));
    assert.equal(counts.errors, 25_001);
    assert.equal(state.totals.errors, 25_001);
    assert.equal(state.sources()[0]!.errors, 25_001);
    const lines = (await Deno.readTextFile(join(tmp, FILES.errors))).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines, [
      { timestamp: "2026-01-01T00:00:00.000Z", line: "not json", error: "a/b: invalid JSON" },
      {
        timestamp: "2026-01-01T00:00:00.000Z",
        line: "",
        error: "25000 more refused lines, counted but not logged one by one (a flood while the " +
          "pipeline was behind)",
      },
    ]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
