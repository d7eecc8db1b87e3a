/**
 * The columnar batch (engine/core/reading_columns.ts, `columnBatch`): readings written as
 * columns read back as the objects they came from, a batch of columns builds its reading
 * objects only when they are read, and the engine's readers of columns (the analyzer, the
 * state) answer as they do for the same readings as objects.
 */
import assert from "node:assert/strict";
import { ReadingColumns } from "../../engine/core/reading_columns.ts";
import { columnBatch, emptyBatch, readingCount } from "../../engine/core/batch.ts";
import {
  Analyzer,
  EngineState,
  MACHINE_CHANNELS,
  OnlineForests,
  type Reading,
  ReferenceAdaptiveDetector,
  ReferenceKernel,
  WasmIsolationForest,
} from "../../engine/mod.ts";
import { outputsOf, tableRows } from "../helpers.ts";
import { join } from "node:path";
import { FILES, NatsSource, nullLogger, openRun } from "../../engine/mod.ts";

const T0 = Date.UTC(2026, 0, 5);

/** Readings of every shape a source gives: no channels, an `injected` label, a null status,
 * channels in different orders, a machine changing shape, values of every sign. */
function mixed(): Reading[] {
  const out: Reading[] = [];
  for (let t = 0; t < 300; t++) {
    for (let m = 0; m < 12; m++) {
      const r: Reading = {
        timestamp: T0 + t * 1000,
        machine: `m${m}`,
        status: m === 4
          ? null
          : t % 40 === 39
          ? "PAUSED"
          : m === 6 && t > 200
          ? "WARNING_TEMP"
          : "RUNNING",
        channels: m === 3 && t % 7 === 0
          ? {}
          : m === 5
          ? { speed: 1500 + (t % 13), temperature: 30 + (t % 5) - (t > 250 ? -30 : 0) }
          : m === 8 && t > 150
          ? { temperature: 25, vibration: -0.5 * (t % 3), current: 0 }
          : { temperature: 25 + m / 10 + (t % 11) / 10, speed: 1500 - (t % 17) },
      };
      if (m === 2 && t % 50 === 0) r.injected = "overheat";
      out.push(r);
    }
  }
  return out;
}

Deno.test("ReadingColumns: readings pushed read back as they were; growth, pop and clear keep them", () => {
  const input = mixed();
  // Room for 1 reading and 1 value: every column grows on the way.
  const c = new ReadingColumns(1, 1);
  for (const r of input) c.push(r);
  assert.equal(c.length, input.length);
  assert.deepStrictEqual(c.readings(), input);
  for (const i of [0, 38, input.length - 1]) {
    assert.deepStrictEqual(Object.keys(c.reading(i)), Object.keys(input[i]!), "field order");
  }
  // Added by position, as a scanner writes: entries first, then the reading.
  c.reserve(2);
  c.key[c.entries] = "a";
  c.value[c.entries] = -0;
  c.key[c.entries + 1] = "b";
  c.value[c.entries + 1] = 2;
  c.add(T0, "x", "IDLE", "spike", 2);
  assert.deepStrictEqual(c.reading(input.length), {
    timestamp: T0,
    machine: "x",
    status: "IDLE",
    channels: { a: -0, b: 2 },
    injected: "spike",
  });
  c.pop();
  assert.equal(c.length, input.length);
  assert.equal(c.entries, c.first[c.length]);
  // A reading added after the pop has no `injected` of the popped one.
  c.push({ timestamp: T0, machine: "y", status: null, channels: { a: 1 } });
  assert.deepStrictEqual(c.reading(input.length), {
    timestamp: T0,
    machine: "y",
    status: null,
    channels: { a: 1 },
  });
  c.clear();
  assert.equal(c.length, 0);
  assert.deepStrictEqual(c.readings(), []);
  c.push(input[0]!);
  assert.deepStrictEqual(c.readings(), [input[0]]);
  // Refilled after a clear, the labels' column (reused) holds none of the earlier batch's: the
  // readings before the first label have none, nor does one after it without a label.
  const labelled = input.filter((r) => r.injected !== undefined);
  assert.ok(labelled.length > 3);
  c.clear();
  for (const r of input) c.push({ ...r, injected: "old" });
  c.clear();
  const refill = [...input.filter((r) => r.injected === undefined).slice(0, 20), ...labelled];
  for (const r of refill) c.push(r);
  assert.deepStrictEqual(c.readings(), refill);
});

Deno.test("columnBatch: readings built when first read, kept, replaced by assignment; a spread copies them without the columns", () => {
  const input = mixed().slice(0, 50);
  const c = new ReadingColumns();
  for (const r of input) c.push(r);
  let built = 0;
  const readings = c.readings.bind(c);
  c.readings = () => {
    built++;
    return readings();
  };
  let released = 0;
  const batch = columnBatch(c, 60, false, true, () => released++);
  assert.equal(readingCount(batch), 50);
  assert.equal(batch.lines, 60);
  assert.equal(built, 0, "counted without building readings");
  assert.deepStrictEqual(batch.readings, input);
  assert.equal(batch.readings, batch.readings, "built once, kept");
  assert.equal(built, 1);
  const copy = { ...batch, lines: 0 };
  assert.equal(copy.columns, undefined, "a copy is a batch of objects");
  assert.deepStrictEqual(copy.readings, input);
  const part = input.slice(0, 3);
  batch.readings = part;
  assert.equal(batch.readings, part);
  // Its columns go with the assignment: every reader then counts and reads the objects.
  assert.equal(batch.columns, undefined);
  assert.equal(readingCount(batch), 3);
  batch.release?.();
  assert.equal(released, 1);
  assert.equal(batch.readings, part, "readings built or given before the release stay");
  // Released before its readings were built: its columns may be another batch's by now.
  const early = columnBatch(c, 50, false, true);
  early.release?.();
  assert.throws(() => early.readings, /released/);
  assert.equal(readingCount(emptyBatch()), 0);
});

/** Everything an analysis says, with rows as objects. */
function analysed(result: ReturnType<Analyzer["analyze"]>) {
  return { rows: tableRows(result.rows), events: result.events, rejected: result.rejected };
}

/** An analyzer that raises every kind of event the readings can: alarms, adaptive anomalies,
 * device states, heartbeat losses, each machine's online isolation forest's. */
function analyzer(maxStreams = 256, batchCapacity = 8192): Analyzer {
  return new Analyzer(new ReferenceKernel({ maxStreams, batchCapacity }), {
    onlineForests: new OnlineForests({
      trainSize: 60,
      trees: 10,
      createScorer: (model) => new WasmIsolationForest(model),
    }),
    channels: MACHINE_CHANNELS,
    processingIntervalMs: 5000,
    heartbeatTimeoutMs: 3000,
    deviceStatus: true,
    readingValues: true,
    adaptive: new ReferenceAdaptiveDetector({ maxStreams: 256, batchCapacity: 8192, warmup: 50 }),
  });
}

// Both ways run the same walk (`analyze` writes its readings as columns first); what differs is
// where the forests' reading objects come from: `analyzeColumns` builds them from the columns.
Deno.test("Analyzer.analyzeColumns: the same rows, events, refusals and values as analyze of the objects", () => {
  const input = mixed();
  // A silent stretch for a heartbeat loss.
  const readings = input.filter((r, i) => !(r.machine === "m7" && i > 1200 && i < 1800));
  for (const [streams, capacity] of [[256, 8192], [20, 8192], [256, 7]] as const) {
    const objects = analyzer(streams, capacity), columns = analyzer(streams, capacity);
    const kinds = new Set<string>();
    for (let from = 0; from < readings.length; from += 500) {
      const batch = readings.slice(from, from + 500);
      const c = new ReadingColumns();
      for (const r of batch) c.push(r);
      const want = objects.analyze(batch);
      const got = columns.analyzeColumns(c);
      assert.deepStrictEqual(analysed(got), analysed(want), `${streams}, ${capacity}, ${from}`);
      assert.deepStrictEqual(got.values, want.values);
      for (const e of want.events) kinds.add(e.event.type.split("_")[0]!);
      if (streams === 20) assert.ok(want.rejected.length > 0);
    }
    for (const kind of ["THRESHOLD", "DEVICE", "HEARTBEAT", "ANOMALY", "ISOLATION"]) {
      assert.ok(kinds.has(kind), `${kind} in ${[...kinds]}`);
    }
  }
});

Deno.test("EngineState.recordColumns: the same totals, notices and last readings as recordReadings", () => {
  const input = mixed();
  // Out of order, a duplicate time and an unknown status word, for the notices.
  input.splice(100, 0, { ...input[3]!, timestamp: T0 - 5 }, { ...input[50]! });
  input.splice(400, 0, { ...input[400]!, status: "HALTED" });
  const objects = new EngineState(), columns = new EngineState();
  const none = new EngineState({ lastReadings: false });
  for (let from = 0; from < input.length; from += 700) {
    const batch = input.slice(from, from + 700);
    const c = new ReadingColumns();
    for (const r of batch) c.push(r);
    assert.deepStrictEqual(columns.recordColumns(c), objects.recordReadings(batch));
    none.recordColumns(c);
  }
  assert.deepStrictEqual(columns.totals, objects.totals);
  assert.ok(objects.totals.out_of_order > 0 && objects.totals.duplicate_timestamp > 0);
  const views = (s: EngineState) =>
    s.machines().map(({ id, status, lastReading, lastRow }) => ({
      id,
      status,
      lastReading,
      lastRow,
    }));
  assert.deepStrictEqual(views(columns), views(objects));
  assert.deepStrictEqual(none.totals, objects.totals);
  for (const m of none.machines()) assert.equal(m.lastReading, null);
});

Deno.test("Analyzer.analyzeColumns: a channel's checks apply in its activeStatuses only, and a reading with no status is in none", () => {
  const channels = {
    speed: { alert: [800, 2200] as [number, number], activeStatuses: ["RUNNING"] },
  };
  const make = () =>
    new Analyzer(new ReferenceKernel({ window: 5 }), { channels, processingIntervalMs: 1000 });
  const c = new ReadingColumns();
  for (let t = 0; t < 4; t++) {
    for (
      const [machine, status] of [["none", null], ["idle", "IDLE"], ["run", "RUNNING"]] as const
    ) {
      c.push({ timestamp: T0 + t * 1000, machine, status, channels: { speed: 5000 } });
    }
  }
  for (const result of [make().analyzeColumns(c), make().analyze(c.readings())]) {
    const breached = result.events.map((e) => `${e.event.machine} ${e.event.type}`);
    assert.deepEqual([...new Set(breached)], ["run THRESHOLD_BREACH_SPEED"]);
    const alerts = tableRows(result.rows).map(({ row }) => `${row.machine} ${row.alerts.length}`);
    assert.deepEqual(new Set(alerts), new Set(["none 0", "idle 0", "run 1"]));
  }
});

/** A reading of `machine` at second `i`. */
function at(i: number, machine: string, status: string, channels: Record<string, number>): Reading {
  return { timestamp: T0 + i * 2000, machine, status, channels };
}

/** The files a run writes, by name. */
Deno.test("pipeline: batches of columns are written as the same readings as objects, the CSV header from the first reading's channels", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // The first reading has fewer channels than later ones: only its own extend the header.
    const readings: Reading[] = [];
    for (let i = 0; i < 40; i++) {
      const extra: Record<string, number> = i === 0 ? {} : { current: 3 + i / 10 };
      readings.push(at(i, "m1", "RUNNING", { temperature: 20 + i / 4, vibration: 1, ...extra }));
      readings.push(at(i, "m2", i % 9 ? "RUNNING" : "IDLE", { speed: 1500 + i, temperature: 30 }));
    }
    const run = async (dir: string, columns: boolean) => {
      const handle = await openRun({
        dataDir: dir,
        source: "file:/x",
        streamDerived: true,
        state: new EngineState(),
        logger: nullLogger,
      });
      const batches = [readings.slice(0, 30), readings.slice(30)].map((part) => {
        if (!columns) {
          return { readings: part, errors: [], lines: part.length, suppress: false, log: true };
        }
        const c = new ReadingColumns();
        for (const r of part) c.push(r);
        return columnBatch(c, part.length, false, true);
      });
      return await handle.run(ReadableStream.from(batches));
    };
    const a = await run(join(tmp, "a"), true), b = await run(join(tmp, "b"), false);
    assert.deepEqual(a, b);
    assert.equal(a.readings, 80);
    const files = await outputsOf(join(tmp, "a"));
    assert.deepEqual(files, await outputsOf(join(tmp, "b")));
    const header = files[FILES.analysis]!.split("\n")[0]!;
    assert.ok(header.includes("vibration_current"), header);
    assert.ok(!header.includes("current_current"), header);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("NatsSource.history: the last time of each batch of columns, the batch passed on as it is", async () => {
  const batches = [[0, 1, 2], [], [3, 7]].map((seconds) => {
    const c = new ReadingColumns();
    for (const i of seconds) c.push(at(i, `m${i}`, "RUNNING", { t: i }));
    return columnBatch(c, seconds.length + 1, true, false);
  });
  const times: number[] = [];
  const out: unknown[] = [];
  for await (const b of NatsSource.history(ReadableStream.from(batches), 9, (t) => times.push(t))) {
    out.push({ lines: b.lines, columns: b.columns !== undefined, count: readingCount(b) });
  }
  assert.deepEqual(times, [T0 + 4000, T0 + 14000]);
  assert.deepEqual(out, [
    { lines: 0, columns: true, count: 3 },
    { lines: 0, columns: true, count: 0 },
    { lines: 0, columns: true, count: 2 },
    { lines: 9, columns: false, count: 0 },
  ]);
});

Deno.test("EngineState: its machines serialize after batches of columns (their links to each other are not fields)", () => {
  const state = new EngineState();
  const c = new ReadingColumns();
  for (let i = 0; i < 3; i++) for (const m of ["m1", "m2"]) c.push(at(i, m, "RUNNING", { t: i }));
  state.recordColumns(c);
  const only = new ReadingColumns();
  only.push(at(5, "m1", "RUNNING", { t: 5 }));
  state.recordColumns(only);
  const json = JSON.parse(JSON.stringify(state.machines()));
  assert.deepEqual(json.map((m: { id: string }) => m.id), ["m1", "m2"]);
  assert.equal(json[0].lastReading.channels.t, 5);
});
